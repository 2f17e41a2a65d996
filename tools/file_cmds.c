// SPDX-License-Identifier: MIT
/*
 * file_cmds.c - the subcommands of udax about the files of a store: `udax
 * ls` lists them, `udax stat` shows the store's figures or a file's size
 * and counters, `udax rm` removes one. Single-threaded, no locks.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "udax.h"

static const char ls_help[] =
	"Usage: udax [-s STORE] ls\n"
	"List the files of the store: size in bytes, allocated 4 KiB blocks, name.\n";

int cmd_ls(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .help = ls_help, .store = &store };
	char name[UDAX_NAME_MAX + 1], shown[NAME_ESCAPED_SIZE(UDAX_NAME_MAX)];
	struct udax_file_stat fs;
	struct udax_store *s;
	struct udax_file *f;
	uint64_t cookie = 0;
	int ret, status;

	while (cli_getopt(argc, argv, &p) != -1)
		;
	if (p.status >= 0)
		return p.status;
	if (optind != argc)
		return usage_error("takes no arguments");
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
		printf("%12" PRIu64 " %10" PRIu64 " %s\n", fs.size, fs.blocks,
		       name_escape(name, UDAX_NAME_MAX, shown));
	}
	return close_store(s, ret < 0 ? fail("ls", ret) : 0);
}

static const char stat_help[] =
	"Usage: udax [-s STORE] stat [NAME]\n"
	"Show the store's figures, or a file's size and counters.\n";

int cmd_stat(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .help = stat_help, .store = &store };
	const char *name;
	struct udax_store_stat ss;
	struct udax_file_stat fs;
	struct udax_store *s;
	struct udax_file *f;
	int ret, status;

	while (cli_getopt(argc, argv, &p) != -1)
		;
	if (p.status >= 0)
		return p.status;
	if (argc - optind > 1)
		return usage_error("takes at most one NAME");
	name = optind < argc ? argv[optind] : NULL;
	if (name && (status = name_check(name)))
		return status;
	status = open_store(store, UDAX_STORE_RDONLY, &s);
	if (status)
		return status;
	if (name) {
		ret = udax_open(s, name, O_RDONLY, &f);
		if (ret)
			return close_store(s, fail(name, ret));
		ret = udax_fstat(f, &fs);
		if (!ret)
			print_file_stat(name, &fs);
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

static const char rm_help[] =
	"Usage: udax [-s STORE] rm NAME\n"
	"Remove a file from the store ('udax rm -- -name' for a name starting with '-').\n";

int cmd_rm(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .help = rm_help, .store = &store };
	struct udax_store *s;
	int ret, status;

	while (cli_getopt(argc, argv, &p) != -1)
		;
	if (p.status >= 0)
		return p.status;
	if (argc - optind != 1)
		return usage_error("needs one NAME");
	status = name_check(argv[optind]);
	if (status)
		return status;
	status = open_store(store, 0, &s);
	if (status)
		return status;
	ret = udax_unlink(s, argv[optind]);
	return close_store(s, ret ? fail(argv[optind], ret) : 0);
}
