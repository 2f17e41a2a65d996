// SPDX-License-Identifier: MIT
/*
 * fork.c - layer api: fork() of a process that uses udax. As with the
 * kernel's MAP_SHARED mappings (dup_mmap()), a child inherits its parent's
 * udax mappings, over the same page cache: parent and child see each
 * other's writes, and every invalidation reaches both.
 *
 * The library's one set of pthread_atfork handlers, registered before
 * main() by api.c (a handler registered while another thread forks is not
 * run for that fork; api.c is in every program that calls udax), so that their order is the lock order and the child cleans
 * up before it inherits:
 * - prepare takes every process-local lock a child could need: the mapping
 *   registry's first (the budget's eviction takes file locks under it),
 *   then the leaves: the store descriptors' list, the memberships', the
 *   delivery choice's, the handlers' installation's, the radix pool's. So
 *   no fork happens while another thread holds one, half-way through what
 *   it protects;
 * - parent releases them;
 * - child releases or makes anew each (its only thread is the one that
 *   forked), closes its copies of the store and region descriptors (it
 *   must keep none of the parent's locks), takes the parent's mappings off
 *   the registry (PROT_NONE, or unmapped for UDAX_MAP_DONTFORK), and then
 *   inherits them.
 *
 * Inheriting: for each store opened shared of which the child has
 * mappings, the child joins the store's region as a member of its own (a
 * handle the application never sees; the parent's handles stay refused,
 * api.c), opens each mapped file in it, checks that it is the file the
 * parent mapped (file_state.made: the parent may have closed it since the
 * fork, and someone removed it and made another in its slot), and makes
 * the mapping a udax mapping of the child at the same addresses, missing:
 * its pages fault in from the store's one page cache. At once, in the
 * handler, not at the child's first fault: the join starts the member's
 * agent thread, which a signal handler cannot do. And the parent's fork()
 * returns only once the child is done (a pipe made in prepare: the child
 * writes its pid, then a byte when done; or it dies or execs; or the
 * parent sees it stopped or traced, or it never began: inherit_wait()),
 * as with the kernel, whose fork() returns with the child's mappings
 * holding their files: the parent may then close, unmap, remove or exit
 * at once. Before, a parent that exited right after fork (a daemon's
 * start), as the store's last process, took the region with it before
 * the child joined, and the child lost its mappings in 7-40% of runs (the
 * adversarial pass). The hidden handle is closed when the child unmaps
 * the last mapping it inherited; a child that
 * exits first leaves it as any process killed does (xproc.h).
 *
 * Not inherited, each left PROT_NONE (an access raises SIGSEGV, the
 * addresses stay reserved): the mappings of a store opened
 * UDAX_STORE_EXCLUSIVE (nobody else may open it; the preload shim's) or
 * read outside its region (a private reader), as documented; and, with a
 * message on stderr at the fork, those of a file removed, or a store
 * renamed, between the fork and the child's join, all of a store whose
 * join fails (64 members, no room, descriptors or memory), and all in a
 * program with AddressSanitizer or ThreadSanitizer (the library or the
 * program built with one: its runtime's symbol is there), which cannot
 * start a thread in a fork child of a process with threads.
 *
 * Locks: those of the layers, in the order above; the child's inheritance
 * takes what an open and a mapping take (handles.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/handles.h"
#include "delivery/delivery.h"
#include "mm/map_ahead.h"
#include "mm/missing.h"
#include "mm/vma_registry.h"

/* The sanitizer runtimes: present (non-NULL) in a program built with
 * AddressSanitizer or ThreadSanitizer, the library or the program. */
extern void __asan_init(void) __attribute__((weak));
extern void __tsan_init(void) __attribute__((weak));

/* This thread's fork, while its handlers run: a pipe on which the child
 * writes its pid, then a byte once it has inherited (or it dies, or
 * execs), so that the parent's fork() returns only then (inherit_wait());
 * -1: no mapping to inherit, no wait. */
static __thread int inherit_done[2] = { -1, -1 };

static bool inheritable(const struct udax_vma *vma)
{
	return !vma->dontfork && vma->inode->handle->share;
}

/* The forking thread's signal mask before fork_prepare() blocked the
 * application's asynchronous signals until the fork is over: a handler
 * that forks again would wait for the locks this fork holds (found by the
 * second adversarial pass: a SIGALRM handler forking), and no handler may
 * touch a mapping the child has half made. */
static __thread sigset_t fork_mask;

