// SPDX-License-Identifier: MIT
/*
 * demo_cmd.c - `udax demo`: create a store in a temporary directory, map a
 * sparse file of it, fault the file from several threads (reads, writes,
 * holes), check the bytes and print the counters. The threads share only
 * the mapping, each writing its own pages; no locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "udax.h"

struct demo {
	char *map;
	uint64_t pages;
	unsigned threads;
	unsigned id;
};

/* Page p is written by thread p % threads, except every 8th page, which
 * stays a hole; every thread also reads every page, so first reads and
 * first writes of a page race (the seed's race). */
static bool demo_written(uint64_t p)
{
	return p % 8 != 7;
}

static uint64_t demo_stamp(uint64_t p)
{
	return p * 0x9e3779b97f4a7c15ull | 1;
}

static void *demo_thread(void *arg)
{
	struct demo *d = arg;
	uint64_t sink = 0;

	for (uint64_t n = 0; n < d->pages; n++) {
		uint64_t p = (n + d->id * (d->pages / d->threads)) % d->pages;
		uint64_t *word = (uint64_t *)(d->map + p * 4096 + (p % 512) * 8);

		if (demo_written(p) && p % d->threads == d->id)
			__atomic_store_n(word, demo_stamp(p), __ATOMIC_RELAXED);
		else
			sink += __atomic_load_n(word, __ATOMIC_RELAXED);
	}
	return (void *)(uintptr_t)(sink == 42);
}

/* Print the demo file's counters, each named in words. */
static void demo_counters_print(const struct udax_file_stat *st)
{
	const struct {
		uint64_t value;
		const char *words;
	} rows[] = {
		{ st->size, "bytes: the file's size" },
		{ st->blocks, "blocks (4 KiB) allocated to the file" },
		{ st->dirty_pages, "pages dirty (written, not yet written back)" },
		{ st->faults_read, "read faults served" },
		{ st->faults_write, "write faults served" },
		{ st->faults_hole, "read faults of holes (mapped the zero page)" },
		{ st->faults_pmd, "faults served with one 2 MiB entry" },
		{ st->faults_pmd_fallback, "faults served with a 4 KiB entry instead of 2 MiB" },
		{ st->faults_sigbus, "faults answered with SIGBUS" },
		{ st->lock_waits, "sleeps on a locked entry (threads racing for a page)" },
		{ st->blocks_allocated, "blocks allocated by faults and writes" },
		{ st->writeback_pages, "pages written back by msync/fsync" },
		{ st->pages_mapped_ahead, "pages mapped ahead of a faulting 2 MiB" },
		{ st->map_evictions, "times the mappings were emptied (vm.max_map_count)" },
	};

	printf("counters of 'demo' (udax_fstat, this process's faults):\n");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		printf("  %10" PRIu64 "  %s\n", rows[i].value, rows[i].words);
}

/* Say how page faults reached udax in this process. */
static void demo_delivery_print(struct udax_store *s)
{
	struct udax_store_stat ss;

	if (udax_store_stat(s, &ss))
		return;
	printf("page faults reached udax by %s\n",
	       ss.delivery == UDAX_DELIVERY_USERFAULTFD
	       ? "userfaultfd (SIGBUS in the faulting thread)"
	       : ss.delivery == UDAX_DELIVERY_SIGSEGV
	       ? "PROT_NONE pages and SIGSEGV (userfaultfd unavailable or UDAX_DELIVERY=sigsegv)"
	       : "nothing (no fault was taken)");
}

