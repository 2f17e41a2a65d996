// SPDX-License-Identifier: MIT
/*
 * radix.c - 64-way radix tree of uint64_t values, and its node pool.
 *
 * Locks: pool_lock protects the pool's free list and chunk cursor. It is a
 * leaf lock, taken only by radix_preload_fill/drain and radix_release, which
 * callers run outside their own tree lock. Tree operations take no lock.
 * Nodes come from mmap'ed chunks, never malloc, because the fault path fills
 * preloads inside a signal handler that may have interrupted malloc.
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

static struct radix_node *pool_get_locked(void)
{
	struct radix_node *node = pool_free;

	if (node) {
		pool_free = node->parent;
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

int radix_preload_fill(struct radix_preload *pl, unsigned count)
{
	int ret = 0;

	if (count > RADIX_PRELOAD_MAX)
		count = RADIX_PRELOAD_MAX;
	if (pl->count < count && compat_inject(INJECT_NODE))
		return -ENOMEM;
	mutex_lock(&pool_lock);
	while (pl->count < count) {
		struct radix_node *node = pool_get_locked();

		if (!node) {
			ret = -ENOMEM;
			break;
		}
		pl->nodes[pl->count++] = node;
		atomic_fetch_add_explicit(&pool_in_use, 1, memory_order_relaxed);
	}
	mutex_unlock(&pool_lock);
	return ret;
}

static void pool_put_locked(struct radix_node *node)
{
	node->parent = pool_free;
	pool_free = node;
	atomic_fetch_sub_explicit(&pool_in_use, 1, memory_order_relaxed);
}

void radix_preload_drain(struct radix_preload *pl)
{
	if (!pl->count)
		return;
	mutex_lock(&pool_lock);
	while (pl->count)
		pool_put_locked(pl->nodes[--pl->count]);
	mutex_unlock(&pool_lock);
}

void radix_release(struct radix_freed *fr)
{
	if (!fr->list)
		return;
	mutex_lock(&pool_lock);
	while (fr->list) {
		struct radix_node *node = fr->list;

		fr->list = node->parent;
		pool_put_locked(node);
	}
	mutex_unlock(&pool_lock);
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

uint64_t *radix_lookup_slot(struct radix_tree *t, uint64_t index)
{
	struct radix_node *node = t->root;
	unsigned height = t->height;

	if (!node || height_for(index) > height)
		return NULL;
	while (height > 1) {
		node = node->child[slot_of(index, height)];
		if (!node)
			return NULL;
		height--;
	}
	return &node->value[slot_of(index, 1)];
}

unsigned radix_nodes_needed(const struct radix_tree *t, uint64_t index)
{
	unsigned need = height_for(index);
	const struct radix_node *node = t->root;
	unsigned height = t->height;

	if (!node)
		return need;
	/* New roots above the old one, then a whole path under the top slot
	 * of index, which is not slot 0 since index did not fit. */
	if (need > height)
		return (need - height) + (need - 1);
	while (height > 1) {
		node = node->child[slot_of(index, height)];
		if (!node)
			return height - 1;
		height--;
	}
	return 0;
}

static struct radix_node *preload_take(struct radix_preload *pl, unsigned height)
{
	struct radix_node *node = pl->nodes[--pl->count];

	memset(node, 0, sizeof(*node));
	node->height = (uint8_t)height;
	return node;
}

uint64_t *radix_insert_slot(struct radix_tree *t, uint64_t index,
			    struct radix_preload *pl)
{
	unsigned need = height_for(index);
	struct radix_node *node;
	unsigned height;

	if (pl->count < radix_nodes_needed(t, index))
		return NULL;
	if (!t->root) {
		t->root = preload_take(pl, need);
		t->height = need;
	}
	while (t->height < need) {
		struct radix_node *root = preload_take(pl, t->height + 1);

		root->child[0] = t->root;
		root->count = 1;
		for (int tag = 0; tag < RADIX_TAGS; tag++)
			if (t->root->tags[tag])
				root->tags[tag] = 1;
		t->root->parent = root;
		t->root->offset = 0;
		t->root = root;
		t->height++;
	}
	node = t->root;
	for (height = t->height; height > 1; height--) {
		unsigned off = slot_of(index, height);
		struct radix_node *child = node->child[off];

		if (!child) {
			child = preload_take(pl, height - 1);
			child->parent = node;
			child->offset = (uint16_t)off;
			node->child[off] = child;
			node->count++;
		}
		node = child;
	}
	return &node->value[slot_of(index, 1)];
}

