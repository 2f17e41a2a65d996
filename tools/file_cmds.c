// SPDX-License-Identifier: MIT
/*
 * file_cmds.c - the subcommands of udax about the files and directories of
 * a store: `udax ls` lists a directory, `udax stat` shows the store's
 * figures or a file's size and counters, `udax rm` removes a file, `udax
 * mkdir` and `udax rmdir` make and remove a directory. Single-threaded, no
 * locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "udax.h"

/* The options ls and stat take besides --help and --store. */
static const struct option size_longopts[] = {
	{ "long", no_argument, NULL, 'l' },
	{ "bytes", no_argument, NULL, 'b' },
	{ NULL, 0, NULL, 0 },
};

static const char ls_help[] =
	"Usage: udax [-s STORE] ls [-l] [-b] [DIR]\n"
	"List the files and directories of the store's root, or of directory DIR\n"
	"(a path such as a/b): size (readable, as 2.9 MiB) and name; with -l/--long\n"
	"size, allocated 4 KiB blocks and name; -b/--bytes: sizes in bytes. A\n"
	"directory shows '-' as its size and blocks and '/' after its name.\n";

/* Print one entry of a listing. */
static void ls_print(const char *name, const struct udax_stat *fs, bool lng, bool bytes)
{
	char shown[NAME_ESCAPED_SIZE(UDAX_NAME_MAX)], size[SIZE_TEXT_SIZE];
	bool is_dir = fs->type == UDAX_TYPE_DIR;
	const char *suffix = is_dir ? "/" : "";

	name_escape(name, UDAX_NAME_MAX, shown);
	if (is_dir)
		snprintf(size, sizeof(size), "-");
	else
		size_text(fs->size, bytes, size);
	if (lng && is_dir)
		printf("%12s %10s %s%s\n", size, "-", shown, suffix);
	else if (lng)
		printf("%12s %10" PRIu64 " %s\n", size, fs->blocks, shown);
	else
		printf("%12s %s%s\n", size, shown, suffix);
}

int cmd_ls(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .longs = size_longopts, .shorts = "lb", .help = ls_help,
			       .store = &store };
	char name[UDAX_NAME_MAX + 1], path[UDAX_PATH_MAX + UDAX_NAME_MAX + 2];
	bool bytes = false, lng = false;
	const char *dir = NULL;
	struct udax_stat fs;
	struct udax_store *s;
	uint64_t cookie = 0;
	int opt, ret, status;

	while ((opt = cli_getopt(argc, argv, &p)) != -1) {
		if (opt == 'b')
			bytes = true;
		else
			lng = true;
	}
	if (p.status >= 0)
		return p.status;
	if (argc - optind > 1)
		return usage_error("takes at most one DIR");
	if (optind < argc) {
		dir = argv[optind];
		status = name_check(dir);
		if (status)
			return status;
	}
	status = open_store(store, UDAX_STORE_RDONLY, &s);
	if (status)
		return status;
	while ((ret = udax_readdir2(s, dir, &cookie, name, sizeof(name), NULL)) == 1) {
		snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
		ret = udax_stat(s, path, &fs);
		if (ret)
			break;
		ls_print(name, &fs, lng, bytes);
	}
	return close_store(s, ret < 0 ? fail_detail(dir ? dir : "ls", ret) : 0);
}

/* Print the figures of the store at path, sizes exact in bytes or
 * readable. Return: exit status. */
static int store_stat_print(struct udax_store *s, const char *path, bool bytes)
{
	char file_text[SIZE_TEXT_SIZE], total_text[SIZE_TEXT_SIZE], free_text[SIZE_TEXT_SIZE];
	char shown[PATH_ESCAPED_SIZE];
	struct udax_store_stat ss;
	struct stat st;
	int ret = udax_store_stat(s, &ss);

	if (ret)
		return fail("stat", ret);
	if (stat(path, &st) != 0)
		return fail(path, -errno);
	printf("store %s\n"
	       "  size         %s\n"
	       "  block_size   %" PRIu64 "\n"
	       "  blocks_total %" PRIu64 " (%s%s for data)\n"
	       "  blocks_free  %" PRIu64 " (%s%s)\n"
	       "  files        %" PRIu64 " of %" PRIu64 "\n",
	       name_escape(path, PATH_SHOWN_MAX, shown),
	       size_text((uint64_t)st.st_size, bytes, file_text), ss.block_size,
	       ss.blocks_total, size_text(ss.blocks_total * ss.block_size, bytes, total_text),
	       bytes ? " bytes" : "", ss.blocks_free,
	       size_text(ss.blocks_free * ss.block_size, bytes, free_text),
	       bytes ? " bytes" : "", ss.files, ss.files_max);
	return 0;
}

