// SPDX-License-Identifier: MIT
/*
 * dirs_kill9_tree_durable: a child applies seeded mkdir, rmdir, rename,
 * create (written and udax_fsync'ed) and unlink calls to a store, telling
 * the parent after each that it returned, until the parent kills it with
 * SIGKILL at a random point (often inside a checkpoint). The store then
 * checks clean and its tree (names, types, file contents) is the tree of
 * the acknowledged steps, or of one step more (the one in flight), as the
 * same steps give on a host directory. 30 runs; the seed is printed on
 * failure.
 */
#include <signal.h>
#include <sys/wait.h>

#include "dir_twin.h"

#define RUNS 30
#define STEPS_MAX 100000

static void child(const char *path, uint64_t rng, int ack_fd)
{
	struct udax_store *s;

	if (udax_store_open(path, 0, &s))
		_exit(3);
	for (uint32_t step = 1; step < STEPS_MAX; step++) {
		struct twin_step st = twin_next(&rng);

		(void)twin_store_apply(s, &st, true);
		if (write(ack_fd, &step, sizeof(step)) != sizeof(step))
			_exit(5);
	}
	_exit(0);
}

/* The host twin's tree after the first n steps of rng. */
static void twin_after(const char *twin, uint64_t rng, uint32_t n, struct twin_tree *t)
{
	twin_host_clear(twin, NULL);
	for (uint32_t i = 0; i < n; i++) {
		struct twin_step st = twin_next(&rng);

		(void)twin_host_apply(twin, &st);
	}
	twin_host_walk(twin, NULL, t);
}

int main(void)
{
	const char *path, *twin;
	uint64_t rng;

	test_init("dirs_kill9_tree_durable", 300);
	rng = test_seed;
	path = strdup(test_path("store"));
	twin = strdup(test_path("twin"));
	CHECK(mkdir(twin, 0755) == 0);
	for (int run = 0; run < RUNS; run++) {
		struct twin_tree got = { .n = 0 }, before = { .n = 0 }, after = { .n = 0 };
		uint64_t steps_rng = test_rand(&rng);
		uint32_t acked = 0, want = 1 + (uint32_t)(test_rand(&rng) % 40), ack;
		struct udax_store *s;
		int pipefd[2], status;
		pid_t pid;

		unlink(path);
		CHECK_EQ(udax_store_create(path, 8ull << 20, 0), 0);
		CHECK(pipe(pipefd) == 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			close(pipefd[0]);
			child(path, steps_rng, pipefd[1]);
		}
		close(pipefd[1]);
		while (acked < want && read(pipefd[0], &ack, sizeof(ack)) == sizeof(ack))
			acked = ack;
		for (uint64_t spin = test_rand(&rng) % 300000; spin; spin--)
			__asm__ volatile("" ::: "memory");
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "run %d: child ended with status %#x before the kill", run, status);
		while (read(pipefd[0], &ack, sizeof(ack)) == sizeof(ack))
			acked = ack;
		close(pipefd[0]);

		CHECK(udax_store_check(path, 0) == 0, "run %d: check: %s", run,
		      udax_strerror_detail());
		CHECK_EQ(udax_store_open(path, 0, &s), 0);
		twin_store_walk(s, NULL, &got);
		CHECK_EQ(udax_store_close(s), 0);
		twin_after(twin, steps_rng, acked, &before);
		twin_after(twin, steps_rng, acked + 1, &after);
		if (!twin_tree_same(&got, &before)) {
			fprintf(stderr, "run %d: not the tree of the %u acknowledged steps; "
				"of one more?\n", run, acked);
			CHECK(twin_tree_same(&got, &after), "run %d: the tree after the kill is "
			      "neither that of %u steps nor of %u", run, acked, acked + 1);
		}
		twin_tree_free(&got);
		twin_tree_free(&before);
		twin_tree_free(&after);
	}
	test_pass();
}
