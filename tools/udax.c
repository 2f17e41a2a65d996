// SPDX-License-Identifier: MIT
/*
 * udax - command-line front end of the udax library: create a store, copy
 * files in and out, list, remove, show counters, and run a demo that maps a
 * file and faults it from several threads. Uses the public API only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "udax.h"

static const char usage_text[] =
	"Usage: udax [-s STORE] COMMAND [ARGS]\n"
	"\n"
	"Userspace DAX: files of a store, mapped with page faults served in user space.\n"
	"\n"
	"Commands:\n"
	"  create [--prealloc] STORE SIZE\n"
	"                           create a store file of SIZE bytes (suffix K, M, G,\n"
	"                           T), sparse on the host (warns if the host has less\n"
	"                           free space), or with --prealloc reserved there\n"
	"  ls                       list the files of the store\n"
	"  put HOSTFILE NAME        copy a host file into the store, replacing NAME\n"
	"                           atomically (a failed or interrupted put leaves\n"
	"                           NAME as it was)\n"
	"  get NAME HOSTFILE        copy a store file out to the host, replacing\n"
	"                           HOSTFILE atomically (never the store file itself)\n"
	"  cat NAME                 write a store file to standard output\n"
	"  rm NAME                  remove a file from the store\n"
	"  stat [NAME]              show store figures, or a file's size and counters\n"
	"                           (ls, get, cat, stat open the store read-only)\n"
	"  fsck [--repair]          check the store (exit 0 clean, perhaps with a\n"
	"                           warning; 1 damaged); --repair repairs a store\n"
	"                           that can be opened (exit 0 if clean then)\n"
	"  demo [-t THREADS] [-m MIB] [-d DIR]\n"
	"                           create a store in a temporary directory, map a\n"
	"                           sparse file, fault it from THREADS threads (reads,\n"
	"                           writes, holes), check the bytes and print counters\n"
	"  bench [-m MIB] [-d DIR] [WORKLOAD...]\n"
	"                           udax's side of the benchmark suite (bench/run.sh\n"
	"                           runs it beside the kernel's anchors): one line\n"
	"                           'WORKLOAD udax VALUE UNIT' per figure; workloads:\n"
	"                           seq-read seq-write rand-write alloc-write\n"
	"                           sparse-read fault-4k threads index (default all)\n"
	"\n"
	"Options:\n"
	"  -s, --store STORE        the store file (default: $UDAX_STORE)\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n"
	"\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

static const char *prog_cmd = "udax";

int fail(const char *what, int err)
{
	const char *detail = udax_strerror_detail();

	if (detail && *detail)
		fprintf(stderr, "udax %s: %s: %s (%s)\n", prog_cmd, what, strerror(-err), detail);
	else
		fprintf(stderr, "udax %s: %s: %s\n", prog_cmd, what, strerror(-err));
	return 1;
}

int usage_error(const char *msg)
{
	fprintf(stderr, "udax: %s\nTry 'udax --help'.\n", msg);
	return 2;
}

static int parse_size(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int open_store(const char *path, unsigned flags, struct udax_store **s)
{
	int ret;

	if (!path)
		return usage_error("no store: give -s STORE or set UDAX_STORE");
	ret = udax_store_open(path, flags, s);
	return ret ? fail(path, ret) : 0;
}

int close_store(struct udax_store *s, int status)
{
	int ret = udax_store_close(s);

	return ret && !status ? fail("close", ret) : status;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prealloc", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned flags = 0;
	struct statvfs vfs;
	uint64_t size;
	int opt, ret;

	optind = 0;	/* a full restart: options may follow the arguments */
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt != 'p')
			return usage_error("create [--prealloc] STORE SIZE");
		flags |= UDAX_STORE_PREALLOC;
	}
	if (argc - optind != 2)
		return usage_error("create needs STORE SIZE");
	if (parse_size(argv[optind + 1], &size))
		return usage_error("SIZE must be a number with an optional K, M, G or T");
	ret = udax_store_create(argv[optind], size, flags);
	if (ret)
		return fail(argv[optind], ret);
	printf("created %s: %" PRIu64 " MiB%s\n", argv[optind], size >> 20,
	       flags ? ", reserved on the host" : "");
	/* A sparse store takes host space as it fills: say when it cannot. */
	if (!flags && statvfs(argv[optind], &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < size)
		fprintf(stderr, "udax create: warning: the host file system has %" PRIu64
			" MiB free for this %" PRIu64 " MiB store; writes will fail with ENOSPC "
			"when it is full (--prealloc reserves the space now)\n",
			(uint64_t)vfs.f_bavail * vfs.f_frsize >> 20, size >> 20);
	return 0;
}

