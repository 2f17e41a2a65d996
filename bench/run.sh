#!/usr/bin/env bash
# bench/run.sh [MiB] [RUNS]: udax's benchmark suite. In one run, in one
# directory (same file system), with the same sizes: `udax bench` (udax's
# side) beside bench/kernel_sparse.c (the kernel on the sparse workloads),
# bench/fsync_cost.c (udax_fsync vs msync) and, when UDAX_ANCHORS names a
# directory holding them, the kernel anchors (an optional cross-check, not
# part of the repository: native_fault.c: the kernel's
# default mmap and the minimal userfaultfd floors; native_best.c: the
# kernel's best configuration; sigbus_mapchunk.c: the ceiling of a
# lock-free, index-free design). Without them their figures are left out
# (shown as -), with a note; bench/matrix.sh compares udax with the
# kernel's mmap using only programs of the repository. RUNS rounds
# (default 5) after one untimed round that warms the
# VM's memory (first touch of guest memory is slow here). Prints a table
# of min/median/max, udax's ratios to the kernel's best, to its default
# mmap and to the userfaultfd floor (above 1: udax is faster), and writes
# build/bench/results.csv, build/bench/ratios.csv and, with gnuplot,
# build/bench/ratios.png. Not part of `make check`.
set -eu
cd "$(dirname "$0")/.."
mib=${1:-256}
runs=${2:-5}
anchors=${UDAX_ANCHORS:-}
out=build/bench
mkdir -p "$out"
make -s build/udax build/libudax.a
cc -O2 -Iinclude bench/fsync_cost.c build/libudax.a -lpthread -o "$out/fsync_cost"
cc -O2 bench/kernel_sparse.c -o "$out/kernel_sparse"
if [ -n "$anchors" ] && [ -d "$anchors" ]; then
	anchors_note=""
	for a in native_fault native_best sigbus_mapchunk; do
		cc -O2 "$anchors/$a.c" -lpthread -o "$out/$a"
	done
else
	anchors_note="note: no anchors (UDAX_ANCHORS unset or not a directory; an optional cross-check): the kernel's default mmap, best configuration, userfaultfd floors and the 64 MiB ceiling are left out (-)"
	echo "$anchors_note" >&2
fi
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/udax-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
rows=$out/rows.txt
: >"$rows"

progress() { printf '\r%-72s' "$*" >&2; }

# One round. $1 = 1 to keep the figures, 0 for the warm-up round.
round() {
	local keep=$1 label=$2 sink=/dev/null
	[ "$keep" = 1 ] && sink=$rows
	if [ -z "$anchors_note" ]; then
		progress "$label: kernel mmap and userfaultfd floors (native_fault)"
		"$out/native_fault" "$dir/anchor" "$mib" |
			awk '{ print $1, $2, $3, "pages/s" }' >>"$sink"
		progress "$label: kernel best (native_best)"
		"$out/native_best" "$dir/anchor" "$mib" |
			awk '{ print $1, $2, $3, "pages/s" }' >>"$sink"
		progress "$label: 64 MiB map+populate ceiling (sigbus_mapchunk)"
		"$out/sigbus_mapchunk" "$dir/anchor" "$mib" 64 |
			awk '{ print $1, "mapchunk-64M", $8, "pages/s" }' >>"$sink"
	fi
	progress "$label: kernel on sparse files (kernel_sparse)"
	"$out/kernel_sparse" "$dir/anchor" "$mib" >>"$sink"
	rm -f "$dir/anchor"
	progress "$label: udax (udax bench)"
	build/udax bench -m "$mib" -d "$dir" >>"$sink"
	progress "$label: udax single faults, SIGSEGV delivery"
	UDAX_DELIVERY=sigsegv build/udax bench -m "$mib" -d "$dir" fault-4k |
		awk '{ print $1, "udax-sigsegv", $3, $4 }' >>"$sink"
}

round 0 "warm-up (untimed)"
for ((r = 1; r <= runs; r++)); do
	round 1 "run $r/$runs"
done
progress "fsync: udax_fsync vs msync, $runs runs"
"$out/fsync_cost" "$dir" "$runs" | awk '{ print $1 "-" $3, $2, $4, "us" }' >>"$rows"
printf '\r%-72s\r' "" >&2

