/* SPDX-License-Identifier: MIT */
/*
 * store_shared_test.h - what the tests of a store shared by processes
 * (store_load_shared, issue 14 stage 2; udax_store_open, stage 3)
 * share: the load or open that fails the
 * test with its reason, and memory the test and its workers share when
 * the workers are the test executed again (a file both map; an anonymous
 * shared mapping would not survive exec).
 */
#ifndef UDAX_STORE_SHARED_TEST_H
#define UDAX_STORE_SHARED_TEST_H

#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api/handles.h"
#include "store/store.h"
#include "xproc_test.h"

/* The store at path, loaded shared; its mappings need no invalidation. */
static inline struct store *store_shared_test_load(const char *path)
{
	struct store_error why;
	struct store *s;
	int ret = store_load_shared(path, 0, NULL, xproc_test_noop, NULL, &s, &why);

	CHECK(ret == 0, "store_load_shared: %d %s", ret, why.text);
	return s;
}

/* The store at path opened shared with its files (udax_store_open's
 * default, issue 14 stage 3); the test fails with the reason if it cannot
 * be. */
static inline struct udax_store *store_shared_test_open(const char *path)
{
	struct udax_store *s;
	int ret = udax_store_open(path, 0, &s);

	CHECK(ret == 0, "udax_store_open: %d %s", ret, udax_strerror_detail());
	return s;
}

/* bytes of file, made (zeroed) if create, mapped shared. */
static inline void *store_shared_test_map(const char *file, size_t bytes, bool create)
{
	int fd = open(file, O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0600);
	void *p;

	CHECK(fd >= 0, "%s", file);
	if (create)
		CHECK_EQ(ftruncate(fd, (off_t)bytes), 0);
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	close(fd);
	return p;
}

#endif
