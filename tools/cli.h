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

/* udax bench (udax_bench.c). Return: exit status. */
int cmd_bench(int argc, char **argv);

#endif /* UDAX_CLI_H */
