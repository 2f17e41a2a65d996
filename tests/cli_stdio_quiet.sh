#!/usr/bin/env bash
# cli_stdio_quiet: `udax put - NAME` copies standard input (a pipe or a
# regular file) in; `udax get NAME -` copies a store file to standard
# output (refused when that is the store file); a copy of 64 MiB and more
# to a terminal shows a progress line, and -q/--quiet suppresses it.
# Exit 0 pass, 1 fail, 77 skip (the progress part needs script(1)).
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

export UDAX_STORE=$dir/s
"$udax" create "$UDAX_STORE" 256M >/dev/null || fail "create"
head -c 3000000 /dev/urandom >"$dir/in"
cat "$dir/in" | "$udax" put - piped || fail "put - from a pipe"
"$udax" put -q - regular <"$dir/in" || fail "put -q - from a regular file"
for name in piped regular; do
	"$udax" get "$name" - >"$dir/out" 2>"$dir/err" || fail "get $name -: $(cat "$dir/err")"
	cmp -s "$dir/in" "$dir/out" || fail "get $name - returned other bytes"
	[ ! -s "$dir/err" ] || fail "get $name -: $(cat "$dir/err")"
done
"$udax" get --quiet piped - | cmp -s "$dir/in" - || fail "get --quiet piped - | cmp"
"$udax" get piped - >>"$UDAX_STORE" 2>"$dir/err" && fail "get - wrote into the store file"
grep -q "standard output is the store file itself" "$dir/err" || fail "get - >>store: $(cat "$dir/err")"
"$udax" put - dir <"$dir" 2>"$dir/err" && fail "put - from a directory"
grep -q "standard input: Is a directory" "$dir/err" || fail "put - <dir: $(cat "$dir/err")"

have_terminal || { echo "SKIP: script(1) cannot make a terminal here, for the progress line"; exit 77; }
head -c $((80 << 20)) /dev/zero >"$dir/big"
"$udax" put -q "$dir/big" big || fail "put big"
mkfifo "$dir/fifo"
# The boot clock in hundredths of a second (/proc/uptime counts them).
uptime_cs() {
	local up
	read -r up _ </proc/uptime
	echo $((10#${up/./}))
}
# get BIG into a FIFO, its stderr a terminal (script). The copy goes in
# 8 MiB chunks and, without -q, shows a progress line after a chunk once
# 0.5 s have passed since it started (the condition under test: a long
# copy). The reader makes every copy that long, whatever the machine's
# speed: it takes the first chunk (the copy has started), then holds the
# second until the clock says more than 0.5 s have passed since. The
# second chunk's write ends after that: without -q a progress line shows
# (waited for, the third chunk held, at most 20 s), with -q none may.
held_get() { # OPTION...
	start_on_terminal "$dir/tty" "$udax" get "$@" big "$dir/fifo"
	local pid=$! start i
	{
		head -c $((8 << 20)) >/dev/null
		start=$(uptime_cs)
		for ((i = 0; i < 400 && $(uptime_cs) <= start + 50; i++)); do
			sleep 0.05
		done
		(($(uptime_cs) > start + 50)) || fail "the clock did not pass 0.5 s in 20 s"
		head -c $((8 << 20)) >/dev/null
		for ((i = 0; i < 400 && $# == 0; i++)); do
			grep -q 'of 80 MiB' "$dir/tty" && break
			sleep 0.05
		done
		cat >/dev/null
	} <"$dir/fifo"
	wait $pid || fail "get $* big under script: $(cat "$dir/tty")"
}
held_get
grep -q 'udax get: big: [0-9]* of 80 MiB ([0-9]*%)' "$dir/tty" ||
	fail "no progress line: $(od -c "$dir/tty" | head)"
for q in -q --quiet; do
	held_get $q
	! grep -q 'MiB' "$dir/tty" || fail "get $q printed progress: $(od -c "$dir/tty" | head)"
done
echo "PASS cli_stdio_quiet"
