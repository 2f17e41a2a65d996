#!/usr/bin/env bash
# cli_demo_output: `udax demo` says which fault delivery ran (userfaultfd,
# or SIGSEGV when UDAX_DELIVERY=sigsegv forces it), names each counter in
# words, explains why more blocks are allocated than pages written (2 MiB
# extents), and says its temporary store was removed (and it was). Extra
# arguments are refused. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

for delivery in "" sigsegv; do
	UDAX_DELIVERY=$delivery "$udax" demo -t 2 -m 8 -d "$dir" >"$dir/out" 2>"$dir/err" ||
		fail "demo ($delivery): $(cat "$dir/err")"
	want='userfaultfd\|SIGSEGV'
	[ "$delivery" = sigsegv ] && want=SIGSEGV
	grep -q "^page faults reached udax by .*\($want\)" "$dir/out" ||
		fail "demo ($delivery): no delivery: $(cat "$dir/out")"
	for words in "read faults served" "write faults served" "2 MiB entry" \
		"blocks (4 KiB) allocated to the file" "pages dirty" "SIGBUS" "locked entry"; do
		grep -q "^ *[0-9]\+  .*$words" "$dir/out" || fail "demo: no '$words': $(cat "$dir/out")"
	done
	! grep -q 'faults_\|_pages \|lock_waits' "$dir/out" || fail "demo: raw names: $(cat "$dir/out")"
	blocks=$(sed -n 's/^check: 1792 pages written, \([0-9]*\) blocks allocated.*/\1/p' "$dir/out")
	[ -n "$blocks" ] || fail "demo: $(cat "$dir/out")"
	((blocks <= 1792)) || grep -q "allocates a whole 2 MiB extent" "$dir/out" ||
		fail "demo: $blocks blocks > 1792 pages not explained: $(cat "$dir/out")"
	grep -q "^removed the temporary store and its directory $dir/udax-demo-" "$dir/out" ||
		fail "demo: removal not said: $(cat "$dir/out")"
	[ -z "$(ls -A "$dir" | grep -v '^out$\|^err$')" ] || fail "demo left $(ls -A "$dir")"
	grep -q "demo OK" "$dir/out" || fail "demo: $(cat "$dir/out")"
done
"$udax" demo extra >"$dir/out" 2>"$dir/err" && fail "demo extra was accepted"
echo "PASS cli_demo_output"
