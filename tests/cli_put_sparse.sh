#!/usr/bin/env bash
# cli_put_sparse: `udax put` keeps the holes of a sparse host file, as cp
# does: the runs lseek(SEEK_DATA/SEEK_HOLE) finds are copied, the rest
# stays holes in the store file, and a trailing hole is kept by the size.
# A 100 MiB host file holding 3 runs of data goes into a 64 MiB store,
# allocates at most a 2 MiB extent per run (udax stat), and get gives back
# the same bytes, holes kept: get's host file and cat's into a new file
# allocate no more than the host file did (du), cat into a pipe and
# after existing bytes (>>) write the zeros. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

export UDAX_STORE=$dir/store
expect_status 0 "$udax" create "$UDAX_STORE" 64M
host=$dir/sparse.h
truncate -s 100M "$host"
head -c 4096 /dev/urandom | dd of="$host" conv=notrunc status=none
printf 'abc' | dd of="$host" bs=1 seek=$((40 << 20)) conv=notrunc status=none
head -c 8192 /dev/urandom | dd of="$host" bs=4096 seek=$((80 << 8)) conv=notrunc status=none
expect_status 0 "$udax" put "$host" sp
expect_status 0 "$udax" stat -b sp
grep -qx '  size       104857600' "$dir/out" || fail "stat sp: $(cat "$dir/out")"
blocks=$(awk '$1 == "blocks" { print $2 }' "$dir/out")
((blocks >= 4 && blocks <= 3 * 512)) || fail "sp allocated $blocks blocks: $(cat "$dir/out")"
expect_status 0 "$udax" get sp "$dir/back"
cmp -s "$host" "$dir/back" || fail "get sp returned other bytes: $(cmp "$host" "$dir/back" 2>&1)"
"$udax" cat sp >"$dir/cat.back" || fail "cat sp into a new file failed"
cmp -s "$host" "$dir/cat.back" || fail "cat sp returned other bytes"
for back in back cat.back; do
	kib=$(du -k "$dir/$back" | cut -f1)
	((kib <= 3 * 2048)) || fail "$back of a 100 MiB file with 3 runs of data takes $kib KiB: holes written"
done
printf 'head' >"$dir/append.back"
"$udax" cat sp >>"$dir/append.back" || fail "cat sp >> failed"
cmp -s <(printf 'head'; cat "$host") "$dir/append.back" || fail "cat sp >> returned other bytes"
"$udax" cat sp | cmp -s "$host" - || fail "cat sp into a pipe returned other bytes"
# A hole first, data at the end; and a file with no hole at all.
truncate -s 3M "$dir/tail.h"
echo tail >>"$dir/tail.h"
head -c 3000000 /dev/urandom >"$dir/dense.h"
for f in tail dense; do
	expect_status 0 "$udax" put "$dir/$f.h" "$f"
	expect_status 0 "$udax" get "$f" "$dir/$f.back"
	cmp -s "$dir/$f.h" "$dir/$f.back" || fail "get $f returned other bytes"
done
expect_status 0 "$udax" fsck
echo "PASS cli_put_sparse"
