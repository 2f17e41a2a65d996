/* SPDX-License-Identifier: MIT */
/*
 * shim.h - layer preload (libudax-preload.so, `udax run`): what the files
 * of the preload shim share. The shim sits above api and uses only the
 * public calls of udax.h and libc.
 *
 * Objects: a shim_node is one udax file this process holds (open or
 * mapped), by its path in the store; a shim_ofd is one open file
 * description (the kernel's struct file: a udax handle, the access mode
 * and flags, the file offset; or, for a directory of the store, its path),
 * shared by the descriptors dup'ed from it. Every udax descriptor
 * is a real kernel descriptor (an O_PATH descriptor of /dev/null, so a
 * call the shim does not intercept fails with EBADF instead of acting on
 * something else) that the descriptor table maps to its shim_ofd.
 *
 * Locks (in this order): ofd.pos->lock (the offset, held across a read or
 * write like the kernel's f_pos_lock; process-shared), then one of
 * fd_lock (the descriptor table, rwlock), maps_lock (the mappings),
 * nodes_lock (the nodes, their names and refs), store_lock (the lazy store
 * open), cwd_lock (the working directory inside the store), dirs_lock (the
 * directory streams); none of these last is held with another. No shim lock is held while application memory is touched, except
 * the first, which no page fault takes.
 */
#ifndef UDAX_PRELOAD_SHIM_H
#define UDAX_PRELOAD_SHIM_H

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "udax.h"

/* Marks a function the shim interposes (exported from the library). */
#define SHIM_EXPORT __attribute__((visibility("default")))

/* The names, in the store's root, of files unlinked while held open:
 * the prefix, then the process's pid and a sequence number, as
 * ".udax-unlinked.PID.N" (shim_name_is_hidden()). */
#define SHIM_HIDDEN_PREFIX ".udax-unlinked."

/* Bytes of a path of the store, with its NUL. */
#define SHIM_PATH_SIZE (UDAX_PATH_MAX + 1)

struct shim_node {
	char name[SHIM_PATH_SIZE];	/* current path in the store */
	unsigned refs;			/* ofds and mappings holding it */
	bool unlinked;			/* unlinked while held: name is hidden */
	int lock_fd;			/* its lock proxy, to drop the process's
					   POSIX locks through; -1 until the
					   first (locks.c's proxy_lock) */
	struct shim_node *next;
};

/* A description's file offset and its lock (the kernel's f_pos_lock): a
 * slot of the table shared with fork children and exec'd programs
 * (offsets.c), or the ofd's own. */
struct shim_pos {
	pthread_mutex_t lock;		/* process-shared, robust */
	uint64_t value;
	_Atomic uint32_t refs;		/* a table slot's users (0: free) */
};

struct shim_ofd {
	struct udax_file *file;		/* NULL for a directory */
	char *dir;			/* a directory's path ("": the root) */
	struct shim_node *node;
	_Atomic int flags;		/* as F_GETFL returns them */
	_Atomic unsigned refs;		/* descriptors and calls in flight */
	_Atomic bool dirty;		/* written since its last fsync */
	struct shim_pos *pos;		/* a table slot, or &own_pos */
	struct shim_pos own_pos;
	int lock_fd;			/* its own description of the file's lock
					   proxy; -1 until its first lock
					   (locks.c's proxy_lock) */
	/* In a fork() child, for an ofd of the parent's: file is the
	 * parent's handle until the child's first use opens the file again
	 * (shim_ofd_get()); an offset of its own (no table slot) stays the
	 * child's copy, so reads, writes and lseek at it are refused
	 * (offset_private). */
	_Atomic bool inherited;
	bool offset_private;
	unsigned forks_seen;		/* fork_generation when last counted */
	_Atomic bool released;		/* its offset's count given back (exit) */
	uint64_t file_id;		/* udax_file_id(): a reopen by
					   name must find this file again */
};

/* The functions of the next object (libc) the shim calls instead of its
 * own: resolved once, before any udax call (shim_real()). */
