// SPDX-License-Identifier: MIT
/*
 * run_cmd.c - `udax run`: run an unmodified program with the preload shim
 * (libudax-preload.so, src/preload/), so that the paths under a root name
 * the files of a store. Sets LD_PRELOAD, UDAX_STORE (made absolute) and
 * UDAX_ROOT, creates the store first with --create, and execs the program.
 * Single-threaded, no locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "run_cmd.h"
#include "udax.h"

#define PRELOAD_NAME "libudax-preload.so"

static const char run_help[] =
	"Usage: udax run [--store STORE] [--root DIR] [--create SIZE] [--stats[=FILE]]\n"
	"                -- PROGRAM [ARGS...]\n"
	"Run PROGRAM with " PRELOAD_NAME ": paths under DIR (default /udax) name the\n"
	"files of STORE (default $UDAX_STORE, else ./udax.store), mappings included;\n"
	"every other path is the kernel's. --create SIZE (suffix K, M, G, T) creates\n"
	"STORE first when it does not exist. PROGRAM and its children get LD_PRELOAD,\n"
	"UDAX_STORE and UDAX_ROOT; setting them by hand works alike.\n"
	"--stats: each process that used the store prints, when it exits or execs, one\n"
	"line of its fault, allocation and writeback counters on stderr, or appends\n"
	"it to the host file FILE (UDAX_STATS=FILE, or - for stderr).\n"
	"Directories under DIR are the store's (mkdir, rmdir, opendir/readdir,\n"
	"rename of a directory with its subtree, chdir into one: relative paths then\n"
	"start there). Processes share the store: other udax run programs, fork()\n"
	"children, programs of the udax library; fcntl and flock locks hold across\n"
	"them, O_APPEND writes land whole, a child shares its descriptors' offsets\n"
	"with its parent. udax descriptors and a working directory inside DIR\n"
	"survive exec. Exit status: PROGRAM's; 126 or 127 if it cannot be run, 1 if\n"
	"the store cannot be created, 2 usage error.\n";

/* The preload library: beside this program (the build directory), in
 * ../lib (an install under one prefix), else by name, which the dynamic
 * linker looks up in the library directories. */
static void preload_find(char *path, size_t size)
{
	static const char *const beside[] = { "/" PRELOAD_NAME, "/../lib/" PRELOAD_NAME };
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
				int len = snprintf(path, size, "%s%s", self, beside[i]);

				if (len > 0 && (size_t)len < size && access(path, R_OK) == 0)
					return;
			}
		}
	}
	snprintf(path, size, "%s", PRELOAD_NAME);
}

/* Set LD_PRELOAD to the library, before what it held. Return: 0 or -errno. */
static int preload_set(void)
{
	const char *old = getenv("LD_PRELOAD");
	char lib[PATH_MAX + 32], *val;
	int ret;

	preload_find(lib, sizeof(lib));
	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1) ? -errno : 0;
	if (asprintf(&val, "%s:%s", lib, old) < 0)
		return -ENOMEM;
	ret = setenv("LD_PRELOAD", val, 1) ? -errno : 0;
	free(val);
	return ret;
}

/* Make *file absolute (from the working directory) in buf (PATH_MAX
 * bytes), pointing *file there. Return: 0, or the exit status after a
 * message. */
static int path_absolute(const char **file, char *buf)
{
	if ((*file)[0] == '/')
		return 0;
	if (!getcwd(buf, PATH_MAX))
		return fail("the working directory", -errno);
	if (strlen(buf) + 1 + strlen(*file) >= PATH_MAX)
		return fail(*file, -ENAMETOOLONG);
	strcat(buf, "/");
	strcat(buf, *file);
	*file = buf;
	return 0;
}

int cmd_run(const char *store, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "store", required_argument, NULL, 's' },
		{ "root", required_argument, NULL, 'r' },
		{ "create", required_argument, NULL, 'c' },
		{ "stats", optional_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = getenv("UDAX_ROOT"), *create = NULL, *stats = NULL;
	char path[PATH_MAX], stats_path[PATH_MAX];
	uint64_t size = 0;
	struct stat st;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:s:r:c:th", longs, NULL)) != -1) {
		switch (opt) {
		case 's': store = optarg; break;
		case 'r': root = optarg; break;
		case 'c': create = optarg; break;
		case 't': stats = optarg ? optarg : "-"; break;
		case 'h': fputs(run_help, stdout); return 0;
		default: return cli_option_error(opt, argv, longs);
		}
	}
	if (optind >= argc)
		return usage_error("no PROGRAM to run");
	if (!store || !*store)
		store = "udax.store";
	if (root && *root && root[0] != '/')
		return usage_error("--root needs an absolute directory");
	if (create && size_parse(create, &size))
		return usage_error("--create needs a size: a number with K, M, G or T");
	ret = path_absolute(&store, path);
	if (!ret && stats && *stats && strcmp(stats, "-"))
		ret = path_absolute(&stats, stats_path);	/* the program may chdir */
	if (ret)
		return ret;
	if (create && stat(store, &st) != 0 && errno == ENOENT) {
		ret = udax_store_create(store, size, 0);
		if (ret)
			return fail_detail(store, ret);
	}
	if (setenv("UDAX_STORE", store, 1) ||
	    (root && *root && setenv("UDAX_ROOT", root, 1)) ||
	    (stats && setenv("UDAX_STATS", stats, 1)) || (ret = preload_set()))
		return fail("the environment", errno ? -errno : -ENOMEM);
	execvp(argv[optind], argv + optind);
	ret = errno;
	fprintf(stderr, "udax run: %s: %s\n", argv[optind], strerror(ret));
	return ret == ENOENT ? 127 : 126;
}
