// SPDX-License-Identifier: MIT
/*
 * store_meta.c - where the metadata several processes share lives: the
 * layout of struct store_meta with its arrays (file table, bitmap of used
 * blocks, the two bitmaps of pending frees, free blocks per group), the
 * allocator's counters derived from the bitmap, a block given back to it,
 * and the pending frees (store.h says how a checkpoint flips, releases or
 * merges them back).
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
		l->pending_sum[i] = at;
		at = align64(at + (data_blocks / 64 + 63) / 64 * sizeof(uint64_t));
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
	for (int i = 0; i < 2; i++) {
		s->pending[i] = (uint64_t *)(at + l.pending[i]);
		s->pending_sum[i] = (uint64_t *)(at + l.pending_sum[i]);
	}
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

static uint64_t bit(uint64_t i)
{
	return (uint64_t)1 << (i % 64);
}

void __store_pending_add(struct store *s, uint64_t block)
{
	unsigned cur = s->m->pending_cur;
	uint64_t b = block - s->data_start;

	s->pending_sum[cur][b / 64 / 64] |= bit(b / 64);
	death_order();	/* the summary covers every pending bit */
	s->pending[cur][b / 64] |= bit(b);
	s->m->pending_count[cur]++;
}

/* Call visit(s, which, w) for every word w of pending[which] the summary
 * says may hold a pending bit, in order; with clear, then clear the
 * summary's bits (visit emptied the words). */
static void pending_words(struct store *s, unsigned which, bool clear,
			  void (*visit)(struct store *s, unsigned which, uint64_t w, void *arg),
			  void *arg)
{
	uint64_t *sum = s->pending_sum[which];

	for (uint64_t i = 0; i < (s->data_blocks / 64 + 63) / 64; i++) {
		for (uint64_t word = sum[i]; word; word &= word - 1)
			visit(s, which, i * 64 + (uint64_t)__builtin_ctzll(word), arg);
		if (clear && sum[i]) {
			death_order();	/* the words first */
			sum[i] = 0;
		}
	}
}

/* A run of released blocks whose host space goes back in one call. */
struct release_run {
	uint64_t start, len;
};

static void release_run_end(struct store *s, struct release_run *run)
{
	if (run->len)
		s->io->discard(s, store_block_offset(s->data_start + run->start),
			       run->len * STORE_BLOCK_SIZE);
	run->len = 0;
}

static void release_word(struct store *s, unsigned which, uint64_t w, void *arg)
{
	struct release_run *run = arg;
	uint64_t word = s->pending[which][w];

	s->pending[which][w] = 0;
	for (; word; word &= word - 1) {
		uint64_t b = w * 64 + (uint64_t)__builtin_ctzll(word);

		if (run->len && b != run->start + run->len)
			release_run_end(s, run);
		if (!run->len)
			run->start = b;
		run->len++;
		__store_block_release(s, s->data_start + b);
	}
}

/* Make the blocks freed before a committed checkpoint (pending[which])
 * allocatable again, giving their space back to the host one contiguous
 * run at a time. Context: store.lock held. */
void __store_pending_release(struct store *s, unsigned which)
{
	struct release_run run = { 0, 0 };

	if (!s->m->pending_count[which])
		return;
	pending_words(s, which, true, release_word, &run);
	release_run_end(s, &run);
	s->m->pending_count[which] = 0;
}

static void merge_word(struct store *s, unsigned which, uint64_t w, void *arg)
{
	unsigned cur = s->m->pending_cur;

	(void)arg;
	if (!s->pending[which][w])
		return;
	s->pending_sum[cur][w / 64] |= bit(w);
	death_order();
	s->pending[cur][w] |= s->pending[which][w];
	s->pending[which][w] = 0;
}

/* Put the frees a failed checkpoint was to commit (pending[which]) back
 * with those of the next one. Context: store.lock held. */
void __store_pending_merge_back(struct store *s, unsigned which)
{
	struct store_meta *m = s->m;

	if (which == m->pending_cur || !m->pending_count[which])
		return;
	pending_words(s, which, true, merge_word, NULL);
	m->pending_count[m->pending_cur] += m->pending_count[which];
	m->pending_count[which] = 0;
}

static void count_word(struct store *s, unsigned which, uint64_t w, void *arg)
{
	*(uint64_t *)arg += (uint64_t)__builtin_popcountll(s->pending[which][w]);
}

void __store_pending_recount(struct store *s, unsigned which)
{
	uint64_t count = 0;

	pending_words(s, which, false, count_word, &count);
	s->m->pending_count[which] = count;
}
