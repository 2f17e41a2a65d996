/* SPDX-License-Identifier: MIT */
/*
 * compat.h - everything that depends on the kernel or the CPU: futexes,
 * userfaultfd probing, the write bit of a fault, zeroing a backing range.
 * No other file uses #ifdef for the platform.
 *
 * Layer: base (the lowest). May call: the kernel and libc only.
 */
#ifndef UDAX_COMPAT_H
#define UDAX_COMPAT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

void futex_wait(_Atomic uint32_t *word, uint32_t expected);
void futex_wake(_Atomic uint32_t *word, int count);
/* Futexes in memory that other processes map (MAP_SHARED): the waiter
 * gives up after `ms` milliseconds (0 when woken or the word differs,
 * -ETIMEDOUT, -EINTR). */
int futex_wait_shared(_Atomic uint32_t *word, uint32_t expected, unsigned ms);
void futex_wake_shared(_Atomic uint32_t *word, int count);

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* What a signal context tells about the access that faulted. */
enum fault_access {
	FAULT_ACCESS_READ,
	FAULT_ACCESS_WRITE,
	FAULT_ACCESS_UNKNOWN,	/* the CPU does not report it: treat as read */
};

enum fault_access compat_fault_access(const void *ucontext);

/* Open a userfaultfd whose missing faults raise SIGBUS in the faulting
 * thread. Return: fd >= 0, or -errno (-EPERM: not permitted to this
 * process; -ENOSYS: no userfaultfd; -EINVAL: no UFFD_FEATURE_SIGBUS). */
int compat_uffd_open_sigbus(void);

/* open(2) of a store's backing file: close-on-exec, never blocking (a FIFO
 * named as a store opens at once, to be refused as no regular file), and
 * never on descriptors 0, 1 or 2: should the application have closed one,
 * the store moves above 2 and /dev/null takes the slot, so that a message
 * printed to stderr can never land in the store. Like udax's userfaultfd
 * and zero memfd, it is put at half the soft RLIMIT_NOFILE (at most 1024)
 * or above, out of the way of the numbers a program dup2()s onto.
 * Return: fd or -errno. */
int compat_open_backing(const char *path, int flags, mode_t mode);
/* A random non-zero 64-bit number (getrandom, else the clock and pid). */
uint64_t compat_random64(void);

/* Register [addr, addr+len) for missing faults on uffd. Return: 0 or -errno. */
int compat_uffd_register_missing(int uffd, void *addr, size_t len);

/* Give [off, off+len) of fd zeroed, allocated space (no host ENOSPC later).
 * Return: 0 or -errno (-ENOSPC: the host is full; part of the range may
 * have been allocated). */
int compat_zero_range(int fd, uint64_t off, uint64_t len);

/* Zero [off, off+len) of fd, whose host space is allocated, without ever
 * releasing that space (not even for a moment). Return: 0 or -errno. */
int compat_zero_allocated(int fd, uint64_t off, uint64_t len);

/* pread/pwrite all of [off, off+len) of fd, retrying EINTR and short
 * counts; *done says how far it got. Return: 0, -errno, or -ENODATA at end
 * of file on a read. */
int compat_io_full(int fd, void *buf, size_t len, uint64_t off, bool write, size_t *done);

/* A descriptor reading COMPAT_ZERO_FD_BYTES of zeros from offset 0 (a
 * sparse memfd, made on first use), so that zeros reach a caller's buffer
 * through the kernel, which returns EFAULT for memory it cannot write
 * instead of the caller faulting. Return: the fd, or -errno. */
#define COMPAT_ZERO_FD_BYTES (1u << 20)
int compat_zero_fd(void);

/* Write zeros over [off, off+len) of fd. Return: 0 or -errno. */
int compat_write_zeros(int fd, uint64_t off, uint64_t len);

/* Allocate host space for [off, off+len) of fd, keeping its bytes (a file
 * system without fallocate: nothing is done). Return: 0 or -errno. */
int compat_reserve_range(int fd, uint64_t off, uint64_t len);

/* Return [off, off+len) of fd to the host; reads zeros. Return: 0 or -errno. */
int compat_discard_range(int fd, uint64_t off, uint64_t len);

/* Bring [off, off+len) of fd (2 MiB, aligned, not in the page cache yet)
 * into the page cache as one large folio, so that later small writes land
 * in it and a mapping can map it with one PMD: the first touch of a
 * MADV_HUGEPAGE mapping reads the whole aligned 2 MiB as one folio
 * (MADV_RANDOM: nothing beyond). A hint: failing costs speed only. */
void compat_page_cache_huge(int fd, uint64_t off, uint64_t len);

/* Whether [off, off+len) of fd may hold data: false only where the host
 * file system says it reads as zeros from the disk and holds no cached
 * data there (a hole, or an extent allocated but never written, which
 * SEEK_DATA skips). Async-signal-safe; on any doubt, true. */
bool compat_range_has_data(int fd, uint64_t off, uint64_t len);

/* Whether all of [off, off+len) of fd is in the page cache (cachestat(2),
 * Linux 6.5; without it, true). Async-signal-safe. */
bool compat_range_cached(int fd, uint64_t off, uint64_t len);

pid_t compat_gettid(void);

/* vm.max_map_count (65530 if it cannot be read). */
uint64_t compat_vma_limit(void);
/* The number of VMAs of this process (lines of /proc/self/maps).
 * Async-signal-safe (open/read/close only).
 * Return: false if it cannot be known (no /proc, no free descriptor). */
bool compat_vma_count(uint64_t *count);

/* Memory for code that may run in the fault signal handler (a MAP_SYNC
 * fault checkpoints the store): anonymous mappings, never malloc.
 * compat_buf_resize: grow or shrink p (old_bytes, NULL for none) to
 * new_bytes, keeping its contents. Return: the buffer, or NULL. */
void *compat_buf_resize(void *p, size_t old_bytes, size_t new_bytes);
void compat_buf_free(void *p, size_t bytes);

/*
 * Fault injection, compiled in with -DUDAX_FAULT_INJECT (make check-inject).
 * UDAX_INJECT="point:N[+][,point:N[+]...]", read at program start, makes the
 * Nth call at that point fail (and every later one with '+').
 * Points: "zero" block zeroing (-EIO), "node" index node allocation
 * (-ENOMEM), "map" installing a block in a mapping (-ENOMEM), "death" a
 * point between two ordered stores of shared data (lock.h's death_order():
 * the process kills itself there with SIGKILL, as if killed from outside
 * at that instant).
 */
enum inject_point { INJECT_ZERO, INJECT_NODE, INJECT_MAP, INJECT_DEATH, INJECT_POINTS };

#ifdef UDAX_FAULT_INJECT
bool compat_inject(enum inject_point point);
/* Die (SIGKILL) if the "death" point fires. */
void compat_inject_death(void);
/* Die at this process's nth death_order() from now on (0: never): for a
 * fork child, whose environment was read before the fork. */
void compat_inject_death_after(uint64_t nth);
#else
static inline bool compat_inject(enum inject_point point)
{
	(void)point;
	return false;
}
#endif

#endif /* UDAX_COMPAT_H */
