// SPDX-License-Identifier: MIT
/*
 * injected_errors: with the fault-injection build (make check-inject), a
 * failing store I/O, index node allocation or page install turns a fault
 * into SIGBUS in the faulting thread (the process goes on, the page stays
 * as it was, a retry works) and makes udax_pwrite return the error with
 * nothing changed. Each case runs in a re-executed child with UDAX_INJECT
 * set, since injection points are read at program start.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096

static struct udax_store *s;
static struct udax_file *f;
static char *map;

static void setup(void)
{
	test_install_sigbus_catcher();
	CHECK_EQ(udax_store_create(test_path("store"), 8ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, 16 * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, 16 * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
}

static void expect(uint64_t blocks, uint64_t sigbus)
{
	struct udax_file_stat st;

	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, blocks);
	CHECK_EQ(st.faults_sigbus, sigbus);
}

static void case_zero_fault(void)	/* UDAX_INJECT=zero:1 */
{
	setup();
	CHECK(test_access_sigbus(map + 3 * PG, true, 7), "write fault survived an I/O error");
	expect(0, 1);
	CHECK_EQ(map[3 * PG], 0);			/* still a hole */
	CHECK(!test_access_sigbus(map + 3 * PG, true, 7));	/* retry works */
	CHECK_EQ(map[3 * PG], 7);
	expect(1, 1);
}

static void case_zero_pwrite(void)	/* UDAX_INJECT=zero:2 */
{
	char buf[PG];

	setup();
	map[0] = 1;					/* zero call 1 */
	memset(buf, 'p', sizeof(buf));
	CHECK_EQ(udax_pwrite(f, buf, PG, 5 * PG), -EIO);	/* zero call 2 */
	expect(1, 0);
	CHECK_EQ(map[5 * PG], 0);
	CHECK_EQ(udax_pwrite(f, buf, PG, 5 * PG), PG);
	CHECK_EQ(map[5 * PG], 'p');
}

static void case_node(void)		/* UDAX_INJECT=node:1+ */
{
	char buf[8] = "abcdefg";

	setup();
	CHECK(test_access_sigbus(map, true, 1), "fault without index memory did not SIGBUS");
	expect(0, 1);
	CHECK_EQ(udax_pwrite(f, buf, sizeof(buf), 0), -ENOMEM);
	expect(0, 1);
}

static uint64_t map_evictions(void)
{
	struct udax_file_stat st;

	CHECK_EQ(udax_fstat(f, &st), 0);
	return st.map_evictions;
}

static void case_map_once(void)		/* UDAX_INJECT=map:1 */
{
	setup();
	/* A refused install empties the mappings and the access is retried. */
	CHECK(!test_access_sigbus(map + 2 * PG, true, 9), "one failed install raised SIGBUS");
	CHECK_EQ(map[2 * PG], 9);
	expect(1, 0);
	CHECK_EQ(map_evictions(), 1);
}

static void case_map_always(void)	/* UDAX_INJECT=map:1+ */
{
	setup();
	CHECK(test_access_sigbus(map + 2 * PG, true, 9), "failing installs did not SIGBUS");
	expect(1, 1);	/* the block was allocated before the install failed */
	/* Each refusal empties the mappings and retries, up to 8 times for
	 * one page (delivery/delivery.c, EVICTIONS_PER_PAGE), then SIGBUS. */
	CHECK_EQ(map_evictions(), 8);
	CHECK_EQ(udax_pread(f, map, 1, 2 * PG), -EFAULT);	/* into a page that cannot map */
}

static const struct {
	const char *name, *inject;
	void (*run)(void);
} cases[] = {
	{ "zero_fault", "zero:1", case_zero_fault },
	{ "zero_pwrite", "zero:2", case_zero_pwrite },
	{ "node", "node:1+", case_node },
	{ "map_once", "map:1", case_map_once },
	{ "map_always", "map:1+", case_map_always },
};

int main(int argc, char **argv)
{
	char seed[32];

	if (argc == 2) {	/* a re-executed child runs one case */
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			if (strcmp(argv[1], cases[i].name) == 0) {
				test_init(cases[i].name, 60);
				cases[i].run();
				CHECK(test_sigbus_seen_unarmed == 0);
				test_pass();
			}
		}
		return 1;
	}
	test_init("injected_errors", 120);
#ifndef UDAX_FAULT_INJECT
	test_skip("built without UDAX_FAULT_INJECT (run make check-inject)");
#endif
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)test_seed);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status;
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			setenv("UDAX_INJECT", cases[i].inject, 1);
			setenv("UDAX_SEED", seed, 1);
			execl("/proc/self/exe", argv[0], cases[i].name, (char *)NULL);
			_exit(127);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "case %s: status %#x",
		      cases[i].name, status);
	}
	test_pass();
}