struct shim_real {
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*close)(int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*preadv2)(int, const struct iovec *, int, off_t, int);
	ssize_t (*pwritev2)(int, const struct iovec *, int, off_t, int);
	off_t (*lseek)(int, off_t, int);
	int (*fstat)(int, struct stat *);
	int (*fstatat)(int, const char *, struct stat *, int);
	int (*statx)(int, const char *, int, unsigned, struct statx *);
	int (*faccessat)(int, const char *, int, int);
	int (*ftruncate)(int, off_t);
	int (*truncate)(const char *, off_t);
	int (*fsync)(int);
	int (*fdatasync)(int);
	int (*sync_file_range)(int, off_t, off_t, unsigned);
	int (*unlinkat)(int, const char *, int);
	int (*renameat2)(int, const char *, int, const char *, unsigned);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*flock)(int, int);
	int (*fallocate)(int, int, off_t, off_t);
	int (*posix_fallocate)(int, off_t, off_t);
	int (*posix_fadvise)(int, off_t, off_t, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*copy_file_range)(int, off_t *, int, off_t *, size_t, unsigned);
	ssize_t (*splice)(int, off_t *, int, off_t *, size_t, unsigned);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	int (*msync)(void *, size_t, int);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*madvise)(void *, size_t, int);
	int (*posix_madvise)(void *, size_t, int);
	int (*mprotect)(void *, size_t, int);
	FILE *(*fopen)(const char *, const char *);
	FILE *(*fdopen)(int, const char *);
	FILE *(*freopen)(const char *, const char *, FILE *);
	int (*mkdirat)(int, const char *, mode_t);
	DIR *(*opendir)(const char *);
	DIR *(*fdopendir)(int);
	struct dirent *(*readdir)(DIR *);
	struct dirent64 *(*readdir64)(DIR *);
	int (*closedir)(DIR *);
	void (*rewinddir)(DIR *);
	long (*telldir)(DIR *);
	void (*seekdir)(DIR *, long);
	int (*dirfd)(DIR *);
	int (*chdir)(const char *);
	int (*fchdir)(int);
	char *(*getcwd)(char *, size_t);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*unlink)(const char *);
	int (*fchmod)(int, mode_t);
	int (*fchown)(int, uid_t, gid_t);
	int (*fstatvfs)(int, struct statvfs *);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*shutdown)(int, int);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	size_t (*fwrite)(const void *, size_t, size_t, FILE *);
	size_t (*fread)(void *, size_t, size_t, FILE *);
	size_t (*fwrite_unlocked)(const void *, size_t, size_t, FILE *);
	size_t (*fread_unlocked)(void *, size_t, size_t, FILE *);
	void (*_exit)(int) __attribute__((noreturn));
};

/* One line on stderr (a newline added), written with the real write. */
void shim_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Return: the real functions, resolved on first use. */
const struct shim_real *shim_real(void);

/* Set errno from a negative errno. Return: -1 (for int and ssize_t). */
int shim_fail(int err);
/* Set errno from a negative errno. Return: MAP_FAILED. */
void *shim_fail_ptr(int err);

/* What a path names. */
enum shim_where {
	SHIM_HOST,	/* not under the root: the kernel's */
	SHIM_ENTRY,	/* root/a/b: an entry of the store (its path "a/b" in
			   the result), which may or may not exist */
	SHIM_ROOT,	/* the root itself, the store's root directory */
	SHIM_ENTRY_DIR,	/* root/a/b/ (a trailing '/' or "/."): as SHIM_ENTRY,
			   but only a directory answers to it */
};
/* Classify path relative to dirfd (AT_FDCWD: the working directory, the
 * store's if chdir went into it; or a descriptor, a store directory's
 * included). "." and ".." are resolved by name (the store has no links).
 * Return: enum shim_where, or -ENAMETOOLONG (a component longer than
 * UDAX_NAME_MAX, a path longer than UDAX_PATH_MAX); name
 * (SHIM_PATH_SIZE bytes) gets the entry's path in the store. */
