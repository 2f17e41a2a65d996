// SPDX-License-Identifier: MIT
/*
 * core.c - layer preload: what every interposed call of libudax-preload.so
 * starts from: the real libc functions (and the redirections of the
 * library's own libc calls to them), the root and the classification of
 * paths (a path under the root names the entry of the store with the same
 * relative path, a/b/c), the working directory inside the store, the
 * store opened on first use (and closed), the
 * state of a fork() child, the nodes (files held by path, unlink and
 * rename while held; a renamed directory takes the held files under it
 * along), and the stat of a store file or directory.
 *
 * May call: the public API of udax.h, libc.
 * Locks: store_lock (the lazy open; udax_store_open runs under it),
 * nodes_lock (the node list, names, refs; udax_rename/udax_unlink run under
 * it so that names and the store agree), cwd_lock (the working directory
 * inside the store). None is held with another.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "preload/shim.h"

/* The working directory inside the store, for exec'd programs (below). */
#define CWD_ENV "UDAX_SHIM_CWD"

static struct shim_real real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/* The configuration, read once from the environment. */
static char root[PATH_MAX];	/* normalized, no trailing '/'; "" when invalid */
static size_t root_len;
static char store_path[PATH_MAX];

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static struct udax_store *store;
static uint64_t store_dev;
static bool store_said;		/* the open failure was reported */
static _Atomic bool offset_said;
/* The process this memory is the memory of: a vfork() child (posix_spawn,
 * system, Python's subprocess, dash) runs in its parent's memory until it
 * execs, and must change none of the shim's state there. */
static _Atomic pid_t memory_owner;

static pthread_mutex_t nodes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_node *nodes;
static uint64_t hidden_seq;

static void library_fds_drop(void);

/* Told of the store's open and close, and of a fork child dropping the
 * library's descriptors (stats.c, which lies above this file). */
static struct shim_store_watch store_watch;

void shim_store_watch(const struct shim_store_watch *watch)
{
	store_watch = *watch;
}

#define RESOLVE(field) (real.field = (__typeof__(real.field))dlsym(RTLD_NEXT, #field))

/* One line on stderr, written with the real write (never through the
 * shim, whatever stderr is). */
void shim_say(const char *fmt, ...)
{
	char line[768];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!real.write(STDERR_FILENO, line, (size_t)n);
}

void shim_core_fork(int phase)
{
	if (phase == 0) {
		pthread_mutex_lock(&store_lock);
		pthread_mutex_lock(&nodes_lock);
	} else if (phase == 1) {
		pthread_mutex_unlock(&nodes_lock);
		pthread_mutex_unlock(&store_lock);
	} else {
		atomic_store(&memory_owner, getpid());
		pthread_mutex_init(&nodes_lock, NULL);
		pthread_mutex_init(&store_lock, NULL);
		if (store) {	/* the library refuses the parent's handles here:
				   the child opens the store again on first use */
			store = NULL;
			library_fds_drop();
		}
	}
}

bool shim_in_vfork_child(void)
{
	pid_t owner = atomic_load_explicit(&memory_owner, memory_order_relaxed);

	return owner && getpid() != owner;
}

int shim_path_normalize(const char *in, char *out)
{
	size_t len = 0;

	while (*in) {
		const char *c;
		size_t n;

		while (*in == '/')
			in++;
		c = in;
		while (*in && *in != '/')
			in++;
		n = (size_t)(in - c);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (len > 0 && out[len] != '/')
				len--;
			continue;
		}
		if (len + 1 + n >= PATH_MAX)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, c, n);
		len += n;
		out[len] = '\0';
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

