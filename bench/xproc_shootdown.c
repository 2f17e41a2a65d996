// SPDX-License-Identifier: MIT
/*
 * xproc_shootdown.c - what it costs one process to have a page unmapped
 * (zapped) in N other processes and know it is done, by each mechanism a
 * cross-process udax could use, beside the kernel's own msync(MS_SYNC) of
 * a dirty page that N processes map (the kernel write-protects every
 * mapping through its reverse map, then writes the page back):
 *   futex   each process has an agent thread asleep on a futex word in
 *           shared memory; the requester writes a request, wakes it, and
 *           sleeps on an acknowledgement word;
 *   signal  the requester sends a real-time signal to each process, whose
 *           handler zaps and acknowledges through the futex word;
 *   socket  the requester writes a byte on a socket pair to each process,
 *           whose thread zaps and answers a byte (a daemon's protocol);
 *   udax    udax's own (src/xproc, the futex agent made real): every
 *           process joins the shared region of the file; the requester's
 *           xproc_shootdown() posts to each agent thread and waits for
 *           the acknowledgements; the callback zaps the page and maps it
 *           again (the others zap, acknowledge, then map again);
 *   msync   the kernel: the requester dirties the page and msyncs it.
 * A zap is what udax does: mmap(MAP_FIXED, PROT_NONE) over the page; the
 * process then maps the file page again, after acknowledging.
 * Usage: xproc_shootdown [RUNS [ITERS]] (default 5 runs of 2000). Prints
 * min/median/max microseconds per shootdown for N = 1, 2, 4, 8, the
 * mechanisms interleaved run by run, and what udax's liveness test of a
 * member costs. The file lives in $TMPDIR (/var/tmp).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xproc/xproc.h"

#define MAX_PROCS 8
#define PAGE 4096

enum mech { FUTEX, SIGNAL, SOCKET, UDAX, MSYNC, MECHS };
static const char *const mech_name[MECHS] = { "futex agent", "signal", "socket", "udax xproc",
					      "kernel msync" };

struct slot {
	_Atomic uint32_t req;	/* futex word: request number */
	_Atomic uint32_t ack;	/* futex word: last request done */
	unsigned peer_slot;	/* its udax xproc slot */
	char pad[52];
};

static struct slot *slots;	/* shared */
static int file_fd;
static char file_path[4096];
static char *page;		/* this process's mapping of the file page */
static int my_slot;

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static void zap_and_ack(uint32_t req)
{
	if (mmap(page, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		abort();
	atomic_store(&slots[my_slot].ack, req);
	futex(&slots[my_slot].ack, FUTEX_WAKE, 1);
	if (mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, file_fd, 0) == MAP_FAILED)
		abort();
}

/* The udax agent's callback: the zap, and the page mapped again. */
static int xproc_zap(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	(void)req;
	if (mmap(page, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ||
	    mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, file_fd, 0) == MAP_FAILED)
		abort();
	return 0;
}

static struct xproc_region *xproc_join_or_exit(xproc_apply_fn apply)
{
	struct xproc_region *r;
	char why[256];

	if (xproc_join(file_fd, file_path, NULL, apply, NULL, &r, why, sizeof(why))) {
		fprintf(stderr, "xproc_join: %s\n", why);
		_exit(4);
	}
	return r;
}

static void on_signal(int sig)
{
	uint32_t req = atomic_load(&slots[my_slot].req);

	(void)sig;
	if (req == UINT32_MAX)	/* stop: here, as it may come just before pause() */
		_exit(0);
	zap_and_ack(req);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* One process mapping the page, serving MECH until told to stop (req 0). */
static void agent(enum mech mech, int sock)
{
	uint32_t seen = 0;
	char byte;

	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 0);
	if (page == MAP_FAILED)
		_exit(2);
	page[0]++;	/* mapped and dirty, as a writer's page */
	if (mech == UDAX) {
		struct xproc_region *r = xproc_join_or_exit(xproc_zap);

		slots[my_slot].peer_slot = xproc_self(r);
	}
	atomic_store(&slots[my_slot].ack, UINT32_MAX);	/* ready */
	futex(&slots[my_slot].ack, FUTEX_WAKE, 1);
	for (;;) {
		switch (mech) {
		case FUTEX: {
			uint32_t r;

			while ((r = atomic_load(&slots[my_slot].req)) == seen)
				futex(&slots[my_slot].req, FUTEX_WAIT, seen);
			if (r == UINT32_MAX)
				_exit(0);
			seen = r;
			zap_and_ack(r);
			break;
		}
		case SIGNAL:
			pause();	/* the handler does the work, and stops */
			break;
		case SOCKET:
			if (read(sock, &byte, 1) != 1 || byte == 'q')
				_exit(0);
			zap_and_ack(0);
			if (write(sock, &byte, 1) != 1)
				_exit(3);
			break;
		case UDAX:	/* the agent thread works; this one waits */
		case MSYNC:	/* keeps its mapping; waits to be told to stop */
			while (atomic_load(&slots[my_slot].req) != UINT32_MAX)
				futex(&slots[my_slot].req, FUTEX_WAIT, 0);
			_exit(0);
		case MECHS:
			break;
		}
	}
}

static void wait_ack(int i, uint32_t want)
{
	uint32_t a;

	while ((a = atomic_load(&slots[i].ack)) != want)
		futex(&slots[i].ack, FUTEX_WAIT, a);
}

/* One run: n agents, iters shootdowns. Return: µs per shootdown. */
static double run(enum mech mech, int n, int iters)
{
	pid_t pid[MAX_PROCS];
	int sock[MAX_PROCS][2];
	struct xproc_region *region = NULL;
	struct xproc_request req = { .op = XPROC_ZAP, .count = 1 };
	char *mine = NULL, byte = 'z';
	uint64_t peers = 0;
	double t0, t1;

	for (int i = 0; i < n; i++) {
		atomic_store(&slots[i].req, 0);
		atomic_store(&slots[i].ack, 0);
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock[i]))
			abort();
		pid[i] = fork();
		if (pid[i] == 0) {
			struct sigaction sa = { .sa_handler = on_signal };

			my_slot = i;
			sigaction(SIGRTMIN, &sa, NULL);
			close(sock[i][0]);
			agent(mech, sock[i][1]);
		}
		close(sock[i][1]);
		wait_ack(i, UINT32_MAX);
	}
	if (mech == UDAX) {
		region = xproc_join_or_exit(xproc_zap);
		for (int i = 0; i < n; i++)
			peers |= 1ull << slots[i].peer_slot;
	}
	if (mech == MSYNC) {
		mine = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 0);
		if (mine == MAP_FAILED)
			abort();
	}
	t0 = now_us();
	for (uint32_t it = 1; it <= (uint32_t)iters; it++) {
		switch (mech) {
		case FUTEX:
			for (int i = 0; i < n; i++) {
				atomic_store(&slots[i].req, it);
				futex(&slots[i].req, FUTEX_WAKE, 1);
			}
			for (int i = 0; i < n; i++)
				wait_ack(i, it);
			break;
		case SIGNAL:
			for (int i = 0; i < n; i++) {
				atomic_store(&slots[i].req, it);
				kill(pid[i], SIGRTMIN);
			}
			for (int i = 0; i < n; i++)
				wait_ack(i, it);
			break;
		case SOCKET:
			for (int i = 0; i < n; i++)
				if (write(sock[i][0], &byte, 1) != 1)
					abort();
			for (int i = 0; i < n; i++)
				if (read(sock[i][0], &byte, 1) != 1)
					abort();
			break;
		case UDAX:
			req.first = it;
			xproc_shootdown(region, peers, &req);
			break;
		case MSYNC:
			mine[0]++;
			if (msync(mine, PAGE, MS_SYNC))
				abort();
			break;
		case MECHS:
			break;
		}
	}
	t1 = now_us();
	for (int i = 0; i < n; i++) {
		byte = 'q';
		atomic_store(&slots[i].req, UINT32_MAX);
		futex(&slots[i].req, FUTEX_WAKE, 1);
		if (mech == SIGNAL)
			kill(pid[i], SIGRTMIN);
		(void)!write(sock[i][0], &byte, 1);	/* the socket agent's stop */
		close(sock[i][0]);
		waitpid(pid[i], NULL, 0);
	}
	if (mine)
		munmap(mine, PAGE);
	if (region)
		xproc_leave(region);
	return (t1 - t0) / iters;
}

