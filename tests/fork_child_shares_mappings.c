// SPDX-License-Identifier: MIT
/*
 * fork_child_shares_mappings: a fork() child of a process with udax
 * mappings of a shared store inherits them, MAP_SHARED (issue 14, stage
 * 4): it reads the file's bytes where the parent had faulted pages in and
 * where it had not, zeros in holes; parent and child then write disjoint
 * pages and the same pages (different words) at once, and each sees all
 * of both through its own mapping; a punch in the parent reaches the
 * child's mapping; a grandchild inherits the child's; udax_msync() works
 * in the child. A UDAX_MAP_DONTFORK mapping leaves its addresses free in
 * the child. Once the child unmapped what it inherited it holds nothing of
 * the store, nor does a child that exec'd: an exclusive open succeeds
 * while they live. Both delivery
 * modes; one mapping 4 KiB only, one with 2 MiB faults. The old code gave
 * the child PROT_NONE (SIGSEGV, caught here). Plain build only: a
 * sanitizer build does not inherit (fork.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"
#include "xproc_test.h"

#define PG 4096ull
#define PAGES 1024ull		/* 4 MiB */
#define DATA 600ull		/* pages ..DATA-1 written by pwrite */
#define FAULTED 64ull		/* pages ..FAULTED-1 the parent faulted in */
#define DISJOINT 300ull		/* pages DISJOINT.. +100: parent even, child odd */
#define SAME 400ull		/* pages SAME.. +50: parent word 0, child word 1 */
#define PUNCHED 10ull		/* punched by the parent, seen by the child */
#define GRAND 700ull		/* written by the grandchild (a hole before) */

struct shared {
	_Atomic uint32_t step;	/* raised by each side at each barrier */
	_Atomic uint32_t child_unmapped;
	_Atomic uint32_t release;	/* the child may exit */
};

static struct shared *sh;
static uint64_t *maps[2];	/* [0] 4 KiB only, [1] 2 MiB faults */

static uint64_t word_of(char *map, uint64_t page, unsigned word)
{
	uint64_t v = 0;

	if (test_access_sigsegv(map + page * PG + word * 8, false, &v))
		test_fail(__FILE__, __LINE__, "SIGSEGV reading page %llu of an inherited mapping",
			  (unsigned long long)page);
	return v;
}

/* Both sides at step n. The parent names its child (child_pid): should
 * the child die (a failed check, SIGSEGV in an uninherited mapping), the
 * parent fails at once instead of waiting for the watchdog. */
static pid_t child_pid;

static void barrier(uint32_t n)
{
	xproc_test_raise(&sh->step);
	while (atomic_load(&sh->step) < 2 * n) {
		xproc_test_wait_a_while(&sh->step, 2 * n, 100);
		CHECK(!child_pid || atomic_load(&sh->step) >= 2 * n || !xproc_test_ended(child_pid),
		      "the child ended before step %u", n);
	}
}

/* Write this side's share of the disjoint and common pages through map. */
static void write_share(char *map, bool child)
{
	for (uint64_t p = DISJOINT + child; p < DISJOINT + 100; p += 2)
		*(volatile uint64_t *)(map + p * PG) = test_page_stamp(child ? 'c' : 'p', p);
	for (uint64_t p = SAME; p < SAME + 50; p++)
		*(volatile uint64_t *)(map + p * PG + child * 8) =
			test_page_stamp(child ? 'c' : 'p', p);
}

/* Both sides' writes, seen through map. */
static void check_both(char *map)
{
	for (uint64_t p = DISJOINT; p < DISJOINT + 100; p++)
		CHECK_EQ(word_of(map, p, 0), test_page_stamp(p % 2 ? 'c' : 'p', p));
	for (uint64_t p = SAME; p < SAME + 50; p++) {
		CHECK_EQ(word_of(map, p, 0), test_page_stamp('p', p));
		CHECK_EQ(word_of(map, p, 1), test_page_stamp('c', p));
	}
}

static void grandchild(char *map)
{
	CHECK_EQ(word_of(map, DISJOINT, 0), test_page_stamp('p', DISJOINT));
	CHECK_EQ(word_of(map, DISJOINT + 1, 0), test_page_stamp('c', DISJOINT + 1));
	*(volatile uint64_t *)(map + GRAND * PG) = test_page_stamp('g', GRAND);
	CHECK_EQ(udax_msync(map + GRAND * PG, PG, MS_SYNC), 0);
}

