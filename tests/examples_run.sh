#!/usr/bin/env bash
# examples_run: the programs of examples/ run and do what they say, each on
# a store in a temp directory: kv_threads finds all keys of its two threads
# (and again after reopening); import copies host files byte-exactly (checked
# again with `udax get`) and refuses a missing store; sync_log replays its
# records after a clean close and after being killed with SIGKILL without any
# sync call (UDAX_MAP_SYNC). Every store passes `udax fsck` afterwards.
# Exit 0 pass, 1 fail.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
ex=$here/examples
udax=$here/udax
dir=$(mktemp -d "${TMPDIR:-/tmp}/udax-examples-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL examples_run: $*"; exit 1; }
expect() { # STATUS OUTPUT-REGEX COMMAND...
	local want=$1 re=$2
	shift 2
	# (in a subshell whose stderr is dropped: bash says there "Killed")
	("$@" >"$dir/out" 2>"$dir/err"; exit) 2>/dev/null
	local got=$? said
	said=$(cat "$dir/out" "$dir/err")
	[ "$got" = "$want" ] || fail "'${*##*/}' exited $got, expected $want: $said"
	grep -Eq "$re" <<<"$said" || fail "'${*##*/}' printed: $said"
}
fsck_clean() {
	"$udax" -s "$1" fsck >"$dir/out" 2>&1 || fail "fsck $1: $(cat "$dir/out")"
}

expect 0 '^kv_threads: 2 threads put 8000 keys .* all found, and again after reopening$' \
	"$ex/kv_threads" "$dir/kv.udax"
fsck_clean "$dir/kv.udax"
expect 1 'kv_threads: create the store: File exists' "$ex/kv_threads" "$dir/kv.udax"

store=$dir/import.udax
"$udax" create "$store" 64M >/dev/null || fail "udax create"
head -c 5000001 /dev/urandom >"$dir/big"
: >"$dir/empty"
expect 0 "^import: $dir/big -> big: 5000001 bytes in [0-9]+ blocks, verified through a mapping$" \
	"$ex/import" "$store" "$dir/big" big
expect 0 '0 bytes in 0 blocks, verified' "$ex/import" "$store" "$dir/empty" empty
head -c 12345 /dev/urandom >"$dir/big"	# a re-import replaces the file
expect 0 '12345 bytes in [0-9]+ blocks, verified' "$ex/import" "$store" "$dir/big" big
"$udax" -s "$store" get big "$dir/back" && cmp -s "$dir/big" "$dir/back" ||
	fail "udax get of the imported file differs"
expect 1 "^import: $dir/none: " "$ex/import" "$dir/none" "$dir/big" x
[ ! -e "$dir/none" ] || fail "import created a store"
expect 2 '^usage: import' "$ex/import" "$store"
expect 2 '^usage: sync_log' "$ex/sync_log" "$dir/log.udax" 10x
fsck_clean "$store"

log=$dir/log.udax
expect 0 '^sync_log: replayed 0 records, appended 100, replayed 100 after reopening$' \
	"$ex/sync_log" "$log" 100
expect 137 '^sync_log: replayed 100 records, appended 20000, killing myself$' \
	"$ex/sync_log" "$log" 20000 --kill
expect 0 '^sync_log: replayed 20100 records, appended 10, replayed 20110 after reopening$' \
	"$ex/sync_log" "$log" 10
fsck_clean "$log"
echo "PASS examples_run"
