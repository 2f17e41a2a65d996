// SPDX-License-Identifier: MIT
/*
 * shim_fork_child_ebusy: under `udax run`, a process holding a store file
 * open and mapped forks. The child cannot use the store while its parent
 * holds it: opening a store path, stat, and reading the inherited
 * descriptor fail with EBUSY, and it says so in one line on stderr however
 * many calls fail; closing the inherited descriptor works. A child that
 * never touches the store runs other programs (exec: this program again,
 * /bin/sh and system() but in sanitizer builds) normally. The parent
 * then reads its own data, unchanged, by descriptor and mapping.
 * Exit 0 pass, 1 fail.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "shim_lib.h"

/* The child: every udax call fails with EBUSY. Return: its exit status. */
static int child(int fd, const char *errpath)
{
	int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct stat st;
	char c;

	if (err < 0 || dup2(err, 2) != 2)
		return 2;
	if (open(shim_path(1, "g"), O_RDWR | O_CREAT, 0644) >= 0 || errno != EBUSY)
		return 3;
	if (stat(shim_path(1, "f"), &st) == 0 || errno != EBUSY)
		return 4;
	if (read(fd, &c, 1) >= 0 || errno != EBUSY)
		return 5;
	if (open(shim_path(1, "f"), O_RDONLY) >= 0 || errno != EBUSY)
		return 6;
	if (close(fd) != 0)
		return 7;
	return 0;
}

static int wait_status(pid_t pid)
{
	int status;

	SHIM_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	char line[512], *m;
	int fd, lines = 0;
	pid_t pid;
	FILE *f;

	if (argc == 2 && !strcmp(argv[1], "exit3"))	/* exec'd by the test below */
		return 3;
	shim_start(argc, argv, 60);
	fd = open(shim_path(1, "f"), O_RDWR | O_CREAT, 0644);
	SHIM_CHECK(fd >= 0, "open: %s", strerror(errno));
	SHIM_CHECK(pwrite(fd, "parent data", 11, 0) == 11, "pwrite: %s", strerror(errno));
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SHIM_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	m[0] = 'P';
	pid = fork();
	if (pid == 0)
		_exit(child(fd, shim_path(0, "err")));
	SHIM_CHECK(wait_status(pid) == 0, "the child's udax calls did not all fail with EBUSY");
	f = fopen(shim_path(0, "err"), "r");
	SHIM_CHECK(f, "fopen: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lines++;
		SHIM_CHECK(strstr(line, "fork") && strstr(line, "EBUSY"), "the line: %s", line);
	}
	fclose(f);
	SHIM_CHECK(lines == 1, "%d lines on the child's stderr, expected 1", lines);
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
	printf("shim_fork_child_ebusy: the child got EBUSY with one line; exec and the parent "
	       "work\n");
	return 0;
}
