/* SPDX-License-Identifier: MIT */
/*
 * writeback.h - layer fault: writing back a file's dirty pages and making
 * the store durable (writeback.c).
 *
 * May call: base, index, store, mm (write-protect), never delivery.
 */
#ifndef UDAX_FAULT_WRITEBACK_H
#define UDAX_FAULT_WRITEBACK_H

#include "mm/address_space.h"

/* Write back the file's DIRTY pages and make the store durable
 * (udax_fsync, udax_msync MS_SYNC). Return: 0 or -errno. */
int inode_fsync(struct inode *ino);
/* The same if the file has DIRTY pages or pwrite data written since the
 * last fsync began, else nothing (udax_close, udax_munmap).
 * Return: 0 or -errno. */
int inode_fsync_if_dirty(struct inode *ino);

#endif /* UDAX_FAULT_WRITEBACK_H */
