// SPDX-License-Identifier: MIT
/*
 * radix_tree_ops: the radix tree stores, finds, iterates and deletes values
 * at random sparse indexes (up to 2^64-1), frees every node it allocated,
 * and asks for node memory only when a node is really missing (the
 * reviewer's point on radix_tree_preload). Tags: a tagged walk visits
 * exactly the tagged values in order, clearing and deleting keep inner
 * marks exact, a tree grown taller keeps its tags.
 */
#include "base/radix.h"
#include "test_util.h"

#define COUNT 20000

static uint64_t keys[COUNT];

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void insert(struct radix_tree *t, uint64_t index, uint64_t value)
{
	struct radix_preload pl = { .count = 0 };
	uint64_t *slot;

	CHECK(radix_preload_fill(&pl, radix_nodes_needed(t, index)) == 0);
	slot = radix_insert_slot(t, index, &pl);
	CHECK(slot != NULL, "index %llu", (unsigned long long)index);
	radix_slot_store(t, index, slot, value);
	radix_preload_drain(&pl);
}

int main(void)
{
	struct radix_tree t = { NULL, 0 };
	uint64_t base_nodes = radix_nodes_in_use();
	uint64_t rng, index, value;
	size_t n = 0;

	test_init("radix_tree_ops", 60);
	rng = test_seed;

	/* Preload only when a node is missing. */
	CHECK_EQ(radix_nodes_needed(&t, 5), 1);
	insert(&t, 5, 55);
	CHECK_EQ(radix_nodes_needed(&t, 6), 0);	/* same leaf, empty slot */
	CHECK(radix_lookup_slot(&t, 6) != NULL && *radix_lookup_slot(&t, 6) == 0);
	CHECK_EQ(radix_nodes_needed(&t, 64), 2);	/* new root + new leaf */
	CHECK(radix_insert_slot(&t, 64, &(struct radix_preload){ .count = 0 }) == NULL);
	CHECK_EQ(radix_lookup(&t, 5), 55);
	CHECK(radix_tag_set(&t, 5, RADIX_TAG_DIRTY));
	CHECK(!radix_tag_set(&t, 6, RADIX_TAG_DIRTY));	/* no value there */
	insert(&t, 1ull << 40, 77);			/* grows the tree */
	index = 0;
	CHECK_EQ(radix_next_tagged(&t, &index, RADIX_TAG_DIRTY), 55);
	CHECK_EQ(index, 5);
	radix_destroy(&t);
	CHECK_EQ(radix_nodes_in_use(), base_nodes);

	/* Random sparse keys, extremes included. */
	keys[n++] = 0;
	keys[n++] = UINT64_MAX;
	keys[n++] = (uint64_t)1 << 63;
	while (n < COUNT) {
		uint64_t k = test_rand(&rng);

		/* Mix of dense runs and sparse keys. */
		keys[n++] = (k & 1) ? (k >> 1) % 100000 : k >> (k % 50);
	}
	qsort(keys, n, sizeof(keys[0]), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (radix_lookup(&t, keys[i]) == 0)
			insert(&t, keys[i], keys[i] * 2 + 1);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(radix_lookup(&t, keys[i]), keys[i] * 2 + 1);

	/* Iteration visits exactly the keys, in order. */
	index = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && keys[i] == keys[i - 1])
			continue;
		value = radix_next(&t, &index);
		CHECK(value != 0, "iteration ended early at key %zu", i);
		CHECK_EQ(index, keys[i]);
		CHECK_EQ(value, keys[i] * 2 + 1);
		if (++index == 0)
			break;
	}
	CHECK(index == 0 || radix_next(&t, &index) == 0, "extra key at %llu",
	      (unsigned long long)index);

	/* Tag every third distinct key with DIRTY, every fifth with TOWRITE. */
	for (size_t i = 0; i < n; i++) {
		if (i && keys[i] == keys[i - 1])
			continue;
		CHECK(radix_tag_set(&t, keys[i], RADIX_TAG_DIRTY));
		if (i % 3)
			radix_tag_clear(&t, keys[i], RADIX_TAG_DIRTY);
		if (i % 5 == 0)
			CHECK(radix_tag_set(&t, keys[i], RADIX_TAG_TOWRITE));
	}
	for (int tag = 0; tag < RADIX_TAGS; tag++) {
		unsigned every = tag == RADIX_TAG_DIRTY ? 3 : 5;

		index = 0;
		for (size_t i = 0; i < n; i++) {
			if ((i && keys[i] == keys[i - 1]) || i % every)
				continue;
			CHECK(radix_tag_get(&t, keys[i], (enum radix_tag)tag));
			value = radix_next_tagged(&t, &index, (enum radix_tag)tag);
			CHECK(value != 0, "tagged walk ended early at key %zu", i);
			CHECK_EQ(index, keys[i]);
			if (++index == 0)
				break;
		}
		CHECK(index == 0 || radix_next_tagged(&t, &index, (enum radix_tag)tag) == 0,
		      "extra tagged key at %llu", (unsigned long long)index);
	}
	/* Clearing every DIRTY tag leaves no inner mark behind. */
	index = 0;
	while (radix_next_tagged(&t, &index, RADIX_TAG_DIRTY)) {
		CHECK(radix_tag_clear(&t, index, RADIX_TAG_DIRTY));
		CHECK(!radix_tag_clear(&t, index, RADIX_TAG_DIRTY));
		if (++index == 0)
			break;
	}
	CHECK_EQ(t.root->tags[RADIX_TAG_DIRTY], 0);
	CHECK(t.root->tags[RADIX_TAG_TOWRITE] != 0);

	/* Delete every other key, then the rest: nodes all come back. */
	for (int pass = 0; pass < 2; pass++) {
		struct radix_freed fr = { NULL };

		for (size_t i = (size_t)pass; i < n; i += 2)
			radix_delete(&t, keys[i], &fr);
		radix_release(&fr);
		for (size_t i = 1 - (size_t)pass; pass == 0 && i < n; i += 2)
			if (!(i && keys[i] == keys[i - 1]) && !(i + 1 < n && keys[i] == keys[i + 1]))
				CHECK_EQ(radix_lookup(&t, keys[i]), keys[i] * 2 + 1);
	}
	CHECK(t.root == NULL, "tree not empty after deleting every key");
	CHECK_EQ(radix_nodes_in_use(), base_nodes);
	test_pass();
}