static void child(struct udax_store *s, struct udax_file *f, char *dontfork)
{
	char *map = (char *)maps[0];
	void *probe;
	pid_t pid;
	int status;

	/* Everything the parent had, faulted in or not, and holes. */
	for (int m = 0; m < 2; m++)
		for (uint64_t p = 0; p < PAGES; p += 7)
			CHECK_EQ(word_of((char *)maps[m], p, 0),
				 p < DATA ? test_page_stamp('f', p) : 0);
	/* The parent's UDAX_MAP_DONTFORK mapping is not here. */
	probe = mmap(dontfork, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		     -1, 0);
	CHECK(probe == dontfork, "the UDAX_MAP_DONTFORK mapping is in the child: %s",
	      probe == MAP_FAILED ? strerror(errno) : "placed elsewhere");
	/* The parent's handles stay the parent's. */
	CHECK_EQ(udax_pwrite(f, "x", 1, 0), -EBADF);
	CHECK_EQ(udax_store_close(s), -EBADF);

	barrier(1);
	write_share(map, true);
	barrier(2);
	check_both((char *)maps[0]);
	check_both((char *)maps[1]);
	barrier(3);	/* the parent punches PUNCHED */
	barrier(4);
	CHECK_EQ(word_of((char *)maps[0], PUNCHED, 0), 0);
	CHECK_EQ(word_of((char *)maps[1], PUNCHED, 0), 0);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		grandchild(map);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "grandchild status %#x", status);
	CHECK_EQ(word_of((char *)maps[0], GRAND, 0), test_page_stamp('g', GRAND));
	CHECK_EQ(udax_msync(maps[1], PAGES * PG, MS_SYNC), 0);

	CHECK_EQ(udax_munmap(maps[0], PAGES * PG), 0);
	CHECK_EQ(udax_munmap(maps[1], PAGES * PG), 0);
	xproc_test_raise(&sh->child_unmapped);
	xproc_test_wait(&sh->release, 1);	/* alive until the parent's exclusive open */
}

static void scenario(void *arg)
{
	const char *path = test_path("store");
	struct udax_store *s, *x;
	struct udax_file *f;
	char *dontfork;
	int status, hold[2];
	pid_t pid, exec_pid;

	test_install_sigsegv_catcher();	/* before udax: udax chains to it */
	setenv("UDAX_DELIVERY", arg, 1);
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	unlink(path);
	CHECK_EQ(udax_store_create(path, 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	test_file_fill(f, 'f', DATA);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap2(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, UDAX_MAP_PTE,
			    (void **)&maps[0]), 0);
	CHECK_EQ(udax_mmap2(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, 0, (void **)&maps[1]), 0);
	CHECK_EQ(udax_mmap2(f, 0, PG, PROT_READ, UDAX_MAP_DONTFORK, (void **)&dontfork), 0);
	CHECK_EQ(*(volatile uint64_t *)dontfork, test_page_stamp('f', 0));
	for (uint64_t p = 0; p < FAULTED; p++)
		CHECK_EQ(word_of((char *)maps[p % 2], p, 0), test_page_stamp('f', p));
	sh = xproc_test_shared(PG);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		child(s, f, dontfork);
		_exit(0);
	}
	child_pid = pid;
	barrier(1);
	write_share((char *)maps[1], false);
	barrier(2);
	check_both((char *)maps[0]);
	check_both((char *)maps[1]);
	barrier(3);
	CHECK_EQ(udax_punch_hole(f, PUNCHED * PG, PG), 0);
	barrier(4);

	xproc_test_wait(&sh->child_unmapped, 1);
	CHECK_EQ(word_of((char *)maps[1], GRAND, 0), test_page_stamp('g', GRAND));
	/* A child that execs leaves the store with its address space. */
	CHECK(pipe(hold) == 0);
	exec_pid = fork();
	CHECK(exec_pid >= 0);
	if (exec_pid == 0) {
		dup2(hold[0], 0);
		close(hold[1]);
		execl("/bin/sh", "sh", "-c", "read line", (char *)NULL);
		_exit(127);
	}
	close(hold[0]);
	CHECK_EQ(udax_munmap(maps[0], PAGES * PG), 0);
	CHECK_EQ(udax_munmap(maps[1], PAGES * PG), 0);
	CHECK_EQ(udax_munmap(dontfork, PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	/* The children live on, holding nothing of the store. */
	CHECK(udax_store_open(path, UDAX_STORE_EXCLUSIVE, &x) == 0,
	      "an exclusive open beside the child that unmapped and the one that exec'd: %s",
	      udax_strerror_detail());
	CHECK_EQ(udax_open(x, "f", O_RDONLY, &f), 0);
	for (uint64_t p = DISJOINT; p < DISJOINT + 100; p++) {
		uint64_t got = 0;

		CHECK_EQ(udax_pread(f, &got, 8, p * PG), 8);
		CHECK_EQ(got, test_page_stamp(p % 2 ? 'c' : 'p', p));
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(x), 0);
	xproc_test_raise(&sh->release);
	CHECK(write(hold[1], "\n", 1) == 1);
	close(hold[1]);
	CHECK(waitpid(exec_pid, &status, 0) == exec_pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the child that exec'd: status %#x", status);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %s %d", (char *)arg,
	      WIFEXITED(status) ? "exited" : "killed by signal",
	      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	CHECK_EQ(udax_store_check(path, 0), 0);
}

int main(void)
{
	test_init("fork_child_shares_mappings", 60);
	if (XPROC_TEST_SANITIZED)
		test_skip("a sanitizer build does not inherit mappings (fork.c)");
	for (int m = 0; m < 2; m++)
		test_in_child(test_delivery_modes[m], scenario, (void *)test_delivery_modes[m]);
	test_pass();
}
