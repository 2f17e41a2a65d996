// SPDX-License-Identifier: MIT
/*
 * detail.c - layer api: the one-line reason behind the last udax call of
 * this thread (udax_strerror_detail()).
 *
 * Every public call empties it on entry (api.c). A failing call leaves
 * the most precise reason its layer knows: the argument that is wrong and
 * the rule it breaks, the state that refuses it (a read-only store, an
 * open file), the resource that ran out (the store or the host file
 * system, vm.max_map_count). A failure nobody explained gets the call's
 * name and the errno's text, so the detail after a failure is never "".
 * The calls of files never copy a name into it (it may be long); the
 * store calls name the store's path and, for a damaged store, its files,
 * escaped as udax_escape() escapes (text_escape() here): the text is one
 * line that a terminal only prints.
 *
 * Also here, the reasons shared by the calls on paths (a path that breaks
 * the rule, a directory missing on the way) and by those that checkpoint.
 *
 * Locks: none; the text is thread-local (one buffer per thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/handles.h"

#define DETAIL_RAW_MAX 512
#define DETAIL_MAX UDAX_ESCAPED_SIZE(DETAIL_RAW_MAX)

static __thread char detail[DETAIL_MAX];

/* The length (2..4) of the well-formed UTF-8 sequence at s (at most n
 * bytes) of a character a terminal prints, or 0: a stray or truncated
 * byte, an overlong form, a surrogate, a C1 control (U+0080 .. U+009F:
 * U+009B is CSI, as ESC [ is) or a bidirectional control (U+200E, U+200F,
 * U+202A .. U+202E, U+2066 .. U+2069: they reorder what follows on the
 * screen). */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	uint32_t c = s[0] & (0x7f >> len);

	if (s[0] < 0xc2 || s[0] > 0xf4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff) || c <= 0x9f || c == 0x200e || c == 0x200f ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
		return 0;
	return len;
}

ssize_t text_escape(const char *text, size_t len, char *buf, size_t size)
{
	const unsigned char *raw = (const unsigned char *)text;
	size_t out = 0;

	if (!text || !buf)
		return -EINVAL;
	len = strnlen(text, len);
	if (size < UDAX_ESCAPED_SIZE(len))
		return -ERANGE;
	for (size_t i = 0; i < len; i++) {
		size_t seq = raw[i] >= 0x80 ? utf8_printable(raw + i, len - i) : 0;
		const char *esc = raw[i] == '\n' ? "\\n" : raw[i] == '\t' ? "\\t" :
				  raw[i] == '\r' ? "\\r" : raw[i] == '\\' ? "\\\\" : NULL;

		if (esc) {
			memcpy(buf + out, esc, 2);
			out += 2;
		} else if (seq) {
			memcpy(buf + out, raw + i, seq);
			out += seq;
			i += seq - 1;
		} else if (raw[i] < 0x20 || raw[i] >= 0x7f) {
			out += (size_t)snprintf(buf + out, 5, "\\x%02x", raw[i]);
		} else {
			buf[out++] = (char)raw[i];
		}
	}
	buf[out] = '\0';
	return (ssize_t)out;
}

void detail_clear(void)
{
	detail[0] = '\0';
}

int detail_set(int err, const char *fmt, ...)
{
	char raw[DETAIL_RAW_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	text_escape(raw, n < 0 ? 0 : (size_t)n, detail, sizeof(detail));
	return err;
}

long detail_fallback(const char *call, long ret)
{
	char text[128];

	if (ret < 0 && !detail[0])
		snprintf(detail, sizeof(detail), "%s: %s%s", call,
			 strerror_r((int)-ret, text, sizeof(text)),
			 ret == -ENOMEM ? " (the process, or a shared store's region file, whose "
			 "directory $UDAX_REGION_DIR or /dev/shm may be full)" : "");
	return ret;
}

const char *detail_text(void)
{
	return detail;
}

int path_check(const char *path)
{
	const char *problem = store_path_problem(path);

	if (problem)
		return detail_set(-EINVAL, "%s", problem);
	if (!strncmp(path, ORPHAN_DIR, strlen(ORPHAN_DIR)) &&
	    (path[strlen(ORPHAN_DIR)] == '\0' || path[strlen(ORPHAN_DIR)] == '/'))
		return detail_set(-EINVAL, "%s is udax's own directory: it keeps the files "
				  "removed while open until their last close", ORPHAN_DIR);
	return 0;
}

int path_lookup_failed(int err)
{
	if (err == -ENOTDIR)
		return detail_set(err, "a component of the path before the last is a file, "
				  "not a directory");
	if (err == -ENOENT)
		return detail_set(err, "a directory of the path does not exist");
	return err;
}

int checkpoint_failed(int err)
{
	if (err == -EIO)
		return detail_set(err, "writing the store's metadata failed: its backing file "
				  "is shorter than the store (truncated under it: udax fsck "
				  "--repair repairs) or the host reported an I/O error");
	if (err == -ENOSPC)
		return detail_set(err, "the host file system holding the store is full: the "
				  "store's metadata could not be written");
	return err;
}