static int cmd_rm(const char *store, int argc, char **argv)
{
	struct udax_store *s;
	int ret, status;

	if (argc != 2)
		return usage_error("rm needs NAME");
	status = open_store(store, 0, &s);
	if (status)
		return status;
	ret = udax_unlink(s, argv[1]);
	return close_store(s, ret ? fail(argv[1], ret) : 0);
}

static void print_file_stat(const char *name, const struct udax_file_stat *st)
{
	printf("file %s\n"
	       "  size                %" PRIu64 "\n"
	       "  blocks              %" PRIu64 "\n"
	       "  dirty_pages         %" PRIu64 "\n"
	       "  faults_read         %" PRIu64 "\n"
	       "  faults_write        %" PRIu64 "\n"
	       "  faults_hole         %" PRIu64 "\n"
	       "  faults_pmd          %" PRIu64 "\n"
	       "  faults_pmd_fallback %" PRIu64 "\n"
	       "  faults_sigbus       %" PRIu64 "\n"
	       "  lock_waits          %" PRIu64 "\n"
	       "  blocks_allocated    %" PRIu64 "\n"
	       "  writeback_pages     %" PRIu64 "\n"
	       "  pages_mapped_ahead  %" PRIu64 "\n"
	       "  map_evictions       %" PRIu64 "\n",
	       name, st->size, st->blocks, st->dirty_pages, st->faults_read, st->faults_write,
	       st->faults_hole, st->faults_pmd, st->faults_pmd_fallback, st->faults_sigbus,
	       st->lock_waits, st->blocks_allocated, st->writeback_pages, st->pages_mapped_ahead,
	       st->map_evictions);
}

static int cmd_stat(const char *store, int argc, char **argv)
{
	struct udax_store_stat ss;
	struct udax_file_stat fs;
	struct udax_store *s;
	struct udax_file *f;
	int ret, status;

	if (argc > 2)
		return usage_error("stat takes at most one NAME");
	status = open_store(store, UDAX_STORE_RDONLY, &s);
	if (status)
		return status;
	if (argc == 2) {
		ret = udax_open(s, argv[1], O_RDONLY, &f);
		if (ret)
			return close_store(s, fail(argv[1], ret));
		ret = udax_fstat(f, &fs);
		if (!ret)
			print_file_stat(argv[1], &fs);
		udax_close(f);
		return close_store(s, ret ? fail("fstat", ret) : 0);
	}
	ret = udax_store_stat(s, &ss);
	if (!ret)
		printf("store %s\n  block_size   %" PRIu64 "\n  blocks_total %" PRIu64
		       "\n  blocks_free  %" PRIu64 "\n  files        %" PRIu64 " of %" PRIu64
		       "\n  index_bytes  %" PRIu64 "\n",
		       store, ss.block_size, ss.blocks_total, ss.blocks_free, ss.files,
		       ss.files_max, ss.index_bytes);
	return close_store(s, ret ? fail("stat", ret) : 0);
}

static int cmd_ls(const char *store, int argc)
{
	char name[UDAX_NAME_MAX + 1];
	struct udax_file_stat fs;
	struct udax_store *s;
	struct udax_file *f;
	uint64_t cookie = 0;
	int ret, status;

	if (argc != 1)
		return usage_error("ls takes no arguments");
	status = open_store(store, UDAX_STORE_RDONLY, &s);
	if (status)
		return status;
	while ((ret = udax_readdir(s, &cookie, name, sizeof(name))) == 1) {
		ret = udax_open(s, name, O_RDONLY, &f);
		if (ret)
			break;
		ret = udax_fstat(f, &fs);
		udax_close(f);
		if (ret)
			break;
		printf("%12" PRIu64 " %10" PRIu64 " %s\n", fs.size, fs.blocks, name);
	}
	return close_store(s, ret < 0 ? fail("ls", ret) : 0);
}

