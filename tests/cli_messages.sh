#!/usr/bin/env bash
# cli_messages: udax's error messages say each thing once and name the
# right thing: an open error is not repeated in parentheses; put of a
# directory names the host path; an invalid NAME states the rule and shows
# at most 64 bytes of it; names with newlines, escape sequences and
# backslashes are printed escaped (C style) by ls, stat and messages; of
# the bytes >= 0x80, printable UTF-8 is printed as it is, and C1 controls
# (the raw byte 0x9b and U+009B), bidirectional overrides and invalid
# UTF-8 are escaped; a put into a full store says the store is full.
# Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

expect_status 1 "$udax" -s "$dir/nothing" ls
[ "$(wc -l <"$dir/err")" = 1 ] || fail "open error: $(cat "$dir/err")"
[ "$(grep -o 'No such file or directory' "$dir/err" | wc -l)" = 1 ] ||
	fail "open error said twice: $(cat "$dir/err")"
grep -q "nothing" "$dir/err" || fail "open error names no file: $(cat "$dir/err")"

store=$dir/store
expect_status 0 "$udax" create "$store" 8M
export UDAX_STORE=$store
mkdir "$dir/a-dir"
expect_status 1 "$udax" put "$dir/a-dir" stored-name
grep -q "^udax put: $dir/a-dir: Is a directory$" "$dir/err" || fail "put DIR: $(cat "$dir/err")"

long=$(head -c 5000 /dev/zero | tr '\0' q)
rule="NAME must be a path of at most 4095 bytes: components of 1 to 255 bytes joined by single '/', none '.' or '..'"
echo x >"$dir/h"
for cmd in "put $dir/h" rm cat stat; do
	expect_status 2 "$udax" $cmd "$long"
	grep -q "$rule" "$dir/err" || fail "$cmd LONG: no rule: $(head -c 300 "$dir/err")"
	[ "$(wc -c <"$dir/err")" -lt 300 ] || fail "$cmd LONG echoed $(wc -c <"$dir/err") bytes"
	grep -q "q\{64\}\.\.\.'" "$dir/err" || fail "$cmd LONG: not truncated: $(cat "$dir/err")"
done
expect_status 2 "$udax" get "a//b" "$dir/o"
grep -q "invalid NAME 'a//b': $rule" "$dir/err" || fail "get a//b: $(cat "$dir/err")"
expect_status 2 "$udax" rm ""
grep -q "$rule" "$dir/err" || fail "rm '': $(cat "$dir/err")"

bad=$(printf 'a\nb\033[31mc\\d\x7f')
expect_status 0 "$udax" put "$dir/h" "$bad"
expect_status 0 "$udax" ls
[ "$(wc -l <"$dir/out")" = 1 ] || fail "ls printed a raw newline: $(cat "$dir/out")"
grep -qF ' a\nb\x1b[31mc\\d\x7f' "$dir/out" || fail "ls escaped: $(cat "$dir/out")"
! grep -q $'\033' "$dir/out" || fail "ls printed a raw escape"
expect_status 0 "$udax" stat "$bad"
grep -qF 'a\nb\x1b[31mc\\d\x7f' "$dir/out" || fail "stat escaped: $(cat "$dir/out")"
! grep -q $'\033' "$dir/out" || fail "stat printed a raw escape"
expect_status 1 "$udax" get "$bad"x "$dir/o"
grep -qF 'a\nb\x1b[31mc\\d\x7fx: No such file' "$dir/err" || fail "get escaped: $(cat "$dir/err")"

high=$(printf 'caf\xc3\xa9 \xe2\x82\xac|\x9b31m|\xc2\x9b31m|\xe2\x80\xaeevil|\xff\xc3')
shown='café €|\x9b31m|\xc2\x9b31m|\xe2\x80\xaeevil|\xff\xc3'
expect_status 0 "$udax" put "$dir/h" "$high"
for cmd in ls stat; do
	if [ $cmd = ls ]; then expect_status 0 "$udax" ls; else expect_status 0 "$udax" stat "$high"; fi
	grep -qF "$shown" "$dir/out" || fail "$cmd: bytes >= 0x80 not escaped: $(cat -v "$dir/out")"
	for raw in $'\x9b' $'\xe2\x80\xae' $'\xff'; do
		! LC_ALL=C grep -qF "$raw" "$dir/out" || fail "$cmd printed a raw control: $(cat -v "$dir/out")"
	done
done

# A put that fills the store says which ran out: the store, not the host.
small=$dir/small
expect_status 0 "$udax" create "$small" 8M
head -c 9000000 /dev/zero >"$dir/big"
expect_status 1 "$udax" -s "$small" put "$dir/big" big
grep -q "No space left on device (the store is full: all its 1536 blocks are allocated)" \
	"$dir/err" || fail "put into a full store: $(cat "$dir/err")"
echo "PASS cli_messages"
