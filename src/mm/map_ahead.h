/* SPDX-License-Identifier: MIT */
/*
 * map_ahead.h - how much a fault maps beyond its own 2 MiB: the kernel's
 * readahead idea applied to mapping.
 *
 * Each mapping follows a few streams of 2 MiB units. A fault at the unit a
 * stream expects next (right after what it last mapped) continues it: the
 * first such fault confirms the stream (still one unit), each later one
 * doubles its window, up to MAP_AHEAD_MAX_UNITS (a write window is
 * populated at once). Any other fault takes over the least recently
 * started stream with a window of one unit: sparse random access pays only
 * for the pages it touches, and random faults that continue a stream by
 * chance (1 in 8 over 32 units) map nothing ahead, which once dirtied and
 * wrote back whole windows for one small write (a database-like run).
 *
 * Locks: none. The state is a hint; two threads updating one stream at once
 * only make a window a little larger or smaller.
 *
 * Layer: mm. May call: nothing of udax.
 */
#ifndef UDAX_MAP_AHEAD_H
#define UDAX_MAP_AHEAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MAP_AHEAD_STREAMS 4
#define MAP_AHEAD_MAX_UNITS 32u		/* 64 MiB */

struct map_ahead {
	_Atomic uint64_t next[MAP_AHEAD_STREAMS];	/* unit each stream expects */
	_Atomic uint32_t units[MAP_AHEAD_STREAMS];	/* its current window */
	_Atomic uint32_t victim;			/* stream to take over next */
};

/* A window chosen for a fault: stream, and how many units to map from the
 * faulting one (>= 1). */
struct map_ahead_window {
	unsigned stream;
	uint32_t units;
	bool hit;	/* the fault continues the stream */
};

void map_ahead_init(struct map_ahead *ma);
struct map_ahead_window map_ahead_start(struct map_ahead *ma, uint64_t unit);
/* The fault mapped units [unit, unit + mapped): the stream now expects the
 * unit after them. */
void map_ahead_done(struct map_ahead *ma, struct map_ahead_window w, uint64_t unit,
		    uint32_t mapped);

#endif /* UDAX_MAP_AHEAD_H */
