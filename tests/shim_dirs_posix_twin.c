// SPDX-License-Identifier: MIT
/*
 * shim_dirs_posix_twin: an ordinary POSIX program run under `udax run`
 * makes seeded random directory calls in the store and in a host twin
 * directory and requires the same results (return values, errnos): mkdir,
 * rmdir, rename, unlink, open(O_CREAT) and open(O_DIRECTORY) on paths
 * a/b/c; the *at calls relative to a directory descriptor (mkdirat,
 * openat, fstatat, unlinkat with and without AT_REMOVEDIR, renameat);
 * relative calls after chdir and fchdir into a directory, and getcwd.
 * Every 100 steps the trees, listed with opendir/readdir (and fdopendir,
 * rewinddir, telldir/seekdir on the way), are the same: names, d_type,
 * stat's type. Runs in the sanitizer builds too. Exit 0 pass, 1 fail
 * (with the seed).
 */
#include <dirent.h>
#include <fcntl.h>

#include "shim_lib.h"

#define STEPS 3000


static char *paths[2][1024];
static int npaths[2];

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List directory rel (under side s) into paths[s], recursively, with
 * readdir; the first level also through telldir/seekdir and rewinddir. */
static void walk(int s, const char *rel, bool first)
{
	char full[PATH_MAX], sub[PATH_MAX];
	struct dirent *e;
	long mark = -1;
	int fd, count = 0, again = 0;
	DIR *d;

	snprintf(full, sizeof(full), "%s%s%s", shim_path(s, ""), *rel ? "/" : "", rel);
	fd = open(full, O_RDONLY | O_DIRECTORY);
	SHIM_CHECK(fd >= 0, "open %s: %s", full, strerror(errno));
	d = fdopendir(fd);
	SHIM_CHECK(d && dirfd(d) == fd, "fdopendir %s: %s", full, strerror(errno));
	while ((e = readdir(d))) {
		struct stat st;

		if (++count == 3)
			mark = telldir(d);
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		SHIM_CHECK(fstatat(fd, e->d_name, &st, 0) == 0, "fstatat %s: %s", sub,
			   strerror(errno));
		SHIM_CHECK(S_ISDIR(st.st_mode) == (e->d_type == DT_DIR), "%s: d_type %d, mode %o",
			   sub, e->d_type, st.st_mode);
		SHIM_CHECK(npaths[s] < 1024, "too many entries");
		paths[s][npaths[s]] = malloc(strlen(sub) + 3);
		sprintf(paths[s][npaths[s]++], "%s %c", sub, S_ISDIR(st.st_mode) ? 'd' : 'f');
		if (S_ISDIR(st.st_mode))
			walk(s, sub, false);
	}
	if (first && mark >= 0) {	/* from the mark on again: as many as after it */
		seekdir(d, mark);
		while (readdir(d))
			again++;
		SHIM_CHECK(again == count - 3, "seekdir: %d entries after the mark, %d in all",
			   again, count);
		rewinddir(d);
		for (again = 0; readdir(d); again++)
			;
		SHIM_CHECK(again == count, "rewinddir: %d entries, %d before", again, count);
	}
	SHIM_CHECK(closedir(d) == 0, "closedir: %s", strerror(errno));
}

static void trees_compare(int step)
{
	for (int s = 0; s < 2; s++) {
		while (npaths[s])
			free(paths[s][--npaths[s]]);
		walk(s, "", true);
		qsort(paths[s], (size_t)npaths[s], sizeof(char *), line_cmp);
	}
	for (int i = 0; i < npaths[0] || i < npaths[1]; i++)
		SHIM_CHECK(i < npaths[0] && i < npaths[1] && !strcmp(paths[0][i], paths[1][i]),
			   "step %d: the trees differ at entry %d: host '%s', udax '%s'", step, i,
			   i < npaths[0] ? paths[0][i] : "(end)",
			   i < npaths[1] ? paths[1][i] : "(end)");
}

static void random_path(char *p)
{
	int depth = 1 + (int)(shim_rand() % 3), n = 0;

	for (int i = 0; i < depth; i++)
		n += sprintf(p + n, "%s%c", i ? "/" : "", "abc"[shim_rand() % 3]);
}

