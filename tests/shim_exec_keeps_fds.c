// SPDX-License-Identifier: MIT
/*
 * shim_exec_keeps_fds: under `udax run`, descriptors of store files that a
 * program leaves open across exec work in the program it becomes, as the
 * kernel's do on a host twin: the offset (shared by a dup), the flags
 * (O_APPEND, read-only), the contents; a close-on-exec one is closed;
 * stdout on a store file is a stream whose fileno() is 1 and whose printf
 * output lands in the file; a store file whose path is 1,000 bytes long
 * (a hex byte per byte of it in the handover: it overflowed a buffer of
 * 512 and crashed the exec, found by the third adversarial pass of issue
 * 14) is handed over too; the flock lock the first program took is the
 * new program's (another process, opening the file itself, finds it
 * held), and its POSIX lock went when the exec closed the close-on-exec
 * descriptor of the file, as on the host, while a POSIX lock on a file
 * whose only descriptor survives the exec stays the process's (both were
 * dropped: the same pass). Before that, closefrom(3) and close_range()
 * in the process holding the store close the program's descriptors but
 * never the store's own (files opened afterwards still work).
 * Exit 0 pass, 1 fail (with the seed).
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/file.h>

#include "shim_lib.h"


enum { RW, DUP, APPEND, RDONLY, CLOEXEC, FDS };

/* The second program: argv[3] is "after", argv[4..] the descriptors of
 * each side, FDS of them, host first. */
