#!/usr/bin/env bash
# bench/matrix.sh [MiB] [RUNS]: the benchmark matrix of issue 11. udax
# against the kernel's own mmap of a host file prepared the same way, in
# the same directory (same file system), for every
#   preparation  a file of MiB (default 64) written by pwrite in 4 KiB,
#                64 KiB, 1 MiB, 4 MiB pieces, by fallocate, or copied in
#                (`udax put` vs cp + sync), then fsync'd
#   cache        warm (right after the preparation) or cold (sync and
#                drop_caches between preparation and run: root only)
#   workload     seq-read, seq-write, rand-read, rand-write: every 4 KiB
#                page touched once through a fresh mapping, 1 and 2 threads
#                (pages/s of the touch loop only)
# and beside it: a database-like run (10^4 random 8-byte writes, udax_fsync
# vs msync(MS_SYNC) of the mapping every 100), fill speed (1 MiB pwrites +
# fsync; udax put vs cp + sync) and fsync cost (bench/fsync_cost.c).
# Every cell: one untimed warm-up round, then RUNS (default 5) rounds, each
# udax then kernel, each run on a fresh preparation; min/median/max of both
# and ratio = udax median / kernel median (above 1: udax is faster; every
# figure is a rate). The C sides: bench/matrix_udax.c (public API only),
# bench/matrix_kernel.c (open/pwrite/fallocate/mmap), bench/matrix_common.h.
#
# Output, in build/bench (or $OUT, to keep a run to compare with):
# matrix.csv (one row per cell), matrix.md (the tables, also printed),
# matrix.png (gnuplot, if installed: apt-get install gnuplot-nox),
# matrix-raw.txt (every run) and matrix-log.txt (udax's fault counters and
# the FilePmdMapped of each run). Needs gcc (or cc), make, coreutils.
#
# Environment: QUICK=1 (RUNS 1 unless given: a development run),
# SEED (random pages, default 11), KHUGE=1 (also the kernel's mmap with
# MADV_HUGEPAGE, 2 MiB-aligned, as a third side), NOCOLD=1, and to measure
# a part only: PREPS, CACHES, WORKLOADS, THREADS (space-separated lists of
# the names above), EXTRAS (db fill fsync, or "" for none). TMPDIR: where
# the files go (default /var/tmp). Not part of `make check`.
set -eu
export LC_ALL=C
cd "$(dirname "$0")/.."
mib=${1:-64}
if [ "${QUICK:-0}" = 1 ]; then runs=${2:-1}; else runs=${2:-5}; fi
seed=${SEED:-11}
preps=${PREPS:-pwrite-4K pwrite-64K pwrite-1M pwrite-4M fallocate put}
caches=${CACHES:-warm cold}
workloads=${WORKLOADS:-seq-read seq-write rand-read rand-write}
threads=${THREADS:-1 2}
extras=${EXTRAS-db fill fsync}
sides="udax kernel"
[ "${KHUGE:-0}" = 1 ] && sides="udax kernel kernel-huge"
timeout_s=600		# one command; a hung run counts as failed

out=${OUT:-build/bench}
mkdir -p "$out"
make -s -j2 build/udax build/libudax.a
cflags="-std=c11 -O2 -Wall -Wextra -Werror"
cc $cflags -Iinclude bench/matrix_udax.c build/libudax.a -lpthread -o "$out/matrix_udax"
cc $cflags bench/matrix_kernel.c -lpthread -o "$out/matrix_kernel"
cc -O2 -Iinclude bench/fsync_cost.c build/libudax.a -lpthread -o "$out/fsync_cost"
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/udax-matrix-XXXXXX")
trap 'rm -rf "$dir"' EXIT
store=$dir/store.udax host=$dir/host source=$dir/source
raw=$out/matrix-raw.txt log=$out/matrix-log.txt
: >"$raw"
: >"$log"

if [ "${NOCOLD:-0}" = 1 ]; then
	cold_skip="NOCOLD=1"
elif [ "$(id -u)" != 0 ]; then
	cold_skip="not root (cold needs echo 3 > /proc/sys/vm/drop_caches)"
elif ! (sync && echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
	cold_skip="/proc/sys/vm/drop_caches is not writable here"
else
	cold_skip=""
fi
if [ -n "$cold_skip" ]; then
	case " $caches " in *" cold "*) echo "note: cold rows skipped: $cold_skip" >&2 ;; esac
	caches=$(echo " $caches " | sed 's/ cold / /; s/^ *//; s/ *$//')
fi

