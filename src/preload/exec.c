// SPDX-License-Identifier: MIT
/*
 * exec.c - layer preload: udax descriptors across exec. The kernel keeps
 * a descriptor without FD_CLOEXEC open across exec, but for a udax
 * descriptor it keeps only the placeholder (an O_PATH open of /dev/null):
 * the store, the file and the offset were the old program's memory. So the
 * exec wrappers (process.c) hand them over in the new program's
 * environment, as
 *   UDAX_SHIM_FDS=FD,FLAGS,OFFSET,SLOT,ID,LOCK,NODELOCK,NAME;FD,=FIRST;...
 * (SLOT the offset's in the offsets' table handed over as
 * UDAX_SHIM_OFFSETS=TABLE:SLOT,..., or -1; LOCK and NODELOCK the lock
 * proxies of the description and of the process's POSIX locks, kept open
 * across exec, or -1; ID the file's udax_file_id() in hex, so that a file renamed or
 * replaced meanwhile is not taken for it; NAME in hex: any bytes;
 * "FD,=FIRST": a dup of FIRST's description)
 * after writing back every file and mapping (shim_sync_all()), and the new
 * program's shim, at load, opens the store and each file again and puts
 * them behind the same descriptor numbers, with the same flags and
 * offset, before main() runs (stdin, stdout and stderr over them where
 * they are 0, 1, 2), and takes the variable out of the environment. What
 * is not handed over: an unlinked file still open (its descriptor is EBADF
 * in the new program). A descriptor whose offset had no table slot, and
 * that a fork child inherited, stays one whose offset is private (its
 * calls at the offset fail: shim_offset_check()).
 * Dups of one description stay one description (a shared offset).
 *
 * May call: the public API of udax.h, libc, core.c, fd.c, stdio.c,
 * offsets.c, locks.c.
 * Locks: none of its own (fd.c's through its calls).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/shim.h"

#define HANDOVER "UDAX_SHIM_FDS"
#define OFFSETS "UDAX_SHIM_OFFSETS"
/* In FLAGS: the offset is private (a fork child's inherited descriptor):
 * calls at it stay refused in the new program (shim_offset_check()). */
#define HANDED_OFFSET_PRIVATE 0x40000000

struct text {
	char *buf;
	size_t len, cap;
};