/* open O_CREAT, closed at once. Return: 0 or -1. */
static int create_at(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDWR | O_CREAT, 0644);

	return fd < 0 ? -1 : close(fd);
}

/* The type of path from dirfd: 'd', 'f', or -1. */
static int type_at(int dirfd, const char *path)
{
	struct stat st;

	if (fstatat(dirfd, path, &st, 0) != 0)
		return -1;
	return S_ISDIR(st.st_mode) ? 'd' : 'f';
}

/* chdir (or fchdir) into side s's directory dir, then mkdir, create or
 * rmdir the relative name; getcwd must say where it is. Return: the
 * call's result. */
static int relative_call(int s, const char *dir, const char *name, int what, bool by_fd)
{
	char cwd[PATH_MAX];
	int ret, fd = -1;

	if (by_fd) {
		fd = open(shim_path(s, dir), O_RDONLY | O_DIRECTORY);
		ret = fd < 0 ? -1 : fchdir(fd);
	} else {
		ret = chdir(shim_path(s, dir));
	}
	if (ret == 0) {
		SHIM_CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, shim_path(s, dir)),
			   "getcwd: %s, not %s", cwd, shim_path(s, dir));
		ret = what == 0 ? mkdir(name, 0755) : what == 1 ? create_at(AT_FDCWD, name) :
		      rmdir(name);
	}
	if (fd >= 0)
		close(fd);
	SHIM_CHECK(chdir(shim_dir) == 0, "chdir back: %s", strerror(errno));
	return ret;
}

static void step(int n)
{
	static char twin_case[48];
	char a[16], b[16];
	int op = (int)(shim_rand() % 12), dfd[2] = { -1, -1 }, e[2], what;

	random_path(a);
	random_path(b);
	snprintf(twin_case, sizeof(twin_case), "[%s, %s] ", a, b);
	shim_twin_case = twin_case;
	switch (op) {
	case 0:
	case 1:
		TWIN(mkdir(shim_path(s, a), 0755));
		break;
	case 2:
		TWIN(rmdir(shim_path(s, a)));
		break;
	case 3:
		TWIN(rename(shim_path(s, a), shim_path(s, b)));
		break;
	case 4:
		TWIN(unlink(shim_path(s, a)));
		break;
	case 5:
	case 6:
		TWIN(create_at(AT_FDCWD, shim_path(s, a)));
		break;
	case 7:
		TWIN(type_at(AT_FDCWD, shim_path(s, a)));
		break;
	case 8:
	case 9:	/* the *at calls from a directory descriptor */
		for (int s = 0; s < 2; s++) {
			errno = 0;
			dfd[s] = open(shim_path(s, a), O_RDONLY | O_DIRECTORY);
			e[s] = dfd[s] < 0 ? errno : 0;
		}
		SHIM_CHECK((dfd[0] < 0) == (dfd[1] < 0) && e[0] == e[1],
			   "step %d: open %s O_DIRECTORY: host %s, udax %s", n, a, strerror(e[0]),
			   strerror(e[1]));
		if (dfd[0] < 0)
			break;
		TWIN(mkdirat(dfd[s], "c", 0755));
		TWIN(create_at(dfd[s], "b"));
		TWIN(type_at(dfd[s], "b"));
		TWIN(renameat(dfd[s], "b", dfd[s], "a"));
		TWIN(unlinkat(dfd[s], op == 8 ? "a" : "c", op == 8 ? 0 : AT_REMOVEDIR));
		TWIN(type_at(dfd[s], ".."));
		for (int s = 0; s < 2; s++)
			close(dfd[s]);
		break;
	default:	/* relative to a working directory in the tree */
		what = (int)(shim_rand() % 3);
		TWIN(relative_call(s, a, "c", what, op == 11));
		break;
	}
	if (n % 100 == 99)
		trees_compare(n);
}

int main(int argc, char **argv)
{
	shim_start(argc, argv, 200);
	SHIM_CHECK(chdir(shim_dir) == 0, "chdir %s: %s", shim_dir, strerror(errno));
	for (int n = 0; n < STEPS; n++)
		step(n);
	trees_compare(STEPS);
	printf("shim_dirs_posix_twin: %d random directory calls agree with the host (seed %llu)\n",
	       STEPS, (unsigned long long)shim_seed);
	return 0;
}
