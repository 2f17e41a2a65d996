/* SPDX-License-Identifier: MIT */
/*
 * test_util.h - shared helpers of the test programs: a private temp
 * directory, a seed (UDAX_SEED or the clock; printed on failure), a
 * watchdog that fails a hung test, and CHECK macros.
 * Exit codes: 0 pass, 1 fail, 77 skip.
 */
#ifndef UDAX_TEST_UTIL_H
#define UDAX_TEST_UTIL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "udax.h"

#define TEST_SKIP 77

extern uint64_t test_seed;

/* Set up: temp dir, seed, watchdog of `seconds`. Call first in main(). */
void test_init(const char *name, unsigned seconds);
/* Path of a file inside the test's temp dir (static buffer per call slot). */
const char *test_path(const char *file);
/* Fail the test: print the message, the seed, and exit 1. */
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* Fail a CHECK: print the condition, the message, the seed; exit 1. */
void test_fail_check(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
/* Skip the test (exit 77) with a reason. */
void test_skip(const char *why) __attribute__((noreturn));
/* End: remove the temp dir, print PASS, exit 0. */
void test_pass(void) __attribute__((noreturn));

/* xorshift64* generator seeded from test_seed. */
uint64_t test_rand(uint64_t *state);

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond))                                                 \
			test_fail_check(__FILE__, __LINE__, #cond, " " __VA_ARGS__); \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long _a = (long long)(a), _b = (long long)(b);          \
		if (_a != _b)                                                \
			test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
				  #a, _a, #b, _b);                           \
	} while (0)

/*
 * Catching SIGBUS in the faulting thread, as an application would: the
 * handler is installed before udax_store_open() and udax chains to it.
 * TEST_TRY_SIGBUS(flag) runs the next statement with a landing pad; flag
 * becomes 1 if that thread got SIGBUS.
 */
extern __thread sigjmp_buf test_sigbus_jmp;
extern __thread volatile int test_sigbus_armed;
extern volatile int test_sigbus_seen_unarmed;
void test_install_sigbus_catcher(void);
/* Read (or write value to) *p; Return: whether that raised SIGBUS in this
 * thread (needs test_install_sigbus_catcher()). */
bool test_access_sigbus(char *p, bool write, char value);

/*
 * Catching SIGSEGV in the faulting thread, as an application would: the
 * handler is installed before udax_store_open() and udax chains to it. A
 * SIGSEGV outside test_access_sigsegv() exits 98 after saying where.
 */
void test_install_sigsegv_catcher(void);
/* Read the 8-byte word at p into *value (or write *value there); Return:
 * whether that raised SIGSEGV in this thread (needs
 * test_install_sigsegv_catcher()). */
bool test_access_sigsegv(char *p, bool write, uint64_t *value);

/* The stamp of page `page` of a file written by `who`: never 0 (for the
 * page numbers of a test), different for each page and writer. */
uint64_t test_page_stamp(char who, uint64_t page);
/* pwrite pages 0..pages-1 of f, each filled with its test_page_stamp(),
 * failing the test if a write fails. */
void test_file_fill(struct udax_file *f, char who, uint64_t pages);

/* The values UDAX_DELIVERY takes: tests of delivery behaviour run in each. */
extern const char *const test_delivery_modes[2];
/* Run fn(arg) in a child process; fail the test, naming what, unless the
 * child exits 0 (a CHECK failing in it exits 1 after printing why). */
void test_in_child(const char *what, void (*fn)(void *arg), void *arg);

/* The process's VMAs (lines of /proc/self/maps) and vm.max_map_count. */
uint64_t test_vma_count(void);
uint64_t test_vma_limit(void);

/* udax_fstat() of f, failing the test if it fails. */
struct udax_file_stat test_file_stat(struct udax_file *f);

#endif /* UDAX_TEST_UTIL_H */