int shim_path_where(int dirfd, const char *path, char *name);
/* The type (UDAX_TYPE_*) of the entry name of a SHIM_ENTRY or
 * SHIM_ENTRY_DIR path (where), UDAX_TYPE_DIR for SHIM_ROOT. Return: the
 * type, or -errno: -ENOENT/-ENOTDIR as the kernel's lookup says (a file
 * named with a trailing '/' is -ENOTDIR). */
int shim_entry_type(int where, const char *name);

/* The store, opened on first use (shared: other processes, a fork child
 * too, open it beside this one). Return: 0 (*s set), or -errno: a vfork
 * child gets -EBUSY; a store that cannot be opened gets its error, said
 * once on stderr per process. */
int shim_store(struct udax_store **s);

/* Have watch(fd, done) called before (done false) and after (true) a dup2
 * or dup3 involving a udax descriptor changes descriptor fd, 0, 1 or 2. */
void shim_fd_watch_std(void (*watch)(int fd, bool done));
/* Whether fd is one the library holds (its store, userfaultfd, memfd):
 * the program's close and dup2 never reach it. */
bool shim_fd_is_library(int fd);
/* Mark fd as the library's (held) or no longer. Return: fd. */
int shim_fd_mark_library(int fd, bool held);
/* Move fd up out of the program's way, to half the soft RLIMIT_NOFILE (at
 * most 1024) or above, where the library's own descriptors are (programs
 * dup2() onto small numbers); its marks follow it. It closes fd: not for a
 * descriptor whose close would drop locks. Return: the new number, or fd
 * if there is no room. */
int shim_fd_aside(int fd);
/* Mark a library descriptor as one a fork child keeps (a lock proxy: the
 * child shares its description, as it shares the udax descriptor's); the
 * others a child closes. Return: fd. */
int shim_fd_keep_in_child(int fd);
/* Whether name (of the store's root) is exactly a hidden name,
 * SHIM_HIDDEN_PREFIX "PID.N": other names that start alike are the
 * program's, listed and kept. */
bool shim_name_is_hidden(const char *name);
/* The first library descriptor >= from, or -1. */
int shim_fd_next_library(unsigned from);
/* The first udax descriptor >= from, or -1. */
int shim_fd_next_udax(int from);
/* The ofd behind fd, referenced (shim_ofd_put() it), or NULL if fd is not
 * the descriptor of a udax file (a store directory's gives NULL too).
 * Async-signal-safe when fd is not a udax descriptor. */
struct shim_ofd *shim_ofd_get(int fd);
/* The same for any udax descriptor, a directory's included. */
struct shim_ofd *shim_ofd_get_any(int fd);
/* Drop a reference; the last closes the udax handle. Return: 0, or the
 * error of that close. */
int shim_ofd_put(struct shim_ofd *ofd);
/* Whether fd is a udax descriptor (no reference taken). */
bool shim_fd_is_udax(int fd);
/* Point fd at ofd (taking a reference), dropping what fd named before.
 * Return: 0, or -EMFILE past the table's size. */
int shim_fd_install(int fd, struct shim_ofd *ofd);
/* Forget fd (its reference is dropped). Return: shim_ofd_put()'s. */
int shim_fd_forget(int fd);
/* Forget every udax descriptor in [first, last]. */
void shim_fd_forget_range(unsigned first, unsigned last);
/* Whether a call at ofd's file offset may go on: -EBADF (said once per
 * process) for a non-O_APPEND description a fork child inherited, whose
 * offset its parent does not see. Return: 0 or -EBADF. */
int shim_offset_check(struct shim_ofd *ofd);

/* fd's ofd in *ofd for a call that changes the file: -EBUSY in a fork
 * child, not_writable if fd is read-only. Return: 1 (fd is a host
 * descriptor), 0, or -errno (no reference kept). */
