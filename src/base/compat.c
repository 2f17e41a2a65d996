// SPDX-License-Identifier: MIT
/*
 * compat.c - kernel and CPU specifics: futex syscalls, userfaultfd setup,
 * the fault's access type read from the signal context, backing-file zeroing.
 *
 * Holds no locks. Everything here is async-signal-safe (raw syscalls only),
 * because the fault path calls it from the SIGBUS/SIGSEGV handler.
 *
 * Layer: base (the lowest). May call: the kernel and libc only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/falloc.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"

void futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

void futex_wake(_Atomic uint32_t *word, int count)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

int futex_wait_shared(_Atomic uint32_t *word, uint32_t expected, unsigned ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	if (syscall(SYS_futex, word, FUTEX_WAIT, expected, &t, NULL, 0) == 0 || errno == EAGAIN)
		return 0;
	return -errno;
}

void futex_wake_shared(_Atomic uint32_t *word, int count)
{
	syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

/* The lowest number the library's long-lived descriptors take: half the
 * soft RLIMIT_NOFILE, at most 1024, at least 3. Programs take the lowest
 * free numbers and dup2 onto small ones of their choosing (a shell's
 * `exec 3<FILE`): up there, udax's store, userfaultfd and zero memfd are
 * out of their way. */
static int fd_floor(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur / 2 > 1024)
		return 1024;
	return rl.rlim_cur / 2 > STDERR_FILENO ? (int)(rl.rlim_cur / 2) : STDERR_FILENO + 1;
}

/* A close-on-exec copy of fd at fd_floor() or above, else above 2 (no room
 * up there). fd stays open. Return: the copy, or -errno. */
static int fd_copy_aside(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, fd_floor());

	if (high < 0)	/* no room up there */
		high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	return high < 0 ? -errno : high;
}

/* Move fd, a descriptor udax keeps, out of the program's way
 * (fd_copy_aside()). Return: its new number, or fd if it cannot move. */
static int fd_aside(int fd)
{
	int high;

	if (fd >= fd_floor())
		return fd;
	high = fd_copy_aside(fd);
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

int compat_open_backing(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, mode);
	int high;

	if (fd < 0)
		return -errno;
	if (fd > STDERR_FILENO)
		return fd_aside(fd);
	/* Never on 0, 1 or 2 (a closed stderr made messages land in the
	 * superblock): above, and the slot closed again as the program left
	 * it, so that its next open gets it, as without udax. */
	high = fd_copy_aside(fd);
	close(fd);
	return high;
}

static size_t buf_span(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

void *compat_buf_resize(void *p, size_t old_bytes, size_t new_bytes)
{
	void *q;

	if (!p || !old_bytes) {
		q = mmap(NULL, buf_span(new_bytes), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return q == MAP_FAILED ? NULL : q;
	}
	q = mremap(p, buf_span(old_bytes), buf_span(new_bytes), MREMAP_MAYMOVE);
	return q == MAP_FAILED ? NULL : q;
}

void compat_buf_free(void *p, size_t bytes)
{
	if (p && bytes)
		munmap(p, buf_span(bytes));
}

pid_t compat_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* One buffer for reading /proc files: the 4 KiB a read wants would be too
 * much for the fault handler's stack (it may run on an application's small
 * sigaltstack). proc_buf_busy guards it; a holder touches nothing else. */
static char proc_buf[4096];
static atomic_flag proc_buf_busy = ATOMIC_FLAG_INIT;

/* Count '\n' bytes in the file at path. Return: whether it could be read;
 * *lines the count, *first the number its text starts with. */
static bool count_lines(const char *path, uint64_t *lines, uint64_t *first)
{
	bool leading = true;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*lines = *first = 0;
	if (fd < 0)
		return false;
	/* acquire pairs with the release below */
	while (atomic_flag_test_and_set_explicit(&proc_buf_busy, memory_order_acquire))
		cpu_relax();
	while ((n = read(fd, proc_buf, sizeof(proc_buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (leading && proc_buf[i] >= '0' && proc_buf[i] <= '9')
				*first = *first * 10 + (uint64_t)(proc_buf[i] - '0');
			else
				leading = false;
			*lines += proc_buf[i] == '\n';
		}
	}
	atomic_flag_clear_explicit(&proc_buf_busy, memory_order_release);
	close(fd);
	return n == 0;
}

uint64_t compat_vma_limit(void)
{
	uint64_t lines, limit;

	return count_lines("/proc/sys/vm/max_map_count", &lines, &limit) && limit ? limit
										      : 65530;
}

bool compat_vma_count(uint64_t *count)
{
	uint64_t unused;

	return count_lines("/proc/self/maps", count, &unused) && *count;
}

enum fault_access compat_fault_access(const void *ucontext)
{
#if defined(__x86_64__)
	/* x86 page-fault error code: bit 1 set for a write access. */
	const ucontext_t *uc = ucontext;

	return (uc->uc_mcontext.gregs[REG_ERR] & 2) ? FAULT_ACCESS_WRITE
						    : FAULT_ACCESS_READ;
#else
	(void)ucontext;
	return FAULT_ACCESS_UNKNOWN;
#endif
}

int compat_uffd_open_sigbus(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_SIGBUS };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int err;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) == 0)
		return fd_aside(fd);
	err = errno;
	close(fd);
	return -err;
}

int compat_uffd_register_missing(int uffd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &reg) == 0 ? 0 : -errno;
}

