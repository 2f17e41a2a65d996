/* SPDX-License-Identifier: MIT */
/*
 * udax.h - userspace DAX engine: memory-map files of a user-space store and
 * serve their page faults with the entry-locking design of Linux DAX.
 *
 * Every function returns 0 (or a byte count) on success and a negative errno
 * on failure. Nothing sets or reads errno. Full documentation: udax(3).
 */
#ifndef UDAX_H
#define UDAX_H

#include <fcntl.h>	/* O_RDONLY, O_RDWR, O_CREAT, ... for udax_open() */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>	/* PROT_READ, PROT_WRITE for udax_mmap(), MS_* for udax_msync() */
#include <sys/types.h>

struct sigaction;	/* <signal.h>, for udax_sigaction() */

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; udax_version() returns the library's. */
#define UDAX_VERSION "0.4.0"
#define UDAX_VERSION_MAJOR 0
#define UDAX_VERSION_MINOR 4
#define UDAX_VERSION_PATCH 0

/* Marks the exported API; everything else in libudax is hidden. */
#define UDAX_API __attribute__((visibility("default")))
#define UDAX_NAME_MAX 255	/* bytes in a component of a path, without the NUL */
#define UDAX_PATH_MAX 4095	/* bytes in a path, without the NUL */

/* What an entry of the store is (udax_stat(), udax_readdir2()); the values
 * of DT_REG and DT_DIR of <dirent.h>. */
#define UDAX_TYPE_FILE 8
#define UDAX_TYPE_DIR 4

struct udax_store;
struct udax_file;

/* How page faults of udax mappings reach udax in this process. */
enum udax_delivery {
	UDAX_DELIVERY_NONE = 0,		/* no mapping made yet */
	UDAX_DELIVERY_USERFAULTFD = 1,	/* userfaultfd, SIGBUS in the faulting thread */
	UDAX_DELIVERY_SIGSEGV = 2,	/* PROT_NONE pages, SIGSEGV (no userfaultfd) */
};

/* Store-wide figures, filled by udax_store_stat(). */
struct udax_store_stat {
	uint64_t block_size;	/* bytes per block (4096) */
	uint64_t blocks_total;	/* data blocks the store can hold */
	uint64_t blocks_free;	/* data blocks not allocated to any file */
	uint64_t files;		/* files and directories in the store */
	uint64_t files_max;	/* capacity of the file table (files and
				   directories) */
	uint32_t delivery;	/* enum udax_delivery of this process */
	uint64_t index_bytes;	/* memory of udax indexes (page indexes and
				   block maps) of the stores this process has
				   open alone, and of this store if shared
				   (its region's, counted by every process
				   sharing it) */
};

/* Per-file figures and fault counters, filled by udax_fstat(). */
struct udax_file_stat {
	uint64_t size;			/* bytes */
	uint64_t blocks;		/* allocated 4 KiB blocks */
	uint64_t dirty_pages;		/* pages written since last writeback */
	uint64_t faults_read;		/* read faults served */
	uint64_t faults_write;		/* write faults served */
	uint64_t faults_hole;		/* read faults that mapped the zero page */
	uint64_t faults_pmd;		/* faults served with a 2 MiB entry */
	uint64_t faults_pmd_fallback;	/* faults served with a 4 KiB entry instead */
	uint64_t faults_sigbus;		/* faults answered with SIGBUS */
	uint64_t lock_waits;		/* sleeps on a locked entry */
	uint64_t blocks_allocated;	/* blocks allocated by faults and writes */
	uint64_t writeback_pages;	/* pages written back by msync/fsync */
	uint64_t mappings;		/* live udax_mmap() mappings of the file */
	uint64_t pages_mapped_ahead;	/* pages mapped by map-ahead beyond a
					   faulting 2 MiB */
	uint64_t map_evictions;		/* times its mappings were emptied to stay
					   under vm.max_map_count */
};

/* Persistent figures of a file or directory, filled by udax_stat() from
 * the store's block map, without opening the file. */
struct udax_stat {
	uint64_t size;		/* bytes */
	uint64_t blocks;	/* allocated 4 KiB blocks */
	uint64_t extents;	/* runs of blocks contiguous both in the file
				   and in the store (1 for a file written in
				   one piece into an empty store) */
	uint64_t extents_2mib;	/* whole 2 MiB extents, aligned in the file and
				   in the store: each maps with one 2 MiB
				   fault */
	uint64_t users;		/* handles and mappings of this process that
				   hold the file (udax_unlink() gets -EBUSY
				   while there are any) */
	uint64_t type;		/* UDAX_TYPE_FILE or UDAX_TYPE_DIR (since
				   0.3; a directory has every figure 0) */
	uint64_t spare[2];	/* 0; room for more figures */
};