int shim_ofd_for_change(int fd, struct shim_ofd **ofd, int not_writable);
/* The file's udax_file_id() (0 if unknown). */
uint64_t shim_file_id(struct udax_file *file);
/* Make a new ofd for an open file (refs 1, node referenced by name).
 * Return: 0 or -errno. */
int shim_ofd_new(struct udax_file *file, const char *name, int flags, struct shim_ofd **out);
/* Reference the node of name, creating it. Return: the node or NULL. */
struct shim_node *shim_node_get(const char *name);
/* Drop a node reference; the last one of an unlinked node removes its
 * hidden file. */
void shim_node_put(struct shim_node *node);
/* unlink(2) on a store file: a file held by this process is renamed to a
 * hidden name and removed at its last close or unmap. Return: 0 or -errno. */
int shim_node_unlink(struct udax_store *s, const char *name);
/* Before exit or exec: the files this process unlinked while holding them
 * are unlinked in the library too (udax_unlink() of their hidden names),
 * which removes them once no process uses them (the hidden names of a
 * process killed first are removed by the next process's open of the
 * store). */
void shim_nodes_let_go(void);
/* rename(2) between store names; held nodes follow. Return: 0 or -errno. */
int shim_node_rename(struct udax_store *s, const char *from, const char *to);
/* The inode number the shim gives the store entry called name ("": the
 * root). */
uint64_t shim_ino(const char *name);
/* The device number of the store's files. */
uint64_t shim_dev(void);

/* Fill st for a file of size and blocks (4 KiB) called name. */
void shim_stat_fill(struct stat *st, const char *name, uint64_t size, uint64_t blocks);
/* Fill st for the store directory called path ("": the root). */
void shim_stat_dir(struct stat *st, const char *path);
/* Make a descriptor of the store directory path ("": the root), flags as
 * open's. Return: the descriptor, or -errno. */
int shim_dir_open(const char *path, int flags);
/* Copy the path of the store directory descriptor fd into path
 * (SHIM_PATH_SIZE bytes). Return: 0, or -ENOTDIR if fd is a descriptor of
 * a store file, -EBADF if it is none of the store's. */
int shim_dir_path(int fd, char *path);
/* The working directory inside the store (core.c), copied into path
 * (SHIM_PATH_SIZE bytes, "" for the root). Return: whether there is one
 * (chdir or fchdir went into the store). shim_cwd_set() makes it path,
 * or with NULL the kernel's again. */
bool shim_cwd_get(char *path);
void shim_cwd_set(const char *path);
/* Normalize the absolute path in (at most PATH_MAX bytes) into out: no
 * "//", "." or ".." components, no trailing '/' ("/" stays).
 * Return: 0, or -ENAMETOOLONG. */
int shim_path_normalize(const char *in, char *out);
/* The absolute path of the root ("/udax"). */
const char *shim_root(void);

/* open(2), openat(2): dirfd AT_FDCWD or a descriptor, mode with O_CREAT.
 * Return: the descriptor, or -1 with errno (the interposed calls'). */
int shim_open_any(int dirfd, const char *path, int flags, mode_t mode);
/* Every read (write): fd udax or not, pos < 0 for the file offset, the
 * preadv2 (pwritev2) flags. Return: bytes, or -1 with errno. */
ssize_t shim_read_any(int fd, const struct iovec *iov, int cnt, off_t pos, int rwf);
ssize_t shim_write_any(int fd, const struct iovec *iov, int cnt, off_t pos, int rwf);
/* lseek(2), close(2). Return: as those, -1 with errno. */
off_t shim_lseek_any(int fd, off_t off, int whence);
int shim_close_any(int fd);

/* read/write on a udax ofd (fd.c). pos < 0: the ofd's offset.
 * Return: bytes, or -errno. */
ssize_t shim_ofd_read(struct shim_ofd *ofd, const struct iovec *iov, int cnt, off_t pos);
ssize_t shim_ofd_write(struct shim_ofd *ofd, const struct iovec *iov, int cnt, off_t pos,
		       bool append);
