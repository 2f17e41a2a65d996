// SPDX-License-Identifier: MIT
/*
 * lmdb_read.c - the LMDB side of bench/shim.sh, an ordinary liblmdb program
 * (no udax.h: run under `udax run` on a store file, or plainly on a host
 * file).
 *   lmdb_read fill PATH KEYS        an environment (MDB_NOSUBDIR) of KEYS
 *                                   8-byte keys, 100-byte values, put in
 *                                   transactions of 10^4
 *   lmdb_read read PATH KEYS GETS SEED
 *                                   GETS mdb_get of random keys (seeded) in
 *                                   one read transaction of a freshly opened
 *                                   environment; prints gets per second
 *                                   (open and first-touch faults included)
 * Exit 0, or 1 with a message.
 */
#define _GNU_SOURCE
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)							\
	do {								\
		int rc_ = (call);					\
		if (rc_) {						\
			fprintf(stderr, "lmdb_read: %s: %s\n", #call,	\
				mdb_strerror(rc_));			\
			exit(1);					\
		}							\
	} while (0)

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static void key_of(uint64_t i, unsigned char k[8])
{
	for (int b = 0; b < 8; b++)
		k[b] = (unsigned char)(i >> (56 - 8 * b));
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	unsigned char k[8], v[100];
	MDB_val key = { 8, k }, val = { sizeof(v), v };
	uint64_t keys, sum = 0;
	double t0;
	int fill;

	if (argc < 4 || (strcmp(argv[1], "fill") && (strcmp(argv[1], "read") || argc < 6))) {
		fprintf(stderr, "usage: lmdb_read fill PATH KEYS | read PATH KEYS GETS SEED\n");
		return 1;
	}
	fill = !strcmp(argv[1], "fill");
	keys = strtoull(argv[3], NULL, 10);
	t0 = now();
	CHECK(mdb_env_create(&env));
	CHECK(mdb_env_set_mapsize(env, (keys * 256 + (64u << 20)) & ~4095ull));
	CHECK(mdb_env_open(env, argv[2], MDB_NOSUBDIR | (fill ? 0 : MDB_RDONLY), 0644));
	if (fill) {
		for (uint64_t i = 0; i < keys; i += 10000) {
			CHECK(mdb_txn_begin(env, NULL, 0, &txn));
			CHECK(mdb_dbi_open(txn, NULL, 0, &dbi));
			for (uint64_t j = i; j < i + 10000 && j < keys; j++) {
				key_of(j, k);
				memset(v, (int)(j % 251), sizeof(v));
				CHECK(mdb_put(txn, dbi, &key, &val, 0));
			}
			CHECK(mdb_txn_commit(txn));
		}
	} else {
		uint64_t gets = strtoull(argv[4], NULL, 10);

		rng = strtoull(argv[5], NULL, 10) | 1;
		CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
		CHECK(mdb_dbi_open(txn, NULL, 0, &dbi));
		for (uint64_t n = 0; n < gets; n++) {
			uint64_t i = next() % keys;

			key_of(i, k);
			CHECK(mdb_get(txn, dbi, &key, &val));
			if (val.mv_size != sizeof(v) || ((unsigned char *)val.mv_data)[50] != i % 251) {
				fprintf(stderr, "lmdb_read: key %llu: wrong value\n",
					(unsigned long long)i);
				return 1;
			}
			sum += val.mv_size;
		}
		mdb_txn_abort(txn);
		printf("%.0f\n", (double)gets / (now() - t0));
	}
	mdb_env_close(env);
	return sum == 0 && !fill;
}