static const char stat_help[] =
	"Usage: udax [-s STORE] stat [-b] [NAME]\n"
	"Show the store's figures, or a file's size, allocated blocks, extents\n"
	"(a directory: that it is one)\n"
	"(runs of blocks contiguous in the file and the store) and whole 2 MiB\n"
	"extents (each mapped by one 2 MiB fault), read by udax_stat(3); sizes\n"
	"readable (as 2.9 MiB), or in bytes with -b/--bytes. A file's live fault\n"
	"counters are per process: a process that maps it reads its own with\n"
	"udax_fstat(3).\n";

int cmd_stat(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .longs = size_longopts + 1, .shorts = "b", .help = stat_help,
			       .store = &store };
	const char *name;
	struct udax_stat fs;
	struct udax_store *s;
	bool bytes = false;
	int ret, status;

	while (cli_getopt(argc, argv, &p) != -1)
		bytes = true;
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
		ret = udax_stat(s, name, &fs);
		if (!ret)
			print_file_stat(name, &fs, bytes);
		return close_store(s, ret ? fail(name, ret) : 0);
	}
	return close_store(s, store_stat_print(s, store, bytes));
}

static const char rm_help[] =
	"Usage: udax [-s STORE] rm NAME\n"
	"Remove a file from the store ('udax rm -- -name' for a name starting with '-';\n"
	"udax rmdir removes a directory).\n";

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

static const char mkdir_help[] =
	"Usage: udax [-s STORE] mkdir [-p] PATH\n"
	"Make directory PATH in the store (a path such as a/b: components of 1 to 255\n"
	"bytes joined by single '/', none '.' or '..'); its parent must exist, unless\n"
	"-p/--parents, which makes the missing ones and accepts an existing PATH.\n";

static const char rmdir_help[] =
	"Usage: udax [-s STORE] rmdir PATH\n"
	"Remove the empty directory PATH from the store.\n";

/* mkdir -p: make every missing directory of path. Return: 0 or -errno. */
static int mkdir_parents(struct udax_store *s, const char *path)
{
	char part[UDAX_PATH_MAX + 1];
	struct udax_stat st;
	size_t len = strlen(path);

	for (size_t i = 0; i <= len; i++) {
		int ret;

		if (path[i] != '/' && path[i])
			continue;
		memcpy(part, path, i);
		part[i] = '\0';
		ret = udax_mkdir(s, part, 0755);
		/* As mkdir -p: an existing directory is fine, a file on the
		 * way is "not a directory", a file at the end "exists". */
		if (ret == -EEXIST && udax_stat(s, part, &st) == 0 && st.type == UDAX_TYPE_DIR)
			ret = 0;
		else if (ret == -EEXIST && i < len)
			ret = -ENOTDIR;
		if (ret)
			return ret;
	}
	return 0;
}

/* mkdir and rmdir: one PATH, the store opened for writing. */
static int dir_cmd(const char *store, int argc, char **argv, bool make)
{
	static const struct option parents_longopts[] = {
		{ "parents", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_parse p = { .help = make ? mkdir_help : rmdir_help, .store = &store };
	struct udax_store *s;
	bool parents = false;
	int ret, status;

	if (make) {
		p.longs = parents_longopts;
		p.shorts = "p";
	}
	while (cli_getopt(argc, argv, &p) != -1)
		parents = true;
	if (p.status >= 0)
		return p.status;
	if (argc - optind != 1)
		return usage_error("needs one PATH");
	status = name_check(argv[optind]);
	if (status)
		return status;
	status = open_store(store, 0, &s);
	if (status)
		return status;
	if (!make)
		ret = udax_rmdir(s, argv[optind]);
	else if (parents)
		ret = mkdir_parents(s, argv[optind]);
	else
		ret = udax_mkdir(s, argv[optind], 0755);
	return close_store(s, ret ? fail_detail(argv[optind], ret) : 0);
}

int cmd_mkdir(const char *store, int argc, char **argv)
{
	return dir_cmd(store, argc, argv, true);
}

int cmd_rmdir(const char *store, int argc, char **argv)
{
	return dir_cmd(store, argc, argv, false);
}
