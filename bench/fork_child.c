// SPDX-License-Identifier: MIT
/*
 * fork_child.c - what a fork() costs a process with a 64 MiB udax mapping
 * of a shared store (issue 14, stage 4), beside the kernel's MAP_SHARED
 * mapping of a host file holding the same bytes: fork, the child reads one
 * word of every 4 KiB page of the mapping (64 MiB / 4 KiB reads), exits,
 * the parent reaps it. Modes: the kernel's mapping; udax, inherited (the
 * child joins the store's region in its fork handler and faults the pages
 * in again); with a child that reads nothing: the kernel's, udax's
 * inherited (the join), udax's with UDAX_MAP_DONTFORK (no join). The parent had read every page first. A
 * warm-up of each, then runs interleaved; min / median / max ms per fork.
 * Not a test. usage: fork_child RUNS FORKS
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_stats.h"
#include "udax.h"

#define MODES 5
#define RUNS_MAX 31
#define BYTES (64ull << 20)
#define PG 4096ull

static const struct {
	const char *name;
	bool udax, dontfork, child_reads;
} mode[MODES] = {
	{ "kernel mmap, child reads every page", false, false, true },
	{ "udax, inherited, child reads every page", true, false, true },
	{ "kernel mmap, child reads nothing", false, false, false },
	{ "udax, inherited, child reads nothing", true, false, false },
	{ "udax UDAX_MAP_DONTFORK, child reads nothing", true, true, false },
};

static void check(const char *what, long ret)
{
	if (ret) {
		fprintf(stderr, "fork_child: %s: %ld %s\n", what, ret, udax_strerror_detail());
		exit(1);
	}
}

static uint64_t read_pages(const volatile char *map)
{
	uint64_t sum = 0;

	for (uint64_t off = 0; off < BYTES; off += PG)
		sum += (unsigned char)map[off];
	return sum;
}

/* ms per fork + child + reap, forks times, with the mapping mode m gives. */
static double measure(struct udax_file *f, int host_fd, unsigned m, int forks)
{
	char *map;
	double t0;
	int status;

	if (mode[m].udax)
		check("udax_mmap2", udax_mmap2(f, 0, BYTES, PROT_READ | PROT_WRITE,
					      mode[m].dontfork ? UDAX_MAP_DONTFORK : 0,
					      (void **)&map));
	else if ((map = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, host_fd, 0)) ==
		 MAP_FAILED)
		check("mmap", -1);
	read_pages(map);
	t0 = bench_now();
	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(mode[m].child_reads && read_pages(map) != BYTES / PG * 'b');
		check("fork", pid < 0);
		check("child", waitpid(pid, &status, 0) != pid || status != 0);
	}
	t0 = (bench_now() - t0) / forks * 1e3;
	check("unmap", mode[m].udax ? udax_munmap(map, BYTES) : munmap(map, BYTES));
	return t0;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 7, forks = argc > 2 ? atoi(argv[2]) : 20;
	static double ms[MODES][RUNS_MAX];
	char dir[] = "/tmp/udax-bench-fork-XXXXXX", path[64], host[64];
	static char buf[1 << 20];
	struct udax_store *s;
	struct udax_file *f;
	int fd;

	if (runs < 1 || runs > RUNS_MAX || forks < 1 || !mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/store", dir);
	snprintf(host, sizeof(host), "%s/host", dir);
	setenv("UDAX_REGION_DIR", dir, 1);
	memset(buf, 'b', sizeof(buf));
	check("create", udax_store_create(path, 256ull << 20, 0));
	check("open", udax_store_open(path, 0, &s));
	check("udax_open", udax_open(s, "f", O_RDWR | O_CREAT, &f));
	fd = open(host, O_RDWR | O_CREAT | O_TRUNC, 0600);
	check("open host", fd < 0);
	for (uint64_t off = 0; off < BYTES; off += sizeof(buf)) {
		check("udax_pwrite", udax_pwrite(f, buf, sizeof(buf), off) != sizeof(buf));
		check("pwrite", pwrite(fd, buf, sizeof(buf), (off_t)off) != sizeof(buf));
	}
	check("udax_fsync", udax_fsync(f));
	check("fsync", fsync(fd));
	for (unsigned m = 0; m < MODES; m++)
		measure(f, fd, m, 2);
	for (int r = 0; r < runs; r++)
		for (unsigned m = 0; m < MODES; m++)
			ms[m][r] = measure(f, fd, m, forks);
	printf("ms per fork + child + waitpid, a 64 MiB mapping read by the parent, %d runs of %d "
	       "(min / median / max):\n", runs, forks);
	for (unsigned m = 0; m < MODES; m++)
		bench_report(mode[m].name, ms[m], runs, 2);
	check("close", udax_close(f));
	check("store close", udax_store_close(s));
	close(fd);
	unlink(path);
	unlink(host);
	rmdir(dir);
	return 0;
}
