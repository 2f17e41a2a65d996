// SPDX-License-Identifier: MIT
/*
 * xproc_arena_holder_death: the node arena survives members killed at any
 * instant of a take, a give or a growth. Victim processes take and give
 * nodes at random and leak what they hold when killed, so the arena keeps
 * growing; a survivor takes and gives beside them. Every holder claims
 * each node it is handed in a table (compare-and-swap from free), so a
 * node handed out twice, even one a dead victim held, shows up at once.
 * The parent kills a victim with SIGKILL 240 times, at a random instant
 * after it got going or just before the arena must grow (it watches the
 * region's header), and starts another. Then the survivor checks the
 * arena: the free list ends within the arena's node count without
 * repeating a node and names no held node, it and the never used nodes
 * are exactly what the survivor can still take, and what it holds plus
 * that never exceeds the arena.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "xproc/region_layout.h"
#include "xproc_test.h"

#define VICTIMS 2
#define KILLS 240
#define NODE_BYTES 1024
#define ARENA_MAX (64ull << 20)
#define CAPACITY (ARENA_MAX / NODE_BYTES)
#define BATCH_MAX 32
#define VICTIM_HOLD 600
#define SURVIVOR_HOLD 64
#define SURVIVOR_TAG 1

struct shared {
	_Atomic uint32_t owner[CAPACITY];	/* the tag of a node's holder, 0: none */
	_Atomic uint32_t broken;
	_Atomic uint32_t survivor_ready, final, final_done;
	_Atomic uint64_t ops[VICTIMS];		/* of the current victim */
	_Atomic uint32_t in_call[VICTIMS];	/* inside take or give */
	_Atomic uint32_t slot[VICTIMS];
	_Atomic uint64_t survivor_ops;
	char why[256];
};

static const struct xproc_layout layout = {
	.node_bytes = NODE_BYTES,
	.arena_max = ARENA_MAX,
};

static struct shared *sh;
static const char *store;
static int store_fd;

#define BREAK(...)                                                                   \
	do {                                                                         \
		snprintf(sh->why, sizeof(sh->why), __VA_ARGS__);                     \
		atomic_store(&sh->broken, 1);                                        \
	} while (0)

struct holder {
	struct xproc_region *r;
	uint32_t tag;
	uint64_t rng;
	unsigned n, hold_max;
	uint64_t off[VICTIM_HOLD];
};

static uint64_t node_index(const struct holder *h, uint64_t off)
{
	return (off - h->r->arena_off) / NODE_BYTES;
}

static uint64_t *node_words(const struct holder *h, uint64_t off)
{
	return (uint64_t *)(xproc_arena_base(h->r) + off);
}

/* Claim a node just handed out; Return: false if someone holds it. */
static bool claim(struct holder *h, uint64_t off)
{
	uint64_t idx = node_index(h, off);
	uint32_t was = 0;

	if (off < h->r->arena_off || (off - h->r->arena_off) % NODE_BYTES || idx >= CAPACITY) {
		BREAK("tag %u: offset %llu is no node", h->tag, (unsigned long long)off);
		return false;
	}
	if (!atomic_compare_exchange_strong(&sh->owner[idx], &was, h->tag)) {
		BREAK("node %llu handed to tag %u while tag %u holds it",
		      (unsigned long long)idx, h->tag, was);
		return false;
	}
	node_words(h, off)[0] = h->tag;
	node_words(h, off)[NODE_BYTES / 8 - 1] = ~(uint64_t)h->tag;
	return true;
}

/* Check a held node is still this holder's and release the claim. */
static void unclaim(struct holder *h, uint64_t off)
{
	const uint64_t *w = node_words(h, off);

	if (w[0] != h->tag || w[NODE_BYTES / 8 - 1] != ~(uint64_t)h->tag)
		BREAK("node %llu of tag %u was written by another",
		      (unsigned long long)node_index(h, off), h->tag);
	atomic_store(&sh->owner[node_index(h, off)], 0);
}

/* One step: take a batch or give one back, each checked. */
static void step(struct holder *h, _Atomic uint32_t *in_call)
{
	unsigned n = 1 + (unsigned)(test_rand(&h->rng) % BATCH_MAX);
	uint64_t off[BATCH_MAX];
	int ret;

	if (h->n + n <= h->hold_max && test_rand(&h->rng) % 2) {
		atomic_store(in_call, 1);
		ret = xproc_arena_take(h->r, n, off);
		atomic_store(in_call, 0);
		if (ret == -ENOMEM) {
			h->hold_max = h->n;	/* the arena is full: give back */
			return;
		}
		if (ret) {
			BREAK("tag %u: take %u: %d", h->tag, n, ret);
			return;
		}
		for (unsigned i = 0; i < n; i++) {
			if (claim(h, off[i]))
				h->off[h->n++] = off[i];
		}
		return;
	}
	n = n < h->n ? n : h->n;
	for (unsigned i = 0; i < n; i++) {
		unsigned at = (unsigned)(test_rand(&h->rng) % h->n);

		off[i] = h->off[at];
		h->off[at] = h->off[--h->n];
		unclaim(h, off[i]);
	}
	atomic_store(in_call, 1);
	xproc_arena_give(h->r, n, off);
	atomic_store(in_call, 0);
}

