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
 * Names of files are never copied into it: they may be long or hold
 * terminal controls.
 *
 * Locks: none; the text is thread-local (one buffer per thread).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/handles.h"

#define DETAIL_MAX 512

static __thread char detail[DETAIL_MAX];

void detail_clear(void)
{
	detail[0] = '\0';
}

int detail_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return err;
}

long detail_fallback(const char *call, long ret)
{
	char text[128];

	if (ret < 0 && !detail[0])
		snprintf(detail, sizeof(detail), "%s: %s", call,
			 strerror_r((int)-ret, text, sizeof(text)));
	return ret;
}

const char *detail_text(void)
{
	return detail;
}

const char *name_problem(const char *name)
{
	size_t len;

	if (!name)
		return "the name is NULL";
	len = strnlen(name, UDAX_NAME_MAX + 1);
	if (len == 0)
		return "the name is empty (names are 1..255 bytes, without '/')";
	if (len > UDAX_NAME_MAX)
		return "the name is longer than 255 bytes (names are 1..255 bytes, without '/')";
	if (memchr(name, '/', len))
		return "the name holds a '/' (names are 1..255 bytes, without '/')";
	return NULL;
}
