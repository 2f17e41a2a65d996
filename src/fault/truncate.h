/* SPDX-License-Identifier: MIT */
/*
 * truncate.h - layer fault: shrinking, growing and punching an open file
 * (truncate.c). Arguments are checked by the caller (api).
 *
 * May call: base, index, store, mm; never delivery.
 */
#ifndef UDAX_FAULT_TRUNCATE_H
#define UDAX_FAULT_TRUNCATE_H

#include <stdint.h>

#include "mm/address_space.h"

/* Set the file size to size (within the file size limit); pages past it
 * are unmapped everywhere, then freed. Return: 0, or -errno (-ENOMEM: a
 * page could not be unmapped, out of VMAs; the size and every block are as
 * they were). */
int inode_truncate(struct inode *ino, uint64_t size);
/* Make [off, off + len) (off + len not wrapping) read as zeros, freeing
 * the whole pages inside it. Return: 0 or -errno (-ENOMEM as for
 * inode_truncate(): nothing changed). */
int inode_punch_hole(struct inode *ino, uint64_t off, uint64_t len);

#endif /* UDAX_FAULT_TRUNCATE_H */
