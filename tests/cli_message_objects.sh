#!/usr/bin/env bash
# cli_message_objects: udax's messages name the object that failed. A get
# whose HOSTFILE's directory is missing names HOSTFILE (not its temporary
# file), demo -d DIR a missing DIR; a put that cannot read its host file
# names the host path (not NAME); a put into a store whose 1024 file slots
# are used says that the file table is full and that put needs a slot for
# its temporary copy, naming NAME (not the temporary file); a put of the
# store file into itself (by path or on standard input) is refused up
# front. A get into a FIFO interrupted (SIGINT) while it waits for a
# reader exits 130 saying "udax get: interrupted by signal 2".
# Exit 0 pass, 1 fail, 77 skip (SIGINT ignored and no env --default-signal).
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

export UDAX_STORE=$dir/store
expect_status 0 "$udax" create "$UDAX_STORE" 8M
echo hello >"$dir/h"
expect_status 0 "$udax" put "$dir/h" a

expect_status 1 "$udax" get a "$dir/nonexist/out"
grep -qxF "udax get: $dir/nonexist/out: No such file or directory" "$dir/err" ||
	fail "get into a missing directory: $(cat "$dir/err")"
expect_status 1 "$udax" demo -d "$dir/nonexist"
grep -qxF "udax demo: $dir/nonexist: No such file or directory" "$dir/err" ||
	fail "demo -d DIR missing: $(cat "$dir/err")"
expect_status 1 "$udax" put /proc/self/mem z
grep -qxF "udax put: /proc/self/mem: Input/output error" "$dir/err" ||
	fail "put of an unreadable file: $(cat "$dir/err")"

cp "$UDAX_STORE" "$dir/before"
expect_status 1 "$udax" put "$UDAX_STORE" self
grep -qxF "udax put: $UDAX_STORE is the store file itself; not copied" "$dir/err" ||
	fail "put of the store: $(cat "$dir/err")"
ln "$UDAX_STORE" "$dir/hard"
expect_status 1 "$udax" put "$dir/hard" self
"$udax" put - self <"$UDAX_STORE" >"$dir/out" 2>"$dir/err" && fail "put - <store exited 0"
grep -qxF "udax put: standard input is the store file itself; not copied" "$dir/err" ||
	fail "put - <store: $(cat "$dir/err")"
cmp -s "$UDAX_STORE" "$dir/before" || fail "a refused put changed the store"

# A full file table: a program of the library's fills it.
here=$(dirname "$udax")
cat >"$dir/fill.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <udax.h>
int main(int argc, char **argv)
{
	struct udax_store *s;
	struct udax_file *f;
	char name[16];
	int ret, n = 0;

	if (argc != 2 || udax_store_open(argv[1], 0, &s))
		return 1;
	for (;;) {
		snprintf(name, sizeof(name), "n%d", ++n);
		ret = udax_open(s, name, O_RDWR | O_CREAT | O_EXCL, &f);
		if (ret)
			break;
		udax_close(f);
	}
	return udax_store_close(s) || ret != -28;
}
C
${UDAX_TEST_CC:-cc} -I"$here/../include" "$dir/fill.c" "$here/libudax.a" -pthread -o "$dir/fill" ||
	fail "cannot build the filler"
"$dir/fill" "$UDAX_STORE" || fail "fill: the table did not fill"
full="the store's file table is full (1024 files and directories): put needs a free slot for its"
full+=" temporary copy ('udax rm' frees one)"
for name in n1 new; do
	expect_status 1 "$udax" put "$dir/h" $name
	grep -qxF "udax put: $name: $full" "$dir/err" || fail "put $name, table full: $(cat "$dir/err")"
done
expect_status 0 "$udax" rm n1
expect_status 0 "$udax" put "$dir/h" n2

if env --default-signal=INT true 2>/dev/null; then
	bg=(env --default-signal=INT)
elif ((!((16#$(awk '/^SigIgn/ { print $2 }' /proc/$$/status) >> 1) & 1))); then
	bg=()
else
	echo "SKIP: SIGINT is ignored and env has no --default-signal"
	exit 77
fi
mkfifo "$dir/fifo"
"${bg[@]}" "$udax" get a "$dir/fifo" 2>"$dir/err" &
pid=$!
# Until the get waits in open() for a reader of the FIFO (20 s at most).
for ((i = 0; i < 400; i++)); do
	[ "$(cat /proc/$pid/wchan 2>/dev/null)" = wait_for_partner ] && break
	sleep 0.05
done
((i < 400)) || fail "get never waited for a reader of the FIFO"
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "get interrupted in open exited $rc: $(cat "$dir/err")"
grep -q "^udax get: interrupted by signal 2; " "$dir/err" ||
	fail "get interrupted in open: $(cat "$dir/err")"
echo "PASS cli_message_objects"
