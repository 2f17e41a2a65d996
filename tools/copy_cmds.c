// SPDX-License-Identifier: MIT
/*
 * copy_cmds.c - `udax put`, `udax get` and `udax cat`: copying between host
 * files and store files without ever destroying what was there.
 *
 * put copies into a temporary store file (".udax-put.PID.N"), makes it
 * durable and renames it over NAME (udax_rename: atomic and durable), so a
 * failure, a caught signal or a SIGKILL leaves NAME as it was; a caught
 * signal or a failure also removes the temporary file. A SIGKILL leaves
 * it: the next put names those it finds (it never removes them: a file of
 * that name may be somebody's own). put copies a regular host file through
 * a mapping, run of data by run of data (lseek SEEK_DATA/SEEK_HOLE: holes
 * stay holes), to its end even if it grows meanwhile. get writes a
 * temporary host file beside HOSTFILE, syncs it and renames it over
 * HOSTFILE; get and cat into an empty regular file write only the runs of
 * data (udax_seek_data()) and leave holes as holes. Neither copies the
 * store file into or over itself. Messages
 * name the side that failed: the store NAME or the host path.
 * Single-threaded; the only shared state is the flag set by the signal
 * handler.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cli.h"
#include "udax.h"

#define COPY_CHUNK (8u << 20)
#define PUT_TEMP_PREFIX ".udax-put."
#define SYMLINK_HOPS 40

/* put or get -q/--quiet: no progress line. */
static bool quiet;

/* The -q/--quiet option of put and get. */
static const struct option quiet_longopts[] = {
	{ "quiet", no_argument, NULL, 'q' },
	{ NULL, 0, NULL, 0 },
};

/* The signal (SIGINT, SIGTERM or SIGHUP) caught by put or get, or 0. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

/* Catch the signals that ask a command to stop, without SA_RESTART: a
 * blocking read or write returns EINTR, and the copy loop sees the flag.
 * One the command was started with ignored (nohup, a background job of a
 * shell) stays ignored. */
