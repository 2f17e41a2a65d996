// SPDX-License-Identifier: MIT
/*
 * api.c - layer api: the calls of udax.h. Each runs the call of its layer
 * (handles.h) with the application's asynchronous signals blocked, and
 * refuses a handle that a fork() child inherited from its parent (-EBADF).
 *
 * Why block signals: a signal handler that touches a udax mapping faults,
 * and the fault takes udax locks (an entry lock, invalidate_lock,
 * store.lock, ...). Should the signal arrive while this thread's udax call
 * holds one of them, the fault would wait for its own thread for ever, a
 * deadlock kernel DAX cannot have. Blocked, the signal waits until the call
 * returns (two rt_sigprocmask calls per call). The fault handler itself
 * runs with the same signals blocked (delivery/delivery.c); the
 * synchronous ones (SIGSEGV, SIGBUS, ...) stay open: they are the faults.
 *
 * Why refuse inherited handles: a child of fork() has a copy of the store's
 * index and allocator, not the parent's; using it would allocate blocks
 * the parent may allocate too (fork.c gives the child its own handle for
 * the mappings it inherits), and closing the store would write the copy's stale
 * metadata over the parent's. The check asks the kernel for the pid (0.2
 * us): a child made without fork handlers (the fork syscall, _Fork()) is
 * caught too.
 *
 * Each call empties the thread's udax_strerror_detail() text on entry and,
 * should it fail unexplained, leaves its name and the errno's text there
 * (detail.c).
 *
 * Locks: none of its own.
 */
#include <errno.h>
#include <unistd.h>

#include "api/handles.h"
#include "delivery/delivery.h"
#include "udax.h"

/* Before main(), so before any thread (fork.c). */
__attribute__((constructor)) static void fork_handlers_before_main(void)
{
	fork_handlers_install();
}

static bool store_inherited(const struct udax_store *s)
{
	return s && s->owner != getpid();
}

static bool file_inherited(const struct udax_file *f)
{
	return f && store_inherited(f->inode->handle);
}

/* Return call (of type type) made with asynchronous signals blocked, or
 * -EBADF at once if refused (an inherited handle). */
#define API_CALL(type, refused, call)					\
	do {								\
		sigset_t saved_;					\
		type ret_;						\
									\
		detail_clear();						\
		if (refused)						\
			return detail_set(-EBADF, "%s: the handle belongs to the " \
					  "parent process (fork): a child opens the " \
					  "store itself", __func__);	\
		delivery_signals_block(&saved_);			\
		ret_ = (call);						\
		delivery_signals_restore(&saved_);			\
		return (type)detail_fallback(__func__, ret_);		\
	} while (0)

int udax_store_create(const char *path, uint64_t size_bytes, unsigned flags)
{
	API_CALL(int, false, store_path_create(path, size_bytes, flags));
}

int udax_store_open(const char *path, unsigned flags, struct udax_store **out)
{
	API_CALL(int, false, store_handle_open(path, flags, out));
}

int udax_store_check(const char *path, unsigned flags)
{
	API_CALL(int, false, store_path_check(path, flags));
}

int udax_store_close(struct udax_store *s)
{
	API_CALL(int, store_inherited(s), store_handle_close(s));
}

int udax_store_stat(struct udax_store *s, struct udax_store_stat *st)
{
	API_CALL(int, store_inherited(s), store_handle_stat(s, st));
}

int udax_readdir(struct udax_store *s, uint64_t *cookie, char *name, size_t size)
{
	API_CALL(int, store_inherited(s), store_handle_readdir(s, NULL, cookie, name, size, NULL));
}

int udax_readdir2(struct udax_store *s, const char *dir, uint64_t *cookie, char *name,
		  size_t size, unsigned *type)
{
	API_CALL(int, store_inherited(s), store_handle_readdir(s, dir, cookie, name, size, type));
}

int udax_mkdir(struct udax_store *s, const char *path, mode_t mode)
{
	API_CALL(int, store_inherited(s), dir_make(s, path, mode));
}

int udax_rmdir(struct udax_store *s, const char *path)
{
	API_CALL(int, store_inherited(s), dir_remove(s, path));
}

