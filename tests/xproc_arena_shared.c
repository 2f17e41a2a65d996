// SPDX-License-Identifier: MIT
/*
 * xproc_arena_shared: the node arena of a region is one arena shared by
 * its members. Four member processes take and give nodes at random
 * (seeded), fill every node they hold with their own stamp and check it
 * is intact before giving it back (a node handed out twice shows up), and
 * hand nodes to each other through mailboxes in the user area: the
 * receiver reads the sender's stamp through its own base (mapping first
 * what the sender grew), then owns the node. They grow the arena past
 * several chunks while the others hold nodes; at the end nodes_in_use is
 * what they hold, then 0. One of them then takes the arena to arena_max
 * (-ENOMEM, all or none, every node once), gives back and takes again; a
 * joiner with another layout gets -EUCLEAN and one out of bounds -EINVAL.
 * Alone first, the parent checks the user area is zeroed and measures a
 * take + give pair; as root, a region directory without room for the
 * arena's first chunk fails the join with -ENOSPC, and one with room for
 * that chunk only gives a take past it -ENOSPC, the arena staying usable;
 * under an RLIMIT_AS too small for the reservation the join gets
 * -ENOMEM with the reason.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xproc_test.h"

#define PROCS 4
#define NODE_BYTES 552
#define NODE_WORDS (NODE_BYTES / 8)
/* Not a whole number of chunks: the last one is partial. */
#define ARENA_MAX (12 * XPROC_ARENA_CHUNK + 12345)
#define CAPACITY (ARENA_MAX / NODE_BYTES)
#define HOLD_MAX 5000
#define BATCH_MAX 16
#define CHURN_ROUNDS 300000
#define TIMED_PAIRS 200000

/* The user area: box[from][to] passes one node at a time (off 0: empty),
 * then bytes only the parent writes (to see the region made anew zeroed). */
struct mailbox {
	_Atomic uint64_t off;
	_Atomic uint64_t stamp;
};

struct user_area {
	struct mailbox box[PROCS][PROCS];
	unsigned char canary[5000];
};

/* Memory the parent and the children share (not the region). */
struct test_shared {
	_Atomic uint32_t churned, drained, given, checked, done;
	_Atomic uint64_t max_in_use;
	_Atomic uint64_t held[PROCS];
	_Atomic uint64_t handed;	/* nodes passed between processes */
};

static const struct xproc_layout layout = {
	.user_bytes = sizeof(struct user_area),
	.node_bytes = NODE_BYTES,
	.arena_max = ARENA_MAX,
};

static struct test_shared *sh;
static const char *store;
static int store_fd;

/* What one child holds. */
struct holder {
	struct xproc_region *r;
	struct user_area *u;
	unsigned me;
	uint64_t rng, serial;
	unsigned n;
	uint64_t off[HOLD_MAX];
	uint64_t stamp[HOLD_MAX];
};

static void node_fill(struct holder *h, uint64_t off, uint64_t stamp)
{
	uint64_t *w = (uint64_t *)(xproc_arena_base(h->r) + off);

	for (unsigned i = 0; i < NODE_WORDS; i++)
		w[i] = stamp + i;
}

static void node_check(struct holder *h, uint64_t off, uint64_t stamp, const char *what)
{
	const uint64_t *w = (const uint64_t *)(xproc_arena_base(h->r) + off);

	for (unsigned i = 0; i < NODE_WORDS; i++)
		CHECK(w[i] == stamp + i, "process %u: node %llu %s: word %u is %llx, not %llx",
		      h->me, (unsigned long long)off, what, i, (unsigned long long)w[i],
		      (unsigned long long)(stamp + i));
}

static uint64_t stamp_next(struct holder *h)
{
	return (uint64_t)(h->me + 1) << 56 | (h->serial++ << 8);
}

static void hold(struct holder *h, uint64_t off)
{
	uint64_t stamp = stamp_next(h);

	CHECK(off && off % 8 == 0, "process %u: node offset %llu", h->me,
	      (unsigned long long)off);
	node_fill(h, off, stamp);
	h->off[h->n] = off;
	h->stamp[h->n++] = stamp;
}

static void take_some(struct holder *h, unsigned n)
{
	uint64_t off[BATCH_MAX];
	int ret = xproc_arena_take(h->r, n, off);

	CHECK(ret == 0, "process %u: take %u: %d", h->me, n, ret);
	for (unsigned i = 0; i < n; i++)
		hold(h, off[i]);
}

/* Give n random held nodes back, each checked first. */
static void give_some(struct holder *h, unsigned n)
{
	uint64_t off[HOLD_MAX];
	unsigned k = 0;

	while (k < n && h->n) {
		unsigned i = (unsigned)(test_rand(&h->rng) % h->n);

		node_check(h, h->off[i], h->stamp[i], "given back");
		off[k++] = h->off[i];
		h->n--;
		h->off[i] = h->off[h->n];
		h->stamp[i] = h->stamp[h->n];
	}
	xproc_arena_give(h->r, k, off);
}

