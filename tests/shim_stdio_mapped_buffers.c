// SPDX-License-Identifier: MIT
/*
 * shim_stdio_mapped_buffers: under `udax run`, fwrite and fread (and the
 * _unlocked forms) between a host stream and a buffer in a udax mapping
 * whose pages were never touched move every byte: glibc does large
 * transfers with its internal read and write, straight from the caller's
 * buffer, and the kernel cannot fault a udax page in (fwrite of a mapped
 * file to a host stdout wrote nothing before). Also a count that ends
 * short (the end of the host file) gives fread's whole items, as glibc.
 * fputs and puts of a long mapped string work too (their strlen faults
 * the string in first).
 * Exit 0 pass, 1 fail.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "shim_lib.h"

#define LEN (3u << 20)

int main(int argc, char **argv)
{
	char *want, *back, *src, *dst;
	FILE *f;
	size_t n;

	shim_start(argc, argv, 60);
	want = malloc(LEN);
	back = malloc(LEN);
	SHIM_CHECK(want && back, "malloc");
	for (size_t i = 0; i < LEN; i++)
		want[i] = (char)shim_rand();

	/* fwrite from an untouched read-only mapping to a host file */
	src = shim_fresh_map("src", want, LEN, PROT_READ);
	f = fopen(shim_path(0, "out"), "w");
	SHIM_CHECK(f, "fopen host: %s", strerror(errno));
	n = fwrite(src, 4096, LEN / 4096, f);
	SHIM_CHECK(n == LEN / 4096, "fwrite of a mapping: %zu of %u items: %s", n, LEN / 4096,
		   strerror(errno));
	n = fwrite_unlocked(src + 100, 1, 5000, f);	/* a second copy of a part */
	SHIM_CHECK(n == 5000, "fwrite_unlocked: %zu", n);
	SHIM_CHECK(fclose(f) == 0, "fclose: %s", strerror(errno));
	f = fopen(shim_path(0, "out"), "r");
	SHIM_CHECK(f && fread(back, 1, LEN, f) == LEN && !memcmp(back, want, LEN),
		   "the host file differs from the mapping");

	/* fread from the host file into an untouched writable mapping */
	dst = shim_fresh_map("dst", NULL, LEN, PROT_READ | PROT_WRITE);
	rewind(f);
	n = fread(dst, 1024, LEN / 1024, f);
	SHIM_CHECK(n == LEN / 1024 && !memcmp(dst, want, LEN), "fread into a mapping: %zu items",
		   n);
	/* 5000 bytes are left: fread_unlocked of 3 items of 2048 gives 2 */
	n = fread_unlocked(dst + 8192, 2048, 3, f);
	SHIM_CHECK(n == 2 && !memcmp(dst + 8192, want + 100, 4096),
		   "fread_unlocked at the end: %zu whole items (want 2)", n);
	SHIM_CHECK(fclose(f) == 0, "fclose");

	/* fputs, fputs_unlocked and puts of a long string in a mapping (the
	 * store file ends with its NUL) */
	for (size_t i = 0; i < LEN - 1; i++)
		want[i] = (char)('a' + i % 26);
	want[LEN - 1] = '\0';
	munmap(src, LEN);
	src = shim_fresh_map("text", want, LEN, PROT_READ);
	f = fopen(shim_path(0, "text"), "w");
	SHIM_CHECK(f && fputs(src, f) >= 0 && fputs_unlocked(src + LEN - 11, f) >= 0 &&
		   fclose(f) == 0, "fputs of a mapped string: %s", strerror(errno));
	SHIM_CHECK(freopen(shim_path(0, "puts"), "w", stdout), "freopen: %s", strerror(errno));
	SHIM_CHECK(puts(src) >= 0 && fflush(stdout) == 0, "puts: %s",
		   strerror(errno));
	f = fopen(shim_path(0, "text"), "r");
	SHIM_CHECK(f, "fopen: %s", strerror(errno));
	n = fread(back, 1, LEN, f);	/* LEN - 1 bytes, then 10 */
	SHIM_CHECK(n == LEN && !memcmp(back, want, LEN - 1) && back[LEN - 1] == want[LEN - 11],
		   "fputs: the host file differs (%zu bytes)", n);
	n = fread(back, 1, LEN, f);
	SHIM_CHECK(n == 9 && !memcmp(back, want + LEN - 10, 9), "fputs_unlocked: %zu bytes", n);
	fclose(f);
	f = fopen(shim_path(0, "puts"), "r");
	SHIM_CHECK(f && fread(back, 1, LEN, f) == LEN && !memcmp(back, want, LEN - 1) &&
		   back[LEN - 1] == '\n', "puts: the host file differs");
	fclose(f);
	munmap(src, LEN);
	munmap(dst, LEN);
	free(want);
	free(back);
	fprintf(stderr, "PASS shim_stdio_mapped_buffers\n");
	return 0;
}
