// SPDX-License-Identifier: MIT
/*
 * main.c - the udax command, front end of the udax library (public API
 * only): the top-level options and --help, and the table that dispatches
 * each subcommand to its cmd_* function in the other files of tools/;
 * descriptors 0-2 held open while it runs, standard output checked at the
 * end. Single-threaded, no locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run_cmd.h"
#include "udax.h"

static const char usage_text[] =
	"Usage: udax [-s STORE] COMMAND [ARGS]\n"
	"       udax COMMAND --help\n"
	"\n"
	"Userspace DAX: files of a store, mapped with page faults served in user space.\n"
	"\n"
	"Commands:\n"
	"  create [--prealloc] STORE SIZE\n"
	"                           create a store file of SIZE bytes (suffix K, M, G,\n"
	"                           T; whole 2 MiB groups) and print what it got;\n"
	"                           sparse on the host (warns if the host has less\n"
	"                           free space), or with --prealloc reserved there\n"
	"  ls [-l] [-b] [DIR]       list the root (or directory DIR): size, name\n"
	"                           (a directory: '-', name/); -l adds allocated\n"
	"                           blocks; -b sizes in bytes\n"
	"  put [-q] HOSTFILE NAME   copy a host file (- stdin) into the store,\n"
	"                           replacing NAME atomically (a failed or\n"
	"                           interrupted put leaves NAME as it was); holes\n"
	"                           stay holes\n"
	"  get [-q] NAME HOSTFILE   copy a store file out to the host (- stdout),\n"
	"                           replacing HOSTFILE atomically (never the store\n"
	"                           file itself); put and get show progress on a\n"
	"                           terminal for 64 MiB and more, unless -q\n"
	"  cat NAME                 write a store file to standard output\n"
	"  rm NAME                  remove a file from the store\n"
	"  mkdir [-p] PATH          make a directory (-p: and its missing parents)\n"
	"  rmdir PATH               remove an empty directory\n"
	"  stat [-b] [NAME]         show store figures, or a file's size, blocks and\n"
	"                           extents (-b sizes in bytes; live fault counters\n"
	"                           are the mapping process's own udax_fstat(3))\n"
	"                           (ls, get, cat, stat open the store read-only)\n"
	"  fsck [--repair]          check the store (exit 0 clean, perhaps with a\n"
	"                           warning; 1 damaged); --repair repairs a store\n"
	"                           that can be opened (exit 0 if clean then)\n"
	"  demo [-t THREADS] [-m MIB] [-d DIR]\n"
	"                           create a store in a temporary directory, map a\n"
	"                           sparse file, fault it from THREADS threads (reads,\n"
	"                           writes, holes), check the bytes, print the fault\n"
	"                           delivery and counters; the store is removed\n"
	"  bench [-m MIB] [-d DIR] [WORKLOAD...]\n"
	"                           udax's side of the benchmark suite (bench/run.sh\n"
	"                           runs it beside the kernel's anchors): one line\n"
	"                           'WORKLOAD udax VALUE UNIT' per figure; workloads:\n"
	"                           seq-read seq-write rand-write alloc-write\n"
	"                           sparse-read fault-4k threads index (default all)\n"
	"  run [--store STORE] [--root DIR] [--create SIZE] [--stats[=FILE]] -- PROGRAM [ARGS...]\n"
	"                           run an unmodified program with the preload shim:\n"
	"                           paths under DIR (default /udax) are files of the\n"
	"                           store, mappings included (udax run --help)\n"
	"\n"
	"Every command takes -h/--help, and -s STORE before or after its name (but\n"
	"create, demo and bench); '--' ends the options (udax rm -- -name). A NAME\n"
	"(or DIR, PATH) is a path of the store such as a/b/c: components of 1 to 255\n"
	"bytes joined by single '/', none '.' or '..'; names and paths are printed\n"
	"escaped, C style\n"
	"(\\n, \\x1b, \\\\).\n"
	"\n"
	"Options:\n"
	"  -s, --store STORE        the store file (default: $UDAX_STORE)\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n"
	"\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

static const struct {
	const char *name;
	int (*run)(const char *store, int argc, char **argv);
} commands[] = {
	{ "create", cmd_create },
	{ "ls", cmd_ls },
	{ "put", cmd_put },
	{ "get", cmd_get },
	{ "cat", cmd_cat },
	{ "rm", cmd_rm },
	{ "mkdir", cmd_mkdir },
	{ "rmdir", cmd_rmdir },
	{ "stat", cmd_stat },
	{ "fsck", cmd_fsck },
	{ "demo", cmd_demo },
	{ "bench", cmd_bench },
	{ "run", cmd_run },
};

/*
 * Make descriptors 0, 1 and 2 open, so that no file the command opens (the
 * store!) lands on one and takes what is written to standard output or
 * error. A closed one gets /dev/null opened the other way round: reads of
 * a closed standard input and writes to a closed standard output still
 * fail (EBADF), as they would have. Return: 0, or -1 (nothing can be said:
 * standard error may be closed).
 */
static int stdio_reserve(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		int got;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lower descriptors are open: open() takes fd. */
		got = open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY);
		if (got != fd) {
			if (got >= 0)
				close(got);
			return -1;
		}
	}
	return 0;
}

/* Flush standard output and say if anything written to it was lost (a
 * full disk, a closed descriptor). Return: status, or 1 if it was 0 and
 * writing failed. */
static int stdout_close(int status)
{
	int err = fflush(stdout) ? errno : 0;
	bool global = !strcmp(cli_cmd, "udax");

	if (!err && ferror(stdout))
		err = EIO;	/* an earlier write failed; its errno is gone */
	if (fclose(stdout) && !err)
		err = errno;
	if (!err)
		return status;
	fprintf(stderr, "udax%s%s: standard output: %s\n", global ? "" : " ",
		global ? "" : cli_cmd, strerror(err));
	return status ? status : 1;
}

/* Run the command line. Return: the exit status. */
static int udax_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store = getenv("UDAX_STORE");
	char shown[NAME_ESCAPED_SIZE(64)];
	const char *cmd;
	int opt;

	while ((opt = getopt_long(argc, argv, "+:s:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': store = cli_store_option = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("udax %s\n", udax_version()); return 0;
		default: return cli_option_error(opt, argv, longopts);
		}
	}
	if (optind >= argc)
		return usage_error("no command");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "help")) {
		cli_cmd = cmd;
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(cmd, commands[i].name)) {
			cli_cmd = cmd;
			return commands[i].run(store, argc, argv);
		}
	}
	fprintf(stderr, "udax: unknown command '%s'\nTry 'udax --help'.\n",
		name_escape(cmd, 64, shown));
	return 2;
}

int main(int argc, char **argv)
{
	if (stdio_reserve())
		return 1;
	return stdout_close(udax_run(argc, argv));
}
