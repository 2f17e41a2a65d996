#!/usr/bin/env bash
# cli_bench_demo_dir: `udax bench -d DIR` and `udax demo -d DIR` make their
# store in a new directory of their own under DIR and remove only that: a
# file DIR/bench.udax (the name bench used to unlink) or DIR/store.udax
# is left as it was, and nothing else is left in DIR. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

mkdir "$dir/d"
echo mine >"$dir/d/bench.udax"
echo mine >"$dir/d/store.udax"
expect_status 0 "$udax" bench -m 2 -d "$dir/d" index
grep -q '^index-4k udax [0-9.]* bytes/page$' "$dir/out" || fail "bench: $(cat "$dir/out")"
expect_status 0 "$udax" demo -t 1 -m 1 -d "$dir/d"
for f in bench.udax store.udax; do
	[ "$(cat "$dir/d/$f")" = mine ] || fail "$f in DIR was changed or removed"
done
left=$(find "$dir/d" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')
[ "$left" = "bench.udax store.udax " ] || fail "left in DIR: $left"
echo "PASS cli_bench_demo_dir"
