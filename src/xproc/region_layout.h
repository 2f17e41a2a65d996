/* SPDX-License-Identifier: MIT */
/*
 * region_layout.h - the bytes of a shared region and the local handle on
 * it; private to src/xproc/.
 *
 * Layout of the region file (every member maps its prefix MAP_SHARED):
 *   header        magic, layout version, geometry, the store's identity,
 *                 the joiners' struct xproc_layout, the node arena's state;
 *   peers[64]     per process slot: doorbell (the agent's futex word),
 *                 incarnation (bumped by each process that claims the
 *                 slot), pid (0: never claimed or left; a hint
 *                 that spares xproc_peers the test of empty slots);
 *   cells[R][P]   requests from the member in slot R to the one in slot
 *                 P: written by R only (under R's post_lock), applied and
 *                 acknowledged by P's agent only.
 * A cell is a sequence lock in one direction: R writes the request fields,
 * then seq (release); P reads seq (acquire), the fields, then seq again
 * and applies the request only if seq did not move, then stores the
 * callback's result, then ack = seq (release), and wakes R, which reads
 * the result after it sees ack (acquire). A request is pending while seq != ack. R waits
 * for each of its requests, so a request still pending when R posts is a
 * dead predecessor's in R's slot, which nobody waits for: R overwrites it.
 * Only then can the fields change under a reader: the reread catches most
 * of it, and what it cannot (the new fields read under the old seq) gives
 * one extra zap or write-protect of some range before the new request is
 * applied, harmless: the fields are untrusted anyway.
 *
 * Then, page aligned (struct xproc_shared keeps its layout):
 *   user area     layout.user_bytes, zeroed when the region is made;
 *   node arena    grows by XPROC_ARENA_CHUNK up to layout.arena_max
 *                 (arena.c); arena.end is where the file's published
 *                 bytes end.
 * Each member maps the whole span (user_off + user area + arena_max) of
 * the file at join, past its end too (only bytes the file holds are ever
 * touched); a node's offset is its place in the file, so base + offset is
 * the same node in every member.
 *
 * Lock bytes of the region file (OFD locks, never data):
 *   XPROC_LOCK_SETUP    write-locked while a process joins or leaves;
 *   XPROC_LOCK_PRESENT  read-locked by every member, so whoever gets a
 *                       write lock on it under SETUP is alone;
 *   XPROC_LOCK_SLOT0+S  write-locked by slot S's member while it lives.
 * And one of the store file, far past its end (a description of its own,
 * member_fd):
 *   XPROC_STORE_MEMBER  read-locked by every member of any region of the
 *                       store: a joiner alone in its region that cannot
 *                       write-lock it meets members of another region
 *                       (theirs was removed under them: /dev/shm cleaned,
 *                       RemoveIPC) and refuses rather than split the store
 *                       in two.
 *   XPROC_STORE_READER  read-locked by every reader of the store outside
 *                       any region (xproc_store_reader_enter): a joiner
 *                       that finds it held refuses, as such a reader does
 *                       when it finds XPROC_STORE_MEMBER held.
 */
#ifndef UDAX_XPROC_REGION_LAYOUT_H
#define UDAX_XPROC_REGION_LAYOUT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/lock.h"
#include "xproc/xproc.h"

#define XPROC_MAGIC "UDAXXPR1"
#define XPROC_LAYOUT 3	/* 3: a cell carries the block and the result */

#define XPROC_LOCK_SETUP 0
#define XPROC_LOCK_PRESENT 1
#define XPROC_LOCK_SLOT0 64
#define XPROC_STORE_MEMBER (1ll << 62)
#define XPROC_STORE_READER (XPROC_STORE_MEMBER + 1)

/* The node arena's shared state (arena.c), under `lock`. Offsets are
 * places in the region file; 0 is none. Each field changes by one store
 * that leaves the arena consistent (arena.c says why that survives a
 * holder's death at any instant). */
struct xproc_arena {
	struct xproc_lock lock;
	uint32_t pad;
	_Atomic uint64_t end;		/* file bytes published: any member may map them */
	_Atomic uint64_t cursor;	/* the first node never handed out */
	_Atomic uint64_t free_head;	/* a free node's first 8 bytes: the next one */
	_Atomic uint64_t in_use;	/* handed out, not given back (or leaked) */
};

struct xproc_header {
	char magic[8];
	uint32_t layout;
	uint32_t peers_max;
	uint64_t store_dev;
	uint64_t store_ino;
	uint64_t bytes;
	uint64_t user_bytes;	/* struct xproc_layout of the member that made it */
	uint64_t arena_max;
	uint32_t node_bytes;
	uint32_t pad0;
	struct xproc_arena arena;
	char pad[4096 - 64 - sizeof(struct xproc_arena)];
};

