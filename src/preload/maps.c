// SPDX-License-Identifier: MIT
/*
 * maps.c - layer preload: the table of the udax mappings the shim made
 * (mmap.c adds and takes them), which also tells the read/write path
 * which buffers the kernel cannot fault in (rw.c).
 *
 * May call: the public API of udax.h, libc, core.c.
 * Locks: maps_lock over the table; nothing is taken under it, and no udax
 * call is made while it is held. maps_count lets the calls of a process
 * without udax mappings pass without the lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "preload/shim.h"

static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_map *maps;
static size_t maps_used, maps_size;
static _Atomic size_t maps_count;	/* maps_used, read without the lock */

void shim_map_fork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&maps_lock);
	else if (phase == 1)
		pthread_mutex_unlock(&maps_lock);
	else
		pthread_mutex_init(&maps_lock, NULL);
}

bool shim_map_any(void)
{
	return atomic_load_explicit(&maps_count, memory_order_relaxed) != 0;
}

/* Whether m and [addr, addr+len) overlap. */
static bool map_overlaps(const struct shim_map *m, const char *addr, size_t len)
{
	return addr < m->addr + m->len && m->addr < addr + len;
}

bool shim_map_overlaps(const void *buf, size_t len)
{
	bool hit = false;

	if (!shim_map_any())
		return false;
	pthread_mutex_lock(&maps_lock);
	for (size_t i = 0; i < maps_used && !hit; i++)
		hit = map_overlaps(&maps[i], buf, len);
	pthread_mutex_unlock(&maps_lock);
	return hit;
}

size_t shim_map_piece(const char *p, size_t len, struct shim_map *map)
{
	size_t piece = len;

	map->addr = NULL;
	pthread_mutex_lock(&maps_lock);
	for (size_t i = 0; i < maps_used; i++) {
		const char *start = maps[i].addr, *end = start + maps[i].len;

		if (p >= start && p < end) {
			*map = maps[i];
			piece = (size_t)(end - p) < len ? (size_t)(end - p) : len;
			break;
		}
		if (start > p && (size_t)(start - p) < piece)
			piece = (size_t)(start - p);	/* the host part ends there */
	}
	pthread_mutex_unlock(&maps_lock);
	return piece;
}

ssize_t shim_map_room(const struct shim_map *map, const char *p, size_t len, bool write)
{
	uint64_t size, at = map->off + (uint64_t)(p - map->addr), end;

	if (write && !(map->prot & PROT_WRITE))
		return -EFAULT;
	if (at + len <= (map->size_mapped + 4095) / 4096 * 4096)
		return (ssize_t)len;	/* there when mapped (the common case) */
	if (shim_node_size(map->node, &size))
		return -EFAULT;
	end = (size + 4095) / 4096 * 4096;	/* the page holding EOF is readable */
	if (at >= end)
		return 0;
	return end - at < len ? (ssize_t)(end - at) : (ssize_t)len;
}

int shim_map_add(char *addr, size_t len, int prot, uint64_t off, uint64_t file_size,
		 struct shim_node *node)
{
	pthread_mutex_lock(&maps_lock);
	if (maps_used == maps_size) {
		size_t size = maps_size ? 2 * maps_size : 16;
		struct shim_map *bigger = realloc(maps, size * sizeof(*maps));

		if (!bigger) {
			pthread_mutex_unlock(&maps_lock);
			return -ENOMEM;
		}
		maps = bigger;
		maps_size = size;
	}
	maps[maps_used++] = (struct shim_map){ addr, len, prot, off, file_size, node };
	atomic_store(&maps_count, maps_used);
	pthread_mutex_unlock(&maps_lock);
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct shim_map *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int shim_map_take(char *addr, size_t len, struct shim_map **gone, size_t *n)
{
	size_t k = 0;

	*gone = NULL;
	*n = 0;
	pthread_mutex_lock(&maps_lock);
	for (size_t i = 0; i < maps_used; i++) {
		if (!map_overlaps(&maps[i], addr, len))
			continue;
		if (maps[i].addr < addr || maps[i].addr + maps[i].len > addr + len) {
			pthread_mutex_unlock(&maps_lock);
			return -EOPNOTSUPP;
		}
		k++;
	}
	if (k) {
		*gone = malloc(k * sizeof(**gone));
		if (!*gone) {
			pthread_mutex_unlock(&maps_lock);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < maps_used && k; ) {
		if (map_overlaps(&maps[i], addr, len)) {
			(*gone)[(*n)++] = maps[i];
			maps[i] = maps[--maps_used];
		} else {
			i++;
		}
	}
	atomic_store(&maps_count, maps_used);
	pthread_mutex_unlock(&maps_lock);
	if (*n)
		qsort(*gone, *n, sizeof(**gone), map_cmp);
	return 0;
}

int shim_map_within(const void *addr, size_t len)
{
	const char *p = addr;
	int ret = 0;

	pthread_mutex_lock(&maps_lock);
	for (size_t i = 0; i < maps_used; i++) {
		if (!map_overlaps(&maps[i], p, len ? len : 1))
			continue;
		ret = p >= maps[i].addr && p + len <= maps[i].addr + maps[i].len ? 1 : -EOPNOTSUPP;
		break;
	}
	pthread_mutex_unlock(&maps_lock);
	return ret;
}

void shim_map_sync_all(void)
{
	struct shim_map *copy;
	size_t n;

	pthread_mutex_lock(&maps_lock);
	n = maps_used;
	copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (copy)
		memcpy(copy, maps, n * sizeof(*copy));
	pthread_mutex_unlock(&maps_lock);
	for (size_t i = 0; copy && i < n; i++)
		if (copy[i].prot & PROT_WRITE)
			(void)udax_msync(copy[i].addr, copy[i].len, MS_SYNC);
	free(copy);
}
