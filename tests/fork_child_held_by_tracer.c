// SPDX-License-Identifier: MIT
/*
 * fork_child_held_by_tracer: a debugger (gdb with detach-on-fork off)
 * holds a new fork child stopped from its creation. The parent's fork(),
 * which waits for its child to inherit its mappings, must still return:
 * here a tracer (this test) follows the program's forks and resumes the
 * child only once the program says its fork() returned. The old code
 * waited for the child for ever: the tracer never heard back (watchdog).
 * Found by the second adversarial pass of issue 14, stage 4. Then the
 * child, resumed, still inherits and reads the file. Skipped where
 * ptrace is not permitted and in sanitizer builds (no inheritance there).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"
#include "xproc_test.h"

#define PG 4096ull
#define PAGES 16ull

/* The traced program: map, wait for go, fork; say fork() returned; the
 * child reads its inherited mapping. Exit: 0, or the child's failure. */
static int program(const char *path, int go, int said)
{
	struct udax_store *s;
	struct udax_file *f;
	int status;
	char *map, c;
	pid_t pid;

	if (udax_store_open(path, 0, &s) || udax_open(s, "f", O_RDONLY, &f) ||
	    udax_mmap(f, 0, PAGES * PG, PROT_READ, (void **)&map) || map[0] != 'x')
		return 10;
	if (read(go, &c, 1) != 1)
		return 11;
	pid = fork();
	if (pid == 0)
		_exit(map[(PAGES - 1) * PG] == 'x' ? 0 : 3);
	if (pid < 0 || write(said, "r", 1) != 1)
		return 12;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 13;
	return WEXITSTATUS(status);
}

int main(void)
{
	const char *path;
	struct udax_store *s;
	struct udax_file *f;
	int go[2], said[2], status;
	pid_t prog, child = 0, who;
	bool returned = false, child_held = false;
	char buf[PAGES * PG], c;

	test_init("fork_child_held_by_tracer", 60);
	if (XPROC_TEST_SANITIZED)
		test_skip("a sanitizer build does not inherit mappings (fork.c)");
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 16ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_EXCLUSIVE, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(udax_pwrite(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);

	CHECK(pipe(go) == 0 && pipe(said) == 0);
	prog = fork();
	CHECK(prog >= 0);
	if (prog == 0)
		_exit(program(path, go[0], said[1]));
	close(said[1]);
	if (ptrace(PTRACE_SEIZE, prog, 0, PTRACE_O_TRACEFORK) != 0) {
		kill(prog, SIGKILL);
		waitpid(prog, &status, 0);
		test_skip("ptrace is not permitted here");
	}
	CHECK(write(go[1], "g", 1) == 1);
	/* Pass every stop on (the program's and the child's udax faults are
	 * signals), but hold the child from its first stop until the
	 * program said its fork() returned. */
	for (;;) {
		who = waitpid(-1, &status, __WALL);
		CHECK(who > 0, "waitpid: %s", strerror(errno));
		if (who == prog && (WIFEXITED(status) || WIFSIGNALED(status)))
			break;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			continue;	/* the child, reaped by the program too */
		if (who == prog && status >> 8 == (SIGTRAP | PTRACE_EVENT_FORK << 8)) {
			unsigned long msg;

			CHECK(ptrace(PTRACE_GETEVENTMSG, prog, 0, &msg) == 0);
			child = (pid_t)msg;
			CHECK(ptrace(PTRACE_CONT, prog, 0, 0) == 0);
			if (read(said[0], &c, 1) == 1)	/* blocks until fork() returned */
				returned = true;
			if (child_held)
				CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
			continue;
		}
		if (who == child && !returned && status >> 16 == PTRACE_EVENT_STOP) {
			child_held = true;	/* resumed once the program says so */
			continue;
		}
		/* a signal-delivery stop (SIGBUS, SIGSEGV, SIGCHLD: passed on)
		 * or a group stop (resumed) */
		CHECK(ptrace(PTRACE_CONT, who, 0,
			     status >> 16 == 0 ? WSTOPSIG(status) : 0) == 0);
	}
	CHECK(returned, "the traced program never said its fork() returned");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the program: status %#x (3: its child read a wrong byte)", status);
	test_pass();
}
