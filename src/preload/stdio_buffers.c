// SPDX-License-Identifier: MIT
/*
 * stdio_buffers.c - layer preload: fwrite and fread (and their _unlocked
 * forms) with a buffer in a udax mapping. glibc moves large transfers
 * between the caller's buffer and the kernel with its internal read and
 * write, which the shim cannot interpose, and the kernel cannot fault a
 * udax page in for a syscall (EFAULT: fwrite of an unfaulted mapping to a
 * host stdout wrote nothing). So such a buffer goes through a buffer of
 * the shim, a chunk at a time, copied in user space; other buffers go
 * straight to glibc. A buffer the kernel would refuse (a read into a
 * read-only mapping, pages past the end of the file) gets EFAULT, nothing
 * moved. Streams on store files (stdio.c) need none of this
 * but take it alike. fputs and puts need none: their strlen() touches,
 * and so faults in, every page of the string before glibc writes it.
 *
 * May call: shim.h (the mappings), libc.
 * Locks: none of its own (the stream's is glibc's, taken per chunk).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "preload/shim.h"

/* glibc may define these as macros over its internals: here they name the
 * functions the shim exports. */
#undef fwrite_unlocked
#undef fread_unlocked

#define CHUNK ((size_t)1 << 20)

typedef size_t (*stdio_io)(void *, size_t, size_t, FILE *);

/* Move size * n bytes between ptr and stream f through a bounce buffer,
 * with io (a real fwrite or fread, called with size 1). Return: the whole
 * items moved, as fwrite and fread return them. */
static size_t bounced(void *ptr, size_t size, size_t n, FILE *f, stdio_io io, bool write)
{
	size_t total = size * n, done = 0;
	char *buf;

	if (shim_bounce_check(ptr, total, !write)) {	/* as the kernel would refuse */
		errno = EFAULT;
		return 0;
	}

	buf = malloc(total < CHUNK ? total : CHUNK);
	if (!buf) {
		errno = ENOMEM;
		return 0;
	}
	while (done < total) {
		size_t want = total - done < CHUNK ? total - done : CHUNK, got;

		if (write)
			memcpy(buf, (char *)ptr + done, want);
		got = io(buf, 1, want, f);
		if (!write)
			memcpy((char *)ptr + done, buf, got);
		done += got;
		if (got < want)
			break;
	}
	free(buf);
	return done / size;
}

/* Whether size * n bytes at ptr overlap a udax mapping (and the count
 * does not overflow). */
static bool in_maps(const void *ptr, size_t size, size_t n)
{
	return size && n && n <= SIZE_MAX / size && shim_map_overlaps(ptr, size * n);
}

SHIM_EXPORT size_t fwrite(const void *ptr, size_t size, size_t n, FILE *f)
{
	if (!in_maps(ptr, size, n))
		return shim_real()->fwrite(ptr, size, n, f);
	return bounced((void *)ptr, size, n, f, (stdio_io)shim_real()->fwrite, true);
}

SHIM_EXPORT size_t fwrite_unlocked(const void *ptr, size_t size, size_t n, FILE *f)
{
	if (!in_maps(ptr, size, n))
		return shim_real()->fwrite_unlocked(ptr, size, n, f);
	return bounced((void *)ptr, size, n, f, (stdio_io)shim_real()->fwrite_unlocked, true);
}

SHIM_EXPORT size_t fread(void *ptr, size_t size, size_t n, FILE *f)
{
	if (!in_maps(ptr, size, n))
		return shim_real()->fread(ptr, size, n, f);
	return bounced(ptr, size, n, f, shim_real()->fread, false);
}

SHIM_EXPORT size_t fread_unlocked(void *ptr, size_t size, size_t n, FILE *f)
{
	if (!in_maps(ptr, size, n))
		return shim_real()->fread_unlocked(ptr, size, n, f);
	return bounced(ptr, size, n, f, shim_real()->fread_unlocked, false);
}
