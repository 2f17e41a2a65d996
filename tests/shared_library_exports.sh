#!/usr/bin/env bash
# shared_library_exports: libudax.so exports exactly the functions that
# include/udax.h declares with UDAX_API, the calls of 0.1 under symbol
# version UDAX_1, those added in 0.2 under UDAX_0.2 and those of 0.3
# (directories, udax_seek_data, udax_store_counters) under UDAX_0.3, those of
# 0.4 (udax_append, udax_file_id, udax_lock_fd, udax_sigaction, udax_store_sync) under
# UDAX_0.4, and a program
# linked against it runs and finds udax_version() equal to the header's
# UDAX_VERSION (compiled with $UDAX_TEST_CC, the build's compiler and flags).
# Exit 0 pass, 1 fail, 77 skip (no nm).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$here/.." && pwd)
lib=$here/libudax.so
header=$src/include/udax.h
command -v nm >/dev/null || { echo "SKIP: no nm"; exit 77; }
[ -f "$header" ] || header=$(cd "$here/../.." && pwd)/include/udax.h
fail() { echo "FAIL shared_library_exports: $*"; exit 1; }
want=$(grep -Eo '^UDAX_API [^(]*\(' "$header" | grep -Eo 'udax_[a-z0-9_]+' | sort)
versioned=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }')
have=$(sed 's/@.*//' <<<"$versioned" | sort)
[ -n "$want" ] || fail "no UDAX_API declarations found in $header"
[ "$want" = "$have" ] || fail "exports differ from the header: $(diff <(echo "$want") <(echo "$have") | tr '\n' ' ')"
for f in udax_escape udax_mmap2 udax_stat udax_version; do
	grep -qx "$f@@UDAX_0.2" <<<"$versioned" || fail "$f is not at version UDAX_0.2"
done
for f in udax_mkdir udax_readdir2 udax_rmdir udax_seek_data udax_store_counters; do
	grep -qx "$f@@UDAX_0.3" <<<"$versioned" || fail "$f is not at version UDAX_0.3"
done
for f in udax_append udax_file_id udax_lock_fd udax_sigaction udax_store_sync; do
	grep -qx "$f@@UDAX_0.4" <<<"$versioned" || fail "$f is not at version UDAX_0.4"
done
for f in udax_mmap udax_store_open udax_strerror_detail; do
	grep -qx "$f@@UDAX_1" <<<"$versioned" || fail "$f is not at version UDAX_1"
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/udax-so-XXXXXX")
trap 'rm -rf "$dir"' EXIT
ln -s "$lib" "$dir/libudax.so.0"
cat >"$dir/p.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <udax.h>
int main(int argc, char **argv)
{
	struct udax_store *s;
	(void)argc;
	if (strcmp(udax_version(), UDAX_VERSION))
		return 1;
	if (udax_store_create(argv[1], 8 << 20, 0) || udax_store_open(argv[1], 0, &s))
		return 1;
	return udax_store_close(s) ? 1 : 0;
}
C
${UDAX_TEST_CC:-cc} -I"$(dirname "$header")" "$dir/p.c" -L"$dir" -l:libudax.so.0 -o "$dir/p" || fail "cannot link"
LD_LIBRARY_PATH=$dir "$dir/p" "$dir/store" || fail "linked program failed"
echo "PASS shared_library_exports ($(wc -w <<<"$want") functions)"
