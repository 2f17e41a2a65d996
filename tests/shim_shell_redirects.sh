#!/usr/bin/env bash
# shim_shell_redirects: a bash script, unmodified, under `udax run` with its
# redirections on store files, gives the same files and output as on a
# host twin: builtins (echo, printf, read, while-read loops) writing and
# reading through > >> < (the shim's stdin/stdout follow dup2 onto 0, 1,
# 2), external commands exec'd by bash with < > >> 2> on store files
# (descriptors handed over across exec, stdout a stream of the shim:
# sort, tr, cut, awk, wc, ls 2>), `exec 3<FILE` then `exec cat <&3` (the
# offset carried across exec), /dev/stdout, /dev/fd/N and /proc/self/fd/N
# of store files (the file, not the placeholder), and writes to every
# descriptor number under `ulimit -n 20` (udax's own descriptors are not
# the program's). Skips in sanitizer builds (see shim_coreutils).
# Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

skip_if_sanitized
export UDAX_STORE=$dir/store
root=$dir/udax
expect_status 0 "$udax" create "$UDAX_STORE" 64M
mkdir "$dir/host"
seq 1 5000 | sed 's/^/row /' >"$dir/input"

# Each step is one bash (the store is one process's at a time; bash execs
# the last command of -c itself). D is the directory: the root or the twin.
steps=(
	'echo first >$D/a; printf "%s %d\n" second 2 >>$D/a; echo third >>$D/a'
	'for i in 1 2 3; do echo "line $i" >>$D/a; done'
	'read -r x <$D/a; echo "read: $x" >>$D/b; while read -r l; do echo "<$l>"; done <$D/a >>$D/b'
	"sort -r $dir/input >\$D/sorted"
	'tr a-z A-Z <$D/sorted >$D/upper'
	'cut -d" " -f2 <$D/upper >>$D/b'
	"awk '{ s += \$2 } END { print s }' <\$D/sorted >\$D/sum"
	'wc -l <$D/sorted >>$D/sum'
	'ls /nonexistent-udax 2>$D/err'
	'exec 3<$D/a; read -r skip <&3; exec cat <&3 >$D/rest'
	'exec 4>>$D/rest; exec date -u +%Y >&4'
	# /dev/stdout, /dev/fd/N, /proc/self/fd/N of a store file: that file
	"exec >\$D/devout; exec dd if=$dir/input of=/dev/stdout status=none"
	'exec 3<$D/devout; exec tail -n 2 /dev/fd/3'
	'exec 3<$D/a; exec cat /proc/self/fd/3'
	# few descriptors: udax's own sit at 10; writes to every number miss them
	'ulimit -n 20; read -r x <$D/a; for fd in $(seq 3 19); do echo junk >&$fd; done 2>/dev/null; echo "$x"'
)
for d in "$root" "$dir/host"; do
	for step in "${steps[@]}"; do
		"$udax" run --root "$root" -- bash -c "D=$d; $step" >>"$dir/out.${d##*/}" 2>&1
		echo "status $?" >>"$dir/out.${d##*/}"
	done
done
cmp -s "$dir/out.udax" "$dir/out.host" ||
	fail "the output differs: $(diff "$dir/out.host" "$dir/out.udax" | head -5)"
for f in a b sorted upper sum err rest devout; do
	"$udax" get "$f" "$dir/$f.back" || fail "get $f"
	cmp -s "$dir/host/$f" "$dir/$f.back" ||
		fail "$f differs: $(diff "$dir/host/$f" "$dir/$f.back" | head -5)"
done
# dash ends with _exit, with the file it made still open, in the shell and
# in a subshell (a fork child): the files stay (they were lost: the store's
# shared metadata went with the last process holding it)
"$udax" run --root "$root" -- dash -c "exec >$root/dash1; echo one" ||
	fail "dash: exec >FILE"
"$udax" run --root "$root" -- dash -c "(exec >$root/dash2; echo two); echo parent" \
	>"$dir/out" || fail "dash: a subshell's exec >FILE"
[ "$("$udax" cat dash1)/$("$udax" cat dash2)" = one/two ] ||
	fail "dash's files: $("$udax" ls)"
# one description shared by the shell, its forked commands and the programs
# they exec: each writes where the last left the offset (another
# description, opened with >>, appends at the end, and the first one's
# next write lands at its own offset, over it: as the kernel's)
"$udax" run --root "$root" -- bash -c "exec >$root/seq; echo a; /bin/echo b; (echo c);
	{ /bin/echo d; echo e; } >>$root/seq; printf f; cat $root/dash1; /bin/echo g" ||
	fail "a shell's shared offset"
[ "$("$udax" cat seq)" = $'a\nb\nc\nfone\ng' ] ||
	fail "a shell's shared offset: $("$udax" cat seq | od -c | head -3)"
# the shell's working directory in the store is its commands' too: rm of a
# relative name removes the store's file, never the host's of that name in
# the kernel's working directory (it did: the second adversarial pass)
mkdir "$dir/hostcwd" && echo keep >"$dir/hostcwd/victim"
(cd "$dir/hostcwd" && "$udax" run --root "$root" -- bash -c "mkdir $root/cw; cd $root/cw;
	echo gone >victim; /bin/rm victim; echo made >made; /bin/cat made; /bin/pwd") \
	>"$dir/out" || fail "commands in a store directory"
[ "$(cat "$dir/out")" = $'made\n'"$root/cw" ] || fail "commands in a store directory: $(cat "$dir/out")"
[ "$(cat "$dir/hostcwd/victim")" = keep ] && [ ! -e "$dir/hostcwd/made" ] ||
	fail "a command in a store directory acted on the host's"
[ "$("$udax" ls cw | awk '{ print $NF }')" = made ] || fail "the store's cw: $("$udax" ls cw)"
# `exec 9>FILE; flock -n 9`: flock(1), a forked and exec'd command, locks
# the shell's description, which stays locked after it exits, so another
# shell finds it busy (it got the lock too: the first adversarial pass)
if command -v flock >/dev/null; then
	idiom='exec 9>D/lk; flock -n 9 && echo locked; bash -c "exec 8>D/lk; flock -n 8 && echo twice || echo busy"'
	"$udax" run --root "$root" -- bash -c "${idiom//D/$root}" >"$dir/out.lk" 2>&1
	bash -c "${idiom//D/$dir/host}" >"$dir/want.lk" 2>&1
	[ "$(cat "$dir/want.lk")" = $'locked\nbusy' ] || fail "flock on the host: $(cat "$dir/want.lk")"
	cmp -s "$dir/want.lk" "$dir/out.lk" || fail "the flock idiom: $(cat "$dir/out.lk")"
fi
expect_status 0 "$udax" fsck
grep -q warning "$dir/out" && fail "fsck: $(cat "$dir/out")"
echo "PASS shim_shell_redirects"
