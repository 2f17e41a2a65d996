// SPDX-License-Identifier: MIT
/*
 * store_meta.c - where the metadata several processes share lives: the
 * layout of struct store_meta with its arrays (file table, bitmap of used
 * blocks, the two bitmaps of pending frees, free blocks per group), the
 * allocator's counters derived from the bitmap, a block given back to it,
 * and the pending frees
 * (store.h says how a checkpoint flips, releases or merges them back).
 *
 * Locks: none of its own; the callers hold store.lock or have the store to
 * themselves (load).
 *
 * Layer: store. May call: base.
 */
#include <stdbool.h>
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

void __store_block_release(struct store *s, uint64_t block)
{
	uint64_t b = block - s->data_start;

	s->used[b / 64] &= ~((uint64_t)1 << (b % 64));
	s->group_free[b / STORE_GROUP_BLOCKS]++;
	s->m->groups_empty += s->group_free[b / STORE_GROUP_BLOCKS] == STORE_GROUP_BLOCKS;
	s->m->blocks_free++;
}

void __store_pending_add(struct store *s, uint64_t block)
{
	struct store_meta *m = s->m;
	unsigned cur = m->pending_cur;
	uint64_t b = block - s->data_start;

	s->pending[cur][b / 64] |= (uint64_t)1 << (b % 64);
	if (!m->pending_count[cur]++) {
		m->pending_lo[cur] = m->pending_hi[cur] = b;
	} else if (b < m->pending_lo[cur]) {
		m->pending_lo[cur] = b;
	} else if (b > m->pending_hi[cur]) {
		m->pending_hi[cur] = b;
	}
}

/* Make the blocks freed before a committed checkpoint (pending[which])
 * allocatable again, giving their space back to the host one contiguous
 * run at a time. Context: store.lock held. */
void __store_pending_release(struct store *s, unsigned which)
{
	struct store_meta *m = s->m;
	uint64_t *bits = s->pending[which];
	uint64_t run_start = 0, run_len = 0;

	if (!m->pending_count[which])
		return;
	for (uint64_t w = m->pending_lo[which] / 64; w <= m->pending_hi[which] / 64; w++) {
		uint64_t word = bits[w];

		bits[w] = 0;
		for (; word; word &= word - 1) {
			uint64_t b = w * 64 + (uint64_t)__builtin_ctzll(word);

			if (run_len && b != run_start + run_len) {
				s->io->discard(s, store_block_offset(s->data_start + run_start),
					       run_len * STORE_BLOCK_SIZE);
				run_len = 0;
			}
			if (!run_len)
				run_start = b;
			run_len++;
			__store_block_release(s, s->data_start + b);
		}
	}
	if (run_len)
		s->io->discard(s, store_block_offset(s->data_start + run_start),
			       run_len * STORE_BLOCK_SIZE);
	m->pending_count[which] = 0;
}

/* Put the frees a failed checkpoint was to commit (pending[which]) back
 * with those of the next one. Context: store.lock held. */
void __store_pending_merge_back(struct store *s, unsigned which)
{
	struct store_meta *m = s->m;
	unsigned cur = m->pending_cur;

	if (which == cur || !m->pending_count[which])
		return;
	for (uint64_t w = m->pending_lo[which] / 64; w <= m->pending_hi[which] / 64; w++) {
		s->pending[cur][w] |= s->pending[which][w];
		s->pending[which][w] = 0;
	}
	if (!m->pending_count[cur] || m->pending_lo[which] < m->pending_lo[cur])
		m->pending_lo[cur] = m->pending_lo[which];
	if (!m->pending_count[cur] || m->pending_hi[which] > m->pending_hi[cur])
		m->pending_hi[cur] = m->pending_hi[which];
	m->pending_count[cur] += m->pending_count[which];
	m->pending_count[which] = 0;
}

void __store_pending_recount(struct store *s, unsigned which)
{
	struct store_meta *m = s->m;
	uint64_t count = 0, lo = 0, hi = 0;

	for (uint64_t w = 0; w < s->data_blocks / 64; w++) {
		uint64_t word = s->pending[which][w];

		if (!word)
			continue;
		if (!count)
			lo = w * 64 + (uint64_t)__builtin_ctzll(word);
		hi = w * 64 + 63 - (uint64_t)__builtin_clzll(word);
		count += (uint64_t)__builtin_popcountll(word);
	}
	m->pending_count[which] = count;
	m->pending_lo[which] = lo;
	m->pending_hi[which] = hi;
}
