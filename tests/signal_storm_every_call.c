// SPDX-License-Identifier: MIT
/*
 * signal_storm_every_call: while one thread makes every public udax call
 * over and over (store create/open/close/stat/check, open, readdir, pread,
 * pwrite, fallocate, truncate, punch, fsync, fstat, mmap, msync, munmap,
 * rename, unlink, close), another thread sends it SIGUSR1 as fast as it
 * can, and the handler reads a page of a udax mapping that is not mapped
 * yet: a fault, which takes udax locks. Every call completes with the
 * right result (no deadlock: the watchdog), and every handler read sees
 * the file's bytes (zeros). The old code held store.lock, entry locks and
 * invalidate_lock with signals open, and the handler's fault waited for
 * the very lock its thread held. Both delivery modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define SIG_PAGES 16384ull
#define ROUNDS 40

static char *sig_map;
static _Atomic uint64_t handled, bad_reads, next_page;
static _Atomic int stop;
static pthread_t caller;

static void on_usr1(int sig)
{
	uint64_t page = atomic_fetch_add_explicit(&next_page, 1, memory_order_relaxed) % SIG_PAGES;

	(void)sig;
	if (*(volatile uint64_t *)(sig_map + page * PG) != 0)
		atomic_fetch_add_explicit(&bad_reads, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
}

static void *storm(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		pthread_kill(caller, SIGUSR1);
		for (volatile int spin = 0; spin < 3000; spin++)
			;
	}
	return NULL;
}

static void round_of_calls(struct udax_store *s, struct udax_file *sig, int round, uint64_t *rng)
{
	char name[32], other[32], list[UDAX_NAME_MAX + 1], buf[3 * PG];
	uint64_t cookie = 0, off = (test_rand(rng) % 64) * PG;
	struct udax_store_stat ss;
	struct udax_file_stat fs;
	struct udax_file *f;
	int listed = 0, ret;
	char *m;

	snprintf(name, sizeof(name), "f%d", round);
	snprintf(other, sizeof(other), "g%d", round);
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT | O_EXCL, &f), 0);
	memset(buf, round & 0xff, sizeof(buf));
	CHECK_EQ(udax_pwrite(f, buf, sizeof(buf), off), (long long)sizeof(buf));
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(udax_pread(f, buf, PG, off + PG), (long long)PG);
	CHECK_EQ(buf[PG - 1], (char)(round & 0xff));
	CHECK_EQ(udax_fallocate(f, 0, 4ull << 20), 0);
	CHECK_EQ(udax_punch_hole(f, off, PG), 0);
	CHECK_EQ(udax_mmap(f, 0, 4ull << 20, PROT_READ | PROT_WRITE, (void **)&m), 0);
	CHECK_EQ(m[off + PG], (char)(round & 0xff));
	CHECK_EQ(m[off], 0);
	m[off + 5] = 9;
	CHECK_EQ(udax_msync(m, 4ull << 20, MS_SYNC), 0);
	CHECK_EQ(udax_munmap(m, 4ull << 20), 0);
	CHECK_EQ(udax_truncate(f, off + 2 * PG), 0);
	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(udax_fstat(f, &fs), 0);
	CHECK_EQ(fs.size, off + 2 * PG);
	CHECK_EQ(udax_close(f), 0);
	while ((ret = udax_readdir(s, &cookie, list, sizeof(list))) == 1)
		listed += strcmp(list, name) == 0;
	CHECK_EQ(ret, 0);
	CHECK_EQ(listed, 1);
	CHECK_EQ(udax_rename(s, name, other), 0);
	CHECK_EQ(udax_unlink(s, other), 0);
	CHECK_EQ(udax_open(s, other, O_RDONLY, &f), -ENOENT);
	CHECK_EQ(udax_store_check(test_path("store"), 0), -EBUSY);
	if (round % 8 == 0) {	/* the handler's pages fault again */
		CHECK_EQ(udax_punch_hole(sig, 0, SIG_PAGES * PG), 0);
	}
	if (round % 25 == 0) {
		struct udax_store *t;

		unlink(test_path("other"));
		CHECK_EQ(udax_store_create(test_path("other"), 8ull << 20, 0), 0);
		CHECK_EQ(udax_store_open(test_path("other"), 0, &t), 0);
		CHECK_EQ(udax_store_close(t), 0);
		CHECK_EQ(udax_store_check(test_path("other"), 0), 0);
	}
}

static void run(void *mode)
{
	struct udax_store *s;
	struct udax_file *sig;
	struct sigaction sa;
	uint64_t rng = test_seed;
	pthread_t t;

	setenv("UDAX_DELIVERY", mode, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	unlink(test_path("store"));
	CHECK_EQ(udax_store_create(test_path("store"), 256ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "sig", O_RDWR | O_CREAT, &sig), 0);
	CHECK_EQ(udax_truncate(sig, SIG_PAGES * PG), 0);
	CHECK_EQ(udax_mmap(sig, 0, SIG_PAGES * PG, PROT_READ | UDAX_MAP_PTE, (void **)&sig_map), 0);
	caller = pthread_self();
	pthread_create(&t, NULL, storm, NULL);
	for (int round = 0; round < ROUNDS; round++)
		round_of_calls(s, sig, round, &rng);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("%d rounds of every call, %llu signals handled, each a fault\n", ROUNDS,
	       (unsigned long long)atomic_load(&handled));
	CHECK_EQ(atomic_load(&bad_reads), 0);
	CHECK(atomic_load(&handled) >= ROUNDS, "only %llu signals handled",
	      (unsigned long long)atomic_load(&handled));
	CHECK_EQ(udax_munmap(sig_map, SIG_PAGES * PG), 0);
	CHECK_EQ(udax_close(sig), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(test_path("store"), 0), 0);
}

int main(void)
{
	test_init("signal_storm_every_call", 120);
	for (int m = 0; m < 2; m++)
		test_in_child(test_delivery_modes[m], run, (void *)test_delivery_modes[m]);
	test_pass();
}
