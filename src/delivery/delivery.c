// SPDX-License-Identifier: MIT
/*
 * delivery.c - turns CPU faults on udax mappings into fault_page() calls and
 * installs the result: the userfaultfd + SIGBUS design.
 *
 * A mapping starts as anonymous memory registered with one process-wide
 * userfaultfd in MISSING mode with UFFD_FEATURE_SIGBUS: touching a page that
 * is not mapped raises SIGBUS in the faulting thread itself (no handler
 * thread, no hand-off). Where userfaultfd is not permitted (an unprivileged
 * process with vm.unprivileged_userfaultfd=0), or UDAX_DELIVERY=sigsegv, a
 * missing page is PROT_NONE memory instead and faults as SIGSEGV; the rest
 * is the same. The handler serves the fault and installs:
 *   - a block: mmap(MAP_SHARED|MAP_FIXED) of the store file at the block's
 *     offset: zero-copy, the application sees the page cache of the store;
 *   - a hole: mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, PROT_READ): the
 *     kernel's shared zero page, nothing allocated; a later write raises
 *     SIGSEGV (SEGV_ACCERR), served as a write fault.
 * Zapping (making pages missing again) maps fresh PROT_NONE memory over the
 * range, registers it, then gives it the mapping's protection. Never an
 * unregistered accessible page: the kernel would fill it with its own zero
 * page behind udax's back (a stale read found by readers_writer_hole). An
 * access in the PROT_NONE window raises SIGSEGV, which is served like a
 * missing fault: it waits on the entry lock or invalidate lock that the
 * zapper holds, then finds the new state.
 *
 * Signals that are not ours, and the SIGBUS udax must deliver (past EOF,
 * ENOSPC, EIO), go to the handler the application had installed before
 * udax_store_open(); with none, the process dies of SIGBUS as with the
 * kernel's DAX.
 *
 * Locks: none of its own besides inode.maps_lock, taken by
 * inode_zap_range() (under an entry lock, or by truncate). The handler
 * holds no lock when it chains to the application's handler (which may
 * longjmp away).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "api/internal.h"
#include "mm/vma_budget.h"

#define PMD_BYTES (2ul << 20)
/* Evictions for one page in a row (each leaving room) before its fault is
 * answered with SIGBUS: the kernel refuses the install for a reason that
 * emptying the mappings does not cure (memory, not VMAs). */
#define EVICTIONS_PER_PAGE 8

/* How missing pages fault in this process (mode_pid); init_lock. The fault
 * handler reads mode without it: set before the first mapping exists. */
static _Atomic int mode;
static int uffd = -1;
static pid_t mode_pid;
static struct sigaction app_sigbus, app_sigsegv;
static _Atomic int installed;
static struct mutex init_lock = MUTEX_INIT;

/* What this thread served last, to tell a fault the kernel raised on an
 * installed page (an I/O error or a truncated store file) from a missing
 * page: the same access at the same page of the same mapping, with no
 * change to the mapping (udax_vma.changes) since it was served, means the
 * page udax installed is still there and the kernel refuses it. Every
 * change that can make an installed page fault again bumps changes under
 * the lock that keeps that page's faults out, so it is either seen before
 * a fault is served (and done before its install) or comes after. */
static __thread struct {
	void *page;
	uint64_t vma_id;
	uint64_t changes;	/* vma.changes read before serving it */
	bool write;
	void *evicted_for;	/* page whose refused install emptied the mappings */
	unsigned evictions;	/* for that page, in a row */
} last_fault __attribute__((tls_model("initial-exec")));

/* The value this thread's last vma_changed() left in a mapping. */
static __thread struct {
	uint64_t vma_id;
	uint64_t changes;
} my_change __attribute__((tls_model("initial-exec")));

/* Asynchronous signals: all but those the CPU raises for the instruction
 * that runs. Filled before main(), so readers need no synchronization. */
static sigset_t async_signals;

__attribute__((constructor)) static void async_signals_fill(void)
{
	static const int synchronous[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };

	sigfillset(&async_signals);
	for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++)
		sigdelset(&async_signals, synchronous[i]);
}

void delivery_signals_block(sigset_t *saved)
{
	pthread_sigmask(SIG_BLOCK, &async_signals, saved);
}

