// SPDX-License-Identifier: MIT
/*
 * delivery.c - layer delivery: turns the CPU faults of udax mappings into
 * fault_page() calls (the kernel's page-fault entry, arch/x86/mm/fault.c).
 *
 * A missing page (mm/missing.h) raises SIGBUS (userfaultfd,
 * UFFD_FEATURE_SIGBUS) or SIGSEGV (PROT_NONE) in the faulting thread
 * itself: no handler thread, no hand-off. A write to an installed zero page
 * or to a write-protected page raises SIGSEGV (SEGV_ACCERR), served as a
 * write fault. The handler finds the mapping (mm/vma_registry.h), serves
 * the fault (fault/fault.h), which installs through mm/install.h, and
 * returns: the access is retried. An install refused for lack of VMAs
 * empties every mapping (the VMA budget's last resort) and retries.
 *
 * Signals that are not ours, and the SIGBUS udax must deliver (past EOF,
 * ENOSPC, EIO), go to the handler the application had installed before
 * udax_store_open(); with none, the process dies of SIGBUS as with the
 * kernel's DAX. It also keeps the set of asynchronous signals that every
 * udax call blocks (api/api.c) and the handler runs with.
 *
 * May call: base, mm, fault. Locks: init_lock (a leaf) while installing
 * the handlers. The handler holds no lock when it chains to the
 * application's handler (which may longjmp away).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/compat.h"
#include "delivery/delivery.h"
#include "fault/fault.h"
#include "mm/install.h"
#include "mm/missing.h"
#include "mm/vma_budget.h"
#include "mm/vma_registry.h"
/* Evictions for one page in a row (each leaving room) before its fault is
 * answered with SIGBUS: the kernel refuses the install for a reason that
 * emptying the mappings does not cure (memory, not VMAs). */
#define EVICTIONS_PER_PAGE 8

/* The application's SIGBUS and SIGSEGV handlers, which udax's chains to:
 * those in place at the installation, then those given to
 * delivery_app_sigaction(). Two copies each: a change fills the one not
 * in use and publishes it (app_current), so a fault reading the handler
 * never sees half of one; changes are one at a time (app_changing, taken
 * with every signal blocked: a handler may change them too). */
static struct sigaction app_handlers[2][2];	/* [SIGSEGV, SIGBUS][copy] */
static _Atomic int app_current[2];
static atomic_flag app_changing = ATOMIC_FLAG_INIT;
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

/* Asynchronous signals: all but those the CPU raises for the instruction
 * that runs. Filled before main(), so readers need no synchronization. */
static sigset_t async_signals;

/* Priority 101: before the constructors of default priority (the preload
 * shim's may call udax). */
__attribute__((constructor(101))) static void async_signals_fill(void)
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
	int which = sig == SIGBUS;
	struct sigaction app_copy = app_handlers[which][atomic_load(&app_current[which])];
	const struct sigaction *app = &app_copy;
	sigset_t mask = ((const ucontext_t *)uc)->uc_sigmask;

	if (app->sa_handler != SIG_DFL && app->sa_handler != SIG_IGN) {
		sigorset(&mask, &mask, &app->sa_mask);
		if (!(app->sa_flags & SA_NODEFER))
			sigaddset(&mask, sig);
		pthread_sigmask(SIG_SETMASK, &mask, NULL);
	}
	if ((app->sa_flags & SA_RESETHAND) && app->sa_handler != SIG_DFL &&
	    app->sa_handler != SIG_IGN) {	/* one delivery, then the default */
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		delivery_app_sigaction(sig, &dfl, NULL);
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

/* Why a fault raises SIGBUS for lack of index memory, which an
 * application cannot tell from its own faults otherwise. */
static void say_out_of_index_memory(void)
{
	static const char msg[] = "udax: no memory for a file's page index: the process is out "
				  "of memory, or a shared store's region file cannot grow (its "
				  "directory, $UDAX_REGION_DIR or /dev/shm, is full): SIGBUS\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
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
	    (sig == SIGBUS && !missing_by_userfaultfd()) ||
	    (write && !(vma->prot & PROT_WRITE)))
		goto not_ours_put;
	/* seq_cst pairs with the bump in vma_changed() (mm/install.c), made before the
	 * change that would make this page fault again. */
	changes = atomic_load_explicit(&vma->changes, memory_order_seq_cst);
	if (fault_repeats(vma, page_of(addr), write, changes)) {
		atomic_fetch_add_explicit(&vma->inode->faults_sigbus, 1, memory_order_relaxed);
		last_fault.page = NULL;
		goto not_ours_put;
	}
	if (last_fault.evicted_for == page_of(addr))
		vma_budget_grant_once();
	vma_changes_mine_forget();
	ret = fault_page(vma, vma->pgoff + (uint64_t)(addr - vma->addr) / PAGE_SIZE_4K,
			 write);
	/* A change this fault made itself (a read-only install, a zap before
	 * it) came before its install: the page is installed as of then. */
	vma_changes_mine(vma, &changes);
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
	if (ret == FAULT_OOM)
		say_out_of_index_memory();
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
	if (sigaction(SIGBUS, &sa, &app_handlers[1][atomic_load(&app_current[1])]) != 0)
		return -errno;
	if (sigaction(SIGSEGV, &sa, &app_handlers[0][atomic_load(&app_current[0])]) != 0)
		return -errno;
	return 0;
}

int delivery_app_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int which = sig == SIGBUS, now;
	sigset_t all, saved;

	if ((sig != SIGBUS && sig != SIGSEGV) ||
	    !atomic_load_explicit(&installed, memory_order_acquire))
		return sigaction(sig, act, old) ? -errno : 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	while (atomic_flag_test_and_set_explicit(&app_changing, memory_order_acquire))
		;	/* another thread's change: a few stores */
	now = atomic_load(&app_current[which]);
	if (old)
		*old = app_handlers[which][now];
	if (act) {
		app_handlers[which][!now] = *act;
		atomic_store(&app_current[which], !now);
	}
	atomic_flag_clear_explicit(&app_changing, memory_order_release);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return 0;
}

void delivery_fork_prepare(void)
{
	mutex_lock(&init_lock);
}

void delivery_fork_parent(void)
{
	mutex_unlock(&init_lock);
}

void delivery_fork_child(void)
{
	mutex_init(&init_lock);
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
