// SPDX-License-Identifier: MIT
/*
 * shim_lmdb: LMDB (Debian liblmdb-dev, lmdb-utils), unmodified, on files of
 * a store under `udax run`, against the same operations on a host twin.
 * For each of plain (data written with pwrite, read through a read-only
 * mapping) and MDB_WRITEMAP (written through a shared writable mapping,
 * msync'ed): 10^5 puts in 20 transactions into the main database (keys
 * in a seeded random order, values of 8 to 307 bytes, every 97th of 5000:
 * overflow pages) and every 10th into a named one, a transaction of
 * updates aborted, 2*10^4 updates and 2.5*10^4 deletes in transactions,
 * a full verify, close, reopen and full verify again; the lock file (the
 * reader table and LMDB's process-shared robust mutexes) is mapped from
 * the store too. Threads: 2 writers contending for the write mutex and a
 * reader checking snapshots; a thread that dies holding the write mutex
 * (robust mutex: MDB_PANIC for the next writer, as on the host), reopen.
 * MDB_NOSUBDIR: the shim has no directories yet. Then,
 * each run under `udax run` on the store and plainly on the twin, the
 * outputs compared byte for byte: mdb_stat -n -a, mdb_stat -n -e -f
 * (without the line of the map's address), mdb_dump -n -a; mdb_load of
 * that dump into a fresh environment and mdb_dump of it again, which
 * must equal the first dump; mdb_copy into the store and out of it to a
 * host file (written O_DIRECT from the map), and a compacting one, each
 * copy dumped. In the ASan build the tools are left out (the
 * preload library of that build needs the sanitizer runtime they lack).
 * Skips without lmdb.h or the tools. Exit 0 pass, 1 fail, 77 skip.
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
#include <pthread.h>
#include <stdatomic.h>
#if SHIM_SANITIZED
#include <sanitizer/lsan_interface.h>
/* The thread phase ends with a transaction whose thread died: LMDB never
 * frees its pages, which earlier transactions of any thread may have
 * allocated (LMDB reuses freed pages). LeakSanitizer ignores what the
 * threads of that phase allocate (per thread). */
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

#define N 100000u		/* keys */
#define PER_TXN 5000u
#define MAPSIZE (128u << 20)

