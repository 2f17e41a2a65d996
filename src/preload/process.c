// SPDX-License-Identifier: MIT
/*
 * process.c - layer preload: the process around the store. fork(): the
 * shim's locks are held across it; a child opens the store again on first
 * use (the library refuses the handles it inherited: -EBADF), the files
 * of the descriptors it inherited too (fd.c), and keeps the mappings (the
 * library's child inherits them). Exit and exec, which skip what the program did not
 * close: the store is closed if nothing is open (its metadata written),
 * else every mapping and file is synced, which checkpoints the metadata;
 * exec hands the descriptors that survive it to the new program (exec.c).
 *
 * May call: the public API of udax.h, libc, core.c, fd.c, maps.c, exec.c,
 * stats.c.
 * Locks: all of the shim's across fork() (core, fd, maps, in that order).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "preload/shim.h"

extern char **environ;

static void fork_prepare(void)
{
	shim_ofd_each(shim_locks_before_fork);	/* before the locks: it opens files */
	shim_core_fork(0);
	shim_fd_fork(0);
	shim_map_fork(0);
}

static void fork_parent(void)
{
	shim_map_fork(1);
	shim_fd_fork(1);
	shim_core_fork(1);
}

static void fork_child(void)
{
	shim_core_fork(2);
	shim_fd_fork(2);
	shim_map_fork(2);
}

__attribute__((constructor)) static void process_load(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* SIGBUS and SIGSEGV handlers a program installs once udax's are in place
 * go behind them (udax_sigaction()): in their place, they would leave
 * every udax mapping's faults unserved (stress-ng's stressors install
 * theirs in each forked child). */
SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int ret = udax_sigaction(sig, act, old);

	return ret ? shim_fail(ret) : 0;
}

/* signal(2) as glibc's (BSD semantics: SA_RESTART, sig blocked while its
 * handler runs), through sigaction() above for SIGBUS and SIGSEGV. */
SHIM_EXPORT void (*signal(int sig, void (*handler)(int)))(int)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;

	if (sig != SIGBUS && sig != SIGSEGV)
		return shim_libc_signal(sig, handler);
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old))
		return SIG_ERR;
	return old.sa_handler;
}

static void ofd_sync(struct shim_ofd *ofd)
{
	if (!atomic_load(&ofd->inherited))	/* else its parent's to sync */
		(void)udax_fsync(ofd->file);
}

void shim_sync_all(void)
{
	if (shim_in_vfork_child())
		return;
	shim_map_sync_all();	/* nothing to do when nothing is open */
	shim_ofd_each(ofd_sync);
	shim_store_report();	/* after the syncs: their writeback counts */
	shim_nodes_let_go();
	(void)shim_store_close();	/* -EBUSY while files stay open */
}

/* Runs after the program's destructors and atexit handlers (the preload
 * library is initialized first, so finalized last). */
__attribute__((destructor)) static void process_unload(void)
{
	fflush(NULL);	/* exit flushes streams after this: a udax stdout now */
	shim_sync_all();
	shim_ofd_release_all();
}

/* _exit and _Exit skip the destructors; dash ends every run with _exit,
 * fork children (stress-ng's, Python's os._exit) too. The files such a
 * process made or extended live in the store's shared metadata, which a
 * process that exits holding the store last leaves to be made anew from
 * the store: so it writes the metadata first (a process killed first
 * loses them, as a crash does). Only that, with no lock waited for: _exit
 * is async-signal-safe, and a handler's may have interrupted its thread
 * holding any of the shim's locks (a mapping's written pages are the
 * store file's page cache: they stay). Not in a vfork child, whose memory
 * is its parent's. */
SHIM_EXPORT void _exit(int status)
{
	if (!shim_in_vfork_child()) {	/* a vfork child's are its parent's */
		shim_store_exit_sync();
		shim_ofd_release_all();
	}
	shim_real()->_exit(status);
	__builtin_unreachable();
}

SHIM_EXPORT void _Exit(int status)
{
	_exit(status);
}

/* exec replaces the process without running its destructors: write back
 * first what it leaves open or mapped, and hand over the descriptors that
 * survive it (call: the real exec, with the environment envp_). */
#define EXEC_HANDING_OVER(envp, call)					\
	do {								\
		char **handed_, *const *envp_;				\
		int ret_, err_;						\
									\
		shim_sync_all();					\
		handed_ = shim_exec_env(envp);				\
		envp_ = handed_ ? handed_ : (envp);			\
		ret_ = (call);						\
		err_ = errno;						\
		shim_exec_env_free(handed_);	/* exec failed */	\
		errno = err_;						\
		return ret_;						\
	} while (0)

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	EXEC_HANDING_OVER(envp, shim_real()->execve(path, argv, envp_));
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			 int flags)
{
	EXEC_HANDING_OVER(envp, shim_real()->execveat(dirfd, path, argv, envp_, flags));
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	EXEC_HANDING_OVER(envp, shim_real()->fexecve(fd, argv, envp_));
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	EXEC_HANDING_OVER(envp, shim_real()->execvpe(file, argv, envp_));
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The arguments of execl, execlp, execle, up to the NULL, in argv (which
 * has room for argc of them). Return: the count, without the NULL. */
static int list_count(const char *arg0, va_list ap)
{
	int n = 1;

	while (va_arg(ap, char *))
		n++;
	return arg0 ? n : 0;
}

static void list_fill(char **argv, const char *arg0, va_list ap)
{
	int n = 0;

	argv[n] = (char *)arg0;
	while (argv[n])
		argv[++n] = va_arg(ap, char *);
}

#define EXEC_LIST(arg0, last, call)					\
	do {								\
		va_list ap_;						\
		int n_;							\
									\
		va_start(ap_, arg0);					\
		n_ = list_count(arg0, ap_);				\
		va_end(ap_);						\
		char *argv_[n_ + 2];					\
		va_start(ap_, arg0);					\
		list_fill(argv_, arg0, ap_);				\
		last;							\
		va_end(ap_);						\
		return call;						\
	} while (0)

SHIM_EXPORT int execl(const char *path, const char *arg0, ...)
{
	EXEC_LIST(arg0, (void)0, execve(path, argv_, environ));
}

SHIM_EXPORT int execlp(const char *file, const char *arg0, ...)
{
	EXEC_LIST(arg0, (void)0, execvpe(file, argv_, environ));
}

SHIM_EXPORT int execle(const char *path, const char *arg0, ...)
{
	char *const *envp_;

	EXEC_LIST(arg0, envp_ = va_arg(ap_, char *const *), execve(path, argv_, envp_));
}
