#!/usr/bin/env bash
# bench/shim.sh [RUNS]: unmodified programs through `udax run` (the preload
# shim, files in a store) against the same programs on host files in the
# same directory (same file system), interleaved in one run:
#   sqlite-insert   sqlite3, WAL, PRAGMA mmap_size=256 MiB: 10^5 rows of
#                   ~170 bytes into a fresh database, 100 transactions of
#                   10^3 (speedtest-style; each commit an fsync of the WAL);
#                   rows/s of the whole sqlite3 process
#   sqlite-point    a fresh sqlite3 process with PRAGMA mmap_size on that
#                   database: 2*10^5 point queries by rowid (random order)
#                   in one statement, pages read through the mapping;
#                   queries/s of the whole process
#   lmdb-read       bench/lmdb_read.c: a fresh process opens an LMDB of 10^6
#                   keys (100-byte values, ~120 MiB, filled once) and does
#                   10^6 mdb_get of random keys; gets/s (open and first-
#                   touch faults included)
#   fio-mmap-randread, fio-mmap-randwrite, fio-psync-randread, ...-randwrite
#                   fio ioengine=mmap (psync: pread/pwrite) --thread, 4 KiB
#                   blocks in random order, 4 passes over a 128 MiB file
#                   (laid out once), --invalidate=0 (the page cache kept
#                   warm on both sides: fio drops the host file's by
#                   default, not the store's), --fsync_on_close=1 (each pass
#                   ends with its data durable on both sides: udax syncs a
#                   written file at close and munmap anyway); IOPS as fio
#                   reports (the passes' syncs included)
# Each round runs every workload, udax then kernel; round 0 is an untimed
# warm-up, then RUNS (default 5) timed rounds. Prints min/median/max of
# both sides and ratio = udax median / kernel median (above 1: udax is
# faster), with the min-max of the ratios of the runs paired by round; then
# what `udax stat` says of each store file (extents, whole 2 MiB extents),
# and the udax counters of each workload's last timed run (udax run
# --stats: every process of the run, summed).
# Output in build/bench (or $OUT): shim.md (the table, also printed),
# shim.csv, shim-raw.txt (every run), shim-log.txt (the programs' stderr,
# udax stat). Needs sqlite3, fio and liblmdb-dev (rows whose program is
# missing are left out, with a note). TMPDIR: where the files go (default
# /var/tmp). SEED: the random orders (default 11). Not part of make check.
set -eu
export LC_ALL=C
cd "$(dirname "$0")/.."
runs=${1:-5}
seed=${SEED:-11}
timeout_s=600
out=${OUT:-build/bench}
mkdir -p "$out"
make -s -j2 build/udax build/libudax-preload.so
udax=$PWD/build/udax
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/udax-shim-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
store=$dir/store.udax root=$dir/udax host=$dir/host
raw=$out/shim-raw.txt log=$out/shim-log.txt
: >"$raw"
: >"$log"
mkdir -p "$host"
"$udax" create "$store" 1G >>"$log"

works=()
notes=()
if command -v sqlite3 >/dev/null; then
	works+=(sqlite-insert sqlite-point)
else
	notes+=("no sqlite3 (apt-get install sqlite3): SQLite rows left out")
fi
if printf '#include <lmdb.h>\n' | cc -E -x c - >/dev/null 2>&1; then
	cc -std=c11 -O2 -Wall -Wextra -Werror bench/lmdb_read.c -llmdb -o "$out/lmdb_read"
	works+=(lmdb-read)
else
	notes+=("no lmdb.h (apt-get install liblmdb-dev): the LMDB row left out")
fi
if command -v fio >/dev/null; then
	works+=(fio-mmap-randread fio-mmap-randwrite fio-psync-randread fio-psync-randwrite)
else
	notes+=("no fio (apt-get install fio): fio rows left out")
fi
for n in "${notes[@]}"; do echo "note: $n" >&2; done

# side: "udax" runs the command under udax run on root/NAME, "kernel" on
# host/NAME. path SIDE NAME: the file's path on that side.
path() { if [ "$1" = udax ]; then echo "$root/$2"; else echo "$host/$2"; fi; }
# on SIDE CMD...: run CMD on that side (stderr to the log, bounded).
on() {
	local side=$1; shift
	if [ "$side" = udax ]; then
		timeout "$timeout_s" "$udax" run --store "$store" --root "$root" \
			--stats="$dir/stats.txt" -- "$@" 2>>"$log"
	else
		timeout "$timeout_s" "$@" 2>>"$log"
	fi
}
# per T0 T1 COUNT: COUNT per second from T0 to T1 ($EPOCHREALTIME values).
per() { awk -v t0="$1" -v t1="$2" -v n="$3" 'BEGIN { printf "%.0f\n", n / (t1 - t0) }'; }