static void victim(unsigned v, uint32_t tag, uint64_t seed)
{
	static struct holder h;

	alarm(60);	/* fork children inherit no watchdog */
	h.r = xproc_test_join(store_fd, store, &layout, xproc_test_noop, NULL);
	h.tag = tag;
	h.rng = seed;
	h.hold_max = (unsigned)(test_rand(&h.rng) % VICTIM_HOLD) + 1;
	atomic_store(&sh->slot[v], xproc_self(h.r));
	for (;;) {
		step(&h, &sh->in_call[v]);
		atomic_fetch_add(&sh->ops[v], 1);
	}
}

/* The survivor's last act, with every victim dead: the arena as they left
 * it must be whole. */
static void survivor_check(struct holder *h)
{
	const struct xproc_arena *a = &h->r->shared->header.arena;
	static unsigned char listed[CAPACITY];
	static uint64_t off[CAPACITY + BATCH_MAX];
	uint64_t node, cursor, used, free_nodes = 0, taken = 0, in_use;
	unsigned batch = BATCH_MAX;
	int ret;

	/* A take (and give) takes the lock over from a dead holder. */
	ret = xproc_arena_take(h->r, 1, off);
	CHECK(ret == 0 || ret == -ENOMEM, "take after the kills: %d", ret);
	if (ret == 0)
		xproc_arena_give(h->r, 1, off);

	cursor = atomic_load(&a->cursor);
	in_use = atomic_load(&a->in_use);
	CHECK(cursor >= h->r->arena_off && (cursor - h->r->arena_off) % NODE_BYTES == 0 &&
	      cursor <= atomic_load(&a->end));
	used = (cursor - h->r->arena_off) / NODE_BYTES;
	CHECK(used <= CAPACITY);
	for (node = atomic_load(&a->free_head); node; free_nodes++) {
		uint64_t idx = node_index(h, node);

		CHECK(free_nodes < used, "the free list is longer than the nodes ever used "
		      "(a cycle)");
		CHECK(node >= h->r->arena_off && node < cursor &&
		      (node - h->r->arena_off) % NODE_BYTES == 0,
		      "free list: %llu is no node", (unsigned long long)node);
		CHECK(!listed[idx], "node %llu twice in the free list", (unsigned long long)idx);
		CHECK(!atomic_load(&sh->owner[idx]), "node %llu is free and held by tag %u",
		      (unsigned long long)idx, atomic_load(&sh->owner[idx]));
		listed[idx] = 1;
		node = *node_words(h, node);
	}
	CHECK(in_use + free_nodes >= used, "%llu nodes in use + %llu free < %llu ever used",
	      (unsigned long long)in_use, (unsigned long long)free_nodes,
	      (unsigned long long)used);
	CHECK(in_use >= h->n && in_use <= CAPACITY);

	/* Everything left, each claimed: free or never used, nothing else. */
	while (batch) {
		ret = xproc_arena_take(h->r, batch, off + taken);
		if (ret == -ENOMEM) {
			batch = batch == 1 ? 0 : 1;
			continue;
		}
		CHECK(ret == 0, "taking what is left: %d", ret);
		for (unsigned i = 0; i < batch; i++)
			CHECK(claim(h, off[taken + i]), "%s", sh->why);
		taken += batch;
	}
	CHECK_EQ(taken, free_nodes + (CAPACITY - used));
	CHECK(taken + h->n <= CAPACITY);
	printf("after the kills: %llu nodes ever used, %llu free, %llu in use (%llu leaked by "
	       "dead victims or counted in flight), the survivor holds %u and took the %llu "
	       "left\n", (unsigned long long)used, (unsigned long long)free_nodes,
	       (unsigned long long)in_use, (unsigned long long)(in_use - h->n), h->n,
	       (unsigned long long)taken);
	for (uint64_t i = 0; i < taken; i++)
		atomic_store(&sh->owner[node_index(h, off[i])], 0);
	xproc_arena_give(h->r, (unsigned)taken, off);
	CHECK_EQ(xproc_arena_nodes_in_use(h->r), in_use);
}

static void survivor(uint64_t seed)
{
	static struct holder h;
	_Atomic uint32_t in_call;

	alarm(100);
	h.r = xproc_test_join(store_fd, store, &layout, xproc_test_noop, NULL);
	h.tag = SURVIVOR_TAG;
	h.rng = seed;
	h.hold_max = SURVIVOR_HOLD;
	atomic_store(&sh->survivor_ready, 1);
	while (!atomic_load(&sh->final) && !atomic_load(&sh->broken)) {
		step(&h, &in_call);
		atomic_fetch_add(&sh->survivor_ops, 1);
	}
	CHECK(!atomic_load(&sh->broken), "%s", sh->why);
	survivor_check(&h);
	atomic_store(&sh->final_done, 1);
	xproc_leave(h.r);
	_exit(0);
}