static void config_read(void)
{
	const char *r = getenv("UDAX_ROOT"), *s = getenv("UDAX_STORE");

	if (!r || !*r)
		r = "/udax";
	if (r[0] != '/' || shim_path_normalize(r, root) || !strcmp(root, "/")) {
		shim_say("udax-preload: UDAX_ROOT=%s is not an absolute directory other than /: "
		    "no path is a udax path", r);
		root[0] = '\0';
	}
	root_len = strlen(root);
	if (!s || !*s)
		s = "udax.store";
	if (s[0] == '/' || !real.getcwd(store_path, sizeof(store_path) - strlen(s) - 2))
		snprintf(store_path, sizeof(store_path), "%s", s);
	else
		snprintf(store_path + strlen(store_path), sizeof(store_path) - strlen(store_path),
			 "/%s", s);
}

static void real_resolve(void)
{
	RESOLVE(open); RESOLVE(openat); RESOLVE(close); RESOLVE(read); RESOLVE(write);
	RESOLVE(pread); RESOLVE(pwrite); RESOLVE(readv); RESOLVE(writev);
	RESOLVE(preadv2); RESOLVE(pwritev2); RESOLVE(lseek); RESOLVE(fstat);
	RESOLVE(fstatat); RESOLVE(statx); RESOLVE(faccessat); RESOLVE(ftruncate);
	RESOLVE(truncate); RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(sync_file_range);
	RESOLVE(unlinkat); RESOLVE(renameat2); RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3);
	RESOLVE(fcntl); RESOLVE(ioctl); RESOLVE(flock); RESOLVE(fallocate);
	RESOLVE(posix_fallocate); RESOLVE(posix_fadvise); RESOLVE(sendfile);
	RESOLVE(copy_file_range); RESOLVE(splice); RESOLVE(mmap); RESOLVE(munmap);
	RESOLVE(msync); RESOLVE(mremap); RESOLVE(madvise); RESOLVE(posix_madvise); RESOLVE(mprotect); RESOLVE(fopen);
	RESOLVE(fdopen); RESOLVE(freopen); RESOLVE(mkdirat); RESOLVE(opendir);
	RESOLVE(fdopendir); RESOLVE(readdir); RESOLVE(readdir64); RESOLVE(closedir);
	RESOLVE(rewinddir); RESOLVE(telldir); RESOLVE(seekdir); RESOLVE(dirfd);
	RESOLVE(chdir); RESOLVE(fchdir); RESOLVE(getcwd);
	RESOLVE(close_range); RESOLVE(closefrom); RESOLVE(execve); RESOLVE(execveat);
	RESOLVE(fexecve); RESOLVE(execvpe); RESOLVE(unlink); RESOLVE(fchmod); RESOLVE(fchown);
	RESOLVE(fstatvfs);
	RESOLVE(sendto); RESOLVE(recvfrom); RESOLVE(sendmsg); RESOLVE(recvmsg);
	RESOLVE(shutdown); RESOLVE(getsockopt); RESOLVE(setsockopt); RESOLVE(getsockname);
	RESOLVE(getpeername); RESOLVE(connect); RESOLVE(bind); RESOLVE(listen); RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(fwrite); RESOLVE(fread); RESOLVE(fwrite_unlocked); RESOLVE(fread_unlocked);
	RESOLVE(_exit);
	config_read();
}

const struct shim_real *shim_real(void)
{
	pthread_once(&real_once, real_resolve);
	return &real;
}

/* Resolve at load, so that the library's redirected calls (which may run
 * in its fault handler) find the pointers set. */
__attribute__((constructor)) static void shim_load(void)
{
	const char *dir = getenv(CWD_ENV);

	atomic_store(&memory_owner, getpid());
	shim_real();
	if (dir && strlen(dir) < SHIM_PATH_SIZE && !strstr(dir, "//") && dir[0] != '/')
		shim_cwd_set(dir);	/* the program that exec'd this one was there */
}

int shim_fail(int err)
{
	errno = -err;
	return -1;
}

void *shim_fail_ptr(int err)
{
	errno = -err;
	return MAP_FAILED;
}

/* The working directory inside the store: chdir and fchdir (dir.c) set it,
 * relative paths (fd.c) start from it. */
static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char cwd[SHIM_PATH_SIZE];
static bool cwd_in_store;

