/* SPDX-License-Identifier: MIT */
/*
 * handles.h - layer api: the objects behind the public handles (a store
 * handle with its inode table, a file handle) and the calls one layer
 * below api.c, which blocks the application's asynchronous signals around
 * each and refuses inherited handles.
 *
 * May call: every layer below (delivery, fault, mm, index, store, base).
 * Locks: udax_store.inodes_lock protects the inode table and reference
 * counts; it is taken only by open/close/unlink/rename/mmap/munmap, never
 * under the locks of mm/address_space.h.
 */
#ifndef UDAX_API_HANDLES_H
#define UDAX_API_HANDLES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/lock.h"
#include "mm/address_space.h"
#include "store/store.h"
#include "udax.h"

#define UDAX_FILE_MAX_BYTES STORE_FILE_MAX_BYTES	/* 64 TiB */

struct udax_store {
	struct store *st;
	struct file_share *share;	/* opened shared: its files; else NULL */
	struct mutex inodes_lock;
	/* A leaf under inodes_lock: held while an entry of inode is set or
	 * cleared, and by the agent thread while it carries out another
	 * process's request on an inode (inode_table_apply()), so the inode
	 * stays. Not inodes_lock, which a first open holds while it waits
	 * for a file's io_lock, which that requester may hold. */
	struct mutex apply_lock;
	struct inode **inode;		/* by file slot, NULL when not open */
	pid_t owner;			/* the process that opened it */
	struct udax_file_stat closed_counters;	/* of inodes gone; inodes_lock */
	/* What a fork child needs to open it again (fork.c): the flags, and
	 * for a store opened shared its absolute path (NULL: not known) and
	 * the store file's identity. */
	unsigned flags;
	char *path;
	dev_t dev;
	ino_t ino;
	/* Opened by a fork child for the mappings it inherited (fork.c),
	 * unseen by the application: closed when the last goes. */
	bool inherited;
	_Atomic uint32_t inherited_maps;
};

struct udax_file {
	struct inode *inode;
	bool writable;
};

/* The public calls, one layer below api.c (which blocks the application's
 * asynchronous signals around each and refuses inherited handles). Each
 * is documented in udax.h under its udax_ name. */
/* store_handle.c */
int store_path_create(const char *path, uint64_t size_bytes, unsigned flags);
int store_path_check(const char *path, unsigned flags);
int store_handle_open(const char *path, unsigned flags, struct udax_store **out);
int store_handle_close(struct udax_store *s);
int store_handle_sync(struct udax_store *s);
int store_handle_stat(struct udax_store *s, struct udax_store_stat *st);
int store_handle_readdir(struct udax_store *s, const char *dir, uint64_t *cookie, char *name,
			 size_t size, unsigned *type);
/* dir_handle.c */
int dir_make(struct udax_store *s, const char *path, mode_t mode);
int dir_remove(struct udax_store *s, const char *path);
/* file_handle.c */
int file_open(struct udax_store *s, const char *name, int flags, struct udax_file **out);
int file_close(struct udax_file *f);
int file_unlink(struct udax_store *s, const char *name);
int file_rename(struct udax_store *s, const char *oldname, const char *newname);
ssize_t file_pread(struct udax_file *f, void *buf, size_t len, uint64_t off);
ssize_t file_pwrite(struct udax_file *f, const void *buf, size_t len, uint64_t off);
ssize_t file_append(struct udax_file *f, const void *buf, size_t len, uint64_t *off);
int file_truncate(struct udax_file *f, uint64_t size);
int file_punch_hole(struct udax_file *f, uint64_t off, uint64_t len);
int file_fallocate(struct udax_file *f, uint64_t off, uint64_t len);
int file_fsync(struct udax_file *f);
/* file_stat.c */
int file_fstat(struct udax_file *f, struct udax_file_stat *st);
int file_lock_fd(struct udax_file *f);
int file_id(struct udax_file *f, uint64_t *id);

