// SPDX-License-Identifier: MIT
/*
 * mmap.c - layer preload: mappings of udax descriptors. mmap MAP_SHARED of
 * a udax file is udax_mmap2() (faults served by udax, zero-copy);
 * MAP_PRIVATE is emulated with a copy (anonymous memory filled from the
 * file: later changes of the file do not show). munmap of whole udax
 * mappings is udax_munmap(); msync is udax_msync(). mremap, mprotect and
 * the madvise calls that would change a udax mapping are refused
 * (EOPNOTSUPP); hints are accepted. MAP_FIXED is refused (EOPNOTSUPP):
 * udax chooses the address of its mappings.
 *
 * May call: the public API of udax.h, libc, core.c, fd.c, maps.c.
 * Locks: none of its own (maps.c's table).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "preload/shim.h"

#define PAGE 4096ull

static size_t page_round(size_t len)
{
	return (len + PAGE - 1) & ~(size_t)(PAGE - 1);
}

/* MAP_PRIVATE of a udax file: anonymous memory holding a copy of it.
 * Return: the address, or MAP_FAILED with errno. */
static void *map_private(struct shim_ofd *ofd, size_t len, int prot, int flags, off_t off)
{
	const struct shim_real *r = shim_real();
	uint64_t size;
	ssize_t n = 0;
	char *p;
	int ret = shim_ofd_size(ofd, &size);

	if (ret)
		return shim_fail_ptr(ret);
	p = r->mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | (flags & (MAP_NORESERVE | MAP_POPULATE)), -1, 0);
	if (p == MAP_FAILED)
		return p;
	if ((uint64_t)off < size)
		n = udax_pread(ofd->file, p, size - (uint64_t)off < len ? size - (uint64_t)off : len,
			       (uint64_t)off);
	if (n < 0 || (prot != (PROT_READ | PROT_WRITE) && r->mprotect(p, len, prot))) {
		ret = n < 0 ? (int)n : -errno;
		r->munmap(p, len);
		return shim_fail_ptr(ret);
	}
	return p;
}

/* mmap of a udax ofd. Return: the address, or MAP_FAILED with errno. */
static void *udax_map(struct shim_ofd *ofd, size_t len, int prot, int flags, off_t off)
{
	int type = flags & MAP_TYPE, acc = atomic_load(&ofd->flags) & O_ACCMODE, ret;
	char name[SHIM_PATH_SIZE];
	struct shim_node *node;
	void *addr;

	if (!len || off < 0 || (uint64_t)off % PAGE || (flags & MAP_HUGETLB) ||
	    (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE))
		return shim_fail_ptr(-EINVAL);
	if (acc == O_WRONLY)
		return shim_fail_ptr(-EACCES);
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))	/* udax chooses the address */
		return shim_fail_ptr(-EOPNOTSUPP);
	if (type == MAP_PRIVATE)
		return map_private(ofd, len, prot, flags, off);
	if (type == MAP_SHARED_VALIDATE &&
	    (flags & ~(MAP_TYPE | MAP_SYNC | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK)))
		return shim_fail_ptr(-EOPNOTSUPP);
	if ((prot & PROT_WRITE) && acc == O_RDONLY)
		return shim_fail_ptr(-EACCES);
	if (!(prot & (PROT_READ | PROT_WRITE)) || (prot & ~(PROT_READ | PROT_WRITE)))
		return shim_fail_ptr(-EOPNOTSUPP);	/* PROT_NONE, PROT_EXEC */
	shim_node_name(ofd->node, name);
	node = shim_node_get(name);
	if (!node)
		return shim_fail_ptr(-ENOMEM);
	ret = udax_mmap2(ofd->file, (uint64_t)off, len, PROT_READ | (prot & PROT_WRITE),
			 type == MAP_SHARED_VALIDATE && (flags & MAP_SYNC) ? UDAX_MAP_SYNC : 0,
			 &addr);
	if (!ret) {
		struct udax_file_stat st = { .size = 0 };	/* 0: always ask the store */

		(void)udax_fstat(ofd->file, &st);
		ret = shim_map_add(addr, page_round(len), prot, (uint64_t)off, st.size, node);
		if (ret)
			udax_munmap(addr, len);
	}
	if (ret) {
		shim_node_put(node);
		return shim_fail_ptr(ret);
	}
	return addr;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct shim_ofd *ofd;
	void *p;

	if ((flags & MAP_ANONYMOUS) || !shim_fd_is_udax(fd))
		return shim_real()->mmap(addr, len, prot, flags, fd, off);
	ofd = shim_ofd_get(fd);
	if (!ofd)
		return shim_real()->mmap(addr, len, prot, flags, fd, off);
	p = udax_map(ofd, len, prot, flags, off);
	shim_ofd_put(ofd);
	return p;
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