static int cmd_fsck(const char *store, int argc, char **argv)
{
	bool repair = argc == 2 && !strcmp(argv[1], "--repair");
	const char *detail;
	int ret;

	if (argc != 1 && !repair)
		return usage_error("fsck takes no arguments but --repair");
	if (!store)
		return usage_error("no store: give -s STORE or set UDAX_STORE");
	ret = udax_store_check(store, repair ? UDAX_CHECK_REPAIR : 0);
	if (ret)
		return fail(store, ret);
	detail = udax_strerror_detail();
	if (!*detail)
		printf("%s: clean\n", store);
	else if (!strncmp(detail, "repaired", 8))
		printf("%s: clean (%s)\n", store, detail);
	else
		printf("%s: clean (warning: %s)\n", store, detail);
	return 0;
}

struct demo {
	char *map;
	uint64_t pages;
	unsigned threads;
	unsigned id;
	uint64_t mismatches;
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

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
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
	print_file_stat("demo", &fs);
	printf("check: %" PRIu64 " pages written, %" PRIu64 " blocks allocated, %" PRIu64
	       " holes read as zeros, %" PRIu64 " wrong pages\n",
	       written, fs.blocks, pages - written, bad);
	if (bad || fs.blocks < written || fs.blocks > blocks_max) {
		fprintf(stderr, "udax demo: FAILED: %" PRIu64 " wrong pages, %" PRIu64
			" blocks for %" PRIu64 " written pages\n", bad, fs.blocks, written);
		return 1;
	}
	printf("demo OK\n");
	return 0;
}

static int cmd_demo(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	unsigned long threads = 4, mib = 64;
	char dir[4096], store[4200];
	struct udax_store *s;
	const char *base = tmp && *tmp ? tmp : "/tmp";
	int opt, ret, status;

	optind = 1;
	while ((opt = getopt(argc, argv, "t:m:d:")) != -1) {
		switch (opt) {
		case 't': threads = strtoul(optarg, NULL, 10); break;
		case 'm': mib = strtoul(optarg, NULL, 10); break;
		case 'd': base = optarg; break;
		default: return usage_error("demo [-t THREADS] [-m MIB] [-d DIR]");
		}
	}
	if (threads < 1 || threads > 64 || mib < 1 || mib > 4096)
		return usage_error("demo: THREADS must be 1..64 and MIB 1..4096");
	snprintf(dir, sizeof(dir), "%s/udax-demo-XXXXXX", base);
	if (!mkdtemp(dir))
		return fail(dir, -errno);
	snprintf(store, sizeof(store), "%s/store.udax", dir);
	printf("store %s (%lu MiB)\n", store, mib * 2 + 16);
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
	unlink(store);
out_rmdir:
	rmdir(dir);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store = getenv("UDAX_STORE");
	const char *cmd;
	int opt;

	while ((opt = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': store = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': puts("udax " UDAX_VERSION); return 0;
		default: return usage_error("unknown option");
		}
	}
	if (optind >= argc)
		return usage_error("no command");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	prog_cmd = cmd;
	if (!strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "create"))
		return cmd_create(argc, argv);
	if (!strcmp(cmd, "ls"))
		return cmd_ls(store, argc);
	if (!strcmp(cmd, "put"))
		return cmd_put(store, argc, argv);
	if (!strcmp(cmd, "get"))
		return cmd_get(store, argc, argv);
	if (!strcmp(cmd, "cat"))
		return cmd_cat(store, argc, argv);
	if (!strcmp(cmd, "rm"))
		return cmd_rm(store, argc, argv);
	if (!strcmp(cmd, "stat"))
		return cmd_stat(store, argc, argv);
	if (!strcmp(cmd, "fsck"))
		return cmd_fsck(store, argc, argv);
	if (!strcmp(cmd, "demo"))
		return cmd_demo(argc, argv);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc, argv);
	fprintf(stderr, "udax: unknown command '%s'\nTry 'udax --help'.\n", cmd);
	return 2;
}