/* Pass a random held node to a random other process, if its box is empty. */
static void hand_one(struct holder *h)
{
	unsigned to = (h->me + 1 + (unsigned)(test_rand(&h->rng) % (PROCS - 1))) % PROCS;
	struct mailbox *box = &h->u->box[h->me][to];
	unsigned i;

	if (!h->n || atomic_load_explicit(&box->off, memory_order_acquire))
		return;
	i = (unsigned)(test_rand(&h->rng) % h->n);
	atomic_store_explicit(&box->stamp, h->stamp[i], memory_order_relaxed);
	/* Pairs with the acquire load in receive(): the node's bytes too. */
	atomic_store_explicit(&box->off, h->off[i], memory_order_release);
	h->n--;
	h->off[i] = h->off[h->n];
	h->stamp[i] = h->stamp[h->n];
	atomic_fetch_add(&sh->handed, 1);
}

/* Take over the nodes others passed: read through this process's own
 * base (mapping first what they grew), then stamp them as its own. */
static void receive(struct holder *h)
{
	for (unsigned from = 0; from < PROCS; from++) {
		struct mailbox *box = &h->u->box[from][h->me];
		uint64_t off = atomic_load_explicit(&box->off, memory_order_acquire);

		if (from == h->me || !off)
			continue;
		node_check(h, off, atomic_load_explicit(&box->stamp, memory_order_relaxed),
			   "handed over");
		atomic_store_explicit(&box->off, 0, memory_order_release);
		if (h->n == HOLD_MAX)
			xproc_arena_give(h->r, 1, &off);
		else
			hold(h, off);
	}
}

static void note_in_use(struct holder *h)
{
	uint64_t now = xproc_arena_nodes_in_use(h->r);
	uint64_t max = atomic_load(&sh->max_in_use);

	CHECK(now <= CAPACITY);
	while (now > max && !atomic_compare_exchange_weak(&sh->max_in_use, &max, now))
		;
}

static void wait_for(_Atomic uint32_t *count, uint32_t value)
{
	while (atomic_load(count) < value)
		sched_yield();
}

/* Take to arena_max: every node once, the failing take takes none; give
 * half back and take it again; give all. */
static void fill_to_max(struct holder *h)
{
	static uint64_t off[CAPACITY + 100];
	static unsigned char seen[CAPACITY];
	uint64_t first = UINT64_MAX;
	unsigned n = 0, batch = 100;
	int ret;

	CHECK_EQ(xproc_arena_nodes_in_use(h->r), 0);
	while (batch) {
		ret = xproc_arena_take(h->r, batch, off + n);
		if (ret == 0) {
			n += batch;
			continue;
		}
		CHECK(ret == -ENOMEM, "take at the arena's end: %d", ret);
		CHECK_EQ(xproc_arena_nodes_in_use(h->r), n);	/* none taken */
		batch = batch == 1 ? 0 : 1;
		if (batch) {
			/* More than is left fails whole, less fits. */
			CHECK(n + 100 > CAPACITY);
		}
	}
	CHECK_EQ(n, CAPACITY);
	CHECK_EQ(xproc_arena_nodes_in_use(h->r), CAPACITY);
	for (unsigned i = 0; i < n; i++)
		first = off[i] < first ? off[i] : first;
	for (unsigned i = 0; i < n; i++) {
		uint64_t idx = (off[i] - first) / NODE_BYTES;

		CHECK((off[i] - first) % NODE_BYTES == 0 && idx < CAPACITY && !seen[idx],
		      "node %llu handed out twice or out of the arena", (unsigned long long)off[i]);
		seen[idx] = 1;
		node_fill(h, off[i], off[i] << 8);
	}
	xproc_arena_give(h->r, n / 2, off);
	CHECK_EQ(xproc_arena_nodes_in_use(h->r), n - n / 2);
	CHECK(xproc_arena_take(h->r, n / 2, off) == 0, "take after giving back");
	CHECK(xproc_arena_take(h->r, 1, off + n) == -ENOMEM);
	for (unsigned i = n / 2; i < n; i++)
		node_check(h, off[i], off[i] << 8, "kept while others came and went");
	xproc_arena_give(h->r, n, off);
	CHECK_EQ(xproc_arena_nodes_in_use(h->r), 0);
}

