// SPDX-License-Identifier: MIT
/*
 * vma_budget_without_proc: when /proc/self/maps cannot be read (no /proc,
 * or, as here, no free file descriptor), udax cannot count the process's
 * VMAs, and must keep its budget anyway: scattered writes into a large
 * sparse mapping, two VMAs' worth each and more than vm.max_map_count in
 * all, never end in SIGBUS, the process stays within udax's budget (7/8 of
 * the limit; sampled with a descriptor the test frees only while udax is
 * idle), and every value reads back. The old code took "cannot count" for
 * 0 VMAs and installed up to the kernel's limit, where not even emptying a
 * mapping is allowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define FILE_BYTES (1ull << 38)

static int spare_fd = -1;

/* Count VMAs with the spare descriptor (udax is idle meanwhile). */
static uint64_t vmas_now(void)
{
	char buf[4096];
	uint64_t lines = 0;
	ssize_t n;
	int fd;

	close(spare_fd);
	fd = open("/proc/self/maps", O_RDONLY);
	CHECK(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	spare_fd = open("/dev/null", O_RDONLY);
	CHECK(spare_fd >= 0);
	return lines;
}

static void exhaust_descriptors(void)
{
	struct rlimit rl = { .rlim_cur = 256, .rlim_max = 0 };

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_max < 256 ? rl.rlim_max : 256;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	while (open("/dev/null", O_RDONLY) >= 0)
		;
	CHECK(errno == EMFILE);
	CHECK(open("/proc/self/maps", O_RDONLY) < 0, "a descriptor is still free");
	spare_fd = (int)rl.rlim_cur - 1;	/* the last one the loop opened */
}

static uint64_t stamp(uint64_t page)
{
	return page * 0x9e3779b97f4a7c15ull | 1;
}

int main(void)
{
	uint64_t limit, writes, rng, peak = 0, *pages;
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	char *map;

	test_init("vma_budget_without_proc", 300);
	test_install_sigbus_catcher();	/* any SIGBUS fails the test */
	limit = test_vma_limit();
	writes = limit / 2 + 4096;
	pages = malloc(writes * sizeof(*pages));
	CHECK(pages != NULL);
	rng = test_seed;
	for (uint64_t i = 0; i < writes; i++)	/* odd pages: never neighbours */
		pages[i] = (test_rand(&rng) % (FILE_BYTES / PG / 2)) * 2 + 1;

	CHECK_EQ(udax_store_create(test_path("store"), 1ull << 30, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "sparse", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE | UDAX_MAP_PTE,
			   (void **)&map), 0);
	exhaust_descriptors();
	for (uint64_t i = 0; i < writes; i++) {
		*(uint64_t *)(map + pages[i] * PG) = stamp(pages[i]);
		if (i % 1024 == 0) {
			uint64_t now = vmas_now();

			peak = now > peak ? now : peak;
		}
	}
	/* Within udax's budget (7/8 of the limit; a few VMAs of slack for the
	 * test's own), short of the kernel's limit. */
	CHECK(peak <= limit - limit / 8 + 64, "%llu VMAs at the peak, limit %llu",
	      (unsigned long long)peak, (unsigned long long)limit);
	for (uint64_t i = 0; i < writes; i++)
		CHECK(*(uint64_t *)(map + pages[i] * PG) == stamp(pages[i]), "page %llu",
		      (unsigned long long)pages[i]);
	st = test_file_stat(f);
	CHECK(st.map_evictions > 0, "%llu VMAs' worth of writes, no eviction",
	      (unsigned long long)(2 * writes));
	printf("%llu writes, %llu evictions, %llu VMAs at the peak (limit %llu)\n",
	       (unsigned long long)writes, (unsigned long long)st.map_evictions,
	       (unsigned long long)peak, (unsigned long long)limit);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	free(pages);
	close(spare_fd);	/* LeakSanitizer reads /proc at exit (udax's own
				 * descriptors sit above the lowered limit) */
	test_pass();
}
