// SPDX-License-Identifier: MIT
/*
 * radix_tree_ops: the radix tree stores, finds, iterates and deletes values
 * at random sparse indexes (up to 2^64-1), frees every node it allocated,
 * and asks for node memory only when a node is really missing (the
 * reviewer's point on radix_tree_preload). Tags: a tagged walk visits
 * exactly the tagged values in order, clearing and deleting keep inner
 * marks exact, a tree grown taller keeps its tags. All of it runs twice:
 * on the process's pool, and on nodes in a memory file whose refs are
 * offsets (the kind of space processes share); there the tree, mapped a
 * second time at another address, reads the same through that mapping.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "base/radix.h"
#include "test_util.h"

#define COUNT 20000

static uint64_t keys[COUNT];

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void insert(const struct radix_space *sp, struct radix_tree *t, uint64_t index, uint64_t value)
{
	struct radix_preload pl = { .count = 0 };
	uint64_t *slot;

	CHECK(radix_preload_fill(sp, &pl, radix_nodes_needed(sp, t, index)) == 0);
	slot = radix_insert_slot(sp, t, index, &pl);
	CHECK(slot != NULL, "index %llu", (unsigned long long)index);
	radix_slot_store(t, index, slot, value);
	radix_preload_drain(sp, &pl);
}

/* A space of offsets in a memory file: bump allocation and a free list
 * through the nodes' parent refs; a ref is never 0 (the file's first node
 * is never handed out). */
struct file_space {
	struct radix_space space;
	size_t bytes;
	radix_ref next, free;
	uint64_t in_use;
};

static int file_take(const struct radix_space *sp, unsigned n, radix_ref *refs)
{
	struct file_space *fs = sp->ctx;

	for (unsigned i = 0; i < n; i++) {
		if (fs->free) {
			refs[i] = fs->free;
			fs->free = radix_node_at(sp, fs->free)->parent;
		} else {
			CHECK(fs->next + sizeof(struct radix_node) <= fs->bytes, "file space full");
			refs[i] = fs->next;
			fs->next += sizeof(struct radix_node);
		}
	}
	fs->in_use += n;
	return 0;
}

static void file_give(const struct radix_space *sp, unsigned n, const radix_ref *refs)
{
	struct file_space *fs = sp->ctx;

	for (unsigned i = 0; i < n; i++) {
		radix_node_at(sp, refs[i])->parent = fs->free;
		fs->free = refs[i];
	}
	fs->in_use -= n;
}

static uint64_t nodes_in_use(const struct radix_space *sp)
{
	return sp == &radix_process_space ? radix_nodes_in_use()
					  : ((struct file_space *)sp->ctx)->in_use;
}

/* Every value of t read through sp and through other (the same nodes
 * mapped elsewhere) is the same, and other's nodes are not sp's. */
static void same_through(const struct radix_space *sp, const struct radix_space *other,
			 struct radix_tree *t, size_t n)
{
	CHECK(radix_node_at(sp, t->root) != radix_node_at(other, t->root));
	for (size_t i = 0; i < n; i++) {
		uint64_t at = keys[i], at_other = keys[i];
		uint64_t *slot = radix_lookup_slot(other, t, keys[i]);

		CHECK(slot && *slot == keys[i] * 2 + 1, "key %llu", (unsigned long long)keys[i]);
		CHECK_EQ(radix_next(sp, t, &at), radix_next(other, t, &at_other));
		CHECK_EQ(at, at_other);
	}
}

