#!/usr/bin/env bash
# shim_never_reenters: libudax-preload.so exports the calls it interposes
# (open, read, mmap, ...), and its copy of the library never calls one of
# them by name: each libc call of the library objects is renamed to the
# shim's pass-through (src/preload/libc_redirect.syms), so udax's own
# syscalls (in its fault handler too) never enter the shim. A libc call
# added to the library that the shim also interposes, without a line in
# libc_redirect.syms, fails here. Exit 0 pass, 1 fail, 77 skip (no nm).
set -u
build=$(cd "$(dirname "$0")/.." && pwd)
lib=$build/libudax-preload.so
command -v nm >/dev/null || { echo "SKIP: no nm"; exit 77; }
[ -f "$lib" ] || { echo "FAIL shim_never_reenters: no $lib"; exit 1; }

exported=$(nm -D --defined-only "$lib" | awk '{ print $3 }' | sort -u)
for sym in open openat read write pread pwrite mmap munmap msync fstat stat close dup2 \
	fcntl lseek ftruncate fsync unlink rename fopen; do
	grep -qx "$sym" <<<"$exported" || { echo "FAIL shim_never_reenters: $sym not exported"; exit 1; }
done
if grep -q '^udax_' <<<"$exported"; then
	echo "FAIL shim_never_reenters: the shim exports the library's calls"; exit 1
fi
objs=("$build"/preload-lib/*/*.o)
[ -f "${objs[0]}" ] || { echo "FAIL shim_never_reenters: no objects in $build/preload-lib"; exit 1; }
used=$(for o in "${objs[@]}"; do nm --undefined-only "$o" | awk '{ print $2 }'; done | sort -u)
both=$(comm -12 <(echo "$exported") <(echo "$used"))
if [ -n "$both" ]; then
	echo "FAIL shim_never_reenters: the library's copy calls interposed functions:" $both
	exit 1
fi
echo "shim_never_reenters: $(wc -l <<<"$exported") calls interposed, none called by the library"