/* One liveness test (F_OFD_GETLK on a slot byte: what a requester pays
 * per target when it posts, and at each timeout), µs. */
static double liveness_cost(struct xproc_region *r, int iters)
{
	unsigned other = (xproc_self(r) + 1) % XPROC_PEERS_MAX;
	double t0 = now_us();

	for (int i = 0; i < iters; i++)
		(void)xproc_peer_alive(r, other);
	return (now_us() - t0) / iters;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5, iters = argc > 2 ? atoi(argv[2]) : 2000;
	static const int ns[] = { 1, 2, 4, 8 };
	double r[4][MECHS][64];
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";

	if (runs < 1 || runs > 64 || iters < 1)
		return fprintf(stderr, "usage: xproc_shootdown [RUNS (1-64) [ITERS]]\n"), 2;
	snprintf(file_path, sizeof(file_path), "%s/xproc-shootdown-XXXXXX", dir);
	file_fd = mkstemp(file_path);
	if (file_fd < 0 || ftruncate(file_fd, PAGE))
		return perror(file_path), 1;
	signal(SIGPIPE, SIG_IGN);	/* agents of the other mechanisms are gone */
	slots = mmap(NULL, sizeof(struct slot) * MAX_PROCS, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		return perror("mmap"), 1;
	for (int k = 0; k < 4; k++)	/* warm-up */
		for (int m = 0; m < MECHS; m++)
			run((enum mech)m, ns[k], iters / 10 + 1);
	for (int x = 0; x < runs; x++)
		for (int k = 0; k < 4; k++)
			for (int m = 0; m < MECHS; m++)
				r[k][m][x] = run((enum mech)m, ns[k], iters);
	printf("shootdown of one page in N processes, µs (min / median / max of %d runs of %d)\n",
	       runs, iters);
	printf("| N |");
	for (int m = 0; m < MECHS; m++)
		printf(" %s |", mech_name[m]);
	printf("\n|---|");
	for (int m = 0; m < MECHS; m++)
		printf("---|");
	printf("\n");
	for (int k = 0; k < 4; k++) {
		printf("| %d |", ns[k]);
		for (int m = 0; m < MECHS; m++) {
			qsort(r[k][m], (size_t)runs, sizeof(double), cmp);
			printf(" %.1f / %.1f / %.1f |", r[k][m][0], r[k][m][runs / 2], r[k][m][runs - 1]);
		}
		printf("\n");
	}
	struct xproc_region *region = xproc_join_or_exit(xproc_zap);
	double alive[64];

	for (int x = 0; x < runs; x++)
		alive[x] = liveness_cost(region, iters * 50);
	xproc_leave(region);
	qsort(alive, (size_t)runs, sizeof(double), cmp);
	printf("udax liveness test of a member (F_OFD_GETLK), µs: %.2f / %.2f / %.2f\n", alive[0],
	       alive[runs / 2], alive[runs - 1]);
	unlink(file_path);
	return 0;
}