bool shim_cwd_get(char *path)
{
	bool in;

	pthread_mutex_lock(&cwd_lock);
	in = cwd_in_store;
	if (in)
		strcpy(path, cwd);
	pthread_mutex_unlock(&cwd_lock);
	return in;
}

/* The working directory inside the store, for the programs this process
 * execs (their shim takes it at load): without it their relative paths
 * were the host's, and `cd ROOT/dir; rm -f file` in a shell removed a
 * host file (the second adversarial pass of issue 14 stage 5). In the
 * environment, so that every exec carries it, posix_spawn's and system()'s
 * too (a vfork child hands nothing over itself): CWD_ENV. */

void shim_cwd_set(const char *path)
{
	pthread_mutex_lock(&cwd_lock);
	cwd_in_store = path != NULL;
	if (path)
		strcpy(cwd, path);
	if (!shim_in_vfork_child()) {	/* (its environment is its parent's) */
		if (path)
			setenv(CWD_ENV, path, 1);
		else
			unsetenv(CWD_ENV);
	}
	pthread_mutex_unlock(&cwd_lock);
}

const char *shim_root(void)
{
	shim_real();
	return root;
}

int shim_entry_type(int where, const char *name)
{
	struct udax_store *s;
	struct udax_stat st;
	int ret;

	if (where == SHIM_ROOT)
		return UDAX_TYPE_DIR;
	ret = shim_store(&s);
	if (!ret)
		ret = udax_stat(s, name, &st);
	if (ret)
		return ret;
	if (where == SHIM_ENTRY_DIR && st.type != UDAX_TYPE_DIR)
		return -ENOTDIR;
	return (int)st.type;
}

int shim_offset_check(struct shim_ofd *ofd)
{
	if (!ofd->offset_private || (atomic_load(&ofd->flags) & O_APPEND))
		return 0;
	if (!atomic_exchange(&offset_said, true))
		shim_say("udax-preload: pid %d: a udax descriptor opened before fork() does not share "
		    "its file offset with the other process: read, write and lseek at the offset "
		    "fail (EBADF); pread, pwrite, O_APPEND writes, mmap and locks work",
		    (int)getpid());
	return -EBADF;
}

/* Whether text starts with a decimal number ending at stop. Return: the
 * character after the digits, or NULL. */
static const char *digits_then(const char *text, char stop)
{
	const char *p = text;

	while (*p >= '0' && *p <= '9')
		p++;
	return p > text && *p == stop ? p : NULL;
}

bool shim_name_is_hidden(const char *name)
{
	const char *p;

	if (strncmp(name, SHIM_HIDDEN_PREFIX, strlen(SHIM_HIDDEN_PREFIX)))
		return false;
	p = digits_then(name + strlen(SHIM_HIDDEN_PREFIX), '.');
	return p && digits_then(p + 1, '\0');
}

/* Unlink the hidden names that processes killed while holding unlinked
 * files left (those that exit let them go: shim_nodes_let_go()). */
static void hidden_sweep(struct udax_store *s)
{
	char name[UDAX_NAME_MAX + 1];
	uint64_t cookie = 0;

	while (udax_readdir(s, &cookie, name, sizeof(name)) == 1) {
		long pid = strtol(name + strlen(SHIM_HIDDEN_PREFIX), NULL, 10);

		/* a live process's (the store is shared) stays: the library
		 * would take it from under its name */
		if (shim_name_is_hidden(name) && pid > 0 && kill((pid_t)pid, 0) != 0 &&
		    errno == ESRCH)
			(void)udax_unlink(s, name);
	}
}

void shim_nodes_let_go(void)
{
	pthread_mutex_lock(&nodes_lock);
	for (struct shim_node *n = nodes; store && n; n = n->next)
		if (n->unlinked && udax_unlink(store, n->name) == 0)
			n->unlinked = false;	/* the library's to remove now */
	pthread_mutex_unlock(&nodes_lock);
}