/* Append n bytes to t. Return: 0, or -ENOMEM (t freed). */
static int text_add(struct text *t, const char *piece, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *buf = realloc(t->buf, cap);

		if (!buf) {
			free(t->buf);
			t->buf = NULL;
			return -ENOMEM;
		}
		t->buf = buf;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, piece, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

/* The descriptions handed over so far, to hand over a dup as "FD,=FIRST". */
struct handed {
	const struct shim_ofd *ofd;
	int fd;
};

#define HANDED_MAX 256

/* Append fd's entry, if it survives exec and its file can be named. */
static int entry_add(struct text *t, int fd, struct handed *seen, size_t *n_seen)
{
	int fd_flags = shim_real()->fcntl(fd, F_GETFD);
	struct shim_ofd *ofd;
	char head[128], hex[3];
	int ret = 0, lock_fd, node_lock_fd;
	uint64_t pos;

	if (fd_flags < 0 || !(ofd = shim_ofd_get(fd)))
		return 0;
	if (fd_flags & FD_CLOEXEC) {	/* closed by the exec: as any close */
		shim_locks_fd_closed(ofd);
		shim_ofd_put(ofd);
		return 0;
	}
	for (size_t i = 0; i < *n_seen; i++) {
		if (seen[i].ofd == ofd) {	/* a dup of one handed over */
			snprintf(head, sizeof(head), "%d,=%d;", fd, seen[i].fd);
			shim_ofd_put(ofd);
			return text_add(t, head, strlen(head));
		}
	}
	if (!ofd->node->unlinked) {
		if (*n_seen < HANDED_MAX)
			seen[(*n_seen)++] = (struct handed){ ofd, fd };
		shim_pos_lock(ofd->pos);
		pos = ofd->pos->value;
		shim_pos_unlock(ofd->pos);
		shim_locks_handover(ofd, &lock_fd, &node_lock_fd);
		snprintf(head, sizeof(head), "%d,%d,%" PRIu64 ",%d,%" PRIx64 ",%d,%d,", fd,
			 atomic_load(&ofd->flags) |
			 (ofd->offset_private ? HANDED_OFFSET_PRIVATE : 0), pos,
			 shim_pos_slot(ofd->pos), ofd->file_id, lock_fd, node_lock_fd);
		ret = text_add(t, head, strlen(head));
		/* a byte at a time: a path may be UDAX_PATH_MAX bytes, and
		 * exec may run on a signal's small stack */
		for (size_t i = 0; !ret && ofd->node->name[i]; i++) {
			snprintf(hex, sizeof(hex), "%02x", (unsigned char)ofd->node->name[i]);
			ret = text_add(t, hex, 2);
		}
		if (!ret)
			ret = text_add(t, ";", 1);
	}
	shim_ofd_put(ofd);
	return ret;
}

/* Append OFFSETS=TABLE:SLOT,SLOT,... to t: the offsets' table and the slot
 * of each of this process's ofds (once each), whose counts the new
 * program gives back (it counts those it takes over anew). Return: 0 or
 * -ENOMEM (t freed). */
static int offsets_add(struct text *t)
{
	const struct shim_ofd **counted = NULL;
	size_t n = 0;
	char num[48];
	int ret;

	snprintf(num, sizeof(num), OFFSETS "=%d:", shim_pos_table_fd());
	ret = text_add(t, num, strlen(num));
	for (int fd = shim_fd_next_udax(0); !ret && fd >= 0; fd = shim_fd_next_udax(fd + 1)) {
		struct shim_ofd *ofd = shim_ofd_get_any(fd);
		const struct shim_ofd **more;
		bool seen = !ofd || !shim_pos_shared(ofd->pos);

		for (size_t i = 0; !seen && i < n; i++)
			seen = counted[i] == ofd;
		if (!seen && !(more = realloc(counted, (n + 1) * sizeof(*counted)))) {
			free(t->buf);
			ret = -ENOMEM;
		} else if (!seen) {
			counted = more;
			counted[n++] = ofd;
			snprintf(num, sizeof(num), "%d,", shim_pos_slot(ofd->pos));
			ret = text_add(t, num, strlen(num));
		}
		if (ofd)
			shim_ofd_put(ofd);
	}
	free(counted);
	return ret;
}

char **shim_exec_env(char *const envp[])
{
	struct handed seen[HANDED_MAX];
	struct text t = { .buf = NULL }, offsets = { .buf = NULL };
	size_t n = 0, kept = 0, n_seen = 0;
	int table = shim_pos_table_fd();
	char **out;

	if (shim_fd_next_udax(0) < 0 || shim_in_vfork_child())
		return NULL;
	if (text_add(&t, HANDOVER "=", strlen(HANDOVER) + 1))
		return NULL;
	for (int fd = shim_fd_next_udax(0); fd >= 0; fd = shim_fd_next_udax(fd + 1))
		if (entry_add(&t, fd, seen, &n_seen))
			return NULL;
	if (table >= 0 && offsets_add(&offsets)) {
		free(t.buf);
		return NULL;
	}
	while (envp && envp[n])
		n++;
	/* one block: the pointers, then the texts */
	out = malloc((n + 3) * sizeof(*out) + t.len + 1 + offsets.len + 1);
	if (!out) {
		free(t.buf);
		free(offsets.buf);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], HANDOVER "=", strlen(HANDOVER) + 1) &&
		    strncmp(envp[i], OFFSETS "=", strlen(OFFSETS) + 1))
			out[kept++] = envp[i];
	out[kept++] = memcpy((char *)(out + n + 3), t.buf, t.len + 1);
	if (offsets.buf) {
		out[kept++] = memcpy((char *)(out + n + 3) + t.len + 1, offsets.buf,
				     offsets.len + 1);
		shim_real()->fcntl(table, F_SETFD, 0);	/* for the new program */
	}
	out[kept] = NULL;
	free(t.buf);
	free(offsets.buf);
	return out;
}

void shim_exec_env_free(char **env)
{
	int table = shim_pos_table_fd();

	if (!env)
		return;
	/* the exec failed: the table and the lock proxies are ours again */
	if (table >= 0)
		shim_real()->fcntl(table, F_SETFD, FD_CLOEXEC);
	for (int fd = shim_fd_next_udax(0); fd >= 0; fd = shim_fd_next_udax(fd + 1)) {
		struct shim_ofd *ofd = shim_ofd_get(fd);

		if (ofd) {
			shim_locks_handover_undo(ofd);
			shim_ofd_put(ofd);
		}
	}
	free(env);
}

/* Decode hex (2 * len digits) into name. Return: 0, or -EINVAL. */
static int name_unhex(const char *hex, size_t digits, char *name)
{
	if (digits % 2 || digits / 2 > UDAX_PATH_MAX || !digits)
		return -EINVAL;
	for (size_t i = 0; i < digits / 2; i++) {
		unsigned byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1 || !byte)
			return -EINVAL;
		name[i] = (char)byte;
	}
	name[digits / 2] = '\0';
	return 0;
}

