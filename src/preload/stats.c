// SPDX-License-Identifier: MIT
/*
 * stats.c - layer preload: `udax run --stats` (UDAX_STATS). At exit or
 * exec, after the final syncs, a process that used the store writes one
 * line of its counters (udax_store_counters()) counted since its previous
 * line (an exec that fails and the exit after it do not count twice),
 * on stderr (UDAX_STATS empty or "-") or appended to the host file
 * UDAX_STATS in one write (so that lines of many processes stay whole).
 *
 * stderr: programs such as coreutils close theirs before the destructors
 * run, so a copy of the stderr the program had when it first used the
 * store is kept as one of the library's descriptors (the program cannot
 * close it; a fork child closes its copy). Where that stderr is a store
 * file, the copy is a dup of the shim's (a udax descriptor, written through
 * the shim's write). SIGPIPE is ignored while the line is written
 * (a closed pipe must not change the program's exit status), and a FIFO
 * file is opened without waiting for a reader.
 *
 * May call: core.c, fd.c (whether stderr is a udax descriptor), libc.
 * Locks: none of its own; reported and stats_fd change only at the
 * store's open and close (store_lock held), in a fork child, and at exit
 * or exec (one thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "preload/shim.h"

static int stats_fd = -1;
static bool stats_fd_udax;	/* stats_fd is a udax descriptor (the shim's) */
static struct udax_file_stat reported;	/* the counters of the lines so far */

/* Context: at the store's open, store_lock held; or at load after exec,
 * once the descriptors handed over are in place (stderr may be one). */
void shim_stats_keep(void)
{
	const char *to = getenv("UDAX_STATS");
	struct rlimit lim;
	int floor = 1024;	/* the library's descriptors start at half the
				   soft RLIMIT_NOFILE, at most 1024 */

	if (!to || (*to && strcmp(to, "-")))
		return;
	if (stats_fd >= 0) {	/* kept: again only if stderr became a store file */
		if (stats_fd_udax || !shim_fd_is_udax(STDERR_FILENO))
			return;
		shim_real()->close(shim_fd_mark_library(stats_fd, false));
	}
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur / 2 < (rlim_t)floor)
		floor = (int)(lim.rlim_cur / 2);
	stats_fd_udax = shim_fd_is_udax(STDERR_FILENO);
	if (stats_fd_udax)	/* a store file: a dup of the shim's */
		stats_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, floor);
	else
		stats_fd = shim_fd_mark_library(shim_real()->fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC,
								   floor), true);
}

/* The store closed: counting starts anew with its next open. */
static void stats_reset(void)
{
	memset(&reported, 0, sizeof(reported));
}

/* A fork child: the copy was closed with the library's descriptors. */
static void stats_forget(void)
{
	if (!stats_fd_udax)
		stats_fd = -1;
}

__attribute__((constructor)) static void stats_load(void)
{
	static const struct shim_store_watch watch = {
		.opened = shim_stats_keep,
		.closed = stats_reset,
		.forked = stats_forget,
	};

	shim_store_watch(&watch);
}

/* now - reported, field by field, into now; reported = the old now. */
static void counters_since(struct udax_file_stat *now)
{
	struct udax_file_stat was = reported;

	reported = *now;
#define SINCE(field) now->field -= was.field
	SINCE(faults_read);
	SINCE(faults_hole);
	SINCE(faults_write);
	SINCE(faults_pmd);
	SINCE(faults_pmd_fallback);
	SINCE(pages_mapped_ahead);
	SINCE(blocks_allocated);
	SINCE(writeback_pages);
	SINCE(lock_waits);
	SINCE(faults_sigbus);
	SINCE(map_evictions);
#undef SINCE
}

/* Write the line where UDAX_STATS (to) says, with SIGPIPE ignored. */
static void line_put(const char *to, const char *line, size_t len)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
	bool restore = shim_libc_sigaction(SIGPIPE, &ignore, &old) == 0;
	int fd;

	if (!*to || strcmp(to, "-") == 0) {
		if (stats_fd_udax) {	/* the shim's write, synced: the final syncs are done */
			(void)!write(stats_fd, line, len);
			(void)fsync(stats_fd);
		}
		else
			(void)!shim_real()->write(stats_fd >= 0 ? stats_fd : STDERR_FILENO, line,
						  len);
	} else {
		fd = shim_real()->open(to, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK,
				       0644);
		if (fd >= 0) {
			(void)!shim_real()->write(fd, line, len);
			shim_real()->close(fd);
		} else {
			char why[256];

			snprintf(why, sizeof(why), "udax run: UDAX_STATS=%s: %s\n", to,
				 strerror(errno));
			(void)!shim_real()->write(STDERR_FILENO, why, strlen(why));
		}
	}
	if (restore)
		shim_libc_sigaction(SIGPIPE, &old, NULL);
}

void shim_store_report(void)
{
	const char *to = getenv("UDAX_STATS");
	struct udax_file_stat c;
	char line[768], name[256];
	ssize_t named;
	int n;

	if (!to || shim_store_counters(&c))
		return;
	counters_since(&c);
	named = strlen(program_invocation_short_name);	/* at most 63 bytes shown */
	named = udax_escape(program_invocation_short_name,
			    (size_t)named < sizeof(name) / 4 ? (size_t)named : sizeof(name) / 4 - 1,
			    name, sizeof(name));
	if (named < 0)
		snprintf(name, sizeof(name), "?");
	n = snprintf(line, sizeof(line),
		     "udax run: pid %d (%s): %llu read faults (%llu of holes), %llu write faults; "
		     "%llu served 2 MiB, %llu fell back to 4 KiB; %llu pages mapped ahead; "
		     "%llu blocks allocated; %llu pages written back; %llu lock waits; "
		     "%llu SIGBUS; %llu evictions\n",
		     (int)getpid(), name, (unsigned long long)c.faults_read,
		     (unsigned long long)c.faults_hole, (unsigned long long)c.faults_write,
		     (unsigned long long)c.faults_pmd, (unsigned long long)c.faults_pmd_fallback,
		     (unsigned long long)c.pages_mapped_ahead,
		     (unsigned long long)c.blocks_allocated, (unsigned long long)c.writeback_pages,
		     (unsigned long long)c.lock_waits, (unsigned long long)c.faults_sigbus,
		     (unsigned long long)c.map_evictions);
	if (n > 0 && (size_t)n < sizeof(line))
		line_put(to, line, (size_t)n);
}
