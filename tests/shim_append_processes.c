// SPDX-License-Identifier: MIT
/*
 * shim_append_processes: O_APPEND writes to one store file from several
 * processes at once under `udax run` (3 fork children that open the file
 * themselves, and the parent, whose writes are writev of 2 parts) each
 * land whole at the end, as the kernel's do: the file holds every record
 * exactly once, none torn or overwritten, and its size is their sum. Each
 * append is one udax_append(), atomic across processes; the shim's lock
 * was the process's own, and records of concurrent processes landed at
 * one offset (found by the third adversarial pass of issue 14).
 * Exit 0 pass, 1 fail (with the seed).
 */
#include <fcntl.h>
#include <sys/uio.h>

#include "shim_lib.h"

#define WRITERS 4	/* 3 children and the parent */
#define RECORDS 2000
#define RECORD 32

static void append_all(int id)
{
	int fd = open(shim_path(1, "log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
	char rec[RECORD + 1];

	SHIM_CHECK(fd >= 0, "writer %d: open: %s", id, strerror(errno));
	for (int i = 0; i < RECORDS; i++) {
		snprintf(rec, sizeof(rec), "w%d r%06d %-20s\n", id, i, "");
		if (id == 0) {	/* two parts: one append still */
			struct iovec v[2] = { { rec, 10 }, { rec + 10, RECORD - 10 } };

			SHIM_CHECK(writev(fd, v, 2) == RECORD, "writev: %s", strerror(errno));
		} else {
			SHIM_CHECK(write(fd, rec, RECORD) == RECORD, "write: %s", strerror(errno));
		}
	}
	SHIM_CHECK(close(fd) == 0, "close: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	static char seen[WRITERS][RECORDS];
	pid_t pid[WRITERS];
	char rec[RECORD];
	struct stat st;
	int fd, status;

	shim_start(argc, argv, 120);
	for (int w = 1; w < WRITERS; w++) {
		pid[w] = fork();
		SHIM_CHECK(pid[w] >= 0, "fork: %s", strerror(errno));
		if (pid[w] == 0) {
			append_all(w);
			_exit(0);
		}
	}
	append_all(0);
	for (int w = 1; w < WRITERS; w++)
		SHIM_CHECK(waitpid(pid[w], &status, 0) == pid[w] && status == 0,
			   "writer %d: status %#x", w, status);
	fd = open(shim_path(1, "log"), O_RDONLY);
	SHIM_CHECK(fd >= 0 && fstat(fd, &st) == 0, "open: %s", strerror(errno));
	SHIM_CHECK(st.st_size == (off_t)WRITERS * RECORDS * RECORD, "size %lld, want %d",
		   (long long)st.st_size, WRITERS * RECORDS * RECORD);
	for (long r = 0; r < WRITERS * RECORDS; r++) {
		int w, i, n = 0;

		SHIM_CHECK(read(fd, rec, RECORD) == RECORD, "read record %ld", r);
		SHIM_CHECK(sscanf(rec, "w%d r%d %n", &w, &i, &n) == 2 && n && w >= 0 &&
			   w < WRITERS && i >= 0 && i < RECORDS && rec[RECORD - 1] == '\n' &&
			   !seen[w][i], "record %ld torn or twice: %.31s", r, rec);
		seen[w][i] = 1;
	}
	close(fd);
	printf("shim_append_processes: %d processes appended %d records each, all whole\n",
	       WRITERS, RECORDS);
	return 0;
}
