// SPDX-License-Identifier: MIT
/*
 * radix.c - 64-way radix tree of uint64_t values, and the process's node
 * pool (radix_process_space).
 *
 * Locks: pool_lock protects the pool's free list and chunk cursor. It is a
 * leaf lock, taken only by the pool's take and give, which run outside the
 * tree owner's lock (radix_preload_fill/drain, radix_release), and by
 * radix_fork_prepare() across a fork. Tree
 * operations take no lock. Nodes come from mmap'ed chunks, never malloc,
 * because the fault path fills preloads inside a signal handler that may
 * have interrupted malloc. Nodes are reached from refs through their
 * space's base (radix_node_at()), so a tree reads the same wherever the
 * space is mapped.
 *
 * Layer: base. May call: lock.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "base/lock.h"
#include "base/radix.h"

#define POOL_CHUNK_BYTES (2u << 20)


static struct mutex pool_lock = MUTEX_INIT;
static struct radix_node *pool_free;	/* singly linked through ->parent */
static char *pool_chunk;		/* bump allocation in the newest chunk */
static size_t pool_chunk_left;
static _Atomic uint64_t pool_in_use;

void radix_fork_prepare(void)
{
	mutex_lock(&pool_lock);
}

void radix_fork_parent(void)
{
	mutex_unlock(&pool_lock);
}

void radix_fork_child(void)
{
	mutex_init(&pool_lock);
}

static struct radix_node *pool_get_locked(void)
{
	struct radix_node *node = pool_free;

	if (node) {
		pool_free = (struct radix_node *)node->parent;
		return node;
	}
	if (pool_chunk_left < sizeof(*node)) {
		void *chunk = mmap(NULL, POOL_CHUNK_BYTES, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (chunk == MAP_FAILED)
			return NULL;
		pool_chunk = chunk;
		pool_chunk_left = POOL_CHUNK_BYTES;
	}
	node = (struct radix_node *)pool_chunk;
	pool_chunk += sizeof(*node);
	pool_chunk_left -= sizeof(*node);
	return node;
}

static void pool_put_locked(struct radix_node *node)
{
	node->parent = (radix_ref)pool_free;
	pool_free = node;
}

static void pool_give(const struct radix_space *sp, unsigned n, const radix_ref *refs)
{
	(void)sp;
	mutex_lock(&pool_lock);
	for (unsigned i = 0; i < n; i++)
		pool_put_locked((struct radix_node *)refs[i]);
	mutex_unlock(&pool_lock);
	atomic_fetch_sub_explicit(&pool_in_use, n, memory_order_relaxed);
}

static int pool_take(const struct radix_space *sp, unsigned n, radix_ref *refs)
{
	unsigned got;

	(void)sp;
	mutex_lock(&pool_lock);
	for (got = 0; got < n; got++) {
		struct radix_node *node = pool_get_locked();

		if (!node)
			break;
		refs[got] = (radix_ref)node;
	}
	mutex_unlock(&pool_lock);
	atomic_fetch_add_explicit(&pool_in_use, got, memory_order_relaxed);
	if (got == n)
		return 0;
	pool_give(sp, got, refs);
	return -ENOMEM;
}

const struct radix_space radix_process_space = {
	.base = NULL,
	.take = pool_take,
	.give = pool_give,
};

int radix_preload_fill(const struct radix_space *sp, struct radix_preload *pl, unsigned count)
{
	int ret;

	if (count > RADIX_PRELOAD_MAX)
		count = RADIX_PRELOAD_MAX;
	if (pl->count >= count)
		return 0;
	if (compat_inject(INJECT_NODE))
		return -ENOMEM;
	ret = sp->take(sp, count - pl->count, pl->nodes + pl->count);
	if (ret == 0)
		pl->count = count;
	return ret;
}

void radix_preload_drain(const struct radix_space *sp, struct radix_preload *pl)
{
	if (!pl->count)
		return;
	sp->give(sp, pl->count, pl->nodes);
	pl->count = 0;
}

void radix_release(const struct radix_space *sp, struct radix_freed *fr)
{
	radix_ref batch[RADIX_PRELOAD_MAX];
	unsigned n = 0;

	while (fr->list) {
		batch[n++] = fr->list;
		fr->list = radix_node_at(sp, fr->list)->parent;
		if (n == RADIX_PRELOAD_MAX || !fr->list) {
			sp->give(sp, n, batch);
			n = 0;
		}
	}
}

uint64_t radix_nodes_in_use(void)
{
	return atomic_load_explicit(&pool_in_use, memory_order_relaxed);
}

static unsigned slot_of(uint64_t index, unsigned height)
{
	unsigned shift = (height - 1) * RADIX_SHIFT;

	return shift >= 64 ? 0 : (unsigned)(index >> shift) & (RADIX_FANOUT - 1);
}

/* Height a tree needs so that index fits. */
static unsigned height_for(uint64_t index)
{
	unsigned height = 1;

	while (height < RADIX_MAX_HEIGHT && (index >> (height * RADIX_SHIFT)))
		height++;
	return height;
}

uint64_t *radix_lookup_slot(const struct radix_space *sp, struct radix_tree *t, uint64_t index)
{
	radix_ref ref = t->root;
	unsigned height = t->height;
	struct radix_node *node;

	if (!ref || height_for(index) > height)
		return NULL;
	for (;;) {
		node = radix_node_at(sp, ref);
		if (height == 1)
			break;
		ref = node->child[slot_of(index, height)];
		if (!ref)
			return NULL;
		height--;
	}
	return &node->value[slot_of(index, 1)];
}

unsigned radix_nodes_needed(const struct radix_space *sp, const struct radix_tree *t,
			    uint64_t index)
{
	unsigned need = height_for(index);
	radix_ref ref = t->root;
	unsigned height = t->height;

	if (!ref)
		return need;
	/* New roots above the old one, then a whole path under the top slot
	 * of index, which is not slot 0 since index did not fit. */
	if (need > height)
		return (need - height) + (need - 1);
	while (height > 1) {
		ref = radix_node_at(sp, ref)->child[slot_of(index, height)];
		if (!ref)
			return height - 1;
		height--;
	}
	return 0;
}

static radix_ref preload_take(const struct radix_space *sp, struct radix_preload *pl,
			      unsigned height)
{
	radix_ref ref = pl->nodes[--pl->count];
	struct radix_node *node = radix_node_at(sp, ref);

	memset(node, 0, sizeof(*node));
	node->height = (uint8_t)height;
	return ref;
}

uint64_t *radix_insert_slot(const struct radix_space *sp, struct radix_tree *t, uint64_t index,
			    struct radix_preload *pl)
{
	unsigned need = height_for(index);
	unsigned height;
	radix_ref ref;