# The host file that put and cp copy: MiB of 1 MiB pwrites.
"$out/matrix_kernel" prep "$source" pwrite-1M "$mib" >/dev/null

drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }

# Run a command of a measurement, its stderr to the log, bounded in time.
step() { timeout "$timeout_s" "$@" 2>>"$log"; }

# prepare SIDE PREP: the file of SIDE, fresh, as PREP writes it.
prepare() {
	case $1/$2 in
	udax/put) step "$out/matrix_udax" create "$store" "$mib" &&
		step build/udax -s "$store" put "$source" f ;;
	udax/*) step "$out/matrix_udax" prep "$store" "$2" "$mib" >/dev/null ;;
	kernel*/put) rm -f "$host" && step cp "$source" "$host" && step sync "$host" ;;
	kernel*/*) step "$out/matrix_kernel" prep "$host" "$2" "$mib" >/dev/null ;;
	esac
}

# measure SIDE PREP CACHE WORKLOAD THREADS: prints the rate of one run.
measure() {
	local side=$1 prep=$2 cache=$3 work=$4 nthr=$5
	local file=$host prog=$out/matrix_kernel huge=""

	case $side in
	udax) file=$store prog=$out/matrix_udax ;;
	kernel-huge) huge=huge ;;
	esac
	prepare "$side" "$prep" || return 1
	if [ "$cache" = cold ]; then
		drop_caches || return 1
	fi
	if [ "$work" = db ]; then
		step "$prog" db "$file" "$seed" $huge
	else
		step "$prog" run "$file" "$work" "$nthr" "$seed" $huge
	fi
}

# rate T0 T1: prints the bytes/s of a fill of MiB from T0 to T1 (seconds).
rate() { awk -v b=$((mib << 20)) -v t0="$1" -v t1="$2" 'BEGIN { printf "%.0f\n", b / (t1 - t0) }'; }

# fill SIDE WHAT: prints the bytes/s of one fill of a fresh file.
fill() {
	local t0 t1

	case $1/$2 in
	udax/pwrite-1M) step "$out/matrix_udax" prep "$store" pwrite-1M "$mib" ;;
	kernel/pwrite-1M) step "$out/matrix_kernel" prep "$host" pwrite-1M "$mib" ;;
	udax/put)
		step "$out/matrix_udax" create "$store" "$mib" || return 1
		t0=$EPOCHREALTIME
		step build/udax -s "$store" put "$source" f || return 1
		t1=$EPOCHREALTIME
		rate $t0 $t1 ;;
	kernel/put)
		rm -f "$host"
		t0=$EPOCHREALTIME
		step cp "$source" "$host" && step sync "$host" || return 1
		t1=$EPOCHREALTIME
		rate $t0 $t1 ;;
	esac
}

# The cells, in order: PREP CACHE WORKLOAD THREADS UNIT.
cells=()
for prep in $preps; do
	for cache in $caches; do
		for work in $workloads; do
			for n in $threads; do
				cells+=("$prep $cache $work $n pages/s")
			done
		done
	done
done
case " $extras " in *" db "*)
	for cache in $caches; do
		cells+=("pwrite-1M $cache db 1 writes/s")
	done ;;
esac
case " $extras " in *" fill "*)
	cells+=("fill - pwrite-1M 1 bytes/s" "fill - put 1 bytes/s") ;;
esac
do_fsync=0
case " $extras " in *" fsync "*) do_fsync=1 ;; esac

start=$SECONDS
progress() {
	local done=$1 total=$(( ${#cells[@]} + do_fsync )) el=$((SECONDS - start)) eta=""

	[ "$done" -gt 0 ] && eta=$(printf ', about %d min left' $(( (el * (total - done) / done + 59) / 60 )))
	printf '\r%-100s' "[$((done + 1))/$total] $2 (${el}s$eta)" >&2
}

failed=0
i=0
for cell in "${cells[@]}"; do
	read -r prep cache work n unit <<<"$cell"
	for ((r = 0; r <= runs; r++)); do
		for side in $sides; do
			progress "$i" "$prep $cache $work x$n: $([ $r = 0 ] && echo warm-up || echo "run $r/$runs") $side"
			echo "== $prep $cache $work $n $side run $r" >>"$log"
			if [ "$prep" = fill ]; then
				[ "$side" = kernel-huge ] && continue
				v=$(fill "$side" "$work") || v=""
			else
				v=$(measure "$side" "$prep" "$cache" "$work" "$n") || v=""
			fi
			if [ -z "$v" ]; then
				echo "$prep $cache $work x$n $side run $r: failed (see $log)" >>"$log"
				failed=$((failed + 1))
			elif [ "$r" -gt 0 ]; then
				echo "$prep $cache $work $n $side $r $v $unit" >>"$raw"
			fi
		done
	done
	i=$((i + 1))
done
if [ "$do_fsync" = 1 ]; then
	progress "$i" "fsync: udax_fsync vs msync (bench/fsync_cost.c)"
	# Its first round is the warm-up; rates: pages made durable per second.
	if step "$out/fsync_cost" "$dir" $((runs + 1)) >"$dir/fsync.txt"; then
		awk '{ side = $2 == "udax" ? "udax" : "kernel"; k = side " " $3; r = ++seen[k] - 1
		       if (r > 0) printf "fsync - fsync-%s 1 %s %d %.0f pages/s\n", $3, side, r, $3 / ($4 * 1e-6) }' \
			"$dir/fsync.txt" >>"$raw"
	else
		echo "fsync_cost failed (see $log)" >>"$log"
		failed=$((failed + 1))
	fi
fi
printf '\r%-100s\r' "" >&2
elapsed=$((SECONDS - start))

{
echo "udax benchmark matrix, $(date -u +%Y-%m-%d), udax $(git describe --always --dirty 2>/dev/null || echo '?')"
echo "machine: $(uname -sr), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(df -T "$dir" | awk 'NR == 2 { print $2 }') at $(df "$dir" | awk 'NR == 2 { print $6 }')"
echo "$mib MiB files; per cell and side: 1 warm-up run, then $runs timed; seed $seed; took ${elapsed}s${cold_skip:+; cold rows skipped: $cold_skip}"
} >"$out/matrix.md"

awk -v csv="$out/matrix.csv" -v md="$out/matrix.md" -v plotm="$dir/plot-matrix.dat" \
    -v ploto="$dir/plot-other.dat" -v mib="$mib" '
function sort(a, c,   i, j, t) {	# insertion sort, portable awk
	for (i = 2; i <= c; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
# Sets lo, med, hi of the runs of cell k, side s; returns the count.
function stats(k, s,   c, x) {
	lo = med = hi = ""
	if (!((k, s) in vals)) return 0
	c = split(vals[k, s], x, " "); sort(x, c)
	lo = x[1]; hi = x[c]
	med = c % 2 ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
	return c
}
# Min and max of the ratios of the runs paired by round (udax run r / side
# run r): rlo, rhi. The ratio of the medians always lies between them.
function paired(k, s,   r, q) {
	rlo = rhi = ""
	for (r = 1; r <= maxrun; r++) {
		if (!((k, "udax", r) in run) || !((k, s, r) in run) || run[k, s, r] == 0) continue
		q = run[k, "udax", r] / run[k, s, r]
		if (rlo == "" || q < rlo) rlo = q
		if (rhi == "" || q > rhi) rhi = q
	}
}
function m(v) { return v == "" ? "-" : sprintf(v >= 1e8 ? "%.0f" : v >= 1e7 ? "%.1f" : "%.2f", v / 1e6) }
# A rate for people: bytes/s as MB/s, else k or M of the unit.
function rate(v, u) {
	if (v == "") return "-"
	if (u == "bytes/s") return sprintf("%.0f MB/s", v / 1e6)
	return (v >= 1e6 ? sprintf("%.2fM", v / 1e6) : v >= 1e3 ? sprintf("%.1fk", v / 1e3) : sprintf("%.0f", v)) " " u
}
function n0(v) { return v == "" ? "" : sprintf("%.0f", v) }
function r4(v) { return v == "" ? "" : sprintf("%.4f", v) }
function x(v) { return v == "" ? "-" : sprintf("%.2fx", v) }
# The touch table in markdown: each cell the ratio and both medians, or
# (huge) the ratio against the MADV_HUGEPAGE kernel run only.
function touch_table(huge,   i, j, k, line, sep, cw, rw) {
	line = "| file written by, cache |"; sep = "|---|"
	for (j = 1; j <= ncols; j++) { split(cols[j], cw, " "); line = line " " cw[1] " x" cw[2] " |"; sep = sep "---|" }
	print line >> md; print sep >> md
	for (i = 1; i <= nrows; i++) {
		split(rows[i], rw, " ")
		line = "| " preplabel(rw[1]) ", " rw[2] " |"
		for (j = 1; j <= ncols; j++) {
			k = cell[rows[i], cols[j]]
			if (k == "")
				line = line " - |"
			else if (huge)
				line = line " " x(hratio[k]) " |"
			else
				line = line " " x(ratio[k]) " (" m(umedv[k]) "/" m(kmedv[k]) ") |"
		}
		print line >> md
	}
}
function preplabel(p) {
	if (p == "put") return "udax put / cp"
	if (p ~ /^pwrite-/) { sub(/^pwrite-/, "", p); sub(/K$/, " KiB", p); sub(/M$/, " MiB", p); return "pwrite " p }
	return p
}
{
	k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
	if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
	vals[k, $5] = vals[k, $5] " " $7
	run[k, $5, $6] = $7
	unit[k] = $8
	if ($6 > maxrun) maxrun = $6
	if ($5 == "kernel-huge") huge = 1
	if ($1 != "fill" && $1 != "fsync" && $3 != "db") {
		row = $1 " " $2; col = $3 " " $4
		if (!(row in rowseen)) { rowseen[row] = 1; rows[++nrows] = row }
		if (!(col in colseen)) { colseen[col] = 1; cols[++ncols] = col }
		cell[row, col] = k
	}
}
END {
	print "prep,cache,workload,threads,unit,udax_min,udax_median,udax_max,kernel_min,kernel_median,kernel_max,ratio,ratio_min,ratio_max,runs,khuge_min,khuge_median,khuge_max,ratio_vs_khuge" > csv
	for (i = 1; i <= nk; i++) {
		k = order[i]; split(k, f, SUBSEP)
		c = stats(k, "udax"); ulo = lo; umed = med; uhi = hi
		stats(k, "kernel"); klo = lo; kmed = med; khi = hi
		paired(k, "kernel")
		ratio[k] = umed != "" && kmed > 0 ? umed / kmed : ""
		ratiolo[k] = rlo; ratiohi[k] = rhi
		stats(k, "kernel-huge"); hlo = lo; hmed = med; hhi = hi
		hratio[k] = umed != "" && hmed > 0 ? umed / hmed : ""
		printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%s,%s\n", f[1], f[2], f[3], f[4], unit[k],
			n0(ulo), n0(umed), n0(uhi), n0(klo), n0(kmed), n0(khi), r4(ratio[k]), r4(rlo), r4(rhi),
			c, n0(hlo), n0(hmed), n0(hhi), r4(hratio[k]) > csv
		umedv[k] = umed; kmedv[k] = kmed
	}
	if (nrows) {
		print "" >> md
		print "Touch every 4 KiB page of a fresh mapping once; cell: udax median / kernel median" >> md
		print "(udax Mpages/s / kernel Mpages/s); above 1: udax is faster. xN: N threads." >> md
		print "" >> md
		touch_table(0)
		if (huge) {
			print "" >> md
			print "The same, udax against the kernel with MADV_HUGEPAGE on a 2 MiB-aligned mapping:" >> md
			print "" >> md
			touch_table(1)
		}
		# The plot data: one line per row, ratio low high per column.
		line = "row"
		for (j = 1; j <= ncols; j++) { split(cols[j], cw, " "); line = line "\t" cw[1] "-x" cw[2] "\tlo\thi" }
		print line > plotm
		for (i = 1; i <= nrows; i++) {
			split(rows[i], rw, " ")
			line = preplabel(rw[1]) ", " rw[2]; any = 0
			for (j = 1; j <= ncols; j++) {
				k = cell[rows[i], cols[j]]
				if (k == "" || ratio[k] == "") { line = line "\t?\t?\t?"; continue }
				line = line "\t" ratio[k] "\t" ratiolo[k] "\t" ratiohi[k]; any = 1
			}
			if (any) print line > plotm	# no empty groups
		}
	}
	nother = 0
	for (i = 1; i <= nk; i++) {
		k = order[i]; split(k, f, SUBSEP)
		if (f[1] != "fill" && f[1] != "fsync" && f[3] != "db") continue
		if (!nother++) {
			print "" >> md
			print "| run | udax | kernel | udax / kernel (range of paired runs) |" >> md
			print "|---|---|---|---|" >> md
			print "run\tudax / kernel\tlo\thi" > ploto
		}
		if (f[3] == "db") {
			what = "database-like, " f[2] ": 10^4 random 8-byte writes, fsync / msync every 100"
			short = "db " f[2]
		} else if (f[1] == "fill" && f[3] == "put") {
			what = "fill " mib " MiB: `udax put` / `cp` + `sync`"; short = "fill put/cp"
		} else if (f[1] == "fill") {
			what = "fill " mib " MiB: 1 MiB pwrites + fsync"; short = "fill pwrite 1M"
		} else {
			n = f[3]; sub(/^fsync-/, "", n)
			what = "fsync of " n " dirty 4 KiB page" (n == 1 ? "" : "s") " / msync"
			short = "fsync " n
		}
		printf "| %s | %s | %s | %s (%s-%s) |\n", what, rate(umedv[k], unit[k]), rate(kmedv[k], unit[k]),
			x(ratio[k]), x(ratiolo[k]), x(ratiohi[k]) >> md
		if (ratio[k] != "") printf "%s\t%s\t%s\t%s\n", short, ratio[k], ratiolo[k], ratiohi[k] > ploto
	}
	if (nother) {
		print "" >> md
		print "Database-like: a file of 1 MiB pwrites, mapped; udax_fsync against msync(MS_SYNC) of the" >> md
		print "whole mapping. fsync: bench/fsync_cost.c (a UDAX_MAP_PTE mapping of a sparse 64 GiB udax" >> md
		print "file against the kernel mmap of the store file), pages made durable per second." >> md
	}
}' "$raw"
cat "$out/matrix.md"
echo
echo "files: $out/matrix.csv $out/matrix.md $out/matrix-raw.txt $out/matrix-log.txt"
[ "$failed" -gt 0 ] && echo "warning: $failed runs failed; their cells lack those runs (see $log)"

if ! command -v gnuplot >/dev/null; then
	echo "plot: skipped (gnuplot not found; apt-get install gnuplot-nox for $out/matrix.png)"
	exit 0
fi
# Grouped bars of the ratios (log scale), error bars from the paired runs.
ncols=0 nother=0
[ -f "$dir/plot-matrix.dat" ] &&
	ncols=$(awk -F'\t' 'NR == 1 { n = (NF - 1) / 3 } END { print (NR > 1 ? n : 0) }' "$dir/plot-matrix.dat")
[ -f "$dir/plot-other.dat" ] && nother=$(awk 'END { print NR - 1 }' "$dir/plot-other.dat")
if [ "$ncols" = 0 ] && [ "$nother" = 0 ]; then
	echo "plot: nothing to plot"
	exit 0
fi
panels=$(( (ncols > 0) + (nother > 0) ))
range=$(awk -F'\t' 'FNR > 1 { for (i = 2; i <= NF; i++) if ($i != "?" && $i > 0) { if (!lo || $i < lo) lo = $i; if ($i > hi) hi = $i } }
	END { if (!hi) { print "0.1:10"; exit } l = 1; while (l > lo / 1.5) l /= 10; h = 1; while (h < hi * 1.5) h *= 10; print l ":" h }' \
	$(ls "$dir"/plot-*.dat))
{
	echo "set terminal pngcairo size 1600,$((panels == 2 ? 1000 : 600)) noenhanced"
	echo "set output '$out/matrix.png'"
	echo "set datafile separator tab"
	echo "set datafile missing '?'"
	echo "set style data histograms"
	echo "set style histogram errorbars gap 2 lw 1"
	echo "set style fill solid 0.8 border -1"
	echo "set logscale y 10"
	echo "set yrange [$range]"
	echo "set grid ytics"
	echo "set ylabel 'udax / kernel (median rate, log scale)'"
	echo "set key outside right top"
	echo "set xtics rotate by -30"
	echo "set multiplot layout $panels,1 title 'udax against the kernel mmap of the same prepared host file, $mib MiB, medians of $runs runs (error bars: paired runs min-max; above 1: udax is faster)'"
	if [ "$ncols" -gt 0 ]; then
		echo "set xlabel 'file written by, cache state'"
		echo "set title 'touch every page once: workload x threads'"
		echo "plot for [c=0:$((ncols - 1))] '$dir/plot-matrix.dat' using 2+3*c:3+3*c:4+3*c:xtic(1) title columnhead(2+3*c), 1 with lines lc rgb 'black' lw 2 dt 2 title '1.0x'"
	fi
	if [ "$nother" -gt 0 ]; then
		echo "set xlabel 'run'"
		echo "set title 'database-like, fill, fsync'"
		echo "plot '$dir/plot-other.dat' using 2:3:4:xtic(1) title columnhead(2), 1 with lines lc rgb 'black' lw 2 dt 2 title '1.0x'"
	fi
	echo "unset multiplot"
} >"$dir/plot.gp"
if gnuplot "$dir/plot.gp" 2>>"$log"; then
	echo "plot: $out/matrix.png"
else
	echo "plot: gnuplot failed (see $log)"
fi