/* The ofd's file size. Return: 0 or -errno. */
int shim_ofd_size(struct shim_ofd *ofd, uint64_t *size);

/* stdio.c: stdin, stdout and stderr become streams of the shim where
 * descriptor 0, 1 or 2 is a udax descriptor (at load, after exec; dup2
 * and dup3 keep them so). */
void shim_std_streams(void);

/* exec.c: envp with the udax descriptors that survive exec (no
 * FD_CLOEXEC) described for the new program's shim, or NULL if there are
 * none (or this is a vfork child): shim_exec_env_free() it if exec fails
 * (the offsets' table stays close-on-exec while no exec hands it over). */
char **shim_exec_env(char *const envp[]);
void shim_exec_env_free(char **env);

/* offsets.c: an ofd's offset. shim_pos_new: a free table slot (refs 1,
 * offset 0), or NULL (the ofd keeps its own: shim_pos_own() sets one up).
 * shim_pos_get/put count an ofd of a process more or less on a table slot
 * (nothing for an own one). shim_pos_lock/unlock: the offset's lock.
 * shim_pos_slot: a table slot's number, else -1; shim_pos_slot_at: the
 * slot of a number (NULL if none); shim_pos_table_fd: the table's memfd
 * (-1 if none), which exec hands over; shim_pos_table_take: map the
 * table handed over as fd (0 or -errno). shim_pos_fork: the fork phases
 * (as shim_core_fork). */
struct shim_pos *shim_pos_new(void);
void shim_pos_own(struct shim_pos *pos, uint64_t value);
bool shim_pos_shared(const struct shim_pos *pos);
void shim_pos_get(struct shim_pos *pos);
void shim_pos_put(struct shim_pos *pos);
void shim_pos_lock(struct shim_pos *pos);
void shim_pos_unlock(struct shim_pos *pos);
int shim_pos_slot(const struct shim_pos *pos);
struct shim_pos *shim_pos_slot_at(int slot);
int shim_pos_table_fd(void);
int shim_pos_table_take(int fd);
void shim_pos_fork(int phase);

/* locks.c: fcntl's POSIX and OFD record locks (cmd F_SETLK, F_SETLKW,
 * F_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK; base: the offset
 * fl->l_whence names) and flock(2) on ofd. Return: 0 or -errno. */
int shim_lock_fcntl(struct shim_ofd *ofd, int cmd, struct flock *fl, int64_t base);
int shim_lock_flock(struct shim_ofd *ofd, int op);
/* A descriptor of ofd's file was closed: the process's POSIX locks on the
 * file go. */
void shim_locks_fd_closed(const struct shim_ofd *ofd);
/* ofd's last descriptor is gone: its OFD and flock locks go (its proxy is
 * closed). */
void shim_locks_ofd_gone(struct shim_ofd *ofd);
/* Before fork: ofd's proxy description, opened if it has none (quietly:
 * without one it stays as it was), for the child to share. */
void shim_locks_before_fork(struct shim_ofd *ofd);
/* exec: shim_locks_handover() gives ofd's proxy and its node's (-1: none)
 * and keeps them open across exec; shim_locks_handover_undo() makes them
 * close-on-exec again (the exec failed); in the new program,
 * shim_locks_adopt() takes those handed over for its ofd. */
void shim_locks_handover(const struct shim_ofd *ofd, int *ofd_fd, int *node_fd);
void shim_locks_handover_undo(const struct shim_ofd *ofd);
void shim_locks_adopt(struct shim_ofd *ofd, int ofd_fd, int node_fd);

/* Whether [buf, buf+len) overlaps a udax mapping of the shim. */
bool shim_map_overlaps(const void *buf, size_t len);
/* Before exit or exec: sync every mapping and open file, report the
 * counters (UDAX_STATS), close the store if nothing is open (process.c). */
void shim_sync_all(void);
/* The store's counters in this process (udax_store_counters()).
 * Return: 0, -ENOENT when the store is not open, or its error. */
