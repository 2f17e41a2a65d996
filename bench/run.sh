#!/usr/bin/env bash
# bench/run.sh [MiB] [RUNS]: udax's first-touch fault throughput beside the
# kernel's own mmap and the minimal userfaultfd handler of
# ../shared/anchors/native_fault.c, and udax_fsync of 1 and 10^4 dirty pages
# beside the kernel's msync(MS_SYNC) of the same pages, in the same run, in
# the same directory (same file system) as udax's store. Prints
# min/median/max of RUNS runs per figure and udax's ratio to each anchor.
# Not part of `make check`.
set -eu
cd "$(dirname "$0")/.."
mib=${1:-256}
runs=${2:-5}
anchors=${UDAX_ANCHORS:-../shared/anchors}
out=build/bench
mkdir -p "$out"
make -s build/libudax.a
cc -O2 -Iinclude bench/fault_throughput.c build/libudax.a -lpthread -o "$out/fault_throughput"
cc -O2 -Iinclude bench/fsync_cost.c build/libudax.a -lpthread -o "$out/fsync_cost"
cc -O2 -Iinclude bench/fault_latency.c build/libudax.a -lpthread -o "$out/fault_latency"
cc -O2 "$anchors/native_fault.c" -lpthread -o "$out/native_fault"
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/udax-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
# Warm the VM's memory first: first touch of guest memory is slow here.
"$out/fault_throughput" "$dir" "$mib" >/dev/null
: >"$dir/rows"
for ((r = 1; r <= runs; r++)); do
	printf 'run %d/%d\r' "$r" "$runs" >&2
	"$out/native_fault" "$dir/anchor-file" "$mib" | awk '{ print $1, $2, $3 }' >>"$dir/rows"
	"$out/fault_throughput" "$dir" "$mib" | awk '{ print $1, $2, $3 }' >>"$dir/rows"
	rm -f "$dir/anchor-file"
	for mode in userfaultfd sigsegv; do
		UDAX_DELIVERY=$mode "$out/fault_latency" "$dir" >>"$dir/rows"
	done
done
"$out/fsync_cost" "$dir" "$runs" | awk '{ print $1 "-" $3, $2, $4 }' >>"$dir/rows"
echo "pages/s for faults; microseconds for fsync-N (N dirty pages) and us-* (one fault);"
echo "vmas-*: VMAs of a 16,384-page mapping after the pattern"
printf '%-14s %-12s %10s %10s %10s\n' workload who min median max
awk '
function sort(a, c,   i, j, t) {	# insertion sort, portable awk
	for (i = 2; i <= c; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
{
	key = $1 " " $2
	if (!(key in v)) order[++keys] = key
	v[key] = v[key] " " $3
}
END {
	for (k = 1; k <= keys; k++) {
		key = order[k]
		c = split(v[key], x, " "); sort(x, c)
		med[key] = x[int((c + 1) / 2)]
		split(key, kw, " ")
		fmt = x[c] < 100 ? "%-14s %-12s %10.2f %10.2f %10.2f\n" : "%-14s %-12s %10.0f %10.0f %10.0f\n"
		printf fmt, kw[1], kw[2], x[1], med[key], x[c]
	}
	print ""
	n = split("seq-read seq-write rand-write alloc-write fsync-1 fsync-10000", w, " ")
	for (i = 1; i <= n; i++) {
		u = w[i] " udax"
		if (!(u in med)) continue
		if (w[i] ~ /^fsync/) {
			printf "%-11s udax time / kernel msync time %.2fx (lower is better)\n", w[i],
				med[u] / med[w[i] " kernel-msync"]
			continue
		}
		base = (w[i] == "alloc-write") ? "seq-write" : w[i]
		printf "%-11s udax/kernel-mmap %.2fx  udax/uffd-floor %.2fx\n", w[i],
			med[u] / med[base " native"], med[u] / med[base " uffd-map-1"]
	}
}' "$dir/rows"
