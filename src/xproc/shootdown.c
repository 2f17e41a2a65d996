// SPDX-License-Identifier: MIT
/*
 * shootdown.c - requests one member posts to others and each target's
 * agent thread carries out in its own address space (region_layout.h has
 * the cell protocol).
 *
 * States of one request in cell[R][P]:
 *   POSTED    R stored the fields and seq = ack + 1, rang P's doorbell;
 *   APPLIED   P's agent reread seq unchanged and ran its apply callback;
 *   ACKED     P's agent stored the callback's result, then ack = seq, and
 *             woke R;
 *   CONSUMED  R saw ack == seq, or saw P dead or P's slot taken over
 *             (its mappings died with it), and returned.
 * R posts only to slots alive when it posts, waits on ack with a timeout
 * of XPROC_LIVENESS_MS and checks P's life at each timeout, so a P that
 * dies meanwhile delays R by at most that.
 *
 * Locks: region.post_lock (process-local mutex) is held by a posting
 * thread from its first post to its last acknowledgement: the cells of
 * this process's slot have one writer. The agent takes no lock here; its
 * callback takes only leaf locks of its own process, so a requester that
 * waits for it while holding entry locks cannot deadlock.
 * May sleep: xproc_shootdown (futex waits), the agent (its doorbell).
 *
 * Layer: xproc. May call: base, peers.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>

#include "base/compat.h"
#include "xproc/region_layout.h"

/* An agent with nothing to do rechecks `stopping` this often; leaving
 * also rings the bell, so this only bounds a lost wakeup's cost. */
#define AGENT_IDLE_MS 1000

/* Apply the request pending in cell, if any and not torn. */
static void agent_serve_cell(struct xproc_region *r, struct xproc_cell *c)
{
	for (;;) {
		uint32_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		struct xproc_request req;

		if (seq == atomic_load_explicit(&c->ack, memory_order_relaxed))
			return;
		req.op = atomic_load_explicit(&c->op, memory_order_relaxed);
		req.file = atomic_load_explicit(&c->file, memory_order_relaxed);
		req.first = atomic_load_explicit(&c->first, memory_order_relaxed);
		req.count = atomic_load_explicit(&c->count, memory_order_relaxed);
		req.block = atomic_load_explicit(&c->block, memory_order_relaxed);
		/* Pairs with the release store of seq in post(): the fields
		 * read above belong to seq if seq has not moved since. */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&c->seq, memory_order_relaxed) != seq)
			continue;
		atomic_store_explicit(&c->result, r->apply(r->ctx, &req), memory_order_relaxed);
		/* Pairs with the acquire load of ack in wait_all_acked():
		 * the requester sees the mappings changed, and the result. */
		atomic_store_explicit(&c->ack, seq, memory_order_release);
		futex_wake_shared(&c->ack, 1);
		return;
	}
}

static void *agent_main(void *arg)
{
	struct xproc_region *r = arg;
	struct xproc_peer *me = &r->shared->peer[r->self];

	for (;;) {
		uint32_t bell = atomic_load_explicit(&me->doorbell, memory_order_acquire);

		if (atomic_load_explicit(&r->stopping, memory_order_acquire))
			return NULL;
		for (unsigned from = 0; from < XPROC_PEERS_MAX; from++) {
			if (from != r->self)
				agent_serve_cell(r, &r->shared->cell[from][r->self]);
		}
		/* A post after the bell was read changed it: no sleep. */
		futex_wait_shared(&me->doorbell, bell, AGENT_IDLE_MS);
	}
}

int xproc_agent_start(struct xproc_region *r)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int ret;

	if (pthread_attr_init(&attr))
		return -ENOMEM;
	(void)pthread_attr_setstacksize(&attr, 256 << 10);
	/* The agent inherits a mask with every signal blocked: no handler
	 * of the application ever runs on it. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&r->agent, &attr, agent_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return ret;
}

void xproc_agent_stop(struct xproc_region *r)
{
	struct xproc_peer *me = &r->shared->peer[r->self];

	atomic_store_explicit(&r->stopping, true, memory_order_release);
	atomic_fetch_add_explicit(&me->doorbell, 1, memory_order_release);
	futex_wake_shared(&me->doorbell, 1);
	pthread_join(r->agent, NULL);
}

/* Context: post_lock held. Returns when every target in `pending` has
 * acknowledged seq[target] or is gone. Each timeout or interruption
 * checks every target still pending, so targets dying together cost one
 * liveness period, not one each.
 * Return: 0, or -EAGAIN if a target's callback said it could not. */