awk -v rows=100000 -v batch=1000 'BEGIN {
	print "PRAGMA journal_mode=WAL; PRAGMA mmap_size=268435456;"
	print "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
	for (x = 0; x < rows; x += batch)
		printf "BEGIN; WITH RECURSIVE c(x) AS (SELECT %d UNION ALL SELECT x+1 FROM c " \
			"WHERE x<%d) INSERT INTO t SELECT x, printf(\x27%%08d-%%0160d\x27, " \
			"(x * 7919) %% 100003, x) FROM c; COMMIT;\n", x + 1, x + batch
	print "PRAGMA wal_checkpoint(TRUNCATE);"
}' >"$dir/insert.sql"
queries=200000
printf '%s\n' "PRAGMA mmap_size=268435456;" \
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<$queries)" \
	"SELECT sum(length((SELECT b FROM t WHERE a = (x * 7919 + $seed) % 100000 + 1))) FROM c;" \
	>"$dir/point.sql"

fio_job() { # SIDE ENGINE RW: one fio run's IOPS
	local f
	f=$(path "$1" fio) || return 1
	on "$1" fio --thread --name=b --filename="$f" --ioengine="$2" --rw="$3" --bs=4k \
		--size=128M --loops=4 --fsync_on_close=1 --invalidate=0 --randseed="$seed" --output-format=terse \
		>"$dir/fio.out" || return 1
	# terse: field 8 read IOPS, 49 write IOPS
	awk -F';' -v rw="$3" '{ print rw == "randread" ? $8 : $49 }' "$dir/fio.out"
}

# measure WORK SIDE ROUND: prints one run's rate.
measure() {
	local work=$1 side=$2 round=$3 t0 t1 db
	case $work in
	sqlite-insert)
		db=$(path "$side" s.db)
		if [ "$side" = udax ]; then
			for f in s.db s.db-wal s.db-shm; do
				"$udax" -s "$store" rm "$f" >/dev/null 2>&1 || true
			done
		else
			rm -f "$db" "$db-wal" "$db-shm"
		fi
		t0=$EPOCHREALTIME
		on "$side" sqlite3 "$db" <"$dir/insert.sql" >/dev/null || return 1
		t1=$EPOCHREALTIME
		per "$t0" "$t1" 100000 ;;
	sqlite-point)
		t0=$EPOCHREALTIME
		on "$side" sqlite3 "$(path "$side" s.db)" <"$dir/point.sql" >"$dir/point.out" || return 1
		t1=$EPOCHREALTIME
		[ "$(tail -n 1 "$dir/point.out")" = $((queries * 169)) ] || {
			echo "sqlite-point $side: $(tail -n 1 "$dir/point.out")" >>"$log"; return 1; }
		per "$t0" "$t1" "$queries" ;;
	lmdb-read)
		on "$side" "$out/lmdb_read" read "$(path "$side" l.mdb)" 1000000 1000000 \
			$((seed + round)) ;;
	fio-*) IFS=- read -r _ engine rw <<<"$work"; fio_job "$side" "$engine" "$rw" ;;
	esac
}

for side in udax kernel; do		# prepared once, outside the rounds
	case " ${works[*]} " in *" lmdb-read "*)
		on "$side" "$out/lmdb_read" fill "$(path "$side" l.mdb)" 1000000 ;;
	esac
done

start=$SECONDS
failed=0
for ((r = 0; r <= runs; r++)); do
	for work in "${works[@]}"; do
		for side in udax kernel; do
			printf '\r%-70s' "round $r/$runs$([ $r = 0 ] && echo ' (warm-up)'): $work $side ($((SECONDS - start))s)" >&2
			echo "== $work $side run $r" >>"$log"
			: >"$dir/stats.txt"
			v=$(measure "$work" "$side" "$r") || v=""
			if [ "$side" = udax ] && [ "$r" = "$runs" ]; then
				cat "$dir/stats.txt" >>"$log"
				# the 11 counters of each line, summed over the processes
				sed 's/^.*): //; s/2 MiB//; s/4 KiB//; s/[^0-9]\+/ /g' "$dir/stats.txt" |
					awk -v w="$work" '
					{ for (i = 1; i <= NF; i++) c[i] += $i }
					END { printf "%s", w; for (i = 1; i <= 11; i++) printf " %d", c[i]; print "" }' \
					>>"$dir/counters.txt"
			fi
			if [ -z "$v" ]; then
				echo "$work $side run $r: failed" >>"$log"
				failed=$((failed + 1))
			elif [ "$r" -gt 0 ]; then
				echo "$work $side $r $v" >>"$raw"
			fi
		done
	done
