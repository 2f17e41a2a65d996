// SPDX-License-Identifier: MIT
/*
 * dirs_match_host_twin: seeded random mkdir, rmdir, rename, create and
 * unlink on paths a/b/c of a store and of a host directory, the twin:
 * every call returns what the kernel returns (0 or the same errno), and
 * the trees (names, types, file contents) are the same every 50 steps, and
 * after the store is closed and opened again, which it checks clean.
 * 10 rounds of 400 steps; the seed is printed on failure.
 */
#include "dir_twin.h"

#define ROUNDS 10
#define STEPS 400

static void trees_compare(struct udax_store *s, const char *twin, int round, int step)
{
	struct twin_tree a = { .n = 0 }, b = { .n = 0 };

	twin_store_walk(s, NULL, &a);
	twin_host_walk(twin, NULL, &b);
	CHECK(twin_tree_same(&a, &b), "round %d step %d: the trees differ", round, step);
	twin_tree_free(&a);
	twin_tree_free(&b);
}

int main(void)
{
	const char *path, *twin;
	uint64_t rng;

	test_init("dirs_match_host_twin", 240);
	rng = test_seed;
	path = strdup(test_path("store"));
	twin = strdup(test_path("twin"));
	CHECK(mkdir(twin, 0755) == 0);
	for (int round = 0; round < ROUNDS; round++) {
		struct udax_store *s;

		unlink(path);
		twin_host_clear(twin, NULL);
		CHECK_EQ(udax_store_create(path, 8ull << 20, 0), 0);
		CHECK_EQ(udax_store_open(path, 0, &s), 0);
		for (int step = 0; step < STEPS; step++) {
			struct twin_step st = twin_next(&rng);
			int got = twin_store_apply(s, &st, false), want = twin_host_apply(twin, &st);

			CHECK(got == want, "round %d step %d: %s %s %s: store %d (%s), host %d",
			      round, step, twin_op_name[st.op], st.a,
			      st.op == TWIN_RENAME ? st.b : "", got, udax_strerror_detail(), want);
			if (step % 50 == 49)
				trees_compare(s, twin, round, step);
		}
		CHECK_EQ(udax_store_close(s), 0);
		CHECK(udax_store_check(path, 0) == 0, "round %d: check: %s", round,
		      udax_strerror_detail());
		CHECK_EQ(udax_store_open(path, 0, &s), 0);
		trees_compare(s, twin, round, STEPS);
		CHECK_EQ(udax_store_close(s), 0);
	}
	test_pass();
}