void delivery_signals_restore(const sigset_t *saved)
{
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

/* Run the application's handler for sig, or die of it as the kernel would.
 * The handler gets the signal mask the kernel would have given it (the
 * interrupted code's, its sa_mask, and sig itself), not udax's. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *app = sig == SIGBUS ? &app_sigbus : &app_sigsegv;
	sigset_t mask = ((const ucontext_t *)uc)->uc_sigmask;

	if (app->sa_handler != SIG_DFL && app->sa_handler != SIG_IGN) {
		sigorset(&mask, &mask, &app->sa_mask);
		if (!(app->sa_flags & SA_NODEFER))
			sigaddset(&mask, sig);
		pthread_sigmask(SIG_SETMASK, &mask, NULL);
	}
	if ((app->sa_flags & SA_SIGINFO) && app->sa_sigaction) {
		app->sa_sigaction(sig, si, uc);
		return;
	}
	if (app->sa_handler != SIG_DFL && app->sa_handler != SIG_IGN) {
		app->sa_handler(sig);
		return;
	}
	/* Default action: restore it and raise; the signal is delivered as
	 * soon as this handler returns (or at once, if not blocked). */
	signal(sig, SIG_DFL);
	syscall(SYS_tgkill, getpid(), compat_gettid(), sig);
}

static void deliver_sigbus(void *addr, void *uc)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = addr;
	chain(SIGBUS, &si, uc);
}

static void *page_of(const void *addr)
{
	return (void *)((uintptr_t)addr & ~(uintptr_t)(PAGE_SIZE_4K - 1));
}

/* Whether this fault repeats the last one this thread served with nothing
 * changed since: then the kernel raised it (see last_fault). */
static bool fault_repeats(const struct udax_vma *vma, void *page, bool write,
			  uint64_t changes)
{
	return last_fault.page == page && last_fault.vma_id == vma->id &&
	       last_fault.write == write && last_fault.changes == changes;
}

static void fault_remember(const struct udax_vma *vma, void *page, bool write,
			   uint64_t changes, enum fault_result ret)
{
	bool served = ret == FAULT_OK || ret == FAULT_REMAPPED;

	last_fault.page = served ? page : NULL;
	last_fault.vma_id = vma->id;
	last_fault.write = write;
	last_fault.changes = changes;
}

/*
 * The VMA budget's last resort (vma_budget.h): an install refused for lack
 * of VMAs (by the budget, or by the kernel) empties every udax mapping, and
 * the access is retried; the pages fault back in as they are used, like
 * pages the kernel reclaimed. The retry may go over the budget
 * (vma_budget_grant_once()): other threads may have used up the room the
 * eviction made. Should the kernel itself refuse the page
 * EVICTIONS_PER_PAGE times in a row, the fault raises SIGBUS, with a
 * message.
 * Return: whether to retry the access.
 */
