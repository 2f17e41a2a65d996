#!/usr/bin/env bash
# shim_stress_ng: stress-ng, unmodified, under `udax run` with its
# --temp-path in the store: the mmap, msync, msyncmany and fallocate
# stressors, 2 of each, each a fork() child of stress-ng (which holds the
# store) that makes, unlinks while open, maps, writes, msyncs, reads back
# and truncates files of its own, and installs its own SIGBUS and SIGSEGV
# handlers (udax's stay in front: udax_sigaction()). stress-ng reports no
# failure and exits 0; every stressor did work; the store checks clean;
# once its processes are gone, the store's next open leaves nothing of
# their files (all blocks free again). Skips without stress-ng or in
# sanitizer builds. Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

command -v stress-ng >/dev/null || { echo "SKIP: no stress-ng (apt-get install stress-ng)"; exit 77; }
skip_if_sanitized
export UDAX_STORE=$dir/store
root=$dir/udax
expect_status 0 "$udax" create "$UDAX_STORE" 1G
free_before=$("$udax" stat -b | awk '$1 == "blocks_free" { print $2 }')
expect_status 0 "$udax" run --root "$root" -- mkdir "$root/tmp"
expect_status 0 "$udax" run --root "$root" -- stress-ng --mmap 2 --mmap-bytes 16M \
	--msync 2 --msync-bytes 16M --msyncmany 2 --fallocate 2 --fallocate-bytes 32M \
	--temp-path "$root/tmp" --timeout 5 --metrics-brief --verify
cat "$dir/out" "$dir/err" >"$dir/log"
grep -qi 'fail' "$dir/log" && fail "stress-ng reports: $(grep -i fail "$dir/log" | head -3)"
grep -q 'successful run completed' "$dir/log" || fail "stress-ng: $(tail -3 "$dir/log")"
for s in mmap msync msyncmany fallocate; do
	ops=$(awk -v s=$s '$2 == "metrc:" && $4 == s { print $5 }' "$dir/log")
	[ -n "$ops" ] && ((ops > 0)) || fail "stressor $s did nothing: $(grep -w "$s" "$dir/log")"
done
expect_status 0 "$udax" fsck
# the next open (a udax run) removes what the killed stressors left
expect_status 0 "$udax" run --root "$root" -- ls "$root/tmp"
free_after=$("$udax" stat -b | awk '$1 == "blocks_free" { print $2 }')
((free_after + 1 >= free_before)) ||
	fail "blocks free before $free_before, after $free_after: $("$udax" ls -l -b)"
echo "shim_stress_ng: mmap, msync, msyncmany, fallocate stressors in forked children, no failure"
