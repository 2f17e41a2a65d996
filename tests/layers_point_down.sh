#!/usr/bin/env bash
# layers_point_down: every dependency of the library points down its
# layers (docs/ARCHITECTURE.md), and no two files depend on each other in a
# circle. Checked twice: the #include lines of src/ and tools/, and the
# symbols each object of the build uses (nm), which also catches a call
# declared by hand. The rules are first applied to known-bad input, so the
# check is shown able to fail. Exit 0 pass, 1 fail, 77 skip (no nm/tsort).
set -u
build=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$build/.." && pwd)
[ -d "$root/src/base" ] || root=$(cd "$build/../.." && pwd)
command -v nm >/dev/null && command -v tsort >/dev/null || { echo "SKIP: no nm or tsort"; exit 77; }

# What each layer may use besides itself, lowest first.
declare -A may_use=(
	[base]=""
	[xproc]="base"
	[index]="base xproc"
	[store]="base xproc"
	[mm]="base xproc index store"
	[fault]="base xproc index store mm"
	[delivery]="base xproc index store mm fault"
	[api]="base xproc index store mm fault delivery"
	[preload]="api"
)
errors=()

# allowed FROM TO: whether layer FROM may use layer TO.
allowed() {
	[ "$1" = "$2" ] && return 0
	[ -n "${may_use[$1]+set}" ] || return 1
	case " ${may_use[$1]} " in *" $2 "*) return 0 ;; esac
	return 1
}

# The rules must reject what they exist to reject.
allowed index fault && { echo "FAIL: the rules let index use fault"; exit 1; }
allowed mm delivery && { echo "FAIL: the rules let mm use delivery"; exit 1; }
allowed fault delivery && { echo "FAIL: the rules let fault use delivery"; exit 1; }
allowed nosuch base && { echo "FAIL: the rules let an unknown layer use base"; exit 1; }
printf 'a b\nb a\n' | tsort >/dev/null 2>&1 && { echo "FAIL: tsort does not report a loop"; exit 1; }

# 1. Includes. src/LAYER/x includes "LAYER2/y.h" (or the public "udax.h");
# tools/ includes only "udax.h" and its own headers.
for layer_dir in "$root"/src/*/; do
	layer=$(basename "$layer_dir")
	[ -n "${may_use[$layer]+set}" ] || errors+=("src/$layer/: a folder that is no layer")
	for f in "$layer_dir"*.[ch]; do
		while IFS= read -r inc; do
			case $inc in
			udax.h) ;;
			*/*) to=${inc%%/*}
			     [ -f "$root/src/$inc" ] || errors+=("${f#"$root"/}: includes missing \"$inc\"")
			     allowed "$layer" "$to" || errors+=("${f#"$root"/}: $layer includes $to (\"$inc\")") ;;
			*) errors+=("${f#"$root"/}: \"$inc\" does not name its layer") ;;
			esac
		done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
	done
done
for f in "$root"/tools/*.[ch]; do
	while IFS= read -r inc; do
		[ "$inc" = udax.h ] || [ -f "$root/tools/$inc" ] ||
			errors+=("${f#"$root"/}: the CLI includes \"$inc\" (only udax.h and tools/)")
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done

# 2. Symbols: for each object, the objects defining what it uses. The
# preload shim's definitions are left out: the libc calls it interposes
# (open, mmap, ...) are libc's for the library, whose own copy in the shim
# calls libc directly (src/preload/libc_redirect.syms); they count only for
# the shim's own files. The shim uses only the public calls of udax.h.
objs=()
for o in "$build"/src/*/*.o; do	# not the objects of files moved or deleted since
	rel=${o#"$build"/src/}
	[ -f "$root/src/${rel%.o}.c" ] && objs+=("$o")
done
((${#objs[@]})) || { echo "FAIL: no objects under $build/src"; exit 1; }
declare -A defined_in=() preload_defined_in=()
for o in "${objs[@]}"; do
	rel=${o#"$build"/src/}
	while read -r sym; do
		if [ "${rel%%/*}" = preload ]; then
			preload_defined_in[$sym]=$rel
		else
			defined_in[$sym]=$rel
		fi
	done < <(nm --defined-only "$o" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }')
done
edges=""
for o in "${objs[@]}"; do
	rel=${o#"$build"/src/}
	from=${rel%%/*}
	while read -r sym; do
		to_obj=${defined_in[$sym]-}
		[ "$from" = preload ] && [ -z "$to_obj" ] && to_obj=${preload_defined_in[$sym]-}
		[ -n "$to_obj" ] && [ "$to_obj" != "$rel" ] || continue
		to=${to_obj%%/*}
		allowed "$from" "$to" || errors+=("$rel uses $sym of $to_obj: $from may not use $to")
		[ "$from" != preload ] || [ "$to" = preload ] || [ "${sym#udax_}" != "$sym" ] ||
			errors+=("$rel uses $sym of $to_obj: the shim may use only udax.h")
		edges+="$rel $to_obj"$'\n'
	done < <(nm --undefined-only "$o" | awk '{ print $2 }')
done

# 3. No circle between files.
if ! loop=$(printf '%s' "$edges" | sort -u | tsort 2>&1 >/dev/null) || [ -n "$loop" ]; then
	errors+=("files that depend on each other in a circle: $(echo "$loop" | tr '\n' ' ')")
fi

if ((${#errors[@]})); then
	printf 'FAIL layers_point_down: %s\n' "${errors[@]}"
	exit 1
fi
echo "layers_point_down: ${#objs[@]} objects, $(printf '%s' "$edges" | sort -u | wc -l) file dependencies, all pointing down"
