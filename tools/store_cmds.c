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
#include <sys/statvfs.h>

#include "cli.h"
#include "udax.h"

/* Parse a size: a decimal number with an optional K, M, G or T suffix.
 * Return: 0, or -EINVAL if text is no such size or overflows. */
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

static const char create_help[] =
	"Usage: udax create [--prealloc] STORE SIZE\n"
	"Create a store file of SIZE bytes (suffix K, M, G, T), sparse on the host\n"
	"(warns if the host has less free space), or with --prealloc reserved there.\n";

int cmd_create(const char *store, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prealloc", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_parse p = { .longs = longopts, .help = create_help };
	unsigned flags = 0;
	struct statvfs vfs;
	uint64_t size;
	int ret;

	(void)store;	/* the store to create is an argument */
	while (cli_getopt(argc, argv, &p) == 'p')
		flags |= UDAX_STORE_PREALLOC;
	if (p.status >= 0)
		return p.status;
	if (argc - optind != 2)
		return usage_error("needs STORE SIZE");
	if (parse_size(argv[optind + 1], &size))
		return usage_error("SIZE must be a number with an optional K, M, G or T");
	ret = udax_store_create(argv[optind], size, flags);
	if (ret)
		return fail_detail(argv[optind], ret);
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
	bool repair = false;
	const char *detail;
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
	detail = udax_strerror_detail();
	if (!*detail)
		printf("%s: clean\n", store);
	else if (!strncmp(detail, "repaired", 8))
		printf("%s: clean (%s)\n", store, detail);
	else
		printf("%s: clean (warning: %s)\n", store, detail);
	return 0;
}