/* FNV-1a. */
static uint64_t hash64(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

int shim_store(struct udax_store **s)
{
	struct stat host;
	int ret = shim_in_vfork_child() ? -EBUSY : 0;

	if (ret)
		return ret;
	pthread_mutex_lock(&store_lock);
	if (!store) {
		/* Shared with every other process of the store, `udax run`
		 * programs and API users alike (locks.c: the file locks too). */
		ret = udax_store_open(store_path, 0, &store);
		if (ret == -EACCES || ret == -EROFS || ret == -EPERM)
			ret = udax_store_open(store_path, UDAX_STORE_RDONLY, &store);
		if (ret && !store_said) {
			store_said = true;
			shim_say("udax-preload: cannot open the store %s for the files under %s: %s%s%s",
			    store_path, root, strerror(-ret), *udax_strerror_detail() ? ": " : "",
			    udax_strerror_detail());
		}
		if (!ret) {
			if (store_watch.opened)
				store_watch.opened();
			hidden_sweep(store);
			if (real.fstatat(AT_FDCWD, store_path, &host, 0) == 0)
				store_dev = hash64(&host.st_ino, sizeof(host.st_ino),
						   hash64(&host.st_dev, sizeof(host.st_dev),
							  0xcbf29ce484222325ull));
			store_dev |= 1ull << 63;
		}
	}
	*s = store;
	pthread_mutex_unlock(&store_lock);
	return ret;
}

uint64_t shim_ino(const char *name)
{
	if (!*name)
		return 2;	/* the root, as a file system's */
	return hash64(name, strlen(name), 0xcbf29ce484222325ull) | 1;
}

uint64_t shim_dev(void)
{
	return store_dev;
}

void shim_stat_fill(struct stat *st, const char *name, uint64_t size, uint64_t blocks)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = shim_dev();
	st->st_ino = shim_ino(name);
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = shim_name_is_hidden(name) ? 0 : 1;
	st->st_uid = geteuid();
	st->st_gid = getegid();
	st->st_size = (off_t)size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)(blocks * 8);
}

void shim_stat_dir(struct stat *st, const char *path)
{
	char name[UDAX_NAME_MAX + 1];
	struct udax_store *s;
	uint64_t cookie = 0;
	unsigned type;

	memset(st, 0, sizeof(*st));
	st->st_dev = shim_dev();
	st->st_ino = shim_ino(path);
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;	/* and one per subdirectory, as the kernel counts */
	if (shim_store(&s) == 0)
		while (udax_readdir2(s, path, &cookie, name, sizeof(name), &type) == 1)
			st->st_nlink += type == UDAX_TYPE_DIR;
	st->st_uid = geteuid();
	st->st_gid = getegid();
	st->st_blksize = 4096;
}

/* Return: the held node called name, or NULL (under nodes_lock). */
static struct shim_node *node_find(const char *name)
{
	for (struct shim_node *n = nodes; n; n = n->next)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

static const int sync_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };

int shim_node_size(struct shim_node *node, uint64_t *size)
{
	struct udax_store *s;
	struct udax_stat st;
	int ret = shim_store(&s);

	if (ret)
		return ret;
	sigset_t all, was;

	/* a signal handler may reach here too (a write of a mapped buffer):
	 * it must not find nodes_lock held by the thread it interrupted */
	sigfillset(&all);
	for (int sig = 0; sig < (int)(sizeof(sync_signals) / sizeof(sync_signals[0])); sig++)
		sigdelset(&all, sync_signals[sig]);	/* those of a fault stay open */
	pthread_sigmask(SIG_BLOCK, &all, &was);
	pthread_mutex_lock(&nodes_lock);
	ret = udax_stat(s, node->name, &st);
	pthread_mutex_unlock(&nodes_lock);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	if (ret == 0)
		*size = st.size;
	return ret;
}

void shim_node_name(struct shim_node *node, char *name)
{
	pthread_mutex_lock(&nodes_lock);
	strcpy(name, node->name);
	pthread_mutex_unlock(&nodes_lock);
}

