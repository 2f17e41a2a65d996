#!/usr/bin/env bash
# shim_sqlite_processes: SQLite readers in some processes while a writer
# commits in another, each an unmodified sqlite3 under its own `udax run`
# on one database of the store (issue 14, stage 5): the file locks that
# SQLite takes are the kernel's across the processes (udax_lock_fd()), and
# the -shm file is mapped by all of them through one page cache.
# In WAL mode (readers never wait) and in rollback-journal mode (readers
# wait for the writer's locks, with a busy timeout), a writer makes 150
# transactions, each inserting 40 rows and adding 40 to a counter in the
# same transaction, while 2 readers query again and again: every answer
# must be a committed state (rows == counter, never a torn transaction),
# never an error, and the counter never goes back; the readers wait (a
# marker file: no sleep) until the writer's first commit before they start
# and until its last before their final query, which must see it all.
# Then integrity_check is ok. Skips without sqlite3 or in sanitizer builds.
# Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 (apt-get install sqlite3)"; exit 77; }
skip_if_sanitized
export UDAX_STORE=$dir/store
root=$dir/udax
commits=150 per=40 queries=3000
expect_status 0 "$udax" create "$UDAX_STORE" 256M
wait_for() { echo ".shell while [ ! -e $1 ]; do :; done"; }
# however the test ends, no reader is left waiting for a marker
mode=none pids=()
release() { touch "$dir/first-$mode" "$dir/last-$mode"; kill "${pids[@]}" 2>/dev/null; }
trap 'release; rm -rf "$dir"' EXIT
check="SELECT (SELECT count(*) FROM t) = n, n FROM c;"
for mode in WAL DELETE; do
	db=$root/db-$mode
	rm -f "$dir/first-$mode" "$dir/last-$mode"
	printf 'PRAGMA journal_mode=%s;\nCREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\n%s\n' \
		"$mode" "CREATE TABLE c(n); INSERT INTO c VALUES (0);" |
		"$udax" run --root "$root" -- sqlite3 "$db" >/dev/null 2>"$dir/err" ||
		fail "$mode: create: $(cat "$dir/err")"
	{
		echo ".timeout 20000"
		for ((i = 0; i < commits; i++)); do
			echo "BEGIN IMMEDIATE; WITH RECURSIVE x(k) AS (SELECT 1 UNION ALL SELECT k+1 FROM x" \
				"WHERE k<$per) INSERT INTO t(b) SELECT printf('%d-%d', $i, k) FROM x;"
			echo "UPDATE c SET n = n + $per; COMMIT;"
			((i == 0)) && echo ".shell touch $dir/first-$mode"
		done
		echo ".shell touch $dir/last-$mode"
	} >"$dir/writer.sql"
	{
		echo ".timeout 20000"
		wait_for "$dir/first-$mode"
		for ((q = 0; q < queries; q++)); do echo "$check"; done
		wait_for "$dir/last-$mode"
		echo "$check"
	} >"$dir/reader.sql"
	pids=()
	for r in 1 2; do
		"$udax" run --root "$root" -- sqlite3 "$db" <"$dir/reader.sql" \
			>"$dir/reader$r.out" 2>"$dir/reader$r.err" &
		pids+=($!)
	done
	"$udax" run --root "$root" -- sqlite3 "$db" <"$dir/writer.sql" >"$dir/writer.out" \
		2>"$dir/writer.err" || fail "$mode: the writer failed: $(head -3 "$dir/writer.err")"
	[ ! -s "$dir/writer.err" ] || fail "$mode: the writer said: $(head -3 "$dir/writer.err")"
	for r in 1 2; do
		wait "${pids[r - 1]}" || fail "$mode: reader $r failed: $(head -3 "$dir/reader$r.err")"
		[ ! -s "$dir/reader$r.err" ] || fail "$mode: reader $r said: $(head -3 "$dir/reader$r.err")"
		awk -F'|' -v want=$((commits * per)) -v n=$((queries + 1)) '
			$1 != 1 { print "torn: " $0; bad = 1; exit }
			$2 + 0 < last { print "went back: " last " then " $2; bad = 1; exit }
			{ last = $2 + 0; lines++ }
			END { if (!bad && (lines != n || last != want)) print lines " answers, last " last
			      else if (!bad) exit 0; exit 1 }' "$dir/reader$r.out" >"$dir/why" ||
			fail "$mode: reader $r: $(cat "$dir/why")"
	done
	"$udax" run --root "$root" -- sqlite3 "$db" "PRAGMA integrity_check;" >"$dir/out" 2>&1
	[ "$(cat "$dir/out")" = ok ] || fail "$mode: integrity_check: $(head -3 "$dir/out")"
	seen=$(cut -d'|' -f2 "$dir/reader1.out" "$dir/reader2.out" | sort -un | wc -l)
	echo "$mode: $commits commits of $per rows; the readers saw $seen distinct states"
done
expect_status 0 "$udax" -s "$UDAX_STORE" fsck
echo "shim_sqlite_processes: readers in other processes saw only committed states, WAL and rollback"
