// SPDX-License-Identifier: MIT
/*
 * store_open.c - what udax_store_open() + udax_store_close() of a 1 GiB
 * store cost in each way a process can open it (issue 14, stage 3's API
 * step): exclusive; shared and alone (the open makes the region, the
 * close removes it); shared read-only alone; shared and read-only beside
 * a member that keeps the region. A read-write close writes a checkpoint.
 * A warm-up of each, then runs interleaved; min / median / max µs per
 * open + close. Not a test. usage: store_open RUNS OPENS
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_stats.h"
#include "udax.h"

#define MODES 5
#define RUNS_MAX 31

static const struct {
	const char *name;
	unsigned flags;
	bool beside_member;
} mode[MODES] = {
	{ "exclusive", UDAX_STORE_EXCLUSIVE, false },
	{ "shared, alone", 0, false },
	{ "shared read-only, alone", UDAX_STORE_RDONLY, false },
	{ "shared, beside a member", 0, true },
	{ "shared read-only, beside a member", UDAX_STORE_RDONLY, true },
};

static void check(const char *what, int ret)
{
	if (ret) {
		fprintf(stderr, "store_open: %s: %d %s\n", what, ret, udax_strerror_detail());
		exit(1);
	}
}

/* µs per open + close of the store at path, opens times, in mode m. */
static double measure(const char *path, unsigned m, int opens)
{
	struct udax_store *member = NULL, *s;
	double t0;

	if (mode[m].beside_member)
		check("open the member", udax_store_open(path, 0, &member));
	t0 = bench_now();
	for (int i = 0; i < opens; i++) {
		check(mode[m].name, udax_store_open(path, mode[m].flags, &s));
		check("close", udax_store_close(s));
	}
	t0 = (bench_now() - t0) / opens * 1e6;
	if (member)
		check("close the member", udax_store_close(member));
	return t0;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 7, opens = argc > 2 ? atoi(argv[2]) : 200;
	static double us[MODES][RUNS_MAX];
	char dir[] = "/tmp/udax-bench-open-XXXXXX", path[64];

	if (runs < 1 || runs > RUNS_MAX || opens < 1 || !mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/store", dir);
	check("create", udax_store_create(path, 1ull << 30, 0));
	for (unsigned m = 0; m < MODES; m++)
		measure(path, m, 2);
	for (int r = 0; r < runs; r++)
		for (unsigned m = 0; m < MODES; m++)
			us[m][r] = measure(path, m, opens);
	printf("us per udax_store_open + udax_store_close, 1 GiB store, %d runs of %d "
	       "(min / median / max):\n", runs, opens);
	for (unsigned m = 0; m < MODES; m++)
		bench_report(mode[m].name, us[m], runs, 0);
	unlink(path);
	rmdir(dir);
	return 0;
}
