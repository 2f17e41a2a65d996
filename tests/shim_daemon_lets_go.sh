#!/usr/bin/env bash
# shim_daemon_lets_go: under `udax run`, a process that used the store and
# forks a daemon (fork, setsid, fork; the daemon closes every descriptor
# with close_range and waits) leaves nothing of udax's in the daemon: the
# store can be opened by the next program while the daemon lives (it held
# the store's lock until it exited), and `x=$(udax run --stats ...)`
# returns at once (the daemon held the copy of stderr kept for --stats,
# so the command substitution waited for it). Skips in sanitizer builds
# (see shim_coreutils). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

skip_if_sanitized
root=$dir/udax
store=$dir/store
expect_status 0 "$udax" create "$store" 16M
cat >"$dir/daemon.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
/* daemon FILE FD PIDFILE: write FILE, then a daemon that writes its pid
 * to PIDFILE, keeps only FD and waits for it (at most 60 s) */
int main(int argc, char **argv)
{
	int keep = atoi(argv[2]), fd = open(argv[1], O_RDWR | O_CREAT, 0644);

	if (argc != 4 || fd < 0 || write(fd, "x", 1) != 1 || close(fd))
		return 1;
	if (fork() == 0) {
		setsid();
		if (fork() == 0) {
			struct pollfd p = { .fd = keep, .events = POLLIN };
			FILE *pid = fopen(argv[3], "w");

			if (!pid || fprintf(pid, "%d\n", (int)getpid()) < 0 || fclose(pid))
				_exit(1);
			close_range(0, (unsigned)keep - 1, 0);
			close_range((unsigned)keep + 1, ~0u, 0);
			poll(&p, 1, 60000);
			_exit(0);
		}
		_exit(0);
	}
	return 0;
}
C
${UDAX_TEST_CC:-cc} -std=c11 -Wall -Wextra -Werror "$dir/daemon.c" -o "$dir/daemon" ||
	fail "cannot compile the daemon"
mkfifo "$dir/ctl"
exec 7<>"$dir/ctl"	# the test's end (a reader too, so that the opens never wait)
exec 9<"$dir/ctl"	# the daemon's end
# the daemons go when this script exits: their FIFO then has no writer
out=$("$udax" run --store "$store" --root "$root" --stats -- "$dir/daemon" "$root/d1" 9 \
	"$dir/pid1" 2>&1) || fail "udax run --stats -- daemon: $out"
kill -0 "$(cat "$dir/pid1")" 2>/dev/null ||
	fail "\$(udax run --stats -- daemon) returned only once the daemon had gone"
grep -q "(daemon): " <<<"$out" || fail "no stats line: $out"
expect_status 0 "$udax" run --store "$store" --root "$root" -- "$dir/daemon" "$root/d2" 9 \
	"$dir/pid2"
expect_status 0 "$udax" -s "$store" ls
grep -q d2 "$dir/out" || fail "the store, while a daemon lives: $(cat "$dir/out")"
expect_status 0 "$udax" run --store "$store" --root "$root" -- cat "$root/d1"
[ "$(cat "$dir/out")" = x ] || fail "another program, while a daemon lives: $(cat "$dir/err")"
echo "shim_daemon_lets_go: a daemon forked off holds neither the store nor stderr"
