/* SPDX-License-Identifier: MIT */
/*
 * xproc.h - the processes that share one store (issue 14, stage 1): a
 * shared region per store, a table of the processes in it with death
 * detection, and shootdowns (a request every named process carries out in
 * its own address space, by its agent thread, and acknowledges).
 *
 * The region is a tmpfs file (UDAX_REGION_DIR, default /dev/shm) named
 * after the store file's identity (device and inode), with the store
 * file's permission bits: whoever may open the store for writing may open
 * it, and two paths to one store meet in one region. Its bytes are
 * volatile: the first process to arrive (none other present) initializes
 * them, the last to leave removes the file.
 *
 * Process death is seen through open-file-description (OFD) locks on the
 * region file, which the kernel drops when the process dies: each member
 * holds a write lock on its slot's byte for as long as it is a member, so
 * "slot S is alive" is "someone else holds byte S" (F_OFD_GETLK), with no
 * pid, /proc or pidfd involved, and a recycled pid is never mistaken for
 * the dead process. A fork child inherits no region mapping (which would
 * hold the description, MADV_DONTFORK) and closes its copies of the region
 * descriptors (xproc_fork_child()): a child never keeps its dead parent
 * alive, and is no member until it joins itself.
 *
 * Stage 2's foundation: after its fixed part the region holds a user area
 * (the caller's fixed shared data) and a node arena (fixed-size nodes
 * taken and given back by any member, growing in chunks), both laid out
 * by the struct xproc_layout every member passes to xproc_join.
 *
 * Layer: xproc. May call: base.
 */
#ifndef UDAX_XPROC_H
#define UDAX_XPROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/radix.h"

#define XPROC_PEERS_MAX 64
/* A requester waiting for an acknowledgement checks the peer's life this
 * often: the bound on what a dead peer can delay anyone. */
#define XPROC_LIVENESS_MS 100

enum xproc_op {
	XPROC_ZAP = 1,		/* unmap the range (truncate, punch, unlink) */
	XPROC_WRPROTECT = 2,	/* write-protect the range (writeback) */
};

/* What a shootdown asks: an operation on pages [first, first + count) of
 * one file (the store's file number); for XPROC_WRPROTECT, block is the
 * store block of page first (the pages' blocks follow it), so that the
 * target can map them read-only rather than make them missing. Read from
 * shared memory: the agent's callback must treat every field as
 * untrusted. */
struct xproc_request {
	uint32_t op;
	uint32_t file;
	uint64_t first;
	uint64_t count;
	uint64_t block;
};

/* Carries out one request in this process's mappings; runs on the agent
 * thread, with every signal blocked, and must not wait for anything a
 * requester may hold (an entry lock): it takes only this process's own
 * leaf locks. Return: 0, or -EAGAIN if a page of the range may still be
 * mapped (zap) or writable (write-protect) here: out of VMAs. */
typedef int (*xproc_apply_fn)(void *ctx, const struct xproc_request *req);

struct xproc_region;

/* What the region holds beyond its fixed part; every member of a region
 * passes the same (the first one's is recorded in the region). */
struct xproc_layout {
	uint64_t user_bytes;	/* the user area: the caller's fixed shared data */
	uint32_t node_bytes;	/* size of one arena node (multiple of 8, >= 8) */
	uint64_t arena_max;	/* bytes the node arena may grow to */
};

/* Bounds of a layout: user_bytes and arena_max at most this each. */
#define XPROC_LAYOUT_BYTES_MAX (1ull << 40)
/* The arena grows by this many bytes at a time (less at arena_max). */
#define XPROC_ARENA_CHUNK (2ull << 20)

/*
 * xproc_join - become a member of the region of the store open on
 * store_fd (and found at store_path, opened again for a lock of the
 * member's own): open or create the region file, initialize it with
 * `layout` if no member is present (NULL: all zero, no user area and no
 * arena), map it, claim a free process slot, start the agent thread.
 * Context: no udax lock held; may sleep (waits for a joiner or leaver of
 * the same region to finish).
 * Return: 0 and *out, or, with the reason in why: -EACCES (the region file
 * was made by someone who may not write the store, is more open than the
 * store, or is no plain file), -EBUSY (XPROC_PEERS_MAX members already;
 * members of another region of this store: theirs was removed under
 * them; or a reader outside any region: xproc_store_reader_enter),
 * -EUCLEAN (members are present and the region is not a udax region of
 * this store, is truncated, or was made with another layout:
 * two udax versions disagree), -ENOSPC (no room for it in the region
 * directory), -ENOMEM (no address space for its reservation: RLIMIT_AS),
 * -ESTALE (store_path names another file now), -EINVAL (UDAX_REGION_DIR
 * is not absolute, or the layout is out of bounds), or another -errno.
 */
