#!/usr/bin/env bash
# shim_sqlite: the sqlite3 CLI, unmodified, under `udax run` on a database
# in the store, in rollback-journal and in WAL mode (the -shm file mapped
# through udax), with PRAGMA mmap_size: 20000 rows inserted, an index,
# updates, deletes, VACUUM; integrity_check is ok and every query result
# equals the same script's on a host twin; the database copied out with
# `udax get` gives the same results in a plain sqlite3. Skips without
# sqlite3 or in sanitizer builds. Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 (apt-get install sqlite3)"; exit 77; }
lib=${udax%/*}/libudax-preload.so
if nm -D "$lib" 2>/dev/null | grep -q '__[at]san_init'; then
	echo "SKIP: a sanitizer build: $lib needs the sanitizer runtime in the program"
	exit 77
fi
export UDAX_STORE=$dir/store
root=$dir/udax
expect_status 0 "$udax" create "$UDAX_STORE" 256M
query="PRAGMA integrity_check; SELECT count(*), sum(a), sum(length(b)) FROM t;
SELECT a, b FROM t WHERE b LIKE 'u%' ORDER BY b LIMIT 50; SELECT * FROM t ORDER BY a;"
for mode in DELETE WAL; do
	script="PRAGMA journal_mode=$mode; PRAGMA mmap_size=268435456;
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<20000)
INSERT INTO t SELECT x, printf('%08d-%s', (x * 7919) % 100003, hex(x * x)) FROM c;
CREATE INDEX tb ON t(b);
BEGIN; UPDATE t SET b = 'u' || b WHERE a % 7 = 0; DELETE FROM t WHERE a % 11 = 0; COMMIT;
VACUUM;
$query"
	sqlite3 "$dir/twin-$mode.db" <<<"$script" >"$dir/want" || fail "$mode: sqlite3 on the host"
	"$udax" run --root "$root" -- sqlite3 "$root/db-$mode" <<<"$script" >"$dir/got" 2>"$dir/err" ||
		fail "$mode: sqlite3 under udax run: $(cat "$dir/err")"
	cmp -s "$dir/want" "$dir/got" || fail "$mode: results differ: $(diff "$dir/want" "$dir/got" | head -5)"
	grep -qx ok "$dir/got" || fail "$mode: integrity_check: $(head -3 "$dir/got")"
	# a second process reads it back; then a plain sqlite3 on the copy
	"$udax" run --root "$root" -- sqlite3 "$root/db-$mode" <<<"$query" >"$dir/got" ||
		fail "$mode: reopening under udax run"
	grep -v -e '^delete$' -e '^wal$' -e '^268435456$' "$dir/want" >"$dir/want2"
	cmp -s "$dir/want2" "$dir/got" || fail "$mode: reopened: $(diff "$dir/want2" "$dir/got" | head -5)"
	expect_status 0 "$udax" get -q "db-$mode" "$dir/copy-$mode.db"
	sqlite3 "$dir/copy-$mode.db" <<<"$query" >"$dir/got" || fail "$mode: the copy does not open"
	cmp -s "$dir/want2" "$dir/got" || fail "$mode: the copy differs"
done
echo "shim_sqlite: rollback-journal and WAL databases with mmap agree with the host twin"
