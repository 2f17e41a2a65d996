#!/usr/bin/env bash
# shim_dirs_coreutils: coreutils and findutils, unmodified, under `udax run`
# on directories of a store, each compared with the same command on a host
# twin directory: mkdir -p a/b/c, touch, a file written by the shell,
# relative paths after the shell's cd into a store directory, ls
# and ls -R, find, stat of a directory (S_IFDIR), mv of a directory (into
# another and over an empty one), cp -r of a host tree in, rmdir of a full
# directory and of a file, mkdir of an existing one, rm -r; every command
# exits as on the twin and prints the same (paths shown relative to the
# root; find's order sorted, as readdir's order is each file system's
# own). The store is clean afterwards, its tree as the twin's (udax ls).
# Skips in sanitizer builds (the preload library needs the sanitizer
# runtime, which coreutils do not load). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

skip_if_sanitized
export UDAX_STORE=$dir/store
root=$dir/udax
twin=$dir/twin
mkdir "$twin"
expect_status 0 "$udax" create "$UDAX_STORE" 64M
mkdir -p "$dir/src/d1/d2"
echo hello >"$dir/src/d1/f1"
seq 1 3000 >"$dir/src/d1/d2/f2"

# Run "$@" with TOP standing for the top directory, once under udax run on
# the root and once on the twin: the same exit status and output (TOP
# shown as TOP; with SORT=1 the lines sorted), or fail.
both() {
	local rs ts
	"$udax" run --root "$root" -- "${@//TOP/$root}" >"$dir/r.out" 2>"$dir/r.err"
	rs=$?
	"${@//TOP/$twin}" >"$dir/t.out" 2>"$dir/t.err"
	ts=$?
	for f in r.out r.err; do sed -i "s|$root|TOP|g" "$dir/$f"; done
	for f in t.out t.err; do sed -i "s|$twin|TOP|g" "$dir/$f"; done
	if [ "${SORT:-0}" = 1 ]; then
		sort -o "$dir/r.out" "$dir/r.out"
		sort -o "$dir/t.out" "$dir/t.out"
	fi
	[ "$rs" = "$ts" ] || fail "'$*' exited $rs under udax run, $ts on the twin: $(cat "$dir/r.err")"
	cmp -s "$dir/r.out" "$dir/t.out" ||
		fail "'$*' printed differently: store: $(cat "$dir/r.out") twin: $(cat "$dir/t.out")"
	cmp -s "$dir/r.err" "$dir/t.err" ||
		fail "'$*' said differently: store: $(cat "$dir/r.err") twin: $(cat "$dir/t.err")"
}

both mkdir -p TOP/a/b/c
both mkdir TOP/a/e
both touch TOP/a/b/f TOP/a/g
both sh -c 'echo some text >TOP/a/b/c/t'
both cat TOP/a/b/c/t
both ls TOP TOP/a TOP/a/b
both ls -R TOP
both ls -F TOP/a
SORT=1 both find TOP
SORT=1 both find TOP -type f
both stat -c '%F %n' TOP/a TOP/a/b/c
both stat -c '%F %s %n' TOP/a/g TOP/a/b/c/t
both test -d TOP/a/b
both test -f TOP/a/b
both mkdir TOP/a
both mkdir TOP/none/x
both rmdir TOP/a
both rmdir TOP/a/g
both ls TOP/nothing
both ls TOP/a/g/
both mv TOP/a/b TOP/a/e
SORT=1 both find TOP
both mkdir TOP/x
both mv TOP/a/e/b TOP/x
SORT=1 both find TOP
both mv TOP/a TOP/a/e/inside
both cp -r "$dir/src" TOP/copy
SORT=1 both find TOP
both cmp "$dir/src/d1/d2/f2" TOP/copy/d1/d2/f2
# chdir into a store directory: relative paths start there (shell
# builtins only: a child would be a second process on the store).
# shellcheck disable=SC2016 # $x and $y are the inner shell's
both sh -c 'cd TOP/copy/d1 && echo new >d2/new && read -r x <f1 && echo "$x" && cd d2 && read -r y <new && echo "$y"'
both cat TOP/copy/d1/d2/new
# ".." out of a store working directory leads to the host again.
# shellcheck disable=SC2016 # $v is the inner shell's
both sh -c 'cd TOP/copy/d1 && cd ../.. && cd .. && echo out >outside && read -r v <outside && echo "$v"'
both rm TOP/copy/d1
both rm -r TOP/copy TOP/a/g
SORT=1 both find TOP
both rm -r TOP/a TOP/x
both ls -A TOP

expect_status 0 "$udax" fsck
grep -q clean "$dir/out" || fail "fsck: $(cat "$dir/out")"
expect_status 0 "$udax" ls
[ ! -s "$dir/out" ] || fail "entries left in the store: $(cat "$dir/out")"
echo "PASS $test_name: mkdir -p, touch, ls, find, stat, mv, cp -r, rmdir, rm -r agree with the twin"