#define MDB_OK(call)							\
	do {								\
		int rc_ = (call);					\
		if (rc_ != MDB_SUCCESS)					\
			SHIM_FAIL("%s: %s", #call, mdb_strerror(rc_));	\
	} while (0)

static uint8_t ver[N];		/* the model: 0 absent, else the value's version */
static uint32_t order[N];
static char valbuf[8192];

static uint32_t mix32(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* Key i: a scrambled prefix (so keys go in all over the tree), then i. */
static void key_of(uint32_t i, uint8_t k[8])
{
	uint32_t h = mix32(i);

	for (int b = 0; b < 4; b++) {
		k[b] = (uint8_t)(h >> (24 - 8 * b));
		k[4 + b] = (uint8_t)(i >> (24 - 8 * b));
	}
}

/* Value i, version v: its length and bytes depend on both and the seed. */
static size_t val_of(uint32_t i, unsigned v, char *out)
{
	uint64_t h = mix32(shim_seed ^ ((uint64_t)i << 8) ^ v);
	size_t len = i % 97 == 0 ? 5000 : 8 + h % 300;

	for (size_t j = 0; j < len; j++)
		out[j] = (char)('a' + (h + j * (v + 1)) % 26);
	return len;
}

static MDB_env *env_open(const char *path, unsigned flags, MDB_dbi *main_db, MDB_dbi *sub)
{
	MDB_env *env;
	MDB_txn *txn;

	MDB_OK(mdb_env_create(&env));
	MDB_OK(mdb_env_set_mapsize(env, MAPSIZE));
	MDB_OK(mdb_env_set_maxdbs(env, 4));
	MDB_OK(mdb_env_open(env, path, MDB_NOSUBDIR | flags, 0644));
	MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
	MDB_OK(mdb_dbi_open(txn, NULL, 0, main_db));
	MDB_OK(mdb_dbi_open(txn, "sub", MDB_CREATE, sub));
	MDB_OK(mdb_txn_commit(txn));
	return env;
}

static void put(MDB_txn *txn, MDB_dbi dbi, uint32_t i, unsigned v)
{
	uint8_t k[8];
	MDB_val key = { 8, k }, val = { 0, valbuf };

	key_of(i, k);
	val.mv_size = val_of(i, v, valbuf);
	MDB_OK(mdb_put(txn, dbi, &key, &val, 0));
}

/* Every entry of both databases is the model's, and nothing else is. */
static void verify(MDB_env *env, MDB_dbi main_db, MDB_dbi sub, const char *path, const char *when)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	unsigned live = 0, seen = 0, subs = 0;
	int rc;

	for (uint32_t i = 0; i < N; i++)
		live += ver[i] != 0;
	MDB_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
	MDB_OK(mdb_cursor_open(txn, main_db, &cur));
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		const uint8_t *k = key.mv_data;
		uint8_t want[8];
		uint32_t i;
		size_t len;

		if (key.mv_size == 3 && !memcmp(k, "sub", 3)) {	/* the named database */
			subs++;
			continue;
		}
		SHIM_CHECK(key.mv_size == 8, "%s, %s: a key of %zu bytes", path, when, key.mv_size);
		i = (uint32_t)k[4] << 24 | (uint32_t)k[5] << 16 | (uint32_t)k[6] << 8 | k[7];
		SHIM_CHECK(i < N, "%s, %s: key %u", path, when, i);
		key_of(i, want);
		SHIM_CHECK(!memcmp(want, k, 8), "%s, %s: key %u is not its own", path, when, i);
		SHIM_CHECK(ver[i], "%s, %s: deleted key %u is there", path, when, i);
		len = val_of(i, ver[i], valbuf);
		SHIM_CHECK(val.mv_size == len && !memcmp(val.mv_data, valbuf, len),
			   "%s, %s: key %u: %zu bytes, not version %u's %zu", path, when, i,
			   val.mv_size, ver[i], len);
		seen++;
	}
	SHIM_CHECK(rc == MDB_NOTFOUND, "%s, %s: cursor: %s", path, when, mdb_strerror(rc));
	SHIM_CHECK(seen == live && subs == 1, "%s, %s: %u entries (%u named), want %u", path,
		   when, seen, subs, live);
	subs = 0;
	mdb_cursor_close(cur);
	MDB_OK(mdb_cursor_open(txn, sub, &cur));
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		const uint8_t *k = key.mv_data;
		uint32_t i = (uint32_t)k[4] << 24 | (uint32_t)k[5] << 16 | (uint32_t)k[6] << 8 | k[7];
		size_t len = val_of(i, 1, valbuf);

		SHIM_CHECK(i % 10 == 0 && val.mv_size == len && !memcmp(val.mv_data, valbuf, len),
			   "%s, %s: sub: key %u", path, when, i);
		subs++;
	}
	SHIM_CHECK(subs == N / 10, "%s, %s: sub: %u entries", path, when, subs);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
}

/* The whole run on path (host twin or store file): same seed, same
 * operations, so both sides end with the same databases. */