int udax_open(struct udax_store *s, const char *name, int flags, struct udax_file **out)
{
	API_CALL(int, store_inherited(s), file_open(s, name, flags, out));
}

int udax_close(struct udax_file *f)
{
	API_CALL(int, file_inherited(f), file_close(f));
}

int udax_unlink(struct udax_store *s, const char *name)
{
	API_CALL(int, store_inherited(s), file_unlink(s, name));
}

int udax_rename(struct udax_store *s, const char *oldname, const char *newname)
{
	API_CALL(int, store_inherited(s), file_rename(s, oldname, newname));
}

ssize_t udax_pread(struct udax_file *f, void *buf, size_t len, uint64_t off)
{
	API_CALL(ssize_t, file_inherited(f), file_pread(f, buf, len, off));
}

ssize_t udax_pwrite(struct udax_file *f, const void *buf, size_t len, uint64_t off)
{
	API_CALL(ssize_t, file_inherited(f), file_pwrite(f, buf, len, off));
}

ssize_t udax_append(struct udax_file *f, const void *buf, size_t len, uint64_t *off)
{
	API_CALL(ssize_t, file_inherited(f), file_append(f, buf, len, off));
}

int udax_truncate(struct udax_file *f, uint64_t size)
{
	API_CALL(int, file_inherited(f), file_truncate(f, size));
}

int udax_punch_hole(struct udax_file *f, uint64_t off, uint64_t len)
{
	API_CALL(int, file_inherited(f), file_punch_hole(f, off, len));
}

int udax_fallocate(struct udax_file *f, uint64_t off, uint64_t len)
{
	API_CALL(int, file_inherited(f), file_fallocate(f, off, len));
}

int udax_fsync(struct udax_file *f)
{
	API_CALL(int, file_inherited(f), file_fsync(f));
}

int udax_fstat(struct udax_file *f, struct udax_file_stat *st)
{
	API_CALL(int, file_inherited(f), file_fstat(f, st));
}

int udax_sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	return delivery_app_sigaction(sig, act, oldact);
}

int udax_file_id(struct udax_file *f, uint64_t *id)
{
	API_CALL(int, file_inherited(f), file_id(f, id));
}

int udax_lock_fd(struct udax_file *f)
{
	API_CALL(int, file_inherited(f), file_lock_fd(f));
}

int udax_store_counters(struct udax_store *s, struct udax_file_stat *st)
{
	API_CALL(int, store_inherited(s), file_stat_store(s, st));
}

int udax_store_sync(struct udax_store *s)
{
	API_CALL(int, store_inherited(s), store_handle_sync(s));
}

int udax_stat(struct udax_store *s, const char *name, struct udax_stat *st)
{
	API_CALL(int, store_inherited(s), file_stat_name(s, name, st));
}

int64_t udax_seek_data(struct udax_file *f, uint64_t off, int whence)
{
	API_CALL(int64_t, file_inherited(f), file_seek_data(f, off, whence));
}

/* udax_mmap2() with the flags taken out of prot, as version 0.1 had them. */
int udax_mmap(struct udax_file *f, uint64_t off, size_t len, int prot, void **addr)
{
	int flags = prot & (UDAX_MAP_SYNC | UDAX_MAP_PTE | UDAX_MAP_DONTFORK);

	API_CALL(int, file_inherited(f), mapping_create(f, off, len, prot & ~flags, flags, addr));
}

int udax_mmap2(struct udax_file *f, uint64_t off, size_t len, int prot, int flags, void **addr)
{
	API_CALL(int, file_inherited(f), mapping_create(f, off, len, prot, flags, addr));
}

/* A forked child has no udax mapping: its munmap and msync find none. */
int udax_munmap(void *addr, size_t len)
{
	API_CALL(int, false, mapping_remove(addr, len));
}

int udax_msync(void *addr, size_t len, int flags)
{
	API_CALL(int, false, mapping_sync(addr, len, flags));
}

const char *udax_strerror_detail(void)
{
	return detail_text();
}

/* Pure: it touches no udax state, so it runs with signals as they are and
 * leaves the thread's detail text alone. */
ssize_t udax_escape(const char *text, size_t len, char *buf, size_t size)
{
	return text_escape(text, len, buf, size);
}

const char *udax_version(void)
{
	return UDAX_VERSION;
}
