#!/usr/bin/env bash
# shim_sqlite: the sqlite3 CLI, unmodified, under `udax run` on a database
# in the store, in rollback-journal and in WAL mode (the -shm file mapped
# through udax), with PRAGMA mmap_size: 10^5 rows inserted in 20
# transactions into a table with an index, updates, deletes, VACUUM;
# integrity_check is ok, the row count is right, and every query result
# equals the same script's on a host twin; a second process reads it back,
# and the database copied out with `udax get` gives the same results in a
# plain sqlite3. About 11 s on 2 vCPUs, most of it the commits' fsyncs on
# both sides. Skips without sqlite3 or in sanitizer builds (the ASan build
# never runs it, so it needs no smaller row count there).
# Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 (apt-get install sqlite3)"; exit 77; }
skip_if_sanitized
export UDAX_STORE=$dir/store
root=$dir/udax
rows=100000 batch=5000
expect_status 0 "$udax" create "$UDAX_STORE" 256M
# 10^5 rows, one transaction per 5000 (the journal or the WAL written and
# synced 20 times); b is a pseudo-random key (the index on b is written
# all over) of varying length.
awk -v rows=$rows -v batch=$batch 'BEGIN {
	for (x = 0; x < rows; x += batch)
		printf "BEGIN; WITH RECURSIVE c(x) AS (SELECT %d UNION ALL SELECT x+1 FROM c " \
			"WHERE x<%d) INSERT INTO t SELECT x, printf(\x27%%08d-%%s\x27, " \
			"(x * 7919) %% 100003, hex(x * (x %% 9973))) FROM c; COMMIT;\n", x + 1, x + batch
}' >"$dir/inserts.sql"
query="PRAGMA integrity_check; SELECT count(*), sum(a), sum(length(b)) FROM t;
SELECT a, b FROM t WHERE b LIKE 'u%' ORDER BY b LIMIT 50; SELECT * FROM t ORDER BY a;"
for mode in DELETE WAL; do
	{
		echo "PRAGMA journal_mode=$mode; PRAGMA mmap_size=268435456;"
		echo "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX tb ON t(b);"
		cat "$dir/inserts.sql"
		echo "BEGIN; UPDATE t SET b = 'u' || b WHERE a % 7 = 0; DELETE FROM t WHERE a % 11 = 0;"
		echo "COMMIT; DELETE FROM t WHERE a BETWEEN 20000 AND 29999; VACUUM;"
		echo "$query"
	} >"$dir/script.sql"
	sqlite3 "$dir/twin-$mode.db" <"$dir/script.sql" >"$dir/want" || fail "$mode: sqlite3 on the host"
	"$udax" run --root "$root" -- sqlite3 "$root/db-$mode" <"$dir/script.sql" >"$dir/got" 2>"$dir/err" ||
		fail "$mode: sqlite3 under udax run: $(cat "$dir/err")"
	cmp -s "$dir/want" "$dir/got" || fail "$mode: results differ: $(diff "$dir/want" "$dir/got" | head -5)"
	grep -qx ok "$dir/got" || fail "$mode: integrity_check: $(head -3 "$dir/got")"
	[[ "$(sed -n 4p "$dir/got")" = "$((rows - rows / 11 - 10000 + 10000 / 11))|"* ]] ||
		fail "$mode: row count: $(sed -n 4p "$dir/got")"
	# a second process reads it back; then a plain sqlite3 on the copy
	"$udax" run --root "$root" -- sqlite3 "$root/db-$mode" <<<"$query" >"$dir/got" ||
		fail "$mode: reopening under udax run"
	grep -v -e '^delete$' -e '^wal$' -e '^268435456$' "$dir/want" >"$dir/want2"
	cmp -s "$dir/want2" "$dir/got" || fail "$mode: reopened: $(diff "$dir/want2" "$dir/got" | head -5)"
	expect_status 0 "$udax" get -q "db-$mode" "$dir/copy-$mode.db"
	sqlite3 "$dir/copy-$mode.db" <<<"$query" >"$dir/got" || fail "$mode: the copy does not open"
	cmp -s "$dir/want2" "$dir/got" || fail "$mode: the copy differs"
done
echo "shim_sqlite: $rows rows in batches of $batch, rollback-journal and WAL with mmap, agree with the host twin"
