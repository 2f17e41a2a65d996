/* SPDX-License-Identifier: MIT */
/*
 * read_write.h - layer fault: reading, writing and preallocating an open
 * file (read_write.c). Arguments are checked by the caller (api).
 *
 * May call: base, index, store, mm, fault.h.
 */
#ifndef UDAX_FAULT_READ_WRITE_H
#define UDAX_FAULT_READ_WRITE_H

#include <stdint.h>
#include <sys/types.h>

#include "mm/address_space.h"

/* Each takes io_lock shared; for a store opened shared that fails only on
 * a damaged region: -EUCLEAN, nothing done. */

/* Read up to len bytes at off (holes read as zeros, nothing past EOF).
 * Return: bytes read, or -errno if none. */
ssize_t inode_read(struct inode *ino, void *buf, size_t len, uint64_t off);
/* Write len bytes at off (off + len within the file size limit),
 * allocating hole pages, extending the file. Return: bytes written, or
 * -errno if none. */
ssize_t inode_write(struct inode *ino, const void *buf, size_t len, uint64_t off);
/* inode_append - write at the file's end, *off set to where: one append at
 * a time per file, across processes (io_lock exclusive). Return: bytes,
 * or -errno (-EFBIG past the largest file size). */
ssize_t inode_append(struct inode *ino, const void *buf, size_t len, uint64_t *off);
/* Give [off, off + len) blocks (extents where whole aligned 2 MiB allow)
 * and extend the file to off + len. Return: 0 or -errno. */
int inode_fallocate(struct inode *ino, uint64_t off, uint64_t len);

#endif /* UDAX_FAULT_READ_WRITE_H */