static void fork_prepare(void)
{
	delivery_signals_block(&fork_mask);
	vma_registry_fork_prepare();
	store_fd_fork_prepare();
	xproc_fork_prepare();
	missing_fork_prepare();
	delivery_fork_prepare();
	radix_fork_prepare();
	/* Made under the registry lock, and its write end closed in the
	 * parent before it goes: no other child made with fork handlers
	 * holds it. Without a pipe, the parent does not wait. */
	if (!vma_registry_any_locked(inheritable) || pipe2(inherit_done, O_CLOEXEC) != 0)
		inherit_done[0] = inherit_done[1] = -1;
}

/* How the parent waits: in slices, looking at the child between them; at
 * most START_MS for a child that never began its handler (a debugger
 * holds a new child stopped from its creation: gdb's detach-on-fork off),
 * at most MAX_MS in all (no /proc to look at the child). */
#define INHERIT_SLICE_MS 50
#define INHERIT_START_MS 1000
#define INHERIT_MAX_MS 10000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether pid runs (or sleeps): not stopped, traced, a zombie or gone, as
 * /proc/PID/stat's state says; true when that cannot be read. */
static bool child_runs(pid_t pid)
{
	char path[64], stat[512], *close_paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return true;
	stat[n] = '\0';
	close_paren = strrchr(stat, ')');
	return !close_paren || !strchr("TtZX", close_paren[2]);
}

/* Wait until the child says it is done (a byte after its pid), dies (EOF),
 * or cannot go on: stopped, traced, or never begun (see above). A process
 * made without fork handlers meanwhile by another thread (the raw fork
 * system call) may hold the write end: the done byte, not EOF, ends the
 * wait. (The application's signals are blocked: fork_mask.) */
static void inherit_wait(int done)
{
	uint64_t start = now_ms();
	struct pollfd pfd = { .fd = done, .events = POLLIN };
	pid_t child = 0;

	for (;;) {
		uint64_t waited = now_ms() - start;

		if (poll(&pfd, 1, INHERIT_SLICE_MS) > 0) {
			if (child || read(done, &child, sizeof(child)) != sizeof(child))
				break;	/* the done byte, EOF, or no pid: done either way */
			continue;
		}
		if ((!child && waited >= INHERIT_START_MS) || waited >= INHERIT_MAX_MS ||
		    (child && !child_runs(child)))
			break;
	}
	close(done);
}

static void fork_parent(void)
{
	int saved_errno = errno, done = inherit_done[0];

	if (done >= 0)
		close(inherit_done[1]);
	inherit_done[0] = inherit_done[1] = -1;
	radix_fork_parent();
	delivery_fork_parent();
	missing_fork_parent();
	xproc_fork_parent();
	store_fd_fork_parent();
	vma_registry_fork_parent();
	if (done >= 0)
		inherit_wait(done);
	delivery_signals_restore(&fork_mask);
	errno = saved_errno;
}

/* The file parent_ino was, opened in s (the child's handle of its
 * store): the same slot, still in use, made by the same first open.
 * Return: its inode, or NULL. */
static struct inode *inherit_inode(struct udax_store *s, const struct inode *parent_ino)
{
	int slot = parent_ino->slot;
	struct inode *ino = NULL;
	bool same;

	mutex_lock(&s->inodes_lock);
	store_lock(s->st);
	same = s->st->file[slot].in_use && s->st->file[slot].type == STORE_TYPE_FILE;
	if (same)
		file_share_open(s->share, (uint32_t)slot);
	store_unlock(s->st);
	if (same)
		ino = __inode_get(s, slot);
	mutex_unlock(&s->inodes_lock);
	if (ino && ino->made != parent_ino->made) {
		inode_put(ino);
		ino = NULL;
	}
	return ino;
}

/* Make vma (PROT_NONE at its parent's addresses) a mapping of s's file
 * that the parent's was. Return: 0, or -errno (vma is then the caller's
 * to free). */
static int inherit_mapping(struct udax_store *s, struct udax_vma *vma)
{
	struct inode *ino = inherit_inode(s, vma->inode);
	int ret;

	if (!ino)
		return -ESTALE;
	ret = missing_range_inherit(vma->addr, vma->len, vma->prot);
	if (ret) {
		inode_put(ino);
		return ret;
	}
	vma->inode = ino;
	vma->next = vma->next_in_inode = NULL;
	map_ahead_init(&vma->ahead);
	atomic_init(&vma->changes, 0);
	atomic_fetch_add_explicit(&s->inherited_maps, 1, memory_order_relaxed);
	vma_register(vma);
	return 0;
}

/* The child's own handle of the store parent is a handle of.
 * Return: 0 and *out, or -errno with *why set. */