static bool evict_and_retry(struct udax_vma *vma, char *addr)
{
	static const char msg[] = "udax: cannot map a page even with every udax mapping "
				  "emptied: out of VMAs (vm.max_map_count) or memory\n";
	void *page = page_of(addr);

	if (last_fault.evicted_for != page) {
		last_fault.evicted_for = page;
		last_fault.evictions = 0;
	}
	if (++last_fault.evictions <= EVICTIONS_PER_PAGE) {
		atomic_fetch_add_explicit(&vma->inode->map_evictions, 1, memory_order_relaxed);
		vma_budget_recount(vma_evict_all());
		return true;
	}
	last_fault.evicted_for = NULL;
	atomic_fetch_add_explicit(&vma->inode->faults_sigbus, 1, memory_order_relaxed);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	return false;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	char *addr = si->si_addr;
	struct udax_vma *vma;
	enum fault_result ret;
	uint64_t changes;
	bool write;

	vma = vma_get(addr);
	if (!vma)
		goto not_ours;
	/* A child forked without fork handlers (a raw fork or clone
	 * syscall, _Fork()) has a copy of the registry: never serve its
	 * faults from copies of the parent's index and allocator. Only a
	 * SIGSEGV can reach udax there: the child's VMAs are not registered
	 * with the userfaultfd, so they raise no missing-page SIGBUS. */
	if (sig == SIGSEGV && vma->owner != getpid())
		goto not_ours_put;
	switch (compat_fault_access(uc)) {
	case FAULT_ACCESS_WRITE:
		write = true;
		break;
	case FAULT_ACCESS_READ:
		write = false;
		break;
	default:
		/* Unknown on this CPU: a SIGSEGV in a writable mapping may be
		 * a write to a zero page; serving it as one is always safe. */
		write = sig == SIGSEGV && (vma->prot & PROT_WRITE);
		break;
	}
	/* Ours: a missing page (uffd SIGBUS, BUS_ADRERR; or SIGSEGV on
	 * PROT_NONE), or an access the mapping allows to a zero page or a
	 * page being zapped (SIGSEGV, SEGV_ACCERR). A machine-check SIGBUS
	 * (BUS_MCEERR_*), a SEGV_MAPERR, a SIGBUS where missing pages raise
	 * SIGSEGV, and a repeated fault on a page udax installed (the kernel
	 * failed to read the store file) go to the application as they are. */
	if ((sig == SIGSEGV && si->si_code != SEGV_ACCERR) ||
	    (sig == SIGBUS && si->si_code != BUS_ADRERR) ||
	    (sig == SIGBUS && atomic_load_explicit(&mode, memory_order_relaxed) !=
			      UDAX_DELIVERY_USERFAULTFD) ||
	    (write && !(vma->prot & PROT_WRITE)))
		goto not_ours_put;
	/* seq_cst pairs with the bump in vma_changed(), made before the
	 * change that would make this page fault again. */
	changes = atomic_load_explicit(&vma->changes, memory_order_seq_cst);
	if (fault_repeats(vma, page_of(addr), write, changes)) {
		atomic_fetch_add_explicit(&vma->inode->faults_sigbus, 1, memory_order_relaxed);
		last_fault.page = NULL;
		goto not_ours_put;
	}
	if (last_fault.evicted_for == page_of(addr))
		vma_budget_grant_once();
	my_change.vma_id = 0;
	ret = fault_page(vma, vma->pgoff + (uint64_t)(addr - vma->addr) / PAGE_SIZE_4K,
			 write);
	/* A change this fault made itself (a read-only install, a zap before
	 * it) came before its install: the page is installed as of then. */
	if (my_change.vma_id == vma->id)
		changes = my_change.changes;
	fault_remember(vma, page_of(addr), write, changes, ret);
	if (ret == FAULT_NO_VMA && evict_and_retry(vma, addr)) {
		vma_put(vma);
		errno = saved_errno;
		return;
	}
	if (ret != FAULT_NO_VMA)
		last_fault.evicted_for = NULL;
	vma_put(vma);
	errno = saved_errno;
	if (ret != FAULT_OK && ret != FAULT_REMAPPED)
		deliver_sigbus(addr, uc);
	return;

not_ours_put:
	vma_put(vma);
not_ours:
	errno = saved_errno;
	chain(sig, si, uc);
}

static int install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	/* A fault holds udax locks: no asynchronous signal may run a handler
	 * that faults on a udax mapping and waits for them (api.c). */
	sa.sa_mask = async_signals;
	if (sigaction(SIGBUS, &sa, &app_sigbus) != 0)
		return -errno;
	if (sigaction(SIGSEGV, &sa, &app_sigsegv) != 0)
		return -errno;
	return 0;
}

int delivery_init(const char **why)
{
	int ret = 0;

	if (atomic_load_explicit(&installed, memory_order_acquire))
		return 0;
	mutex_lock(&init_lock);
	if (!atomic_load_explicit(&installed, memory_order_relaxed)) {
		vma_budget_init();
		ret = install_handlers();
		if (ret)
			*why = "cannot install the SIGBUS/SIGSEGV handlers";
		else
			/* release pairs with the acquire above */
			atomic_store_explicit(&installed, 1, memory_order_release);
	}
	mutex_unlock(&init_lock);
	return ret;
}

/*
 * Choose how missing pages fault in this process, on first use: the
 * UDAX_DELIVERY environment variable ("userfaultfd" or "sigsegv") or else
 * userfaultfd when permitted, PROT_NONE + SIGSEGV when not. A child of
 * fork() chooses again and never uses its parent's userfaultfd, which
 * would register ranges of the parent's address space.
 * Return: the mode, or -errno if the one asked for is unavailable.
 */
static int delivery_mode_of_this_process(void)
{
	const char *want = getenv("UDAX_DELIVERY");
	pid_t pid = getpid();
	int ret;

	mutex_lock(&init_lock);
	if (mode_pid != pid) {
		if (uffd >= 0)
			close(uffd);
		uffd = -1;
		atomic_store_explicit(&mode, UDAX_DELIVERY_SIGSEGV, memory_order_relaxed);
		mode_pid = pid;
		if (!want || strcmp(want, "sigsegv") != 0) {
			uffd = compat_uffd_open_sigbus();
			if (uffd >= 0)
				atomic_store_explicit(&mode, UDAX_DELIVERY_USERFAULTFD,
						      memory_order_relaxed);
			else if (want && strcmp(want, "userfaultfd") == 0)
				mode_pid = 0;	/* asked for, not had: ask again */
		}
	}
	ret = mode_pid ? atomic_load_explicit(&mode, memory_order_relaxed) : uffd;
	mutex_unlock(&init_lock);
	return ret;
}