/* udax_store_create() flag: reserve the whole store file on the host
 * (fallocate), so that writes never meet a full host file system; freed
 * blocks then keep their host space. */
#define UDAX_STORE_PREALLOC 0x2

/* Create a store of size_bytes (rounded down to whole 2 MiB groups) at path,
 * which must not exist. flags: 0 (the file is sparse on the host) or
 * UDAX_STORE_PREALLOC (-ENOSPC if the host cannot hold it all). */
UDAX_API int udax_store_create(const char *path, uint64_t size_bytes, unsigned flags);

/* udax_store_open() flag: open the store read-only. The backing file is
 * opened O_RDONLY and never written (no checkpoint at close). Opening a
 * file O_RDWR, O_CREAT or O_TRUNC, a writable mapping, udax_unlink and
 * udax_rename get -EROFS; udax_fsync and udax_msync do nothing and return
 * 0. */
#define UDAX_STORE_RDONLY 0x1

/* udax_store_open() flag: open the store for this process alone, outside
 * its shared region: any other opener gets -EBUSY while it is open, and
 * it gets -EBUSY while another process has the store open. With
 * UDAX_STORE_RDONLY: a read-only open beside other such readers only (no
 * process may write the store meanwhile). */
#define UDAX_STORE_EXCLUSIVE 0x4

/* Open the store at path. flags: 0, UDAX_STORE_RDONLY, UDAX_STORE_EXCLUSIVE
 * or both.
 * Without UDAX_STORE_EXCLUSIVE the store is shared: any number of
 * processes (up to 64) open it at once, read-write or read-only, and see
 * one store. Each file has one page cache for all of them: a write through
 * one process's mapping or udax_pwrite() is seen at once by every other
 * process's mappings and reads; writeback, udax_truncate(),
 * udax_punch_hole() and udax_unlink() reach every process's mappings; a
 * process killed at any point leaves the others working (its locks are
 * taken over after at most 100 ms; what it had not made durable with
 * udax_fsync() or udax_msync() may be lost, as in a crash, once the last
 * process closes the store). The processes meet in a region file in
 * $UDAX_REGION_DIR (default /dev/shm), named after the store file and made
 * with its permissions: only a user who may write the store file shares
 * it. A user who may only read it must give UDAX_STORE_RDONLY (without,
 * -EACCES or -EROFS as from open(2)) and then opens it as with
 * UDAX_STORE_EXCLUSIVE | UDAX_STORE_RDONLY: beside other such readers
 * only, -EBUSY while any process shares the store (so does a read-only
 * opener that finds no room for the region). A child of fork()
 * cannot use its parent's store handle (-EBADF): it opens the store
 * itself; it inherits the parent's mappings of a shared store
 * (udax_mmap2()).
 * A file that is not a store gets -EINVAL, a damaged or truncated one
 * -EUCLEAN; a region that cannot be made -ENOSPC (its directory is full)
 * or -EACCES (one there was made by a user who may not write the store);
 * the one-line reason is in udax_strerror_detail(). A store whose newest
 * superblock's metadata is damaged opens from the older slot, losing the
 * last checkpoint's changes; udax_strerror_detail() then says so after the
 * successful open (else it is ""). Installs udax's SIGBUS/SIGSEGV handlers
 * on first use; handlers installed before keep receiving the signals that
 * are not udax's. */
UDAX_API int udax_store_open(const char *path, unsigned flags, struct udax_store **out);

/* udax_store_check() flag: repair what can be repaired (see below). */
#define UDAX_CHECK_REPAIR 0x1

/* Check the store at path without opening it for use: both superblock
 * slots, checksums, file records, extents, block ownership, the file's
 * length. flags: 0 or UDAX_CHECK_REPAIR.
 * Return: 0 if the store is usable from its newest superblock and
 * consistent; udax_strerror_detail() is then "" or a warning (the spare
 * superblock slot is damaged, as a crash during a superblock write leaves
 * it; the next checkpoint rewrites it). -EUCLEAN if damaged, including a
 * store that opens only from its older superblock (the last checkpoint's
 * changes are lost) and a truncated one; -EINVAL if not a store; -EBUSY if
 * any process has it open, but for exclusive read-only openers (to repair:
 * any opener at all); the reason is in udax_strerror_detail().
 * With UDAX_CHECK_REPAIR, a store that can be opened (from either slot) is
 * repaired: a truncated file is extended to its size (the lost range reads
 * as zeros), the host space of free blocks is given back (a crash may leave
 * it allocated), then both superblock slots and metadata areas are
 * rewritten.
 * Return 0 if it is clean then, udax_strerror_detail() saying what was
 * repaired; a store with no usable slot is left as it is (-EUCLEAN). */