int compat_io_full(int fd, void *buf, size_t len, uint64_t off, bool write, size_t *done)
{
	*done = 0;
	while (*done < len) {
		char *p = (char *)buf + *done;
		ssize_t n = write ? pwrite(fd, p, len - *done, (off_t)(off + *done))
				  : pread(fd, p, len - *done, (off_t)(off + *done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		*done += (size_t)n;
	}
	return 0;
}

int compat_zero_fd(void)
{
	static _Atomic int zero_fd = -1;
	int fd = atomic_load_explicit(&zero_fd, memory_order_acquire), expected = -1;

	if (fd >= 0)
		return fd;
	fd = (int)syscall(SYS_memfd_create, "udax-zeros", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	fd = fd_aside(fd);
	if (ftruncate(fd, COMPAT_ZERO_FD_BYTES) != 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	/* Two first users: one keeps its fd, the other closes its own. */
	if (!atomic_compare_exchange_strong_explicit(&zero_fd, &expected, fd,
						     memory_order_acq_rel, memory_order_acquire)) {
		close(fd);
		fd = expected;
	}
	return fd;
}

int compat_write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[4096];

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros), done;
		int ret = compat_io_full(fd, (void *)zeros, n, off, true, &done);

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

int compat_zero_range(int fd, uint64_t off, uint64_t len)
{
	if (compat_inject(INJECT_ZERO))
		return -EIO;
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	if (errno == ENOSPC || errno == EIO)
		return -errno;
	/* tmpfs and some file systems lack ZERO_RANGE: punch, then allocate. */
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0) {
		if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
			return 0;
		return errno == EOPNOTSUPP ? 0 : -errno;
	}
	if (errno == ENOSPC || errno == EIO)
		return -errno;
	return compat_write_zeros(fd, off, len);
}

int compat_zero_allocated(int fd, uint64_t off, uint64_t len)
{
	if (compat_inject(INJECT_ZERO))
		return -EIO;
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return errno == EOPNOTSUPP ? compat_write_zeros(fd, off, len) : -errno;
}

int compat_reserve_range(int fd, uint64_t off, uint64_t len)
{
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	return errno == EOPNOTSUPP ? 0 : -errno;
}

int compat_discard_range(int fd, uint64_t off, uint64_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return compat_write_zeros(fd, off, len);
}

void compat_page_cache_huge(int fd, uint64_t off, uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);

	if (p == MAP_FAILED)
		return;
	(void)madvise(p, len, MADV_HUGEPAGE);
	(void)madvise(p, len, MADV_RANDOM);
	(void)madvise(p, 4096, MADV_POPULATE_READ);
	munmap(p, len);
}

bool compat_range_has_data(int fd, uint64_t off, uint64_t len)
{
	/* The file position it moves is used by nobody: all store I/O is
	 * positioned. ENXIO: no data from off to the end of the file. */
	int saved_errno = errno;
	off_t at = lseek(fd, (off_t)off, SEEK_DATA);
	bool has_data = at < 0 ? errno != ENXIO : (uint64_t)at < off + len;

	errno = saved_errno;
	return has_data;
}

/* cachestat(2) (Linux 6.5), not in older headers: the same number on
 * every architecture. */
#define COMPAT_SYS_CACHESTAT 451
struct compat_cachestat_range {
	uint64_t off, len;
};
struct compat_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

bool compat_range_cached(int fd, uint64_t off, uint64_t len)
{
	struct compat_cachestat_range range = { off, len };
	struct compat_cachestat cs;
	int saved_errno = errno;
	long ret = syscall(COMPAT_SYS_CACHESTAT, fd, &range, &cs, 0);

	errno = saved_errno;
	return ret != 0 || cs.nr_cache >= len / 4096;
}

#ifdef UDAX_FAULT_INJECT
static struct {
	uint64_t nth;		/* 0: never */
	bool and_later;
	_Atomic uint64_t calls;
} inject[INJECT_POINTS];

/* Parse UDAX_INJECT before main() and before constructors of default
 * priority (the preload shim's may call udax), so that the fault path
 * only counts. */
__attribute__((constructor(101))) static void inject_parse(void)
{
	static const char *const names[INJECT_POINTS] = { "zero", "node", "map", "death" };
	const char *p = getenv("UDAX_INJECT");

	while (p && *p) {
		for (int i = 0; i < INJECT_POINTS; i++) {
			size_t n = strlen(names[i]);
			char *end;

			if (strncmp(p, names[i], n) || p[n] != ':')
				continue;
			inject[i].nth = strtoull(p + n + 1, &end, 10);
			inject[i].and_later = *end == '+';
			break;
		}
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
}

bool compat_inject(enum inject_point point)
{
	uint64_t call = atomic_fetch_add_explicit(&inject[point].calls, 1,
						  memory_order_relaxed) + 1;

	return inject[point].nth &&
	       (call == inject[point].nth || (inject[point].and_later && call > inject[point].nth));
}

void compat_inject_death(void)
{
	if (compat_inject(INJECT_DEATH))
		raise(SIGKILL);
}

void compat_inject_death_after(uint64_t nth)
{
	inject[INJECT_DEATH].and_later = false;
	inject[INJECT_DEATH].nth = nth;
	atomic_store_explicit(&inject[INJECT_DEATH].calls, 0, memory_order_relaxed);
}
#endif

uint64_t compat_random64(void)
{
	struct timespec ts;
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v) && v)
		return v;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
	       ((uint64_t)getpid() << 40) ^ 1;
}
