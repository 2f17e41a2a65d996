// SPDX-License-Identifier: MIT
/*
 * offsets.c - layer preload: the file offsets of udax descriptions, shared
 * by every process that shares a description, as the kernel's f_pos is: a
 * fork() child's inherited descriptor, and the program an exec hands it
 * to, move the offset of the parent's (a shell's `exec >log; cmd1; cmd2`
 * writes both commands' output one after the other).
 *
 * Each ofd's offset and its lock (the kernel's f_pos_lock) are a slot of
 * a table in a memfd, made by the process's first open of a udax file and
 * mapped MAP_SHARED, so fork children share it; exec hands the memfd to
 * the new program with the descriptors (exec.c), which maps it again. A
 * slot counts the ofds of every process that use it (refs): a fork child
 * counts its inherited ones, an exec passes its count on to the new
 * program, and a process that exits gives back those it holds. Those of a
 * killed process stay taken (TABLE_SLOTS of them before an ofd falls back
 * to an offset of its own).
 *
 * The lock is a process-shared robust mutex: a holder killed inside is
 * followed by the next taker (the offset is one store, whole at every
 * step). An ofd made with no table (memfd or mmap refused, or no slot
 * left) keeps its offset in itself (shim_pos_own()): not shared.
 *
 * May call: libc, core.c. Locks: table_lock (a leaf mutex) while the table
 * is made or adopted; a slot's lock as the kernel's f_pos_lock (shim.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/shim.h"

#define TABLE_SLOTS 65536u

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_pos *table;		/* TABLE_SLOTS slots, or NULL */
static int table_fd = -1;

/* A lock that another process may hold, and that a holder's death
 * leaves to the next taker. */
static void pos_lock_init(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
}

void shim_pos_own(struct shim_pos *pos, uint64_t value)
{
	pos_lock_init(&pos->lock);
	pos->value = value;
	atomic_init(&pos->refs, 0);	/* not a table slot's */
}

/* Map the table of memfd fd. Context: table_lock held. Return: 0 or -errno. */
static int table_map(int fd)
{
	void *p = shim_real()->mmap(NULL, TABLE_SLOTS * sizeof(struct shim_pos),
				    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	table = p;
	table_fd = fd;
	return 0;
}

/* The table, made on first use. Context: table_lock held. */
static struct shim_pos *table_get(void)
{
	int fd;

	if (table)
		return table;
	fd = memfd_create("udax-offsets", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (shim_real()->ftruncate(fd, TABLE_SLOTS * sizeof(struct shim_pos)) != 0) {
		shim_real()->close(fd);
		return NULL;
	}
	fd = shim_fd_aside(fd);
	if (table_map(fd) != 0) {
		shim_real()->close(fd);
		return NULL;
	}
	shim_fd_keep_in_child(shim_fd_mark_library(fd, true));
	return table;
}

struct shim_pos *shim_pos_new(void)
{
	struct shim_pos *t;

	pthread_mutex_lock(&table_lock);
	t = table_get();
	pthread_mutex_unlock(&table_lock);
	for (uint32_t i = 0; t && i < TABLE_SLOTS; i++) {
		uint32_t free_slot = 0;

		if (atomic_compare_exchange_strong(&t[i].refs, &free_slot, 1)) {
			pos_lock_init(&t[i].lock);
			t[i].value = 0;
			return &t[i];
		}
	}
	return NULL;
}

bool shim_pos_shared(const struct shim_pos *pos)
{
	return table && pos >= table && pos < table + TABLE_SLOTS;
}

void shim_pos_get(struct shim_pos *pos)
{
	if (shim_pos_shared(pos))
		atomic_fetch_add(&pos->refs, 1);
}

void shim_pos_put(struct shim_pos *pos)
{
	if (shim_pos_shared(pos))
		atomic_fetch_sub(&pos->refs, 1);
}

void shim_pos_lock(struct shim_pos *pos)
{
	if (pthread_mutex_lock(&pos->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&pos->lock);	/* its offset is whole */
}

void shim_pos_unlock(struct shim_pos *pos)
{
	pthread_mutex_unlock(&pos->lock);
}

int shim_pos_slot(const struct shim_pos *pos)
{
	return shim_pos_shared(pos) ? (int)(pos - table) : -1;
}

int shim_pos_table_fd(void)
{
	return table ? table_fd : -1;
}

int shim_pos_table_take(int fd)
{
	struct stat st;
	int ret = -EINVAL;

	pthread_mutex_lock(&table_lock);
	if (!table && shim_real()->fstat(fd, &st) == 0 &&
	    st.st_size == (off_t)(TABLE_SLOTS * sizeof(struct shim_pos))) {
		ret = table_map(fd);
		if (!ret) {
			shim_real()->fcntl(fd, F_SETFD, FD_CLOEXEC);
			shim_fd_keep_in_child(shim_fd_mark_library(fd, true));
		}
	}
	pthread_mutex_unlock(&table_lock);
	return ret;
}

void shim_pos_fork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&table_lock);
	else if (phase == 1)
		pthread_mutex_unlock(&table_lock);
	else
		pthread_mutex_init(&table_lock, NULL);
}

struct shim_pos *shim_pos_slot_at(int slot)
{
	return table && slot >= 0 && (uint32_t)slot < TABLE_SLOTS ? &table[slot] : NULL;
}