echo "udax benchmark, $(date -u +%Y-%m-%d), $mib MiB files, $runs runs after a warm-up run"
echo "machine: $(uname -sr), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(df -T "$out" | awk 'NR == 2 { print $2 }') at $(df "$out" | awk 'NR == 2 { print $6 }')"
[ -n "$anchors_note" ] && echo "$anchors_note"
awk -v csv="$out/results.csv" -v ratios="$out/ratios.csv" '
function sort(a, c,   i, j, t) {	# insertion sort, portable awk
	for (i = 2; i <= c; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
# Speed of row key relative to row base (above 1: key is faster).
function speedup(key, base) {
	if (!(key in med) || !(base in med) || med[key] == 0 || med[base] == 0) return ""
	return unit[key] ~ /^us/ ? med[base] / med[key] : med[key] / med[base]
}
function show(r) { return r == "" ? "     -" : sprintf("%6.2fx", r) }
{
	key = $1 " " $2
	if (!(key in v)) order[++keys] = key
	v[key] = v[key] " " $3
	unit[key] = $4
}
END {
	print "workload,who,unit,min,median,max,runs" > csv
	printf "%-12s %-13s %12s %12s %12s  %s\n", "workload", "who", "min", "median", "max", "unit"
	for (k = 1; k <= keys; k++) {
		key = order[k]
		c = split(v[key], x, " "); sort(x, c)
		med[key] = x[int((c + 1) / 2)]
		split(key, kw, " ")
		fmt = x[c] < 100 ? "%-12s %-13s %12.2f %12.2f %12.2f  %s\n" : "%-12s %-13s %12.0f %12.0f %12.0f  %s\n"
		printf fmt, kw[1], kw[2], x[1], med[key], x[c], unit[key]
		printf "%s,%s,%s,%s,%s,%s,%d\n", kw[1], kw[2], unit[key], x[1], med[key], x[c], c > csv
	}
	print ""
	print "udax speed relative to (medians; above 1: udax is faster):"
	printf "%-12s %13s %13s %13s %13s\n", "workload", "kernel best", "kernel mmap", "uffd floor", "other"
	print "workload,vs_kernel_best,vs_kernel_mmap,vs_uffd_floor" > ratios
	n = split("seq-read seq-write rand-write alloc-write sparse-read fault-4k threads-2 fsync-1 fsync-10000", w, " ")
	for (i = 1; i <= n; i++) {
		u = w[i] " udax"
		if (!(u in med)) continue
		best = speedup(u, w[i] " native-best"); mmap = speedup(u, w[i] " native")
		floor = speedup(u, w[i] " uffd-map-1"); other = ""
		if (w[i] == "alloc-write") floor = speedup(u, "seq-write uffd-map-1")
		if (w[i] == "fault-4k") {	# the floor: one uffd fault per page, seq-read
			if ("seq-read uffd-map-1" in med) floor = med[u] == 0 ? "" : (1e6 / med["seq-read uffd-map-1"]) / med[u]
			other = sprintf("sigsegv %s", show(speedup(u, "fault-4k udax-sigsegv")))
		}
		if (w[i] ~ /^fsync/) mmap = speedup(u, w[i] " kernel-msync")
		if (w[i] == "threads-2") other = sprintf("1 thread %s", show(speedup(u, "threads-1 udax")))
		if (w[i] ~ /^seq|^rand/) other = sprintf("64M ceiling %s", show(speedup(u, w[i] " mapchunk-64M")))
		printf "%-12s %13s %13s %13s   %s\n", w[i], show(best), show(mmap), show(floor), other
		printf "%s,%s,%s,%s\n", w[i], best, mmap, floor > ratios
	}
	if (("index-4k udax" in med) && ("index-2m udax" in med))
		printf "\nindex memory per touched page: %.2f bytes with 4 KiB entries (%.3f%% of the page), %.2f with 2 MiB entries\n",
			med["index-4k udax"], med["index-4k udax"] / 40.96, med["index-2m udax"]
}' "$rows"
echo
echo "files: $out/results.csv $out/ratios.csv"
if command -v gnuplot >/dev/null; then
	gnuplot <<EOF
set terminal pngcairo size 1000,520 noenhanced
set output "$out/ratios.png"
set datafile separator ","
set title "udax speed relative to the kernel (median of $runs runs, $mib MiB; above 1: udax faster)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 10
set yrange [0.1:3000]
set grid ytics
set key top right
set xtics rotate by -30
plot "$out/ratios.csv" every ::1 using 2:xtic(1) title "vs kernel best", \
     "" every ::1 using 3 title "vs kernel mmap (or msync)", \
     "" every ::1 using 4 title "vs userfaultfd floor", \
     1 with lines lc rgb "black" notitle
EOF
	echo "plot: $out/ratios.png"
else
	echo "plot: skipped (install gnuplot for build/bench/ratios.png)"
fi
