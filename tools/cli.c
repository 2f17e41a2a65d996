// SPDX-License-Identifier: MIT
/*
 * cli.c - helpers every subcommand of the udax command uses: error and
 * usage messages, the subcommands' option parsing (--help, -s after the
 * command, "--"), store file names checked and escaped for printing,
 * readable sizes, opening and closing the store, printing a file's size
 * and blocks, the clock. No locks: cli_cmd is set by main before any
 * subcommand runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "udax.h"

const char *cli_cmd = "udax";
const char *cli_store_option;

int fail(const char *what, int err)
{
	char buf[PATH_ESCAPED_SIZE];

	fprintf(stderr, "udax %s: %s: %s\n", cli_cmd, name_escape(what, PATH_SHOWN_MAX, buf),
		strerror(-err));
	return 1;
}

int fail_detail(const char *what, int err)
{
	const char *detail = udax_strerror_detail();
	char buf[PATH_ESCAPED_SIZE];

	/* The library escapes its detail texts (udax_escape()): printed as is. */
	if (!detail || !*detail)
		return fail(what, err);
	if (strstr(detail, strerror(-err)))
		fprintf(stderr, "udax %s: %s\n", cli_cmd, detail);
	else
		fprintf(stderr, "udax %s: %s: %s (%s)\n", cli_cmd,
			name_escape(what, PATH_SHOWN_MAX, buf), strerror(-err), detail);
	return 1;
}

char *name_escape(const char *name, size_t max, char *buf)
{
	size_t len = strnlen(name, max + 1);

	/* Cannot fail: NAME_ESCAPED_SIZE(max) >= UDAX_ESCAPED_SIZE(max) + 3. */
	udax_escape(name, len > max ? max : len, buf, NAME_ESCAPED_SIZE(max));
	if (len > max)
		strcat(buf, "...");
	return buf;
}

/* Bytes of a bad name a message shows. */
#define BAD_NAME_SHOWN 64

/* Whether path is a path of the store: components of 1..UDAX_NAME_MAX
 * bytes joined by single '/', none "." or "..", at most UDAX_PATH_MAX
 * bytes (the library's rule, said before the store is opened). */
static bool path_valid(const char *path)
{
	if (!*path || strnlen(path, UDAX_PATH_MAX + 1) > UDAX_PATH_MAX)
		return false;
	for (const char *c = path;; c++) {
		size_t n = strcspn(c, "/");

		if (n == 0 || n > UDAX_NAME_MAX || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (!*c)
			return true;
	}
}

int name_check(const char *name)
{
	char buf[NAME_ESCAPED_SIZE(BAD_NAME_SHOWN)], msg[sizeof(buf) + 200];

	if (path_valid(name))
		return 0;
	snprintf(msg, sizeof(msg), "invalid NAME '%s': NAME must be a path of at most %d "
		 "bytes: components of 1 to %d bytes joined by single '/', none '.' or '..'",
		 name_escape(name, BAD_NAME_SHOWN, buf), UDAX_PATH_MAX, UDAX_NAME_MAX);
	return usage_error(msg);
}

int usage_error(const char *msg)
{
	bool global = !strcmp(cli_cmd, "udax");

	fprintf(stderr, "udax%s%s: %s\nTry 'udax%s%s --help'.\n", global ? "" : " ",
		global ? "" : cli_cmd, msg, global ? "" : " ", global ? "" : cli_cmd);
	return 2;
}

/* Bytes of an option a message shows. */
#define OPTION_SHOWN_MAX 64

int cli_option_error(int ret, char **argv, const struct option *longs)
{
	const char *arg = argv[optind - 1], *fmt;
	size_t len = strncmp(arg, "--", 2) ? 0 : strcspn(arg + 2, "=");
	char opt[OPTION_SHOWN_MAX + 1], shown[NAME_ESCAPED_SIZE(OPTION_SHOWN_MAX)];
	char msg[sizeof(shown) + 64];
	const struct option *match = NULL;
	bool is_long;

	/* The long option arg names: exactly, or by a prefix (as getopt_long
	 * takes it). */
	for (const struct option *o = longs; len && o && o->name; o++)
		if (!strncmp(o->name, arg + 2, len) && (!match || strlen(o->name) == len))
			match = o;
	/* An error about a short option leaves argv[optind - 1] on an
	 * earlier argument while the rest of its group is parsed: arg is the
	 * option only if it is a long option and optopt says the same. */
	is_long = len && (ret == '?' && !optopt ? true : match && match->val == optopt);
	if (!is_long)
		snprintf(opt, sizeof(opt), "-%c", optopt);
	else if (match && optopt)
		snprintf(opt, sizeof(opt), "--%s", match->name);
	else
		snprintf(opt, sizeof(opt), "--%.*s", (int)len, arg + 2);
	fmt = ret == ':' ? "option '%s' needs a value"
	      : is_long && optopt ? "option '%s' doesn't allow a value" : "unknown option '%s'";
	snprintf(msg, sizeof(msg), fmt, name_escape(opt, OPTION_SHOWN_MAX, shown));
	return usage_error(msg);
}

int number_parse(const char *text, uint64_t max, const char **rest, uint64_t *out)
{
	const char *c = text;
	uint64_t v = 0;

	for (; *c >= '0' && *c <= '9'; c++) {
		unsigned d = (unsigned)(*c - '0');

		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (c == text || (!rest && *c))
		return -EINVAL;
	if (rest)
		*rest = c;
	*out = v;
	return 0;
}

/* Parse a size: a decimal number (digits only) with an optional K, M, G or
 * T suffix. Return: 0, or -EINVAL if text is no such size or overflows. */
int size_parse(const char *text, uint64_t *out)
{
	const char *end;
	uint64_t v;
	unsigned shift = 0;

	if (number_parse(text, UINT64_MAX, &end, &v))
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
	*out = v << shift;
	return 0;
}

/* Build p's option tables (its own and --help, --store) and restart
 * getopt. */
static void cli_parse_init(struct cli_parse *p)
{
	static const struct option help = { "help", no_argument, NULL, 'h' };
	static const struct option store = { "store", required_argument, NULL, 's' };
	const size_t max = sizeof(p->all) / sizeof(p->all[0]) - 1;
	size_t n = 0;

	snprintf(p->optstring, sizeof(p->optstring), ":hs:%s", p->shorts ? p->shorts : "");
	p->all[n++] = help;
	p->all[n++] = store;
	for (const struct option *o = p->longs; o && o->name && n < max; o++)
		p->all[n++] = *o;
	p->all[n] = (struct option){ NULL, 0, NULL, 0 };
	p->started = true;
	p->status = -1;
	optind = 0;	/* a full restart: main parsed the global options */
}

/* -s/--store given to a command that takes no store. Return: -1, the
 * usage error in p->status. */
static int store_refused(struct cli_parse *p)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "-s/--store does not apply: %s", p->no_store);
	p->status = usage_error(msg);
	return -1;
}