static void interrupts_catch(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

/* Return: the exit status of a command stopped by a caught signal. */
static int interrupted_status(const char *what)
{
	fprintf(stderr, "udax %s: interrupted by signal %d; %s\n", cli_cmd, (int)interrupted,
		what);
	return 128 + interrupted;
}

/* A progress line on stderr for copies of PROGRESS_MIN bytes and more,
 * when stderr is a terminal and not -q. */
#define PROGRESS_MIN (64ull << 20)
struct progress {
	char name[NAME_ESCAPED_SIZE(UDAX_NAME_MAX)];	/* the store file, escaped */
	uint64_t total;
	double next;		/* when to print again; 0: never */
	bool shown;		/* a line is on the terminal */
};

static void progress_start(struct progress *p, const char *name, uint64_t total)
{
	name_escape(name, UDAX_NAME_MAX, p->name);
	p->total = total;
	p->next = !quiet && total >= PROGRESS_MIN && isatty(STDERR_FILENO)
		  ? now_seconds() + 0.5 : 0;
	p->shown = false;
}

static void progress_show(struct progress *p, uint64_t done)
{
	double now;

	if (!p->next || (now = now_seconds()) < p->next)
		return;
	p->next = now + 0.25;
	p->shown = true;
	if (done > p->total)	/* a host file that grew */
		p->total = done;
	fprintf(stderr, "\rudax %s: %s: %llu of %llu MiB (%u%%)\033[K", cli_cmd, p->name,
		(unsigned long long)(done >> 20), (unsigned long long)(p->total >> 20),
		(unsigned)(done * 100 / p->total));
}

static void progress_end(struct progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r\033[K");
}

/* One copy between a store file and a host file. */
struct copy {
	struct udax_file *f;
	int fd;
	const char *name;	/* the store file's name */
	const char *host;	/* the host file's path, or "standard input/output" */
	bool in;		/* put: host to store; get, cat: store to host */
	const char *map;	/* put: the host file mapped read-only, or NULL */
	uint64_t map_size;
	char *buf;		/* COPY_CHUNK bytes, allocated when needed */
	struct progress progress;
};

/* The host file of c mapped read-only, so that put copies it once (the
 * kernel reads the mapping into the store) instead of twice (read(2) into
 * a buffer, then udax_pwrite). No mapping (not a regular file, empty, or
 * mmap fails): put reads it. */
static void host_map(struct copy *c)
{
	struct stat st;
	void *map;

	if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, c->fd, 0);
	if (map == MAP_FAILED)
		return;
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	c->map = map;
	c->map_size = (uint64_t)st.st_size;
}

/* Say that the host file of a put shrank. Return: 1. */
static int host_shrank(const struct copy *c)
{
	char shown[PATH_ESCAPED_SIZE];

	fprintf(stderr, "udax %s: %s: the host file shrank while it was being copied\n",
		cli_cmd, name_escape(c->host, PATH_SHOWN_MAX, shown));
	return 1;
}

/* Write the n bytes at src to offset off of c's destination (the store
 * file for put, the host file for get and cat), stopping early when a
 * signal is caught. Return: 0, or 1 after printing why it failed. */
static int copy_write(struct copy *c, const char *src, size_t n, uint64_t off)
{
	for (size_t done = 0; done < n && !interrupted;) {
		ssize_t w = c->in ? udax_pwrite(c->f, src + done, n - done, off + done)
				  : write(c->fd, src + done, n - done);

		if (w < 0 && !c->in && errno == EINTR)
			continue;
		if (w == -EFAULT && c->map)
			return host_shrank(c);
		if (w <= 0)
			return c->in ? fail_detail(c->name, w ? (int)w : -EIO)
				     : fail(c->host, w ? -errno : -EIO);
		done += (size_t)w;
	}
	return 0;
}

/* The next run of data of the host file at or after off, as
 * lseek(SEEK_DATA, SEEK_HOLE) find it (on a file system without them: all
 * of the file from off). Fills *data. Return: its length, 0 if no data
 * follows off, or -errno. */
static int64_t host_data_next(int fd, uint64_t off, uint64_t *data)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA), h;
	struct stat st;

	if (d < 0 && errno == ENXIO)
		return 0;
	if (d < 0) {
		if (fstat(fd, &st) != 0)
			return -errno;
		d = (off_t)off;
		h = st.st_size > d ? st.st_size : d;
	} else {
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return errno == ENXIO ? 0 : -errno;
	}
	*data = (uint64_t)d;
	return h - d;
}

/*
 * put's copy of a mapped host file: its runs of data only, so that its
 * holes stay holes in the store file, then the store file's size set to
 * the host file's. A host file that grows is copied to its end (past the
 * mapping with pread); one that shrinks under the mapping makes
 * udax_pwrite fail with -EFAULT. Return: 0, or 1 after printing why.
 */
static int copy_in_sparse(struct copy *c)
{
	uint64_t off = 0, data = 0, end;
	struct stat st;
	int status, ret;

	for (;;) {
		int64_t len;
		const char *src;

		if (interrupted)
			return 0;
		/* The size first: data written before it is seen below. */
		if (fstat(c->fd, &st) != 0)
			return fail(c->host, -errno);
		end = (uint64_t)st.st_size;
		len = host_data_next(c->fd, off, &data);
		if (len < 0)
			return fail(c->host, (int)len);
		if (!len)
			break;
		if (len > COPY_CHUNK)
			len = COPY_CHUNK;
		if (data + (uint64_t)len <= c->map_size) {
			src = c->map + data;
		} else {
			if (!c->buf && !(c->buf = malloc(COPY_CHUNK)))
				return fail(c->host, -ENOMEM);
			len = pread(c->fd, c->buf, (size_t)len, (off_t)data);
			if (len < 0 && errno == EINTR)
				continue;
			if (len < 0)
				return fail(c->host, -errno);
			if (!len)
				return host_shrank(c);
			src = c->buf;
		}
		status = copy_write(c, src, (size_t)len, data);
		if (status)
			return status;
		off = data + (uint64_t)len;
		progress_show(&c->progress, off);
	}
	if (end < off)
		return host_shrank(c);
	ret = end > off ? udax_truncate(c->f, end) : 0;
	return ret ? fail_detail(c->name, ret) : 0;
}

