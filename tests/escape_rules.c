// SPDX-License-Identifier: MIT
/*
 * escape_rules: udax_escape() shows printable ASCII and printable UTF-8 as
 * they are and escapes everything a terminal would act on (controls, DEL,
 * invalid UTF-8, C1 and bidirectional controls), never splitting or
 * overrunning: a sequence cut by len is escaped byte by byte, a short
 * buffer is refused whole. Random bytes (seeded) always give a text of
 * printable bytes only, which un-escapes back to the input.
 */
#include <errno.h>
#include <string.h>

#include "test_util.h"
#include "udax.h"

static void expect(const char *in, size_t len, const char *want)
{
	char buf[256];
	ssize_t n = udax_escape(in, len, buf, sizeof(buf));

	CHECK(n == (ssize_t)strlen(want) && !strcmp(buf, want), "escape of %zu bytes: \"%s\", want \"%s\"",
	      len, buf, want);
}

/* Undo the escapes; Return: the length of the bytes. */
static size_t unescape(const char *text, unsigned char *out)
{
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (*p != '\\') {
			out[n++] = (unsigned char)*p;
			continue;
		}
		p++;
		if (*p == 'x') {
			unsigned v;

			CHECK(sscanf(p + 1, "%2x", &v) == 1, "bad escape in %s", text);
			out[n++] = (unsigned char)v;
			p += 2;
		} else {
			out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : '\\';
		}
	}
	return n;
}

/* Whether text holds no control byte (bytes >= 0x80 left in it are those
 * of printable UTF-8 characters, checked by the table above). */
static bool all_printable(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int main(void)
{
	unsigned char in[64], back[64];
	char buf[UDAX_ESCAPED_SIZE(sizeof(in))];
	uint64_t rng;

	test_init("escape_rules", 30);
	rng = test_seed;
	expect("plain name.txt", 14, "plain name.txt");
	expect("a\nb\tc\rd\\e", 9, "a\\nb\\tc\\rd\\\\e");
	expect("\033[31mred\x7f", 9, "\\x1b[31mred\\x7f");
	expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect("\x9b" "31m", 4, "\\x9b31m");			/* raw 8-bit CSI */
	expect("\xc2\x9b" "31m", 5, "\\xc2\\x9b31m");		/* U+009B, CSI */
	expect("\xe2\x80\xae" "txt", 6, "\\xe2\\x80\\xaetxt");	/* U+202E, RLO */
	expect("\xc0\xaf", 2, "\\xc0\\xaf");			/* overlong '/' */
	expect("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");		/* a surrogate */
	expect("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");	/* past U+10FFFF */
	expect("\xff\xfe", 2, "\\xff\\xfe");
	expect("\xc3\xa9", 1, "\\xc3");				/* cut by len */
	expect("ab\0cd", 5, "ab");				/* stops at a NUL */
	expect("", 0, "");

	CHECK_EQ(udax_escape("abc", 3, buf, UDAX_ESCAPED_SIZE(3) - 1), -ERANGE);
	CHECK_EQ(udax_escape("abc", 3, buf, UDAX_ESCAPED_SIZE(3)), 3);
	CHECK_EQ(udax_escape(NULL, 3, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(udax_escape("abc", 3, NULL, 0), -EINVAL);

	for (int round = 0; round < 100000; round++) {
		size_t len = test_rand(&rng) % sizeof(in);
		ssize_t n;

		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)(test_rand(&rng) % 255 + 1);	/* no NUL */
		n = udax_escape((const char *)in, len, buf, sizeof(buf));
		CHECK(n >= 0 && (size_t)n == strlen(buf), "round %d", round);
		CHECK(all_printable(buf), "round %d: a control byte in \"%s\"", round, buf);
		CHECK(unescape(buf, back) == len && !memcmp(back, in, len),
		      "round %d: \"%s\" does not give the input back", round, buf);
	}
	test_pass();
}
