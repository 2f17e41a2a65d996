// SPDX-License-Identifier: MIT
/*
 * dirty_entry_survives_invalidation: the kernel's "invalidate DAX entries
 * only if appropriate" fix. Pages written through a mapping are DIRTY;
 * punch-hole and truncate of other ranges, a regrow, and a pwrite that
 * replaces a zero page elsewhere must not drop those entries or their tags
 * (dirty_pages still counts them; pwrite data itself is not tagged). Then fsync, a SIGKILL, and a reopen
 * find every byte: written pages present, punched and truncated ranges zero.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096
#define PAGES 64

static char expected(int p)
{
	if (p >= 10 && p < 20)
		return (char)('A' + p - 10);	/* written through the mapping */
	if (p == 35)
		return 'P';			/* pwrite over a punched page */
	return 0;
}

static void child(const char *path, int ack_fd)
{
	static char zeros[PAGES * PG];
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	char *a, *b, ok = 1;

	if (udax_store_open(path, 0, &s) || udax_open(s, "f", O_RDWR | O_CREAT, &f) ||
	    udax_pwrite(f, zeros, sizeof(zeros), 0) != (ssize_t)sizeof(zeros) || udax_fsync(f) ||
	    udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&a) ||
	    udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&b))
		_exit(3);
	for (int p = 10; p < 20; p++)
		a[p * PG + 100] = expected(p);
	if (udax_fstat(f, &st) || st.dirty_pages != 10)
		_exit(4);
	/* Invalidation of other ranges. */
	if (udax_punch_hole(f, 30 * PG, 10 * PG) || b[35 * PG] != 0 ||	/* zero page in b */
	    udax_pwrite(f, "P", 1, 35 * PG + 100) != 1 || b[35 * PG + 100] != 'P' ||
	    udax_truncate(f, 50 * PG) || udax_truncate(f, PAGES * PG))
		_exit(5);
	/* 10..19; pwrite data (35) is not tagged, as write(2) on DAX, but
	 * fsync writes it: the parent finds it after the kill. */
	if (udax_fstat(f, &st) || st.dirty_pages != 10)
		_exit(6);
	if (udax_fsync(f) || write(ack_fd, &ok, 1) != 1)
		_exit(7);
	for (;;)
		pause();
}

int main(void)
{
	const char *path;
	struct udax_store *s;
	struct udax_file *f;
	int pipefd[2], status;
	pid_t pid;
	char c;

	test_init("dirty_entry_survives_invalidation", 60);
	path = test_path("store");
	CHECK_EQ(udax_store_create(path, 16ull << 20, 0), 0);
	CHECK(pipe(pipefd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child(path, pipefd[1]);
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1) {
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(0, "child failed with status %#x", status);
	}
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));

	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &f), 0);
	for (int p = 0; p < PAGES; p++) {
		CHECK_EQ(udax_pread(f, &c, 1, (uint64_t)p * PG + 100), 1);
		CHECK(c == expected(p), "page %d holds %d, expected %d", p, c, expected(p));
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
