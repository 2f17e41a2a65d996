// SPDX-License-Identifier: MIT
/*
 * map_sync_metadata_durable: with UDAX_MAP_SYNC, a write fault that
 * allocates returns only once the new block map is durable. A child writes
 * into new pages of a MAP_SYNC mapping, never calls udax_fsync, says so and
 * is killed with SIGKILL: the parent reopens the store and finds every
 * page and byte. The same without UDAX_MAP_SYNC loses the pages (their
 * blocks were never in a checkpoint), which shows what the flag buys.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096
#define PAGES 8

static void child(const char *path, int prot, int ack_fd)
{
	struct udax_store *s;
	struct udax_file *f;
	char *map, ok = 1;

	if (udax_store_open(path, 0, &s) || udax_open(s, "f", O_RDWR, &f) ||
	    udax_mmap(f, 0, PAGES * PG, prot, (void **)&map))
		_exit(3);
	for (int p = 0; p < PAGES; p++)
		map[p * PG + p] = (char)('a' + p);	/* each write allocates */
	if (write(ack_fd, &ok, 1) != 1)
		_exit(4);
	for (;;)
		pause();	/* no fsync, no close: killed here */
}

/* Run the child with prot, kill it, return the pages found intact. */
static int run(int prot)
{
	const char *path = test_path("store");
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	int pipefd[2], status, intact = 0;
	pid_t pid;
	char c;

	unlink(path);
	CHECK_EQ(udax_store_create(path, 16ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);

	CHECK(pipe(pipefd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child(path, prot, pipefd[1]);
	close(pipefd[1]);
	CHECK(read(pipefd[0], &c, 1) == 1, "child failed before writing");
	close(pipefd[0]);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));

	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &f), 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	for (int p = 0; p < PAGES; p++) {
		CHECK_EQ(udax_pread(f, &c, 1, (uint64_t)p * PG + (uint64_t)p), 1);
		intact += c == 'a' + p;
	}
	CHECK_EQ(st.blocks, (uint64_t)intact);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	return intact;
}

int main(void)
{
	test_init("map_sync_metadata_durable", 120);
	for (int round = 0; round < 5; round++) {
		CHECK_EQ(run(PROT_READ | PROT_WRITE | UDAX_MAP_SYNC), PAGES);
		CHECK_EQ(run(PROT_READ | PROT_WRITE), 0);
	}
	test_pass();
}
