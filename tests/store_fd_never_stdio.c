// SPDX-License-Identifier: MIT
/*
 * store_fd_never_stdio: a process that closed its standard streams never
 * gets the store on descriptor 0, 1 or 2, so what it prints to stderr can
 * never land in the store (it did: `udax rm x 2>&-` wrote its message over
 * superblock slot 0); a FIFO named as a store is refused at once instead
 * of blocking the opener for ever; and the reason texts of a damaged store
 * escape the control bytes of the file names they quote.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

/* With stdin, stdout and stderr closed: create, open, write a file,
 * print to stderr, close; then the store must check clean, no warning. */
static void closed_streams(void *arg)
{
	const char *path = arg;
	static const char junk[] = "udax rm: nonexist: No such file or directory\n";
	struct udax_store *s;
	struct udax_file *f;
	struct stat st;

	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	CHECK_EQ(udax_store_create(path, 8 << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "keep", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, "kept", 4, 0), 4);
	CHECK_EQ(udax_fsync(f), 0);
	for (int fd = 0; fd <= 2; fd++) {
		/* the slot udax used for a moment now holds /dev/null, or is closed */
		if (fstat(fd, &st) == 0)
			CHECK(S_ISCHR(st.st_mode), "fd %d is no /dev/null", fd);
		(void)!write(fd, junk, sizeof(junk) - 1);
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK(!udax_strerror_detail()[0], "%s", udax_strerror_detail());
	CHECK_EQ(udax_store_check(path, UDAX_CHECK_REPAIR), 0);	/* opens O_RDWR */
	(void)!write(STDERR_FILENO, junk, sizeof(junk) - 1);
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK(!udax_strerror_detail()[0], "after repair: %s", udax_strerror_detail());
}

int main(void)
{
	struct udax_store *s;
	struct udax_file *f;
	const char *name = "a\033[2Jb";
	const char *detail;
	char buf[4];

	test_init("store_fd_never_stdio", 60);
	test_in_child("closed standard streams", closed_streams, (void *)test_path("s"));
	CHECK_EQ(udax_store_open(test_path("s"), UDAX_STORE_RDONLY, &s), 0);
	CHECK_EQ(udax_open(s, "keep", O_RDONLY, &f), 0);
	CHECK_EQ(udax_pread(f, buf, 4, 0), 4);
	CHECK(!memcmp(buf, "kept", 4));
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);

	/* A FIFO: refused (the watchdog fails a hang). */
	CHECK_EQ(mkfifo(test_path("fifo"), 0600), 0);
	CHECK_EQ(udax_store_open(test_path("fifo"), UDAX_STORE_RDONLY, &s), -EINVAL);
	CHECK_EQ(udax_store_open(test_path("fifo"), 0, &s), -EINVAL);
	CHECK_EQ(udax_store_check(test_path("fifo"), 0), -EINVAL);
	CHECK(strstr(udax_strerror_detail(), "not a regular file"), "%s", udax_strerror_detail());

	/* A damaged store quoting a name with controls: escaped. */
	CHECK_EQ(udax_store_create(test_path("d"), 16 << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("d"), 0, &s), 0);
	CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_fallocate(f, 0, 12 << 20), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(truncate(test_path("d"), 8 << 20), 0);
	CHECK_EQ(udax_store_check(test_path("d"), 0), -EUCLEAN);
	detail = udax_strerror_detail();
	CHECK(strstr(detail, "a\\x1b[2Jb"), "name not escaped: %s", detail);
	CHECK(!strchr(detail, '\033'), "a raw ESC in the detail");
	test_pass();
}
