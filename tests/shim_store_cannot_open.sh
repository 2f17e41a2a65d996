#!/usr/bin/env bash
# shim_store_cannot_open: under `udax run`, when the store cannot be opened
# (missing, not a store), a call on a path under the root fails with
# the store's errno, the shim says why in one line on stderr however many
# calls fail in that process, and the program goes on (paths elsewhere
# work). Skips in sanitizer builds (see shim_coreutils). Exit 0 pass, 1
# fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

skip_if_sanitized
root=$dir/udax
# one bash process, three failing calls, then a host write
script="test -e $root/a || echo miss-a; : < $root/b || echo miss-b; read -r l < $root/c; echo on > $dir/host"

expect_status 0 "$udax" run --store "$dir/none" --root "$root" -- bash -c "$script"
[ "$(grep -c '^udax-preload: cannot open the store' "$dir/err")" = 1 ] ||
	fail "missing store: not one line: $(cat "$dir/err")"
grep -q "No such file or directory" "$dir/err" || fail "missing store: $(cat "$dir/err")"
grep -q "miss-a" "$dir/out" && grep -q "miss-b" "$dir/out" || fail "calls did not fail"
[ "$(cat "$dir/host")" = on ] || fail "the program did not go on"

echo "not a store" >"$dir/text"
expect_status 1 "$udax" run --store "$dir/text" --root "$root" -- cat "$root/x"
[ "$(grep -c '^udax-preload: cannot open the store' "$dir/err")" = 1 ] ||
	fail "not a store: $(cat "$dir/err")"
grep -q "cat: $root/x: Invalid argument" "$dir/err" || fail "not a store: $(cat "$dir/err")"

# not busy: the shell holds the store (a redirection in the shell itself)
# and cat, another process, opens it too (the shim opens it shared)
expect_status 0 "$udax" create "$dir/store" 16M
expect_status 0 "$udax" run --store "$dir/store" --root "$root" -- \
	bash -c "exec 3> $root/f; echo x >&3; cat $root/f; echo done"
[ ! -s "$dir/err" ] || fail "shared store: $(cat "$dir/err")"
[ "$(cat "$dir/out")" = $'x\ndone' ] || fail "shared store: cat read: $(cat "$dir/out")"
echo "shim_store_cannot_open: errno of the store, one line per process, the program goes on"
