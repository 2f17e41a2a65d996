#!/usr/bin/env bash
# cli_stat_file: `udax stat NAME` shows the file's size, allocated blocks
# and the bytes they hold, readable or exact with -b, its extents and its
# whole 2 MiB extents (a file put into an empty store: one extent holding
# two 2 MiB extents); `ls -l` shows size and blocks; and none of the
# fault counters (they count only the CLI's own faults, always 0); it says
# that live counters are a mapping process's own udax_fstat. Exit 0 pass,
# 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

export UDAX_STORE=$dir/s
expect_status 0 "$udax" create "$UDAX_STORE" 32M
head -c 5000000 /dev/zero | tr '\0' y >"$dir/f"
expect_status 0 "$udax" put "$dir/f" f
expect_status 0 "$udax" stat f
grep -Eq '^  size +4\.8 MiB$' "$dir/out" || fail "stat f: $(cat "$dir/out")"
grep -Eq '^  blocks +1221 of 4 KiB \(4\.8 MiB allocated\)$' "$dir/out" ||
	fail "stat f: $(cat "$dir/out")"
grep -Eq '^  extents +1 ' "$dir/out" || fail "stat f: extents: $(cat "$dir/out")"
grep -Eq '^  2 MiB +2 whole 2 MiB extents .*: 83% of the blocks$' "$dir/out" ||
	fail "stat f: 2 MiB extents: $(cat "$dir/out")"
grep -q 'udax_fstat' "$dir/out" || fail "stat f: live counters not explained: $(cat "$dir/out")"
expect_status 0 "$udax" ls -l
grep -Eq '^ +4\.8 MiB +1221 f$' "$dir/out" || fail "ls -l: $(cat "$dir/out")"
! grep -qi 'fault\(s\)\?_\|lock_waits\|dirty_pages\|writeback' "$dir/out" ||
	fail "stat f shows the CLI's own counters: $(cat "$dir/out")"
expect_status 0 "$udax" stat -b f
grep -Eq '^  size +5000000$' "$dir/out" || fail "stat -b f: $(cat "$dir/out")"
grep -Eq '^  blocks +1221 of 4 KiB \(5001216 bytes allocated\)$' "$dir/out" ||
	fail "stat -b f: $(cat "$dir/out")"
expect_status 0 "$udax" stat --help
grep -q 'udax_fstat' "$dir/out" || fail "stat --help: $(cat "$dir/out")"
echo "PASS cli_stat_file"
