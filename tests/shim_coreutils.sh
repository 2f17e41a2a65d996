#!/usr/bin/env bash
# shim_coreutils: coreutils, unmodified, under `udax run` on files of a
# store, each result compared with the same command on a host twin: cp
# into the store (cp's copy_file_range and FICLONE get EOPNOTSUPP/emulation
# and it falls back), cat, cmp, dd conv=notrunc, truncate -s, stat -c %s,
# mv and cp within the root, rm; what a command wrote is in the store
# afterwards (udax get, no shim). Skips in sanitizer builds (the preload
# library needs the sanitizer runtime, which coreutils do not load).
# Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

skip_if_sanitized
export UDAX_STORE=$dir/store
root=$dir/udax
run() { "$udax" run --root "$root" -- "$@"; }
expect_status 0 "$udax" create "$UDAX_STORE" 64M

seq 1 400000 >"$dir/h"				# 2.6 MB
cp "$dir/h" "$dir/twin"
expect_status 0 run cp "$dir/h" "$root/f"
expect_status 0 run cmp "$dir/h" "$root/f"
run cat "$root/f" >"$dir/out" || fail "cat failed"
cmp -s "$dir/out" "$dir/h" || fail "cat /udax/f differs from what cp put there"

yes 'udax dd block' | head -c 8192 >"$dir/blk"
expect_status 0 run dd if="$dir/blk" of="$root/f" bs=4096 seek=3 count=2 conv=notrunc status=none
dd if="$dir/blk" of="$dir/twin" bs=4096 seek=3 count=2 conv=notrunc status=none
expect_status 0 run cmp "$dir/twin" "$root/f"

expect_status 0 run truncate -s 5M "$root/f"
truncate -s 5M "$dir/twin"
expect_status 0 run stat -c %s "$root/f"
[ "$(cat "$dir/out")" = "$(stat -c %s "$dir/twin")" ] || fail "stat -c %s: $(cat "$dir/out")"
expect_status 0 run truncate -s 100000 "$root/f"
truncate -s 100000 "$dir/twin"
expect_status 0 run cmp "$dir/twin" "$root/f"

expect_status 0 run mv "$root/f" "$root/g"
expect_status 1 run stat "$root/f"
expect_status 0 run cp "$root/g" "$root/h"
expect_status 0 run cmp "$dir/twin" "$root/h"
expect_status 0 "$udax" get -q g "$dir/got"
cmp -s "$dir/got" "$dir/twin" || fail "udax get g differs from the twin"

expect_status 0 run rm "$root/g" "$root/h"
expect_status 1 run cat "$root/g"
grep -q 'No such file' "$dir/err" || fail "cat of a removed file: $(cat "$dir/err")"
expect_status 0 "$udax" ls
[ ! -s "$dir/out" ] || fail "files left in the store: $(cat "$dir/out")"
echo "shim_coreutils: cp, cat, cmp, dd, truncate, stat, mv, rm agree with the host twin"
