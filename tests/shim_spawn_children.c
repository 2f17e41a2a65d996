// SPDX-License-Identifier: MIT
/*
 * shim_spawn_children: under `udax run`, a process holding store files
 * open and mapped starts children that never touch the root: system(),
 * popen(), posix_spawn(), vfork()+exec and fork()+exec all run and
 * report as without the shim, and afterwards the parent's mapping,
 * descriptor and file contents are intact (written through the mapping,
 * read back by read() after msync); a vfork() child's close_range and exec
 * leave the parent's descriptors and store as they were. Skips in sanitizer builds (the
 * children's /bin/sh cannot load that build's preload library).
 * Exit 0 pass, 1 fail (with the seed), 77 skip.
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <spawn.h>
#include <sys/mman.h>

#include "shim_lib.h"

#define LEN (4 << 20)

extern char **environ;

static void check_intact(const char *after, int fd, const char *map)
{
	char got[64];

	for (size_t off = 0; off < LEN; off += 4096)
		SHIM_CHECK(map[off] == (char)(off / 4096 * 7 + 1), "%s: map byte %zu", after, off);
	SHIM_CHECK(msync((void *)map, LEN, MS_SYNC) == 0, "%s: msync: %s", after, strerror(errno));
	SHIM_CHECK(pread(fd, got, 1, 12345 * 4096 % LEN) == 1 &&
		   got[0] == (char)(12345 * 4096 % LEN / 4096 * 7 + 1), "%s: pread", after);
}

int main(int argc, char **argv)
{
	char *map, line[32] = "";
	int fd, status;
	pid_t pid;
	FILE *p;

	if (SHIM_SANITIZED) {
		puts("SKIP: a sanitizer build: /bin/sh cannot load its preload library");
		return 77;
	}
	shim_start(argc, argv, 60);
	fd = open(shim_path(1, "f"), O_RDWR | O_CREAT, 0644);
	SHIM_CHECK(fd >= 0 && ftruncate(fd, LEN) == 0, "open: %s", strerror(errno));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SHIM_CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	for (size_t off = 0; off < LEN; off += 4096)
		map[off] = (char)(off / 4096 * 7 + 1);

	status = system("exit 3");
	SHIM_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "system: %#x", status);
	check_intact("system", fd, map);

	p = popen("echo from-child", "r");
	SHIM_CHECK(p && fgets(line, sizeof(line), p) && !strcmp(line, "from-child\n"),
		   "popen: '%s'", line);
	SHIM_CHECK(pclose(p) == 0, "pclose");
	check_intact("popen", fd, map);

	{
		char *args[] = { "/bin/sh", "-c", "exit 4", NULL };

		SHIM_CHECK(posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ) == 0,
			   "posix_spawn");
		SHIM_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 4, "posix_spawn status %#x", status);
	}
	check_intact("posix_spawn", fd, map);

	pid = vfork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
		_exit(127);
	}
	SHIM_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 5, "vfork status %#x", status);
	check_intact("vfork", fd, map);

	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 6", (char *)NULL);
		_exit(127);
	}
	SHIM_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 6, "fork+exec status %#x", status);
	check_intact("fork+exec", fd, map);

	SHIM_CHECK(munmap(map, LEN) == 0 && close(fd) == 0, "munmap/close");

	/* A vfork child runs in the parent's memory: its close_range (Python's
	 * subprocess), exec and the exec's store handling must leave the
	 * parent's descriptors and store alone, with a file open and with
	 * none (dash runs a command so after closing its redirection). */
	fd = open(shim_path(1, "v"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	SHIM_CHECK(fd >= 0 && write(fd, "before ", 7) == 7, "open v: %s", strerror(errno));
	pid = vfork();
	if (pid == 0) {
		close_range(3, ~0u, 0);
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(127);
	}
	SHIM_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 7, "vfork status %#x", status);
	SHIM_CHECK(write(fd, "after", 5) == 5, "write after vfork: %s", strerror(errno));
	SHIM_CHECK(close(fd) == 0, "close v");
	pid = vfork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 8", (char *)NULL);
		_exit(127);
	}
	SHIM_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 8, "vfork status %#x", status);
	fd = open(shim_path(1, "v"), O_RDWR | O_APPEND);
	SHIM_CHECK(fd >= 0 && write(fd, "!", 1) == 1, "open v after vfork: %s", strerror(errno));
	SHIM_CHECK(pread(fd, line, sizeof(line), 0) == 13 && !memcmp(line, "before after!", 13),
		   "v holds '%.13s'", line);
	SHIM_CHECK(close(fd) == 0, "close v");
	return 0;
}