struct xproc_peer {
	_Atomic uint32_t doorbell;
	_Atomic uint32_t incarnation;
	_Atomic int32_t pid;
	uint32_t pad[13];
};

struct xproc_cell {
	_Atomic uint32_t seq;
	_Atomic uint32_t ack;
	_Atomic uint32_t op;
	_Atomic uint32_t file;
	_Atomic uint64_t first;
	_Atomic uint64_t count;
	_Atomic uint64_t block;
	_Atomic int32_t result;		/* the callback's, for seq; before ack */
	uint32_t pad[5];
};

struct xproc_shared {
	struct xproc_header header;
	struct xproc_peer peer[XPROC_PEERS_MAX];
	struct xproc_cell cell[XPROC_PEERS_MAX][XPROC_PEERS_MAX];
};

_Static_assert(sizeof(struct xproc_header) == 4096, "the header is one page");
_Static_assert(offsetof(struct xproc_header, arena) == 64, "the arena on its own line");

/* One process's membership. Fields are set by xproc_join and read-only
 * after, but `stopping` (set by xproc_leave for the agent) and `forked`
 * (set in a fork child). post_lock
 * serializes this process's shootdowns: the cells of its slot have one
 * writer. */
struct xproc_region {
	struct xproc_shared *shared;	/* the mapping of the whole span */
	int fd;			/* the region file: its OFD locks */
	int member_fd;		/* the store file, for XPROC_STORE_MEMBER */
	struct xproc_layout layout;
	uint64_t user_off;	/* the user area's place in the file */
	uint64_t arena_off;	/* the arena's (the first node's) */
	uint64_t span;		/* bytes mapped: arena_off + arena_max, page rounded */
	unsigned self;
	char path[PATH_MAX];
	xproc_apply_fn apply;
	void *ctx;
	pthread_t agent;
	_Atomic bool stopping;
	bool forked;
	struct mutex post_lock;
	struct xproc_region *next_forkable;	/* the fork handler's list */
};

/* region_file.c (fork-safe: see there). xproc_files_open opens the store
 * again by store_path (checked against `store`) and the region file at
 * r->path (-EAGAIN: it came or went meanwhile, open again);
 * xproc_files_close unmaps and closes them. */
int xproc_files_open(struct xproc_region *r, const char *store_path, const struct stat *store,
		     char *why, size_t why_len);
void xproc_files_close(struct xproc_region *r);
/* Whether the file st was made by someone who may write the store: its
 * owner, this user, root, or, for a group-writable store, a member of its
 * group (the file has the store's group). */
bool xproc_owner_may_write(const struct stat *st, const struct stat *store);
/* region_file.c: the store's identity: a block device by its device
 * number (two nodes of one device meet), a file by device and inode (two
 * paths meet). */
void xproc_store_identity(const struct stat *st, uint64_t *dev, uint64_t *ino);
/* region_file.c: the path, in the region directory (UDAX_REGION_DIR or
 * /dev/shm), of the store's file with suffix ("region", "locks").
 * Return: 0, -EINVAL (UDAX_REGION_DIR not absolute), -ENAMETOOLONG; the
 * reason in why. */
int xproc_store_file_path(const struct stat *store, const char *suffix, char *path,
			  size_t len, char *why, size_t why_len);
/* lock_proxy.c: remove the store's lock proxies. Context: the last member
 * leaving, under SETUP (or the exclusive opener closing). */
void xproc_lock_proxies_remove_path(const char *dir);
/* Whether r->fd is still the file at r->path. */
bool xproc_file_current(const struct xproc_region *r);
/* Context: SETUP and PRESENT write-locked (alone). */
int xproc_file_init(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
		    size_t why_len);
/* Map the whole span (past the file's end too: only bytes the file holds
 * are touched), check it is this store's and of r->layout (-EUCLEAN if
 * not; -ENOMEM: no address space for it). */
int xproc_file_map(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
		   size_t why_len);
/* peers.c: lock, unlock or wait for (cmd F_OFD_SETLK(W)) one byte of the
 * region file; 0 or -errno. */
int xproc_byte_lock(int fd, int cmd, short type, off_t byte);
/* peers.c: whether another open file description holds a lock on byte of
 * fd's file (an error counts as held). */
bool xproc_byte_held(int fd, off_t byte);
/* lock.c: whether the holder a taken xproc_lock's word names is gone. */
bool xproc_lock_word_dead(const struct xproc_region *r, uint32_t word);
/* peers.c: whether the member that held `slot` as `incarnation` (the bits
 * in mask: a lock word keeps 24) is gone: the slot has a new member, or
 * nobody alive holds it. */
bool xproc_member_gone(const struct xproc_region *r, unsigned slot, uint32_t incarnation,
		       uint32_t mask);

/* shootdown.c: the agent thread of a member that just claimed its slot. */
int xproc_agent_start(struct xproc_region *r);
void xproc_agent_stop(struct xproc_region *r);

#endif
