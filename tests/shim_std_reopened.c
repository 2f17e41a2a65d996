// SPDX-License-Identifier: MIT
/*
 * shim_std_reopened: under `udax run`, a program that closes descriptor 1
 * (or 0) and opens a store file gets that descriptor, as from the kernel,
 * even when that open is the first use of the store (the library used to
 * put /dev/null in the slot while it opened the store: the file came as 3
 * and printf went nowhere); then stdout writes into the file, and stdin
 * reads from one (glibc's streams use internal calls, so the shim's
 * streams stand in). Exit 0 pass, 1 fail.
 */
#include <fcntl.h>

#include "shim_lib.h"

int main(int argc, char **argv)
{
	char line[64] = "", want[64];
	int fd, out;

	shim_start(argc, argv, 60);
	out = dup(1);	/* for the verdict */
	SHIM_CHECK(out >= 0, "dup: %s", strerror(errno));
	fflush(stdout);
	close(1);
	fd = open(shim_path(1, "out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	SHIM_CHECK(fd == 1, "close(1); open(store file) gave descriptor %d: %s", fd,
		   strerror(errno));
	snprintf(want, sizeof(want), "seed %llu through stdout\n", (unsigned long long)shim_seed);
	SHIM_CHECK(printf("%s", want) > 0 && fflush(stdout) == 0, "printf: %s", strerror(errno));
	close(0);
	fd = open(shim_path(1, "out"), O_RDONLY);
	SHIM_CHECK(fd == 0, "close(0); open(store file) gave descriptor %d: %s", fd,
		   strerror(errno));
	SHIM_CHECK(fgets(line, sizeof(line), stdin) != NULL, "fgets(stdin): nothing read");
	SHIM_CHECK(strcmp(line, want) == 0, "stdin read \"%s\", stdout wrote \"%s\"", line, want);
	dprintf(out, "PASS shim_std_reopened\n");
	return 0;
}
