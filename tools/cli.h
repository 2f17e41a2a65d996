/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the files of the udax command share: the helpers of cli.c
 * and the entry point of every subcommand (main.c dispatches to them).
 */
#ifndef UDAX_CLI_H
#define UDAX_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

struct udax_store;
struct udax_stat;

/* The subcommand being run, for fail()'s messages; set by main. */
extern const char *cli_cmd;
/* The -s/--store given before the command, or NULL; set by main. */
extern const char *cli_store_option;

/* Print "udax CMD: what: strerror(-err)", what escaped (name_escape).
 * Return: 1. */
int fail(const char *what, int err);
/* fail() right after a udax call failed: adds
 * udax_strerror_detail(), or prints it alone when it already names the
 * error. Return: 1. */
int fail_detail(const char *what, int err);
/* Bytes name_escape() needs for max bytes of a name. */
#define NAME_ESCAPED_SIZE(max) (4 * (max) + 4)
/* Bytes of a path a message shows, and the buffer that takes them escaped. */
#define PATH_SHOWN_MAX 4096
#define PATH_ESCAPED_SIZE NAME_ESCAPED_SIZE(PATH_SHOWN_MAX)
/* Write into buf (NAME_ESCAPED_SIZE(max) bytes) the first max bytes of
 * name escaped by udax_escape() (what a terminal would act on as \xHH or
 * C style, a backslash doubled); "..." follows a longer name. Return: buf. */
char *name_escape(const char *name, size_t max, char *buf);
/* Whether name is a valid path of the store ("a/b/c"). Return: 0, or 2
 * after saying the rule (and the start of the name). */
int name_check(const char *name);
/* Print msg and a hint at the command's --help. Return: 2. */
int usage_error(const char *msg);

/* Report the option getopt_long refused (its return ':', a missing
 * value, or '?': an unknown option, or a value given to a long option
 * that takes none), longs the long options it was given. Return: 2. */
int cli_option_error(int ret, char **argv, const struct option *longs);
/* Parse a decimal number: digits only (no sign, no space), at most max.
 * rest: where the digits end (a suffix may follow), or NULL: nothing may
 * follow. Return: 0, or -EINVAL. */
int number_parse(const char *text, uint64_t max, const char **rest, uint64_t *out);
/* A size: digits with an optional K, M, G or T suffix (binary units).
 * Return: 0, or -EINVAL if text is no such size or overflows. */
int size_parse(const char *text, uint64_t *out);

/* A subcommand's options, parsed by cli_getopt(). Zero the rest. */
struct cli_parse {
	const char *shorts;		/* its own short options (getopt syntax) */
	const struct option *longs;	/* its own long options, ending with {0}; or NULL */
	const char *help;		/* its usage text, printed by -h/--help */
	const char **store;		/* set by -s/--store; NULL: -s is refused */
	const char *no_store;		/* why, when store is NULL */
	int status;			/* once cli_getopt returned -1: -1 to go on, or
					   the exit status (0 after --help, 2) */
	bool started;			/* the tables below are built */
	char optstring[32];		/* for getopt_long: ":hs:" + shorts */
	struct option all[8];		/* --help, --store, then longs */
};
/*
 * The next option of subcommand argv[0], options coming anywhere before
 * "--": its own (p->shorts, p->longs), -h/--help (prints p->help) and the
 * global -s/--store (before the command too: refused, saying p->no_store,
 * for a command that takes no store). Wrong or incomplete options are
 * reported.
 * Return: an option of its own (optarg set), or -1 at the end: then
 * p->status is -1 and the arguments are argv[optind..], or the command
 * returns p->status.
 */
int cli_getopt(int argc, char **argv, struct cli_parse *p);
/* Whether a store was named (path is not NULL). Return: 0, or 2 after
 * saying how to name one. */
int cli_store_check(const char *path);
/* Open the store at path with flags (0, or UDAX_STORE_RDONLY for commands
 * that only read). Return: 0, or the exit status after printing why. */
int open_store(const char *path, unsigned flags, struct udax_store **s);
/* Close s. Return: status, or 1 if the close fails and status was 0. */
int close_store(struct udax_store *s, int status);
/* Print a file's size, allocated blocks and extents (sizes exact in bytes, or
 * readable), as `udax stat NAME` shows them: not its fault counters, which
 * count only this process's faults. */
void print_file_stat(const char *name, const struct udax_stat *st, bool bytes);
/* Bytes size_text() needs. */
#define SIZE_TEXT_SIZE 32
/* Write bytes into buf (SIZE_TEXT_SIZE bytes): exact, as a number, or
 * readable: "512 B", "4.0 KiB", "2.9 MiB", ... "16.0 EiB". Return: buf. */
char *size_text(uint64_t bytes, bool exact, char *buf);
/* Return: the monotonic clock in seconds. */
double now_seconds(void);

/*
 * The subcommands. store is -s STORE or $UDAX_STORE (NULL if neither is
 * given), argv[0] the subcommand's name. Return: the exit status.
 */
/* udax create [--prealloc] STORE SIZE: create a store file (store_cmds.c). */
int cmd_create(const char *store, int argc, char **argv);
/* udax fsck [--repair]: check, or repair, the store (store_cmds.c). */
int cmd_fsck(const char *store, int argc, char **argv);
/* udax ls: list the files of the store (file_cmds.c). */
int cmd_ls(const char *store, int argc, char **argv);
/* udax stat [NAME]: show store figures, or a file's counters (file_cmds.c). */
int cmd_stat(const char *store, int argc, char **argv);
/* udax rm NAME: remove a file from the store (file_cmds.c). */
int cmd_rm(const char *store, int argc, char **argv);
/* udax mkdir, udax rmdir */
int cmd_mkdir(const char *store, int argc, char **argv);
int cmd_rmdir(const char *store, int argc, char **argv);
/* udax put HOSTFILE NAME: copy a host file in, atomically (copy_cmds.c). */
int cmd_put(const char *store, int argc, char **argv);
/* udax get NAME HOSTFILE: copy a store file out, atomically (copy_cmds.c). */
int cmd_get(const char *store, int argc, char **argv);
/* udax cat NAME: write a store file to standard output (copy_cmds.c). */
int cmd_cat(const char *store, int argc, char **argv);
/* udax demo: fault a sparse file of a temporary store (demo_cmd.c). */
int cmd_demo(const char *store, int argc, char **argv);
/* udax bench: udax's side of the benchmark suite (bench_cmd.c). */
int cmd_bench(const char *store, int argc, char **argv);

#endif /* UDAX_CLI_H */
