// SPDX-License-Identifier: MIT
/*
 * kill9_fsync_durable: a child writes through a mapping and udax_pwrite,
 * calls udax_fsync, tells the parent which round is durable, and goes on
 * writing until the parent kills it with SIGKILL at a random point (often
 * inside a checkpoint). The parent reopens the store: the store check is
 * clean and every byte of every acknowledged round is there; bytes of later
 * rounds may or may not be. x100 runs.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "test_util.h"
#include "udax.h"

#define PG 4096
#define PAGES 64
#define RUNS 100

/* Round r writes r into page r % PAGES: at offset 0 through the mapping,
 * at offset 8 through udax_pwrite. */
static void child(const char *path, int ack_fd)
{
	struct udax_store *s;
	struct udax_file *f;
	uint64_t *map;

	if (udax_store_open(path, 0, &s) || udax_open(s, "data", O_RDWR | O_CREAT, &f) ||
	    udax_truncate(f, PAGES * PG) ||
	    udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map))
		_exit(3);
	for (uint64_t r = 1;; r++) {
		uint64_t p = r % PAGES;

		map[p * (PG / 8)] = r;
		if (udax_pwrite(f, &r, 8, p * PG + 8) != 8 || udax_fsync(f))
			_exit(4);
		if (write(ack_fd, &r, sizeof(r)) != sizeof(r))
			_exit(5);
	}
}

/* The last round <= acked that wrote page p, or 0. */
static uint64_t expected(uint64_t acked, uint64_t p)
{
	if (acked < p || (p == 0 && acked < PAGES))
		return 0;
	return acked - (acked - p) % PAGES;
}

int main(void)
{
	uint64_t rng;

	test_init("kill9_fsync_durable", 300);
	rng = test_seed;
	for (int run = 0; run < RUNS; run++) {
		const char *path = test_path("store");
		struct store_error why;
		struct udax_store *s;
		struct udax_file *f;
		uint64_t acked = 0, want_acks = 1 + test_rand(&rng) % 12, got;
		int pipefd[2], status;
		pid_t pid;

		unlink(path);
		CHECK_EQ(udax_store_create(path, 8ull << 20, 0), 0);
		CHECK(pipe(pipefd) == 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			close(pipefd[0]);
			child(path, pipefd[1]);
		}
		close(pipefd[1]);
		while (acked < want_acks && read(pipefd[0], &got, sizeof(got)) == sizeof(got))
			acked = got;
		/* Let it run on a little: the kill lands anywhere in a round. */
		for (uint64_t spin = test_rand(&rng) % 200000; spin; spin--)
			__asm__ volatile("" ::: "memory");
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "run %d: child ended with status %#x before the kill", run, status);
		while (read(pipefd[0], &got, sizeof(got)) == sizeof(got))
			acked = got;	/* acks written before it died count too */
		close(pipefd[0]);

		CHECK(store_check_path(path, 0, &why) == 0, "run %d: store check: %s", run,
		      why.text);
		CHECK_EQ(udax_store_open(path, 0, &s), 0);
		CHECK_EQ(udax_open(s, "data", O_RDONLY, &f), 0);
		for (uint64_t p = 0; p < PAGES; p++) {
			uint64_t v[2], e = expected(acked, p);

			CHECK_EQ(udax_pread(f, v, sizeof(v), p * PG), (ssize_t)sizeof(v));
			for (int k = 0; k < 2; k++)
				CHECK(v[k] >= e && (v[k] == 0 || v[k] % PAGES == p),
				      "run %d: page %llu field %d = %llu, acknowledged round %llu "
				      "wrote %llu", run, (unsigned long long)p, k,
				      (unsigned long long)v[k], (unsigned long long)acked,
				      (unsigned long long)e);
		}
		CHECK_EQ(udax_close(f), 0);
		CHECK_EQ(udax_store_close(s), 0);
	}
	test_pass();
}