done
printf '\r%-70s\r' "" >&2
elapsed=$((SECONDS - start))

{
	echo "udax stat of the store's files after the run:"
	for f in s.db l.mdb fio; do
		"$udax" -s "$store" stat "$f" 2>&1 | sed -n '1,5p'
	done
} >"$dir/stat.txt"
cat "$dir/stat.txt" >>"$log"

units="sqlite-insert rows/s|sqlite-point queries/s|lmdb-read gets/s|fio-mmap-randread IOPS|fio-mmap-randwrite IOPS|fio-psync-randread IOPS|fio-psync-randwrite IOPS"
{
	echo "machine: $(uname -sr), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(df -T "$dir" | awk 'NR == 2 { print $2 }'); udax $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "per workload and side: 1 warm-up run, then $runs timed, interleaved; seed $seed; took ${elapsed}s"
	echo
	echo "| workload | unit | udax min / median / max | kernel min / median / max | udax / kernel (paired runs) |"
	echo "|---|---|---|---|---|"
	awk -v units="$units" -v order="${works[*]}" '
	function sort(a, c,   i, j, t) { for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
	function med(a, c) { return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
	function n(x) { return x >= 1e6 ? sprintf("%.2fM", x / 1e6) : x >= 1e3 ? sprintf("%.1fk", x / 1e3) : sprintf("%.0f", x) }
	{ v[$1, $2, $3] = $4; if ($3 > runsn) runsn = $3 }
	END {
		split(units, u, "|"); for (i in u) { split(u[i], p, " "); unit[p[1]] = p[2] }
		nw = split(order, w, " ")
		for (i = 1; i <= nw; i++) {
			k = w[i]; cu = ck = cr = 0; delete U; delete K; delete R
			for (r = 1; r <= runsn; r++) {
				if ((k, "udax", r) in v) U[++cu] = v[k, "udax", r]
				if ((k, "kernel", r) in v) K[++ck] = v[k, "kernel", r]
				if (((k, "udax", r) in v) && ((k, "kernel", r) in v) && v[k, "kernel", r] > 0)
					R[++cr] = v[k, "udax", r] / v[k, "kernel", r]
			}
			if (!cu || !ck) { printf "| %s | %s | failed | | |\n", k, unit[k]; continue }
			sort(U, cu); sort(K, ck); sort(R, cr)
			printf "| %s | %s | %s / %s / %s | %s / %s / %s | %.2fx (%.2fx-%.2fx) |\n", k, unit[k],
				n(U[1]), n(med(U, cu)), n(U[cu]), n(K[1]), n(med(K, ck)), n(K[ck]),
				med(U, cu) / med(K, ck), R[1], R[cr]
			printf "%s,%s,%s,%s,%s,%s,%s,%s,%.4f,%.4f,%.4f,%d\n", k, unit[k], U[1], med(U, cu), U[cu],
				K[1], med(K, ck), K[ck], med(U, cu) / med(K, ck), R[1], R[cr], cu > "/dev/stderr"
		}
	}' "$raw" 2>"$dir/csv"
	echo
	echo "udax counters of the last timed run (udax run --stats, all its processes):"
	echo
	echo "| workload | read faults (holes) | write faults | 2 MiB / 4 KiB fallback | pages mapped ahead | blocks allocated | pages written back |"
	echo "|---|---|---|---|---|---|---|"
	awk '{ printf "| %s | %d (%d) | %d | %d / %d | %d | %d | %d |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' \
		"$dir/counters.txt" 2>/dev/null
	echo
	sed 's/^/    /' "$dir/stat.txt"
	for n in "${notes[@]}"; do echo "note: $n"; done
	[ "$failed" = 0 ] || echo "note: $failed runs failed (see $log)"
} | tee "$out/shim.md"
{
	echo "workload,unit,udax_min,udax_median,udax_max,kernel_min,kernel_median,kernel_max,ratio,ratio_min,ratio_max,runs"
	cat "$dir/csv"
} >"$out/shim.csv"
[ "$failed" = 0 ]
