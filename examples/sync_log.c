// SPDX-License-Identifier: MIT
/*
 * sync_log - an append-only log written through a UDAX_MAP_SYNC mapping,
 * replayed after reopening, even after the writer was killed.
 *
 *   sync_log STORE COUNT [--kill]
 *
 * Creates STORE (16 MiB) if it does not exist. Maps the store's file "log"
 * (1 MiB) with UDAX_MAP_SYNC, replays the records already there, appends
 * COUNT new ones by plain stores into the mapping, then closes, reopens
 * the store read-only and replays again: one more line of output, exit 0
 * if the log holds exactly the old records plus the new ones, else exit 1.
 * With --kill the program kills itself with SIGKILL after appending: no
 * udax_msync(), udax_fsync() or close. The next run replays them all.
 *
 * Why UDAX_MAP_SYNC: a store into a page that has no block yet makes udax
 * allocate one. With UDAX_MAP_SYNC that write fault returns only once the
 * new block map is durable (as the kernel's MAP_SYNC on DAX files), so the
 * appended records survive a crash of the process without any sync call.
 * Without it, the blocks of the new pages are recorded at the next
 * udax_fsync() or close, and a killed writer loses them. (The bytes
 * themselves are in the host's page cache as soon as they are stored;
 * against a power loss, udax_msync() them.)
 *
 * A record is a header (payload length, checksum, sequence number) and its
 * payload, padded to 8 bytes. Replay stops at the first record whose
 * length is 0 (never written) or whose checksum is wrong (torn).
 * Build: cc -std=c11 sync_log.c -ludax
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <udax.h>

#define LOG_BYTES (1 << 20)
#define PAYLOAD_MAX 64

struct record {
	_Atomic uint32_t len;	/* payload bytes; written last: 0 = no record */
	uint32_t sum;		/* checksum of seq and the payload */
	uint64_t seq;		/* 0, 1, 2, ... */
	char payload[];
};

static uint32_t record_sum(uint64_t seq, const char *payload, uint32_t len)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 8; i++)
		h = (h ^ (uint8_t)(seq >> (8 * i))) * 16777619u;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)payload[i]) * 16777619u;
	return h;
}

static size_t record_size(uint32_t len)
{
	return (sizeof(struct record) + len + 7) & ~(size_t)7;
}

/* Walk the valid records of the log. Returns their count; *end is the
 * offset after the last one. */
static uint64_t log_replay(const char *log, size_t *end)
{
	uint64_t n = 0;
	size_t off = 0;

	while (off + sizeof(struct record) <= LOG_BYTES) {
		const struct record *r = (const struct record *)(log + off);
		uint32_t len = atomic_load_explicit(&r->len, memory_order_acquire);

		if (!len || len > PAYLOAD_MAX || off + record_size(len) > LOG_BYTES ||
		    r->seq != n || r->sum != record_sum(r->seq, r->payload, len))
			break;
		n++;
		off += record_size(len);
	}
	*end = off;
	return n;
}

/* Append a record at *end. Returns 0, or -ENOSPC if the log is full. */
static int log_append(char *log, size_t *end, uint64_t seq, const char *text)
{
	uint32_t len = (uint32_t)strlen(text);
	struct record *r = (struct record *)(log + *end);

	if (*end + record_size(len) > LOG_BYTES)
		return -ENOSPC;
	/* Payload and header first, the length last: a reader that sees the
	 * length sees the rest; a torn record fails its checksum. */
	memcpy(r->payload, text, len);
	r->seq = seq;
	r->sum = record_sum(seq, text, len);
	atomic_store_explicit(&r->len, len, memory_order_release);
	*end += record_size(len);
	return 0;
}

/* Unmap the log, then close its file and the store. Returns 0, or the
 * first error (what follows it is left open: the program exits). */
static int log_close(struct udax_store *store, struct udax_file *file, char *log)
{
	int ret = udax_munmap(log, LOG_BYTES);

	if (!ret)
		ret = udax_close(file);
	if (!ret)
		ret = udax_store_close(store);
	return ret;
}

static int usage(void)
{
	fprintf(stderr, "usage: sync_log STORE COUNT [--kill]\n");
	return 2;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "sync_log: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	char text[PAYLOAD_MAX + 1], *tail;
	struct udax_file_stat st;
	struct udax_store *store;
	struct udax_file *file;
	uint64_t before, after, count;
	size_t end;
	char *log;
	int ret;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--kill")))
		return usage();
	count = strtoull(argv[2], &tail, 10);
	if (*argv[2] < '0' || *argv[2] > '9' || *tail)
		return usage();
	ret = udax_store_create(argv[1], 16 << 20, 0);
	if (ret && ret != -EEXIST)
		return fail("create the store", ret);
	ret = udax_store_open(argv[1], 0, &store);
	if (ret)
		return fail("open the store", ret);
	ret = udax_open(store, "log", O_RDWR | O_CREAT, &file);
	if (!ret)
		ret = udax_fstat(file, &st);
	if (!ret && st.size == 0) {
		/* A new log: its size must be durable before records count on
		 * it, as UDAX_MAP_SYNC makes durable only new blocks. */
		ret = udax_truncate(file, LOG_BYTES);
		if (!ret)
			ret = udax_fsync(file);
	}
	if (!ret)
		ret = udax_mmap2(file, 0, LOG_BYTES, PROT_READ | PROT_WRITE, UDAX_MAP_SYNC,
				 (void **)&log);
	if (ret)
		return fail("open and map the log", ret);

	before = log_replay(log, &end);
	for (uint64_t i = 0; i < count; i++) {
		snprintf(text, sizeof(text), "record %llu", (unsigned long long)(before + i));
		ret = log_append(log, &end, before + i, text);
		if (ret)
			return fail("append", ret);
	}
	if (argc == 4) {
		printf("sync_log: replayed %llu records, appended %llu, killing myself\n",
		       (unsigned long long)before, (unsigned long long)count);
		fflush(stdout);
		raise(SIGKILL);
	}
	ret = log_close(store, file, log);
	if (ret)
		return fail("close", ret);

	/* Reopen read-only and replay what is in the store now. */
	ret = udax_store_open(argv[1], UDAX_STORE_RDONLY, &store);
	if (!ret)
		ret = udax_open(store, "log", O_RDONLY, &file);
	if (!ret)
		ret = udax_mmap2(file, 0, LOG_BYTES, PROT_READ, 0, (void **)&log);
	if (ret)
		return fail("reopen the log", ret);
	after = log_replay(log, &end);
	ret = log_close(store, file, log);
	if (ret)
		return fail("close", ret);
	printf("sync_log: replayed %llu records, appended %llu, replayed %llu after reopening\n",
	       (unsigned long long)before, (unsigned long long)count, (unsigned long long)after);
	return after == before + count ? 0 : 1;
}
