#!/usr/bin/env bash
# bench_sources_compile: every benchmark program (bench/*.c) still
# compiles against the library's headers, without warnings, so that a
# change of an internal call cannot leave a benchmark broken until its
# next run (found when bench/shared_faults.c still called a removed
# function). Compiled with $UDAX_TEST_CC (the build's compiler and flags,
# else cc) -std=c11 -Wall -Wextra -Werror -fsyntax-only, as the Makefile's
# bench targets and bench/run.sh compile them; bench/lmdb_read.c only where <lmdb.h> is
# installed. Exit 0 pass, 1 fail (naming the file).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$here/.." && pwd)
[ -f "$src/include/udax.h" ] || src=$(cd "$here/../.." && pwd)
cc=${UDAX_TEST_CC:-cc}
n=0
for f in "$src"/bench/*.c; do
	if [ "$(basename "$f")" = lmdb_read.c ] &&
		! echo '#include <lmdb.h>' | $cc -E -x c - >/dev/null 2>&1; then
		continue
	fi
	# the Makefile's targets define _GNU_SOURCE for those that do not
	gnu=-D_GNU_SOURCE
	grep -q '^#define _GNU_SOURCE' "$f" && gnu=
	# shellcheck disable=SC2086 # $cc is a command with its flags; $gnu may be empty
	out=$($cc -std=c11 -Wall -Wextra -Werror $gnu -pthread -I"$src/include" \
		-I"$src/src" -fsyntax-only "$f" 2>&1) ||
		{ echo "FAIL bench_sources_compile: $f:"; echo "$out"; exit 1; }
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "FAIL bench_sources_compile: no bench/*.c under $src"; exit 1; }
echo "bench_sources_compile: $n benchmark programs compile"
