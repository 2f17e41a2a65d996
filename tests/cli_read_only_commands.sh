#!/usr/bin/env bash
# cli_read_only_commands: ls, stat, stat NAME, cat, get and fsck leave the
# store file byte-identical, mtime included; a store file of mode 0444 can
# be listed and read by a user who cannot write it (nobody, when run as
# root), and rm on it fails with a reason naming the read-only open. An
# immutable store file (chattr +i, where root can set it) is listed and
# read too (the read-only open falls back from the shared region, which
# would open the store for writing, to reading it alone).
# Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1
store=$dir/store
export UDAX_STORE=$store

"$udax" create "$store" 32M >/dev/null || fail "create"
head -c 5000000 /dev/urandom >"$dir/a"
"$udax" put "$dir/a" a || fail "put"
printf 'small' >"$dir/b"
"$udax" put "$dir/b" b || fail "put"
touch -d '2020-01-02 03:04:05.123456789' "$store"
cp -p "$store" "$dir/ref"
mtime=$(stat -c %.9Y "$store")
unchanged() { # AFTER
	cmp -s "$store" "$dir/ref" || fail "'$1' changed the store file's bytes"
	[ "$(stat -c %.9Y "$store")" = "$mtime" ] || fail "'$1' changed the store file's mtime"
}

"$udax" ls >"$dir/out" || fail "ls"
grep -Eq ' a$' "$dir/out" || fail "ls: $(cat "$dir/out")"
unchanged ls
"$udax" stat >/dev/null || fail "stat"
unchanged stat
"$udax" stat a >/dev/null || fail "stat a"
unchanged "stat a"
"$udax" cat a | cmp -s - "$dir/a" || fail "cat a"
unchanged "cat a"
"$udax" get a "$dir/got" && cmp -s "$dir/got" "$dir/a" || fail "get a"
unchanged "get a"
"$udax" fsck >/dev/null || fail "fsck"
unchanged fsck

# A reader who cannot write the store file.
chmod 0711 "$dir"
chmod 0444 "$store"
as_reader=()
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || { echo "SKIP: no setpriv to drop root"; exit 77; }
	as_reader=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
"${as_reader[@]}" "$udax" ls >"$dir/out" 2>&1 || fail "ls of a 0444 store: $(cat "$dir/out")"
grep -Eq ' b$' "$dir/out" || fail "ls of a 0444 store: $(cat "$dir/out")"
[ "$("${as_reader[@]}" "$udax" cat b)" = small ] || fail "cat of a 0444 store"
"${as_reader[@]}" "$udax" get a /dev/stdout | cmp -s - "$dir/a" || fail "get from a 0444 store"
"${as_reader[@]}" "$udax" rm b 2>"$dir/err" && fail "rm in a 0444 store succeeded"
grep -q "read-only" "$dir/err" || fail "rm in a 0444 store: $(cat "$dir/err")"
unchanged "the reader's commands"
chmod 0644 "$store"

# An immutable store file (root, on a file system with chattr +i): nobody
# may open it for writing, not even for the shared region's lock byte; the
# read-only commands read it all the same.
if chattr +i "$store" 2>/dev/null; then
	trap 'chattr -i "$store" 2>/dev/null; rm -rf "$dir"' EXIT
	"$udax" ls >"$dir/out" 2>&1 || fail "ls of an immutable store: $(cat "$dir/out")"
	[ "$("$udax" cat b 2>&1)" = small ] || fail "cat of an immutable store: $("$udax" cat b 2>&1)"
	chattr -i "$store"
	unchanged "the commands on an immutable store"
else
	echo "chattr +i refused here (not root, or no such attribute): that part skipped"
fi
echo "PASS cli_read_only_commands"