int shim_store_counters(struct udax_file_stat *c);
/* Whether this process has the store open (no lock: a hint for the calls
 * that look at a program's arguments only when udax is in use). */
bool shim_store_opened(void);
/* What core.c tells of the store (each may be NULL): opened (store_lock
 * held), closed (store_lock held), forked (in a fork child, once its copies
 * of the library's descriptors are closed). Registered at load. */
struct shim_store_watch {
	void (*opened)(void);
	void (*closed)(void);
	void (*forked)(void);
};
void shim_store_watch(const struct shim_store_watch *watch);
/* stats.c (udax run --stats, UDAX_STATS): shim_store_report() writes one
 * line of this process's counters since its last line (on stderr, for
 * UDAX_STATS empty or "-", or appended to the host file UDAX_STATS);
 * shim_stats_keep() keeps a copy of stderr (at the store's open, through
 * the watch, and after exec's handover, which may have made stderr a
 * store file). */
void shim_store_report(void);
void shim_stats_keep(void);
/* At _exit: write the store's metadata (udax_store_sync()) unless
 * store_lock is held (waits for no lock). */
void shim_store_exit_sync(void);
/* Close the store (it opens again on the next use). Return: 0, -EBUSY
 * (files open or mapped: the store stays open), or the close's error. */
int shim_store_close(void);

/* bounce.c: a vector for a system call on a host descriptor, its parts in
 * udax mappings replaced by parts of buf (udax[i]: the udax part iov[i]
 * stands for, or NULL). shim_bounce_plan() makes it from iov (cnt parts,
 * at most max bytes; read: the kernel writes the parts) and copies the
 * udax parts in for a write; Return: 0, or -errno (-EFAULT where the
 * kernel would refuse the udax parts) with nothing to free.
 * shim_bounce_scatter() copies the first got bytes' udax parts out after
 * a read; shim_bounce_free() frees it. */
struct shim_bounce {
	struct iovec *iov;
	char **udax;
	size_t cnt;
	char *buf;
};
/* Whether a part of iov (cnt parts, at most IOV_MAX) lies in a udax
 * mapping; false without reading iov when there is no udax mapping. */
bool shim_bounce_needed(const struct iovec *iov, size_t cnt);
int shim_bounce_plan(struct shim_bounce *b, const struct iovec *iov, size_t cnt, size_t max,
		     bool read);
void shim_bounce_scatter(struct shim_bounce *b, size_t got);
void shim_bounce_free(struct shim_bounce *b);
/* Whether every udax part of [p, p+len) can be read, or written (read:
 * a read from the kernel lands there), in whole. Return: 0 or -EFAULT. */
int shim_bounce_check(const void *p, size_t len, bool read);

/* A udax mapping of the shim (maps.c). */
struct shim_map {
	char *addr;
	size_t len;		/* whole pages */
	int prot;
	uint64_t off;		/* file offset of addr */
	uint64_t size_mapped;	/* the file's size when it was mapped: bytes
				   below it need no look-up (shim_map_room) */
	struct shim_node *node;
};
/* Whether the shim has a udax mapping (no lock). */
bool shim_map_any(void);
/* Record a mapping. Return: 0 or -ENOMEM. */
int shim_map_add(char *addr, size_t len, int prot, uint64_t off, uint64_t size,
		 struct shim_node *node);
/* The first piece of [p, p+len) (len > 0): the part inside one udax mapping,
 * *map then a copy of it; or the part before the next one, map->addr then
 * NULL. Return: the piece's length. */
size_t shim_map_piece(const char *p, size_t len, struct shim_map *map);
/* How much of [p, p+len) inside mapping map a program's access (write or
 * read) would find served: the bytes before the end of the file's last
 * page (past it a fault raises SIGBUS; a system call gets EFAULT). Bytes
 * below the size the file had when mapped are taken as there without
 * asking the store (a truncate since then is not seen: the copy then
 * raises SIGBUS, as a program's own access would).
 * Return: those bytes (0 if none), or -EFAULT for a write to a read-only
 * mapping. */
