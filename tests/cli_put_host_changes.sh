#!/usr/bin/env bash
# cli_put_host_changes: a host file that changes while `udax put` copies
# it. One that grows is copied to its end, the bytes appended during the
# copy included (not cut at the size it had when put started); one that
# shrinks fails the put (exit 1) with a message naming the host file, not
# the store NAME, and leaves NAME as it was. The put is caught in the
# middle of its copy: stopped (SIGSTOP) while its mapping of the host file
# exists, the file changed, then continued. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

export UDAX_STORE=$dir/store
expect_status 0 "$udax" create "$UDAX_STORE" 256M
host=$dir/host.h
echo old >"$dir/old"
expect_status 0 "$udax" put "$dir/old" name
# Start `udax put host.h name`, stop it in the middle of its copy (its
# mapping of host.h exists) and run CHANGE on host.h; sets rc. Up to three
# tries: a put that ends before it is stopped tells nothing.
put_changed() { # CHANGE...
	local try pid mid
	for try in 1 2 3; do
		head -c $((128 << 20)) /dev/zero >"$host"
		"$udax" put "$host" name 2>"$dir/err" &
		pid=$!
		while kill -0 $pid 2>/dev/null && ! grep -qF "$host" /proc/$pid/maps 2>/dev/null; do
			:
		done
		kill -STOP $pid 2>/dev/null
		mid=0
		grep -qF "$host" /proc/$pid/maps 2>/dev/null && mid=1
		((mid)) && "$@"
		kill -CONT $pid 2>/dev/null
		wait $pid
		rc=$?
		((mid)) && return 0
	done
	fail "no put was stopped in the middle of its copy in $try tries"
}
grow() { printf 'grown tail' >>"$host"; }
put_changed grow
[ $rc = 0 ] || fail "put of a growing file exited $rc: $(cat "$dir/err")"
expect_status 0 "$udax" get name "$dir/back"
cmp -s "$host" "$dir/back" ||
	fail "a growing file was cut: $(stat -c %s "$dir/back") of $(stat -c %s "$host") bytes"

expect_status 0 "$udax" put "$dir/old" name
put_changed truncate -s 1M "$host"
[ $rc = 1 ] || fail "put of a shrinking file exited $rc: $(cat "$dir/err")"
grep -qxF "udax put: $host: the host file shrank while it was being copied" "$dir/err" ||
	fail "put of a shrinking file: $(cat "$dir/err")"
expect_status 0 "$udax" get name "$dir/back"
cmp -s "$dir/old" "$dir/back" || fail "a failed put changed name"
expect_status 0 "$udax" fsck
echo "PASS cli_put_host_changes"
