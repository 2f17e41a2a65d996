// SPDX-License-Identifier: MIT
/*
 * missing.c - layer mm: the missing state of pages and the choice of
 * delivery (see missing.h).
 *
 * May call: base. Locks: mode_lock (a leaf, held across fork by
 * missing_fork_prepare()) guards the choice; the fault handler reads the
 * mode without it, set before the first mapping exists.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/lock.h"
#include "mm/missing.h"

#define PMD_BYTES (2ul << 20)

/* How missing pages fault in this process (mode_pid); mode_lock. */
static _Atomic int mode;
static int uffd = -1;
static pid_t mode_pid;
static struct mutex mode_lock = MUTEX_INIT;

/*
 * Choose how missing pages fault in this process, on first use: the
 * UDAX_DELIVERY environment variable ("userfaultfd" or "sigsegv") or else
 * userfaultfd when permitted, PROT_NONE + SIGSEGV when not. A child of
 * fork() chooses again and never uses its parent's userfaultfd, which
 * would register ranges of the parent's address space.
 * Return: the mode, or -errno if the one asked for is unavailable.
 */
static int mode_of_this_process(void)
{
	const char *want = getenv("UDAX_DELIVERY");
	pid_t pid = getpid();
	int ret;

	mutex_lock(&mode_lock);
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
	mutex_unlock(&mode_lock);
	return ret;
}

void missing_fork_prepare(void)
{
	mutex_lock(&mode_lock);
}

void missing_fork_parent(void)
{
	mutex_unlock(&mode_lock);
}

/* The child chooses again at its first reservation or inherited range
 * (mode_pid is the parent's). */
void missing_fork_child(void)
{
	mutex_init(&mode_lock);
}

enum udax_delivery missing_delivery(void)
{
	enum udax_delivery m;

	mutex_lock(&mode_lock);
	m = mode_pid == getpid() ? (enum udax_delivery)atomic_load_explicit(&mode,
									 memory_order_relaxed)
				 : UDAX_DELIVERY_NONE;
	mutex_unlock(&mode_lock);
	return m;
}

bool missing_by_userfaultfd(void)
{
	return atomic_load_explicit(&mode, memory_order_relaxed) == UDAX_DELIVERY_USERFAULTFD;
}

/* Either way the range is not inherited by fork() children: one made
 * without fork handlers (mm/vma_registry.c does the rest for the others)
 * faults there instead of reading zeros. A failed hint costs that only. */
int missing_range_arm(char *start, size_t len, int prot)
{
	int ret;

	(void)madvise(start, len, MADV_DONTFORK);
	if (!missing_by_userfaultfd())
		return 0;
	ret = compat_uffd_register_missing(uffd, start, len);
	if (!ret && mprotect(start, len, prot) != 0)
		ret = -errno;
	return ret;
}

int missing_range_inherit(char *start, size_t len, int prot)
{
	int ret = mode_of_this_process();

	return ret < 0 ? ret : missing_range_arm(start, len, prot);
}

int missing_range_reserve(size_t len, int prot, void **addr)
{
	size_t span = len >= PMD_BYTES ? len + PMD_BYTES : len;
	int ret = mode_of_this_process();
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
