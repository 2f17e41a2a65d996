// SPDX-License-Identifier: MIT
/*
 * store_shared_locks_appends: the calls that processes sharing a store
 * need beside their mappings (issue 14, stage 5), through the API:
 *  1. udax_lock_fd(): a POSIX write lock one process takes on its file's
 *     proxy is seen by another (F_GETLK: type, range, the holder's pid),
 *     whose F_SETLK fails (EAGAIN) and whose F_SETLKW waits until the
 *     holder is killed (the kernel drops its locks at death); flock()
 *     excludes across processes too. A read-only store opener locks for
 *     reading. Closing the handle and the store leaves no proxy behind
 *     once the last process left.
 *  2. udax_append() from 3 processes at once, 3000 records each: every
 *     record whole, once, the size their sum.
 *  3. udax_file_id(): the same number in both processes, kept by a rename;
 *     a file made under the old name has another.
 *  4. udax_sigaction(): a SIGSEGV handler installed after the store's
 *     open gets the program's own SIGSEGV (siglongjmp out), while faults
 *     of a udax mapping are still served; with SA_RESETHAND, once (a crash
 *     handler that returned was called forever: the second adversarial
 *     pass of stage 5).
 * Seeded (the records' payload), bounded (watchdog). Exit 0 pass.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define APPENDERS 3
#define RECORDS 3000
#define RECORD 24

static const char *path;

static struct udax_store *open_store(unsigned flags)
{
	struct udax_store *s;

	CHECK_EQ(udax_store_open(path, flags, &s), 0);
	return s;
}

/* Part 1's holder: locks [0, 10) and flock, says so on ready, waits. */
static void holder(int ready)
{
	struct udax_store *s = open_store(0);
	struct flock wr = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	struct udax_file *f;
	int fd, ffd;

	CHECK_EQ(udax_open(s, "locked", O_RDWR | O_CREAT, &f), 0);
	fd = udax_lock_fd(f);
	ffd = udax_lock_fd(f);
	CHECK(fd >= 0 && ffd >= 0, "udax_lock_fd: %d %d", fd, ffd);
	CHECK_EQ(fcntl(fd, F_SETLK, &wr), 0);
	CHECK_EQ(flock(ffd, LOCK_EX | LOCK_NB), 0);
	CHECK_EQ(write(ready, "r", 1), 1);
	for (;;)
		pause();
}

static void locks_across_processes(void)
{
	struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1 };
	struct udax_store *s, *r;
	struct udax_file *f, *g;
	int ready[2], fd, ffd, rfd;
	char c;
	pid_t pid;

	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		holder(ready[1]);
	CHECK_EQ(read(ready[0], &c, 1), 1);
	s = open_store(0);
	CHECK_EQ(udax_open(s, "locked", O_RDWR, &f), 0);
	fd = udax_lock_fd(f);
	ffd = udax_lock_fd(f);
	CHECK(fd >= 0 && ffd >= 0, "udax_lock_fd: %d %d", fd, ffd);
	CHECK_EQ(fcntl(fd, F_GETLK, &q), 0);
	CHECK(q.l_type == F_WRLCK && q.l_start == 0 && q.l_len == 10 && q.l_pid == pid,
	      "F_GETLK: type %d start %lld len %lld pid %d (holder %d)", q.l_type,
	      (long long)q.l_start, (long long)q.l_len, q.l_pid, pid);
	q = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 9, .l_len = 2 };
	CHECK(fcntl(fd, F_SETLK, &q) == -1 && (errno == EAGAIN || errno == EACCES),
	      "F_SETLK beside the holder: %s", strerror(errno));
	CHECK(flock(ffd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK, "flock: %s",
	      strerror(errno));
	/* a reader of the store locks for reading, beside nobody's write */
	r = open_store(UDAX_STORE_RDONLY);
	CHECK_EQ(udax_open(r, "locked", O_RDONLY, &g), 0);
	rfd = udax_lock_fd(g);
	CHECK(rfd >= 0, "udax_lock_fd of a reader: %d", rfd);
	q = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 5 };
	CHECK_EQ(fcntl(rfd, F_OFD_SETLK, &q), 0);
	CHECK_EQ(close(rfd), 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_store_close(r), 0);
	/* the holder dies: its locks go with it, and the wait ends */
	CHECK_EQ(kill(pid, SIGKILL), 0);
	q = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 9, .l_len = 2 };
	CHECK_EQ(fcntl(fd, F_SETLKW, &q), 0);
	CHECK_EQ(flock(ffd, LOCK_EX), 0);
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(close(ffd), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	close(ready[0]);
	close(ready[1]);
}

