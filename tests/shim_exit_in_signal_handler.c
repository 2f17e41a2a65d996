// SPDX-License-Identifier: MIT
/*
 * shim_exit_in_signal_handler: under `udax run`, _exit() called by a signal
 * handler (SIGALRM, at a seeded moment) while three other threads and the
 * interrupted one are inside udax calls (open, write, pwrite, O_APPEND,
 * mmap, fsync, ftruncate, rename, unlink, close) ends the process, every
 * time: 40 processes, each must exit 0 within the watchdog. The shim's
 * _exit writes the store's metadata first, and waited for its locks, which
 * the interrupted thread could hold: 2 runs in 30 hung, and others freed
 * the store under another thread (found by the second adversarial pass of
 * issue 14 stage 5). Now it waits for no lock. Exit 0 pass, 1 fail (with
 * the seed).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>

#include "shim_lib.h"

#define ROUNDS 40

static char dir[PATH_MAX];

static void on_alarm(int sig)
{
	(void)sig;
	_exit(0);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	static char buf[4][65536];
	char p[PATH_MAX + 32], q[PATH_MAX + 32];

	memset(buf[id], 'a' + (int)id, sizeof(buf[id]));
	for (unsigned i = 0;; i++) {
		int fd;
		char *m;

		snprintf(p, sizeof(p), "%s/w%ld_%u", dir, id, i % 8);
		snprintf(q, sizeof(q), "%s/w%ld_r", dir, id);
		fd = open(p, O_RDWR | O_CREAT | (i & 1 ? O_APPEND : 0), 0644);
		if (fd < 0)
			continue;
		(void)!write(fd, buf[id], sizeof(buf[id]));
		(void)!pwrite(fd, buf[id], 4096, 8192);
		m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			m[100] = 'M';
			munmap(m, 65536);
		}
		if (i % 5 == 0)
			fsync(fd);
		(void)!ftruncate(fd, 4096 * (i % 7));
		close(fd);
		rename(p, q);
		unlink(q);
	}
	return NULL;
}

static void round_child(unsigned round, unsigned delay_us)
{
	struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = delay_us } };
	pthread_t t[3];

	snprintf(dir, sizeof(dir), "%s", shim_path(1, ""));
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "r%u", round);
	if (mkdir(dir, 0755) != 0)
		_exit(2);
	signal(SIGALRM, on_alarm);
	for (long i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			_exit(3);
	setitimer(ITIMER_REAL, &it, NULL);
	worker((void *)3);
}

int main(int argc, char **argv)
{
	shim_start(argc, argv, 240);
	for (unsigned round = 0; round < ROUNDS; round++) {
		unsigned delay_us = 2000 + (unsigned)(shim_rand() % 30000);
		int status;
		pid_t pid = fork();

		SHIM_CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			round_child(round, delay_us);
		SHIM_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
		SHIM_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			   "round %u (alarm after %u us): status %#x", round, delay_us, status);
	}
	printf("shim_exit_in_signal_handler: %d processes ended by _exit in a handler\n", ROUNDS);
	return 0;
}