/* The copy in order: the host file read (put of a pipe, a device, a file
 * that cannot be mapped) or the store file read (get, cat), chunk by
 * chunk. Return: 0, or 1 after printing why it failed. */
static int copy_stream(struct copy *c)
{
	uint64_t off = 0;
	int status;

	if (!(c->buf = malloc(COPY_CHUNK)))
		return fail(c->in ? c->host : c->name, -ENOMEM);
	while (!interrupted) {
		ssize_t n = c->in ? read(c->fd, c->buf, COPY_CHUNK)
				  : udax_pread(c->f, c->buf, COPY_CHUNK, off);

		if (n < 0 && c->in && errno == EINTR)
			continue;
		if (n < 0)
			return c->in ? fail(c->host, -errno) : fail_detail(c->name, (int)n);
		if (!n)
			return 0;
		status = copy_write(c, c->buf, (size_t)n, off);
		if (status)
			return status;
		off += (uint64_t)n;
		progress_show(&c->progress, off);
	}
	return 0;
}

/* Whether out to host file fd, holes can be skipped rather than written:
 * an empty regular file written from its start, not in append mode (get's
 * temporary file; cat or get - into a new file). The result reads the same. */
static bool host_takes_holes(int fd)
{
	struct stat st;
	int flags = fcntl(fd, F_GETFL);

	return flags >= 0 && !(flags & O_APPEND) && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_size == 0 && lseek(fd, 0, SEEK_CUR) == 0;
}

/* The copy of store file c->f (size bytes) out to an empty host file, run
 * of data by run of data: holes are skipped (lseek), the host file's size
 * set at the end. Return: 0, or 1 after printing why it failed. */
static int copy_out_sparse(struct copy *c, uint64_t size)
{
	int64_t data = -ENXIO, hole = 0;
	int status;

	if (!(c->buf = malloc(COPY_CHUNK)))
		return fail(c->name, -ENOMEM);
	while (!interrupted && (data = udax_seek_data(c->f, (uint64_t)hole, SEEK_DATA)) >= 0) {
		hole = udax_seek_data(c->f, (uint64_t)data, SEEK_HOLE);
		if (hole < 0)
			return fail_detail(c->name, (int)hole);
		for (uint64_t off = (uint64_t)data; off < (uint64_t)hole && !interrupted;) {
			uint64_t want = (uint64_t)hole - off;
			ssize_t n = udax_pread(c->f, c->buf, want < COPY_CHUNK ? want : COPY_CHUNK, off);

			if (n < 0)
				return fail_detail(c->name, (int)n);
			if (!n)
				break;
			if (lseek(c->fd, (off_t)off, SEEK_SET) < 0)
				return fail(c->host, -errno);
			status = copy_write(c, c->buf, (size_t)n, off);
			if (status)
				return status;
			off += (uint64_t)n;
			progress_show(&c->progress, off);
		}
	}
	if (interrupted)
		return 0;
	if (data != -ENXIO)
		return fail_detail(c->name, (int)data);
	return ftruncate(c->fd, (off_t)size) ? fail(c->host, -errno) : 0;
}

/*
 * Copy the host file at fd into store file f (in), or f out to fd,
 * stopping at the next chunk once a signal is caught. name is f's name,
 * host fd's path ("standard input", "standard output"): messages name
 * the side that failed.
 * Return: 0, 1 after printing why it failed, or -1 if interrupted.
 */
