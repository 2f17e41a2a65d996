// SPDX-License-Identifier: MIT
/*
 * map_ahead.c - the map-ahead window of a fault (see map_ahead.h).
 *
 * Layer: mm. May call: nothing of udax.
 */
#include "mm/map_ahead.h"

#define RELAXED memory_order_relaxed

void map_ahead_init(struct map_ahead *ma)
{
	for (unsigned i = 0; i < MAP_AHEAD_STREAMS; i++) {
		atomic_init(&ma->next[i], UINT64_MAX);
		atomic_init(&ma->units[i], 0);
	}
	atomic_init(&ma->victim, 0);
}

struct map_ahead_window map_ahead_start(struct map_ahead *ma, uint64_t unit)
{
	struct map_ahead_window w;

	for (unsigned i = 0; i < MAP_AHEAD_STREAMS; i++) {
		if (atomic_load_explicit(&ma->next[i], RELAXED) != unit)
			continue;
		w.stream = i;
		w.hit = true;
		/* 0: the stream began with a lone fault; this first hit only
		 * confirms it. Random faults hit a stream by chance (1 in 8
		 * over 32 units and 4 streams), twice in a row rarely. */
		w.units = atomic_load_explicit(&ma->units[i], RELAXED) * 2;
		if (w.units == 0)
			w.units = 1;
		if (w.units > MAP_AHEAD_MAX_UNITS)
			w.units = MAP_AHEAD_MAX_UNITS;
		return w;
	}
	w.stream = atomic_fetch_add_explicit(&ma->victim, 1, RELAXED) % MAP_AHEAD_STREAMS;
	w.hit = false;
	w.units = 1;
	return w;
}

void map_ahead_done(struct map_ahead *ma, struct map_ahead_window w, uint64_t unit,
		    uint32_t mapped)
{
	atomic_store_explicit(&ma->units[w.stream], w.hit ? mapped : 0, RELAXED);
	atomic_store_explicit(&ma->next[w.stream], unit + mapped, RELAXED);
}
