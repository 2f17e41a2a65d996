// SPDX-License-Identifier: MIT
/*
 * store_shared_checkpointer_death: a member of a shared store (issue 14,
 * stage 2) is killed inside store_checkpoint() right after its superblock
 * reached the disk (the second sync of snapshot_commit()), before it
 * records the new generation, active area and superblock slot in the
 * shared store_meta. The next checkpointer (a survivor) takes
 * checkpoint_lock over; a crash image taken between its area write and its
 * superblock write must still open from the newest superblock
 * (udax_store_check: 0), as the same image does after a clean checkpoint
 * (the control part). It used not to: the survivor wrote its area over the
 * one the newest superblock names (-EUCLEAN, "newest superblock ...
 * unusable"); the takeover now reads the newest sealed superblock again.
 * (Found by the adversarial review of stage 2.)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "udax.h"

extern char **environ;

static const char *path, *image;
static const char *self;


/* Worker: the sync after the superblock write kills the process. */
static int syncs;
static int die_sync(struct store *s)
{
	int ret = store_io_default.sync(s);

	if (++syncs == 2)
		raise(SIGKILL);
	return ret;
}

static struct store_io_ops dying_io;

static void worker(void)
{
	struct store *s;
	int slot;

	s = store_shared_test_load(path);
	store_lock(s);
	slot = __store_file_create(s, STORE_PARENT_ROOT, "from-dead", STORE_TYPE_FILE);
	store_unlock(s);
	CHECK(slot >= 0);
	CHECK(store_get_block(s, slot, 0, STORE_ALLOCATE) > 0);
	dying_io = store_io_default;
	dying_io.sync = die_sync;
	s->io = &dying_io;
	store_checkpoint(s);
	_exit(3);	/* not reached */
}

/* Survivor: after the metadata area is written (the first write of a
 * checkpoint), copy the store file: the crash image of that instant. */
static bool imaged;
static int image_write(struct store *s, const void *buf, size_t len, uint64_t off)
{
	int ret = store_io_default.write(s, buf, len, off);

	if (!imaged && off >= store_block_offset(s->area_start[0]) &&
	    off < store_block_offset(s->data_start)) {
		char cmd[1024];

		imaged = true;
		snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", path, image);
		CHECK_EQ(system(cmd), 0);
	}
	return ret;
}

static struct store_io_ops imaging_io;

static int check_image_during_next_checkpoint(struct store *s, struct store_error *why)
{
	imaged = false;
	s->io = &imaging_io;
	CHECK_EQ(store_checkpoint(s), 0);
	s->io = &store_io_default;
	CHECK(imaged);
	return store_check_path(image, 0, why);
}

int main(int argc, char **argv)
{
	struct store_error why;
	struct store *s;
	int status, ret;
	pid_t pid;

	self = argv[0];
	if (argc == 4 && !strcmp(argv[1], "worker")) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		path = argv[2];
		worker();
	}
	test_init("store_shared_checkpointer_death", 60);
	path = test_path("store");
	image = test_path("image");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	imaging_io = store_io_default;
	imaging_io.write = image_write;
	CHECK_EQ(udax_store_create(path, 64ull << 20, 0), 0);
	s = store_shared_test_load(path);
	store_lock(s);
	CHECK(__store_file_create(s, STORE_PARENT_ROOT, "survivor", STORE_TYPE_FILE) >= 0);
	store_unlock(s);
	CHECK_EQ(store_checkpoint(s), 0);

	/* Control: a crash image in the middle of a checkpoint that follows
	 * a clean one checks clean. */
	store_lock(s);
	CHECK(__store_file_create(s, STORE_PARENT_ROOT, "control", STORE_TYPE_FILE) >= 0);
	store_unlock(s);
	ret = check_image_during_next_checkpoint(s, &why);
	printf("control: crash image mid-checkpoint after a clean checkpoint: %d (%s)\n", ret,
	       why.text);
	CHECK_EQ(ret, 0);

	/* A member dies right after its superblock is durable. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *wargv[] = { (char *)self, "worker", (char *)path, "x", NULL };

		execve(self, wargv, environ);
		_exit(127);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
	ret = store_check_path(path, 0, &why);
	printf("after the death: the store checks %d (%s)\n", ret, why.text);

	/* The metadata changes before the survivor's checkpoint (else its
	 * area would be byte for byte the dead one's). */
	store_lock(s);
	CHECK(__store_file_create(s, STORE_PARENT_ROOT, "after", STORE_TYPE_FILE) >= 0);
	store_unlock(s);
	ret = check_image_during_next_checkpoint(s, &why);
	printf("survivor's checkpoint: crash image between its area and superblock writes: "
	       "%d (%s)\n", ret, why.text);
	CHECK(ret == 0, "a crash image of the survivor's checkpoint does not check clean: %d: %s",
	      ret, why.text);
	store_unload(s);
	test_pass();
}
