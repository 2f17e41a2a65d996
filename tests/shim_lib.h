/* SPDX-License-Identifier: MIT */
/*
 * shim_lib.h - the common part of the tests/shim_*.c programs: ordinary
 * POSIX programs (no udax.h, no libudax) that run themselves under
 * `udax run`. Started by the test runner, a program makes a private
 * directory and re-executes itself as
 *   BUILD/udax run --store DIR/store --root DIR/udax --create 256M -- SELF DIR SEED
 * and passes on its exit status (0 pass, 1 fail, 77 skip). Under the shim,
 * DIR/udax/NAME are files of the store and DIR/host/NAME their host twins.
 * Header-only (each test is one file); the watchdog is alarm().
 */
#ifndef UDAX_SHIM_LIB_H
#define UDAX_SHIM_LIB_H

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A sanitizer build: the preload library needs the sanitizer runtime,
 * which only the programs of that build load (not /bin/sh). */
#if defined(__SANITIZE_ADDRESS__)
#define SHIM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SHIM_SANITIZED 1
#endif
#endif
#ifndef SHIM_SANITIZED
#define SHIM_SANITIZED 0
#endif

static char shim_dir[PATH_MAX / 2];
static uint64_t shim_seed, shim_rng;

#define SHIM_FAIL(...)							\
	do {								\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, " (seed %llu: UDAX_SEED=%llu reruns it)\n", \
			(unsigned long long)shim_seed, (unsigned long long)shim_seed); \
		exit(1);						\
	} while (0)

#define SHIM_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "(%s) ", #cond);		\
			SHIM_FAIL(__VA_ARGS__);				\
		}							\
	} while (0)

/* What the TWIN failures below name besides the call (a test may point it
 * at the case it runs; "" by default). */
static const char *shim_twin_case __attribute__((unused)) = "";

/* Run expr for side s = 0 (host) and 1 (udax): both must give the same
 * result and, on failure, the same errno. Value: the host's result. */
#define TWIN(expr)							\
	({								\
		long r_[2];						\
		int e_[2];						\
		for (int s = 0; s < 2; s++) {				\
			errno = 0;					\
			r_[s] = (long)(expr);				\
			e_[s] = r_[s] < 0 ? errno : 0;			\
		}							\
		if (r_[0] != r_[1] || e_[0] != e_[1])			\
			SHIM_FAIL("%s%s: host %ld (%s), udax %ld (%s)", shim_twin_case, \
				  #expr, r_[0], strerror(e_[0]), r_[1], strerror(e_[1])); \
		r_[0];							\
	})

/* xorshift64*. */
static inline uint64_t shim_rand(void)
{
	shim_rng ^= shim_rng >> 12;
	shim_rng ^= shim_rng << 25;
	shim_rng ^= shim_rng >> 27;
	return shim_rng * 2685821657736338717ull;
}

/* DIR/host/name (side 0) or DIR/udax/name (side 1), in one of 4 buffers. */
static inline const char *shim_path(int side, const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s/%s", shim_dir, side ? "udax" : "host", name);
	return p;
}

/* A fresh MAP_SHARED mapping (prot) of store file name, len bytes, filled
 * with fill (else zeros): no page of it touched by this process. */
static inline char *shim_fresh_map(const char *name, const char *fill, size_t len, int prot)
{
	int fd = open(shim_path(1, name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *m;

	SHIM_CHECK(fd >= 0, "open %s: %s", name, strerror(errno));
	if (fill)
		SHIM_CHECK(write(fd, fill, len) == (ssize_t)len, "write %s: %s", name,
			   strerror(errno));
	else
		SHIM_CHECK(ftruncate(fd, (off_t)len) == 0, "ftruncate %s: %s", name, strerror(errno));
	m = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	SHIM_CHECK(m != MAP_FAILED, "mmap %s: %s", name, strerror(errno));
	close(fd);
	return m;
}

/* Run argv, waiting for it. Return: its exit status, or 128 + signal. */
static inline int shim_spawn(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Set up (first stage) or start (second stage, under the shim). In the
 * first stage this does not return: it runs the second and exits with its
 * status. seconds: the watchdog of each stage.
 */
static inline void shim_start(int argc, char **argv, unsigned seconds)
{
	char self[PATH_MAX], udax[PATH_MAX + 8], store[PATH_MAX], root[PATH_MAX];
	char seed[32], *slash;
	ssize_t n;
	int status;

	alarm(seconds);
	if (argc >= 3 && getenv("UDAX_ROOT")) {
		snprintf(shim_dir, sizeof(shim_dir), "%s", argv[1]);
		shim_seed = strtoull(argv[2], NULL, 10);
		shim_rng = shim_seed | 1;
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		SHIM_FAIL("readlink /proc/self/exe");
	self[n] = '\0';
	snprintf(udax, sizeof(udax), "%s", self);
	slash = strrchr(udax, '/');
	*slash = '\0';
	slash = strrchr(udax, '/');	/* BUILD/tests/NAME -> BUILD/udax */
	strcpy(slash, "/udax");
	snprintf(shim_dir, sizeof(shim_dir), "%s/udax-shim-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(shim_dir))
		SHIM_FAIL("mkdtemp %s: %s", shim_dir, strerror(errno));
	snprintf(store, sizeof(store), "%s/store", shim_dir);
	snprintf(root, sizeof(root), "%s/udax", shim_dir);
	{
		char host[PATH_MAX];

		snprintf(host, sizeof(host), "%s/host", shim_dir);
		mkdir(host, 0755);
	}
	shim_seed = getenv("UDAX_SEED") ? strtoull(getenv("UDAX_SEED"), NULL, 10) :
		(uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)shim_seed);
	{
		char *run[] = { udax, "run", "--store", store, "--root", root, "--create", "256M",
				"--", self, shim_dir, seed, NULL };
		char *rm[] = { "/bin/rm", "-rf", shim_dir, NULL };

		status = shim_spawn(run);
		if (status != 0 && status != 77)
			fprintf(stderr, "%s: exit %d (seed %s)\n", argv[0], status, seed);
		shim_spawn(rm);
	}
	exit(status);
}

#endif /* UDAX_SHIM_LIB_H */
