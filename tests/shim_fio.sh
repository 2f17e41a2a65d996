#!/usr/bin/env bash
# shim_fio: fio, unmodified, under `udax run` on files of a store, with
# ioengine=mmap (the file mapped MAP_SHARED through udax, written by
# memcpy, msync'ed) and ioengine=psync (pwrite/pread): 32 MiB written in
# random order in blocks of 4 KiB to 64 KiB with verify=crc32c, then read
# back and verified by the same job; a second fio process verifies the
# store's file again (verify_only); one byte changed in the store file by
# dd under udax run makes that verify fail (so fio reads what is there).
# The same jobs run on a host twin. fio runs each job in a process of its
# own (no --thread), a fork() child of fio, which opens the store and the
# file itself beside its parent. Then 2 job processes at once write and
# verify a file each, and 2 read and write one shared file
# (randrw, verify off: both write it). Skips without fio or in sanitizer
# builds. Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source=SCRIPTDIR/cli_lib.bash
. "$(dirname "$0")/../../tests/cli_lib.bash" || exit 1

command -v fio >/dev/null || { echo "SKIP: no fio (apt-get install fio)"; exit 77; }
skip_if_sanitized
export UDAX_STORE=$dir/store
root=$dir/udax
seed=${UDAX_SEED:-$RANDOM}
run() { "$udax" run --root "$root" -- "$@"; }
expect_status 0 "$udax" create "$UDAX_STORE" 256M
# fio's terse output: field 5 the job's error, 6 KiB read, 47 KiB written
job() { # ENGINE FILE: the job's fio command line in $cmd
	cmd=(fio --name="$1" --filename="$2" --ioengine="$1" --rw=randwrite \
		--bsrange=4k-64k --size=32M --verify=crc32c --verify_fatal=1 --verify_state_save=0 \
		--randseed="$seed" \
		--output-format=terse)
}
for engine in mmap psync; do
	job "$engine" "$dir/twin-$engine"
	expect_status 0 "${cmd[@]}"
	IFS=';' read -ra twin <"$dir/out"
	job "$engine" "$root/f-$engine"
	expect_status 0 run "${cmd[@]}"
	IFS=';' read -ra got <"$dir/out"
	[ "${got[4]}/${got[5]}/${got[46]}" = 0/32768/32768 ] ||
		fail "$engine (seed $seed): error/read/written KiB ${got[4]}/${got[5]}/${got[46]}"
	[ "${twin[4]}/${twin[5]}/${twin[46]}" = 0/32768/32768 ] ||
		fail "$engine (seed $seed): the twin's error/read/written ${twin[4]}/${twin[5]}/${twin[46]}"
	expect_status 0 run "${cmd[@]}" --verify_only
	IFS=';' read -ra got <"$dir/out"
	[ "${got[4]}/${got[5]}" = 0/32768 ] ||
		fail "$engine (seed $seed): verify_only: error/read ${got[4]}/${got[5]}"
	# one byte changed: the verify must see it
	off=$((seed % 32768 * 1024 + 100))
	byte=$(run dd if="$root/f-$engine" bs=1 skip=$off count=1 status=none | od -An -tu1)
	# shellcheck disable=SC2059 # the format is the byte
	printf "\\$(printf %03o $(((byte + 1) % 256)))" >"$dir/byte"
	expect_status 0 run dd if="$dir/byte" of="$root/f-$engine" bs=1 seek=$off conv=notrunc \
		status=none
	expect_status 1 run "${cmd[@]}" --verify_only
	grep -q 'verify failed' "$dir/err" ||
		fail "$engine (seed $seed): a changed byte: $(head -2 "$dir/err")"
done
# 2 job processes at once: a file each, written and verified; then one
# file shared by both, read and written at random
for engine in mmap psync; do
	expect_status 0 run fio --name="two-$engine" --directory="$root" --numjobs=2 \
		--ioengine="$engine" --rw=randwrite --bs=4k --size=16M --verify=crc32c \
		--verify_fatal=1 --verify_state_save=0 --randseed="$seed" --group_reporting \
		--output-format=terse
	IFS=';' read -ra got <"$dir/out"
	[ "${got[4]}/${got[5]}/${got[46]}" = 0/32768/32768 ] ||
		fail "2 jobs, $engine (seed $seed): error/read/written KiB ${got[4]}/${got[5]}/${got[46]}"
	expect_status 0 run fio --name="shared-$engine" --filename="$root/shared-$engine" \
		--numjobs=2 --ioengine="$engine" --rw=randrw --bs=4k --size=16M --io_size=8M \
		--randseed="$seed" --group_reporting --output-format=terse
	IFS=';' read -ra got <"$dir/out"
	[ "${got[4]}" = 0 ] && ((got[5] + got[46] == 16384)) ||
		fail "shared file, $engine (seed $seed): error/read/written KiB ${got[4]}/${got[5]}/${got[46]}"
done
expect_status 0 "$udax" fsck
echo "shim_fio: mmap and psync jobs write and verify (crc32c) a store file as on the host twin;" \
	"2 job processes at once, on a file each and on one"