static int copy_file(struct udax_file *f, int fd, const char *name, const char *host, bool in)
{
	struct copy c = { .f = f, .fd = fd, .name = name, .host = host, .in = in };
	struct udax_file_stat fst = { .size = 0 };
	int status;

	if (in)
		host_map(&c);
	else
		(void)udax_fstat(f, &fst);
	progress_start(&c.progress, name, in ? c.map_size : fst.size);
	if (c.map)
		status = copy_in_sparse(&c);
	else if (!in && host_takes_holes(fd))
		status = copy_out_sparse(&c, fst.size);
	else
		status = copy_stream(&c);
	progress_end(&c.progress);
	if (c.map)
		munmap((void *)c.map, c.map_size);
	free(c.buf);
	return status ? status : interrupted ? -1 : 0;
}

/* Whether host file st is the store file at store (or a hard link). */
static bool is_store_file(const char *store, const struct stat *st)
{
	struct stat sst;

	return store && stat(store, &sst) == 0 && sst.st_dev == st->st_dev &&
	       sst.st_ino == st->st_ino;
}

/* Whether name is a temporary file of a put that has ended without
 * removing it: ".udax-put.PID.N" whose PID is not running (or is ours:
 * this process has made none yet). */
static bool put_temp_left(const char *name)
{
	const char *p = name + strlen(PUT_TEMP_PREFIX);
	char *end;
	long pid;

	if (strncmp(name, PUT_TEMP_PREFIX, strlen(PUT_TEMP_PREFIX)) || *p < '1' || *p > '9')
		return false;
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno || pid > INT_MAX || *end != '.' || !end[1] ||
	    strspn(end + 1, "0123456789") != strlen(end + 1))
		return false;
	return pid == getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* Name, on stderr, the temporary files that killed puts seem to have left
 * behind, for the user to remove (udax rm): a store name has no owner, and
 * a file of that name may be an application's. Return: 0, or 1 after
 * printing why the store could not be listed. */
static int put_note_leftovers(struct udax_store *s)
{
	char name[UDAX_NAME_MAX + 1], shown[NAME_ESCAPED_SIZE(UDAX_NAME_MAX)];
	uint64_t cookie = 0;
	int ret;

	while ((ret = udax_readdir(s, &cookie, name, sizeof(name))) == 1)
		if (put_temp_left(name))
			fprintf(stderr, "udax put: note: '%s' looks like the temporary file of an "
				"interrupted put; 'udax rm' removes it\n",
				name_escape(name, UDAX_NAME_MAX, shown));
	return ret < 0 ? fail("readdir", ret) : 0;
}

/* Say why put could not make its temporary file (err) for name.
 * Return: 1. */
static int put_temp_fail(const char *name, int err)
{
	char shown[NAME_ESCAPED_SIZE(UDAX_NAME_MAX)];

	if (err != -ENOSPC)
		return fail_detail(name, err);
	fprintf(stderr, "udax put: %s: %s: put needs a free slot for its temporary copy "
		"('udax rm' frees one)\n", name_escape(name, UDAX_NAME_MAX, shown),
		*udax_strerror_detail() ? udax_strerror_detail()
		: "the store's file table is full");
	return 1;
}

/* Whether put can write NAME: its directory exists and NAME is no
 * directory. Checked on the store opened read-only, so that a put that
 * cannot start leaves the store file untouched. Return: exit status. */
static int put_target_check(const char *store, const char *name)
{
	char dir[UDAX_PATH_MAX + 1];
	const char *slash = strrchr(name, '/');
	struct udax_store *s;
	struct udax_stat st;
	int ret, status = open_store(store, UDAX_STORE_RDONLY, &s);

	if (status)
		return status;
	ret = udax_stat(s, name, &st);
	if (!ret && st.type == UDAX_TYPE_DIR)
		ret = -EISDIR;
	else if (ret == -ENOENT && slash) {
		memcpy(dir, name, (size_t)(slash - name));
		dir[slash - name] = '\0';
		ret = udax_stat(s, dir, &st);
		if (!ret && st.type != UDAX_TYPE_DIR)
			ret = -ENOTDIR;
	} else if (ret == -ENOENT) {
		ret = 0;
	}
	return close_store(s, ret ? fail(name, ret) : 0);
}

