# cli_lib.bash: the common start of the tests/cli_*.sh scripts, which
# source it as their first command after `set -u`:
#
#   . "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1
#
# (a script runs as its copy BUILD/tests/NAME, BUILD a directory of the
# source tree, as build/ and build-asan/ are). It sets
#   test_name  the script's name without .sh, for its messages;
#   udax       the build's CLI, BUILD/udax;
#   dir        a private temporary directory, removed at exit (EXIT trap);
# and defines
#   fail MESSAGE...              print "FAIL test_name: MESSAGE", exit 1;
#   expect_status STATUS CMD...  run CMD, its output in $dir/out and
#                                $dir/err; fail unless it exits STATUS;
#   skip_if_sanitized            exit 77 in a sanitizer build, whose preload
#                                library needs the sanitizer runtime in the
#                                program (programs not built here lack it);
#   have_terminal                true when script(1) can give a command a
#                                terminal (a machine without /dev/pts or
#                                /dev/ptmx cannot: script then exits at
#                                once, and a reader waiting on a FIFO for
#                                the command would wait forever).
#   start_on_terminal TRANSCRIPT COMMAND...
#                                runs COMMAND in the background (its job
#                                is $!) with a terminal as its stdio
#                                (script), the terminal's output kept in
#                                TRANSCRIPT. The words reach script's
#                                shell quoted by bash and read by bash
#                                (script runs $SHELL, which may be unset,
#                                hence /bin/sh, dash on Debian, which
#                                cannot read $'...'). When the job ends
#                                it opens $dir/fifo, if there is one,
#                                once: a reader still waiting to open it
#                                (the command failed first) then reads
#                                end of file instead of waiting forever.
# Named .bash, not .sh: the Makefile makes every tests/*.sh a test.
test_name=${0##*/}
test_name=${test_name%.sh}
# shellcheck disable=SC2034 # used by the scripts
udax=$(cd "$(dirname "$0")/.." && pwd)/udax
dir=$(mktemp -d "${TMPDIR:-/tmp}/udax-$test_name-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL $test_name: $*"; exit 1; }
expect_status() { # STATUS COMMAND...
	local want=$1; shift
	"$@" >"$dir/out" 2>"$dir/err"
	local got=$?
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want: $(cat "$dir/err")"
}
skip_if_sanitized() {
	local lib=${udax%/*}/libudax-preload.so
	# a sanitizer's library needs its runtime (U); every build only
	# looks for one (w: api/fork.c)
	if nm -D "$lib" 2>/dev/null | grep -q ' U __[at]san_init'; then
		echo "SKIP: a sanitizer build: $lib needs the sanitizer runtime in the program"
		exit 77
	fi
}
have_terminal() {
	command -v script >/dev/null &&
		timeout 20 script -qec true /dev/null </dev/null >/dev/null 2>&1
}
start_on_terminal() { # TRANSCRIPT COMMAND...
	local transcript=$1
	shift
	{
		SHELL=$BASH script -qfec "$(printf '%q ' "$@")" "$transcript" >/dev/null
		local status=$?
		[ -p "$dir/fifo" ] && exec 3<>"$dir/fifo"
		exit $status
	} &
}