enum udax_delivery delivery_mode(void)
{
	enum udax_delivery m;

	mutex_lock(&init_lock);
	m = mode_pid == getpid() ? (enum udax_delivery)atomic_load_explicit(&mode,
									 memory_order_relaxed)
				 : UDAX_DELIVERY_NONE;
	mutex_unlock(&init_lock);
	return m;
}

/* Give a PROT_NONE anonymous range the mapping's protection once accesses
 * to it will fault to udax: register it with userfaultfd; without one it
 * stays PROT_NONE and faults as SIGSEGV. Either way it is not inherited by
 * fork() children: one made without fork handlers (mapping.c does the rest
 * for the others) faults there instead of reading zeros. A failed hint
 * costs that only. Return: 0 or -errno. */
static int missing_range_arm(char *start, size_t len, int prot)
{
	int ret;

	(void)madvise(start, len, MADV_DONTFORK);
	if (atomic_load_explicit(&mode, memory_order_relaxed) != UDAX_DELIVERY_USERFAULTFD)
		return 0;
	ret = compat_uffd_register_missing(uffd, start, len);
	if (!ret && mprotect(start, len, prot) != 0)
		ret = -errno;
	return ret;
}

int delivery_reserve(size_t len, int prot, void **addr)
{
	size_t span = len >= PMD_BYTES ? len + PMD_BYTES : len;
	int ret = delivery_mode_of_this_process();
	char *raw, *start;

	if (ret < 0)
		return ret;
	raw = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	/* 2 MiB alignment, so that aligned file ranges can be PMD-mapped. */
	start = raw;
	if (span != len) {
		start = (char *)(((uintptr_t)raw + PMD_BYTES - 1) & ~(uintptr_t)(PMD_BYTES - 1));
		if (start > raw)
			munmap(raw, (size_t)(start - raw));
		if (raw + span > start + len)
			munmap(start + len, (size_t)(raw + span - (start + len)));
	}
	ret = missing_range_arm(start, len, prot);
	if (ret) {
		munmap(start, len);
		return ret;
	}
	*addr = start;
	return 0;
}

/* Clip the pages [*first, *first + *n) of the file to those vma maps.
 * Return: whether any are left. */
static bool vma_clip(const struct udax_vma *vma, uint64_t *first, uint64_t *n)
{
	uint64_t vma_end = vma->pgoff + vma->len / PAGE_SIZE_4K;
	uint64_t end = *n > UINT64_MAX - *first ? UINT64_MAX : *first + *n;

	if (*first < vma->pgoff)
		*first = vma->pgoff;
	if (end > vma_end)
		end = vma_end;
	if (*first >= end)
		return false;
	*n = end - *first;
	return true;
}

/* Record that installed pages of vma are about to fault again (see
 * udax_vma.changes): made missing, or read-only where they may have been
 * writable. Context: under the lock that keeps faults of those pages out
 * (their entry lock, or invalidate_lock exclusive). */
static void vma_changed(struct udax_vma *vma)
{
	/* seq_cst pairs with the load in on_fault() */
	my_change.changes = atomic_fetch_add_explicit(&vma->changes, 1,
						     memory_order_seq_cst) + 1;
	my_change.vma_id = vma->id;
}