	if (pl->count < radix_nodes_needed(sp, t, index))
		return NULL;
	if (!t->root) {
		t->root = preload_take(sp, pl, need);
		t->height = need;
	}
	while (t->height < need) {
		radix_ref top = preload_take(sp, pl, t->height + 1);
		struct radix_node *root = radix_node_at(sp, top);
		struct radix_node *old = radix_node_at(sp, t->root);

		root->child[0] = t->root;
		root->count = 1;
		for (int tag = 0; tag < RADIX_TAGS; tag++)
			if (old->tags[tag])
				root->tags[tag] = 1;
		old->parent = top;
		old->offset = 0;
		death_order();
		t->root = top;
		death_order();
		t->height++;
	}
	ref = t->root;
	for (height = t->height; height > 1; height--) {
		struct radix_node *node = radix_node_at(sp, ref);
		unsigned off = slot_of(index, height);
		radix_ref child = node->child[off];

		if (!child) {
			struct radix_node *made;

			child = preload_take(sp, pl, height - 1);
			made = radix_node_at(sp, child);
			made->parent = ref;
			made->offset = (uint16_t)off;
			node->count++;
			death_order();
			node->child[off] = child;
		}
		ref = child;
	}
	return &radix_node_at(sp, ref)->value[slot_of(index, 1)];
}

void radix_slot_store(struct radix_tree *t, uint64_t index, uint64_t *slot,
		      uint64_t value)
{
	struct radix_node *leaf;

	(void)t;
	/* The slot is value[i] of a leaf; step back to the node to count it. */
	leaf = (struct radix_node *)((char *)(slot - slot_of(index, 1)) -
				     offsetof(struct radix_node, value));
	if (!*slot) {
		leaf->count++;
		death_order();
	}
	*slot = value;
}

/* The leaf holding index, or NULL. */
static struct radix_node *leaf_of(const struct radix_space *sp, struct radix_tree *t,
				  uint64_t index)
{
	uint64_t *slot = radix_lookup_slot(sp, t, index);

	return slot ? (struct radix_node *)((char *)(slot - slot_of(index, 1)) -
					    offsetof(struct radix_node, value))
		    : NULL;
}

static struct radix_node *parent_of(const struct radix_space *sp, const struct radix_node *node)
{
	return node->parent ? radix_node_at(sp, node->parent) : NULL;
}

bool radix_tag_set(const struct radix_space *sp, struct radix_tree *t, uint64_t index,
		   enum radix_tag tag)
{
	struct radix_node *node = leaf_of(sp, t, index);
	unsigned off = slot_of(index, 1);

	struct radix_node *path[RADIX_MAX_HEIGHT];
	unsigned offs[RADIX_MAX_HEIGHT], n = 0;

	if (!node || !node->value[off] || (node->tags[tag] & ((uint64_t)1 << off)))
		return false;
	/* The path up to the first node already marked... */
	for (; node && n < RADIX_MAX_HEIGHT; off = node->offset, node = parent_of(sp, node)) {
		path[n] = node;
		offs[n++] = off;
		if (node->tags[tag])
			break;
	}
	/* ...marked from the top down: a process killed half way leaves a
	 * marked subtree holding no marked value (a walk looks in vain),
	 * never a marked value a tagged walk cannot reach (a write lost). */
	while (n--) {
		path[n]->tags[tag] |= (uint64_t)1 << offs[n];
		death_order();
	}
	return true;
}

bool radix_tag_clear(const struct radix_space *sp, struct radix_tree *t, uint64_t index,
		     enum radix_tag tag)
{
	struct radix_node *node = leaf_of(sp, t, index);
	unsigned off = slot_of(index, 1);