/* orphan.c: files removed while in use. ORPHAN_DIR is their directory in
 * the root. __orphan_busy: whether slot is open or mapped here or by a
 * live process of the store (context: inodes_lock, store.lock).
 * __orphan_adopt: move slot there, named by its number (same context;
 * 0, or -EBUSY with no slot left for the directory). __orphan_let_go:
 * this process's last use of slot is gone: remove it if it is an orphan
 * nobody uses (context: inodes_lock; takes store.lock). orphans_reap:
 * remove those nobody uses (at open; takes both; returns the checkpoint's
 * error). path_check() refuses ORPHAN_DIR and paths under it. */
#define ORPHAN_DIR ".udax-unlinked"
bool __orphan_busy(struct udax_store *s, int slot);
int __orphan_adopt(struct udax_store *s, int slot);
void __orphan_let_go(struct udax_store *s, int slot);
int orphans_reap(struct udax_store *s);
int file_stat_name(struct udax_store *s, const char *name, struct udax_stat *st);
int file_stat_store(struct udax_store *s, struct udax_file_stat *st);
/* Add ino's counters to its store's closed_counters, as it goes.
 * Context: the caller holds udax_store.inodes_lock. */
void inode_counters_retire(struct inode *ino);
/* file_seek.c */
int64_t file_seek_data(struct udax_file *f, uint64_t off, int whence);
/* mapping_handle.c */
int mapping_create(struct udax_file *f, uint64_t off, size_t len, int prot, int flags,
		   void **addr);
int mapping_remove(void *addr, size_t len);
int mapping_sync(void *addr, size_t len, int flags);

/* fork.c: the mappings a fork child inherited are its own from the
 * child's first instruction on (see there). fork_handlers_install()
 * registers the library's fork handlers (once, before main()).
 * mapping_inherited_gone():
 * one of s's inherited mappings was unmapped; the last closes s.
 * Return: 0 or the close's -errno. */
void fork_handlers_install(void);
int mapping_inherited_gone(struct udax_store *s);

/* detail.c: the reason text of udax_strerror_detail(), thread-local.
 * detail_clear() empties it; detail_set() writes it (printf-style) and
 * returns err, so that a failure reads `return detail_set(-EINVAL, ...)`;
 * detail_fallback() gives a failed call (ret < 0) that set none the
 * call's name and the errno's text, and returns ret; detail_text() is the
 * text. path_check() returns 0 or -EINVAL with the rule a path breaks
 * (store_path_problem()); path_lookup_failed()
 * explains an -ENOENT or -ENOTDIR of a directory on the way
 * (__store_parent_find()) and returns it; checkpoint_failed() explains
 * the errors of a checkpoint and returns err. text_escape() is
 * udax_escape(). */
void detail_clear(void);
int detail_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
long detail_fallback(const char *call, long ret);
const char *detail_text(void);
int path_check(const char *path);
int path_lookup_failed(int err);
int checkpoint_failed(int err);
ssize_t text_escape(const char *text, size_t len, char *buf, size_t size);

/* inode_table.c: the inode of file slot slot of s, made on first use, with
 * a reference; inode_put() drops it (the last frees the inode). For a
 * store opened shared, the file's first open in this process counts it
 * among the file's openers first (file_share_open(), under store.lock with
 * the name's lookup), and inode_put() uncounts it with the last reference
 * (so does a failed first get).
 * Return: the inode, or NULL without memory. __inode_get: Context:
 * inodes_lock held. */
struct inode *inode_get(struct udax_store *s, int slot);
struct inode *__inode_get(struct udax_store *s, int slot);
/* The agent's callback (xproc_apply_fn, ctx the struct udax_store) of a
 * store opened shared: another process's request, carried out on this
 * process's inode of the file, if it has one. Context: the agent thread;
 * takes apply_lock and the inode's maps_lock only. */
int inode_table_apply(void *ctx, const struct xproc_request *req);
void inode_put(struct inode *ino);

#endif /* UDAX_API_HANDLES_H */
