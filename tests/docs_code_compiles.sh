#!/usr/bin/env bash
# docs_code_compiles: every C code block of the documentation compiles and
# links against the build's libudax.a and include/udax.h, and every man
# page renders on its own, without warnings.
#
# Blocks: each ```c fence of README.md, and each .EX/.EE block of the man
# pages (man/*.3 puts them in EXAMPLES). A block with a main() is compiled
# as it is; any other is a fragment: its #include lines go first and the
# rest becomes the body of main(). Roff escapes in man blocks (\e \- \(aq
# \& \[rs]) are turned back into C. Compiled with $UDAX_TEST_CC (the
# build's compiler and flags) -std=c11 -Wall -Wextra -Werror. A block whose
# main takes (int argc, char **argv) is a whole example program: it is run
# with the path of a store that does not exist yet as argv[1], and must
# exit 0.
# Pages: `man --warnings -l PAGE` from an empty directory (no MANPATH,
# no .so links to follow) prints nothing on stderr; each function that
# include/udax.h exports has its own page naming it.
# Exit 0 pass, 1 fail (naming the block or page), 77 skip (man absent: the
# blocks were compiled and passed, the pages not rendered).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$here/.." && pwd)
[ -f "$src/include/udax.h" ] || src=$(cd "$here/../.." && pwd)
lib=$here/libudax.a
fail() { echo "FAIL docs_code_compiles: $*"; exit 1; }
[ -f "$src/include/udax.h" ] || fail "no include/udax.h above $here"
[ -f "$lib" ] || fail "no $lib"
dir=$(mktemp -d "${TMPDIR:-/tmp}/udax-docs-XXXXXX")
trap 'rm -rf "$dir"' EXIT

# Write the blocks of one file as $dir/blocks/NAME.LINE.c (LINE: where the
# block starts in the file).
extract() {
	local file=$1 name
	name=$(basename "$file")
	case $file in
	*.md)
		awk -v out="$dir/blocks/$name" '
			/^```c[ \t]*$/ { f = out "." NR + 1 ".c"; on = 1; next }
			on && /^```/ { on = 0; close(f); next }
			on { print > f }' "$file" ;;
	*)
		awk -v out="$dir/blocks/$name" '
			/^\.EX/ { f = out "." NR + 1 ".c"; on = 1; next }
			on && /^\.EE/ { on = 0; close(f); next }
			on {
				gsub(/\\e/, "\\"); gsub(/\\-/, "-"); gsub(/\\\(aq/, "\047")
				gsub(/\\\[rs\]/, "\\"); gsub(/\\&/, "")
				print > f
			}' "$file" ;;
	esac
}

mkdir -p "$dir/blocks" "$dir/bin"
extract "$src/README.md"
for page in "$src"/man/*.[0-9]; do
	extract "$page"
done
blocks=0 runs=0
for b in "$dir"/blocks/*.c; do
	[ -e "$b" ] || break
	tu=$dir/bin/tu.c
	if grep -q 'main(' "$b"; then
		cp "$b" "$tu"
	else
		{
			grep '^#include' "$b"
			echo 'int main(void)'
			echo '{'
			grep -v '^#include' "$b"
			echo 'return 0;'
			echo '}'
		} >"$tu"
	fi
	where=$(basename "$b" .c)	# README.md.46 -> line 46 of README.md
	${UDAX_TEST_CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$src/include" "$tu" "$lib" \
		-pthread -o "$dir/bin/prog" >"$dir/cc.out" 2>&1 ||
		fail "the block at ${where%.*} line ${where##*.} does not compile:" \
			"$(head -n 20 "$dir/cc.out")"
	if grep -q 'main(int argc, char \*\*argv)' "$b"; then
		rm -rf "$dir/run" && mkdir "$dir/run"
		timeout 60 "$dir/bin/prog" "$dir/run/store.udax" >"$dir/run.out" 2>&1 ||
			fail "the program at ${where%.*} line ${where##*.} exits $?:" \
				"$(head -n 20 "$dir/run.out")"
		runs=$((runs + 1))
	fi
	blocks=$((blocks + 1))
done
[ "$blocks" -gt 0 ] || fail "no code block found"

# Each exported function has a page of its own that names it.
for fn in $(grep -Eo '^UDAX_API [^(]*\(' "$src/include/udax.h" | grep -Eo 'udax_[a-z_]+'); do
	page=$src/man/$fn.3
	[ -f "$page" ] || fail "no man/$fn.3"
	grep -q '^\.so' "$page" && fail "man/$fn.3 is a .so link, not a page"
	sed -n '/^\.SH NAME/,/^\.SH/p' "$page" | grep -q "$fn" ||
		fail "man/$fn.3: its NAME section does not name $fn"
done

if ! command -v man >/dev/null; then
	echo "SKIP: $blocks code blocks compile ($runs run); man absent, pages not rendered"
	exit 77
fi
pages=0
for page in "$src"/man/*.[0-9]; do
	(cd "$dir" && MANWIDTH=80 man --warnings -l "$page" >/dev/null 2>"$dir/man.err")
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$dir/man.err" ] ||
		fail "man --warnings -l man/$(basename "$page") (exit $rc): $(head -n 5 "$dir/man.err")"
	pages=$((pages + 1))
done
echo "PASS docs_code_compiles ($blocks code blocks, $runs of them run; $pages pages)"