/* Put file name behind descriptor fd (the placeholder the kernel kept),
 * with the flags and offset it had (the table's slot if one was handed
 * over, else pos) and its lock proxies, if it is still the file id.
 * Return: 0 or -errno. */
static int entry_take(int fd, int flags, uint64_t pos, int slot, uint64_t id, const int locks[2],
		      const char *name)
{
	struct shim_pos *handed = shim_pos_slot_at(slot);
	struct udax_store *s;
	struct udax_file *file;
	struct shim_ofd *ofd;
	int ret;

	if (shim_real()->fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	ret = shim_store(&s);
	if (ret)
		return ret;
	ret = udax_open(s, name, (flags & O_ACCMODE) == O_RDONLY ? O_RDONLY : O_RDWR, &file);
	if (ret)
		return ret;
	if (shim_file_id(file) != id) {	/* renamed or replaced meanwhile */
		udax_close(file);
		return -ESTALE;
	}
	ret = shim_ofd_new(file, name, flags & ~HANDED_OFFSET_PRIVATE, &ofd);
	if (ret) {
		udax_close(file);
		return ret;
	}
	if (handed) {	/* the old program's offset, shared with its family */
		shim_pos_put(ofd->pos);
		ofd->pos = handed;
		shim_pos_get(handed);
	} else {
		ofd->pos->value = pos;
	}
	ofd->offset_private = flags & HANDED_OFFSET_PRIVATE;
	shim_locks_adopt(ofd, locks[0], locks[1]);
	ret = shim_fd_install(fd, ofd);
	shim_ofd_put(ofd);
	return ret;
}

/* Make fd another descriptor of first's description, as it was.
 * Return: 0 or -errno. */
static int entry_dup(int fd, int first)
{
	struct shim_ofd *ofd = shim_ofd_get(first);
	int ret;

	if (!ofd || shim_real()->fcntl(fd, F_GETFD) < 0) {
		if (ofd)
			shim_ofd_put(ofd);
		return -EBADF;
	}
	ret = shim_fd_install(fd, ofd);
	shim_ofd_put(ofd);
	return ret;
}

/* At load: the offsets' table the old program handed over (OFFSETS),
 * mapped; *drops gets the list of slots whose counts to give back once
 * the descriptors are taken over. */
static void offsets_take(const char **drops)
{
	const char *at = getenv(OFFSETS);
	int table, used = 0;

	*drops = "";
	if (!at || sscanf(at, "%d:%n", &table, &used) != 1 || !used)
		return;
	if (shim_pos_table_take(table) == 0)
		*drops = at + used;
	else if (table > STDERR_FILENO)
		shim_real()->close(table);
}

/* Give back the old program's counts of the slots in drops ("N,N,"). */
static void offsets_drop(const char *drops)
{
	int slot, used = 0;

	while (sscanf(drops, "%d,%n", &slot, &used) == 1 && used) {
		shim_pos_put(shim_pos_slot_at(slot));
		drops += used;
		used = 0;
	}
}

/* At load: take over what the old program handed over. */
__attribute__((constructor)) static void exec_load(void)
{
	const char *at = getenv(HANDOVER), *drops;
	static char name[SHIM_PATH_SIZE];	/* at load: one thread */

	if (!at)
		return;
	shim_real();	/* the root and the store's path */
	offsets_take(&drops);
	while (*at) {
		int fd, first, flags, slot, locks[2], used = 0;
		uint64_t pos, id;
		size_t digits;

		if (sscanf(at, "%d,=%d;%n", &fd, &first, &used) == 2 && used) {
			(void)entry_dup(fd, first);
			at += used;
			continue;
		}
		if (sscanf(at, "%d,%d,%" SCNu64 ",%d,%" SCNx64 ",%d,%d,%n", &fd, &flags, &pos, &slot,
			   &id, &locks[0], &locks[1], &used) != 7 || !used)
			break;
		at += used;
		digits = strcspn(at, ";");
		if (!name_unhex(at, digits, name))
			(void)entry_take(fd, flags, pos, slot, id, locks, name);	/* or EBADF */
		at += digits + (at[digits] == ';');
	}
	offsets_drop(drops);
	unsetenv(HANDOVER);
	unsetenv(OFFSETS);
	shim_std_streams();
	shim_stats_keep();	/* stderr may be one of them now */
}
