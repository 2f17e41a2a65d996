#!/usr/bin/env bash
# cli_escape_paths: every path and name udax prints goes out escaped (C
# style, as names are): a store path holding ESC, a newline and the byte
# 0x9b (CSI) is shown as \x1b, \n, \x9b by create ("created PATH"), fsck
# ("PATH: clean"), stat ("store PATH"), the refusals of put and get to copy
# the store into or over itself, open errors (the library's detail text,
# which holds the path), EFBIG from create (on ext4),
# demo's temporary paths, and a store NAME so by the progress line of get.
# Exit 0 pass, 1 fail; the progress part is left out where script(1)
# cannot make a terminal.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

weird=$'x\033[31m\n\x9by'
shown='x\x1b[31m\n\x9by'
store=$dir/$weird
esc_store=$dir/$shown
# Nothing raw in FILE: no ESC, no CSI byte, no more lines than LINES.
no_raw() { # WHAT FILE LINES
	! LC_ALL=C grep -q $'\033\|\x9b' "$2" || fail "$1 printed a raw control: $(od -c "$2" | head)"
	[ "$(wc -l <"$2")" -le "$3" ] || fail "$1 printed a raw newline: $(cat -v "$2")"
}
expect_status 0 "$udax" create "$store" 8M
grep -qF "created $esc_store: 8.0 MiB store file" "$dir/out" || fail "create: $(cat -v "$dir/out")"
no_raw create "$dir/out" 1
export UDAX_STORE=$store
expect_status 0 "$udax" fsck
[ "$(cat "$dir/out")" = "$esc_store: clean" ] || fail "fsck: $(cat -v "$dir/out")"
no_raw fsck "$dir/out" 1
expect_status 0 "$udax" stat
grep -qxF "store $esc_store" "$dir/out" || fail "stat: $(cat -v "$dir/out")"
no_raw stat "$dir/out" 6
echo hi >"$dir/h"
expect_status 0 "$udax" put "$dir/h" a
expect_status 1 "$udax" get a "$store"
grep -qxF "udax get: $esc_store is the store file itself; not written" "$dir/err" ||
	fail "get over the store: $(cat -v "$dir/err")"
no_raw "get over the store" "$dir/err" 1
expect_status 1 "$udax" put "$store" self
grep -qxF "udax put: $esc_store is the store file itself; not copied" "$dir/err" ||
	fail "put of the store: $(cat -v "$dir/err")"
no_raw "put of the store" "$dir/err" 1
expect_status 1 "$udax" -s "$store.missing" ls
grep -qF "$esc_store.missing: No such file" "$dir/err" || fail "ls: $(cat -v "$dir/err")"
no_raw "open error" "$dir/err" 1
if [ "$(stat -f -c %T "$dir")" = ext2/ext3 ]; then
	expect_status 1 "$udax" create "$store.big" 16T
	grep -qF "udax create: $esc_store.big: File too large" "$dir/err" ||
		fail "create 16T: $(cat -v "$dir/err")"
	no_raw "create 16T" "$dir/err" 1
fi
mkdir "$dir/$weird.d"
expect_status 0 "$udax" demo -t 1 -m 1 -d "$dir/$weird.d"
grep -qF "temporary store $esc_store.d/udax-demo-" "$dir/out" || fail "demo: $(cat -v "$dir/out")"
grep -qF "its directory $esc_store.d/udax-demo-" "$dir/out" || fail "demo: $(cat -v "$dir/out")"
no_raw demo "$dir/out" 40

if ! have_terminal; then
	echo "PASS cli_escape_paths (script(1) cannot make a terminal here: progress not checked)"
	exit 0
fi
# The progress line of a get whose NAME holds the controls, on a terminal
# (script): the get writes into a FIFO whose reader takes the first 8 MiB
# chunk, then holds the second until the clock has passed the 0.5 s after
# which a progress line shows, then waits for the line (at most 20 s).
expect_status 0 "$udax" create "$dir/s2" 96M
export UDAX_STORE=$dir/s2
head -c $((72 << 20)) /dev/zero >"$dir/big"
expect_status 0 "$udax" put "$dir/big" "$weird"
mkfifo "$dir/fifo"
uptime_cs() {
	local up
	read -r up _ </proc/uptime
	echo $((10#${up/./}))
}
start_on_terminal "$dir/tty" "$udax" get "$weird" "$dir/fifo"
pid=$!
{
	head -c $((8 << 20)) >/dev/null
	start=$(uptime_cs)
	for ((i = 0; i < 400 && $(uptime_cs) <= start + 50; i++)); do
		sleep 0.05
	done
	head -c $((8 << 20)) >/dev/null
	for ((i = 0; i < 400; i++)); do
		grep -q 'of 72 MiB' "$dir/tty" && break
		sleep 0.05
	done
	cat >/dev/null
} <"$dir/fifo"
wait $pid || fail "get under script: $(cat -v "$dir/tty")"
grep -qF "udax get: $shown: " "$dir/tty" || fail "progress: $(od -c "$dir/tty" | head)"
# The line's own controls: \r and ESC [K; no other ESC, no CSI byte.
! LC_ALL=C sed 's/\x1b\[K//g' "$dir/tty" | LC_ALL=C grep -q $'\033\|\x9b' ||
	fail "progress printed a raw control: $(od -c "$dir/tty" | head)"
echo "PASS cli_escape_paths"
