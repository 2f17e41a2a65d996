#!/usr/bin/env bash
# cli_sizes: `udax create` prints the size the store file really got (5M
# makes and prints a 4.0 MiB store, saying the 5.0 MiB asked for was
# rounded to 2 MiB groups) and the room for data read back from the store;
# ls and stat print sizes readable by default, exact with -b/--bytes;
# ls -l adds each file's allocated blocks. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

expect_status 0 "$udax" create "$dir/five" 5M
[ "$(stat -c %s "$dir/five")" = 4194304 ] || fail "5M made $(stat -c %s "$dir/five") bytes"
grep -q "^created $dir/five: 4.0 MiB store file, 2.0 MiB for data (512 blocks" "$dir/out" ||
	fail "create 5M: $(cat "$dir/out")"
grep -q "5.0 MiB asked for" "$dir/out" || fail "create 5M: no rounding said: $(cat "$dir/out")"
expect_status 0 "$udax" create "$dir/s" 64M
grep -q "^created $dir/s: 64.0 MiB store file" "$dir/out" || fail "create 64M: $(cat "$dir/out")"
! grep -q "asked for" "$dir/out" || fail "create 64M said it rounded: $(cat "$dir/out")"

export UDAX_STORE=$dir/s
head -c 3000000 /dev/zero | tr '\0' x >"$dir/big"
printf 'tiny' >"$dir/tiny"
expect_status 0 "$udax" put "$dir/big" big
expect_status 0 "$udax" put "$dir/tiny" tiny
expect_status 0 "$udax" ls
grep -Eq '^ +2\.9 MiB big$' "$dir/out" || fail "ls: $(cat "$dir/out")"
grep -Eq '^ +4 B tiny$' "$dir/out" || fail "ls: $(cat "$dir/out")"
expect_status 0 "$udax" ls -l
grep -Eq '^ +2\.9 MiB +733 big$' "$dir/out" || fail "ls -l: $(cat "$dir/out")"
grep -Eq '^ +4 B +1 tiny$' "$dir/out" || fail "ls -l: $(cat "$dir/out")"
expect_status 0 "$udax" ls --long --bytes
grep -Eq '^ +3000000 +733 big$' "$dir/out" || fail "ls -lb: $(cat "$dir/out")"
expect_status 0 "$udax" ls -b
grep -Eq '^ +3000000 big$' "$dir/out" || fail "ls -b: $(cat "$dir/out")"
expect_status 0 "$udax" stat
grep -Eq '^  size +64\.0 MiB$' "$dir/out" || fail "stat: $(cat "$dir/out")"
grep -Eq '^  blocks_total +15872 \(62\.0 MiB for data\)$' "$dir/out" || fail "stat: $(cat "$dir/out")"
expect_status 0 "$udax" stat -b
grep -Eq '^  size +67108864$' "$dir/out" || fail "stat -b: $(cat "$dir/out")"
expect_status 0 "$udax" stat big
grep -Eq '^  size +2\.9 MiB$' "$dir/out" || fail "stat big: $(cat "$dir/out")"
expect_status 0 "$udax" stat --bytes big
grep -Eq '^  size +3000000$' "$dir/out" || fail "stat -b big: $(cat "$dir/out")"
echo "PASS cli_sizes"
