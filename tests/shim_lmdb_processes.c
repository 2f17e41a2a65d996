// SPDX-License-Identifier: MIT
/*
 * shim_lmdb_processes: mdb_stat (lmdb-utils), unmodified, in other
 * processes while an LMDB writer commits, all under `udax run` on one
 * environment in the store (issue 14, stage 5): data.mdb and lock.mdb
 * (the reader table and LMDB's process-shared robust mutexes) mapped by
 * every process through one page cache, LMDB's fcntl locks on lock.mdb
 * the kernel's across them (udax_lock_fd()). The writer commits 200
 * transactions of 50 new keys and one counter key; a helper process runs
 * mdb_stat over and over until the writer is done. Every mdb_stat exits
 * 0 and reports a committed state: 50*k + 1 entries (never a torn
 * transaction), never fewer than the run before; the writer waits (a
 * pipe: no sleep) for one mdb_stat to finish after its first commit, and
 * the helper's last run comes after the last commit and sees it all.
 * Skips without lmdb.h or mdb_stat, or in sanitizer builds (the tool
 * lacks the sanitizer runtime). Exit 0 pass, 1 fail, 77 skip.
 */
#include <fcntl.h>

#include "shim_lib.h"

#ifndef HAVE_LMDB
int main(void)
{
	puts("SKIP: no lmdb.h (apt-get install liblmdb-dev lmdb-utils)");
	return 77;
}
#else
#include <lmdb.h>
#include <poll.h>

#define TXNS 200
#define PER_TXN 50

#define MDB_OK(call)							\
	do {								\
		int rc_ = (call);					\
		SHIM_CHECK(rc_ == 0, "%s: %s", #call, mdb_strerror(rc_)); \
	} while (0)

/* One mdb_stat of path; its entry count, or -1 with the reason in why. */
static long stat_entries(const char *path, char *why, size_t why_len)
{
	char out[PATH_MAX], line[256];
	long entries = -1;
	pid_t pid;
	int status = 0;
	FILE *f;

	snprintf(out, sizeof(out), "%s/stat.out", shim_dir);
	pid = fork();
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)
			_exit(126);
		execlp("mdb_stat", "mdb_stat", "-n", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		snprintf(why, why_len, "mdb_stat failed (status %#x)", status);
		return -1;
	}
	f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, " Entries: %ld", &entries);
	if (f)
		fclose(f);
	if (entries < 0)
		snprintf(why, why_len, "mdb_stat printed no entry count");
	return entries;
}

/* The helper: mdb_stat until the writer is done (done_fd readable), then
 * once more. Writes one byte to first_fd after its first run. Exit status
 * 0 if every run showed a committed state, in order. */
static int helper(const char *path, int first_fd, int done_fd)
{
	long last = 0, runs = 0, n;
	char why[128];
	bool done = false;

	while (true) {
		struct pollfd p = { .fd = done_fd, .events = POLLIN };

		done = poll(&p, 1, 0) == 1;	/* before the run: the last sees all */
		n = stat_entries(path, why, sizeof(why));
		if (n < 0) {
			fprintf(stderr, "run %ld: %s\n", runs, why);
			return 1;
		}
		if ((n != 0 && n % PER_TXN != 1) || n < last) {
			fprintf(stderr, "run %ld: %ld entries (before: %ld)\n", runs, n, last);
			return 2;
		}
		if (runs++ == 0 && write(first_fd, "s", 1) != 1)
			return 3;
		last = n;
		if (done)
			break;
	}
	if (last != (long)TXNS * PER_TXN + 1) {
		fprintf(stderr, "the last run saw %ld entries\n", last);
		return 4;
	}
	printf("mdb_stat ran %ld times beside the writer\n", runs);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int first[2], done[2], status;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	pid_t pid = -1;
	char c;

	if (!SHIM_SANITIZED && system("command -v mdb_stat >/dev/null 2>&1") != 0) {
		puts("SKIP: no mdb_stat (apt-get install lmdb-utils)");
		return 77;
	}
	if (SHIM_SANITIZED) {
		puts("SKIP: a sanitizer build: mdb_stat lacks the sanitizer runtime");
		return 77;
	}
	shim_start(argc, argv, 300);
	const char *path = shim_path(1, "env");

	MDB_OK(mdb_env_create(&env));
	MDB_OK(mdb_env_set_mapsize(env, 64ull << 20));
	MDB_OK(mdb_env_open(env, path, MDB_NOSUBDIR, 0644));
	SHIM_CHECK(pipe(first) == 0 && pipe(done) == 0, "pipe: %s", strerror(errno));
	for (int t = 0; t < TXNS; t++) {
		uint64_t count = (uint64_t)(t + 1) * PER_TXN;

		MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
		if (t == 0)
			MDB_OK(mdb_dbi_open(txn, NULL, 0, &dbi));
		for (int k = 0; k < PER_TXN; k++) {
			char key[32], val[64];
			MDB_val kv = { 0, key }, vv = { 0, val };

			kv.mv_size = (size_t)snprintf(key, sizeof(key), "k%06d-%03d", t, k);
			vv.mv_size = (size_t)snprintf(val, sizeof(val), "v%llx",
						      (unsigned long long)shim_rand());
			MDB_OK(mdb_put(txn, dbi, &kv, &vv, 0));
		}
		MDB_val ck = { 5, "count" }, cv = { sizeof(count), &count };

		MDB_OK(mdb_put(txn, dbi, &ck, &cv, 0));
		MDB_OK(mdb_txn_commit(txn));
		if (t == 0) {
			pid = fork();
			SHIM_CHECK(pid >= 0, "fork: %s", strerror(errno));
			if (pid == 0)
				_exit(helper(path, first[1], done[0]));
			SHIM_CHECK(read(first[0], &c, 1) == 1, "the helper's first mdb_stat failed");
		}
	}
	SHIM_CHECK(write(done[1], "d", 1) == 1, "write: %s", strerror(errno));
	SHIM_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	SHIM_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the mdb_stat helper: status %#x",
		   status);
	mdb_env_close(env);
	printf("shim_lmdb_processes: mdb_stat in other processes saw only committed states of "
	       "%d transactions\n", TXNS);
	return 0;
}
#endif
