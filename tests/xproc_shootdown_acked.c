// SPDX-License-Identifier: MIT
/*
 * xproc_shootdown_acked: a shootdown returns only once every named member
 * process has carried the request out. Four processes join the region of
 * one store; the parent posts 20,000 seeded requests to all of them, and
 * after each return every child must have applied exactly that request,
 * its fields intact. Then two parent threads post 5,000 each at once
 * (one post lock, one writer per cell): every child applies all 10,000,
 * each once. Every seventh request one child's callback says it could
 * not (-EAGAIN): that shootdown, and only that one, returns -EAGAIN. The
 * last member to leave removes the region file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "xproc_test.h"

#define CHILDREN 4
#define SERIAL 20000
#define THREADED 5000

struct seen {
	_Atomic uint64_t last;	/* request number of the last applied */
	_Atomic uint64_t applied;
	_Atomic uint32_t bad;	/* fields that did not match their number */
	_Atomic uint32_t slot;
};

static struct seen *seen;	/* shared with the children */
static unsigned child_index;
static uint64_t seed;
static struct seen parent_seen;	/* nobody posts to the parent */

/* The fields of request k: all derived from k, so a child can tell a torn
 * or misdelivered request. */
static struct xproc_request request_for(uint64_t k)
{
	uint64_t h = (k + 1) * 0x9e3779b97f4a7c15ull ^ seed;

	return (struct xproc_request){ .op = k & 1 ? XPROC_ZAP : XPROC_WRPROTECT,
				       .file = (uint32_t)(h >> 40), .first = k,
				       .count = h & 0xffff, .block = h >> 8 };
}

/* Whether child i's callback fails request k, and the return a shootdown
 * of k to every child must give. */
static bool fails(uint64_t k, unsigned i)
{
	return k % 7 == 3 && i == k % CHILDREN;
}

static int expected_return(uint64_t k)
{
	return k % 7 == 3 ? -EAGAIN : 0;
}

static int child_apply(void *ctx, const struct xproc_request *req)
{
	struct seen *me = ctx;
	struct xproc_request want = request_for(req->first);

	if (req->op != want.op || req->file != want.file || req->count != want.count ||
	    req->block != want.block)
		atomic_fetch_add(&me->bad, 1);
	atomic_store_explicit(&me->last, req->first, memory_order_release);
	atomic_fetch_add(&me->applied, 1);
	return fails(req->first, child_index) ? -EAGAIN : 0;
}

/* A child: join, say so on `ready`, stay until `done` closes, leave. */
static void child_main(const char *store, int ready, int done)
{
	struct xproc_region *r;
	char why[256] = "", c;
	int fd = open(store, O_RDWR), ret;

	CHECK(fd >= 0);
	ret = xproc_join(fd, store, NULL, child_apply, &seen[child_index], &r, why, sizeof(why));
	CHECK(ret == 0, "child join: %d %s", ret, why);
	atomic_store(&seen[child_index].slot, xproc_self(r));
	CHECK(write(ready, "j", 1) == 1);
	CHECK(read(done, &c, 1) == 0);
	xproc_leave(r);
	_exit(0);
}

struct poster {
	struct xproc_region *r;
	uint64_t peers, base;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;

	for (uint64_t k = 0; k < THREADED; k++) {
		struct xproc_request req = request_for(p->base + k);

		CHECK(xproc_shootdown(p->r, p->peers, &req) == expected_return(p->base + k));
	}
	return NULL;
}

int main(void)
{
	const char *store;
	int ready[2], done[2], fd, status;
	struct xproc_region *r;
	pid_t pid[CHILDREN];
	uint64_t peers = 0;
	char why[256] = "", c;
	struct stat st;

	test_init("xproc_shootdown_acked", 120);
	store = test_path("store");
	seed = test_seed;
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	fd = open(store, O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0);
	seen = mmap(NULL, sizeof(*seen) * CHILDREN, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(seen != MAP_FAILED);
	CHECK(pipe(ready) == 0 && pipe(done) == 0);
	for (unsigned i = 0; i < CHILDREN; i++) {
		pid[i] = fork();
		CHECK(pid[i] >= 0);
		if (pid[i] == 0) {
			close(ready[0]);
			close(done[1]);
			child_index = i;
			child_main(store, ready[1], done[0]);
		}
	}
	close(ready[1]);
	close(done[0]);
	for (unsigned i = 0; i < CHILDREN; i++)
		CHECK(read(ready[0], &c, 1) == 1, "a child did not join");
	CHECK(xproc_join(fd, store, NULL, child_apply, &parent_seen, &r, why, sizeof(why)) == 0,
	      "%s", why);
	for (unsigned i = 0; i < CHILDREN; i++)
		peers |= 1ull << atomic_load(&seen[i].slot);
	CHECK(xproc_peers(r) == peers, "peers %#llx, children's slots %#llx",
	      (unsigned long long)xproc_peers(r), (unsigned long long)peers);

	for (uint64_t k = 0; k < SERIAL; k++) {
		struct xproc_request req = request_for(k);

		CHECK(xproc_shootdown(r, peers | 1ull << xproc_self(r), &req) == expected_return(k));
		for (unsigned i = 0; i < CHILDREN; i++)
			CHECK(atomic_load_explicit(&seen[i].last, memory_order_acquire) == k &&
			      atomic_load(&seen[i].applied) == k + 1,
			      "request %llu returned; child %u last applied %llu (%llu in all)",
			      (unsigned long long)k, i,
			      (unsigned long long)atomic_load(&seen[i].last),
			      (unsigned long long)atomic_load(&seen[i].applied));
	}

	pthread_t t[2];
	struct poster p[2] = { { r, peers, SERIAL }, { r, peers, SERIAL + THREADED } };

	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, poster_main, &p[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < CHILDREN; i++) {
		CHECK(atomic_load(&seen[i].applied) == SERIAL + 2 * THREADED,
		      "child %u applied %llu of %d", i,
		      (unsigned long long)atomic_load(&seen[i].applied), SERIAL + 2 * THREADED);
		CHECK(atomic_load(&seen[i].bad) == 0, "child %u read %u torn requests", i,
		      atomic_load(&seen[i].bad));
	}

	close(done[1]);
	for (unsigned i = 0; i < CHILDREN; i++) {
		CHECK(waitpid(pid[i], &status, 0) == pid[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %u failed", i);
	}
	CHECK(xproc_peers(r) == 0, "members left behind: %#llx",
	      (unsigned long long)xproc_peers(r));
	xproc_leave(r);
	CHECK(fstat(fd, &st) == 0);
	char region[512];

	snprintf(region, sizeof(region), "%s/udax-%llx-%llx.region", test_path(""),
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	CHECK(access(region, F_OK) != 0, "the last member left %s behind", region);
	test_pass();
}
