// SPDX-License-Identifier: MIT
/* test_util.c - see test_util.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

uint64_t test_seed;
static const char *test_name;
static char test_dir[256];
__thread sigjmp_buf test_sigbus_jmp;
__thread volatile int test_sigbus_armed;
volatile int test_sigbus_seen_unarmed;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup_dir(void)
{
	if (test_dir[0])
		nftw(test_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void on_alarm(int sig)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "FAIL %s: watchdog expired (hang?) seed=%llu\n",
			 test_name, (unsigned long long)test_seed);

	(void)sig;
	if (write(2, msg, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

void test_init(const char *name, unsigned seconds)
{
	const char *env = getenv("UDAX_SEED");
	const char *tmp = getenv("TMPDIR");

	test_name = name;
	if (env && *env) {
		test_seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		test_seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
	}
	if (!test_seed)
		test_seed = 1;
	snprintf(test_dir, sizeof(test_dir), "%s/udax-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(test_dir)) {
		fprintf(stderr, "FAIL %s: mkdtemp: %s\n", name, strerror(errno));
		exit(1);
	}
	signal(SIGALRM, on_alarm);
	alarm(getenv("UDAX_TEST_TIMEOUT") ? (unsigned)atoi(getenv("UDAX_TEST_TIMEOUT")) : seconds);
}

const char *test_path(const char *file)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];

	if (!test_dir[0]) {
		fprintf(stderr, "test_path() before test_init()\n");
		exit(1);
	}
	snprintf(p, sizeof(buf[0]), "%s/%s", test_dir, file);
	return p;
}

static void __attribute__((noreturn)) fail_v(const char *file, int line, const char *cond,
					       const char *fmt, va_list ap)
{
	fprintf(stderr, "FAIL %s: %s:%d: ", test_name, file, line);
	if (cond)
		fprintf(stderr, "CHECK(%s)", cond);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (seed=%llu; rerun with UDAX_SEED=%llu)\n",
		(unsigned long long)test_seed, (unsigned long long)test_seed);
	cleanup_dir();
	exit(1);
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(file, line, NULL, fmt, ap);
}

void test_fail_check(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(file, line, cond, fmt, ap);
}

void test_skip(const char *why)
{
	printf("SKIP %s: %s\n", test_name, why);
	cleanup_dir();
	exit(TEST_SKIP);
}

void test_pass(void)
{
	cleanup_dir();
	printf("PASS %s (seed=%llu)\n", test_name, (unsigned long long)test_seed);
	exit(0);
}

uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (test_sigbus_armed) {
		test_sigbus_armed = 0;
		siglongjmp(test_sigbus_jmp, 1);
	}
	test_sigbus_seen_unarmed = 1;
	{
		char msg[160];
		int n = snprintf(msg, sizeof(msg), "FAIL %s: unexpected SIGBUS at %p (seed=%llu)\n",
				 test_name, si->si_addr, (unsigned long long)test_seed);

		(void)!write(STDERR_FILENO, msg, (size_t)n);
	}
	_exit(99);
}

static void catcher_install(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

void test_install_sigbus_catcher(void)
{
	catcher_install(SIGBUS, on_sigbus);
}

bool test_access_sigbus(char *p, bool write, char value)
{
	if (sigsetjmp(test_sigbus_jmp, 1) == 0) {
		test_sigbus_armed = 1;
		if (write)
			*(volatile char *)p = value;
		else
			(void)*(volatile char *)p;
		test_sigbus_armed = 0;
		return false;
	}
	return true;
}

static __thread sigjmp_buf sigsegv_jmp;
static __thread volatile sig_atomic_t sigsegv_armed;

static void on_sigsegv(int sig, siginfo_t *si, void *uc)
{
	char msg[160];
	int n;

	(void)sig;
	(void)uc;
	if (sigsegv_armed) {
		sigsegv_armed = 0;
		siglongjmp(sigsegv_jmp, 1);
	}
	n = snprintf(msg, sizeof(msg), "FAIL %s: unexpected SIGSEGV at %p (seed=%llu)\n",
		     test_name, si->si_addr, (unsigned long long)test_seed);
	(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(98);
}

void test_install_sigsegv_catcher(void)
{
	catcher_install(SIGSEGV, on_sigsegv);
}

bool test_access_sigsegv(char *p, bool write, uint64_t *value)
{
	if (sigsetjmp(sigsegv_jmp, 1) == 0) {
		sigsegv_armed = 1;
		if (write)
			*(volatile uint64_t *)p = *value;
		else
			*value = *(volatile uint64_t *)p;
		sigsegv_armed = 0;
		return false;
	}
	return true;
}

uint64_t test_page_stamp(char who, uint64_t page)
{
	return ((uint64_t)who << 56) ^ (page * 0x9e3779b97f4a7c15ull) ^ 1;
}

void test_file_fill(struct udax_file *f, char who, uint64_t pages)
{
	static uint64_t buf[4096 / 8];

	for (uint64_t p = 0; p < pages; p++) {
		for (size_t i = 0; i < sizeof(buf) / 8; i++)
			buf[i] = test_page_stamp(who, p);
		CHECK_EQ(udax_pwrite(f, buf, sizeof(buf), p * sizeof(buf)), (long long)sizeof(buf));
	}
}

struct udax_file_stat test_file_stat(struct udax_file *f)
{
	struct udax_file_stat st;

	CHECK_EQ(udax_fstat(f, &st), 0);
	return st;
}

const char *const test_delivery_modes[2] = { "userfaultfd", "sigsegv" };

void test_in_child(const char *what, void (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %s %d", what,
	      WIFEXITED(status) ? "exited" : "killed by signal",
	      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

uint64_t test_vma_count(void)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	uint64_t lines = 0;
	int c;

	CHECK(fp != NULL);
	while ((c = fgetc(fp)) != EOF)
		lines += c == '\n';
	fclose(fp);
	return lines;
}

uint64_t test_vma_limit(void)
{
	unsigned long long limit = 0;
	FILE *fp = fopen("/proc/sys/vm/max_map_count", "r");

	CHECK(fp && fscanf(fp, "%llu", &limit) == 1, "cannot read vm.max_map_count");
	fclose(fp);
	return limit;
}
