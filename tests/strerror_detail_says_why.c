// SPDX-License-Identifier: MIT
/*
 * strerror_detail_says_why: every failing call leaves its own reason in
 * udax_strerror_detail() (the rule an argument breaks, the state that
 * refused it, the resource that ran out), never a file's name; each call
 * empties it on entry, so a success leaves ""; the text is per thread.
 * Also: udax_version() is the library's version, that of the header here.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

/* call returns err and the detail holds phrase. */
#define CHECK_WHY(call, err, phrase)                                           \
	do {                                                                   \
		CHECK_EQ(call, err);                                           \
		CHECK(strstr(udax_strerror_detail(), phrase), "after %s: \"%s\"", \
		      #call, udax_strerror_detail());                          \
	} while (0)

#define CHECK_QUIET(call)                                                      \
	do {                                                                   \
		CHECK_EQ(call, 0);                                             \
		CHECK(!udax_strerror_detail()[0], "after %s: \"%s\"", #call,   \
		      udax_strerror_detail());                                 \
	} while (0)

struct thread_arg {
	struct udax_store *s;
	char seen[256];
};

/* In another thread: a successful call, then what that thread's detail is. */
static void *other_thread(void *p)
{
	struct thread_arg *a = p;
	struct udax_store_stat ss;

	CHECK_EQ(udax_store_stat(a->s, &ss), 0);
	snprintf(a->seen, sizeof(a->seen), "%s", udax_strerror_detail());
	return NULL;
}

static void version_is_the_headers(void)
{
	char text[32];

	snprintf(text, sizeof(text), "%d.%d.%d", UDAX_VERSION_MAJOR, UDAX_VERSION_MINOR,
		 UDAX_VERSION_PATCH);
	CHECK(!strcmp(udax_version(), UDAX_VERSION), "udax_version() %s", udax_version());
	CHECK(!strcmp(text, UDAX_VERSION), "UDAX_VERSION %s, macros %s", UDAX_VERSION, text);
}

/* Write 64 KiB pieces until the store is full: the reason names the store. */
static void store_full_says_so(struct udax_store *s)
{
	static char piece[64 << 10];
	struct udax_file *f;
	ssize_t ret = 0;

	memset(piece, 'f', sizeof(piece));
	CHECK_EQ(udax_open(s, "filler", O_RDWR | O_CREAT, &f), 0);
	for (uint64_t off = 0; off < (64ull << 20) && ret >= 0; off += sizeof(piece))
		ret = udax_pwrite(f, piece, sizeof(piece), off);
	CHECK_EQ(ret, -ENOSPC);
	CHECK(strstr(udax_strerror_detail(), "store is full"), "\"%s\"", udax_strerror_detail());
	CHECK_EQ(udax_close(f), 0);
	CHECK_QUIET(udax_unlink(s, "filler"));
}

int main(void)
{
	struct thread_arg arg;
	struct udax_store *s;
	struct udax_file *f, *ro;
	char name[300];
	pthread_t t;
	void *map;

	test_init("strerror_detail_says_why", 60);
	version_is_the_headers();
	CHECK_QUIET(udax_store_create(test_path("s"), 16ull << 20, 0));
	CHECK_WHY(udax_store_open(test_path("s"), 0x40, &s), -EINVAL, "UDAX_STORE_RDONLY");
	CHECK_QUIET(udax_store_open(test_path("s"), 0, &s));

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CHECK_WHY(udax_open(s, name, O_RDWR | O_CREAT, &f), -EINVAL, "longer than 255 bytes");
	CHECK(!strstr(udax_strerror_detail(), "nnnn"), "the name echoed: %s",
	      udax_strerror_detail());
	CHECK_WHY(udax_open(s, "a//b", O_RDWR | O_CREAT, &f), -EINVAL, "empty component");
	CHECK_WHY(udax_open(s, "a/./b", O_RDWR | O_CREAT, &f), -EINVAL, "'.' or '..'");
	CHECK_WHY(udax_open(s, "a/b", O_RDWR | O_CREAT, &f), -ENOENT, "directory of the path");
	CHECK_WHY(udax_open(s, "x", O_RDWR, &f), -ENOENT, "O_CREAT");
	CHECK_WHY(udax_open(s, "x", O_WRONLY, &f), -EINVAL, "O_RDONLY or O_RDWR");
	CHECK_QUIET(udax_open(s, "x", O_RDWR | O_CREAT, &f));
	CHECK_WHY(udax_open(s, "x", O_RDWR | O_CREAT | O_EXCL, &ro), -EEXIST, "O_EXCL");
	CHECK_QUIET(udax_open(s, "x", O_RDONLY, &ro));
	CHECK_WHY(udax_pwrite(ro, "a", 1, 0), -EBADF, "O_RDONLY");
	CHECK_WHY(udax_truncate(ro, 0), -EBADF, "O_RDONLY");
	CHECK_WHY(udax_pwrite(f, "a", 1, 1ull << 50), -EFBIG, "64 TiB");
	CHECK_WHY(udax_mmap2(f, 0, 4096, PROT_READ | UDAX_MAP_SYNC, 0, &map), -EINVAL, "prot");
	CHECK_WHY(udax_mmap2(f, 0, 4096, PROT_READ, 0x4, &map), -EINVAL, "flags");
	CHECK_WHY(udax_mmap2(f, 1, 4096, PROT_READ, 0, &map), -EINVAL, "4096");
	CHECK_WHY(udax_mmap2(ro, 0, 4096, PROT_READ | PROT_WRITE, 0, &map), -EACCES, "O_RDONLY");
	CHECK_QUIET(udax_mmap2(f, 0, 4096, PROT_READ, 0, &map));
	CHECK_WHY(udax_munmap(map, 8192), -EINVAL, "udax mapping");
	CHECK_WHY(udax_msync((char *)map + 4096, 4096, MS_SYNC), -ENOMEM, "not inside");
	CHECK_WHY(udax_unlink(s, ".udax-unlinked/1"), -EINVAL, "udax's own");
	CHECK_WHY(udax_store_close(s), -EBUSY, "still open");
	CHECK_QUIET(udax_munmap(map, 4096));
	CHECK_QUIET(udax_close(ro));
	CHECK_QUIET(udax_close(f));

	/* Per thread: this thread's failure is not the other's. */
	CHECK_WHY(udax_unlink(s, "nothing"), -ENOENT, "no file");
	arg.s = s;
	CHECK_EQ(pthread_create(&t, NULL, other_thread, &arg), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK(!arg.seen[0], "the other thread sees \"%s\"", arg.seen);
	CHECK(strstr(udax_strerror_detail(), "no file"), "\"%s\"", udax_strerror_detail());

	store_full_says_so(s);
	CHECK_QUIET(udax_store_close(s));
	CHECK_WHY(udax_store_open(test_path(""), UDAX_STORE_RDONLY, &s), -EINVAL, "directory");
	test_pass();
}
