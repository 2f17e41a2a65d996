// SPDX-License-Identifier: MIT
/*
 * shim_fork_child_uses_store: under `udax run`, a process holding a store
 * file open, mapped and locked forks. The child uses the store as any
 * process of it (issue 14, stage 5):
 * - it opens, writes and maps a file of its own, which the parent then
 *   reads by name and by mapping;
 * - it sees the parent's data through the mapping it inherited and
 *   through pread on the descriptor it inherited, and its writes through
 *   both reach the parent's;
 * - the parent's POSIX lock is the parent's: the child's F_GETLK reports
 *   it with the parent's pid, its F_SETLK gets EAGAIN; the flock lock the
 *   parent took before the fork is the child's too (one description),
 *   while a description of its own conflicts with it;
 * - an inherited descriptor of a file the parent renamed after the fork,
 *   making a new file under the old name, never reads the new file (the
 *   child reopened descriptors by name; found by the third adversarial
 *   pass of issue 14): it reads the old one, or fails with EBADF; nor
 *   does one of a file the parent closed and removed, making a new file
 *   in its slot (the second pass: the child wrote into the new file);
 * - the inherited descriptor's offset is the parent's, as the kernel's
 *   f_pos of one open file description: the child reads from where the
 *   parent left it, seeks, and the parent finds the offset where the child
 *   left it; an O_APPEND descriptor's writes land after the parent's. The
 *   child prints nothing on stderr.
 * Children that exec (this program again, /bin/sh and system() but in
 * sanitizer builds) run normally. The parent then reads its own data and
 * the child's, by descriptor and mapping. Skips in sanitizer builds (a
 * fork child of a process with threads may start none there).
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>

#include "shim_lib.h"

/* The child's side; returns its exit status (0: every check held). */
static int child(int fd, int afd, int wfd, int ufd, int go, char *m, const char *errpath,
		 pid_t parent)
{
	int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	char buf[16];
	int own, g;
	char *gm;

	if (err < 0 || dup2(err, 2) != 2)
		return 2;
	if (read(go, buf, 1) != 1)	/* the parent renamed w and made a new one */
		return 15;
	memset(buf, 0, sizeof(buf));
	if (pread(wfd, buf, 5, 0) == 5 ? memcmp(buf, "old-w", 5) != 0 : errno != EBADF)
		return 16;
	if (pwrite(ufd, "CHILD", 5, 0) >= 0 || errno != EBADF)	/* not into the new u */
		return 17;
	g = open(shim_path(1, "g"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (g < 0 || write(g, "child file", 10) != 10 || ftruncate(g, 4096) != 0)
		return 3;
	gm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
	if (gm == MAP_FAILED || memcmp(gm, "child file", 10))
		return 4;
	gm[100] = 'M';
	if (munmap(gm, 4096) || close(g))
		return 5;
	if (memcmp(m, "Parent data", 11) || pread(fd, buf, 11, 0) != 11 ||
	    memcmp(buf, "Parent data", 11))
		return 6;
	m[20] = 'C';	/* through the inherited mapping */
	if (pwrite(fd, "pw", 2, 30) != 2)	/* through the inherited descriptor */
		return 7;
	if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type != F_WRLCK || fl.l_pid != parent)
		return 8;
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1 };
	if (fcntl(fd, F_SETLK, &fl) == 0 || (errno != EAGAIN && errno != EACCES))
		return 9;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)	/* the parent's description */
		return 10;
	own = open(shim_path(1, "f"), O_RDONLY);
	if (own < 0 || flock(own, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK || close(own))
		return 11;
	if (read(fd, buf, 3) != 3 || memcmp(buf, "ren", 3) || lseek(fd, 0, SEEK_CUR) != 5 ||
	    lseek(fd, 6, SEEK_SET) != 6)
		return 12;
	if (write(afd, "child\n", 6) != 6)
		return 13;
	return close(fd) == 0 ? 0 : 14;
}

