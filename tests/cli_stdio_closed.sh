#!/usr/bin/env bash
# cli_stdio_closed: udax run with standard input, output or error closed
# never opens the store on descriptor 0, 1 or 2, so nothing it prints
# lands in the store: after rm, put, ls and stat with 2>&-, >&- or <&-
# the store still starts with its magic and fsck finds it clean, without
# even a warning (a message written over superblock slot 0 left the store
# "clean (warning: spare superblock slot 0 is damaged)"). A write to a
# closed standard output fails (exit 1); a command that writes nothing
# there succeeds. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

export UDAX_STORE=$dir/store
expect_status 0 "$udax" create "$UDAX_STORE" 8M
echo hello >"$dir/h"
expect_status 0 "$udax" put "$dir/h" a
intact() { # WHAT
	[ "$(head -c 8 "$UDAX_STORE")" = UDAXSTOR ] ||
		fail "$1: the store starts with $(head -c 32 "$UDAX_STORE" | od -c | head -2)"
	"$udax" fsck >"$dir/fsck" 2>&1 || fail "$1: fsck: $(cat "$dir/fsck")"
	[ "$(cat "$dir/fsck")" = "$UDAX_STORE: clean" ] || fail "$1: fsck: $(cat "$dir/fsck")"
}
# COMMAND... with descriptor FD closed: exits STATUS
closed() { # FD STATUS COMMAND...
	local fd=$1 want=$2 got
	shift 2
	case $fd in
	0) "$@" <&- >"$dir/out" 2>"$dir/err" ;;
	1) "$@" >&- 2>"$dir/err" ;;
	2) "$@" 2>&- >"$dir/out" ;;
	esac
	got=$?
	[ "$got" = "$want" ] || fail "'$*' with $fd closed exited $got, expected $want"
	intact "'$*' with $fd closed"
}
closed 2 1 "$udax" rm nonexist
closed 2 0 "$udax" put "$dir/h" b
closed 2 1 "$udax" put "$dir/missing" c
closed 2 1 "$udax" stat nonexist
closed 1 1 "$udax" rm nonexist
closed 1 0 "$udax" put "$dir/h" d
closed 1 0 "$udax" rm d
closed 1 1 "$udax" ls
grep -qx "udax ls: standard output: Bad file descriptor" "$dir/err" ||
	fail "ls >&-: $(cat "$dir/err")"
closed 1 1 "$udax" stat
closed 1 1 "$udax" get a -
closed 0 1 "$udax" put - e
grep -qx "udax put: standard input: Bad file descriptor" "$dir/err" ||
	fail "put - <&-: $(cat "$dir/err")"
closed 0 1 "$udax" rm nonexist
expect_status 0 "$udax" ls
[ "$(awk '{ print $3 }' "$dir/out" | tr '\n' ' ')" = "a b " ] || fail "files: $(cat "$dir/out")"
echo "PASS cli_stdio_closed"
