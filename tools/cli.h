/* SPDX-License-Identifier: MIT */
/*
 * cli.h - helpers the udax command's files share.
 */
#ifndef UDAX_CLI_H
#define UDAX_CLI_H

/* Print "udax CMD: what: strerror(-err) (detail)". Return: 1. */
int fail(const char *what, int err);
/* Print msg and a hint at --help. Return: 2. */
int usage_error(const char *msg);
double now_seconds(void);

struct udax_store;
/* Open the store at path with flags (0, or UDAX_STORE_RDONLY for commands
 * that only read). Return: 0, or the exit status after printing why. */
int open_store(const char *path, unsigned flags, struct udax_store **s);
/* Close s. Return: status, or 1 if the close fails and status was 0. */
int close_store(struct udax_store *s, int status);

/* udax put, get, cat (copy_cmds.c). Return: exit status. */
int cmd_put(const char *store, int argc, char **argv);
int cmd_get(const char *store, int argc, char **argv);
int cmd_cat(const char *store, int argc, char **argv);

/* udax bench (bench_cmd.c). Return: exit status. */
int cmd_bench(int argc, char **argv);

#endif /* UDAX_CLI_H */
