// SPDX-License-Identifier: MIT
/*
 * fault_on_small_sigaltstack: an application that runs its signal handlers
 * on an 8 KiB alternate stack (SIGSTKSZ) with a guard page below it gets
 * every udax fault path served there: 4 KiB and 2 MiB read faults on holes,
 * allocating writes (4 KiB blocks and 2 MiB extents), the first write to a
 * clean page, map-ahead over an allocated file, a UDAX_MAP_SYNC allocating
 * write (a checkpoint inside the handler), an eviction at the VMA budget,
 * and SIGBUS past EOF chained to the application's handler. The stack is
 * filled with a pattern before each path; the depth it reaches, less the
 * kernel's own signal frame (measured with an empty handler), must stay
 * within UDAX_HANDLER_STACK_BYTES, the figure udax(3) documents. Overflowing
 * into the guard page would kill the process (the test runs in a child).
 * The old code put a 4 KiB superblock image on the stack of a MAP_SYNC
 * fault's checkpoint (5 KiB in all beyond the frame).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define MIB (1ull << 20)
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#endif
/* Sanitizers' instrumentation takes more stack: their builds run the same
 * paths on a larger stack and only report the depth. */
#ifdef SANITIZED
#define ALT_BYTES 65536ull
#else
#define ALT_BYTES 8192ull
#endif
#define PATTERN 0xa5
/* udax(3), NOTES: the most stack a udax fault takes beyond the kernel's
 * signal frame. */
#define UDAX_HANDLER_STACK_BYTES 2048ull

static unsigned char *alt;	/* ALT_BYTES, a guard page below */
static sigjmp_buf bus_jmp;

static void on_usr1(int sig)
{
	(void)sig;
}

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

static void stack_fill(void)
{
	memset(alt, PATTERN, ALT_BYTES);
}

/* Bytes of the alternate stack touched since stack_fill() (it grows down
 * from alt + ALT_BYTES). */
static uint64_t stack_used(void)
{
	uint64_t low = 0;

	while (low < ALT_BYTES && alt[low] == PATTERN)
		low++;
	return ALT_BYTES - low;
}

static uint64_t frame_bytes;

static void measure(const char *what, uint64_t used, uint64_t *worst)
{
	uint64_t own = used > frame_bytes ? used - frame_bytes : 0;

	if (!used)
		return;		/* no fault: mapped ahead */
	printf("  %-36s %5llu bytes (%llu beyond the frame)\n", what, (unsigned long long)used,
	       (unsigned long long)own);
#ifndef SANITIZED
	CHECK(own <= UDAX_HANDLER_STACK_BYTES, "%s: %llu bytes of stack beyond the signal frame",
	      what, (unsigned long long)own);
#endif
	if (own > *worst)
		*worst = own;
}

static void touch(const char *what, volatile char *p, bool write, uint64_t *worst)
{
	stack_fill();
	if (write)
		*p = 1;
	else
		(void)*p;
	measure(what, stack_used(), worst);
}

/* Scattered writes while the application's own VMAs fill all but a few
 * hundred of the kernel's limit: the faults that empty every mapping (and
 * count the VMAs) run on the small stack too. */
