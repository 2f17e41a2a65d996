/* SPDX-License-Identifier: MIT */
/*
 * radix.h - a 64-way radix tree of uint64_t values keyed by uint64_t index,
 * the structure behind each file's page index (entry.h values) and each
 * file's block map (store block numbers).
 *
 * Locking: none inside. The owner serializes every call with its own lock
 * (see the owner's file). Nodes come from the tree's space (struct
 * radix_space: the process's pool, or memory shared by processes), safe to
 * use from the fault signal handler; a space is never touched while the
 * owner's lock is held: callers preload nodes before taking it and give
 * freed nodes back after releasing it.
 *
 * Death: in memory processes share, a process may be killed (SIGKILL) at
 * any instant inside a change of a tree. The changes are ordered so that
 * what it leaves is a tree every lookup reads right, whose only damage is
 * (a) a node counted as holding one more slot than it does (it is never
 * freed: leaked with the nodes the dead process held), and (b) after a new
 * root, the tree's height or the old root's parent stale, which
 * radix_root_repair() fixes; until then nothing may use the tree. A tag
 * is set from the top of its path down and cleared from the leaf up, so a
 * death leaves at most a marked subtree with no marked value under it (a
 * tagged walk looks there in vain), never a marked value a walk misses.
 *
 * Layer: base. May call: lock.h.
 */
#ifndef UDAX_RADIX_H
#define UDAX_RADIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RADIX_SHIFT 6
#define RADIX_FANOUT (1u << RADIX_SHIFT)
#define RADIX_MAX_HEIGHT 11	/* 11 * 6 >= 64 bits of index */
/* Worst insert: grow the root to full height, then a whole new path. */
#define RADIX_PRELOAD_MAX (2 * RADIX_MAX_HEIGHT)

/* Tags mark values (like the kernel's XArray marks). In a leaf, bit i of
 * tags[tag] marks value[i]; in an inner node it says that child[i]'s
 * subtree holds a marked value, so a tagged walk skips untagged subtrees:
 * its cost follows the marked values, not the index range. */
enum radix_tag { RADIX_TAG_DIRTY, RADIX_TAG_TOWRITE, RADIX_TAGS };

/* A node: its byte offset from its space's base, 0 for none. In the
 * process's own pool the base is NULL and a ref is the node's address;
 * in memory several processes map at different addresses (src/xproc's
 * arena) it is an offset, so a tree reads the same in every process. */
typedef uint64_t radix_ref;

struct radix_node {
	radix_ref parent;
	uint16_t offset;	/* slot of this node in its parent */
	uint16_t count;		/* non-empty slots */
	uint8_t height;		/* 1 for a leaf: slots hold values */
	uint64_t tags[RADIX_TAGS];
	union {
		radix_ref child[RADIX_FANOUT];
		uint64_t value[RADIX_FANOUT];
	};
};

/* A tree holds no address: it may live in shared memory. */
struct radix_tree {
	radix_ref root;
	unsigned height;	/* 0: empty tree */
};

/*
 * Where the nodes of a tree live and come from. Every tree call takes
 * the space of the tree's nodes. take() gets n nodes or none (0 or
 * -ENOMEM), give() returns nodes; both are safe in a signal handler and
 * run outside the tree owner's lock.
 */
struct radix_space {
	char *base;
	int (*take)(const struct radix_space *sp, unsigned n, radix_ref *refs);
	void (*give)(const struct radix_space *sp, unsigned n, const radix_ref *refs);
	void *ctx;		/* the space's own */
};

/* The process's pool: mmap'ed chunks, never malloc, because the fault path
 * fills preloads inside a signal handler that may have interrupted malloc. */
extern const struct radix_space radix_process_space;

static inline struct radix_node *radix_node_at(const struct radix_space *sp, radix_ref ref)
{
	/* integer arithmetic: the process pool's base is NULL */
	return (struct radix_node *)((uintptr_t)sp->base + ref);
}

static inline radix_ref radix_ref_of(const struct radix_space *sp, const struct radix_node *node)
{
	return (uintptr_t)node - (uintptr_t)sp->base;
}