static int wait_all_acked(const struct xproc_region *r, uint64_t pending, const uint32_t *seq,
			  const uint32_t *incarnation)
{
	int ret = 0;

	while (pending) {
		unsigned to = (unsigned)__builtin_ctzll(pending);
		struct xproc_cell *c = &r->shared->cell[r->self][to];
		uint32_t ack = atomic_load_explicit(&c->ack, memory_order_acquire);

		if (ack == seq[to]) {
			/* Not 0 is a failure: a damaged cell errs on the
			 * side of "still mapped". */
			if (atomic_load_explicit(&c->result, memory_order_relaxed))
				ret = -EAGAIN;
			pending &= pending - 1;
			continue;
		}
		if (futex_wait_shared(&c->ack, ack, XPROC_LIVENESS_MS) == 0)
			continue;
		for (uint64_t left = pending; left; left &= left - 1) {
			unsigned t = (unsigned)__builtin_ctzll(left);

			if (xproc_member_gone(r, t, incarnation[t], UINT32_MAX))
				pending &= ~(1ull << t);
		}
	}
	return ret;
}

/* Context: post_lock held. Returns the request's seq. */
static uint32_t post(struct xproc_region *r, unsigned to, const struct xproc_request *req)
{
	struct xproc_cell *c = &r->shared->cell[r->self][to];
	struct xproc_peer *peer = &r->shared->peer[to];
	uint32_t seq = atomic_load_explicit(&c->seq, memory_order_relaxed);

	/* A request still pending here is a dead predecessor's in this slot
	 * (this process waits for its own): nobody waits for it, and whoever
	 * recovers that member's work shoots down again. It is overwritten. */
	atomic_store_explicit(&c->op, req->op, memory_order_relaxed);
	atomic_store_explicit(&c->file, req->file, memory_order_relaxed);
	atomic_store_explicit(&c->first, req->first, memory_order_relaxed);
	atomic_store_explicit(&c->count, req->count, memory_order_relaxed);
	atomic_store_explicit(&c->block, req->block, memory_order_relaxed);
	/* Pairs with the acquire load of seq in agent_serve_cell(). */
	atomic_store_explicit(&c->seq, seq + 1, memory_order_release);
	atomic_fetch_add_explicit(&peer->doorbell, 1, memory_order_release);
	futex_wake_shared(&peer->doorbell, 1);
	return seq + 1;
}

int xproc_shootdown(struct xproc_region *r, uint64_t peers, const struct xproc_request *req)
{
	uint32_t seq[XPROC_PEERS_MAX], incarnation[XPROC_PEERS_MAX];
	int ret;

	if (r->forked)
		return -EBADF;
	peers &= ~(1ull << r->self);
	mutex_lock(&r->post_lock);
	for (unsigned to = 0; to < XPROC_PEERS_MAX; to++) {
		if (!(peers >> to & 1))
			continue;
		/* A slot dead now is skipped (one F_OFD_GETLK, ~1 us): a
		 * stale mask naming many dead slots must not cost a liveness
		 * period each. */
		if (!xproc_peer_alive(r, to)) {
			peers &= ~(1ull << to);
			continue;
		}
		seq[to] = post(r, to, req);
		/* Read after posting: a successor that took the slot since
		 * serves the request too (harmless: it maps nothing yet). */
		incarnation[to] = atomic_load_explicit(&r->shared->peer[to].incarnation,
						       memory_order_acquire);
	}
	ret = wait_all_acked(r, peers, seq, incarnation);
	mutex_unlock(&r->post_lock);
	return ret;
}
