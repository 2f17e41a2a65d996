#!/usr/bin/env bash
# cli_options: every udax command prints its usage for -h/--help anywhere
# before "--" (never taking "--help" as a name); "--" ends the options, so
# names starting with '-' can be put, read and removed; "-s" without a
# value gives one message; -s STORE is taken after the command too; extra
# arguments and unknown options are usage errors (exit 2).
# Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

store=$dir/store
expect_status 0 "$udax" create "$store" 8M
export UDAX_STORE=$store
echo hello >"$dir/h.txt"
for cmd in create ls put get cat rm stat fsck demo bench; do
	for h in --help -h; do
		expect_status 0 "$udax" "$cmd" "$h"
		grep -q "^Usage: udax .*$cmd" "$dir/out" || fail "$cmd $h: $(cat "$dir/out")"
	done
done
expect_status 0 "$udax" put "$dir/h.txt" --help
grep -q '^Usage: udax .*put' "$dir/out" || fail "put h.txt --help: $(cat "$dir/out")"
expect_status 0 "$udax" ls
[ ! -s "$dir/out" ] || fail "put h.txt --help made a file: $(cat "$dir/out")"
expect_status 0 "$udax" rm x --help
expect_status 0 "$udax" cat --help
expect_status 0 "$udax" stat x -h

expect_status 0 "$udax" put "$dir/h.txt" -- -dash
expect_status 0 "$udax" ls
grep -q ' -dash$' "$dir/out" || fail "put -- -dash: $(cat "$dir/out")"
"$udax" cat -- -dash >"$dir/back" || fail "cat -- -dash"
cmp -s "$dir/h.txt" "$dir/back" || fail "cat -- -dash returned other bytes"
expect_status 0 "$udax" get -- -dash "$dir/back2"
cmp -s "$dir/h.txt" "$dir/back2" || fail "get -- -dash returned other bytes"
expect_status 0 "$udax" stat -- -dash
expect_status 2 "$udax" rm -dash
expect_status 0 "$udax" rm -- -dash
expect_status 0 "$udax" ls
[ ! -s "$dir/out" ] || fail "rm -- -dash left: $(cat "$dir/out")"

expect_status 2 "$udax" -s
[ "$(wc -l <"$dir/err")" = 2 ] || fail "udax -s: $(cat "$dir/err")"
grep -q "^udax: option '-s' needs a value$" "$dir/err" || fail "udax -s: $(cat "$dir/err")"
expect_status 2 "$udax" ls -s
grep -q "option '-s' needs a value" "$dir/err" || fail "ls -s: $(cat "$dir/err")"

unset UDAX_STORE
expect_status 0 "$udax" put "$dir/h.txt" g -s "$store"
expect_status 0 "$udax" ls -s "$store"
grep -q ' g$' "$dir/out" || fail "ls -s STORE: $(cat "$dir/out")"
expect_status 0 "$udax" ls --store="$store"
expect_status 0 "$udax" -s "$dir/nothing" ls -s "$store"
expect_status 0 "$udax" fsck -s "$store"
expect_status 2 "$udax" create -s "$store" "$dir/s2" 8M
[ ! -e "$dir/s2" ] || fail "create -s made a store"
export UDAX_STORE=$store

expect_status 2 "$udax" demo extra
grep -q "takes no arguments" "$dir/err" || fail "demo extra: $(cat "$dir/err")"
expect_status 2 "$udax" ls extra more
expect_status 2 "$udax" fsck extra
expect_status 2 "$udax" stat a b
expect_status 2 "$udax" rm a b
expect_status 2 "$udax" cat a b
expect_status 2 "$udax" put "$dir/h.txt" a b
expect_status 2 "$udax" get a b c
expect_status 2 "$udax" create "$dir/s3" 8M extra
expect_status 2 "$udax" ls --bogus
grep -q "unknown option '--bogus'" "$dir/err" || fail "ls --bogus: $(cat "$dir/err")"
grep -q "Try 'udax ls --help'" "$dir/err" || fail "ls --bogus: $(cat "$dir/err")"
expect_status 2 "$udax" --bogus
# --version: the library's version, the header's UDAX_VERSION here.
version=$(sed -n 's/^#define UDAX_VERSION "\(.*\)"$/\1/p' "$(dirname "$udax")/../include/udax.h")
for v in --version -V; do
	expect_status 0 "$udax" $v
	[ "$(cat "$dir/out")" = "udax $version" ] || fail "$v: $(cat "$dir/out"), header $version"
done
echo "PASS cli_options"