int vma_map_blocks(struct udax_vma *vma, uint64_t index, uint64_t n, uint64_t block,
		   int prot, enum install_mode how)
{
	uint64_t first = index;
	char *p;

	if (!vma_clip(vma, &first, &n))
		return 0;
	block += first - index;
	if (compat_inject(INJECT_MAP) || !vma_budget_charge())
		return -ENOMEM;
	/* Read-only over what another thread may have mapped writable. */
	if (!(prot & PROT_WRITE) && (vma->prot & PROT_WRITE))
		vma_changed(vma);
	p = mmap(vma_page_addr(vma, first), n * PAGE_SIZE_4K, prot, MAP_SHARED | MAP_FIXED,
		 vma->inode->store->st->fd, (off_t)store_block_offset(block));
	if (p == MAP_FAILED)
		return -errno;
	/* THP is "madvise" by default: without the hint the kernel maps the
	 * store's page cache 4 KiB at a time and fills it with small folios;
	 * with it, a cold 2 MiB is allocated and zeroed whole on its first
	 * touch. A plain install is marked random instead: the kernel's
	 * read-around (read_ahead_kb, 8 MiB here) would fill the page cache
	 * far beyond the 2 MiB for one touched page. A failing hint or
	 * populate costs speed, nothing else. */
	if (n >= ENTRY_PMD_PAGES)
		(void)madvise(p, n * PAGE_SIZE_4K, how >= INSTALL_HUGE ? MADV_HUGEPAGE : MADV_RANDOM);
	if (how == INSTALL_POPULATE)
		(void)madvise(p, n * PAGE_SIZE_4K,
			      prot & PROT_WRITE ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	return 0;
}

int vma_map_zero(struct udax_vma *vma, uint64_t index, uint64_t n)
{
	void *p;

	if (!vma_clip(vma, &index, &n))
		return 0;
	if (!vma_budget_charge())
		return -ENOMEM;
	if (vma->prot & PROT_WRITE)
		vma_changed(vma);
	p = mmap(vma_page_addr(vma, index), n * PAGE_SIZE_4K, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}

/*
 * Replace [start, start+len) with fresh missing memory of protection prot.
 * With unmap_first, the range is unmapped first: the kernel refuses every
 * mmap while the process is past vm.max_map_count (a split at the limit
 * may take it one or two past), but munmap of whole VMAs is always allowed.
 * Another thread's mmap could take the range in between: MAP_FIXED_NOREPLACE
 * then fails rather than replace it, and the range is lost to udax.
 * Return: 0 or -errno.
 */
static int range_make_missing(char *start, size_t len, int prot, bool unmap_first)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED;

	if (unmap_first) {
		if (munmap(start, len) != 0)
			return -errno;
		flags = (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;
	}
	if (mmap(start, len, PROT_NONE, flags, -1, 0) == MAP_FAILED)
		return -errno;
	/* Should arming fail, the range stays PROT_NONE: still a valid
	 * missing state, served through SIGSEGV. */
	(void)missing_range_arm(start, len, prot);
	return 0;
}

/*
 * Make [first, last] missing in vma. An mmap over part of a VMA splits it,
 * which the kernel refuses at vm.max_map_count; then the whole mapping is
 * made missing instead (more than asked, never less: its pages fault back
 * in), first by mmap, then, past the limit, by munmap and mmap.
 * Return: 0, or -EAGAIN if the pages may still be mapped (out of VMAs, or
 * the range was lost). Context: inode.maps_lock held.
 */
static int vma_zap(struct udax_vma *vma, uint64_t first, uint64_t last)
{
	uint64_t n = last - first == UINT64_MAX ? UINT64_MAX : last - first + 1;
	char *start;
	size_t len;
	int ret;

	if (!vma_clip(vma, &first, &n))
		return 0;
	start = vma_page_addr(vma, first);
	len = (size_t)n * PAGE_SIZE_4K;
	vma_changed(vma);
	ret = range_make_missing(start, len, vma->prot, false);
	if (ret == -ENOMEM && len != vma->len)
		ret = range_make_missing(vma->addr, vma->len, vma->prot, false);
	if (ret == -ENOMEM)
		ret = range_make_missing(vma->addr, vma->len, vma->prot, true);
	return ret ? -EAGAIN : 0;
}

int inode_protect_range(struct inode *ino, uint64_t index, uint64_t n, uint64_t block)
{
	int ret = 0;

	mutex_lock(&ino->maps_lock);
	for (struct udax_vma *vma = ino->maps; vma; vma = vma->next_in_inode) {
		if (!(vma->prot & PROT_WRITE))
			continue;
		vma_changed(vma);
		if (vma_map_blocks(vma, index, n, block, PROT_READ, INSTALL_HUGE) != 0) {
			/* Cannot map it clean: make it missing, which is
			 * just as safe (the next access faults). */
			int err = vma_zap(vma, index, index + n - 1);

			ret = ret ? ret : err;
		}
	}
	mutex_unlock(&ino->maps_lock);
	return ret;
}

int vma_zap_all(struct udax_vma *vma)
{
	int ret;

	mutex_lock(&vma->inode->maps_lock);
	ret = vma_zap(vma, 0, UINT64_MAX);
	mutex_unlock(&vma->inode->maps_lock);
	return ret;
}

int inode_zap_range(struct inode *ino, uint64_t first, uint64_t last,
		    const struct udax_vma *skip)
{
	int ret = 0;

	mutex_lock(&ino->maps_lock);
	for (struct udax_vma *vma = ino->maps; vma; vma = vma->next_in_inode) {
		int err = vma == skip ? 0 : vma_zap(vma, first, last);

		ret = ret ? ret : err;
	}
	mutex_unlock(&ino->maps_lock);
	return ret;
}
