// SPDX-License-Identifier: MIT
/*
 * store_cmds.c - the store-level subcommands of udax: `udax create` makes a
 * store file, `udax fsck` checks (and repairs) one. Single-threaded, no
 * locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "cli.h"
#include "udax.h"

static const char create_help[] =
	"Usage: udax create [--prealloc] STORE SIZE\n"
	"Create a store file of SIZE bytes (suffix K, M, G, T), sparse on the host\n"
	"(warns if the host has less free space), or with --prealloc reserved there.\n";

/* Say what the store at path, just created from size bytes, got: its file's
 * size, the room for data and files (read back from the store), and warn
 * when the host cannot hold a sparse store. Return: exit status. */
static int create_report(const char *path, uint64_t size, unsigned flags)
{
	char file_text[SIZE_TEXT_SIZE], data_text[SIZE_TEXT_SIZE], want_text[SIZE_TEXT_SIZE];
	struct udax_store_stat ss;
	struct udax_store *s;
	char shown[PATH_ESCAPED_SIZE];
	struct statvfs vfs;
	struct stat st;
	uint64_t free_bytes;
	int ret, status;

	if (stat(path, &st) != 0)
		return fail(path, -errno);
	status = open_store(path, UDAX_STORE_RDONLY, &s);
	if (status)
		return status;
	ret = udax_store_stat(s, &ss);
	status = close_store(s, ret ? fail(path, ret) : 0);
	if (status)
		return status;
	printf("created %s: %s store file%s, %s for data (%" PRIu64 " blocks of %" PRIu64
	       " bytes), %" PRIu64 " files at most\n", name_escape(path, PATH_SHOWN_MAX, shown),
	       size_text((uint64_t)st.st_size, false, file_text),
	       flags ? ", reserved on the host" : "",
	       size_text(ss.blocks_total * ss.block_size, false, data_text), ss.blocks_total,
	       ss.block_size, ss.files_max);
	if ((uint64_t)st.st_size != size)
		printf("  (%s asked for: a store is whole 2 MiB groups)\n",
		       size_text(size, false, want_text));
	/* A sparse store takes host space as it fills: say when it cannot. */
	free_bytes = statvfs(path, &vfs) == 0 ? (uint64_t)vfs.f_bavail * vfs.f_frsize : UINT64_MAX;
	if (!flags && free_bytes < (uint64_t)st.st_size)
		fprintf(stderr, "udax create: warning: the host file system has %s free for this "
			"%s store; writes will fail with ENOSPC when it is full (--prealloc "
			"reserves the space now)\n", size_text(free_bytes, false, want_text),
			file_text);
	return 0;
}

int cmd_create(const char *store, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prealloc", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_parse p = { .longs = longopts, .help = create_help,
			       .no_store = "create takes the store to create as an argument "
					   "(udax create STORE SIZE)" };
	char shown[PATH_ESCAPED_SIZE];
	unsigned flags = 0;
	uint64_t size;
	int ret;

	(void)store;	/* the store to create is an argument */
	while (cli_getopt(argc, argv, &p) == 'p')
		flags |= UDAX_STORE_PREALLOC;
	if (p.status >= 0)
		return p.status;
	if (argc - optind != 2)
		return usage_error("needs STORE SIZE");
	if (size_parse(argv[optind + 1], &size))
		return usage_error("SIZE must be a number with an optional K, M, G or T");
	ret = udax_store_create(argv[optind], size, flags);
	if (ret == -EFBIG) {
		fprintf(stderr, "udax create: %s: %s: the host file system's largest file is "
			"smaller (ext4 with 4 KiB blocks: under 16 TiB)\n",
			name_escape(argv[optind], PATH_SHOWN_MAX, shown), strerror(-ret));
		return 1;
	}
	if (ret)
		return fail_detail(argv[optind], ret);
	return create_report(argv[optind], size, flags);
}

static const char fsck_help[] =
	"Usage: udax [-s STORE] fsck [--repair]\n"
	"Check the store (exit 0 clean, perhaps with a warning; 1 damaged);\n"
	"--repair repairs a store that can be opened (exit 0 if clean then).\n";

int cmd_fsck(const char *store, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_parse p = { .longs = longopts, .help = fsck_help, .store = &store };
	char shown[PATH_ESCAPED_SIZE];
	const char *detail;
	bool repair = false;
	int ret, status;

	while (cli_getopt(argc, argv, &p) == 'r')
		repair = true;
	if (p.status >= 0)
		return p.status;
	if (optind != argc)
		return usage_error("takes no arguments but --repair");
	status = cli_store_check(store);
	if (status)
		return status;
	ret = udax_store_check(store, repair ? UDAX_CHECK_REPAIR : 0);
	if (ret)
		return fail_detail(store, ret);
	detail = udax_strerror_detail();	/* escaped by the library */
	name_escape(store, PATH_SHOWN_MAX, shown);
	if (!*detail)
		printf("%s: clean\n", shown);
	else if (!strncmp(detail, "repaired", 8))
		printf("%s: clean (%s)\n", shown, detail);
	else
		printf("%s: clean (warning: %s)\n", shown, detail);
	return 0;
}
