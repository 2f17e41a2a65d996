// SPDX-License-Identifier: MIT
/*
 * store_check.c - layer store: udax_store_check()'s check and repair of a
 * store file, on top of the validation of store_disk.c and the loading and
 * checkpoints of store_format.c.
 *
 * May call: base, store_disk.c, store_format.c, store_alloc.c.
 * Locks: none of the store's. The check opens the file as a reader outside
 * any region, the repair as a writer alone (store_open_file()), so that no
 * opener changes it meanwhile; a repair then loads the store and writes
 * checkpoints (store_format.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_disk.h"

/* Check the store in fd. Return: as store_check_path(); *usable says
 * whether it can be loaded (from either slot, once extended); what a
 * repair would do goes to *repair. Frees ds->area. */
static int check_fd(int fd, struct disk_store *ds, bool *usable, struct store_error *why,
		    struct store_error *repair)
{
	uint64_t store_bytes;
	char names[256];
	int ret = disk_read_store(fd, ds, why);

	*usable = ret == 0;
	if (ret)
		return ret;
	store_bytes = store_block_offset(ds->sb.store_blocks);
	ret = disk_store_truncated(ds, why);
	if (ret) {
		unsigned files;
		uint64_t lost = disk_truncation_lost(ds, names, sizeof(names), &files);

		store_error_set(repair, "extended the store file from %llu to %llu bytes (%llu "
				"blocks of file data lost%s%s) and rewrote both superblock slots",
				(unsigned long long)ds->file_bytes, (unsigned long long)store_bytes,
				(unsigned long long)lost, lost ? ": " : "", names);
	} else if (ds->tree_broken) {
		store_error_set(why, "directory structure is damaged: %u entr%s cut off from the "
				"root (%s)", ds->tree_broken, ds->tree_broken > 1 ? "ies" : "y",
				ds->tree_why.text);
		store_error_set(repair, "reattached %u entr%s cut off from the root under "
				STORE_LOST_FOUND " (named #record) and rewrote both superblock "
				"slots", ds->tree_broken, ds->tree_broken > 1 ? "ies" : "y");
		ret = -EUCLEAN;
	} else {
		*why = ds->note;
		ret = ds->fell_back ? -EUCLEAN : 0;
		store_error_set(repair, "rewrote both superblock slots and metadata areas from "
				"slot %u (generation %llu)%s%s", ds->slot,
				(unsigned long long)ds->sb.generation,
				why->text[0] ? "; was: " : "", why->text);
	}
	free(ds->area);
	ds->area = NULL;
	return ret;
}

/* Repair the usable store opened (its file locked exclusively; closed
 * here): extend a truncated file, then load the store and write two
 * checkpoints, rewriting both superblock slots and areas. what says what
 * it does. Return: as store_check_path(). */
static int store_repair(const char *path, struct store *opened, const struct disk_store *ds,
			const struct store_error *what, struct store_error *why)
{
	uint64_t store_bytes = store_block_offset(ds->sb.store_blocks);
	uint64_t given;
	struct store *s;
	int ret = 0;

	if (ds->file_bytes < store_bytes &&
	    (ftruncate(opened->fd, (off_t)store_bytes) != 0 || fsync(opened->fd) != 0)) {
		ret = -errno;
		store_error_set(why, "cannot extend the store file: %s", strerror(errno));
	}
	/* Unlocked until store_load() locks it again: an opener that gets
	 * in between makes the load fail with -EBUSY, nothing else. */
	store_close_disk(opened);
	if (ret)
		return ret;
	ret = store_load(path, STORE_LOAD_TREE_REPAIR, &s, why);
	if (ret)
		return ret;
	given = store_give_back_free(s);
	ret = store_tree_repair(s);
	if (ret >= 0)
		ret = store_checkpoint(s);
	if (!ret)
		ret = store_checkpoint(s);
	store_unload(s);
	if (ret) {
		store_error_set(why, "repair failed: cannot write a checkpoint: %s",
				strerror(-ret));
		return ret;
	}
	ret = store_check_path(path, 0, why);
	if (!ret && !why->text[0])
		store_error_set(why, "repaired: %s; the host space of %llu MiB of free blocks given back",
				what->text, (unsigned long long)(given >> 8));
	return ret;
}

int store_check_path(const char *path, unsigned flags, struct store_error *why)
{
	bool repair = flags & UDAX_CHECK_REPAIR, usable;
	struct store_error what;
	struct disk_store ds;
	struct store *s;
	int ret;

	why->text[0] = '\0';
	/* A store in use may be between two metadata writes, and a shared
	 * one's newest metadata is in its region: the check reads as a reader
	 * outside any region, the repair alone (store_open_file() refuses
	 * either beside such openers). */
	ret = repair ? store_open_file(path, 0, STORE_OPENER_ALONE, &s, why)
		     : store_open_file(path, UDAX_STORE_RDONLY, STORE_OPENER_READER, &s, why);
	if (ret)
		return ret;
	ret = check_fd(s->fd, &ds, &usable, why, &what);
	if (!repair || !usable) {
		store_close_disk(s);
		return ret;
	}
	return store_repair(path, s, &ds, &what, why);
}