ssize_t shim_map_room(const struct shim_map *map, const char *p, size_t len, bool write);
/* Remove from the table the mappings inside [addr, addr+len), returned in
 * *gone (free() it; n of them, by address). Return: 0, -EOPNOTSUPP if a
 * mapping lies partly inside (nothing removed), -ENOMEM. */
int shim_map_take(char *addr, size_t len, struct shim_map **gone, size_t *n);
/* Return: 1 if [addr, addr+len) lies inside one mapping, 0 if outside all,
 * -EOPNOTSUPP if partly in one. */
int shim_map_within(const void *addr, size_t len);
/* msync(MS_SYNC) every writable mapping. */
void shim_map_sync_all(void);
/* At exit: give back this process's counts of its ofds' offsets (no lock:
 * _exit may run in a signal handler). */
void shim_ofd_release_all(void);
/* Call fn on every open ofd (under fd_lock, read). */
void shim_ofd_each(void (*fn)(struct shim_ofd *ofd));
/* Copy the node's current name into name (SHIM_PATH_SIZE bytes). */
/* The size of node's file, from the store. Return: 0 or -errno. */
int shim_node_size(struct shim_node *node, uint64_t *size);
void shim_node_name(struct shim_node *node, char *name);
/* The fork() handlers of core, the descriptor table and the mappings,
 * called by process.c's: phase 0 before fork, 1 in the parent after it, 2
 * in the child. */
void shim_core_fork(int phase);
void shim_fd_fork(int phase);
void shim_map_fork(int phase);
/* Whether the process is a vfork() child running in its parent's memory:
 * the descriptor calls then go straight to the kernel, changing nothing
 * of the shim's (the parent's) tables, exec neither syncs nor hands over,
 * and a udax path gets EBUSY (shim_store()). It asks the kernel for the
 * pid: not for every read and write (a vfork child does none on a udax
 * descriptor it could not open), only where the tables would change. */
bool shim_in_vfork_child(void);

/* The libc functions the library's objects call, redirected here by
 * objcopy (libc_redirect.syms) so that udax's own calls never enter the
 * shim's interposed functions. */
int shim_libc_open(const char *path, int flags, ...);
int shim_libc_close(int fd);
ssize_t shim_libc_read(int fd, void *buf, size_t len);
ssize_t shim_libc_write(int fd, const void *buf, size_t len);
ssize_t shim_libc_pread(int fd, void *buf, size_t len, off_t off);
ssize_t shim_libc_pwrite(int fd, const void *buf, size_t len, off_t off);
off_t shim_libc_lseek(int fd, off_t off, int whence);
int shim_libc_fstat(int fd, struct stat *st);
int shim_libc_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int shim_libc_fstatvfs(int fd, struct statvfs *st);
int shim_libc_ftruncate(int fd, off_t len);
int shim_libc_fsync(int fd);
int shim_libc_fdatasync(int fd);
int shim_libc_unlink(const char *path);
int shim_libc_fchmod(int fd, mode_t mode);
int shim_libc_fchown(int fd, uid_t uid, gid_t gid);
int shim_libc_posix_fallocate(int fd, off_t off, off_t len);
int shim_libc_dup2(int from, int to);
int shim_libc_fcntl(int fd, int cmd, ...);
int shim_libc_ioctl(int fd, unsigned long req, ...);
int shim_libc_flock(int fd, int op);
int shim_libc_fallocate(int fd, int mode, off_t off, off_t len);
void *shim_libc_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int shim_libc_munmap(void *addr, size_t len);
void *shim_libc_mremap(void *addr, size_t old_len, size_t new_len, int flags, ...);
int shim_libc_madvise(void *addr, size_t len, int advice);
int shim_libc_mprotect(void *addr, size_t len, int prot);
int shim_libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
void (*shim_libc_signal(int sig, void (*handler)(int)))(int);

#endif /* UDAX_PRELOAD_SHIM_H */