struct shim_node *shim_node_get(const char *name)
{
	struct shim_node *n;

	pthread_mutex_lock(&nodes_lock);
	n = node_find(name);
	if (n) {
		n->refs++;
	} else {
		n = calloc(1, sizeof(*n));
		if (n) {
			strcpy(n->name, name);
			n->refs = 1;
			n->lock_fd = -1;
			n->next = nodes;
			nodes = n;
		}
	}
	pthread_mutex_unlock(&nodes_lock);
	return n;
}

void shim_node_put(struct shim_node *node)
{
	struct shim_node **link;

	pthread_mutex_lock(&nodes_lock);
	if (--node->refs) {
		pthread_mutex_unlock(&nodes_lock);
		return;
	}
	for (link = &nodes; *link != node; link = &(*link)->next)
		;
	*link = node->next;
	if (node->unlinked && store)	/* (a fork child's may not be yet) */
		(void)udax_unlink(store, node->name);
	pthread_mutex_unlock(&nodes_lock);
	if (node->lock_fd >= 0)	/* its last user: nobody else reads it */
		shim_libc_close(node->lock_fd);
	free(node);
}

/* Rename the held node n out of the way, to a hidden name (under
 * nodes_lock). Return: 0 or -errno. */
static int node_hide(struct udax_store *s, struct shim_node *n)
{
	char hidden[UDAX_NAME_MAX + 1];
	int ret;

	snprintf(hidden, sizeof(hidden), SHIM_HIDDEN_PREFIX "%d.%llu", (int)getpid(),
		 (unsigned long long)++hidden_seq);
	ret = udax_rename(s, n->name, hidden);
	if (ret)
		return ret;
	strcpy(n->name, hidden);
	n->unlinked = true;
	return 0;
}

int shim_node_unlink(struct udax_store *s, const char *name)
{
	struct shim_node *n;
	int ret;

	pthread_mutex_lock(&nodes_lock);
	n = node_find(name);
	ret = n ? node_hide(s, n) : udax_unlink(s, name);
	pthread_mutex_unlock(&nodes_lock);
	return ret;
}

/* After from was renamed to to: the held node of from, and those under
 * from if it is a directory, take their new paths (under nodes_lock). */
static void nodes_moved(const char *from, const char *to)
{
	size_t len = strlen(from);

	for (struct shim_node *n = nodes; n; n = n->next) {
		char moved[SHIM_PATH_SIZE];

		if (strncmp(n->name, from, len) || (n->name[len] && n->name[len] != '/'))
			continue;
		if ((size_t)snprintf(moved, sizeof(moved), "%s%s", to, n->name + len) <
		    sizeof(moved))
			strcpy(n->name, moved);
	}
}

int shim_node_rename(struct udax_store *s, const char *from, const char *to)
{
	struct shim_node *victim;
	struct udax_stat st;
	int ret;

	pthread_mutex_lock(&nodes_lock);
	ret = udax_stat(s, from, &st);
	if (ret)	/* fails, with the errno in the kernel's order */
		ret = udax_rename(s, from, to);
	else if (strcmp(from, to)) {
		victim = node_find(to);
		if (victim)
			ret = node_hide(s, victim);
		if (ret == 0)
			ret = udax_rename(s, from, to);
		if (ret == 0)
			nodes_moved(from, to);
	}
	pthread_mutex_unlock(&nodes_lock);
	return ret;
}

bool shim_store_opened(void)
{
	return __atomic_load_n(&store, __ATOMIC_RELAXED) != NULL;
}

int shim_store_counters(struct udax_file_stat *c)
{
	int ret;

	pthread_mutex_lock(&store_lock);
	ret = store ? udax_store_counters(store, c) : -ENOENT;
	pthread_mutex_unlock(&store_lock);
	return ret;
}

void shim_store_exit_sync(void)
{
	if (pthread_mutex_trylock(&store_lock) != 0)
		return;	/* held: by this thread, interrupted, or another's open */
	if (store)
		(void)udax_store_sync(store);
	pthread_mutex_unlock(&store_lock);
}