void radix_slot_store(struct radix_tree *t, uint64_t index, uint64_t *slot,
		      uint64_t value)
{
	struct radix_node *leaf;

	(void)t;
	/* The slot is value[i] of a leaf; step back to the node to count it. */
	leaf = (struct radix_node *)((char *)(slot - slot_of(index, 1)) -
				     offsetof(struct radix_node, value));
	if (!*slot)
		leaf->count++;
	*slot = value;
}

/* The leaf holding index, or NULL. */
static struct radix_node *leaf_of(struct radix_tree *t, uint64_t index)
{
	uint64_t *slot = radix_lookup_slot(t, index);

	return slot ? (struct radix_node *)((char *)(slot - slot_of(index, 1)) -
					    offsetof(struct radix_node, value))
		    : NULL;
}

bool radix_tag_set(struct radix_tree *t, uint64_t index, enum radix_tag tag)
{
	struct radix_node *node = leaf_of(t, index);
	unsigned off = slot_of(index, 1);

	if (!node || !node->value[off] || (node->tags[tag] & ((uint64_t)1 << off)))
		return false;
	/* Mark the path up to the first node already marked. */
	for (; node; off = node->offset, node = node->parent) {
		bool had = node->tags[tag] != 0;

		node->tags[tag] |= (uint64_t)1 << off;
		if (had)
			break;
	}
	return true;
}

bool radix_tag_clear(struct radix_tree *t, uint64_t index, enum radix_tag tag)
{
	struct radix_node *node = leaf_of(t, index);
	unsigned off = slot_of(index, 1);

	if (!node || !(node->tags[tag] & ((uint64_t)1 << off)))
		return false;
	/* Unmark the path up while nodes are left with no mark. */
	for (; node; off = node->offset, node = node->parent) {
		node->tags[tag] &= ~((uint64_t)1 << off);
		if (node->tags[tag])
			break;
	}
	return true;
}

bool radix_tag_get(struct radix_tree *t, uint64_t index, enum radix_tag tag)
{
	struct radix_node *node = leaf_of(t, index);

	return node && (node->tags[tag] & ((uint64_t)1 << slot_of(index, 1)));
}

void radix_delete(struct radix_tree *t, uint64_t index, struct radix_freed *fr)
{
	uint64_t *slot = radix_lookup_slot(t, index);
	struct radix_node *node;

	if (!slot || !*slot)
		return;
	for (int tag = 0; tag < RADIX_TAGS; tag++)
		radix_tag_clear(t, index, (enum radix_tag)tag);
	*slot = 0;
	node = (struct radix_node *)((char *)(slot - slot_of(index, 1)) -
				     offsetof(struct radix_node, value));
	node->count--;
	while (node && node->count == 0) {
		struct radix_node *parent = node->parent;

		if (parent) {
			parent->child[node->offset] = NULL;
			parent->count--;
		} else {
			t->root = NULL;
			t->height = 0;
		}
		node->parent = fr->list;
		fr->list = node;
		node = parent;
	}
}

/* First non-zero value in node's subtree at index >= *index, only among
 * values tagged tag unless tag is RADIX_TAGS (any value). */
static uint64_t next_in(struct radix_node *node, uint64_t *index, unsigned tag)
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
			uint64_t value = next_in(node->child[off], &at, tag);

			if (value) {
				*index = at;
				return value;
			}
		}
	}
	return 0;
}

uint64_t radix_next(struct radix_tree *t, uint64_t *index)
{
	if (!t->root || height_for(*index) > t->height)
		return 0;
	return next_in(t->root, index, RADIX_TAGS);
}

uint64_t radix_next_tagged(struct radix_tree *t, uint64_t *index, enum radix_tag tag)
{
	if (!t->root || height_for(*index) > t->height)
		return 0;
	return next_in(t->root, index, (unsigned)tag);
}

static void destroy_node(struct radix_node *node, struct radix_freed *fr)
{
	if (node->height > 1)
		for (unsigned i = 0; i < RADIX_FANOUT; i++)
			if (node->child[i])
				destroy_node(node->child[i], fr);
	node->parent = fr->list;
	fr->list = node;
}

void radix_destroy(struct radix_tree *t)
{
	struct radix_freed fr = { NULL };

	if (t->root)
		destroy_node(t->root, &fr);
	t->root = NULL;
	t->height = 0;
	radix_release(&fr);
}
