// SPDX-License-Identifier: MIT
/*
 * file_seek.c - layer api: udax_seek_data(), where a file's data and holes
 * are, as lseek(2)'s SEEK_DATA and SEEK_HOLE say it: a block the store's
 * block map names is data (a zeroed block too, as an unwritten extent is
 * for most kernel file systems' SEEK_DATA once written), anything else is
 * a hole, and the end of the file is a hole.
 *
 * May call: base, store.
 * Locks: store.lock, taken per run of the walk (store_map_run()); the
 * handle keeps the file's slot. The size is read once: a concurrent write
 * or truncate moves the answer as it would for lseek(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include "api/handles.h"

int64_t file_seek_data(struct udax_file *f, uint64_t off, int whence)
{
	struct inode *ino;
	uint64_t size, fblock, end_block, run;

	if (!f)
		return detail_set(-EINVAL, "the file handle is NULL");
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return detail_set(-EINVAL, "whence %d is neither SEEK_DATA nor SEEK_HOLE", whence);
	ino = f->inode;
	size = atomic_load_explicit(&ino->state->size, memory_order_acquire);
	if (off >= size)
		return detail_set(-ENXIO, "offset %" PRIu64 " is not before the end of the file "
				  "(%" PRIu64 " bytes)", off, size);
	end_block = (size + STORE_BLOCK_SIZE - 1) / STORE_BLOCK_SIZE;
	for (fblock = off / STORE_BLOCK_SIZE; fblock < end_block; fblock += run) {
		bool data = store_map_run(ino->st, ino->slot, fblock, end_block - fblock, &run) > 0;

		if (data == (whence == SEEK_DATA)) {
			uint64_t at = fblock * STORE_BLOCK_SIZE;

			return (int64_t)(at > off ? at : off);
		}
	}
	if (whence == SEEK_HOLE)
		return (int64_t)size;
	return detail_set(-ENXIO, "no data at or after offset %" PRIu64, off);
}