/* Joiners that disagree with the region's layout, or with any. */
static void join_refused(void)
{
	struct xproc_layout other = layout, wrong = layout;
	struct xproc_region *r;
	char why[256] = "";
	int ret;

	other.node_bytes += 8;
	ret = xproc_join(store_fd, store, &other, xproc_test_noop, NULL, &r, why, sizeof(why));
	CHECK(ret == -EUCLEAN && strstr(why, "layout"), "another layout: %d %s", ret, why);
	ret = xproc_join(store_fd, store, NULL, xproc_test_noop, NULL, &r, why, sizeof(why));
	CHECK(ret == -EUCLEAN, "no layout beside members with one: %d %s", ret, why);
	wrong.node_bytes = 12;
	ret = xproc_join(store_fd, store, &wrong, xproc_test_noop, NULL, &r, why, sizeof(why));
	CHECK(ret == -EINVAL, "nodes of 12 bytes: %d %s", ret, why);
}

static void child_main(unsigned me, uint64_t seed)
{
	static struct holder h;
	unsigned target;
	uint32_t sum = 0;

	alarm(100);	/* fork children inherit no watchdog */
	h.me = me;
	h.rng = seed;
	h.r = xproc_test_join(store_fd, store, &layout, xproc_test_noop, NULL);
	h.u = xproc_user_area(h.r);
	CHECK(h.u);
	for (size_t i = 0; i < sizeof(h.u->canary); i++)
		CHECK(h.u->canary[i] == 0, "the user area of a region made anew is not zeroed");

	/* Grow: everyone holds thousands of nodes at once. */
	target = HOLD_MAX - 1000 + (unsigned)(test_rand(&h.rng) % 1000);
	while (h.n < target) {
		take_some(&h, 1 + (unsigned)(test_rand(&h.rng) % BATCH_MAX) % (target - h.n));
		if (test_rand(&h.rng) % 4 == 0)
			give_some(&h, 1 + (unsigned)(test_rand(&h.rng) % 4));
		receive(&h);
		note_in_use(&h);
	}
	/* Churn: take, give, hand over. */
	for (unsigned round = 0; round < CHURN_ROUNDS; round++) {
		unsigned dice = (unsigned)(test_rand(&h.rng) % 100);
		unsigned n = 1 + (unsigned)(test_rand(&h.rng) % BATCH_MAX);

		if (dice < 45 && h.n + n <= HOLD_MAX)
			take_some(&h, n);
		else if (dice < 90)
			give_some(&h, n);
		else
			hand_one(&h);
		receive(&h);
		if (round % 64 == 0)
			note_in_use(&h);
	}
	/* Every hand-over happens before its sender counts itself churned. */
	atomic_fetch_add(&sh->churned, 1);
	while (atomic_load(&sh->churned) < PROCS)
		receive(&h);
	receive(&h);
	atomic_store(&sh->held[me], h.n);
	atomic_fetch_add(&sh->drained, 1);
	wait_for(&sh->drained, PROCS);
	if (me == 0) {
		for (unsigned p = 0; p < PROCS; p++)
			sum += (uint32_t)atomic_load(&sh->held[p]);
		CHECK_EQ(xproc_arena_nodes_in_use(h.r), sum);
		atomic_store(&sh->checked, 1);
	}
	wait_for(&sh->checked, 1);
	give_some(&h, h.n);
	atomic_fetch_add(&sh->given, 1);
	if (me == 0) {
		wait_for(&sh->given, PROCS);
		CHECK_EQ(xproc_arena_nodes_in_use(h.r), 0);
		fill_to_max(&h);
		join_refused();
		atomic_store(&sh->done, 1);
	}
	wait_for(&sh->done, 1);
	xproc_leave(h.r);
	_exit(0);
}

