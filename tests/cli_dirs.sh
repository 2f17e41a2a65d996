#!/usr/bin/env bash
# cli_dirs: udax mkdir (with -p), ls DIR, rmdir, and paths a/b/c in put,
# get, cat, stat and rm: a tree made in the store lists as the same tree
# made on the host; every refusal exits with the documented status and
# the kernel's reason (not empty, not a directory, no such directory, a
# '.' or '..' component or an empty one, stated as the rule); --help of
# both; fsck is clean afterwards. Exit 0 pass, 1 fail.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

export UDAX_STORE=$dir/store.udax
expect_status 0 "$udax" create "$UDAX_STORE" 32M
expect_status 0 "$udax" mkdir --help
grep -q '^Usage: udax \[-s STORE\] mkdir \[-p\] PATH' "$dir/out" || fail "mkdir --help: $(cat "$dir/out")"
expect_status 0 "$udax" rmdir --help
grep -q '^Usage: udax \[-s STORE\] rmdir PATH' "$dir/out" || fail "rmdir --help: $(cat "$dir/out")"
expect_status 0 "$udax" ls --help
grep -q 'ls \[-l\] \[-b\] \[DIR\]' "$dir/out" || fail "ls --help: $(cat "$dir/out")"

# The same tree in the store and on the host.
host=$dir/host
mkdir "$host"
printf 'one\n' >"$dir/one"
printf 'two two\n' >"$dir/two"
expect_status 0 "$udax" mkdir src
mkdir "$host/src"
expect_status 0 "$udax" mkdir -p src/lib/deep
mkdir -p "$host/src/lib/deep"
expect_status 0 "$udax" mkdir -p src/lib
expect_status 0 "$udax" put "$dir/one" src/lib/one
cp "$dir/one" "$host/src/lib/one"
expect_status 0 "$udax" put "$dir/two" src/two
cp "$dir/two" "$host/src/two"
expect_status 0 "$udax" put "$dir/two" top
cp "$dir/two" "$host/top"

# Walk both trees into "path type size" lines.
store_tree() { # DIR (empty: the root)
	local line name size listing
	listing=$("$udax" ls -b ${1:+"$1"}) || fail "ls $1"
	[ -n "$listing" ] || return 0
	while read -r size name; do
		line=${1:+$1/}${name%/}
		if [ "${name%/}" != "$name" ]; then
			echo "$line d"
			store_tree "$line"
		else
			echo "$line f $size"
		fi
	done <<<"$listing"
}
host_tree() {
	(cd "$host" && find . -mindepth 1 \( -type d -printf '%P d\n' \) -o \( -type f -printf '%P f %s\n' \)) | sort
}
[ "$(store_tree "" | sort)" = "$(host_tree)" ] ||
	fail "trees differ: store $(store_tree "" | tr '\n' ';') host $(host_tree | tr '\n' ';')"

expect_status 0 "$udax" cat src/lib/one
cmp -s "$dir/out" "$dir/one" || fail "cat src/lib/one: $(cat "$dir/out")"
expect_status 0 "$udax" get src/two "$dir/back"
cmp -s "$dir/back" "$dir/two" || fail "get src/two"
expect_status 0 "$udax" stat src/lib
grep -qx 'directory src/lib' "$dir/out" || fail "stat of a directory: $(cat "$dir/out")"
expect_status 0 "$udax" stat -b src/lib/one
grep -Eq 'size +4' "$dir/out" || fail "stat src/lib/one: $(cat "$dir/out")"
expect_status 0 "$udax" ls -l src
grep -Eq '^ +- +- lib/$' "$dir/out" || fail "ls -l of a directory entry: $(cat "$dir/out")"

# Refusals, with the kernel's reasons.
expect_status 1 "$udax" rmdir src
grep -q 'Directory not empty' "$dir/err" || fail "rmdir of a full directory: $(cat "$dir/err")"
expect_status 1 "$udax" rmdir top
grep -q 'Not a directory' "$dir/err" || fail "rmdir of a file: $(cat "$dir/err")"
expect_status 1 "$udax" rm src/lib
grep -q 'Is a directory' "$dir/err" || fail "rm of a directory: $(cat "$dir/err")"
expect_status 1 "$udax" mkdir src
grep -q 'File exists' "$dir/err" || fail "mkdir of an existing directory: $(cat "$dir/err")"
expect_status 1 "$udax" mkdir -p top/x
grep -q 'Not a directory' "$dir/err" || fail "mkdir -p through a file: $(cat "$dir/err")"
expect_status 1 "$udax" mkdir no/such
grep -q 'No such file or directory' "$dir/err" || fail "mkdir without parent: $(cat "$dir/err")"
expect_status 1 "$udax" ls top
grep -q 'Not a directory' "$dir/err" || fail "ls of a file: $(cat "$dir/err")"
expect_status 1 "$udax" ls nothing
grep -q 'No such file or directory' "$dir/err" || fail "ls of nothing: $(cat "$dir/err")"
expect_status 1 "$udax" put "$dir/one" no/such/file
grep -q 'No such file or directory' "$dir/err" || fail "put into no directory: $(cat "$dir/err")"
for bad in /abs a//b a/ . .. a/./b a/../b; do
	expect_status 2 "$udax" mkdir "$bad"
	grep -q "joined by single '/', none '.' or '..'" "$dir/err" || fail "mkdir '$bad': $(cat "$dir/err")"
done
expect_status 2 "$udax" ls a//b
expect_status 2 "$udax" mkdir
expect_status 2 "$udax" rmdir a b
expect_status 2 "$udax" rmdir -p a

# Emptied, the directories go; fsck is clean.
expect_status 0 "$udax" rm src/lib/one
expect_status 0 "$udax" rmdir src/lib/deep
expect_status 0 "$udax" rmdir src/lib
expect_status 0 "$udax" rm src/two
expect_status 0 "$udax" rmdir src
expect_status 0 "$udax" ls
[ "$(cat "$dir/out")" = "$(printf '%12s top' '8 B')" ] || fail "ls after removal: $(cat "$dir/out")"
expect_status 0 "$udax" fsck
grep -q clean "$dir/out" || fail "fsck: $(cat "$dir/out")"
echo "PASS $test_name"