int xproc_join(int store_fd, const char *store_path, const struct xproc_layout *layout,
	       xproc_apply_fn apply, void *ctx, struct xproc_region **out, char *why,
	       size_t why_len);

/*
 * xproc_store_reader_enter - say that the store file open as store_fd is
 * read by this open file description outside any region (a private
 * read-only load, a check), unless members of a region of the store are
 * present: their metadata changes the reader would not see. Readers
 * exclude members both ways (xproc_join refuses while such a reader is
 * there); two that come at once may both be refused, never both let in.
 * The mark lasts until the description's last descriptor is closed. It
 * needs no write access to the store file.
 * Return: 0, or -EBUSY (members are present) or -errno of the lock, with
 * the reason in why.
 */
int xproc_store_reader_enter(int store_fd, char *why, size_t why_len);

/*
 * xproc_lock_proxy_open - a new open description (O_CLOEXEC; O_RDWR if
 * writable, else O_RDONLY) of the lock proxy of file slot `slot` of the
 * store open as store_fd: the empty file every process of the store locks
 * for that file (lock_proxy.c). A store opened for writing makes it when
 * missing. The descriptor is the lowest free number, as open()'s: moving
 * it (a dup and a close) would drop the process's POSIX locks on the
 * proxy, as any close does (the caller, who knows whether it holds any,
 * may move it).
 * Return: the descriptor, or -errno with the reason in why: -ENOLCK (the
 * store is open read-only and no proxy was made yet, or no directory
 * could be made), -EACCES (made by a stranger), another -errno.
 */
int xproc_lock_proxy_open(int store_fd, uint32_t slot, bool writable, char *why,
			  size_t why_len);
/* Remove the lock proxies of the store open as store_fd (its exclusive
 * opener closing; a region's last member does it for a shared store). */
void xproc_lock_proxies_remove(int store_fd);

/* fork() of a process that may be a member (the library's pthread_atfork
 * handlers call these): prepare takes the lock under which memberships'
 * descriptors are made and dropped, parent releases it, child closes its
 * copies of every membership's descriptors, marks the memberships forked
 * (xproc_leave only frees them there) and releases it. */
void xproc_fork_prepare(void);
void xproc_fork_parent(void);
void xproc_fork_child(void);

/* xproc_leave - stop the agent, give up the slot; the last member removes
 * the region file. Context: no shootdown of this process in progress.
 * In a fork child (of the member) it only frees the handle; every other
 * call there fails: -EBADF, no peers, nobody alive. */
void xproc_leave(struct xproc_region *r);

/* This process's slot number. */
unsigned xproc_self(const struct xproc_region *r);

/* xproc_peer_alive - whether slot holds a live member (this process's own
 * slot counts as alive). */
bool xproc_peer_alive(const struct xproc_region *r, unsigned slot);

/* The slots of every live member but this process. */
uint64_t xproc_peers(const struct xproc_region *r);

/*
 * xproc_shootdown - have every member in `peers` (a slot mask; this
 * process's own bit is ignored) carry out `req`, and wait until each has
 * acknowledged it or is dead (checked every XPROC_LIVENESS_MS): a dead
 * member's mappings died with it. This process's own mappings are the
 * caller's business, as before.
 * Context: may sleep; a thread of this process posts at a time (a local
 * lock); callable with entry locks held, since agents never take them.
 * Return: 0 (every peer applied it or is gone), -EAGAIN (a live peer's
 * callback said it could not: the range may still be mapped there), or
 * -EBADF in a fork child.
 */
int xproc_shootdown(struct xproc_region *r, uint64_t peers, const struct xproc_request *req);

/*
 * A lock in memory several members map, that knows its holder: the word
 * is 0 when free, else the holder's slot + 1 (bits 0-6), the low 24 bits
 * of the holder's incarnation of that slot (bits 7-30) and "someone waits"
 * (bit 31). A waiter sleeps XPROC_LIVENESS_MS at most at a time, then
 * checks the holder: if that member is dead (or its slot has a new
 * member), the waiter takes the lock over and is told so, to repair what
 * the lock protects before using it. Like a robust mutex, with the death
 * seen by the region's slot locks, so it needs no robust list and covers
 * a holder killed at any instant.
 */
struct xproc_lock {
	_Atomic uint32_t word;
};

#define XPROC_LOCK_INIT { 0 }

enum xproc_lock_taken {
	XPROC_LOCK_TAKEN = 0,		/* from a live holder, or free */
	XPROC_LOCK_RECOVERED = 1,	/* from a dead holder: repair first */
};

/* xproc_lock - take l as this member. Context: may sleep; not recursive.
 * Return: enum xproc_lock_taken, or -EBADF in a fork child. */
int xproc_lock(const struct xproc_region *r, struct xproc_lock *l);
/* xproc_unlock - release l, waking a waiter. Context: l held by this member. */
void xproc_unlock(const struct xproc_region *r, struct xproc_lock *l);