static void append_records(unsigned me, uint64_t seed)
{
	struct udax_store *s = open_store(0);
	struct udax_file *f;
	char rec[RECORD + 1];
	uint64_t at;

	CHECK_EQ(udax_open(s, "log", O_RDWR | O_CREAT, &f), 0);
	for (unsigned i = 0; i < RECORDS; i++) {
		snprintf(rec, sizeof(rec), "%u %05u %015llx\n", me, i,
			 (unsigned long long)(test_rand(&seed) & 0xffffffffffffull));
		CHECK_EQ(udax_append(f, rec, RECORD, &at), (ssize_t)RECORD);
		CHECK(at % RECORD == 0, "an append at %llu", (unsigned long long)at);
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

static void appends_across_processes(void)
{
	static char seen[APPENDERS][RECORDS];
	struct udax_store *s;
	struct udax_file *f;
	struct udax_file_stat st;
	char rec[RECORD];
	pid_t pid[APPENDERS];
	int status;

	for (unsigned p = 0; p < APPENDERS; p++) {
		pid[p] = fork();
		CHECK(pid[p] >= 0, "fork: %s", strerror(errno));
		if (pid[p] == 0) {
			append_records(p, test_seed + p);
			_exit(0);
		}
	}
	for (unsigned p = 0; p < APPENDERS; p++)
		CHECK(waitpid(pid[p], &status, 0) == pid[p] && status == 0, "appender %u: %#x",
		      p, status);
	s = open_store(0);
	CHECK_EQ(udax_open(s, "log", O_RDONLY, &f), 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.size, (uint64_t)APPENDERS * RECORDS * RECORD);
	for (uint64_t r = 0; r < (uint64_t)APPENDERS * RECORDS; r++) {
		unsigned me, i;

		CHECK_EQ(udax_pread(f, rec, RECORD, r * RECORD), (ssize_t)RECORD);
		CHECK(sscanf(rec, "%u %u", &me, &i) == 2 && me < APPENDERS && i < RECORDS &&
		      rec[RECORD - 1] == '\n' && !seen[me][i], "record %llu: %.23s",
		      (unsigned long long)r, rec);
		seen[me][i] = 1;
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

static void file_ids(void)
{
	struct udax_store *s = open_store(0);
	struct udax_file *a, *b, *c;
	uint64_t ia, ib, ic;
	int out[2];
	pid_t pid;

	CHECK_EQ(udax_open(s, "named", O_RDWR | O_CREAT, &a), 0);
	CHECK_EQ(udax_file_id(a, &ia), 0);
	CHECK_EQ(pipe(out), 0);
	pid = fork();
	if (pid == 0) {	/* another process: its own open, the same number */
		struct udax_store *t = open_store(0);
		struct udax_file *x;
		uint64_t ix = 0;

		if (udax_open(t, "named", O_RDONLY, &x) || udax_file_id(x, &ix))
			_exit(1);
		_exit(write(out[1], &ix, sizeof(ix)) == sizeof(ix) ? 0 : 2);
	}
	CHECK(pid > 0 && read(out[0], &ib, sizeof(ib)) == sizeof(ib), "the child's id");
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
	CHECK(ib == ia, "ids %llu and %llu", (unsigned long long)ia, (unsigned long long)ib);
	CHECK_EQ(udax_rename(s, "named", "moved"), 0);
	CHECK_EQ(udax_open(s, "moved", O_RDONLY, &b), 0);
	CHECK_EQ(udax_file_id(b, &ib), 0);
	CHECK_EQ(udax_open(s, "named", O_RDWR | O_CREAT, &c), 0);
	CHECK_EQ(udax_file_id(c, &ic), 0);
	CHECK(ib == ia && ic != ia, "after the rename: %llu, the new file %llu",
	      (unsigned long long)ib, (unsigned long long)ic);
	CHECK_EQ(udax_file_id(NULL, &ia), -EINVAL);
	CHECK_EQ(udax_close(a), 0);
	CHECK_EQ(udax_close(b), 0);
	CHECK_EQ(udax_close(c), 0);
	CHECK_EQ(udax_store_close(s), 0);
	close(out[0]);
	close(out[1]);
}

static sigjmp_buf segv_jump;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(segv_jump, 1);
}

static void late_sigsegv_handler(void)
{
	struct sigaction act = { .sa_handler = on_segv }, old;
	struct udax_store *s = open_store(0);
	struct udax_file *f;
	volatile char *bad = (volatile char *)16;
	char *m;
	void *addr;

	CHECK_EQ(udax_open(s, "mapped", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, 16 * 4096), 0);
	CHECK_EQ(udax_sigaction(SIGSEGV, &act, &old), 0);
	CHECK_EQ(udax_mmap(f, 0, 16 * 4096, PROT_READ | PROT_WRITE, &addr), 0);
	m = addr;
	for (unsigned page = 0; page < 16; page++)	/* served by udax */
		m[page * 4096] = (char)page;
	if (sigsetjmp(segv_jump, 1) == 0) {
		(void)*bad;	/* the program's own fault: its handler */
		CHECK(0, "a read of address 16 did not fault");
	}
	/* SA_RESETHAND: one delivery, then the default action */
	act.sa_flags = SA_RESETHAND;
	CHECK_EQ(udax_sigaction(SIGSEGV, &act, NULL), 0);
	if (sigsetjmp(segv_jump, 1) == 0) {
		(void)*bad;
		CHECK(0, "a read of address 16 did not fault");
	}
	CHECK_EQ(udax_sigaction(SIGSEGV, NULL, &act), 0);
	CHECK(act.sa_handler == SIG_DFL, "SA_RESETHAND left the handler in place");
	CHECK_EQ(udax_sigaction(SIGSEGV, &old, NULL), 0);
	CHECK_EQ(udax_sigaction(SIGSEGV, NULL, &act), 0);
	CHECK(act.sa_handler == old.sa_handler, "the handler put back is not the one before");
	CHECK_EQ(udax_sigaction(9999, NULL, &act), -EINVAL);
	for (unsigned page = 0; page < 16; page++)
		CHECK_EQ(m[page * 4096], (char)page);
	CHECK_EQ(udax_munmap(addr, 16 * 4096), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

int main(void)
{
	char locks[PATH_MAX];
	struct stat st;

	test_init("store_shared_locks_appends", 120);
	path = test_path("store");
	CHECK_EQ(udax_store_create(path, 64ull << 20, 0), 0);
	CHECK_EQ(stat(path, &st), 0);
	locks_across_processes();
	snprintf(locks, sizeof(locks), "%s/udax-%llx-%llx.locks",
		 getenv("UDAX_REGION_DIR") && *getenv("UDAX_REGION_DIR") ?
		 getenv("UDAX_REGION_DIR") : "/dev/shm", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	CHECK(access(locks, F_OK) != 0, "%s is left after every process left", locks);
	appends_across_processes();
	file_ids();
	late_sigsegv_handler();
	test_pass();
}