int cli_getopt(int argc, char **argv, struct cli_parse *p)
{
	int opt;

	if (!p->started) {
		cli_parse_init(p);
		if (!p->store && cli_store_option)
			return store_refused(p);
	}
	for (;;) {
		opt = getopt_long(argc, argv, p->optstring, p->all, NULL);
		if (opt != 's')
			break;
		if (!p->store)
			return store_refused(p);
		*p->store = optarg;
	}
	switch (opt) {
	case 'h':
		fputs(p->help, stdout);
		p->status = 0;
		return -1;
	case ':':
	case '?':
		p->status = cli_option_error(opt, argv, p->all);
		return -1;
	default:
		return opt;
	}
}

int cli_store_check(const char *path)
{
	return path ? 0 : usage_error("no store: give -s STORE or set UDAX_STORE");
}

int open_store(const char *path, unsigned flags, struct udax_store **s)
{
	int ret, status = cli_store_check(path);

	if (status)
		return status;
	ret = udax_store_open(path, flags, s);
	return ret ? fail_detail(path, ret) : 0;
}

int close_store(struct udax_store *s, int status)
{
	int ret = udax_store_close(s);

	return ret && !status ? fail("close", ret) : status;
}

void print_file_stat(const char *name, const struct udax_stat *st, bool bytes)
{
	char shown[NAME_ESCAPED_SIZE(UDAX_PATH_MAX)], size[SIZE_TEXT_SIZE];
	char alloc[SIZE_TEXT_SIZE];
	uint64_t in_2mib = st->extents_2mib * 512;

	if (st->type == UDAX_TYPE_DIR) {
		printf("directory %s\n", name_escape(name, UDAX_PATH_MAX, shown));
		return;
	}

	printf("file %s\n"
	       "  size       %s\n"
	       "  blocks     %" PRIu64 " of 4 KiB (%s%s allocated)\n"
	       "  extents    %" PRIu64 " (runs of blocks contiguous in the file and the store)\n"
	       "  2 MiB      %" PRIu64 " whole 2 MiB extents (one fault maps each): "
	       "%" PRIu64 "%% of the blocks\n"
	       "  (live fault counters are per process: a process that maps the file reads\n"
	       "  its own with udax_fstat(3))\n",
	       name_escape(name, UDAX_PATH_MAX, shown), size_text(st->size, bytes, size),
	       st->blocks, size_text(st->blocks * 4096, bytes, alloc), bytes ? " bytes" : "",
	       st->extents, st->extents_2mib, st->blocks ? in_2mib * 100 / st->blocks : 0);
}

char *size_text(uint64_t bytes, bool exact, char *buf)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (exact || bytes < 1024) {
		snprintf(buf, SIZE_TEXT_SIZE, exact ? "%llu" : "%llu B",
			 (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	/* 1023.96 KiB would print as "1024.0 KiB": say 1.0 MiB. */
	if (v >= 1023.95 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, SIZE_TEXT_SIZE, "%.1f %ciB", v, units[u]);
	return buf;
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