/* munmap of a range holding udax mappings: each must lie wholly inside
 * (a part of one cannot be unmapped: EOPNOTSUPP). They are unmapped
 * through udax, the rest of the range by the kernel. Return: 0 or -errno. */
static int unmap_udax(char *addr, size_t len)
{
	struct shim_map *gone;
	char *at = addr;
	int ret, err;
	size_t n;

	ret = shim_map_take(addr, len, &gone, &n);
	if (ret)
		return ret;
	if (!n)
		return shim_real()->munmap(addr, len) ? -errno : 0;
	for (size_t i = 0; i < n; i++) {
		if (gone[i].addr > at && shim_real()->munmap(at, (size_t)(gone[i].addr - at)))
			ret = ret ? ret : -errno;
		err = udax_munmap(gone[i].addr, gone[i].len);
		ret = ret ? ret : err;
		shim_node_put(gone[i].node);
		at = gone[i].addr + gone[i].len;
	}
	if (at < addr + len && shim_real()->munmap(at, (size_t)(addr + len - at)))
		ret = ret ? ret : -errno;
	free(gone);
	return ret;
}

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	int ret;

	if (!len || (uintptr_t)addr % PAGE || !shim_map_overlaps(addr, len))
		return shim_real()->munmap(addr, len);
	ret = unmap_udax(addr, page_round(len));
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT int msync(void *addr, size_t len, int flags)
{
	int ret = shim_map_any() ? shim_map_within(addr, len) : 0;

	if (ret <= 0)
		return ret ? shim_fail(ret) : shim_real()->msync(addr, len, flags);
	ret = udax_msync(addr, len, flags);
	return ret ? shim_fail(ret) : 0;
}

SHIM_EXPORT void *mremap(void *addr, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	va_list ap;

	va_start(ap, flags);
	if (flags & MREMAP_FIXED)
		new_addr = va_arg(ap, void *);
	va_end(ap);
	if (shim_map_overlaps(addr, old_len ? old_len : 1) ||
	    ((flags & MREMAP_FIXED) && shim_map_overlaps(new_addr, new_len)))
		return shim_fail_ptr(-EOPNOTSUPP);
	return shim_real()->mremap(addr, old_len, new_len, flags, new_addr);
}

SHIM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	if (shim_map_overlaps(addr, len))
		return shim_fail(-EOPNOTSUPP);	/* udax's write tracking relies on it */
	return shim_real()->mprotect(addr, len, prot);
}

/* Advice that changes no page of a udax mapping: accepted, not applied
 * (udax gives its mappings their own hints). */
static bool advice_is_hint(int advice)
{
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTFORK: case MADV_DOFORK: case MADV_DONTDUMP: case MADV_DODUMP:
	case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
		return true;
	default:
		return false;
	}
}

SHIM_EXPORT int madvise(void *addr, size_t len, int advice)
{
	if (!shim_map_overlaps(addr, len))
		return shim_real()->madvise(addr, len, advice);
	return advice_is_hint(advice) ? 0 : shim_fail(-EOPNOTSUPP);
}

/* posix_madvise returns the error number. */
SHIM_EXPORT int posix_madvise(void *addr, size_t len, int advice)
{
	if (!shim_map_overlaps(addr, len))
		return shim_real()->posix_madvise(addr, len, advice);
	return advice_is_hint(advice) || advice == POSIX_MADV_DONTNEED ? 0 : EOPNOTSUPP;
}