static void workload(const char *path, unsigned flags)
{
	MDB_env *env;
	MDB_dbi main_db, sub;
	MDB_txn *txn;
	uint8_t k[8];
	MDB_val key = { 8, k };

	shim_rng = shim_seed | 1;
	memset(ver, 0, sizeof(ver));
	for (uint32_t i = 0; i < N; i++)
		order[i] = i;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(shim_rand() % (i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	env = env_open(path, flags, &main_db, &sub);
	for (uint32_t n = 0; n < N; n += PER_TXN) {
		MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
		for (uint32_t j = n; j < n + PER_TXN; j++) {
			put(txn, main_db, order[j], 1);
			ver[order[j]] = 1;
			if (order[j] % 10 == 0)
				put(txn, sub, order[j], 1);
		}
		MDB_OK(mdb_txn_commit(txn));
	}
	/* updates that are aborted leave nothing */
	MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
	for (uint32_t j = 0; j < PER_TXN; j++)
		put(txn, main_db, (uint32_t)(shim_rand() % N), 9);
	mdb_txn_abort(txn);
	for (uint32_t n = 0; n < 20000 / PER_TXN; n++) {
		MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
		for (uint32_t j = 0; j < PER_TXN; j++) {
			uint32_t i = (uint32_t)(shim_rand() % N);

			put(txn, main_db, i, ver[i] % 8 + 1);
			ver[i] = ver[i] % 8 + 1;
		}
		MDB_OK(mdb_txn_commit(txn));
	}
	for (uint32_t n = 0; n < 25000 / PER_TXN; n++) {
		MDB_OK(mdb_txn_begin(env, NULL, 0, &txn));
		for (uint32_t j = 0; j < PER_TXN; j++) {
			uint32_t i = (uint32_t)(shim_rand() % N);
			int rc;

			key_of(i, k);
			rc = mdb_del(txn, main_db, &key, NULL);
			SHIM_CHECK(rc == (ver[i] ? MDB_SUCCESS : MDB_NOTFOUND),
				   "%s: mdb_del of key %u (version %u): %s", path, i, ver[i],
				   mdb_strerror(rc));
			ver[i] = 0;
		}
		MDB_OK(mdb_txn_commit(txn));
	}
	verify(env, main_db, sub, path, "before close");
	mdb_env_close(env);
	env = env_open(path, flags, &main_db, &sub);
	verify(env, main_db, sub, path, "reopened");
	mdb_env_close(env);
}

/*
 * Threads on one environment: 2 writers contend for LMDB's write mutex
 * (a process-shared robust mutex in the lock file's mapping: a contended
 * lock sleeps on a futex in the store's page) and each commits, per
 * transaction, a key of its own and its counter; a reader checks in
 * every snapshot that a writer's counter names its last key and no later
 * one. Then a thread that dies holding the write mutex: the kernel marks
 * the mutex's word in the mapping (robust list), so the next writer gets
 * EOWNERDEAD, which LMDB reports as MDB_PANIC, as on a host file; the
 * environment reopened works, without the dead thread's put.
 */
#define THR_TXNS 300u

struct thr {
	MDB_env *env;
	MDB_dbi dbi;
	unsigned id;
	const char *path;
	_Atomic bool *done;
};

static void thr_key(char *buf, unsigned id, unsigned n)
{
	snprintf(buf, 16, "w%u:%06u", id, n);
}

static void *thr_writer(void *arg)
{
	struct thr *t = arg;
	char kb[16], cnt[8];
	MDB_txn *txn;

	LSAN_OFF();
	snprintf(cnt, sizeof(cnt), "c%u", t->id);
	for (unsigned n = 1; n <= THR_TXNS; n++) {
		MDB_val key = { 9, kb }, val = { sizeof(n), &n }, ck = { 2, cnt };

		MDB_OK(mdb_txn_begin(t->env, NULL, 0, &txn));
		thr_key(kb, t->id, n);
		MDB_OK(mdb_put(txn, t->dbi, &key, &val, 0));
		MDB_OK(mdb_put(txn, t->dbi, &ck, &val, 0));
		MDB_OK(mdb_txn_commit(txn));
	}
	return NULL;
}

static void *thr_reader(void *arg)
{
	struct thr *t = arg;
	unsigned snapshots = 0;

	LSAN_OFF();
	while (!atomic_load(t->done) || snapshots < 10) {
		MDB_txn *txn;

		MDB_OK(mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn));
		for (unsigned id = 0; id < 2; id++) {
			char kb[16], cnt[8];
			MDB_val key = { 2, cnt }, val;
			unsigned n = 0;
			int rc;

			snprintf(cnt, sizeof(cnt), "c%u", id);
			rc = mdb_get(txn, t->dbi, &key, &val);
			if (rc == MDB_SUCCESS)
				memcpy(&n, val.mv_data, sizeof(n));
			else
				SHIM_CHECK(rc == MDB_NOTFOUND, "%s: get: %s", t->path, mdb_strerror(rc));
			key.mv_size = 9;
			key.mv_data = kb;
			thr_key(kb, id, n);
			SHIM_CHECK(n == 0 || mdb_get(txn, t->dbi, &key, &val) == MDB_SUCCESS,
				   "%s: snapshot: writer %u's counter %u without its key", t->path, id, n);
			thr_key(kb, id, n + 1);
			SHIM_CHECK(mdb_get(txn, t->dbi, &key, &val) == MDB_NOTFOUND,
				   "%s: snapshot: writer %u's key %u beyond its counter", t->path, id,
				   n + 1);
		}
		mdb_txn_abort(txn);
		snapshots++;
	}
	return NULL;
}

static void *thr_dies(void *arg)
{
	struct thr *t = arg;
	MDB_val key = { 4, "dead" }, val = { 4, "dead" };
	MDB_txn *txn;

	LSAN_OFF();
	MDB_OK(mdb_txn_begin(t->env, NULL, 0, &txn));
	MDB_OK(mdb_put(txn, t->dbi, &key, &val, 0));
	pthread_exit(NULL);	/* the write mutex still held */
}

static void threads_on(const char *path)
{
	_Atomic bool done = false;
	struct thr t[3];
	pthread_t th[3];
	MDB_env *env;
	MDB_dbi dbi, sub;
	MDB_txn *txn;
	MDB_val key = { 4, "dead" }, val;
	int rc;

	env = env_open(path, 0, &dbi, &sub);
	for (unsigned i = 0; i < 3; i++) {
		t[i] = (struct thr){ env, dbi, i, path, &done };
		SHIM_CHECK(pthread_create(&th[i], NULL, i < 2 ? thr_writer : thr_reader, &t[i]) == 0,
			   "pthread_create");
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	atomic_store(&done, true);
	pthread_join(th[2], NULL);
	SHIM_CHECK(pthread_create(&th[0], NULL, thr_dies, &t[0]) == 0, "pthread_create");
	pthread_join(th[0], NULL);
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	SHIM_CHECK(rc == MDB_PANIC, "%s: a write txn after its mutex's owner died: %s (want "
		   "MDB_PANIC, as LMDB answers EOWNERDEAD)", path, mdb_strerror(rc));
	mdb_env_close(env);
	env = env_open(path, 0, &dbi, &sub);
	MDB_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
	rc = mdb_get(txn, dbi, &key, &val);
	SHIM_CHECK(rc == MDB_NOTFOUND, "%s: the dead thread's put: %s", path, mdb_strerror(rc));
	key.mv_size = 2;
	key.mv_data = "c1";
	MDB_OK(mdb_get(txn, dbi, &key, &val));
	SHIM_CHECK(val.mv_size == sizeof(unsigned) && !memcmp(val.mv_data, &(unsigned){ THR_TXNS },
								sizeof(unsigned)),
		   "%s: writer 1's counter after reopening", path);
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/* Run argv with stdout to out (stderr to out.err); return its status. */
static int run_to(char *const argv[], const char *out)
{
	char err[PATH_MAX + 8];
	int status;
	pid_t pid;

	snprintf(err, sizeof(err), "%s.err", out);
	pid = fork();
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The file's bytes (NUL-terminated, free() them). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	SHIM_CHECK(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	SHIM_CHECK(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "reading %s", path);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* mdb_stat -e prints the map's address, which may differ between any two
 * processes. Drop that line in place. */
static void stat_filter(char *s, size_t *len)
{
	char *w = s;

	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);

		if (!strstr(line, "Map address") || (nl && strstr(line, "Map address") > nl)) {
			memmove(w, line, n);
			w += n;
		}
		line += n;
	}
	*w = '\0';
	*len = (size_t)(w - s);
}

/* The tool's output on the store (under udax run) and on the twin agree.
 * args: the tool's arguments, with "@" for the database's path, "%SUFFIX"
 * for the database's path + SUFFIX (in the store or beside the twin),
 * "#SUFFIX" for the host file DIR/NAME SUFFIX.udax or .host. */
static void tool_agrees(const char *udax, const char *name, const char *tag,
			const char *const args[], bool filter)
{
	char *run[24], out[2][PATH_MAX], db[2][PATH_MAX], store[PATH_MAX], root[PATH_MAX];
	char extra[4][PATH_MAX], *text[2];
	size_t len[2];
	int n, status;

	snprintf(store, sizeof(store), "%s/store", shim_dir);
	snprintf(root, sizeof(root), "%s/udax", shim_dir);
	for (int side = 0; side < 2; side++) {
		n = 0;
		if (side) {
			run[n++] = (char *)udax;
			run[n++] = "run";
			run[n++] = "--store";
			run[n++] = store;
			run[n++] = "--root";
			run[n++] = root;
			run[n++] = "--";
		}
		snprintf(db[side], PATH_MAX, "%s", shim_path(side, name));
		for (int a = 0, e = 0; args[a]; a++) {
			if (args[a][0] == '%' && e < 4)		/* beside the database */
				snprintf(run[n] = extra[e++], PATH_MAX, "%s%s", db[side], args[a] + 1);
			else if (args[a][0] == '#' && e < 4)	/* a host file */
				snprintf(run[n] = extra[e++], PATH_MAX, "%s/%s%s.%s", shim_dir, name,
					 args[a] + 1, side ? "udax" : "host");
			else
				run[n] = (char *)(strcmp(args[a], "@") ? args[a] : db[side]);
			n++;
		}
		run[n] = NULL;
		snprintf(out[side], PATH_MAX, "%s/%s-%s.%s", shim_dir, tag, name,
			 side ? "udax" : "host");
		status = run_to(run, out[side]);
		if (status) {
			size_t elen;
			char err[PATH_MAX + 8], *e;

			snprintf(err, sizeof(err), "%s.err", out[side]);
			e = slurp(err, &elen);
			SHIM_FAIL("%s %s %s exited %d: %.300s", side ? "udax run --" : "", args[0],
				  db[side], status, e);
		}
		text[side] = slurp(out[side], &len[side]);
		if (filter)
			stat_filter(text[side], &len[side]);
	}
	SHIM_CHECK(len[0] == len[1] && !memcmp(text[0], text[1], len[0]),
		   "%s of %s differs under udax run (%zu bytes) from the twin's (%zu bytes): "
		   "see %s and %s", args[0], name, len[1], len[0], out[1], out[0]);
	SHIM_CHECK(len[0] > 0 || !strcmp(args[0], "mdb_load") || !strcmp(args[0], "mdb_copy"),
		   "%s printed nothing", args[0]);
	free(text[0]);
	free(text[1]);
}

static bool on_path(const char *prog)
{
	const char *p = getenv("PATH");
	char buf[PATH_MAX];

	while (p && *p) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
		if (access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], udax[PATH_MAX + 8], seed[32], *slash;
	ssize_t n;

	if (argc >= 3 && getenv("UDAX_ROOT")) {	/* under the shim */
		shim_start(argc, argv, 300);
		for (int wm = 0; wm < 2; wm++)
			for (int side = 0; side < 2; side++)
				workload(shim_path(side, wm ? "wmap" : "plain"), wm ? MDB_WRITEMAP : 0);
		LSAN_OFF();
		for (int side = 0; side < 2; side++)
			threads_on(shim_path(side, "threads"));
		LSAN_ON();
		return 0;
	}
	if (!SHIM_SANITIZED && !(on_path("mdb_stat") && on_path("mdb_dump") && on_path("mdb_load"))) {
		puts("SKIP: no mdb_stat, mdb_dump, mdb_load (apt-get install lmdb-utils)");
		return 77;
	}
	/* shim_start's first stage, kept here: the tools run after it */
	alarm(600);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	SHIM_CHECK(n > 0, "readlink /proc/self/exe");
	self[n] = '\0';
	snprintf(udax, sizeof(udax), "%s", self);
	*strrchr(udax, '/') = '\0';
	slash = strrchr(udax, '/');
	strcpy(slash, "/udax");
	snprintf(shim_dir, sizeof(shim_dir), "%s/udax-shim-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	SHIM_CHECK(mkdtemp(shim_dir), "mkdtemp %s: %s", shim_dir, strerror(errno));
	{
		char host[PATH_MAX];

		snprintf(host, sizeof(host), "%s/host", shim_dir);
		mkdir(host, 0755);
	}
	shim_seed = getenv("UDAX_SEED") ? strtoull(getenv("UDAX_SEED"), NULL, 10) :
		(uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)shim_seed);
	{
		char store[PATH_MAX], root[PATH_MAX];
		char *run[] = { udax, "run", "--store", store, "--root", root, "--create", "512M",
				"--", self, shim_dir, seed, NULL };
		int status;

		snprintf(store, sizeof(store), "%s/store", shim_dir);
		snprintf(root, sizeof(root), "%s/udax", shim_dir);
		status = shim_spawn(run);
		if (status)
			SHIM_FAIL("the LMDB program under udax run: exit %d", status);
	}
	if (!SHIM_SANITIZED)
		for (int wm = 0; wm < 2; wm++) {
			const char *name = wm ? "wmap" : "plain", *load = wm ? "wmap-load" : "plain-load";
			const char *st[] = { "mdb_stat", "-n", "-a", "@", NULL };
			const char *st_env[] = { "mdb_stat", "-n", "-e", "-f", "@", NULL };
			const char *dump[] = { "mdb_dump", "-n", "-a", "@", NULL };
			char dumpfile[PATH_MAX], loadin[PATH_MAX];
			const char *ld[] = { "mdb_load", "-n", "-f", loadin, "@", NULL };

			tool_agrees(udax, name, "stat", st, false);
			tool_agrees(udax, name, "statenv", st_env, true);
			tool_agrees(udax, name, "dump", dump, false);
			/* load the dump into a fresh environment, dump that again */
			snprintf(dumpfile, sizeof(dumpfile), "%s/dump-%s.host", shim_dir, name);
			snprintf(loadin, sizeof(loadin), "%s", dumpfile);
			tool_agrees(udax, load, "load", ld, false);
			tool_agrees(udax, load, "dump", dump, false);
			/* mdb_copy into the store and out of it to a host file
			 * (written O_DIRECT from the map); compacting, of wmap */
			{
				const char *cp[] = { "mdb_copy", "-n", "@", "%-copy", NULL };
				const char *cpc[] = { "mdb_copy", "-n", "-c", "@", "%-compact", NULL };
				const char *cpo[] = { "mdb_copy", "-n", "@", "#-out", NULL };
				const char *dump_cp[] = { "mdb_dump", "-n", "-a", "%-copy", NULL };
				const char *dump_cpc[] = { "mdb_dump", "-n", "-a", "%-compact", NULL };
				const char *dump_out[] = { "mdb_dump", "-n", "-a", "#-out", NULL };

				if (!wm) {
					tool_agrees(udax, name, "copy", cp, false);
					tool_agrees(udax, name, "dumpcopy", dump_cp, false);
					tool_agrees(udax, name, "copyout", cpo, false);
					tool_agrees(udax, name, "dumpout", dump_out, false);
				} else {
					tool_agrees(udax, name, "compact", cpc, false);
					tool_agrees(udax, name, "dumpcompact", dump_cpc, false);
				}
			}
			{
				size_t a, b;
				char again[PATH_MAX + 32];
				char *x = slurp(dumpfile, &a), *y;

				snprintf(again, sizeof(again), "%s/dump-%s.udax", shim_dir, load);
				y = slurp(again, &b);
				SHIM_CHECK(a == b && !memcmp(x, y, a),
					   "%s: mdb_dump after mdb_load differs from the dump loaded",
					   name);
				free(x);
				free(y);
			}
		}
	{
		char *rm[] = { "/bin/rm", "-rf", shim_dir, NULL };

		shim_spawn(rm);
	}
	printf("shim_lmdb: plain and MDB_WRITEMAP, %u puts, updates, deletes, reopen%s agree "
	       "with the host twin\n", N, SHIM_SANITIZED ? "" : "; mdb_stat, mdb_dump, mdb_load");
	return 0;
}
#endif