/* Nodes obtained outside the owner's lock, consumed by radix_insert_slot(). */
struct radix_preload {
	unsigned count;
	radix_ref nodes[RADIX_PRELOAD_MAX];
};

/* Nodes unlinked under the owner's lock, returned by radix_release():
 * a list through their parent refs. */
struct radix_freed {
	radix_ref list;
};

/* Take nodes until pl holds count. Return 0 or -ENOMEM. Safe in a signal
 * handler. */
int radix_preload_fill(const struct radix_space *sp, struct radix_preload *pl, unsigned count);
void radix_preload_drain(const struct radix_space *sp, struct radix_preload *pl);
void radix_release(const struct radix_space *sp, struct radix_freed *fr);
/* Nodes of the process's pool in use (memory accounting). */
uint64_t radix_nodes_in_use(void);
/* fork(): prepare takes the pool's lock (no fork mid-take), parent
 * releases it, child makes it anew (api/fork.c). */
void radix_fork_prepare(void);
void radix_fork_parent(void);
void radix_fork_child(void);

/* Return: the value slot of index if its leaf exists (the value may be 0),
 * NULL if a node would have to be allocated to hold it. A leaf holds the
 * RADIX_FANOUT aligned indices around index in consecutive slots: the slots
 * of index + 1 .. up to the end of its leaf follow this one in memory. */
uint64_t *radix_lookup_slot(const struct radix_space *sp, struct radix_tree *t, uint64_t index);

/* How many slots, from index's, its leaf holds (see radix_lookup_slot). */
static inline unsigned radix_leaf_left(uint64_t index)
{
	return RADIX_FANOUT - (unsigned)(index % RADIX_FANOUT);
}

static inline uint64_t radix_lookup(const struct radix_space *sp, struct radix_tree *t, uint64_t index)
{
	uint64_t *slot = radix_lookup_slot(sp, t, index);

	return slot ? *slot : 0;
}

/* Nodes radix_insert_slot() needs for index, given the tree as it is now. */
unsigned radix_nodes_needed(const struct radix_space *sp, const struct radix_tree *t, uint64_t index);

/* Make the slot of index exist, taking nodes from pl. Return the slot, or
 * NULL if pl had fewer nodes than radix_nodes_needed(). A value stored in
 * the slot must be accounted with radix_slot_filled(). */
uint64_t *radix_insert_slot(const struct radix_space *sp, struct radix_tree *t, uint64_t index,
			    struct radix_preload *pl);

/* Store value (non-zero) at an existing slot found by lookup or insert. */
void radix_slot_store(struct radix_tree *t, uint64_t index, uint64_t *slot,
		      uint64_t value);

/* Tag the value at index (it must be present). Return: whether the tag
 * was newly set. */
bool radix_tag_set(const struct radix_space *sp, struct radix_tree *t, uint64_t index, enum radix_tag tag);

/* Untag the value at index. Return: whether it was tagged. */
bool radix_tag_clear(const struct radix_space *sp, struct radix_tree *t, uint64_t index, enum radix_tag tag);

bool radix_tag_get(const struct radix_space *sp, struct radix_tree *t, uint64_t index, enum radix_tag tag);

/* Return the first value tagged tag at an index >= *index, with *index
 * set to it; 0 if none. Visits only subtrees holding the tag. */
uint64_t radix_next_tagged(const struct radix_space *sp, struct radix_tree *t, uint64_t *index, enum radix_tag tag);

/* Empty the slot of index (and clear its tags); nodes left empty go to fr. */
void radix_delete(const struct radix_space *sp, struct radix_tree *t, uint64_t index, struct radix_freed *fr);

/* Return the first non-zero value at an index >= *index, with *index set to
 * it; 0 if none. */
uint64_t radix_next(const struct radix_space *sp, struct radix_tree *t, uint64_t *index);

/* After a process died changing t (see Death above): make its height its
 * root's and its root parentless. */
void radix_root_repair(const struct radix_space *sp, struct radix_tree *t);

/* Free every node (the tree must no longer be reachable). */
void radix_destroy(const struct radix_space *sp, struct radix_tree *t);

#endif /* UDAX_RADIX_H */
