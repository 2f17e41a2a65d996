/* SPDX-License-Identifier: MIT */
/*
 * run_cmd.h - `udax run`, the launcher of the preload shim (run_cmd.c).
 */
#ifndef UDAX_RUN_CMD_H
#define UDAX_RUN_CMD_H

/* udax run [--store STORE] [--root DIR] [--create SIZE] -- PROGRAM [ARGS]:
 * exec PROGRAM with libudax-preload.so. store is -s STORE or $UDAX_STORE
 * (NULL if neither). Return: the exit status, when PROGRAM could not be
 * run (else it does not return). */
int cmd_run(const char *store, int argc, char **argv);

#endif /* UDAX_RUN_CMD_H */
