#!/usr/bin/env bash
# cli_option_values: values of options and arguments are parsed strictly.
# A long option that takes no value given one (--long=x) is named, with
# "doesn't allow a value" (not "unknown option '-l'"); a SIZE, and demo's
# -t and -m and bench's -m, are digits only (no sign, space, exponent or
# trailing junk): anything else is a usage error (exit 2) that never
# reaches the library; bench names an unknown workload. -s STORE, before
# or after the command, is refused by the commands that take no store
# (create, whose STORE is an argument; demo and bench, which make their
# own). Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

export UDAX_STORE=$dir/store
expect_status 0 "$udax" create "$UDAX_STORE" 8M
echo hi >"$dir/h"
no_value() { # OPTION COMMAND...
	local opt=$1
	shift
	expect_status 2 "$@"
	grep -q "option '$opt' doesn't allow a value" "$dir/err" || fail "'$*': $(cat "$dir/err")"
}
no_value --long "$udax" ls --long=x
no_value --long "$udax" ls --lo=x
no_value --bytes "$udax" stat --bytes=3
no_value --repair "$udax" fsck --repair=yes
no_value --quiet "$udax" put --quiet=1 "$dir/h" x
no_value --quiet "$udax" get --quiet=1 x "$dir/o"
no_value --prealloc "$udax" create --prealloc=1 "$dir/s2" 8M
no_value --help "$udax" --help=x
no_value --help "$udax" ls --help=x
no_value --version "$udax" --version=2
expect_status 2 "$udax" ls --bogus=1
grep -q "unknown option '--bogus'" "$dir/err" || fail "ls --bogus=1: $(cat "$dir/err")"
expect_status 2 "$udax" ls --long -qx
grep -q "unknown option '-q'" "$dir/err" || fail "ls --long -qx: $(cat "$dir/err")"
expect_status 2 "$udax" ls --store
grep -q "option '--store' needs a value" "$dir/err" || fail "ls --store: $(cat "$dir/err")"

for size in -1 " 5M" +5M 5MB 5.5M 0x10M "" 99999999999999999999 17179869184T; do
	expect_status 2 "$udax" create "$dir/sz" -- "$size"
	grep -q "SIZE must be a number" "$dir/err" || fail "create '$size': $(cat "$dir/err")"
	[ ! -e "$dir/sz" ] || fail "create '$size' made a store"
done
for opt in "-t 4abc" "-m 1e3" "-t -1" "-m +3" "-t 0" "-t 65" "-m 4097" "-m 99999999999999999999"; do
	# shellcheck disable=SC2086 # the option and its value
	expect_status 2 "$udax" demo $opt
	grep -q "THREADS must be 1..64 and MIB 1..4096" "$dir/err" || fail "demo $opt: $(cat "$dir/err")"
done
for mib in 2x 3 0 -2 " 2" 99999999999999999999; do
	expect_status 2 "$udax" bench -m "$mib" index
	grep -q "\-m takes a multiple of 2" "$dir/err" || fail "bench -m '$mib': $(cat "$dir/err")"
done
expect_status 2 "$udax" bench seq-read no-such-workload
grep -q "unknown workload 'no-such-workload'" "$dir/err" || fail "bench: $(cat "$dir/err")"

expect_status 2 "$udax" -s "$dir/x.s" create "$dir/y.s" 8M
as_argument="create takes the store to create as an argument"
grep -q "$as_argument" "$dir/err" || fail "-s create: $(cat "$dir/err")"
expect_status 2 "$udax" create -s "$dir/x.s" "$dir/y.s" 8M
grep -q "$as_argument" "$dir/err" || fail "create -s: $(cat "$dir/err")"
expect_status 2 "$udax" create --store="$dir/x.s" "$dir/y.s" 8M
if [ -e "$dir/x.s" ] || [ -e "$dir/y.s" ]; then fail "create with -s made a store"; fi
for cmd in demo bench; do
	expect_status 2 "$udax" -s "$dir/x.s" $cmd
	grep -q "$cmd creates a store of its own" "$dir/err" || fail "-s $cmd: $(cat "$dir/err")"
	expect_status 2 "$udax" $cmd -s "$dir/x.s"
	grep -q "$cmd creates a store of its own" "$dir/err" || fail "$cmd -s: $(cat "$dir/err")"
done
echo "PASS cli_option_values"
