// SPDX-License-Identifier: MIT
/*
 * bounce.c - layer preload: a vector of buffers for a system call on a
 * host descriptor, of which parts lie in udax mappings. The kernel cannot
 * fault a udax page in for a syscall (userfaultfd's SIGBUS mode serves
 * user accesses only: EFAULT), so each udax part is replaced by a part of
 * one buffer of the shim (page-aligned, so that an O_DIRECT descriptor
 * takes what it would take from the program's aligned pages), copied in
 * user space before a write and after a read; every other part goes to
 * the kernel as it is, so that the kernel refuses a bad pointer with
 * EFAULT as it would (a copy by the shim would crash on it). Each udax part
 * is checked first as the kernel would check it: a read into a read-only
 * mapping, or a vector whose first part lies past the end of its file,
 * is -EFAULT before anything is read; a vector that reaches the end of a
 * file ends there, where the kernel's copy would stop.
 *
 * May call: maps.c, libc.
 * Locks: none of its own (shim_map_piece takes maps_lock per piece).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "preload/shim.h"

#define BOUNCE_ALIGN 4096

bool shim_bounce_needed(const struct iovec *iov, size_t cnt)
{
	if (!shim_map_any())	/* never read the vector then: a bad one is the kernel's EFAULT */
		return false;
	for (size_t i = 0; i < cnt; i++)
		if (iov[i].iov_len && shim_map_overlaps(iov[i].iov_base, iov[i].iov_len))
			return true;
	return false;
}

void shim_bounce_free(struct shim_bounce *b)
{
	free(b->iov);
	free(b->udax);
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* Room for one more part. Return: 0 or -errno. */
static int bounce_grow(struct shim_bounce *b, size_t *cap)
{
	struct iovec *iov;
	char **udax;

	if (b->cnt < *cap)
		return 0;
	if (b->cnt == IOV_MAX)
		return -EMSGSIZE;
	*cap = *cap ? 2 * *cap : 16;
	iov = realloc(b->iov, *cap * sizeof(*iov));
	if (iov)
		b->iov = iov;
	udax = realloc(b->udax, *cap * sizeof(*udax));
	if (udax)
		b->udax = udax;
	return iov && udax ? 0 : -ENOMEM;
}

int shim_bounce_plan(struct shim_bounce *b, const struct iovec *iov, size_t cnt, size_t max,
		     bool read)
{
	size_t cap = 0, total = 0, udax_bytes = 0;
	bool stop = false;	/* a udax part reached the end of its file */
	int ret = 0;

	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < cnt && total < max && !stop && !ret; i++) {
		char *at = iov[i].iov_base;
		size_t left = iov[i].iov_len < max - total ? iov[i].iov_len : max - total;

		total += left;
		while (left && !ret) {
			struct shim_map map;
			size_t piece = shim_map_piece(at, left, &map);

			if (map.addr) {	/* as far as the kernel would get */
				ssize_t room = shim_map_room(&map, at, piece, read);

				if (room < 0 || (room == 0 && b->cnt == 0)) {
					ret = room < 0 ? (int)room : -EFAULT;
					break;
				}
				if ((size_t)room < piece) {
					piece = (size_t)room;
					stop = true;
				}
				udax_bytes += piece;
			}
			if (!piece || (ret = bounce_grow(b, &cap)))
				break;
			b->iov[b->cnt] = (struct iovec){ .iov_base = at, .iov_len = piece };
			b->udax[b->cnt++] = map.addr ? at : NULL;
			at += piece;
			left = stop ? 0 : left - piece;
		}
	}
	if (!ret && posix_memalign((void **)&b->buf, BOUNCE_ALIGN, udax_bytes ? udax_bytes : 1))
		ret = -ENOMEM;
	if (ret) {
		shim_bounce_free(b);
		return ret;
	}
	for (size_t i = 0, at = 0; i < b->cnt; i++) {	/* udax parts: slices of buf */
		if (!b->udax[i])
			continue;
		b->iov[i].iov_base = b->buf + at;
		if (!read)
			memcpy(b->buf + at, b->udax[i], b->iov[i].iov_len);
		at += b->iov[i].iov_len;
	}
	return 0;
}

void shim_bounce_scatter(struct shim_bounce *b, size_t got)
{
	for (size_t i = 0; i < b->cnt && got; i++) {
		size_t k = b->iov[i].iov_len < got ? b->iov[i].iov_len : got;

		if (b->udax[i])
			memcpy(b->udax[i], b->iov[i].iov_base, k);
		got -= k;
	}
}

int shim_bounce_check(const void *p, size_t len, bool read)
{
	const char *at = p;

	while (len) {
		struct shim_map map;
		size_t piece = shim_map_piece(at, len, &map);

		if (map.addr && shim_map_room(&map, at, piece, read) != (ssize_t)piece)
			return -EFAULT;
		at += piece;
		len -= piece;
	}
	return 0;
}
