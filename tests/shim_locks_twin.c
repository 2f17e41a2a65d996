// SPDX-License-Identifier: MIT
/*
 * shim_locks_twin: file locks on store files under `udax run` behave as
 * the kernel's on a host twin, within one process: a seeded random
 * sequence of 4000 fcntl POSIX locks (F_SETLK, F_GETLK), OFD locks
 * (F_OFD_SETLK, F_OFD_GETLK) and flock(2) calls through two descriptions
 * of the file, a dup of one and a read-only one, with closes and reopens
 * (a close drops the process's POSIX locks, the last close of a
 * description its OFD and flock locks), must give the same results, errnos
 * and F_GETLK answers (type, start, length, pid) on both. Then blocking
 * waits (F_OFD_SETLKW, F_SETLKW, flock) end when the lock in the way goes.
 * Exit 0 pass, 1 fail (with the seed).
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>

#include "shim_lib.h"

#define OPS 4000
#define SPAN 64

enum { FA, FB, FC, FR, FDS };	/* FC: a dup of FA; FR: read-only */

static int fds[2][FDS];

static void open_all(int s, bool first)
{
	if (first) {
		fds[s][FA] = open(shim_path(s, "lk"), O_RDWR | O_CREAT, 0644);
		SHIM_CHECK(fds[s][FA] >= 0 && ftruncate(fds[s][FA], 40) == 0, "side %d: %s", s,
			   strerror(errno));
		fds[s][FC] = dup(fds[s][FA]);
	}
	fds[s][FB] = open(shim_path(s, "lk"), O_RDWR);
	fds[s][FR] = open(shim_path(s, "lk"), O_RDONLY);
	SHIM_CHECK(fds[s][FB] >= 0 && fds[s][FR] >= 0 && fds[s][FC] >= 0, "side %d: %s", s,
		   strerror(errno));
}

/* One call on both sides; the results must agree. */
static void twin_op(uint64_t r, int op_no)
{
	static const short types[] = { F_RDLCK, F_WRLCK, F_UNLCK };
	static const int cmds[] = { F_SETLK, F_GETLK, F_OFD_SETLK, F_OFD_GETLK };
	static const int flock_ops[] = { LOCK_SH | LOCK_NB, LOCK_EX | LOCK_NB, LOCK_UN, 7 };
	int which = (int)(r % FDS), kind = (int)((r >> 4) % 16), ret[2], err[2];
	struct flock fl[2];

	for (int s = 0; s < 2; s++) {
		int fd = fds[s][which];

		memset(&fl[s], 0, sizeof(fl[s]));
		fl[s].l_type = types[(r >> 8) % 3];
		fl[s].l_whence = (r >> 12) % 8 == 0 ? SEEK_CUR : (r >> 12) % 8 == 1 ? SEEK_END
										     : SEEK_SET;
		fl[s].l_start = (off_t)((r >> 16) % SPAN) - (fl[s].l_whence == SEEK_SET ? 0 : 20);
		fl[s].l_len = (off_t)((r >> 24) % 26) - 6;
		if ((r >> 32) % 50 == 0)
			fl[s].l_pid = 1;	/* OFD commands refuse it */
		if ((r >> 40) % 16 == 0)
			fl[s].l_type = 9;	/* no such type */
		errno = 0;
		if (kind < 3) {
			ret[s] = flock(fd, flock_ops[(r >> 20) % 4]);
		} else if (kind < 4) {
			ret[s] = (int)lseek(fd, (off_t)((r >> 20) % SPAN), SEEK_SET);
		} else {
			ret[s] = fcntl(fd, cmds[(r >> 28) % 4], &fl[s]);
		}
		err[s] = ret[s] < 0 ? errno : 0;
	}
	if (ret[0] != ret[1] || err[0] != err[1])
		SHIM_FAIL("op %d (r %llx, fd %d, kind %d): host %d (%s), udax %d (%s)", op_no,
			  (unsigned long long)r, which, kind, ret[0], strerror(err[0]), ret[1],
			  strerror(err[1]));
	if (memcmp(&fl[0], &fl[1], sizeof(fl[0])))
		SHIM_FAIL("op %d (r %llx): F_GETLK host type %d start %lld len %lld pid %d, "
			  "udax type %d start %lld len %lld pid %d", op_no, (unsigned long long)r,
			  fl[0].l_type, (long long)fl[0].l_start, (long long)fl[0].l_len,
			  fl[0].l_pid, fl[1].l_type, (long long)fl[1].l_start,
			  (long long)fl[1].l_len, fl[1].l_pid);
}