static int wait_status(pid_t pid)
{
	int status;

	SHIM_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	char line[512], *m;
	int fd, afd, wfd, ufd, g, go[2], lines = 0;
	pid_t pid;
	FILE *f;

	if (argc == 2 && !strcmp(argv[1], "exit3"))	/* exec'd by the test below */
		return 3;
	if (SHIM_SANITIZED) {	/* the parent has threads: its child may start none */
		puts("SKIP: a sanitizer build: a fork child of a process with threads cannot "
		     "start the store's (nor inherit its mappings)");
		return 77;
	}
	shim_start(argc, argv, 60);
	fd = open(shim_path(1, "f"), O_RDWR | O_CREAT, 0644);
	afd = open(shim_path(1, "log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
	SHIM_CHECK(fd >= 0 && afd >= 0, "open: %s", strerror(errno));
	SHIM_CHECK(pwrite(fd, "parent data", 11, 0) == 11 && lseek(fd, 2, SEEK_SET) == 2,
		   "pwrite: %s", strerror(errno));
	SHIM_CHECK(write(afd, "parent\n", 7) == 7, "write: %s", strerror(errno));
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SHIM_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	m[0] = 'P';
	SHIM_CHECK(fcntl(fd, F_SETLK, &fl) == 0 && flock(fd, LOCK_EX | LOCK_NB) == 0,
		   "lock: %s", strerror(errno));
	wfd = open(shim_path(1, "w"), O_RDWR | O_CREAT, 0644);
	ufd = open(shim_path(1, "u"), O_RDWR | O_CREAT, 0644);
	SHIM_CHECK(wfd >= 0 && ufd >= 0 && pwrite(wfd, "old-w", 5, 0) == 5 && pipe(go) == 0,
		   "w: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		_exit(child(fd, afd, wfd, ufd, go[0], m, shim_path(0, "err"), getppid()));
	g = -1;	/* u closed and removed: its slot is free; a new u takes it */
	SHIM_CHECK(close(ufd) == 0 && unlink(shim_path(1, "u")) == 0 &&
		   (g = open(shim_path(1, "u"), O_RDWR | O_CREAT, 0644)) >= 0 &&
		   pwrite(g, "new-u", 5, 0) == 5 && close(g) == 0, "u: %s", strerror(errno));
	SHIM_CHECK(rename(shim_path(1, "w"), shim_path(1, "w.old")) == 0, "rename: %s",
		   strerror(errno));
	g = open(shim_path(1, "w"), O_RDWR | O_CREAT, 0644);
	SHIM_CHECK(g >= 0 && pwrite(g, "new-w", 5, 0) == 5 && close(g) == 0 &&
		   write(go[1], "g", 1) == 1, "the new w: %s", strerror(errno));
	lines = wait_status(pid);
	SHIM_CHECK(lines == 0, "the child's check %d failed", lines);
	f = fopen(shim_path(0, "err"), "r");
	SHIM_CHECK(f, "fopen: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		SHIM_FAIL("the child said: %s", line);
	fclose(f);
	SHIM_CHECK(lseek(fd, 0, SEEK_CUR) == 6, "the parent's offset after the child's seek: %lld",
		   (long long)lseek(fd, 0, SEEK_CUR));
	SHIM_CHECK(m[20] == 'C' && !memcmp(m + 30, "pw", 2), "the child's writes are not seen");
	g = open(shim_path(1, "u"), O_RDONLY);
	SHIM_CHECK(g >= 0 && pread(g, line, 5, 0) == 5 && !memcmp(line, "new-u", 5) && close(g) == 0,
		   "the new u: %.5s", line);
	g = open(shim_path(1, "g"), O_RDONLY);
	SHIM_CHECK(g >= 0 && pread(g, line, 10, 0) == 10 && !memcmp(line, "child file", 10) &&
		   pread(g, line, 1, 100) == 1 && line[0] == 'M' && close(g) == 0,
		   "the child's file: %s", strerror(errno));
	g = open(shim_path(1, "log"), O_RDONLY);
	SHIM_CHECK(g >= 0 && read(g, line, sizeof(line)) == 13 && !memcmp(line, "parent\nchild\n", 13),
		   "the O_APPEND log");
	close(g);
	/* children that never touch the store: fork + exec, system() */
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "exit3", (char *)NULL);
		_exit(127);
	}
	SHIM_CHECK(wait_status(pid) == 3, "exec of this program from a shim process failed");
	if (!SHIM_SANITIZED) {
		pid = fork();
		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", "exit 3", (char *)NULL);
			_exit(127);
		}
		SHIM_CHECK(wait_status(pid) == 3, "exec of /bin/sh from a shim process failed");
		SHIM_CHECK(system("exit 4") == 4 << 8, "system() from a shim process failed");
	}
	SHIM_CHECK(pread(fd, line, 11, 0) == 11 && !memcmp(line, "Parent data", 11),
		   "the parent's data changed: %.11s", line);
	SHIM_CHECK(!memcmp(m, "Parent data", 11), "the parent's mapping changed");
	SHIM_CHECK(munmap(m, 4096) == 0 && close(fd) == 0, "munmap/close: %s", strerror(errno));
	printf("shim_fork_child_uses_store: the child opened, mapped, locked and wrote; exec "
	       "and the parent work\n");
	return 0;
}