/*
 * A reader-writer lock in memory several members map (rwlock.c), that
 * survives any member's death: the kernel's i_rwsem and invalidate_lock
 * of a file that processes share. A reader counts itself in its own
 * slot's word, tagged with its slot's incarnation (readers of different
 * processes change different words, eight to a cache line); a writer holds
 * `writer` (an xproc_lock), waits for every slot's count to drain
 * (counting a dead member's readers, or an earlier incarnation's, as
 * gone), and marks itself inside. Writers are preferred: a reader that
 * finds a writer backs off and waits for it. A writer that dies inside
 * leaves the mark: the next writer is told XPROC_LOCK_RECOVERED, to
 * repair what the lock protects; readers are never told (a writer must
 * keep what it protects whole at every step, as truncate frees before it
 * sets a smaller size). Zeroed memory is an unlocked lock. Not recursive.
 */
struct xproc_rwlock {
	struct xproc_lock writer;
	_Atomic uint32_t writer_inside;	/* set by a writer past its drain */
	_Atomic uint32_t readers_waiting;	/* for a writer (too high after a death) */
	uint32_t pad;
	/* per slot: incarnation (bits 32-63) | readers (bits 0-31, the
	 * futex word a writer waits on: little-endian) */
	_Atomic uint64_t readers[XPROC_PEERS_MAX];
};

/* xproc_read_lock - take l shared. Context: may sleep.
 * Return: 0, -EUCLEAN (this member's count is damaged: the region was
 * written over), or -EBADF in a fork child. */
int xproc_read_lock(const struct xproc_region *r, struct xproc_rwlock *l);
/* xproc_write_lock - take l exclusive. Context: may sleep.
 * Return: enum xproc_lock_taken (RECOVERED: a writer died inside, repair
 * what l protects first), or -EBADF in a fork child. */
int xproc_write_lock(const struct xproc_region *r, struct xproc_rwlock *l);
void xproc_read_unlock(const struct xproc_region *r, struct xproc_rwlock *l);
void xproc_write_unlock(const struct xproc_region *r, struct xproc_rwlock *l);

/*
 * The user area and the node arena (arena.c). A node is named by its
 * offset, the same in every member: it is at xproc_arena_base() + offset
 * in each. Nodes are 8-byte aligned. take and give are async-signal-safe
 * (raw system calls and the arena's xproc_lock only), but not reentrant:
 * a handler must not take or give while it interrupts a take or give of
 * its own thread. A member that dies leaks the nodes it holds until the
 * region is made anew (every member gone).
 */

/* xproc_user_area - the user area, layout.user_bytes, zeroed when the
 * region was made; shared by every member (its own synchronization is the
 * caller's). Return: NULL if user_bytes is 0 or in a fork child. */
void *xproc_user_area(const struct xproc_region *r);

/* xproc_arena_base - where offset 0 would be: the node at offset o is at
 * base + o in every member (each maps the whole span at join; the arena
 * grows in the file only). A valid offset is never 0. Return: NULL in a fork
 * child. */
char *xproc_arena_base(const struct xproc_region *r);

/*
 * xproc_arena_take - take n nodes, all or none, into offsets[0..n): free
 * nodes given back first, then never used ones, growing the arena (the
 * region file) by chunks as needed. A node's bytes are what its last
 * holder left (zero if never used), but for the first 8 of a given back
 * one.
 * Context: may sleep (the arena lock); async-signal-safe; errno kept.
 * Return: 0, -ENOMEM (arena_max reached, or no arena in the layout),
 * -ENOSPC (the region directory is full), -EUCLEAN (the arena's shared
 * state is damaged), -EBADF (fork child), or another -errno of the
 * mapping; on error no node was taken.
 */
int xproc_arena_take(struct xproc_region *r, unsigned n, uint64_t *offsets);

/*
 * xproc_arena_give - give back n nodes this process holds (taken by it,
 * or handed over by another member that no longer touches them). Giving
 * a node twice breaks the arena; offsets no take handed out are ignored.
 * Context: may sleep (the arena lock); async-signal-safe; errno kept.
 * Nothing in a fork child.
 */
void xproc_arena_give(struct xproc_region *r, unsigned n, const uint64_t *offsets);

/* xproc_arena_space - the node space of radix trees members share (radix.h):
 * nodes taken from and given back to r's arena (node_bytes must be
 * sizeof(struct radix_node)); -ENOMEM from take whatever the arena's
 * error. Its base is NULL in a fork child. */
struct radix_space xproc_arena_space(struct xproc_region *r);

/* xproc_arena_nodes_in_use - nodes handed out and not given back, counting
 * those leaked by dead members (and up to n more for each member killed
 * inside a take or give of n). Return: 0 in a fork child. */
uint64_t xproc_arena_nodes_in_use(const struct xproc_region *r);

#endif