int shim_store_close(void)
{
	int ret;

	pthread_mutex_lock(&store_lock);
	ret = store ? udax_store_close(store) : 0;
	if (ret != -EBUSY) {
		store = NULL;
		if (store_watch.closed)
			store_watch.closed();
	}
	pthread_mutex_unlock(&store_lock);
	return ret;
}

/* The descriptors the library holds (opened or duplicated through the
 * calls below), one bit each below LIBRARY_FDS: the program's close,
 * close_range, closefrom, dup2 and dup3 leave them alone (fd.c). */
#define LIBRARY_FDS 65536
static _Atomic uint64_t library_fds[LIBRARY_FDS / 64];
static _Atomic uint64_t kept_fds[LIBRARY_FDS / 64];	/* of those, a child's too */

int shim_fd_mark_library(int fd, bool held)
{
	if (fd >= 0 && fd < LIBRARY_FDS) {
		uint64_t bit = 1ull << (fd % 64);

		if (held)
			atomic_fetch_or(&library_fds[fd / 64], bit);
		else
			atomic_fetch_and(&library_fds[fd / 64], ~bit);
		atomic_fetch_and(&kept_fds[fd / 64], ~bit);
	}
	return fd;
}

int shim_fd_keep_in_child(int fd)
{
	if (fd >= 0 && fd < LIBRARY_FDS)
		atomic_fetch_or(&kept_fds[fd / 64], 1ull << (fd % 64));
	return fd;
}

/* In a fork() child of a process holding the store: close the copies of
 * the library's descriptors (the store, its userfaultfd, the kept
 * stderr) but the lock proxies. The child may not use them, and the
 * program cannot close them: a daemon forked off would hold the store's
 * descriptions until it exits, and pipes open for as long. */
static void library_fds_drop(void)
{
	for (int word = 0; word < LIBRARY_FDS / 64; word++) {
		uint64_t kept = atomic_load(&kept_fds[word]);
		uint64_t bits = atomic_fetch_and(&library_fds[word], kept) & ~kept;

		while (bits) {
			int bit = __builtin_ctzll(bits);

			real.close(word * 64 + bit);
			bits &= bits - 1;
		}
	}
	if (store_watch.forked)
		store_watch.forked();
}

int shim_fd_aside(int fd)
{
	struct rlimit rl;
	int floor = 1024, high;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < 1024)
		floor = rl.rlim_cur / 2 > STDERR_FILENO ? (int)(rl.rlim_cur / 2) : STDERR_FILENO + 1;
	high = real.fcntl(fd, F_DUPFD_CLOEXEC, floor);
	if (high < 0)
		return fd;	/* no room up there */
	if (shim_fd_is_library(fd)) {
		shim_fd_mark_library(high, true);
		if (atomic_load(&kept_fds[fd / 64]) >> (fd % 64) & 1)
			shim_fd_keep_in_child(high);
		shim_fd_mark_library(fd, false);
	}
	real.close(fd);
	return high;
}

bool shim_fd_is_library(int fd)
{
	return fd >= 0 && fd < LIBRARY_FDS &&
	       (atomic_load_explicit(&library_fds[fd / 64], memory_order_relaxed) >> (fd % 64) & 1);
}

int shim_fd_next_library(unsigned from)
{
	for (unsigned fd = from; fd < LIBRARY_FDS; fd++) {
		uint64_t word = atomic_load_explicit(&library_fds[fd / 64], memory_order_relaxed);

		word &= ~0ull << (fd % 64);
		if (word)
			return (int)(fd / 64 * 64) + __builtin_ctzll(word);
		fd |= 63;
	}
	return -1;
}

