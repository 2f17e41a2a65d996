/* SPDX-License-Identifier: MIT */
/*
 * bench_stats.h - what the benchmarks that report min / median / max of
 * interleaved runs share: a monotonic clock in seconds, and one case's
 * line of the report.
 */
#ifndef UDAX_BENCH_STATS_H
#define UDAX_BENCH_STATS_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sort one case's n runs and print "  name  min / median / max" with
 * decimals digits after the point. */
static inline void bench_report(const char *name, double *runs, int n, int decimals)
{
	qsort(runs, (size_t)n, sizeof(double), bench_cmp_double);
	printf("  %-44s %9.*f / %9.*f / %9.*f\n", name, decimals, runs[0], decimals, runs[n / 2],
	       decimals, runs[n - 1]);
}

#endif /* UDAX_BENCH_STATS_H */
