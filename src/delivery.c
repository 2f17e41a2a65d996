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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "vma_budget.h"

#define PMD_BYTES (2ul << 20)
/* A page whose block was already mapped faulting this often in a row is not
 * missing: the kernel raised SIGBUS on the mapped store file (I/O error).
 * Deliver it instead of mapping the page forever. */
#define FAULT_REPEAT_LIMIT 16

/* How missing pages fault in this process (mode_pid); init_lock. */
static enum udax_delivery mode;
static int uffd = -1;
static pid_t mode_pid;
static struct sigaction app_sigbus, app_sigsegv;
static _Atomic int installed;
static struct mutex init_lock = MUTEX_INIT;

static __thread struct {
	void *addr;
	unsigned repeats;
	void *evicted_for;	/* page whose failed install emptied the mappings */
} last_fault __attribute__((tls_model("initial-exec")));

/* Run the application's handler for sig, or die of it as the kernel would. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *app = sig == SIGBUS ? &app_sigbus : &app_sigsegv;

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

static bool remapped_too_often(char *addr)
{
	void *page = (void *)((uintptr_t)addr & ~(uintptr_t)(PAGE_SIZE_4K - 1));

	if (last_fault.addr == page)
		return ++last_fault.repeats >= FAULT_REPEAT_LIMIT;
	last_fault.addr = page;
	last_fault.repeats = 0;
	return false;
}

/*
 * The VMA budget's last resort (vma_budget.h): an install refused for lack
 * of VMAs (by the budget, or by the kernel) empties every udax mapping, and
 * the access is retried; the pages fault back in as they are used, like
 * pages the kernel reclaimed. Should the retry fail too, the fault raises
 * SIGBUS, with a message.
 * Return: whether to retry the access.
 */
static bool evict_and_retry(struct udax_vma *vma, char *addr)
{
	static const char msg[] = "udax: cannot map a page even with every udax mapping "
				  "emptied: out of VMAs (vm.max_map_count) or memory\n";
	void *page = (void *)((uintptr_t)addr & ~(uintptr_t)(PAGE_SIZE_4K - 1));

	if (last_fault.evicted_for == page) {
		last_fault.evicted_for = NULL;
		atomic_fetch_add_explicit(&vma->inode->faults_sigbus, 1, memory_order_relaxed);
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		return false;
	}
	last_fault.evicted_for = page;
	atomic_fetch_add_explicit(&vma->inode->map_evictions, 1, memory_order_relaxed);
	vma_evict_all();
	vma_budget_recount();
	return true;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	char *addr = si->si_addr;
	struct udax_vma *vma;
	enum fault_result ret;
	bool write;

	vma = vma_get(addr);
	if (!vma)
		goto not_ours;
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
	 * (BUS_MCEERR_*) or a SEGV_MAPERR goes to the application as is. */
	if ((sig == SIGSEGV && si->si_code != SEGV_ACCERR) ||
	    (sig == SIGBUS && si->si_code != BUS_ADRERR) ||
	    (write && !(vma->prot & PROT_WRITE)))
		goto not_ours_put;
	ret = fault_page(vma, vma->pgoff + (uint64_t)(addr - vma->addr) / PAGE_SIZE_4K,
			 write);
	if (ret == FAULT_NO_VMA && evict_and_retry(vma, addr)) {
		vma_put(vma);
		errno = saved_errno;
		return;
	}
	if (ret != FAULT_NO_VMA)
		last_fault.evicted_for = NULL;
	vma_put(vma);
	errno = saved_errno;
	if (ret == FAULT_REMAPPED && !remapped_too_often(addr))
		return;
	last_fault.addr = NULL;
	if (ret != FAULT_OK)
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
	sigemptyset(&sa.sa_mask);
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
		mode = UDAX_DELIVERY_SIGSEGV;
		mode_pid = pid;
		if (!want || strcmp(want, "sigsegv") != 0) {
			uffd = compat_uffd_open_sigbus();
			if (uffd >= 0)
				mode = UDAX_DELIVERY_USERFAULTFD;
			else if (want && strcmp(want, "userfaultfd") == 0)
				mode_pid = 0;	/* asked for, not had: ask again */
		}
	}
	ret = mode_pid ? (int)mode : uffd;
	mutex_unlock(&init_lock);
	return ret;
}

enum udax_delivery delivery_mode(void)
{
	enum udax_delivery m;

	mutex_lock(&init_lock);
	m = mode_pid == getpid() ? mode : UDAX_DELIVERY_NONE;
	mutex_unlock(&init_lock);
	return m;
}

/* Give a PROT_NONE anonymous range the mapping's protection once accesses
 * to it will fault to udax: register it with userfaultfd; without one it
 * stays PROT_NONE and faults as SIGSEGV. Return: 0 or -errno. */
static int missing_range_arm(char *start, size_t len, int prot)
{
	int ret;

	if (mode != UDAX_DELIVERY_USERFAULTFD)
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
	p = mmap(vma_page_addr(vma, index), n * PAGE_SIZE_4K, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}

/* Make [first, last] missing in vma. Context: inode.maps_lock held. */
static void vma_zap(struct udax_vma *vma, uint64_t first, uint64_t last)
{
	uint64_t n = last - first == UINT64_MAX ? UINT64_MAX : last - first + 1;
	char *start;
	size_t len;

	if (!vma_clip(vma, &first, &n))
		return;
	start = vma_page_addr(vma, first);
	len = (size_t)n * PAGE_SIZE_4K;
	/* Should a step fail, the range stays PROT_NONE: still a valid
	 * missing state, served through SIGSEGV. */
	if (mmap(start, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0) != MAP_FAILED)
		missing_range_arm(start, len, vma->prot);
}

void inode_protect_range(struct inode *ino, uint64_t index, uint64_t n, uint64_t block)
{
	mutex_lock(&ino->maps_lock);
	for (struct udax_vma *vma = ino->maps; vma; vma = vma->next_in_inode)
		if ((vma->prot & PROT_WRITE) &&
		    vma_map_blocks(vma, index, n, block, PROT_READ, INSTALL_HUGE) != 0)
			/* Cannot map it clean: make it missing, which is
			 * just as safe (the next access faults). */
			vma_zap(vma, index, index + n - 1);
	mutex_unlock(&ino->maps_lock);
}

void vma_zap_all(struct udax_vma *vma)
{
	mutex_lock(&vma->inode->maps_lock);
	vma_zap(vma, 0, UINT64_MAX);
	mutex_unlock(&vma->inode->maps_lock);
}

void inode_zap_range(struct inode *ino, uint64_t first, uint64_t last,
		     const struct udax_vma *skip)
{
	mutex_lock(&ino->maps_lock);
	for (struct udax_vma *vma = ino->maps; vma; vma = vma->next_in_inode)
		if (vma != skip)
			vma_zap(vma, first, last);
	mutex_unlock(&ino->maps_lock);
}
