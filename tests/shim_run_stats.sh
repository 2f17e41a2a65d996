#!/usr/bin/env bash
# shim_run_stats: `udax run --stats[=FILE]` makes every process that used
# the store print one line of its counters (udax_store_counters) when it
# exits: to FILE (appended, one line per process, a shell's forked
# commands each their own), or to stderr even when the program closed its
# own stderr first (coreutils do); the figures are the process's: blocks
# a dd allocated, a mapping program's write faults, 2 MiB faults, pages
# written back and read faults, summed over files it closed; each line
# counts since the process's previous one (a failed exec); stderr a store
# file gets it; a pipe without reader does not change the exit status; a
# FIFO without reader is not waited for; a relative FILE is from where
# udax run started; the program's name is escaped. Without --stats
# nothing is printed. Skips in sanitizer builds (see
# shim_coreutils). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

skip_if_sanitized
root=$dir/udax
store=$dir/store
expect_status 0 "$udax" create "$store" 64M
run() { "$udax" run --store "$store" --root "$root" "$@"; }
# field NAME LINE: the number before NAME in a stats line
field() { grep -o "[0-9]* $1" <<<"$2" | head -n 1 | cut -d' ' -f1; }

expect_status 0 run --stats="$dir/stats" -- dd if=/dev/zero of="$root/a" bs=64k count=64 status=none
[ "$(wc -l <"$dir/stats")" = 1 ] || fail "dd: not one line: $(cat "$dir/stats")"
line=$(cat "$dir/stats")
grep -q "^udax run: pid [0-9]* (dd): " <<<"$line" || fail "dd: $line"
[ "$(field "blocks allocated" "$line")" = 1024 ] || fail "dd allocated 4 MiB: $line"
[ "$(field "write faults" "$line")" = 0 ] || fail "dd wrote with write(2): $line"

# A program that maps: two files written through MAP_SHARED mappings of
# 4 MiB, msync'ed, unmapped and closed, then read through a new mapping.
cat >"$dir/mapper.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	size_t len = 4 << 20;
	volatile char sum = 0;
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDWR | O_CREAT | O_TRUNC, 0644);
		char *m;
		if (fd < 0 || ftruncate(fd, (off_t)len) ||
		    (m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
			return perror(argv[i]), 1;
		for (size_t o = 0; o < len; o += 4096)
			m[o] = 1;
		if (msync(m, len, MS_SYNC) || munmap(m, len) || close(fd))
			return perror(argv[i]), 1;
	}
	int fd = open(argv[1], O_RDONLY);
	char *r = fd < 0 ? MAP_FAILED : mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (r == MAP_FAILED)
		return perror(argv[1]), 1;
	for (size_t o = 0; o < len; o += 4096)
		sum += r[o];
	return sum == (char)(len / 4096) ? 0 : 2;
}
C
${UDAX_TEST_CC:-cc} -std=c11 -Wall -Wextra -Werror "$dir/mapper.c" -o "$dir/mapper" ||
	fail "cannot compile the mapping program"
: >"$dir/stats"
expect_status 0 run --stats="$dir/stats" -- "$dir/mapper" "$root/m1" "$root/m2"
line=$(cat "$dir/stats")
grep -q "(mapper): " <<<"$line" || fail "mapper: $line"
[ "$(field "blocks allocated" "$line")" = 2048 ] || fail "mapper allocated 8 MiB: $line"
[ "$(field "pages written back" "$line")" -ge 2048 ] || fail "mapper wrote back 8 MiB: $line"
[ "$(field "write faults" "$line")" -ge 2 ] || fail "mapper: write faults: $line"
[ "$(field "read faults" "$line")" -ge 1 ] || fail "mapper: read faults: $line"
[ "$(field "served 2 MiB" "$line")" -ge 2 ] || fail "mapper: 2 MiB faults: $line"

# A shell's forked commands: one line each; the shell, which touched no
# store file, none.
: >"$dir/stats"
expect_status 0 run --stats="$dir/stats" -- bash -c "cat $root/a >/dev/null; cat $root/m1 >/dev/null"
[ "$(grep -c '(cat): ' "$dir/stats")" = 2 ] || fail "two cats: $(cat "$dir/stats")"
[ "$(wc -l <"$dir/stats")" = 2 ] || fail "two cats, nothing else: $(cat "$dir/stats")"

# stderr: cat closes its stderr before exit; the line still comes.
expect_status 0 run --stats -- cat "$root/a"
grep -q "^udax run: pid [0-9]* (cat): 0 read faults" "$dir/err" || fail "--stats on stderr: $(cat "$dir/err")"
expect_status 0 run -- cat "$root/a"
[ ! -s "$dir/err" ] || fail "no --stats printed: $(cat "$dir/err")"
# stderr a store file (handed over across exec): the line lands in it
expect_status 0 run --stats -- bash -c "exec 2>$root/err; exec cat $root/a"
expect_status 0 "$udax" -s "$store" cat err
grep -q "^udax run: pid [0-9]* (cat): " "$dir/out" || fail "stderr in the store: $(cat "$dir/out")"
# a failed exec, then the exit: the lines count each block once
: >"$dir/stats"
expect_status 0 run --stats="$dir/stats" -- bash -c \
	"shopt -s execfail; echo x >$root/once; exec $dir/none; echo y >>$root/once"
[ "$(wc -l <"$dir/stats")" = 2 ] || fail "failed exec: not two lines: $(cat "$dir/stats")"
[ "$(grep -o '[0-9]* blocks allocated' "$dir/stats" | awk '{ s += $1 } END { print s }')" = 1 ] ||
	fail "failed exec: the block counted twice: $(cat "$dir/stats")"
# stderr a pipe nobody reads: the line's SIGPIPE must not change the status
mkfifo "$dir/pipe"
exec 5<>"$dir/pipe" 6>"$dir/pipe"
exec 5<&-
run --stats -- cat "$root/a" >/dev/null 2>&6
status=$?
exec 6>&-
[ "$status" = 0 ] || fail "stderr a pipe without a reader: exit $status"
# a FIFO without a reader as FILE: no wait, a message, the program's status
mkfifo "$dir/fifo"
expect_status 0 timeout 60 "$udax" run --store "$store" --root "$root" --stats="$dir/fifo" -- \
	bash -c "echo x >$root/b"
grep -q "UDAX_STATS=.*fifo: No such device or address" "$dir/err" || fail "FIFO: $(cat "$dir/err")"
# a relative FILE names the directory udax run started in
mkdir "$dir/sub"
(cd "$dir" && "$udax" run --store "$store" --root "$root" --stats=rel -- \
	bash -c "cd sub && exec cat $root/a" >/dev/null) || fail "relative FILE"
grep -q "(cat): " "$dir/rel" || fail "relative FILE: not in the starting directory"
# the program's name escaped: one line
cp "$(command -v cat)" "$dir/ca"$'\n'"t"
: >"$dir/stats"
expect_status 0 run --stats="$dir/stats" -- "$dir/ca"$'\n'"t" "$root/a"
[ "$(wc -l <"$dir/stats")" = 1 ] && grep -qF '(ca\nt): ' "$dir/stats" ||
	fail "name with a newline: $(cat -v "$dir/stats")"
echo "shim_run_stats: one line per process, to a file or stderr, with its counters"