UDAX_API int udax_store_check(const char *path, unsigned flags);

/* Write the store's metadata back (nothing for a read-only store) and close
 * it. Files must be closed and mappings unmapped first (-EBUSY otherwise,
 * the store stays open). Any other error (-EIO: the backing file was
 * truncated or the write failed) is returned after the store is closed and
 * s freed all the same. */
UDAX_API int udax_store_close(struct udax_store *s);

/* Fill st with the store's figures. */
UDAX_API int udax_store_stat(struct udax_store *s, struct udax_store_stat *st);

/* Open a file of the store. flags: O_RDONLY or O_RDWR, optionally O_CREAT,
 * O_EXCL, O_TRUNC. Names are paths of the store's tree: components of
 * 1..255 bytes joined by single '/', none "." or ".." (so no leading or
 * trailing '/'), at most UDAX_PATH_MAX bytes; "a/b" is b in directory a.
 * Every directory on the way must exist (-ENOENT) and be a directory
 * (-ENOTDIR); a directory itself gets -EISDIR. */
UDAX_API int udax_open(struct udax_store *s, const char *name, int flags,
	      struct udax_file **out);

/* Close a handle. Mappings made through it stay valid until udax_munmap. */
UDAX_API int udax_close(struct udax_file *f);

/* Remove a file. -EBUSY while it is open, -EISDIR for a directory. */
UDAX_API int udax_unlink(struct udax_store *s, const char *name);

/* Rename a file or directory, like rename(2): replaces newname if it
 * exists (its blocks are freed), atomically (a crash leaves the old name
 * table or the new one, never neither) and durably (it checkpoints before
 * returning). Handles of an open oldname stay valid; a directory moves
 * with its subtree. -ENOENT if oldname does not exist, -EBUSY if newname
 * exists and is open; -EINVAL moving a directory into itself, -ENOTEMPTY
 * over a directory that has entries, -ENOTDIR a directory over a file,
 * -EISDIR a file over a directory; the same name twice returns 0. */
UDAX_API int udax_rename(struct udax_store *s, const char *oldname, const char *newname);

/* List the entries of the store's root (files and directories): start
 * with *cookie = 0; each call copies the next name (NUL-terminated) into
 * name (size >= UDAX_NAME_MAX + 1 bytes) and returns 1, or returns 0 at
 * the end. udax_readdir2(s, NULL, cookie, name, size, NULL). */
UDAX_API int udax_readdir(struct udax_store *s, uint64_t *cookie, char *name, size_t size);

/* List the entries of directory dir (NULL or "" for the root) as
 * udax_readdir() does; *type (if type is not NULL) gets UDAX_TYPE_FILE or
 * UDAX_TYPE_DIR. Entries made or removed during a listing may or may not
 * be listed; the others are listed once. -ENOENT if dir does not exist,
 * -ENOTDIR if it is a file. */
UDAX_API int udax_readdir2(struct udax_store *s, const char *dir, uint64_t *cookie, char *name,
			   size_t size, unsigned *type);

/* Make directory path (its parent must exist), durably (it checkpoints
 * before returning). mode is accepted as mkdir(2)'s: store directories
 * have no permission bits. -EEXIST if path exists, -ENOSPC if the file
 * table (files and directories) is full. */
UDAX_API int udax_mkdir(struct udax_store *s, const char *path, mode_t mode);

/* Remove the empty directory path, durably. -ENOTEMPTY if it has entries,
 * -ENOTDIR if it is a file, -ENOENT if there is none. */
UDAX_API int udax_rmdir(struct udax_store *s, const char *path);

/* Read up to len bytes at off; short at end of file, 0 past it. */
UDAX_API ssize_t udax_pread(struct udax_file *f, void *buf, size_t len, uint64_t off);

/* Write len bytes at off, growing the file. -ENOSPC when the store is full
 * (nothing past the bytes already written is changed). */
UDAX_API ssize_t udax_pwrite(struct udax_file *f, const void *buf, size_t len,
		    uint64_t off);

/* Write len bytes at the file's end, atomically: no other append or
 * truncate of the file, by any thread of any process of the store, comes
 * between finding the end and writing there (O_APPEND's guarantee). off
 * (may be NULL) gets where the bytes went. Returns the bytes written, or
 * -errno (-ENOSPC, -EFBIG past 64 TiB). */