static void evictions(struct udax_store *s, uint64_t *worst)
{
	uint64_t limit = test_vma_limit(), have, pages, rng = test_seed, deepest = 0;
	struct udax_file *f;
	char *region, *m;

	CHECK_EQ(udax_open(s, "sparse", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, 1ull << 36), 0);
	CHECK_EQ(udax_mmap(f, 0, 1ull << 36, PROT_READ | PROT_WRITE | UDAX_MAP_PTE, (void **)&m),
		 0);
	have = test_vma_count();
	pages = limit - 600 - have;	/* the kernel refuses installs first */
	region = mmap(NULL, pages * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	CHECK(region != MAP_FAILED);
	for (uint64_t p = 0; p < pages; p += 2)
		CHECK(mprotect(region + p * PG, PG, PROT_READ) == 0);
	for (int i = 0; i < 2000 && !test_file_stat(f).map_evictions; i++) {
		uint64_t used;

		stack_fill();
		m[((test_rand(&rng) % (1ull << 23)) * 2 + 1) * PG] = 1;
		used = stack_used();
		deepest = used > deepest ? used : deepest;
	}
	CHECK(test_file_stat(f).map_evictions > 0, "no eviction");
	measure("faults up to an eviction", deepest, worst);
	CHECK(munmap(region, pages * PG) == 0);
	CHECK_EQ(udax_munmap(m, 1ull << 36), 0);
	CHECK_EQ(udax_close(f), 0);
}

static void run(void *mode)
{
	struct udax_store *s;
	struct udax_file *f, *g, *h;
	struct sigaction sa;
	stack_t ss;
	uint64_t worst = 0;
	char *m, *big, *sync_map;

	setenv("UDAX_DELIVERY", mode, 1);
	printf("%s delivery:\n", (const char *)mode);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);	/* before udax: udax chains to it */
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	alt = mmap(NULL, ALT_BYTES + PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	CHECK(alt != MAP_FAILED);
	CHECK(mprotect(alt, PG, PROT_NONE) == 0);	/* guard */
	alt += PG;
	ss.ss_sp = alt;
	ss.ss_size = ALT_BYTES;
	ss.ss_flags = 0;
	CHECK(sigaltstack(&ss, NULL) == 0);

	stack_fill();
	raise(SIGUSR1);
	frame_bytes = stack_used();
	printf("kernel signal frame: %llu bytes\n", (unsigned long long)frame_bytes);

	unlink(test_path("store"));
	CHECK_EQ(udax_store_create(test_path("store"), 256 * MIB, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, 16 * MIB), 0);
	CHECK_EQ(udax_mmap(f, 0, 16 * MIB, PROT_READ | PROT_WRITE | UDAX_MAP_PTE, (void **)&m), 0);
	touch("4 KiB read of a hole", m, false, &worst);
	touch("4 KiB write, allocating", m + PG, true, &worst);
	touch("4 KiB write after a hole read", m, true, &worst);
	CHECK_EQ(udax_fsync(f), 0);
	touch("first write to a clean page", m + PG, true, &worst);
	CHECK_EQ(udax_munmap(m, 16 * MIB), 0);

	CHECK_EQ(udax_mmap(f, 0, 16 * MIB, PROT_READ | PROT_WRITE, (void **)&m), 0);
	touch("2 MiB read of a hole", m + 4 * MIB, false, &worst);
	touch("2 MiB write, allocating an extent", m + 8 * MIB, true, &worst);
	touch("4 KiB write in a 2 MiB hole", m + 4 * MIB + PG, true, &worst);
	CHECK_EQ(udax_truncate(f, 12 * MIB), 0);
	stack_fill();
	if (sigsetjmp(bus_jmp, 1) == 0) {
		(void)*(volatile char *)(m + 14 * MIB);
		CHECK(0, "no SIGBUS past EOF");
	}
	measure("SIGBUS past EOF, chained", stack_used(), &worst);
	CHECK_EQ(udax_munmap(m, 16 * MIB), 0);

	CHECK_EQ(udax_open(s, "g", O_RDWR | O_CREAT, &g), 0);
	CHECK_EQ(udax_fallocate(g, 0, 64 * MIB), 0);
	CHECK_EQ(udax_mmap(g, 0, 64 * MIB, PROT_READ, (void **)&big), 0);
	for (uint64_t off = 0; off < 64 * MIB; off += 2 * MIB)
		touch(off ? "map-ahead (sequential 2 MiB reads)" : "2 MiB read of an extent",
		      big + off, false, &worst);
	CHECK_EQ(udax_munmap(big, 64 * MIB), 0);

	CHECK_EQ(udax_open(s, "h", O_RDWR | O_CREAT, &h), 0);
	CHECK_EQ(udax_truncate(h, 4 * MIB), 0);
	CHECK_EQ(udax_mmap(h, 0, 4 * MIB, PROT_READ | PROT_WRITE | UDAX_MAP_SYNC,
			   (void **)&sync_map), 0);
	touch("MAP_SYNC write, allocating (checkpoint)", sync_map + 3 * PG, true, &worst);
	CHECK_EQ(udax_munmap(sync_map, 4 * MIB), 0);

	evictions(s, &worst);
	printf("deepest udax fault: %llu bytes beyond the kernel's frame (documented: %llu)\n",
	       (unsigned long long)worst, (unsigned long long)UDAX_HANDLER_STACK_BYTES);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_close(h), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

int main(void)
{
	test_init("fault_on_small_sigaltstack", 60);
	for (int m = 0; m < 2; m++)
		test_in_child(test_delivery_modes[m], run, (void *)test_delivery_modes[m]);
	test_pass();
}
