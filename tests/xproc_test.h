/* SPDX-License-Identifier: MIT */
/*
 * xproc_test.h - what the tests of src/xproc share: a store file (any
 * file: a region is named after its identity) whose region lives in the
 * test's own directory, memory shared with forked children, a callback
 * that does nothing, a join that fails the test with the reason, waiting
 * on words in memory the test's processes share, and its member processes
 * (forked, killed, reaped).
 */
#ifndef UDAX_XPROC_TEST_H
#define UDAX_XPROC_TEST_H

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "test_util.h"
#include "xproc/xproc.h"

/* A sanitizer build: there a child forked from a process with threads (a
 * member has its agent) must not start threads itself: the sanitizer's
 * allocator may be left locked by the fork (clang 14's ASan hangs in the
 * child's pthread_create; glibc's malloc is reset for the child). Tests
 * whose children do that leave those parts to the plain build. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define XPROC_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define XPROC_TEST_SANITIZED 1
#endif
#endif
#ifndef XPROC_TEST_SANITIZED
#define XPROC_TEST_SANITIZED 0
#endif

/* The store file "store" in the test's directory, open for writing; its
 * path in *path. Regions go to the test's directory too. */
static inline int xproc_test_store(const char **path)
{
	int fd;

	*path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	fd = open(*path, O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0);
	return fd;
}

/* Zeroed memory this process's fork children share. */
static inline void *xproc_test_shared(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* Wait until *word, in memory processes share, reaches at least want
 * (another process raises it with xproc_test_raise()). */
static inline void xproc_test_wait(_Atomic uint32_t *word, uint32_t want)
{
	uint32_t now;

	while ((now = atomic_load(word)) < want)
		futex_wait_shared(word, now, 1000);
}

static inline void xproc_test_raise(_Atomic uint32_t *word)
{
	atomic_fetch_add(word, 1);
	futex_wake_shared(word, 1 << 30);
}

/* Wait until *word reaches want, or ms pass. */
static inline void xproc_test_wait_a_while(_Atomic uint32_t *word, uint32_t want, unsigned ms)
{
	struct timespec ts;
	uint64_t end, now;
	uint32_t seen;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + ms;
	do {
		if ((seen = atomic_load(word)) >= want)
			return;
		futex_wait_shared(word, seen, 1);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	} while (now < end);
}

static inline uint64_t xproc_test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A child running fn(arg), then exiting 0; it dies with the test (whose
 * watchdog kills the test). Fork children before this process joins a
 * region (xproc_test.h, XPROC_TEST_SANITIZED). */
static inline pid_t xproc_test_start(void (*fn)(unsigned), unsigned arg)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn(arg);
		_exit(0);
	}
	return pid;
}

/* Reap pid, which must have been killed with SIGKILL, or else exited 0. */
static inline void xproc_test_reap(pid_t pid, bool killed)
{
	int status;

	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (killed)
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "pid %d: status %#x",
		      (int)pid, status);
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pid %d: status %#x",
		      (int)pid, status);
}

/* Reap the n children in pid as they end: the first that did not exit 0
 * fails the test at once (the others may be waiting for it). */
static inline void xproc_test_reap_all(const pid_t *pid, unsigned n)
{
	for (unsigned left = n; left; left--) {
		int status;
		pid_t who = waitpid(-1, &status, 0);
		bool ours = false;

		for (unsigned i = 0; i < n; i++)
			ours |= who == pid[i];
		CHECK(ours, "waitpid: %d", (int)who);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pid %d: status %#x",
		      (int)who, status);
	}
}

/* Whether pid ended already (left to be reaped). */
static inline bool xproc_test_ended(pid_t pid)
{
	siginfo_t si = { .si_pid = 0 };

	CHECK_EQ(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT), 0);
	return si.si_pid == pid;
}

static inline int xproc_test_noop(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	(void)req;
	return 0;
}

static inline struct xproc_region *xproc_test_join(int fd, const char *path,
						   const struct xproc_layout *layout,
						   xproc_apply_fn apply, void *ctx)
{
	struct xproc_region *r;
	char why[256] = "";
	int ret = xproc_join(fd, path, layout, apply, ctx, &r, why, sizeof(why));

	CHECK(ret == 0, "join: %d %s", ret, why);
	return r;
}

#endif
