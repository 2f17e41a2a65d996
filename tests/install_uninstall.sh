#!/usr/bin/env bash
# install_uninstall: `make install` into a staging root (DESTDIR) puts
# exactly the expected files where PREFIX, LIBDIR, INCLUDEDIR, BINDIR and
# MANDIR say (a Debian multiarch layout, then every directory moved): the
# shared library as libudax.so.VERSION (soname libudax.so.0) with the
# libudax.so.0 and libudax.so links to it; udax.pc giving those directories,
# so that a program built with `pkg-config --cflags --libs udax` links and
# runs against the staged tree; `make uninstall` with the same variables
# removes all of it and nothing else. Exit 0 pass, 1 fail, 77 skip (no
# pkg-config: the rest is checked first).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$here/.." && pwd)
version=$(sed -n 's/^#define UDAX_VERSION "\(.*\)"$/\1/p' "$src/include/udax.h")
dir=$(mktemp -d "${TMPDIR:-/tmp}/udax-install-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL install_uninstall: $*"; exit 1; }
for t in make readelf; do
	command -v $t >/dev/null || { echo "SKIP: no $t"; exit 77; }
done
[ -n "$version" ] || fail "no UDAX_VERSION in $src/include/udax.h"
have_pkg_config=1
command -v pkg-config >/dev/null || have_pkg_config=0

# make in the source tree with this build directory (built already: install
# compiles nothing), without the calling make's flags and jobserver.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$src" BUILD="$here" "$@" \
		>"$dir/log" 2>&1 || fail "make $*: $(cat "$dir/log")"
}

# The files and links under $root, relative to it, sorted.
installed() { (cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./|/|' | sort); }

# check_layout BIN LIB INC MAN: the staged files are exactly udax's.
check_layout() {
	local bin=$1 lib=$2 inc=$3 man=$4 m want
	want=$( {
		echo "$bin/udax" "$lib/libudax.a" "$lib/libudax.so" "$lib/libudax.so.0" \
			"$lib/libudax.so.$version" "$lib/libudax-preload.so" \
			"$lib/pkgconfig/udax.pc" "$inc/udax.h" \
			"$lib/libother.so" "$man/man3/other.3"
		for m in "$src"/man/*.3; do echo "$man/man3/${m##*/}"; done
		for m in "$src"/man/*.1; do echo "$man/man1/${m##*/}"; done
	} | tr ' ' '\n' | sort)
	[ "$(installed)" = "$want" ] ||
		fail "installed files differ: $(diff <(echo "$want") <(installed) | tr '\n' ' ')"
	[ -f "$root$lib/libudax.so.$version" ] && [ ! -L "$root$lib/libudax.so.$version" ] ||
		fail "libudax.so.$version is not a regular file"
	for m in libudax.so.0 libudax.so; do
		[ "$(readlink "$root$lib/$m")" = "libudax.so.$version" ] ||
			fail "$m -> '$(readlink "$root$lib/$m")', expected libudax.so.$version"
	done
	readelf -d "$root$lib/libudax.so.$version" | grep -q 'SONAME.*\[libudax\.so\.0\]' ||
		fail "soname of libudax.so.$version is not libudax.so.0"
	cmp -s "$src/include/udax.h" "$root$inc/udax.h" || fail "udax.h differs"
}

# check_pkg_config LIB INC: udax.pc names LIB and INC; a program built with
# its flags links libudax.so.0 from the staged tree and runs.
check_pkg_config() {
	local lib=$1 inc=$2 pc flags
	((have_pkg_config)) || return 0
	pc=(env PKG_CONFIG_PATH="$root$lib/pkgconfig" PKG_CONFIG_LIBDIR=/nonexistent pkg-config)
	[ "$("${pc[@]}" --modversion udax)" = "$version" ] || fail "pkg-config --modversion"
	[ "$("${pc[@]}" --variable=libdir udax)" = "$lib" ] ||
		fail "udax.pc libdir: $("${pc[@]}" --variable=libdir udax), expected $lib"
	[ "$("${pc[@]}" --variable=includedir udax)" = "$inc" ] ||
		fail "udax.pc includedir: $("${pc[@]}" --variable=includedir udax), expected $inc"
	flags=$(PKG_CONFIG_SYSROOT_DIR=$root "${pc[@]}" --cflags --libs udax) ||
		fail "pkg-config --cflags --libs udax failed"
	# shellcheck disable=SC2086 # flags are words
	${UDAX_TEST_CC:-cc} "$dir/p.c" -o "$dir/p" $flags || fail "cannot build with: $flags"
	readelf -d "$dir/p" | grep -q 'NEEDED.*\[libudax\.so\.0\]' ||
		fail "the program does not need libudax.so.0"
	rm -f "$dir/store"
	LD_LIBRARY_PATH=$root$lib "$dir/p" "$dir/store" || fail "the program failed"
}

cat >"$dir/p.c" <<'C'
#include <stdio.h>
#include <udax.h>
int main(int argc, char **argv)
{
	struct udax_store *s;
	(void)argc;
	if (udax_store_create(argv[1], 8 << 20, 0) || udax_store_open(argv[1], 0, &s))
		return 1;
	return udax_store_close(s) ? 1 : 0;
}
C

# run_case BIN LIB INC MAN MAKE-VARIABLES...
run_case() {
	local bin=$1 lib=$2 inc=$3 man=$4
	shift 4
	root=$dir/root
	rm -rf "$root"
	# Files of other packages in the same directories, which uninstall keeps.
	mkdir -p "$root$lib" "$root$man/man3"
	echo other >"$root$lib/libother.so"
	echo other >"$root$man/man3/other.3"
	mk install DESTDIR="$root" "$@"
	check_layout "$bin" "$lib" "$inc" "$man"
	check_pkg_config "$lib" "$inc"
	# A second install over the first (an upgrade) leaves the same tree.
	mk install DESTDIR="$root" "$@"
	check_layout "$bin" "$lib" "$inc" "$man"
	mk uninstall DESTDIR="$root" "$@"
	[ "$(installed)" = "$(printf '%s\n' "$lib/libother.so" "$man/man3/other.3" | sort)" ] ||
		fail "after uninstall $*: $(installed | tr '\n' ' ')"
}

run_case /usr/bin /usr/lib/x86_64-linux-gnu /usr/include /usr/share/man \
	PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu
run_case /opt/u/sbin /opt/u/lib64 /opt/inc /opt/man \
	PREFIX=/opt/u BINDIR=/opt/u/sbin LIBDIR=/opt/u/lib64 INCLUDEDIR=/opt/inc MANDIR=/opt/man
run_case /usr/local/bin /usr/local/lib /usr/local/include /usr/local/share/man
((have_pkg_config)) || { echo "SKIP: no pkg-config (all else passed)"; exit 77; }
echo "PASS install_uninstall"
