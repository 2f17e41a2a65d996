// SPDX-License-Identifier: MIT
/*
 * fork_child_never_reads_zeros: a child of fork() of a process with a udax
 * mapping touches it. Every access, to a page the parent had faulted in, to
 * one it had not (data written by pwrite), and to a hole, either sees the
 * file's bytes (the mapping is inherited: fork_child_shares_mappings) or
 * raises SIGSEGV in the child (a clean fault: not inherited, as in a
 * sanitizer build); a read never returns zeros where the file has data,
 * and a write either reaches the file (the parent reads it back) or faults.
 * The old code gave the child zeros (userfaultfd) or served its faults from
 * a private copy of the index and allocator, losing its writes (SIGSEGV
 * delivery). Both delivery modes. The child also cannot use the handles it
 * inherited (a copy of the parent's index and allocator): each call on one
 * returns -EBADF, and the store is untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define PAGES 64ull
#define HOLE 40ull		/* pages HOLE.. are holes */
#define FAULTED 10ull		/* pages ..FAULTED-1 the parent faulted in */

static bool *write_faulted;	/* shared with the child: [0] data page, [1] hole */

/* In the grandchild: exit 0 if every read saw the file's bytes or
 * faulted, 10 + page for a wrong read, 2 if an inherited handle worked. */
static int child_accesses(struct udax_store *s, struct udax_file *f, char *map)
{
	uint64_t probes[] = { 0, 1, FAULTED + 2, HOLE - 1, HOLE + 3 };
	uint64_t value = 7;

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t p = probes[i], got = 0;

		if (!test_access_sigsegv(map + p * PG, false, &got) &&
		    got != (p < HOLE ? test_page_stamp('f', p) : 0))
			return 10 + (int)p;
	}
	/* Writes: to a page with data and to a hole. */
	value = 0xc0ffee;
	write_faulted[0] = test_access_sigsegv(map + (FAULTED + 5) * PG, true, &value);
	write_faulted[1] = test_access_sigsegv(map + (HOLE + 7) * PG, true, &value);
	if (udax_pwrite(f, &value, 8, (HOLE + 9) * PG) != -EBADF ||
	    udax_truncate(f, 0) != -EBADF || udax_unlink(s, "f") != -EBADF ||
	    udax_close(f) != -EBADF || udax_store_close(s) != -EBADF)
		return 2;
	return 0;
}

static void scenario(void *arg)
{
	const char *mode = arg;
	struct udax_store *s;
	struct udax_file *f;
	uint64_t got;
	int status;
	char *map;
	pid_t pid;

	test_install_sigsegv_catcher();	/* before udax: udax chains to it */
	setenv("UDAX_DELIVERY", mode, 1);
	unlink(test_path("store"));
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	test_file_fill(f, 'f', HOLE);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE | UDAX_MAP_PTE,
			   (void **)&map), 0);
	for (uint64_t p = 0; p < FAULTED; p++)
		CHECK_EQ(*(volatile uint64_t *)(map + p * PG), test_page_stamp('f', p));

	write_faulted = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(write_faulted != MAP_FAILED);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(child_accesses(s, f, map));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %s %d", mode,
	      WIFEXITED(status) ? "exited" : "killed by signal",
	      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	/* The child's writes reached the file, or it faulted: never lost. */
	CHECK_EQ(udax_pread(f, &got, 8, (FAULTED + 5) * PG), 8);
	CHECK(got == (write_faulted[0] ? test_page_stamp('f', FAULTED + 5) : 0xc0ffee), "%s: %#llx",
	      mode, (unsigned long long)got);
	CHECK_EQ(udax_pread(f, &got, 8, (HOLE + 7) * PG), 8);
	CHECK(got == (write_faulted[1] ? 0 : 0xc0ffee), "%s: the child's write to a hole: %#llx",
	      mode, (unsigned long long)got);
	CHECK_EQ(udax_pread(f, &got, 8, (HOLE + 9) * PG), 8);
	CHECK_EQ(got, 0);
	CHECK_EQ(test_file_stat(f).size, PAGES * PG);
	/* The parent's mapping and handles still work. */
	CHECK_EQ(*(volatile uint64_t *)(map + (FAULTED + 1) * PG),
		 test_page_stamp('f', FAULTED + 1));
	map[(HOLE + 1) * PG] = 1;
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(test_path("store"), 0), 0);
}

int main(void)
{
	test_init("fork_child_never_reads_zeros", 60);
	for (int m = 0; m < 2; m++)
		test_in_child(test_delivery_modes[m], scenario, (void *)test_delivery_modes[m]);
	test_pass();
}
