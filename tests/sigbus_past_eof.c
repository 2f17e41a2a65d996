// SPDX-License-Identifier: MIT
/*
 * sigbus_past_eof: access past EOF through a mapping raises SIGBUS, as with
 * the kernel: in the last partial page bytes are accessible, the pages
 * after it are not; after a shrinking truncate, pages that were mapped
 * raise SIGBUS; after growing, they read zeros. With no SIGBUS handler
 * installed by the application, the process dies of SIGBUS.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096

/* In a child that never installed a SIGBUS handler: touch past EOF. */
static void child_without_handler(void)
{
	struct udax_store *s;
	struct udax_file *f;
	char *map;

	if (udax_store_create(test_path("child-store"), 8ull << 20, 0) ||
	    udax_store_open(test_path("child-store"), 0, &s) ||
	    udax_open(s, "f", O_RDWR | O_CREAT, &f) || udax_truncate(f, PG) ||
	    udax_mmap(f, 0, 8 * PG, PROT_READ | PROT_WRITE, (void **)&map))
		_exit(3);
	(void)*(volatile char *)map;
	(void)*(volatile char *)(map + 6 * PG);
	_exit(4);	/* should not get here */
}

int main(void)
{
	struct udax_store *s;
	struct udax_file *f;
	int status;
	pid_t pid;
	char *map;

	test_init("sigbus_past_eof", 60);

	/* Before this process installs any handler or uses udax. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child_without_handler();
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
	      "child status %#x, expected death by SIGBUS", status);

	test_install_sigbus_catcher();
	CHECK_EQ(udax_store_create(test_path("store"), 8ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, 2 * PG + 100), 0);
	CHECK_EQ(udax_mmap(f, 0, 8 * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);

	CHECK(!test_access_sigbus(map, true, 1));
	CHECK(!test_access_sigbus(map + PG, false, 0));
	CHECK(!test_access_sigbus(map + 2 * PG + 4000, false, 0));	/* same page as EOF */
	CHECK(test_access_sigbus(map + 3 * PG, false, 0));
	CHECK(test_access_sigbus(map + 7 * PG, true, 1));

	/* Mapped pages past a new, smaller EOF raise SIGBUS. */
	map[PG + 5] = 9;
	CHECK_EQ(udax_truncate(f, PG), 0);
	CHECK(test_access_sigbus(map + PG + 5, false, 0));
	CHECK(!test_access_sigbus(map, false, 0));
	/* Growing exposes zeros, not the old bytes. */
	CHECK_EQ(udax_truncate(f, 3 * PG), 0);
	CHECK(!test_access_sigbus(map + PG + 5, false, 0));
	CHECK_EQ(map[PG + 5], 0);
	CHECK(test_sigbus_seen_unarmed == 0);

	CHECK_EQ(udax_munmap(map, 8 * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