UDAX_API ssize_t udax_append(struct udax_file *f, const void *buf, size_t len, uint64_t *off);

/* Set the file size. Shrinking unmaps and frees the blocks past it. */
UDAX_API int udax_truncate(struct udax_file *f, uint64_t size);

/* Free the blocks of [off, off+len) (whole pages); the range reads zeros. */
UDAX_API int udax_punch_hole(struct udax_file *f, uint64_t off, uint64_t len);

/* Give [off, off+len) of the file blocks, zeroed, like fallocate(2) mode
 * 0: holes get blocks, data stays, the size grows to off+len if smaller.
 * Whole aligned 2 MiB ranges of holes get one 2 MiB extent each while the
 * store has room, so their faults are 2 MiB faults. No page-cache pages
 * are written. Returns -ENOSPC when the store is full (part of the range
 * may then have blocks). */
UDAX_API int udax_fallocate(struct udax_file *f, uint64_t off, uint64_t len);

/* Make the file's data and the store's metadata durable. -EIO, writing no
 * metadata, if the store's backing file has become shorter than the store
 * (truncated under it: `udax fsck` explains, `udax fsck --repair` repairs). */
UDAX_API int udax_fsync(struct udax_file *f);

/* Fill st with the file's size and counters. */
UDAX_API int udax_fstat(struct udax_file *f, struct udax_file_stat *st);

/* Which file f is, in its store: *id gets a random number drawn when the
 * file was made and kept in the store, the same in every process and
 * across opens: a renamed file keeps it, a file made later (under the old
 * name, or in the removed file's place in the file table) has another, so
 * a program that opens a file again by name can tell whether it found the
 * same one (a file made by udax before 0.4 has its table slot + 1). */
UDAX_API int udax_file_id(struct udax_file *f, uint64_t *id);

/* sigaction(2) for a program that installs SIGBUS or SIGSEGV handlers
 * after its first udax_store_open(): udax's own handlers stay in place
 * (sigaction() itself would replace them and break every udax mapping)
 * and act becomes the handler udax calls for the signals that are not
 * its faults, as it calls the handlers found at the first open; oldact
 * gets the handler udax called until now. Before the first open, and for
 * other signals, it is sigaction() itself. Async-signal-safe.
 * Returns 0 or -errno (sigaction's errors). */
UDAX_API int udax_sigaction(int sig, const struct sigaction *act, struct sigaction *oldact);

/* A new kernel descriptor (O_CLOEXEC; read-write for a handle opened
 * O_RDWR, else read-only) of the file's lock proxy: an empty file that
 * every process of the store locks for this file. fcntl() record locks
 * (F_SETLK, F_SETLKW, F_GETLK), OFD locks and flock() on it lock the udax
 * file across processes, with the kernel's owners, conflicts, deadlock
 * detection and release at close and at death. Lock offsets are the udax
 * file's (SEEK_END and SEEK_CUR mean nothing on it: its size is 0). It
 * locks this file while a handle of it is open in this process; close it
 * with close(), and know that, as with any file, closing any descriptor
 * of the proxy drops every POSIX lock this process holds on it. The
 * descriptor is the lowest free number, as open()'s (moving it with a dup
 * and a close is safe only while this process holds no POSIX lock on the
 * file). -ENOLCK if the store is open read-only and no process
 * that opened it for writing has made the proxy yet. */
UDAX_API int udax_lock_fd(struct udax_file *f);

/* Fill st with this process's counters of store s: the fault, allocation
 * and writeback counters summed over every file it has opened or mapped
 * since udax_store_open() (files closed since included); size, blocks,
 * dirty_pages and mappings summed over the files open or mapped now.
 * For a run's totals (udax run --stats). */
UDAX_API int udax_store_counters(struct udax_store *s, struct udax_file_stat *st);

/* Make the store's metadata durable (the file table, sizes, block maps:
 * a checkpoint, if anything changed since the last), as udax_fsync() does
 * for its file's, without writing back any file's mapped pages. Of a store
 * opened shared, the changes of every process are written. Read-only: 0. */
UDAX_API int udax_store_sync(struct udax_store *s);

/* Fill st with the persistent figures of the file or directory called
 * name, without opening it (for listings); st->type says which.
 * -ENOENT if there is none. */
UDAX_API int udax_stat(struct udax_store *s, const char *name, struct udax_stat *st);

/* Where the file's data and holes are, as lseek(2) says it: whence
 * SEEK_DATA gives the first offset >= off in a block that holds data (a
 * block the file has, written or only allocated), SEEK_HOLE the first
 * offset >= off in a hole (the end of the file counts as one). -ENXIO if
 * off is not before the end of the file, or (SEEK_DATA) no data follows
 * it; -EINVAL for another whence. For copying sparse files (udax get). */
