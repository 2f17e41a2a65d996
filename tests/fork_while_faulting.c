// SPDX-License-Identifier: MIT
/*
 * fork_while_faulting: the main thread forks while other threads of the
 * process fault pages in, write through the mapping, write back (an msync
 * loop) a shared store's file and check the store (refused: -EBUSY)
 * (issue 14, stage 4). Each child reads
 * every page through the mapping it inherited (never zeros: every page
 * holds data) and writes its own word into pages chosen by the seed, then
 * exits without syncing. Afterwards the parent's view has every child's
 * words, and so has the store once the parent synced and closed it: a
 * child's write is neither lost to the parent's writeback running beside
 * it nor to the child's exit. Seeded, FORKS children one at a time. Plain
 * build only: a sanitizer build does not inherit (fork.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"
#include "xproc_test.h"

#define PG 4096ull
#define PAGES 2048ull		/* 8 MiB */
#define FORKS 24
#define CHILD_WRITES 64

static uint64_t *map;		/* udax mapping of the file, read-write */
static atomic_int stop;
static uint64_t seed;

/* Word 0 of every page: nonzero, rewritten all the time. */
static void *writer(void *arg)
{
	uint64_t rng = seed ^ 0x5eed, n = 1;

	(void)arg;
	while (!atomic_load(&stop)) {
		uint64_t p = test_rand(&rng) % PAGES;

		((volatile uint64_t *)map)[p * (PG / 8)] = (p << 32) | n++;
	}
	return NULL;
}

/* udax_store_check() of the store, refused beside members (-EBUSY), but
 * holding its reader byte for a moment each time: a child joining then
 * was refused too, and lost its mappings (the second adversarial pass of
 * stage 4). */
static void *checker(void *arg)
{
	while (!atomic_load(&stop))
		CHECK_EQ(udax_store_check(arg, 0), -EBUSY);
	return NULL;
}

static void *syncer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		CHECK_EQ(udax_msync(map, PAGES * PG, MS_SYNC), 0);
	return NULL;
}

/* Page of child c's write w, and the word it writes there. */
static uint64_t child_page(unsigned c, unsigned w)
{
	uint64_t rng = seed + c * 1000003ull + w;

	return test_rand(&rng) % PAGES;
}

static uint64_t child_word(unsigned c, unsigned w)
{
	return ((uint64_t)(c + 1) << 40) | (w + 1);
}

/* Word 1 + c of a page holds child c's writes (the last one there). */
static void child(unsigned c)
{
	for (uint64_t p = 0; p < PAGES; p++) {
		uint64_t w0 = ((volatile uint64_t *)map)[p * (PG / 8)];

		CHECK(w0 >> 32 == p, "child %u read %#llx in page %llu: zeros or another page's",
		      c, (unsigned long long)w0, (unsigned long long)p);
	}
	for (unsigned w = 0; w < CHILD_WRITES; w++)
		((volatile uint64_t *)map)[child_page(c, w) * (PG / 8) + 1 + c] = child_word(c, w);
}

/* What child c's word in page p must be: its last write there, or 0. */
static uint64_t expected(unsigned c, uint64_t p)
{
	uint64_t want = 0;

	for (unsigned w = 0; w < CHILD_WRITES; w++)
		if (child_page(c, w) == p)
			want = child_word(c, w);
	return want;
}

static void check_children(const char *where, uint64_t (*read_word)(uint64_t p, unsigned c))
{
	for (unsigned c = 0; c < FORKS; c++)
		for (uint64_t p = 0; p < PAGES; p++)
			CHECK(read_word(p, c) == expected(c, p), "%s: child %u's word in page %llu: "
			      "%#llx, not %#llx (seed %llu)", where, c, (unsigned long long)p,
			      (unsigned long long)read_word(p, c),
			      (unsigned long long)expected(c, p), (unsigned long long)seed);
}

static uint64_t mapped_word(uint64_t p, unsigned c)
{
	return ((volatile uint64_t *)map)[p * (PG / 8) + 1 + c];
}

static struct udax_file *reread;

static uint64_t stored_word(uint64_t p, unsigned c)
{
	uint64_t v = 0;

	CHECK_EQ(udax_pread(reread, &v, 8, p * PG + 8 * (1 + c)), 8);
	return v;
}

int main(void)
{
	const char *path;
	struct udax_store *s;
	struct udax_file *f;
	pthread_t t[3];
	int status;

	test_init("fork_while_faulting", 120);
	if (XPROC_TEST_SANITIZED)
		test_skip("a sanitizer build does not inherit mappings (fork.c)");
	seed = test_seed;
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap2(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, 0, (void **)&map), 0);
	for (uint64_t p = 0; p < PAGES; p++)
		map[p * (PG / 8)] = p << 32;
	CHECK_EQ(udax_msync(map, PAGES * PG, MS_SYNC), 0);
	/* Start over from nothing mapped: the children fork beside faults. */
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_mmap2(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, UDAX_MAP_PTE,
			    (void **)&map), 0);
	CHECK(pthread_create(&t[0], NULL, writer, NULL) == 0);
	CHECK(pthread_create(&t[1], NULL, syncer, NULL) == 0);
	CHECK(pthread_create(&t[2], NULL, checker, (void *)path) == 0);
	for (unsigned c = 0; c < FORKS; c++) {
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			child(c);
			_exit(0);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child %u status %#x (seed %llu)", c, status, (unsigned long long)seed);
	}
	atomic_store(&stop, 1);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	pthread_join(t[2], NULL);
	check_children("the parent's mapping", mapped_word);
	CHECK_EQ(udax_msync(map, PAGES * PG, MS_SYNC), 0);
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_EXCLUSIVE | UDAX_STORE_RDONLY, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &reread), 0);
	check_children("the store, reopened", stored_word);
	CHECK_EQ(udax_close(reread), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