static int demo_run(struct udax_store *s, unsigned threads, uint64_t mib)
{
	struct demo d[64];
	pthread_t tid[64];
	struct udax_file_stat fs;
	struct udax_file *f;
	uint64_t pages = mib << 8, bad = 0, written = 0, blocks_max = 0, unit = UINT64_MAX;
	double t0, secs;
	char *map;
	int ret;

	ret = udax_open(s, "demo", O_RDWR | O_CREAT | O_TRUNC, &f);
	if (ret)
		return fail("open demo", ret);
	ret = udax_truncate(f, pages * 4096);
	if (!ret)
		ret = udax_mmap(f, 0, pages * 4096, PROT_READ | PROT_WRITE, (void **)&map);
	if (ret) {
		udax_close(f);
		return fail("map demo", ret);
	}
	printf("mapped %" PRIu64 " MiB sparse file 'demo' at %p; %u threads fault it\n",
	       mib, (void *)map, threads);
	t0 = now_seconds();
	for (unsigned t = 0; t < threads; t++) {
		d[t] = (struct demo){ .map = map, .pages = pages, .threads = threads, .id = t };
		pthread_create(&tid[t], NULL, demo_thread, &d[t]);
	}
	for (unsigned t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	secs = now_seconds() - t0;
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t word = *(uint64_t *)(map + p * 4096 + (p % 512) * 8);

		/* A written 2 MiB range holds 512 blocks at most (an extent). */
		if (demo_written(p) && p / 512 != unit) {
			unit = p / 512;
			blocks_max += 512;
		}
		written += demo_written(p);
		bad += word != (demo_written(p) ? demo_stamp(p) : 0);
	}
	ret = udax_fstat(f, &fs);
	udax_munmap(map, pages * 4096);
	if (!ret)
		ret = udax_fsync(f);
	udax_close(f);
	if (ret)
		return fail("demo", ret);
	printf("%" PRIu64 " pages x %u threads in %.3f s: %.0f page touches/s\n", pages,
	       threads, secs, (double)(pages * threads) / secs);
	demo_delivery_print(s);
	demo_counters_print(&fs);
	printf("check: %" PRIu64 " pages written, %" PRIu64 " blocks allocated, %" PRIu64
	       " holes read as zeros, %" PRIu64 " wrong pages\n",
	       written, fs.blocks, pages - written, bad);
	if (fs.blocks > written)
		printf("  (more blocks than pages written: a write into a hole of a 2 MiB-aligned\n"
		       "  range allocates a whole 2 MiB extent, 512 blocks, the range's holes\n"
		       "  included, so that one 2 MiB entry maps it; those holes read as zeros)\n");
	if (bad || fs.blocks < written || fs.blocks > blocks_max) {
		fprintf(stderr, "udax demo: FAILED: %" PRIu64 " wrong pages, %" PRIu64
			" blocks for %" PRIu64 " written pages\n", bad, fs.blocks, written);
		return 1;
	}
	printf("demo OK\n");
	return 0;
}

static const char demo_help[] =
	"Usage: udax demo [-t THREADS] [-m MIB] [-d DIR]\n"
	"Create a store in a temporary directory under DIR, map a sparse file of MIB\n"
	"MiB (default 64), fault it from THREADS threads (default 4: reads, writes,\n"
	"holes), check the bytes; print how faults reached udax and the counters in\n"
	"words. The store is removed.\n";

int cmd_demo(const char *store_opt, int argc, char **argv)
{
	struct cli_parse p = { .shorts = "t:m:d:", .help = demo_help,
			       .no_store = "demo creates a store of its own (-d DIR: where)" };
	const char *tmp = getenv("TMPDIR");
	uint64_t threads = 4, mib = 64;
	char dir[PATH_MAX], store[PATH_MAX + 16], shown[PATH_ESCAPED_SIZE];
	struct udax_store *s;
	const char *base = tmp && *tmp ? tmp : "/tmp";
	int opt, ret, status;

	(void)store_opt;	/* makes a store of its own */
	while ((opt = cli_getopt(argc, argv, &p)) != -1) {
		if (opt == 'd')
			base = optarg;
		else if (number_parse(optarg, opt == 't' ? 64 : 4096, NULL,
				      opt == 't' ? &threads : &mib))
			return usage_error("THREADS must be 1..64 and MIB 1..4096");
	}
	if (p.status >= 0)
		return p.status;
	if (optind != argc)
		return usage_error("takes no arguments but its options");
	if (threads < 1 || mib < 1)
		return usage_error("THREADS must be 1..64 and MIB 1..4096");
	if ((size_t)snprintf(dir, sizeof(dir), "%s/udax-demo-XXXXXX", base) >= sizeof(dir))
		return fail(base, -ENAMETOOLONG);
	if (!mkdtemp(dir))
		return fail(base, -errno);
	snprintf(store, sizeof(store), "%s/store.udax", dir);
	printf("temporary store %s (%" PRIu64 " MiB)\n", name_escape(store, PATH_SHOWN_MAX, shown),
	       mib * 2 + 16);
	ret = udax_store_create(store, (mib * 2 + 16) << 20, 0);
	if (ret) {
		status = fail(store, ret);
		goto out_rmdir;
	}
	status = open_store(store, 0, &s);
	if (status)
		goto out_unlink;
	status = demo_run(s, (unsigned)threads, mib);
	status = close_store(s, status);
out_unlink:
	if (unlink(store) && !status)
		status = fail(store, -errno);
out_rmdir:
	if (rmdir(dir) && !status)
		status = fail(dir, -errno);
	if (!status)
		printf("removed the temporary store and its directory %s\n",
		       name_escape(dir, PATH_SHOWN_MAX, shown));
	return status;
}