UDAX_API int64_t udax_seek_data(struct udax_file *f, uint64_t off, int whence);

/* udax_mmap2() flag: like the kernel's MAP_SYNC, a write fault
 * that allocates a block returns only once the block map is durable, so
 * data stored through the mapping needs no udax_fsync() for its metadata. */
#define UDAX_MAP_SYNC 0x10000000

/* udax_mmap2() flag: serve this mapping with 4 KiB entries only
 * (like MADV_NOHUGEPAGE): no 2 MiB faults, extents or map-ahead; every
 * fault maps and dirties one page. */
#define UDAX_MAP_PTE 0x20000000

/* udax_mmap2() flag: like madvise(MADV_DONTFORK), a child of fork() does
 * not inherit this mapping: its addresses are free there. */
#define UDAX_MAP_DONTFORK 0x40000000

/* Map len bytes of the file from off (page aligned) with prot PROT_READ or
 * PROT_READ|PROT_WRITE, shared; flags: 0, or UDAX_MAP_SYNC, UDAX_MAP_PTE
 * and UDAX_MAP_DONTFORK or'ed. Faults are served by udax: where a 2 MiB-aligned
 * range of the file lies inside the mapping and inside EOF, with one 2 MiB
 * fault (a 2 MiB extent, allocated by a write into holes while the store
 * has room); else, and in UDAX_MAP_PTE mappings, 4 KiB at a time. A
 * sequential run of faults maps ahead, up to 64 MiB at once. len >= 2 MiB
 * gives a 2 MiB-aligned address. A child of fork() inherits the mapping if
 * its store was opened shared and flags has no UDAX_MAP_DONTFORK, MAP_SHARED:
 * parent and child see each other's writes (the child joins the store in
 * its fork handler, about 2 ms, and leaves it when it unmaps the last
 * mapping it inherited, or exits); otherwise the child's copy is
 * inaccessible (SIGSEGV) or, with UDAX_MAP_DONTFORK, absent. */
UDAX_API int udax_mmap2(struct udax_file *f, uint64_t off, size_t len, int prot, int flags,
			void **addr);

/* The call of version 0.1, kept: udax_mmap2() with the flags or'ed into
 * prot (udax_mmap(f, off, len, prot | flags, addr)). */
UDAX_API int udax_mmap(struct udax_file *f, uint64_t off, size_t len, int prot,
	      void **addr);

/* Unmap a whole mapping made by udax_mmap (addr and len as returned). In
 * a fork() child, unmapping the last mapping it inherited of a store takes
 * the child out of the store (a close of its own, which checkpoints; its
 * error is returned). */
UDAX_API int udax_munmap(void *addr, size_t len);

/* Write back the pages of [addr, addr+len) of a udax mapping. flags:
 * MS_SYNC or MS_ASYNC, optionally MS_INVALIDATE. */
UDAX_API int udax_msync(void *addr, size_t len, int flags);

/* The one-line reason of the last udax call of this thread, if it failed:
 * the argument and the rule it breaks, the state that refused it, the
 * resource that ran out; never "" after a failure. After a success: ""
 * (each call empties it), except udax_store_open() and udax_store_check(),
 * which leave a warning or what was repaired. The text stays valid until
 * the thread's next udax call. */
UDAX_API const char *udax_strerror_detail(void);

/* Bytes udax_escape() needs for len bytes of text (with the NUL). */
#define UDAX_ESCAPED_SIZE(len) (4 * (size_t)(len) + 1)

/* Write into buf (size bytes, at least UDAX_ESCAPED_SIZE(len)) the first
 * len bytes of text (fewer if a NUL comes first) as a terminal should show
 * them, as udax(1) shows names and udax_strerror_detail() quotes them:
 * printable ASCII and printable UTF-8 as they are; \n, \t, \r and a
 * backslash C style; every other byte (control bytes, DEL, invalid UTF-8,
 * C1 controls such as U+009B, bidirectional controls such as U+202E) as
 * \xHH. Return: the length of the text written (NUL-terminated), -EINVAL
 * for NULL, -ERANGE if size is too small (buf is then unchanged). */
UDAX_API ssize_t udax_escape(const char *text, size_t len, char *buf, size_t size);

/* The version of the library running ("MAJOR.MINOR.PATCH"), which may be
 * newer than the UDAX_VERSION compiled against. */
UDAX_API const char *udax_version(void);

#ifdef __cplusplus
}
#endif
#endif /* UDAX_H */
