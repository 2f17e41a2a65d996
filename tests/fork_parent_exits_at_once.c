// SPDX-License-Identifier: MIT
/*
 * fork_parent_exits_at_once: the daemon pattern. A process maps a file of
 * a shared store, forks and exits at once, without closing anything (or is
 * killed); its child, the daemon, then reads and writes its inherited
 * mapping. fork() returns in the parent only once the child has joined the
 * store with the file open, so the parent, the store's last process, can
 * no longer take the region and the file's state with it before the child
 * arrives: the old code left the child's mapping PROT_NONE in 7-40% of
 * runs (found by the adversarial pass of stage 4). ROUNDS rounds, the
 * parent exiting or killed by turns; then the daemon's writes are in the
 * store and it checks clean. Plain build only: a sanitizer build does not
 * inherit (fork.c).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"
#include "xproc_test.h"

#define PG 4096ull
#define PAGES 256ull
#define ROUNDS 60

static const char *path;

/* The daemon: wait for its parent's end (EOF on gone), then use the
 * mapping. Return: its exit status. */
static int daemon_work(char *map, int gone, unsigned round)
{
	char c;

	if (read(gone, &c, 1) != 0)
		return 2;
	for (uint64_t p = 0; p < PAGES; p++) {
		uint64_t v = 0;

		if (test_access_sigsegv(map + p * PG, false, &v))
			return 3;	/* the mapping was not inherited */
		if (v != test_page_stamp(p < round ? 'd' : 'f', p))
			return 4;	/* an earlier daemon's write, or the file's */
	}
	*(volatile uint64_t *)(map + round * PG) = test_page_stamp('d', round);
	return udax_msync(map, PAGES * PG, MS_SYNC) || udax_munmap(map, PAGES * PG) ? 5 : 0;
}

/* The short-lived parent: map, fork the daemon, end (exit or SIGKILL). */
static void parent(unsigned round, _Atomic uint32_t *daemon_status)
{
	struct udax_store *s;
	struct udax_file *f;
	int gone[2];
	char *map;
	pid_t pid;

	CHECK(pipe(gone) == 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR, &f), 0);
	CHECK_EQ(udax_mmap2(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, round % 2 ? UDAX_MAP_PTE : 0,
			    (void **)&map), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(gone[1]);
		atomic_store(daemon_status, (uint32_t)daemon_work(map, gone[0], round) + 1);
		futex_wake_shared(daemon_status, 1);
		_exit(0);
	}
	if (round % 4 == 3)
		kill(getpid(), SIGKILL);
	_exit(0);
}

int main(void)
{
	_Atomic uint32_t *daemon_status;
	struct udax_store *s;
	struct udax_file *f;

	test_init("fork_parent_exits_at_once", 120);
	if (XPROC_TEST_SANITIZED)
		test_skip("a sanitizer build does not inherit mappings (fork.c)");
	test_install_sigsegv_catcher();	/* before udax: udax chains to it */
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_EXCLUSIVE, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	test_file_fill(f, 'f', PAGES);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	daemon_status = xproc_test_shared(PG);
	for (unsigned round = 0; round < ROUNDS; round++) {
		pid_t pid;
		int status;

		atomic_store(daemon_status, 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			parent(round, daemon_status);
		CHECK(waitpid(pid, &status, 0) == pid);
		xproc_test_wait(daemon_status, 1);
		CHECK(atomic_load(daemon_status) == 1, "round %u: the daemon's status %u (3: its "
		      "inherited mapping faulted)", round, atomic_load(daemon_status) - 1);
	}
	/* Every daemon left the store (its last munmap) before saying how it
	 * went, and every parent is dead: the check is let in. */
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_EXCLUSIVE | UDAX_STORE_RDONLY, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &f), 0);
	for (uint64_t p = 0; p < PAGES; p++) {
		uint64_t v = 0;

		CHECK_EQ(udax_pread(f, &v, 8, p * PG), 8);
		CHECK_EQ(v, test_page_stamp(p < ROUNDS ? 'd' : 'f', p));
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