/* Copy fd (the host file host) into a new temporary file of s, durable,
 * and rename it over name. On failure or a caught signal the temporary
 * file is removed. Return: exit status. */
static int put_replace(struct udax_store *s, int fd, const char *host, const char *name)
{
	char temp[64];
	struct udax_file *f;
	int ret, status;

	for (unsigned n = 0;; n++) {
		snprintf(temp, sizeof(temp), PUT_TEMP_PREFIX "%d.%u", (int)getpid(), n);
		ret = udax_open(s, temp, O_RDWR | O_CREAT | O_EXCL, &f);
		if (ret != -EEXIST)
			break;
	}
	if (ret)
		return put_temp_fail(name, ret);
	status = copy_file(f, fd, name, host, true);
	if (!status && (ret = udax_fsync(f)))
		status = fail_detail("fsync", ret);
	ret = udax_close(f);
	if (ret && !status)
		status = fail("close", ret);
	/* The last moment a caught signal cancels the put. */
	if (!status && interrupted)
		status = -1;
	if (!status && (ret = udax_rename(s, temp, name)))
		status = fail_detail(name, ret);
	if (!status)
		return 0;
	ret = udax_unlink(s, temp);
	if (ret && ret != -ENOENT)
		fail(temp, ret);
	return status > 0 ? status : interrupted_status("nothing was changed");
}

static const char put_help[] =
	"Usage: udax [-s STORE] put [-q] HOSTFILE NAME\n"
	"Copy a host file (- for standard input) into the store, replacing NAME\n"
	"atomically (a failed or interrupted put leaves NAME as it was); the holes of\n"
	"a sparse host file stay holes. A progress line shows on a terminal for\n"
	"copies of 64 MiB and more, unless -q/--quiet.\n";

