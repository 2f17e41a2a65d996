// SPDX-License-Identifier: MIT
/*
 * delivery_sigsegv_fallback: without userfaultfd (UDAX_DELIVERY=sigsegv, as
 * for an unprivileged process with vm.unprivileged_userfaultfd=0), missing
 * pages are PROT_NONE and fault as SIGSEGV, and udax behaves the same:
 * concurrent first read + first write of a page never fail, holes read
 * zeros and a second mapping never keeps a stale zero page, a shrinking
 * truncate makes old pages raise SIGBUS. The mode is reported by
 * udax_store_stat(); a forked child chooses its own (userfaultfd when
 * permitted).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096
#define PAGES 4096

static char *map;
static _Atomic uint64_t arrivals, bad;

static void *toucher(void *arg)
{
	bool writer = arg != NULL;

	for (uint64_t p = 0; p < PAGES; p++) {
		uint64_t *word = (uint64_t *)(map + p * PG + 8 * (p % 512));

		atomic_fetch_add(&arrivals, 1);
		while (atomic_load(&arrivals) < 2 * (p + 1))
			;
		if (writer)
			__atomic_store_n(word, p + 1, __ATOMIC_RELAXED);
		else if (__atomic_load_n(word, __ATOMIC_RELAXED) > p + 1)
			atomic_fetch_add(&bad, 1);
	}
	return NULL;
}

static int child_mode(void)
{
	struct udax_store_stat ss;
	struct udax_store *s;
	struct udax_file *f;
	char *m;

	unsetenv("UDAX_DELIVERY");
	if (udax_store_create(test_path("child"), 8ull << 20, 0) ||
	    udax_store_open(test_path("child"), 0, &s) ||
	    udax_open(s, "c", O_RDWR | O_CREAT, &f) || udax_truncate(f, PG) ||
	    udax_mmap(f, 0, PG, PROT_READ | PROT_WRITE, (void **)&m))
		return 3;
	m[0] = 5;
	if (m[0] != 5 || udax_store_stat(s, &ss))
		return 4;
	return (int)ss.delivery;
}

int main(void)
{
	struct udax_store_stat ss;
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	pthread_t t[2];
	char *ro;
	int status, uffd, want_child;
	pid_t pid;

	test_init("delivery_sigsegv_fallback", 120);
	test_install_sigbus_catcher();
	setenv("UDAX_DELIVERY", "sigsegv", 1);
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ, (void **)&ro), 0);
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	CHECK_EQ(ss.delivery, UDAX_DELIVERY_SIGSEGV);

	/* Seed race, the writer on one mapping, the reader on the other. */
	CHECK(pthread_create(&t[0], NULL, toucher, (void *)1) == 0);
	CHECK(pthread_create(&t[1], NULL, toucher, NULL) == 0);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	CHECK_EQ(atomic_load(&bad), 0);
	for (uint64_t p = 0; p < PAGES; p++) {
		CHECK_EQ(*(uint64_t *)(map + p * PG + 8 * (p % 512)), p + 1);
		CHECK_EQ(*(uint64_t *)(ro + p * PG + 8 * (p % 512)), p + 1);
	}
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, PAGES);

	/* A shrinking truncate: old pages raise SIGBUS in both mappings. */
	CHECK_EQ(udax_truncate(f, PG), 0);
	CHECK_EQ(map[0], 1);
	CHECK(test_access_sigbus(map + 2 * PG, false, 0), "no SIGBUS past EOF");
	CHECK(test_access_sigbus(ro + 2 * PG, false, 0), "no SIGBUS past EOF (read-only)");
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_munmap(ro, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	want_child = uffd >= 0 ? UDAX_DELIVERY_USERFAULTFD : UDAX_DELIVERY_SIGSEGV;
	if (uffd >= 0)
		close(uffd);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(child_mode());
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == want_child,
	      "child status %#x, expected exit %d", status, want_child);
	test_pass();
}