static int after_exec(char **argv)
{
	int fd[2][FDS];
	char got[2][32];

	for (int s = 0; s < 2; s++)
		for (int i = 0; i < FDS; i++)
			fd[s][i] = atoi(argv[4 + s * FDS + i]);
	SHIM_CHECK(pread(atoi(argv[4 + 2 * FDS]), got[1], 4, 0) == 4 && !memcmp(got[1], "deep", 4),
		   "the file of the long path after exec: %s", strerror(errno));
	for (int s = 0; s < 2; s++) {	/* the locks taken before exec */
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };
			struct flock g = q;
			int own = open(shim_path(s, "f"), O_RDWR), other = open(shim_path(s, "g"), O_RDWR);

			if (own < 0 || flock(own, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
				_exit(1);	/* the flock lock must hold */
			if (fcntl(own, F_GETLK, &q) != 0 || q.l_type != F_UNLCK)
				_exit(2);
			_exit(other >= 0 && fcntl(other, F_GETLK, &g) == 0 && g.l_type == F_WRLCK &&
			      g.l_pid == getppid() ? 0 : 3);
		}
		SHIM_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0,
			   "side %d: the locks after exec: status %#x", s, status);
	}
	SHIM_CHECK(!getenv("UDAX_SHIM_FDS"), "the handover stayed in the environment");
	for (int s = 0; s < 2; s++)
		memset(got[s], 0, sizeof(got[s]));
	TWIN(read(fd[s][RW], got[s], 3));		/* from offset 4 */
	SHIM_CHECK(!memcmp(got[0], got[1], 3), "read %.3s on the host, %.3s in the store",
		   got[0], got[1]);
	TWIN(lseek(fd[s][DUP], 0, SEEK_CUR));		/* shared: 7 */
	TWIN(write(fd[s][DUP], "D", 1));
	TWIN(lseek(fd[s][RW], 0, SEEK_CUR));
	TWIN(fcntl(fd[s][APPEND], F_GETFL));
	TWIN(lseek(fd[s][APPEND], 0, SEEK_SET));
	TWIN(write(fd[s][APPEND], "A", 1));		/* at the end */
	TWIN(fcntl(fd[s][RDONLY], F_GETFL));
	TWIN(write(fd[s][RDONLY], "R", 1));		/* EBADF */
	TWIN(fcntl(fd[s][CLOEXEC], F_GETFD));		/* EBADF: closed */
	TWIN(pread(fd[s][RW], got[s], 32, 0));
	SHIM_CHECK(!memcmp(got[0], got[1], 13), "contents %.13s on the host, %.13s in the store",
		   got[0], got[1]);
	/* stdout is the store file "out" */
	SHIM_CHECK(fileno(stdout) == 1, "fileno(stdout) %d", fileno(stdout));
	printf("printed %d\n", 42);
	SHIM_CHECK(fflush(stdout) == 0, "fflush(stdout): %s", strerror(errno));
	{
		int out = open(shim_path(1, "out"), O_RDONLY);
		char text[32] = "";

		SHIM_CHECK(out >= 0 && read(out, text, sizeof(text) - 1) == 11 &&
			   !strcmp(text, "printed 42\n"), "out holds '%s'", text);
		close(out);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int fd[2][FDS], out;
	char self[PATH_MAX], *args[4 + 2 * FDS + 2], num[2 * FDS + 1][12], deep[PATH_MAX];
	ssize_t n;
	int deep_fd;

	shim_start(argc, argv, 60);
	if (argc > 3)
		return after_exec(argv);

	/* closefrom and close_range spare the store's own descriptors */
	closefrom(3);
	close_range(3, ~0u, 0);
	for (int s = 0; s < 2; s++) {
		fd[s][RW] = open(shim_path(s, "f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
		SHIM_CHECK(fd[s][RW] >= 0, "side %d: open after closefrom: %s", s, strerror(errno));
	}
	TWIN(write(fd[s][RW], "0123456789", 10));
	TWIN(lseek(fd[s][RW], 4, SEEK_SET));
	TWIN(fsync(fd[s][RW]));
	TWIN(flock(fd[s][RW], LOCK_EX | LOCK_NB));
	for (int s = 0; s < 2; s++) {
		int g = open(shim_path(s, "g"), O_RDWR | O_CREAT, 0644);

		SHIM_CHECK(g >= 0 && fcntl(g, F_SETLK, &(struct flock){ .l_type = F_WRLCK,
			   .l_whence = SEEK_SET, .l_len = 1 }) == 0, "g: %s", strerror(errno));
	}
	TWIN(fcntl(fd[s][RW], F_SETLK, &(struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
							 .l_len = 1 }));
	for (int s = 0; s < 2; s++) {
		fd[s][DUP] = dup(fd[s][RW]);
		fd[s][APPEND] = open(shim_path(s, "f"), O_WRONLY | O_APPEND);
		fd[s][RDONLY] = open(shim_path(s, "f"), O_RDONLY);
		fd[s][CLOEXEC] = open(shim_path(s, "f"), O_RDONLY | O_CLOEXEC);
		for (int i = 0; i < FDS; i++) {
			SHIM_CHECK(fd[s][i] >= 0, "side %d: open %d: %s", s, i, strerror(errno));
			snprintf(num[s * FDS + i], sizeof(num[0]), "%d", fd[s][i]);
		}
	}
	snprintf(deep, sizeof(deep), "%s", shim_path(1, ""));
	for (int level = 0; level < 10; level++) {
		size_t len = strlen(deep);

		memset(deep + len, 'a' + level, 99);
		deep[len + 99] = '\0';
		SHIM_CHECK(mkdir(deep, 0755) == 0, "mkdir %zu bytes: %s", len + 99, strerror(errno));
		strcat(deep, "/");
	}
	strcat(deep, "file");
	deep_fd = open(deep, O_RDWR | O_CREAT, 0644);
	SHIM_CHECK(deep_fd >= 0 && write(deep_fd, "deep", 4) == 4, "the long path: %s",
		   strerror(errno));
	snprintf(num[2 * FDS], sizeof(num[0]), "%d", deep_fd);
	out = open(shim_path(1, "out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	SHIM_CHECK(out >= 0 && dup2(out, 1) == 1, "stdout onto the store: %s", strerror(errno));
	close(out);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	SHIM_CHECK(n > 0, "readlink");
	self[n] = '\0';
	args[0] = self;
	args[1] = argv[1];
	args[2] = argv[2];
	args[3] = "after";
	for (int i = 0; i < 2 * FDS + 1; i++)
		args[4 + i] = num[i];
	args[4 + 2 * FDS + 1] = NULL;
	execv(self, args);
	SHIM_FAIL("execv: %s", strerror(errno));
}
