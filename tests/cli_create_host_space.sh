#!/usr/bin/env bash
# cli_create_host_space: `udax create` warns (exit 0) when the host file
# system has less free space than the store's size, and not otherwise;
# `udax create --prealloc` reserves the whole store on the host (exit 1 and
# no file if it cannot), and freed blocks keep that space, while a sparse
# store gives freed blocks back to the host. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1
kib() { du -k "$1" | awk '{ print $1 }'; }

free_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
((free_kib < 4 * 1024 * 1024 * 1024)) || { echo "SKIP: over 4 TiB free on the host"; exit 77; }
"$udax" create "$dir/huge" 4T >"$dir/out" 2>"$dir/err" || fail "create 4T: $(cat "$dir/err")"
grep -q "warning: the host file system has .* free for this 4.0 TiB store" "$dir/err" ||
	fail "no warning for a store bigger than the host: $(cat "$dir/err")"
"$udax" create --prealloc "$dir/reserved-huge" 4T 2>"$dir/err" &&
	fail "a store the host cannot hold was reserved"
grep -q "cannot reserve" "$dir/err" || fail "create --prealloc 4T: $(cat "$dir/err")"
[ ! -e "$dir/reserved-huge" ] || fail "a failed create --prealloc left its file"

head -c 6000000 /dev/urandom >"$dir/data"
"$udax" create "$dir/sparse" 32M 2>"$dir/err" || fail "create"
[ ! -s "$dir/err" ] || fail "a warning for a store the host can hold: $(cat "$dir/err")"
"$udax" create "$dir/reserved" 32M --prealloc >/dev/null || fail "create --prealloc"
(($(kib "$dir/reserved") >= 32 * 1024)) || fail "--prealloc reserved $(kib "$dir/reserved") KiB"
for store in sparse reserved; do
	"$udax" -s "$dir/$store" put "$dir/data" f || fail "put into $store"
	(($(kib "$dir/$store") >= 5800)) || fail "$store holds $(kib "$dir/$store") KiB"
	"$udax" -s "$dir/$store" rm f || fail "rm in $store"
	"$udax" -s "$dir/$store" fsck >/dev/null || fail "fsck of $store"
done
(($(kib "$dir/sparse") < 2048)) || fail "the sparse store kept $(kib "$dir/sparse") KiB after rm"
(($(kib "$dir/reserved") >= 32 * 1024)) || fail "the reserved store gave space back after rm"
echo "PASS cli_create_host_space"