/* Alone: the user area starts zeroed; one take + give pair, timed. */
static void alone(void)
{
	struct xproc_region *r = xproc_test_join(store_fd, store, &layout, xproc_test_noop, NULL);
	struct user_area *u = xproc_user_area(r);
	struct timespec t0, t1;
	uint64_t off[BATCH_MAX];
	double ns;

	CHECK(u && (uintptr_t)u % 4096 == 0);
	for (size_t i = 0; i < sizeof(*u); i++)
		CHECK(((unsigned char *)u)[i] == 0, "user area byte %zu not zeroed", i);
	memset(u->canary, 0xaa, sizeof(u->canary));
	CHECK(xproc_arena_take(r, 1, off) == 0);	/* the first chunk */
	xproc_arena_give(r, 1, off);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < TIMED_PAIRS; i++) {
		CHECK(xproc_arena_take(r, 1, off) == 0);
		xproc_arena_give(r, 1, off);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
	     TIMED_PAIRS;
	printf("one take + give pair of 1 node: %.1f ns (%u pairs, one process)\n", ns,
	       TIMED_PAIRS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < TIMED_PAIRS / BATCH_MAX; i++) {
		CHECK(xproc_arena_take(r, BATCH_MAX, off) == 0);
		xproc_arena_give(r, BATCH_MAX, off);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
	     (TIMED_PAIRS / BATCH_MAX * BATCH_MAX);
	printf("per node in take + give pairs of %d nodes: %.1f ns\n", BATCH_MAX, ns);
	CHECK_EQ(xproc_arena_nodes_in_use(r), 0);
	xproc_leave(r);	/* the last: the region goes */
}

/* A tmpfs of 1 MiB holds the region's fixed part and user area, not the
 * arena's first chunk: the join fails with -ENOSPC and says why. One of
 * 3 MiB holds that chunk, not a second: takes succeed until the chunk is
 * used up, then fail with -ENOSPC, and the arena stays usable. (Skipped
 * where mounting is not allowed.) */
static void full_region_dir(void)
{
	static uint64_t off[XPROC_ARENA_CHUNK / NODE_BYTES + 1];
	const char *dir = test_path("small");
	struct xproc_region *r;
	char why[256] = "";
	unsigned n = 0;
	int ret;

	CHECK(mkdir(dir, 0700) == 0);
	if (mount("udax-test", dir, "tmpfs", 0, "size=1m") != 0) {
		printf("(a full region directory not checked: mount: %s)\n", strerror(errno));
		return;
	}
	setenv("UDAX_REGION_DIR", dir, 1);
	ret = xproc_join(store_fd, store, &layout, xproc_test_noop, NULL, &r, why, sizeof(why));
	umount(dir);
	CHECK(ret == -ENOSPC && strstr(why, "no room"), "join in a full directory: %d %s", ret,
	      why);
	CHECK(mount("udax-test", dir, "tmpfs", 0, "size=3m") == 0);
	r = xproc_test_join(store_fd, store, &layout, xproc_test_noop, NULL);
	while (n < sizeof(off) / sizeof(off[0]) && (ret = xproc_arena_take(r, 1, &off[n])) == 0)
		n++;
	CHECK(ret == -ENOSPC, "take past the first chunk: %d after %u nodes", ret, n);
	CHECK(n >= (XPROC_ARENA_CHUNK - 4096) / NODE_BYTES, "only %u nodes in the first chunk", n);
	CHECK_EQ(xproc_arena_nodes_in_use(r), n);
	xproc_arena_give(r, n, off);
	CHECK_EQ(xproc_arena_take(r, 1, &off[0]), 0);
	xproc_arena_give(r, 1, off);
	CHECK_EQ(xproc_arena_nodes_in_use(r), 0);
	xproc_leave(r);
	umount(dir);
	setenv("UDAX_REGION_DIR", test_path(""), 1);
}

/* A child under a 1 GiB RLIMIT_AS asks for a 1 TiB arena. Not in
 * sanitizer builds, whose shadow memory needs the address space. */
static void reservation_refused(void)
{
	const struct xproc_layout huge = { .node_bytes = 64, .arena_max = 1ull << 40 };
	const struct rlimit as = { 1ull << 30, 1ull << 30 };
	struct xproc_region *r;
	char why[256] = "";
	int status, ret;
	pid_t pid;

	if (XPROC_TEST_SANITIZED)
		return;
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(setrlimit(RLIMIT_AS, &as) == 0);
		ret = xproc_join(store_fd, store, &huge, xproc_test_noop, NULL, &r, why,
				 sizeof(why));
		CHECK(ret == -ENOMEM && strstr(why, "address space"),
		      "a reservation beyond RLIMIT_AS: %d %s", ret, why);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	pid_t pid[PROCS];
	uint64_t rng;
	int status;

	test_init("xproc_arena_shared", 240);
	rng = test_seed;
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));
	/* Before any child: a member's agent thread must be gone at fork
	 * (sanitizer builds, xproc_test.h). */
	alone();
	full_region_dir();
	reservation_refused();

	for (unsigned p = 0; p < PROCS; p++) {
		uint64_t seed = test_rand(&rng);

		fflush(NULL);
		pid[p] = fork();
		CHECK(pid[p] >= 0);
		if (pid[p] == 0)
			child_main(p, seed);
	}
	for (unsigned left = PROCS; left; left--) {
		pid_t who = wait(&status);

		CHECK(who > 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			for (unsigned p = 0; p < PROCS; p++)
				kill(pid[p], SIGKILL);
			CHECK(0, "a member process failed (status %#x)", status);
		}
	}
	CHECK(atomic_load(&sh->max_in_use) * NODE_BYTES > 3 * XPROC_ARENA_CHUNK,
	      "the arena held at most %llu nodes at once: not past 3 chunks",
	      (unsigned long long)atomic_load(&sh->max_in_use));
	printf("%d processes held up to %llu nodes (%.1f chunks) at once, passed %llu between "
	       "them\n", PROCS, (unsigned long long)atomic_load(&sh->max_in_use),
	       (double)atomic_load(&sh->max_in_use) * NODE_BYTES / XPROC_ARENA_CHUNK,
	       (unsigned long long)atomic_load(&sh->handed));
	test_pass();
}
