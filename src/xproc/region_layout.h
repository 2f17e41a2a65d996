/* SPDX-License-Identifier: MIT */
/*
 * region_layout.h - the bytes of a shared region and the local handle on
 * it; private to src/xproc/.
 *
 * Layout (every member maps the whole region MAP_SHARED):
 *   header        magic, layout version, geometry, the store's identity;
 *   peers[64]     per process slot: doorbell (the agent's futex word),
 *                 incarnation (bumped by each process that claims the
 *                 slot), pid (0: never claimed or left; a hint
 *                 that spares xproc_peers the test of empty slots);
 *   cells[R][P]   requests from the member in slot R to the one in slot
 *                 P: written by R only (under R's post_lock), applied and
 *                 acknowledged by P's agent only.
 * A cell is a sequence lock in one direction: R writes the request fields,
 * then seq (release); P reads seq (acquire), the fields, then seq again
 * and applies the request only if seq did not move, then stores ack = seq
 * (release) and wakes R. A request is pending while seq != ack. R waits
 * for each of its requests, so a request still pending when R posts is a
 * dead predecessor's in R's slot, which nobody waits for: R overwrites it.
 * Only then can the fields change under a reader: the reread catches most
 * of it, and what it cannot (the new fields read under the old seq) gives
 * one extra zap or write-protect of some range before the new request is
 * applied, harmless: the fields are untrusted anyway.
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
 */
#ifndef UDAX_XPROC_REGION_LAYOUT_H
#define UDAX_XPROC_REGION_LAYOUT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/lock.h"
#include "xproc/xproc.h"

#define XPROC_MAGIC "UDAXXPR1"
#define XPROC_LAYOUT 1

#define XPROC_LOCK_SETUP 0
#define XPROC_LOCK_PRESENT 1
#define XPROC_LOCK_SLOT0 64
#define XPROC_STORE_MEMBER (1ll << 62)

struct xproc_header {
	char magic[8];
	uint32_t layout;
	uint32_t peers_max;
	uint64_t store_dev;
	uint64_t store_ino;
	uint64_t bytes;
	char pad[4096 - 40];
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
	uint32_t pad[8];
};

struct xproc_shared {
	struct xproc_header header;
	struct xproc_peer peer[XPROC_PEERS_MAX];
	struct xproc_cell cell[XPROC_PEERS_MAX][XPROC_PEERS_MAX];
};

/* One process's membership. Fields are set by xproc_join and read-only
 * after, but `stopping` (set by xproc_leave for the agent) and `forked`
 * (set in a fork child). post_lock serializes this process's shootdowns:
 * the cells of its slot have one writer. */
struct xproc_region {
	struct xproc_shared *shared;
	int fd;			/* the region file */
	int member_fd;		/* the store file, for XPROC_STORE_MEMBER */
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
 * xproc_files_close unmaps and closes both. */
int xproc_files_open(struct xproc_region *r, const char *store_path, const struct stat *store,
		     char *why, size_t why_len);
void xproc_files_close(struct xproc_region *r);
/* Whether r->fd is still the file at r->path. */
bool xproc_file_current(const struct xproc_region *r);
/* Context: SETUP and PRESENT write-locked (alone). */
int xproc_file_init(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
		    size_t why_len);
/* Map the region and check it is this store's (-EUCLEAN if not). */
int xproc_file_map(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
		   size_t why_len);

/* peers.c: lock, unlock or wait for (cmd F_OFD_SETLK(W)) one byte of the
 * region file; 0 or -errno. */
int xproc_byte_lock(int fd, int cmd, short type, off_t byte);
/* peers.c: whether the member that held `slot` as `incarnation` (the bits
 * in mask: a lock word keeps 24) is gone: the slot has a new member, or
 * nobody alive holds it. */
bool xproc_member_gone(const struct xproc_region *r, unsigned slot, uint32_t incarnation,
		       uint32_t mask);

/* shootdown.c: the agent thread of a member that just claimed its slot. */
int xproc_agent_start(struct xproc_region *r);
void xproc_agent_stop(struct xproc_region *r);

#endif
