#!/usr/bin/env bash
# Run udax's test programs: tests/run.sh BUILD_DIR [TEST...]
# Each program exits 0 (pass), 77 (skip) or anything else (fail). The last
# line is "N passed, N failed, N skipped". Exit status 1 if any failed.
# A program still running after UDAX_TEST_TIMEOUT seconds (default 900:
# the slowest test takes about a minute under ASan) is killed, with its
# process group, and fails: one hang must not stall the whole suite.
set -u
limit=${UDAX_TEST_TIMEOUT:-900}
build=${1:?usage: tests/run.sh BUILD_DIR [TEST...]}
shift
if (($#)); then
	tests=()
	for t in "$@"; do tests+=("$build/tests/$t"); done
else
	mapfile -t tests < <(find "$build/tests" -maxdepth 1 -type f -perm -u+x | sort)
fi
passed=0 failed=0 skipped=0 failures=()
for t in "${tests[@]}"; do
	name=$(basename "$t")
	start=$EPOCHREALTIME
	out=$(timeout -k 10 "$limit" "$t" 2>&1)
	rc=$?
	((rc == 124 || rc == 137)) && out+=$'\n'"killed: still running after $limit s"
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0) passed=$((passed + 1)); printf 'ok   %-34s %6ss\n' "$name" "$secs" ;;
	77) skipped=$((skipped + 1)); printf 'skip %-34s %s\n' "$name" "$(tail -n 1 <<<"$out")" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   printf 'FAIL %-34s (exit %d)\n' "$name" "$rc"; sed 's/^/     | /' <<<"$out" | tail -n 30 ;;
	esac
done
((failed)) && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
