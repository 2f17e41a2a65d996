// SPDX-License-Identifier: MIT
/*
 * store_fork_child_holds_nothing: a fork() child of a process that has a
 * store open (shared, UDAX_STORE_EXCLUSIVE, or UDAX_STORE_EXCLUSIVE |
 * UDAX_STORE_RDONLY, with a file mapped) keeps none of the store file's
 * locks: once the parent has closed the store, while the child still
 * lives (having unmapped the mapping it inherited of a shared store, with
 * which it was a member of its own), an exclusive open succeeds (a child that kept the store's
 * descriptor kept its flock or lock bytes, and every open stayed refused,
 * the child's own included: found by the adversarial pass of issue 14's
 * API step). Then the child opens the store itself and reads the file
 * (the plain build only: a sanitizer's fork child of a process with
 * threads must not start threads, xproc_test.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"
#include "xproc_test.h"

static const char *path;

/* The child (its fork handlers have run): a mapping of a shared store it
 * inherited (plain build) reads the file, and once unmapped leaves
 * nothing; say so, wait for the parent's word, then (plain build) open the
 * store itself and read the file. Return: its exit status. */
static int child(unsigned flags, char *map, int from_parent, int to_parent)
{
	struct udax_store *s;
	struct udax_file *f;
	char c = 0;

	if (!(flags & UDAX_STORE_EXCLUSIVE) && !XPROC_TEST_SANITIZED &&
	    (map[0] != 'p' || udax_munmap(map, 4096) != 0))
		return 4;
	if (write(to_parent, "r", 1) != 1 || read(from_parent, &c, 1) != 1)
		return 2;
	if (XPROC_TEST_SANITIZED)
		return 0;
	if (udax_store_open(path, 0, &s) || udax_open(s, "f", O_RDONLY, &f) ||
	    udax_pread(f, &c, 1, 0) != 1 || c != 'p' || udax_close(f) || udax_store_close(s))
		return 3;
	return 0;
}

static void run(unsigned flags)
{
	struct udax_store *s, *x;
	struct udax_file *f;
	int pipefd[2], back[2], status;
	char c;
	char *map;
	pid_t pid;

	CHECK_EQ(udax_store_open(path, flags, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &f), 0);
	CHECK_EQ(udax_mmap(f, 0, 4096, PROT_READ, (void **)&map), 0);
	CHECK_EQ(map[0], 'p');
	CHECK(pipe(pipefd) == 0 && pipe(back) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(pipefd[1]);
		close(back[0]);
		_exit(child(flags, map, pipefd[0], back[1]));
	}
	close(pipefd[0]);
	close(back[1]);
	CHECK(read(back[0], &c, 1) == 1);
	close(back[0]);
	CHECK_EQ(udax_munmap(map, 4096), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);

	/* The child lives on, holding nothing of the store. */
	CHECK(udax_store_open(path, UDAX_STORE_EXCLUSIVE, &x) == 0,
	      "flags 0x%x: an exclusive open beside the child: %s", flags, udax_strerror_detail());
	CHECK_EQ(udax_store_close(x), 0);
	CHECK_EQ(udax_store_check(path, 0), 0);

	CHECK(write(pipefd[1], "g", 1) == 1);
	close(pipefd[1]);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "flags 0x%x: child status %#x",
	      flags, status);
}

int main(void)
{
	struct udax_store *s;
	struct udax_file *f;

	test_init("store_fork_child_holds_nothing", 60);
	path = test_path("store");
	CHECK_EQ(udax_store_create(path, 16ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_EXCLUSIVE, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, "p", 1, 0), 1);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);

	run(0);
	run(UDAX_STORE_EXCLUSIVE);
	run(UDAX_STORE_EXCLUSIVE | UDAX_STORE_RDONLY);
	run(UDAX_STORE_RDONLY);
	test_pass();
}
