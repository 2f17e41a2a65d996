#!/usr/bin/env bash
# cli_put_get_atomic: `udax put` and `udax get` never destroy data.
# - put over an existing NAME that fails (store full, unreadable host file,
#   a directory) leaves NAME, the free blocks and the file list as they were;
# - put stopped by SIGINT/SIGTERM/SIGHUP in the middle of its copy (a FIFO
#   source holds it there) exits 128+N and leaves NAME old and no temporary
#   file; SIGKILL there leaves NAME old; SIGKILL and SIGINT at seeded random
#   moments leave NAME complete, old or new (new exactly when a SIGINT'd put
#   exits 0), and the store clean; the next put names the temporary files
#   of dead puts (on stderr) and removes none: a file of such a name may be
#   somebody's own (the old put removed it);
# - get refuses to write over the store file (by name, symlink, hard link;
#   cat to it too); get interrupted (SIGINT while its temporary file exists,
#   SIGKILL at random moments) leaves the host file it replaces complete,
#   old or new, and SIGINT removes the temporary file;
#   a replaced file keeps its mode, a new one gets 0666 & ~umask;
#   /dev/stdout is written in place.
# Exit 0 pass, 1 fail.
set -u
udax=$(cd "$(dirname "$0")/.." && pwd)/udax
dir=$(mktemp -d "${TMPDIR:-/tmp}/udax-putget-XXXXXX")
seed=${UDAX_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
# A hung test is killed after two minutes (by sh: a subshell of this script
# could run its EXIT trap if signalled before it execs).
sh -c 'sleep 120 >/dev/null 2>&1 && echo "FAIL cli_put_get_atomic: watchdog expired" &&
	kill -KILL "$1"' watchdog $$ 2>/dev/null &
watchdog=$!
trap 'kill $watchdog 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL cli_put_get_atomic: $* (seed=$seed; rerun with UDAX_SEED=$seed)"; exit 1; }
# Commands started in the background: with SIGINT, SIGTERM and SIGHUP at
# their defaults (a shell starts background jobs with SIGINT ignored, and
# udax keeps ignoring a signal it was started with ignored).
if env --default-signal=INT true 2>/dev/null; then
	bg=(env --default-signal=INT,TERM,HUP)
elif ((!((16#$(awk '/^SigIgn/ { print $2 }' /proc/$$/status) >> 1) & 1))); then
	bg=()
	set -m	# job control: background jobs do not ignore SIGINT
else
	echo "SKIP: SIGINT is ignored and env has no --default-signal"
	exit 77
fi
# Wait until background job PID runs udax: a signal that reaches the
# shell's child before its exec could run this script's EXIT trap there.
started() {
	local comm=
	while [ "$comm" != udax ] && read -r comm 2>/dev/null <"/proc/$1/comm"; do
		:
	done
}
# Wait for background job PID; sets rc.
reap() {
	wait "$1"
	rc=$?
	while [ $rc = 147 ]; do	# job control's report of a SIGSTOP
		wait "$1"
		rc=$?
	done
}
export UDAX_STORE=$dir/store
store=$UDAX_STORE

fsck_clean() { # WHAT
	"$udax" fsck >"$dir/fsck" 2>&1 || fail "$1: fsck: $(cat "$dir/fsck")"
}
# NAME holds exactly the bytes of one of the host files
holds_one_of() { # WHAT NAME FILE...
	local what=$1 name=$2 f
	shift 2
	"$udax" get "$name" "$dir/check" 2>"$dir/err" || fail "$what: get $name: $(cat "$dir/err")"
	for f; do
		cmp -s "$dir/check" "$f" && { held=$f; return 0; }
	done
	fail "$what: $name ($(stat -c %s "$dir/check") bytes) is none of $*"
}
names() { "$udax" ls | awk '{ print $3 }' | sort | tr '\n' ' '; }
blocks_free() { "$udax" stat | awk '$1 == "blocks_free" { print $2 }'; }
# a random delay of 0..MS milliseconds, as sleep's argument
delay() { awk -v ms=$((RANDOM % ($1 + 1))) 'BEGIN { printf "%.3f", ms / 1000 }'; }
# milliseconds a command takes
time_ms() {
	local t0=$EPOCHREALTIME
	"$@" >/dev/null 2>&1 || fail "'$*' failed"
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 + 1 }'
}

# --- a put that fails changes nothing -------------------------------------
"$udax" create "$store" 16M >/dev/null || fail "create"
head -c 3000000 /dev/urandom >"$dir/old"
head -c 20000000 /dev/urandom >"$dir/huge"
"$udax" put "$dir/old" name || fail "put"
free0=$(blocks_free)
"$udax" put "$dir/huge" name 2>"$dir/err" && fail "a put bigger than the store succeeded"
grep -q "No space left" "$dir/err" || fail "store full: $(cat "$dir/err")"
holds_one_of "put failing for space" name "$dir/old"
[ "$(names)" = "name " ] || fail "a failed put left files: $(names)"
[ "$(blocks_free)" = "$free0" ] ||
	fail "a failed put kept blocks: $free0 free before, $(blocks_free) after"
fsck_clean "put failing for space"
cp "$store" "$dir/store.before"
"$udax" put "$dir" other 2>/dev/null && fail "put of a directory succeeded"
"$udax" put "$dir/missing" other 2>/dev/null && fail "put of a missing file succeeded"
"$udax" put "$dir/old" "a//b" 2>/dev/null && fail "put to an invalid name succeeded"
"$udax" put "$dir/old" "no/dir" 2>/dev/null && fail "put into a missing directory succeeded"
"$udax" put "$dir/old" "name/x" 2>/dev/null && fail "put into a file succeeded"
cmp -s "$store" "$dir/store.before" || fail "a put that could not start changed the store"
"$udax" put /proc/self/mem name 2>/dev/null && fail "put of an unreadable file succeeded"
holds_one_of "put of an unreadable file" name "$dir/old"
[ "$(names)" = "name " ] || fail "a failed put left files: $(names)"
fsck_clean "put of an unreadable file"

# --- signals in the middle of the copy -------------------------------------
# The put reads a FIFO; once cat has written the data it is in the middle
# of its copy, waiting for the rest, when the signal comes.
mkfifo "$dir/fifo"
head -c 1000000 /dev/urandom >"$dir/part"
for sig in INT:130 TERM:143 HUP:129 KILL:137; do
	"${bg[@]}" "$udax" put "$dir/fifo" name 2>"$dir/err" &
	pid=$!
	started $pid
	exec 3<>"$dir/fifo"
	timeout 20 cat "$dir/part" >&3 || fail "put stopped reading its FIFO: exit $?: $(cat "$dir/err"); $(cat /proc/$pid/stat 2>&1)"
	kill -"${sig%:*}" $pid
	reap $pid
	exec 3>&-
	[ $rc = "${sig#*:}" ] || fail "put stopped by SIG${sig%:*} exited $rc: $(cat "$dir/err")"
	holds_one_of "put stopped by SIG${sig%:*}" name "$dir/old"
	fsck_clean "put stopped by SIG${sig%:*}"
	[ "$sig" = KILL ] || [ "$(names)" = "name " ] ||
		fail "put stopped by SIG${sig%:*} left files: $(names)"
done

# --- SIGKILL and SIGINT at random moments ----------------------------------
rm -f "$store"
"$udax" create "$store" 64M >/dev/null || fail "create"
head -c 6000000 /dev/urandom >"$dir/v1"
head -c 4500000 /dev/urandom >"$dir/v2"
"$udax" put "$dir/v1" name || fail "put"
span=$(($(time_ms "$udax" put "$dir/v2" name) * 3 / 2))
cur=$dir/v2
outcomes=""
for trial in 1 2 3 4 5 6 7 8 9 10; do
	new=$dir/v1
	[ "$cur" = "$dir/v1" ] && new=$dir/v2
	sig=KILL
	((trial % 2)) && sig=INT
	"${bg[@]}" "$udax" put "$new" name 2>"$dir/err" &
	pid=$!
	started $pid
	sleep "$(delay $span)"
	kill -$sig $pid 2>/dev/null
	reap $pid
	fsck_clean "put, SIG$sig at trial $trial"
	holds_one_of "put, SIG$sig at trial $trial (exit $rc)" name "$cur" "$new"
	case $sig:$rc in
	INT:0) [ "$held" = "$new" ] || fail "put exited 0 but name is old (trial $trial)" ;;
	INT:130) [ "$held" = "$cur" ] || fail "put exited 130 but name is new (trial $trial)" ;;
	KILL:0 | KILL:137) ;;
	*) fail "put with SIG$sig at trial $trial exited $rc: $(cat "$dir/err")" ;;
	esac
	outcomes+="$sig:$rc:$([ "$held" = "$new" ] && echo new || echo old) "
	cur=$held