static int inherit_store_open(const struct udax_store *parent, struct udax_store **out,
			      const char **why)
{
	struct stat st;
	int ret;

	*why = "";
	if (__asan_init || __tsan_init) {
		*why = "a program with a sanitizer cannot start threads in a fork child";
		return -ENOTSUP;
	}
	if (!parent->path) {
		*why = "the store's path is not known";
		return -ENOENT;
	}
	ret = store_handle_open(parent->path, parent->flags, out);
	if (ret) {
		*why = detail_text();
		return ret;
	}
	if (!(*out)->share)	/* a read-only open's fallback: outside the region */
		*why = "the child can only read the store outside its region";
	else if (fstat((*out)->st->fd, &st) != 0 || st.st_dev != parent->dev ||
		 st.st_ino != parent->ino)
		*why = "the store file was renamed or replaced";
	if (**why) {
		store_handle_close(*out);
		return -ESTALE;
	}
	(*out)->inherited = true;
	return 0;
}

/* Inherit vmas, the mappings of the store parent is a handle of; say on
 * stderr what could not be. */
static void inherit_store(const struct udax_store *parent, struct udax_vma *vmas)
{
	struct udax_store *s = NULL;
	unsigned lost = 0;
	const char *why = "";
	int ret, mapping_ret = 0;

	/* A store only the parent may open: documented, said nowhere else
	 * (the preload shim's, in every fork of a `udax run` program). */
	ret = parent->share ? inherit_store_open(parent, &s, &why) : -EBUSY;
	while (vmas) {
		struct udax_vma *vma = vmas;
		int one = ret;

		vmas = vma->next;
		if (!ret && (one = inherit_mapping(s, vma)) == 0)
			continue;
		mapping_ret = one;
		lost++;
		free(vma);
	}
	if (!ret && !atomic_load_explicit(&s->inherited_maps, memory_order_relaxed))
		store_handle_close(s);
	if (!ret)
		why = mapping_ret == -ESTALE ? "its file was removed or replaced since the fork"
					     : strerror(-mapping_ret);
	if (lost && parent->share)
		fprintf(stderr, "udax: fork child: %u mapping%s of store %s not inherited (%s): "
			"%s PROT_NONE here\n", lost, lost == 1 ? "" : "s",
			parent->path ? parent->path : "(path unknown)", why,
			lost == 1 ? "it is" : "they are");
}

/* The parent may have stopped waiting (inherit_wait()): the SIGPIPE a
 * write to it then brings is blocked (fork_mask), and discarded before the
 * child's signals are restored (the child's pending signals began empty at
 * the fork). */
static void sigpipe_discard(void)
{
	const struct timespec now = { 0, 0 };
	sigset_t pipe_only;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	while (sigtimedwait(&pipe_only, NULL, &now) == SIGPIPE)
		;
}

/* Split kept (every mapping the child has, PROT_NONE) by store and
 * inherit each store's; unmap the UDAX_MAP_DONTFORK ones after, so that
 * the joins' own mappings did not take their addresses. */
static void inherit_all(struct udax_vma *kept)
{
	struct udax_vma *dontfork = NULL;

	while (kept) {
		const struct udax_store *parent = kept->inode->handle;
		struct udax_vma *mine = NULL, **link = &kept;

		while (*link) {
			struct udax_vma *vma = *link;

			if (vma->inode->handle != parent && !vma->dontfork) {
				link = &vma->next;
				continue;
			}
			*link = vma->next;
			if (vma->dontfork) {
				vma->next = dontfork;
				dontfork = vma;
			} else {
				vma->next = mine;
				mine = vma;
			}
		}
		if (mine)
			inherit_store(parent, mine);
	}
	while (dontfork) {
		struct udax_vma *vma = dontfork;

		dontfork = vma->next;
		munmap(vma->addr, vma->len);
		free(vma);
	}
}

static void fork_child(void)
{
	int saved_errno = errno, done = inherit_done[1], parents_end = inherit_done[0];
	struct udax_vma *kept;
	pid_t self;

	inherit_done[0] = inherit_done[1] = -1;
	if (done >= 0) {
		close(parents_end);
		self = getpid();
		(void)!write(done, &self, sizeof(self));	/* the parent looks at it */
	}
	radix_fork_child();
	delivery_fork_child();
	missing_fork_child();
	xproc_fork_child();
	store_fd_fork_child();
	kept = vma_registry_fork_child();
	if (kept)
		inherit_all(kept);
	if (done >= 0) {
		(void)!write(done, "d", 1);	/* the parent's fork() returns */
		close(done);
		sigpipe_discard();
	}
	delivery_signals_restore(&fork_mask);
	errno = saved_errno;	/* fork() returns 0 with errno as it was */
}

void fork_handlers_install(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int mapping_inherited_gone(struct udax_store *s)
{
	if (atomic_fetch_sub_explicit(&s->inherited_maps, 1, memory_order_acq_rel) != 1)
		return 0;
	return store_handle_close(s);
}