/* Close and reopen a descriptor on both sides: closing any drops the
 * process's POSIX locks; the last of a description its OFD and flock ones. */
static void twin_reopen(uint64_t r)
{
	for (int s = 0; s < 2; s++) {
		switch (r % 3) {
		case 0:
			close(fds[s][FC]);
			fds[s][FC] = dup(fds[s][FA]);
			break;
		case 1:
			close(fds[s][FB]);
			close(fds[s][FR]);
			open_all(s, false);
			break;
		default: /* FA and FC: the description goes */
			close(fds[s][FA]);
			close(fds[s][FC]);
			fds[s][FA] = open(shim_path(s, "lk"), O_RDWR);
			fds[s][FC] = dup(fds[s][FA]);
			break;
		}
	}
}

struct waiter {
	int fd, how;	/* how: 0 F_OFD_SETLKW, 1 F_SETLKW, 2 flock */
	int ret;
};

static void *wait_lock(void *arg)
{
	struct waiter *w = arg;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };

	int cmd = w->how ? F_SETLKW : F_OFD_SETLKW;

	w->ret = w->how == 2 ? flock(w->fd, LOCK_EX) : fcntl(w->fd, cmd, &fl);
	fl.l_type = F_UNLCK;	/* out of the next round's way */
	if (!w->ret)
		w->ret = w->how == 2 ? flock(w->fd, LOCK_UN) : fcntl(w->fd, cmd, &fl);
	return NULL;
}

/* A blocking lock on the store file waits for the lock in its way and
 * gets it once that goes (the watchdog ends a wait that never does). */
static void blocking_waits(void)
{
	struct flock wr = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1 };
	struct flock un = wr;
	int a = fds[1][FA], b = fds[1][FB];

	un.l_type = F_UNLCK;
	for (int how = 0; how < 3; how++) {
		struct waiter w = { .fd = how == 1 ? a : b, .how = how, .ret = -2 };
		pthread_t t;

		/* in the way: an OFD lock of another description (flock: b's
		 * own namespace, so a's flock) */
		if (how == 2)
			SHIM_CHECK(flock(a, LOCK_EX) == 0, "flock: %s", strerror(errno));
		else
			SHIM_CHECK(fcntl(how == 1 ? b : a, F_OFD_SETLK, &wr) == 0, "%s",
				   strerror(errno));
		SHIM_CHECK(pthread_create(&t, NULL, wait_lock, &w) == 0, "pthread_create");
		if (how == 2)
			SHIM_CHECK(flock(a, LOCK_UN) == 0, "flock: %s", strerror(errno));
		else
			SHIM_CHECK(fcntl(how == 1 ? b : a, F_OFD_SETLK, &un) == 0, "%s",
				   strerror(errno));
		pthread_join(t, NULL);
		SHIM_CHECK(w.ret == 0, "blocking lock %d: %d (%s)", how, w.ret, strerror(errno));
	}
}

int main(int argc, char **argv)
{
	shim_start(argc, argv, 120);
	for (int s = 0; s < 2; s++)
		open_all(s, true);
	for (int i = 0; i < OPS; i++) {
		uint64_t r = shim_rand();

		if (r % 97 == 0)
			twin_reopen(r >> 8);
		else
			twin_op(r, i);
	}
	for (int s = 0; s < 2; s++) {
		close(fds[s][FA]);
		close(fds[s][FB]);
		close(fds[s][FC]);
		close(fds[s][FR]);
		open_all(s, true);
	}
	blocking_waits();
	/* The first locks of a file take no descriptor number the program
	 * would get: the lock proxies are out of its way (they took the
	 * lowest free ones, and a dup2 onto one failed: the third
	 * adversarial pass of issue 14). */
	{
		struct flock wr = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };
		int fresh = open(shim_path(1, "fresh"), O_RDWR | O_CREAT, 0644);
		int probe = open("/dev/null", O_RDONLY), again;

		SHIM_CHECK(fresh >= 0 && probe >= 0 && close(probe) == 0, "open: %s",
			   strerror(errno));
		SHIM_CHECK(fcntl(fresh, F_SETLK, &wr) == 0 && flock(fresh, LOCK_SH) == 0,
			   "lock: %s", strerror(errno));
		again = open("/dev/null", O_RDONLY);
		SHIM_CHECK(again == probe, "after the locks open() gave %d, not %d", again, probe);
		SHIM_CHECK(dup2(2, probe + 1) == probe + 1, "dup2 onto %d: %s", probe + 1,
			   strerror(errno));
		close(probe + 1);
		close(again);
		close(fresh);
	}
	return 0;
}