done
# Temporary files of dead puts: named by the next put, never removed.
true &
dead=$!
wait $dead
printf 'x' >"$dir/one"
"$udax" put "$dir/one" ".udax-put.$dead.0" || fail "put"
"$udax" put "$dir/one" ".udax-put.$$.3" || fail "put"
before=$(names)
"$udax" put "$dir/old" name 2>"$dir/err" || fail "put"
grep -q "'.udax-put.$dead.0' looks like the temporary file" "$dir/err" ||
	fail "put did not name a leftover: $(cat "$dir/err")"
grep -q "udax-put.$$.3" "$dir/err" && fail "put named a live process's file"
[ "$(names)" = "$before" ] || fail "put changed the names: $before -> $(names)"
for n in $(names); do
	case $n in .udax-put.*) "$udax" rm "$n" || fail "rm $n" ;; esac
done
fsck_clean "leftovers"

# --- get ----------------------------------------------------------------------
cp "$store" "$dir/store.before"
ln -s "$store" "$dir/store.link"
ln "$store" "$dir/store.hard"
for target in "$store" "$dir/store.link" "$dir/store.hard"; do
	"$udax" get name "$target" 2>"$dir/err" && fail "get over the store ($target) succeeded"
	grep -q "store file itself" "$dir/err" || fail "get over the store: $(cat "$dir/err")"
