// SPDX-License-Identifier: MIT
/*
 * store_fork_races_leave_child_nothing: the main thread forks while other
 * threads open, map, read, unmap and close a store (shared, read-only and
 * exclusive read-only) and check it, from the process's first udax call
 * on. No child may hold a descriptor or a mapping of the store file or of
 * its region file: a descriptor kept a parent's flock or lock bytes (an
 * exclusive open stayed refused, a held SETUP hung every later join), and
 * a mapping gave the child pages of blocks the store reuses. Found by the
 * adversarial pass of issue 14's API step, both: fork handlers registered
 * by the first open came too late for a fork already under way, and a
 * fork during udax_munmap() copied the store file's pages of a mapping
 * already off the registry. Bounded: FORKS forks (a map/unmap loop in a
 * thread of its own makes the second window common), seeded pauses; each
 * child looks through /proc/self (skipped without /proc). The mappings
 * are UDAX_MAP_DONTFORK: a child that inherits one opens the store itself
 * (fork_child_shares_mappings), and its own descriptors are no leak.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"
#include "xproc_test.h"

/* A sanitizer's fork costs 80 ms here: fewer there (CI time). */
#define FORKS (XPROC_TEST_SANITIZED ? 100 : 400)
#define OPENERS 3

static const char *store;
static atomic_int stop;

/* Map the first page of f (not inherited: see above), read it, unmap. */
static void map_read_unmap(struct udax_file *f)
{
	void *map;

	if (udax_mmap2(f, 0, 4096, PROT_READ, UDAX_MAP_DONTFORK, &map))
		return;
	(void)*(volatile char *)map;
	udax_munmap(map, 4096);
}

static void *opener(void *arg)
{
	static const unsigned modes[OPENERS] = {
		0, UDAX_STORE_RDONLY, UDAX_STORE_EXCLUSIVE | UDAX_STORE_RDONLY
	};
	unsigned mode = modes[(long)arg];

	while (!atomic_load(&stop)) {
		struct udax_store *s;
		struct udax_file *f;

		if (udax_store_open(store, mode, &s))
			continue;
		if (!udax_open(s, "f", O_RDONLY, &f)) {
			map_read_unmap(f);
			udax_close(f);
		}
		udax_store_close(s);
	}
	return NULL;
}

/* One store open for the whole run: map, read, unmap, as fast as it goes
 * (the window between a mapping leaving the registry and its munmap). */
static void *mapper(void *arg)
{
	struct udax_store *s;
	struct udax_file *f;

	(void)arg;
	if (udax_store_open(store, 0, &s))
		return NULL;
	if (!udax_open(s, "f", O_RDONLY, &f)) {
		while (!atomic_load(&stop))
			map_read_unmap(f);
		udax_close(f);
	}
	udax_store_close(s);
	return NULL;
}

static void *checker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		udax_store_check(store, 0);
	return NULL;
}

/* In the child: whether a descriptor or a mapping names the store file or
 * a region file; what goes to *what. */
static bool holds_store(char *what, size_t len)
{
	static char maps[1 << 16];
	char link[300], target[512];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n, total = 0;
	int fd;

	while (d && (e = readdir(d))) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, store) || strstr(target, ".region")) {
			snprintf(what, len, "a descriptor of %.400s", target);
			closedir(d);
			return true;
		}
	}
	if (d)
		closedir(d);
	fd = open("/proc/self/maps", O_RDONLY);
	while (fd >= 0 && (n = read(fd, maps + total, sizeof(maps) - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	maps[total] = '\0';
	if (strstr(maps, store) || strstr(maps, ".region")) {
		snprintf(what, len, "a mapping of the store or region file");
		return true;
	}
	return false;
}

int main(void)
{
	pthread_t t[OPENERS + 2];
	int holders = 0, status;
	struct udax_store *s;
	struct udax_file *f;
	uint64_t rng;
	char what[600];

	test_init("store_fork_races_leave_child_nothing", 120);
	if (access("/proc/self/maps", R_OK) != 0)
		test_skip("no /proc");
	store = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	/* Made by another process: this one's first udax call is a
	 * thread's, beside the forks. */
	if (fork() == 0) {
		if (udax_store_create(store, 16ull << 20, 0) ||
		    udax_store_open(store, UDAX_STORE_EXCLUSIVE, &s) ||
		    udax_open(s, "f", O_RDWR | O_CREAT, &f) || udax_pwrite(f, "x", 1, 0) != 1 ||
		    udax_close(f) || udax_store_close(s))
			_exit(1);
		_exit(0);
	}
	CHECK(wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rng = test_seed;
	for (long k = 0; k < OPENERS; k++)
		CHECK_EQ(pthread_create(&t[k], NULL, opener, (void *)k), 0);
	CHECK_EQ(pthread_create(&t[OPENERS], NULL, checker, NULL), 0);
	CHECK_EQ(pthread_create(&t[OPENERS + 1], NULL, mapper, NULL), 0);
	for (int i = 0; i < FORKS; i++) {
		struct timespec pause = { 0, (long)(test_rand(&rng) % 200000) };
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			bool held = holds_store(what, sizeof(what));

			if (held)
				dprintf(STDOUT_FILENO, "fork %d: the child holds %s\n", i, what);
			_exit(held);
		}
		CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
		holders += WEXITSTATUS(status) != 0;
		nanosleep(&pause, NULL);
	}
	atomic_store(&stop, 1);
	for (int k = 0; k < OPENERS + 2; k++)
		CHECK_EQ(pthread_join(t[k], NULL), 0);
	CHECK(holders == 0, "%d of %d fork children held the store's files", holders, FORKS);
	CHECK_EQ(udax_store_check(store, 0), 0);
	test_pass();
}