static void tree_ops(const struct radix_space *sp, const struct radix_space *other,
		     uint64_t rng)
{
	struct radix_tree t = { 0, 0 };
	uint64_t base_nodes = nodes_in_use(sp);
	uint64_t index, value;
	size_t n = 0;

	/* Preload only when a node is missing. */
	CHECK_EQ(radix_nodes_needed(sp, &t, 5), 1);
	insert(sp, &t, 5, 55);
	CHECK_EQ(radix_nodes_needed(sp, &t, 6), 0);	/* same leaf, empty slot */
	CHECK(radix_lookup_slot(sp, &t, 6) != NULL && *radix_lookup_slot(sp, &t, 6) == 0);
	CHECK_EQ(radix_nodes_needed(sp, &t, 64), 2);	/* new root + new leaf */
	CHECK(radix_insert_slot(sp, &t, 64, &(struct radix_preload){ .count = 0 }) == NULL);
	CHECK_EQ(radix_lookup(sp, &t, 5), 55);
	CHECK(radix_tag_set(sp, &t, 5, RADIX_TAG_DIRTY));
	CHECK(!radix_tag_set(sp, &t, 6, RADIX_TAG_DIRTY));	/* no value there */
	insert(sp, &t, 1ull << 40, 77);			/* grows the tree */
	index = 0;
	CHECK_EQ(radix_next_tagged(sp, &t, &index, RADIX_TAG_DIRTY), 55);
	CHECK_EQ(index, 5);
	radix_destroy(sp, &t);
	CHECK_EQ(nodes_in_use(sp), base_nodes);

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
		if (radix_lookup(sp, &t, keys[i]) == 0)
			insert(sp, &t, keys[i], keys[i] * 2 + 1);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(radix_lookup(sp, &t, keys[i]), keys[i] * 2 + 1);
	if (other)
		same_through(sp, other, &t, n);

	/* Iteration visits exactly the keys, in order. */
	index = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && keys[i] == keys[i - 1])
			continue;
		value = radix_next(sp, &t, &index);
		CHECK(value != 0, "iteration ended early at key %zu", i);
		CHECK_EQ(index, keys[i]);
		CHECK_EQ(value, keys[i] * 2 + 1);
		if (++index == 0)
			break;
	}
	CHECK(index == 0 || radix_next(sp, &t, &index) == 0, "extra key at %llu",
	      (unsigned long long)index);

	/* Tag every third distinct key with DIRTY, every fifth with TOWRITE. */
	for (size_t i = 0; i < n; i++) {
		if (i && keys[i] == keys[i - 1])
			continue;
		CHECK(radix_tag_set(sp, &t, keys[i], RADIX_TAG_DIRTY));
		if (i % 3)
			radix_tag_clear(sp, &t, keys[i], RADIX_TAG_DIRTY);
		if (i % 5 == 0)
			CHECK(radix_tag_set(sp, &t, keys[i], RADIX_TAG_TOWRITE));
	}
	for (int tag = 0; tag < RADIX_TAGS; tag++) {
		unsigned every = tag == RADIX_TAG_DIRTY ? 3 : 5;

		index = 0;
		for (size_t i = 0; i < n; i++) {
			if ((i && keys[i] == keys[i - 1]) || i % every)
				continue;
			CHECK(radix_tag_get(sp, &t, keys[i], (enum radix_tag)tag));
			value = radix_next_tagged(sp, &t, &index, (enum radix_tag)tag);
			CHECK(value != 0, "tagged walk ended early at key %zu", i);
			CHECK_EQ(index, keys[i]);
			if (++index == 0)
				break;
		}
		CHECK(index == 0 || radix_next_tagged(sp, &t, &index, (enum radix_tag)tag) == 0,
		      "extra tagged key at %llu", (unsigned long long)index);
	}
	/* Clearing every DIRTY tag leaves no inner mark behind. */
	index = 0;
	while (radix_next_tagged(sp, &t, &index, RADIX_TAG_DIRTY)) {
		CHECK(radix_tag_clear(sp, &t, index, RADIX_TAG_DIRTY));
		CHECK(!radix_tag_clear(sp, &t, index, RADIX_TAG_DIRTY));
		if (++index == 0)
			break;
	}
	CHECK_EQ(radix_node_at(sp, t.root)->tags[RADIX_TAG_DIRTY], 0);
	CHECK(radix_node_at(sp, t.root)->tags[RADIX_TAG_TOWRITE] != 0);

	/* Delete every other key, then the rest: nodes all come back. */
	for (int pass = 0; pass < 2; pass++) {
		struct radix_freed fr = { 0 };

		for (size_t i = (size_t)pass; i < n; i += 2)
			radix_delete(sp, &t, keys[i], &fr);
		radix_release(sp, &fr);
		for (size_t i = 1 - (size_t)pass; pass == 0 && i < n; i += 2)
			if (!(i && keys[i] == keys[i - 1]) && !(i + 1 < n && keys[i] == keys[i + 1]))
				CHECK_EQ(radix_lookup(sp, &t, keys[i]), keys[i] * 2 + 1);
	}
	CHECK(t.root == 0, "tree not empty after deleting every key");
	CHECK_EQ(nodes_in_use(sp), base_nodes);
}

int main(void)
{
	size_t bytes = (size_t)1 << 30;
	int fd = memfd_create("radix_tree_ops", 0);
	struct file_space fs = { .bytes = bytes, .next = sizeof(struct radix_node) };
	struct radix_space other;
	char *one, *two;

	test_init("radix_tree_ops", 60);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0);
	one = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	two = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	CHECK(one != MAP_FAILED && two != MAP_FAILED);
	fs.space = (struct radix_space){ .base = one, .take = file_take, .give = file_give,
					 .ctx = &fs };
	other = fs.space;
	other.base = two;

	tree_ops(&radix_process_space, NULL, test_seed);
	tree_ops(&fs.space, &other, test_seed);
	printf("file space: %llu nodes at most\n",
	       (unsigned long long)((fs.next - sizeof(struct radix_node)) / sizeof(struct radix_node)));
	test_pass();
}
