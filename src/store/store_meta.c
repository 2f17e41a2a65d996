// SPDX-License-Identifier: MIT
/*
 * store_meta.c - where the metadata several processes share lives: the
 * layout of struct store_meta with its arrays (file table, bitmap of used
 * blocks, the two bitmaps of pending frees, free blocks per group), and the
 * allocator's counters derived from the bitmap.
 *
 * Locks: none of its own; the callers hold store.lock or have the store to
 * themselves (load).
 *
 * Layer: store. May call: base.
 */
#include <string.h>

#include "store/store.h"

static uint64_t align64(uint64_t bytes)
{
	return (bytes + 63) & ~(uint64_t)63;
}

void store_meta_layout(uint32_t files_max, uint64_t data_blocks, struct store_meta_layout *l)
{
	uint64_t bitmap = data_blocks / 64 * sizeof(uint64_t);
	uint64_t at = align64(sizeof(struct store_meta));

	l->file = at;
	at = align64(at + (uint64_t)files_max * sizeof(struct store_file));
	l->used = at;
	at = align64(at + bitmap);
	for (int i = 0; i < 2; i++) {
		l->pending[i] = at;
		at = align64(at + bitmap);
	}
	l->group_free = at;
	at = align64(at + data_blocks / STORE_GROUP_BLOCKS * sizeof(uint16_t));
	l->bytes = at;
}

void store_meta_place(struct store *s, void *meta)
{
	struct store_meta_layout l;
	char *at = meta;

	store_meta_layout(s->files_max, s->data_blocks, &l);
	s->m = meta;
	s->meta_bytes = l.bytes;
	s->file = (struct store_file *)(at + l.file);
	s->used = (uint64_t *)(at + l.used);
	s->pending[0] = (uint64_t *)(at + l.pending[0]);
	s->pending[1] = (uint64_t *)(at + l.pending[1]);
	s->group_free = (uint16_t *)(at + l.group_free);
}

void __store_count_free(struct store *s)
{
	struct store_meta *m = s->m;

	m->blocks_free = 0;
	m->groups_empty = 0;
	for (uint64_t g = 0; g < s->groups; g++) {
		unsigned used = 0;

		for (unsigned w = 0; w < STORE_GROUP_BLOCKS / 64; w++)
			used += (unsigned)__builtin_popcountll(
				s->used[g * (STORE_GROUP_BLOCKS / 64) + w]);
		s->group_free[g] = (uint16_t)(STORE_GROUP_BLOCKS - used);
		m->blocks_free += STORE_GROUP_BLOCKS - used;
		m->groups_empty += used == 0;
	}
}
