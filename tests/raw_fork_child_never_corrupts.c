// SPDX-License-Identifier: MIT
/*
 * raw_fork_child_never_corrupts: a child made without fork handlers (the
 * fork system call itself, as clone()-based runtimes and glibc's _Fork()
 * make them) touches a udax mapping it inherited. Reads see the file's
 * bytes or fault (never zeros for a page with data: the missing pages are
 * MADV_DONTFORK), and its writes into holes fault: they are never served
 * from the child's copy of the parent's allocator, whose blocks the parent
 * then gives to another file (the old code, with SIGSEGV delivery, wrote
 * into another file's blocks). The handles it inherited are refused
 * (-EBADF): closing the store there wrote the copy's stale file table over
 * the parent's, and a file the parent had made durable was gone after the
 * parent crashed. Both delivery modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define MIB (1ull << 20)
#define DATA_PAGES 64ull	/* then holes, to 8 MiB */

/* In the raw child: exit 0, or 10 + page for a read of zeros where the
 * file has data, 3 if an inherited handle worked. Once the parent has
 * given every free block to file b and made it durable (go), writes fill
 * holes across 4 MiB (faults or not), and the handles are used. */
static int child(struct udax_store *s, struct udax_file *a, char *map, int go)
{
	uint64_t got, ccc = 0x6363636363636363ull;	/* "cccccccc" */
	char c;

	for (uint64_t p = 0; p < DATA_PAGES; p += 7)
		if (!test_access_sigsegv(map + p * PG, false, &got) &&
		    got != test_page_stamp('a', p))
			return 10 + (int)p;
	if (read(go, &c, 1) != 1)
		return 2;
	for (uint64_t off = 4 * MIB; off < 8 * MIB; off += PG)
		(void)test_access_sigsegv(map + off, true, &ccc);
	if (udax_pwrite(a, &got, 8, 5 * MIB) != -EBADF || udax_close(a) != -EBADF ||
	    udax_store_close(s) != -EBADF)
		return 3;
	return 0;
}

static void run(void *mode)
{
	struct udax_store *s;
	struct udax_file *a, *b;
	struct udax_store_stat ss;
	int status, go[2];
	uint64_t b_pages;
	pid_t pid;
	char *map;

	setenv("UDAX_DELIVERY", mode, 1);
	test_install_sigsegv_catcher();	/* before udax: udax chains to it */
	unlink(test_path("store"));
	CHECK_EQ(udax_store_create(test_path("store"), 16 * MIB, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "a", O_RDWR | O_CREAT, &a), 0);
	CHECK_EQ(udax_open(s, "b", O_RDWR | O_CREAT, &b), 0);
	test_file_fill(a, 'a', DATA_PAGES);
	CHECK_EQ(udax_truncate(a, 8 * MIB), 0);
	CHECK_EQ(udax_mmap(a, 0, 8 * MIB, PROT_READ | PROT_WRITE | UDAX_MAP_PTE, (void **)&map),
		 0);
	CHECK_EQ(*(volatile uint64_t *)map, test_page_stamp('a', 0));	/* page 0 installed */

	CHECK(pipe(go) == 0);
	pid = (pid_t)syscall(SYS_fork);		/* no fork handlers run */
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(child(s, a, map, go[0]));
	/* Every free block goes to b; then the child writes. */
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	b_pages = ss.blocks_free;
	test_file_fill(b, 'b', b_pages);
	CHECK_EQ(udax_fsync(b), 0);
	CHECK(write(go[1], "g", 1) == 1);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(!WIFEXITED(status) || WEXITSTATUS(status) == 0, "%s: child exit %d (10 + page: "
	      "zeros read; 3: an inherited handle worked)", (const char *)mode,
	      WEXITSTATUS(status));
	for (uint64_t p = 0; p < b_pages; p++) {
		uint64_t got;

		CHECK_EQ(udax_pread(b, &got, 8, p * PG), 8);
		CHECK(got == test_page_stamp('b', p), "%s: file b page %llu holds %#llx",
		      (const char *)mode, (unsigned long long)p, (unsigned long long)got);
	}
	for (uint64_t p = 0; p < 8 * MIB / PG; p++) {
		uint64_t got;

		CHECK_EQ(udax_pread(a, &got, 8, p * PG), 8);
		CHECK(got == (p < DATA_PAGES ? test_page_stamp('a', p) : 0),
		      "%s: file a page %llu: %#llx", (const char *)mode, (unsigned long long)p,
		      (unsigned long long)got);
	}
	_exit(0);	/* a crash: what is on disk is what fsync made durable */
}

/* After the crash: b, made durable before the child ran, is all there.
 * (In a child too: a process that used udax keeps udax's signal handlers,
 * and the next case must install its own first.) */
static void check_durable(void *unused)
{
	struct udax_store *s;
	struct udax_file *b;
	uint64_t got;

	(void)unused;
	CHECK_EQ(udax_store_open(test_path("store"), UDAX_STORE_RDONLY, &s), 0);
	CHECK_EQ(udax_open(s, "b", O_RDONLY, &b), 0);
	for (uint64_t p = 0; p < test_file_stat(b).size / PG; p++) {
		CHECK_EQ(udax_pread(b, &got, 8, p * PG), 8);
		CHECK(got == test_page_stamp('b', p), "durable file b, page %llu: %#llx",
		      (unsigned long long)p, (unsigned long long)got);
	}
	CHECK(test_file_stat(b).size > 0);
	CHECK_EQ(udax_close(b), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(test_path("store"), 0), 0);
}

int main(void)
{
	test_init("raw_fork_child_never_corrupts", 60);
	for (int m = 0; m < 2; m++) {
		test_in_child(test_delivery_modes[m], run, (void *)test_delivery_modes[m]);
		test_in_child("after the crash", check_durable, NULL);
	}
	test_pass();
}
