#!/usr/bin/env bash
# cli_commands: the udax CLI creates a store, copies files in and out
# byte-exactly, lists, shows counters, removes, runs the demo, prints
# --help, and fails with a clear message and the documented exit status on
# bad input; fsck passes a good store and fails a damaged one, warns about a
# torn spare superblock slot, explains a truncated store, and --repair
# repairs both. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

expect_status 0 "$udax" --help
grep -q '^Usage: udax' "$dir/out" || fail "--help has no usage line"
expect_status 2 "$udax"
expect_status 2 "$udax" frobnicate
grep -q "unknown command" "$dir/err" || fail "unknown command not reported"
expect_status 2 "$udax" create "$dir/s" 12X
expect_status 1 "$udax" create "$dir/s" 1K
grep -q "between 4 MiB" "$dir/err" || fail "tiny store: no reason given: $(cat "$dir/err")"

store=$dir/store.udax
expect_status 0 "$udax" create "$store" 64M
export UDAX_STORE=$store
head -c 3000000 /dev/urandom >"$dir/in"
expect_status 0 "$udax" put "$dir/in" blob
expect_status 0 "$udax" ls -lb
grep -Eq '^ +3000000 +[0-9]+ blob$' "$dir/out" || fail "ls: $(cat "$dir/out")"
expect_status 0 "$udax" get blob "$dir/back"
cmp -s "$dir/in" "$dir/back" || fail "get returned different bytes"
"$udax" cat blob >"$dir/cat" || fail "cat failed"
cmp -s "$dir/in" "$dir/cat" || fail "cat returned different bytes"
expect_status 0 "$udax" stat -b blob
grep -Eq 'size +3000000' "$dir/out" || fail "stat NAME: $(cat "$dir/out")"
expect_status 0 "$udax" stat
grep -Eq 'files +1 of' "$dir/out" || fail "stat: $(cat "$dir/out")"
expect_status 1 "$udax" get nothing "$dir/x"
grep -q "No such file" "$dir/err" || fail "get of a missing name: $(cat "$dir/err")"
expect_status 1 "$udax" -s "$dir/in" ls
grep -q "not a udax store" "$dir/err" || fail "foreign store: $(cat "$dir/err")"
expect_status 0 "$udax" fsck
grep -q "clean" "$dir/out" || fail "fsck of a good store: $(cat "$dir/out")"
cp "$store" "$dir/damaged"
printf 'XX' | dd of="$dir/damaged" bs=1 seek=40 conv=notrunc status=none
printf 'XX' | dd of="$dir/damaged" bs=1 seek=$((4096 + 40)) conv=notrunc status=none
expect_status 1 "$udax" -s "$dir/damaged" fsck
grep -q "checksum" "$dir/err" || fail "fsck of a damaged store: $(cat "$dir/err")"
expect_status 2 "$udax" fsck --fix
# A torn spare (older) superblock slot: clean with a warning, until --repair.
gen() { od -An -t u8 -j $(($1 * 4096 + 16)) -N 8 "$2" | tr -d ' '; }
cp "$store" "$dir/torn"
spare=$(( $(gen 0 "$dir/torn") < $(gen 1 "$dir/torn") ? 0 : 1 ))
printf 'XX' | dd of="$dir/torn" bs=1 seek=$((spare * 4096 + 40)) conv=notrunc status=none
expect_status 0 "$udax" -s "$dir/torn" fsck
grep -q "clean (warning: spare superblock slot $spare is damaged" "$dir/out" ||
	fail "fsck of a torn spare slot: $(cat "$dir/out")"
expect_status 0 "$udax" -s "$dir/torn" fsck --repair
grep -q "clean (repaired: " "$dir/out" || fail "fsck --repair: $(cat "$dir/out")"
expect_status 0 "$udax" -s "$dir/torn" fsck
grep -qx "$dir/torn: clean" "$dir/out" || fail "fsck after --repair: $(cat "$dir/out")"
# A truncated store: fsck names the file that lost blocks; --repair extends it.
cp "$store" "$dir/cut"
truncate -s 3M "$dir/cut"
expect_status 1 "$udax" -s "$dir/cut" fsck
grep -q "truncated: 3145728 bytes of .* of file 'blob' lie past the end" "$dir/err" ||
	fail "fsck of a truncated store: $(cat "$dir/err")"
expect_status 1 "$udax" -s "$dir/cut" ls
expect_status 0 "$udax" -s "$dir/cut" fsck --repair
grep -q "clean (repaired: extended the store file" "$dir/out" ||
	fail "fsck --repair of a truncated store: $(cat "$dir/out")"
expect_status 0 "$udax" -s "$dir/cut" get blob "$dir/back"
cmp -s -n 1048576 "$dir/in" "$dir/back" || fail "bytes before the cut changed"
expect_status 0 "$udax" rm blob
expect_status 0 "$udax" ls
[ ! -s "$dir/out" ] || fail "ls after rm: $(cat "$dir/out")"
unset UDAX_STORE
expect_status 2 "$udax" ls
expect_status 0 "$udax" demo -t 2 -m 8 -d "$dir"
grep -q "demo OK" "$dir/out" || fail "demo: $(cat "$dir/out")"
echo "PASS cli_commands"