done
"$udax" -s "$dir/store.link" get name "$store" 2>/dev/null && fail "get over the store succeeded"
"$udax" cat name >>"$store" 2>/dev/null && fail "cat appending to the store succeeded"
cmp -s "$store" "$dir/store.before" || fail "the store changed"
fsck_clean "get over the store"

umask 027
"$udax" get name "$dir/new-file" || fail "get to a new file"
[ "$(stat -c %a "$dir/new-file")" = 640 ] || fail "new file of mode $(stat -c %a "$dir/new-file")"
cmp -s "$dir/new-file" "$dir/old" || fail "get to a new file: wrong bytes"
umask 022
"$udax" get name /dev/stdout | cmp -s - "$dir/old" || fail "get to /dev/stdout (a pipe)"
"$udax" get name /dev/stdout >"$dir/via-stdout" || fail "get to /dev/stdout (a file)"
cmp -s "$dir/via-stdout" "$dir/old" || fail "get to /dev/stdout (a file): wrong bytes"

head -c 8000000 /dev/urandom >"$dir/big"
"$udax" put "$dir/big" big || fail "put"
head -c 1000 /dev/urandom >"$dir/prev"
cp "$dir/prev" "$dir/out"
chmod 0604 "$dir/out"
span=$(($(time_ms "$udax" get big "$dir/out") * 3 / 2))
[ "$(stat -c %a "$dir/out")" = 604 ] || fail "get changed the mode to $(stat -c %a "$dir/out")"
cmp -s "$dir/out" "$dir/big" || fail "get wrote wrong bytes"
# SIGINT once the temporary file exists (the get stopped while we look),
# SIGKILL at random moments.
hits=0
for trial in $(seq 1 30); do
	cp "$dir/prev" "$dir/out"
	sig=KILL
	((trial % 2)) && sig=INT
	"${bg[@]}" "$udax" get big "$dir/out" 2>"$dir/err" &
	pid=$!
	started $pid
	if [ $sig = INT ]; then
		end=$((SECONDS + 30))
		while ((SECONDS < end)) && kill -0 $pid 2>/dev/null &&
			! compgen -G "$dir/.udax-get.*" >/dev/null; do
			:
		done
		kill -STOP $pid 2>/dev/null
		mid=0
		compgen -G "$dir/.udax-get.*" >/dev/null && mid=1
		kill -INT $pid 2>/dev/null
		kill -CONT $pid 2>/dev/null
	else
		sleep "$(delay $span)"
		kill -KILL $pid 2>/dev/null
	fi
	reap $pid
	if cmp -s "$dir/out" "$dir/prev"; then held=old
	elif cmp -s "$dir/out" "$dir/big"; then held=new
	else fail "get, SIG$sig at trial $trial (exit $rc): the host file is damaged:" \
		"$(stat -c %s "$dir/out") bytes; $(cmp "$dir/out" "$dir/big" 2>&1);" \
		"$(cat "$dir/err")"
	fi
	case $sig:$rc:$held in
	INT:130:old)
		hits=$((hits + mid))
		! compgen -G "$dir/.udax-get.*" >/dev/null ||
			fail "an interrupted get left its temporary file" ;;
	INT:0:new | KILL:0:new | KILL:137:*) ;;
	*) fail "get, SIG$sig at trial $trial: exit $rc, host file $held: $(cat "$dir/err")" ;;
	esac
	rm -f "$dir"/.udax-get.*
	((hits >= 3 && trial >= 6)) && break
done
((hits >= 1)) || fail "no SIGINT landed in the middle of a get in $trial trials"
fsck_clean "get"
echo "PASS cli_put_get_atomic (seed=$seed; put outcomes: $outcomes;" \
	"gets interrupted mid-copy: $hits)"