int cmd_put(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .shorts = "q", .longs = quiet_longopts, .help = put_help,
			       .store = &store };
	char shown[PATH_ESCAPED_SIZE];
	struct udax_store *s;
	const char *host;
	struct stat st;
	int fd, status = 0;

	while (cli_getopt(argc, argv, &p) != -1)
		quiet = true;
	if (p.status >= 0)
		return p.status;
	if (argc - optind != 2)
		return usage_error("needs HOSTFILE NAME");
	argv += optind - 1;
	status = name_check(argv[2]);
	if (status)
		return status;
	host = strcmp(argv[1], "-") ? argv[1] : "standard input";
	fd = strcmp(argv[1], "-") ? open(argv[1], O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0)
		return fail(host, -errno);
	if (fstat(fd, &st) != 0) {
		status = fail(host, -errno);
	} else if (S_ISDIR(st.st_mode)) {
		status = fail(host, -EISDIR);
	} else if (is_store_file(store, &st)) {
		fprintf(stderr, "udax put: %s is the store file itself; not copied\n",
			name_escape(host, PATH_SHOWN_MAX, shown));
		status = 1;
	}
	if (!status)
		status = put_target_check(store, argv[2]);
	if (!status) {
		interrupts_catch();
		status = open_store(store, 0, &s);
		if (!status) {
			status = put_note_leftovers(s);
			if (!status)
				status = interrupted ? interrupted_status("nothing was changed")
						     : put_replace(s, fd, host, argv[2]);
			status = close_store(s, status);
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return status;
}

/* How get writes its host file. */
enum host_target {
	TARGET_NEW,		/* a new regular file */
	TARGET_REPLACE,		/* an existing regular file: replaced */
	TARGET_IN_PLACE,	/* anything else: opened and written as it is */
	TARGET_FD,		/* one of this process's descriptors
				   (/dev/stdout, /dev/fd/N): written as cat does */
};

/* Whether path lies in /proc (where /dev/stdout and /dev/fd/N lead): its
 * links name open files, not paths. */
static bool in_procfs(const char *path)
{
	char dir[PATH_MAX];
	struct statfs fs;

	snprintf(dir, sizeof(dir), "%s", path);
	return statfs(dirname(dir), &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

/* The descriptor of this process that a /proc link names, or -1. */
static int own_fd(const char *link)
{
	char dir[PATH_MAX], real[PATH_MAX], own[64], own_task[64];
	const char *slash = strrchr(link, '/');
	char *end;
	long fd;

	snprintf(dir, sizeof(dir), "%s", link);
	if (!slash || !realpath(dirname(dir), real))
		return -1;
	snprintf(own, sizeof(own), "/proc/%d/fd", (int)getpid());
	snprintf(own_task, sizeof(own_task), "/proc/%d/task/", (int)getpid());
	if (strcmp(real, own) && strncmp(real, own_task, strlen(own_task)))
		return -1;
	errno = 0;
	fd = strtol(slash + 1, &end, 10);
	return errno || *end || fd < 0 || fd > INT_MAX ? -1 : (int)fd;
}

/*
 * Decide how get writes path: symlinks are followed to the file they name
 * (replaced, the links kept), except links of /proc: /dev/stdout and
 * /dev/fd/N are written through the descriptor they name, another
 * process's descriptors are opened and written in place like a FIFO or a
 * device. Fills target (the path to write), *st (the file, if it exists)
 * and *fd (TARGET_FD).
 * Return: enum host_target, or -errno.
 */
static int host_target_resolve(const char *path, char *target, size_t size, struct stat *st,
			       int *fd)
{
	char link[PATH_MAX], dir[PATH_MAX];

	if ((size_t)snprintf(target, size, "%s", path) >= size)
		return -ENAMETOOLONG;
	for (int hops = 0;; hops++) {
		ssize_t n = readlink(target, link, sizeof(link) - 1);
		int len;

		if (n < 0)
			break;
		if (hops == SYMLINK_HOPS)
			return -ELOOP;
		if (in_procfs(target)) {
			*fd = own_fd(target);
			if (*fd >= 0)
				return fstat(*fd, st) == 0 ? TARGET_FD : -errno;
			return stat(target, st) == 0 ? TARGET_IN_PLACE : -errno;
		}
		link[n] = '\0';
		snprintf(dir, sizeof(dir), "%s", target);
		if (link[0] == '/')
			len = snprintf(target, size, "%s", link);
		else
			len = snprintf(target, size, "%s/%s", dirname(dir), link);
		if ((size_t)len >= size)
			return -ENAMETOOLONG;
	}
	if (stat(target, st) != 0)
		return errno == ENOENT ? TARGET_NEW : -errno;
	return S_ISREG(st->st_mode) ? TARGET_REPLACE : TARGET_IN_PLACE;
}

/* Open the store read-only and its file name. Return: exit status. */
static int open_for_reading(const char *store, const char *name, struct udax_store **s,
			    struct udax_file **f)
{
	int ret, status = open_store(store, UDAX_STORE_RDONLY, s);

	if (status)
		return status;
	ret = udax_open(*s, name, O_RDONLY, f);
	return ret ? close_store(*s, fail(name, ret)) : 0;
}

/* Write f (store file name) to a new temporary file beside target (where
 * host leads), with mode, sync it and rename it over target; on failure or
 * a caught signal remove it. Messages name host, not the temporary file.
 * Return: exit status. */
static int get_replace(struct udax_file *f, const char *name, const char *host,
		       const char *target, mode_t mode)
{
	char temp[PATH_MAX], buf[PATH_MAX];
	const char *dir;
	int fd, dfd, status;

	snprintf(buf, sizeof(buf), "%s", target);
	dir = dirname(buf);
	if (snprintf(temp, sizeof(temp), "%s/.udax-get.XXXXXX", dir) >= (int)sizeof(temp))
		return fail(host, -ENAMETOOLONG);
	fd = mkostemp(temp, O_CLOEXEC);
	if (fd < 0)
		return fail(host, -errno);
	status = fchmod(fd, mode) ? fail(host, -errno) : 0;
	if (!status)
		status = copy_file(f, fd, name, host, false);
	if (!status && fsync(fd))
		status = fail(host, -errno);
	if (close(fd) && !status)
		status = fail(host, -errno);
	if (!status && interrupted)
		status = -1;
	if (!status && rename(temp, target))
		status = fail(host, -errno);
	if (status) {
		unlink(temp);
		return status > 0 ? status : interrupted_status("the host file was not changed");
	}
	/* The rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		status = fail(dir, -errno);
	if (dfd >= 0)
		close(dfd);
	return status;
}

static const char get_help[] =
	"Usage: udax [-s STORE] get [-q] NAME HOSTFILE\n"
	"Copy a store file out to the host, replacing HOSTFILE atomically (never the\n"
	"store file itself); - writes to standard output. A progress line shows on a\n"
	"terminal for copies of 64 MiB and more, unless -q/--quiet.\n";

int cmd_get(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .shorts = "q", .longs = quiet_longopts, .help = get_help,
			       .store = &store };
	char target[PATH_MAX], shown[PATH_ESCAPED_SIZE];
	struct udax_store *s;
	struct udax_file *f;
	struct stat st;
	mode_t mask;
	int how, fd = -1, status;

	while (cli_getopt(argc, argv, &p) != -1)
		quiet = true;
	if (p.status >= 0)
		return p.status;
	if (argc - optind != 2)
		return usage_error("needs NAME HOSTFILE");
	argv += optind - 1;
	status = name_check(argv[1]);
	if (status)
		return status;
	if (!strcmp(argv[2], "-")) {
		argv[2] = "standard output";
		fd = STDOUT_FILENO;
		how = fstat(fd, &st) == 0 ? TARGET_FD : -errno;
	} else {
		how = host_target_resolve(argv[2], target, sizeof(target), &st, &fd);
	}
	if (how < 0)
		return fail(argv[2], how);
	if (how != TARGET_NEW && is_store_file(store, &st)) {
		fprintf(stderr, "udax get: %s is the store file itself; not written\n",
			name_escape(argv[2], PATH_SHOWN_MAX, shown));
		return 1;
	}
	interrupts_catch();
	status = open_for_reading(store, argv[1], &s, &f);
	if (status)
		return status;
	if (how == TARGET_FD) {
		status = copy_file(f, fd, argv[1], argv[2], false);
	} else if (how == TARGET_IN_PLACE) {
		/* A FIFO's open waits for a reader: a caught signal ends it. */
		fd = open(target, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0)
			status = errno == EINTR && interrupted ? -1 : fail(argv[2], -errno);
		else
			status = copy_file(f, fd, argv[1], argv[2], false);
		if (fd >= 0 && close(fd) && !status)
			status = fail(argv[2], -errno);
	} else {
		mask = umask(0);
		umask(mask);
		status = get_replace(f, argv[1], argv[2], target,
				     how == TARGET_REPLACE ? st.st_mode & 07777 : 0666 & ~mask);
	}
	if (status < 0)
		status = interrupted_status("the output is incomplete");
	udax_close(f);
	return close_store(s, status);
}

static const char cat_help[] =
	"Usage: udax [-s STORE] cat NAME\n"
	"Write a store file to standard output.\n";

int cmd_cat(const char *store, int argc, char **argv)
{
	struct cli_parse p = { .help = cat_help, .store = &store };
	struct udax_store *s;
	struct udax_file *f;
	struct stat st;
	int status;

	while (cli_getopt(argc, argv, &p) != -1)
		;
	if (p.status >= 0)
		return p.status;
	if (argc - optind != 1)
		return usage_error("needs one NAME");
	argv += optind - 1;
	status = name_check(argv[1]);
	if (status)
		return status;
	if (fstat(STDOUT_FILENO, &st) == 0 && is_store_file(store, &st)) {
		fputs("udax cat: standard output is the store file itself; not written\n", stderr);
		return 1;
	}
	status = open_for_reading(store, argv[1], &s, &f);
	if (status)
		return status;
	status = copy_file(f, STDOUT_FILENO, argv[1], "standard output", false);
	udax_close(f);
	return close_store(s, status);
}
