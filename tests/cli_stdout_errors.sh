#!/usr/bin/env bash
# cli_stdout_errors: a command whose standard output cannot be written
# (/dev/full, closed) says so, "udax CMD: standard output: REASON", and
# exits 1 (a command that failed before keeps its status); one that writes
# nothing there succeeds. get and cat name the host file they could not
# write: HOSTFILE, or "standard output". Exit 0 pass, 1 fail, 77 skip (no
# /dev/full).
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

[ -c /dev/full ] || { echo "SKIP: no /dev/full"; exit 77; }
export UDAX_STORE=$dir/store
expect_status 0 "$udax" create "$UDAX_STORE" 8M
head -c 100000 /dev/urandom >"$dir/h"
expect_status 0 "$udax" put "$dir/h" a
full() { # STATUS MESSAGE COMMAND...: COMMAND >/dev/full
	local want=$1 msg=$2 got
	shift 2
	"$@" >/dev/full 2>"$dir/err"
	got=$?
	[ "$got" = "$want" ] || fail "'$* >/dev/full' exited $got, expected $want: $(cat "$dir/err")"
	[ -z "$msg" ] || grep -qxF "$msg" "$dir/err" || fail "'$* >/dev/full': $(cat "$dir/err")"
}
enospc="No space left on device"
full 1 "udax ls: standard output: $enospc" "$udax" ls
full 1 "udax ls: standard output: $enospc" "$udax" ls -l
full 1 "udax stat: standard output: $enospc" "$udax" stat
full 1 "udax stat: standard output: $enospc" "$udax" stat a
full 1 "udax fsck: standard output: $enospc" "$udax" fsck
full 1 "udax: standard output: $enospc" "$udax" --help
full 1 "udax: standard output: $enospc" "$udax" --version
full 1 "udax help: standard output: $enospc" "$udax" help
full 1 "udax rm: standard output: $enospc" "$udax" rm --help
full 1 "udax create: standard output: $enospc" "$udax" create "$dir/s2" 8M
full 0 "" "$udax" put "$dir/h" b
full 1 "udax stat: nonexist: No such file or directory" "$udax" stat nonexist
full 2 "" "$udax" ls --bogus
full 1 "udax get: standard output: $enospc" "$udax" get a -
full 1 "udax cat: standard output: $enospc" "$udax" cat a
expect_status 1 "$udax" get a /dev/full
grep -qxF "udax get: /dev/full: $enospc" "$dir/err" || fail "get a /dev/full: $(cat "$dir/err")"
"$udax" ls >&- 2>"$dir/err" && fail "ls >&- exited 0"
grep -qxF "udax ls: standard output: Bad file descriptor" "$dir/err" ||
	fail "ls >&-: $(cat "$dir/err")"
"$udax" rm b >&- 2>"$dir/err" || fail "rm b >&-: $(cat "$dir/err")"
echo "PASS cli_stdout_errors"