	if (!node || !(node->tags[tag] & ((uint64_t)1 << off)))
		return false;
	/* Unmark the path up while nodes are left with no mark. */
	for (; node; off = node->offset, node = parent_of(sp, node)) {
		node->tags[tag] &= ~((uint64_t)1 << off);
		if (node->tags[tag])
			break;
	}
	return true;
}

bool radix_tag_get(const struct radix_space *sp, struct radix_tree *t, uint64_t index,
		   enum radix_tag tag)
{
	struct radix_node *node = leaf_of(sp, t, index);

	return node && (node->tags[tag] & ((uint64_t)1 << slot_of(index, 1)));
}

void radix_delete(const struct radix_space *sp, struct radix_tree *t, uint64_t index,
		  struct radix_freed *fr)
{
	uint64_t *slot = radix_lookup_slot(sp, t, index);
	struct radix_node *node;
	radix_ref ref;

	if (!slot || !*slot)
		return;
	for (int tag = 0; tag < RADIX_TAGS; tag++)
		radix_tag_clear(sp, t, index, (enum radix_tag)tag);
	*slot = 0;
	death_order();
	node = (struct radix_node *)((char *)(slot - slot_of(index, 1)) -
				     offsetof(struct radix_node, value));
	ref = radix_ref_of(sp, node);
	node->count--;
	while (ref && node->count == 0) {
		radix_ref parent = node->parent;

		if (parent) {
			struct radix_node *up = radix_node_at(sp, parent);

			up->child[node->offset] = 0;
			death_order();
			up->count--;
		} else {
			t->root = 0;
			death_order();
			t->height = 0;
		}
		node->parent = fr->list;
		fr->list = ref;
		ref = parent;
		node = parent ? radix_node_at(sp, parent) : NULL;
	}
}

/* First non-zero value in node's subtree at index >= *index, only among
 * values tagged tag unless tag is RADIX_TAGS (any value). */
static uint64_t next_in(const struct radix_space *sp, const struct radix_node *node,
			uint64_t *index, unsigned tag)
{
	unsigned shift = (node->height - 1) * RADIX_SHIFT;
	uint64_t span = shift >= 64 ? 0 : (uint64_t)1 << shift;	/* indexes per slot */
	unsigned off = slot_of(*index, node->height);

	for (; off < RADIX_FANOUT; off++) {
		if (tag < RADIX_TAGS && !(node->tags[tag] & ((uint64_t)1 << off)))
			continue;
		if (node->height == 1) {
			if (node->value[off]) {
				*index = (*index & ~(uint64_t)(RADIX_FANOUT - 1)) | off;
				return node->value[off];
			}
			continue;
		}
		if (node->child[off]) {
			uint64_t base = *index & ~(span * RADIX_FANOUT - 1);
			uint64_t start = base + off * span;
			uint64_t at = *index > start ? *index : start;
			uint64_t value = next_in(sp, radix_node_at(sp, node->child[off]), &at, tag);

			if (value) {
				*index = at;
				return value;
			}
		}
	}
	return 0;
}

uint64_t radix_next(const struct radix_space *sp, struct radix_tree *t, uint64_t *index)
{
	if (!t->root || height_for(*index) > t->height)
		return 0;
	return next_in(sp, radix_node_at(sp, t->root), index, RADIX_TAGS);
}

uint64_t radix_next_tagged(const struct radix_space *sp, struct radix_tree *t, uint64_t *index,
			   enum radix_tag tag)
{
	if (!t->root || height_for(*index) > t->height)
		return 0;
	return next_in(sp, radix_node_at(sp, t->root), index, (unsigned)tag);
}

static void destroy_node(const struct radix_space *sp, radix_ref ref, struct radix_freed *fr)
{
	struct radix_node *node = radix_node_at(sp, ref);

	if (node->height > 1)
		for (unsigned i = 0; i < RADIX_FANOUT; i++)
			if (node->child[i])
				destroy_node(sp, node->child[i], fr);
	node->parent = fr->list;
	fr->list = ref;
}

void radix_destroy(const struct radix_space *sp, struct radix_tree *t)
{
	struct radix_freed fr = { 0 };

	if (t->root)
		destroy_node(sp, t->root, &fr);
	t->root = 0;
	t->height = 0;
	radix_release(sp, &fr);
}

void radix_root_repair(const struct radix_space *sp, struct radix_tree *t)
{
	struct radix_node *root;

	if (!t->root) {
		t->height = 0;
		return;
	}
	root = radix_node_at(sp, t->root);
	root->parent = 0;
	t->height = root->height;
}