static pid_t start(void (*fn)(unsigned, uint32_t, uint64_t), unsigned v, uint32_t tag,
		   uint64_t seed)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		fn(v, tag, seed);
	return pid;
}

static void survivor_entry(unsigned v, uint32_t tag, uint64_t seed)
{
	(void)v;
	(void)tag;
	survivor(seed);
}

static void spin(uint64_t *rng, unsigned max)
{
	for (volatile unsigned n = (unsigned)(test_rand(rng) % max); n; n--)
		;
}

/* The region's header, read only: the parent is no member. */
static const struct xproc_header *peek_region(int *fd)
{
	struct stat st;
	char name[128];
	void *p;

	CHECK(fstat(store_fd, &st) == 0);
	snprintf(name, sizeof(name), "udax-%llx-%llx.region", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	*fd = open(test_path(name), O_RDONLY | O_CLOEXEC);
	CHECK(*fd >= 0);
	p = mmap(NULL, sizeof(struct xproc_header), PROT_READ, MAP_SHARED, *fd, 0);
	CHECK(p != MAP_FAILED);
	return p;
}

/* Spin until the arena must grow for its next fresh node (no free node,
 * little room left below its end), or a bound. */
static void wait_growth_near(const struct xproc_header *hd)
{
	for (unsigned i = 0; i < 200000; i++) {
		if (!atomic_load(&hd->arena.free_head) &&
		    atomic_load(&hd->arena.end) - atomic_load(&hd->arena.cursor) <
			    BATCH_MAX * NODE_BYTES)
			return;
		cpu_relax();
	}
}

int main(void)
{
	unsigned in_call = 0, holding = 0, mid_grow = 0, aimed = 0;
	bool file_longer = false;
	const struct xproc_header *hd;
	pid_t pid[VICTIMS], surv;
	uint32_t next_tag = SURVIVOR_TAG + 1;
	struct timespec t0, t1;
	int region_fd, status;
	uint64_t rng;

	test_init("xproc_arena_holder_death", 240);
	rng = test_seed;
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));
	clock_gettime(CLOCK_MONOTONIC, &t0);

	surv = start(survivor_entry, 0, 0, test_rand(&rng));
	while (!atomic_load(&sh->survivor_ready))
		sched_yield();
	hd = peek_region(&region_fd);
	for (unsigned v = 0; v < VICTIMS; v++)
		pid[v] = start(victim, v, next_tag++, test_rand(&rng));

	for (unsigned k = 1; k <= KILLS; k++) {
		unsigned v = (unsigned)(test_rand(&rng) % VICTIMS);
		uint64_t go = 1 + test_rand(&rng) % 64;
		struct stat st;
		uint32_t word;

		while (atomic_load(&sh->ops[v]) < go)
			CHECK(!atomic_load(&sh->broken), "kill %u: %s", k, sh->why);
		if (test_rand(&rng) % 3 == 0) {
			wait_growth_near(hd);
			aimed++;
		}
		spin(&rng, 20000);
		kill(pid[v], SIGKILL);
		CHECK(waitpid(pid[v], &status, 0) == pid[v] && WIFSIGNALED(status),
		      "victim of kill %u ended with status %#x", k, status);
		in_call += atomic_load(&sh->in_call[v]);
		word = atomic_load(&hd->arena.lock.word);
		holding += (word & 0x7f) == atomic_load(&sh->slot[v]) + 1;
		CHECK(fstat(region_fd, &st) == 0);
		/* Counted once: the next growth covers what the dead one made. */
		mid_grow += !file_longer && (uint64_t)st.st_size > atomic_load(&hd->arena.end);
		file_longer = (uint64_t)st.st_size > atomic_load(&hd->arena.end);
		CHECK(!atomic_load(&sh->broken), "kill %u: %s", k, sh->why);
		atomic_store(&sh->ops[v], 0);
		atomic_store(&sh->in_call[v], 0);
		pid[v] = start(victim, v, next_tag++, test_rand(&rng));
	}
	for (unsigned v = 0; v < VICTIMS; v++) {
		kill(pid[v], SIGKILL);
		CHECK(waitpid(pid[v], &status, 0) == pid[v]);
	}
	atomic_store(&sh->final, 1);
	CHECK(waitpid(surv, &status, 0) == surv && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the survivor failed (status %#x)", status);
	CHECK(atomic_load(&sh->final_done));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%u kills (%u aimed at a growth): %u inside take or give, %u holding the arena "
	       "lock, %u between a growth's fallocate and its publication; the survivor "
	       "made %llu steps; %.1f s\n", KILLS + VICTIMS, aimed, in_call, holding, mid_grow,
	       (unsigned long long)atomic_load(&sh->survivor_ops),
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	test_pass();
}