/* The library's own libc calls (redirected by objcopy). */
int shim_libc_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if ((flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return shim_fd_mark_library(real.open(path, flags, mode), true);
}

int shim_libc_close(int fd)
{
	shim_fd_mark_library(fd, false);
	return real.close(fd);
}

ssize_t shim_libc_read(int fd, void *buf, size_t len)
{
	return real.read(fd, buf, len);
}

ssize_t shim_libc_write(int fd, const void *buf, size_t len)
{
	return real.write(fd, buf, len);
}

ssize_t shim_libc_pread(int fd, void *buf, size_t len, off_t off)
{
	return real.pread(fd, buf, len, off);
}

ssize_t shim_libc_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return real.pwrite(fd, buf, len, off);
}

off_t shim_libc_lseek(int fd, off_t off, int whence)
{
	return real.lseek(fd, off, whence);
}

int shim_libc_fstat(int fd, struct stat *st)
{
	return real.fstat(fd, st);
}

int shim_libc_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return real.fstatat(dirfd, path, st, flags);
}

int shim_libc_fstatvfs(int fd, struct statvfs *st)
{
	return real.fstatvfs(fd, st);
}

int shim_libc_ftruncate(int fd, off_t len)
{
	return real.ftruncate(fd, len);
}

int shim_libc_fsync(int fd)
{
	return real.fsync(fd);
}

int shim_libc_fdatasync(int fd)
{
	return real.fdatasync(fd);
}

int shim_libc_unlink(const char *path)
{
	return real.unlink(path);
}

int shim_libc_fchmod(int fd, mode_t mode)
{
	return real.fchmod(fd, mode);
}

int shim_libc_fchown(int fd, uid_t uid, gid_t gid)
{
	return real.fchown(fd, uid, gid);
}

int shim_libc_posix_fallocate(int fd, off_t off, off_t len)
{
	return real.posix_fallocate(fd, off, len);
}

int shim_libc_dup2(int from, int to)
{
	return real.dup2(from, to);
}

int shim_libc_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return shim_fd_mark_library(real.fcntl(fd, cmd, arg), true);
	return real.fcntl(fd, cmd, arg);
}

int shim_libc_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	return real.ioctl(fd, req, arg);
}

int shim_libc_flock(int fd, int op)
{
	return real.flock(fd, op);
}

int shim_libc_fallocate(int fd, int mode, off_t off, off_t len)
{
	return real.fallocate(fd, mode, off, len);
}

void *shim_libc_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return real.mmap(addr, len, prot, flags, fd, off);
}

int shim_libc_munmap(void *addr, size_t len)
{
	return real.munmap(addr, len);
}

void *shim_libc_mremap(void *addr, size_t old_len, size_t new_len, int flags, ...)
{
	va_list ap;
	void *new_addr = NULL;

	va_start(ap, flags);
	if (flags & MREMAP_FIXED)
		new_addr = va_arg(ap, void *);
	va_end(ap);
	return real.mremap(addr, old_len, new_len, flags, new_addr);
}

int shim_libc_madvise(void *addr, size_t len, int advice)
{
	return real.madvise(addr, len, advice);
}

int shim_libc_mprotect(void *addr, size_t len, int prot)
{
	return real.mprotect(addr, len, prot);
}

/* sigaction and signal, resolved on their own: a sanitizer's runtime
 * installs its handlers before main's environment is read, and through
 * shim_real() that first call read UDAX_STORE and UDAX_ROOT too early
 * (unset: every udax path failed, ENOENT). */
static int (*libc_sigaction)(int, const struct sigaction *, struct sigaction *);
static void (*(*libc_signal)(int, void (*)(int)))(int);
static pthread_once_t signals_once = PTHREAD_ONCE_INIT;

static void signals_resolve(void)
{
	libc_sigaction = (__typeof__(libc_sigaction))dlsym(RTLD_NEXT, "sigaction");
	libc_signal = (__typeof__(libc_signal))dlsym(RTLD_NEXT, "signal");
}

int shim_libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	pthread_once(&signals_once, signals_resolve);
	return libc_sigaction(sig, act, old);
}

void (*shim_libc_signal(int sig, void (*handler)(int)))(int)
{
	pthread_once(&signals_once, signals_resolve);
	return libc_signal(sig, handler);
}
