/* SPDX-License-Identifier: MIT */
/*
 * missing.h - layer mm: how a page of a udax mapping is "missing" (not
 * installed) so that touching it faults to udax, and address space for
 * new mappings in that state.
 *
 * A missing range is anonymous memory registered with one process-wide
 * userfaultfd in MISSING mode with UFFD_FEATURE_SIGBUS (a touch raises
 * SIGBUS in the faulting thread), or, where userfaultfd is not permitted or
 * UDAX_DELIVERY=sigsegv asks for it, PROT_NONE memory (a touch raises
 * SIGSEGV). delivery/ turns either signal into a fault.
 *
 * May call: base. Locks: its own mode lock (a leaf) while choosing.
 */
#ifndef UDAX_MM_MISSING_H
#define UDAX_MM_MISSING_H

#include <stdbool.h>
#include <stddef.h>

#include "udax.h"

/* The delivery this process uses (UDAX_DELIVERY_NONE before any mapping). */
enum udax_delivery missing_delivery(void);
/* Whether missing pages raise userfaultfd SIGBUS (else SIGSEGV). No lock:
 * for the fault handler, which runs only once a mapping exists. */
bool missing_by_userfaultfd(void);
/* Reserve len bytes (2 MiB aligned from 2 MiB up) of missing pages that
 * will get protection prot when installed. The first call of a process
 * chooses its delivery. Return: 0 with *addr set, or -errno (also when
 * the delivery UDAX_DELIVERY asks for is unavailable). */
int missing_range_reserve(size_t len, int prot, void **addr);
/* Make a fresh PROT_NONE anonymous range missing with protection prot (see
 * the file comment); also not inherited by fork() children. Should this
 * fail, the range stays PROT_NONE: still missing, faulting as SIGSEGV.
 * Return: 0 or -errno. */
int missing_range_arm(char *start, size_t len, int prot);

/* Make a range a fork() child inherited (PROT_NONE anonymous memory at
 * the addresses of its parent's mapping) missing in the child: as
 * missing_range_arm(), choosing the child's delivery (its own
 * userfaultfd) first. Return: 0 or -errno. */
int missing_range_inherit(char *start, size_t len, int prot);

/* fork(): prepare takes the delivery choice's lock, parent releases it,
 * child makes it anew; the child chooses its delivery again (the
 * parent's userfaultfd serves the parent's address space only). */
void missing_fork_prepare(void);
void missing_fork_parent(void);
void missing_fork_child(void);

#endif /* UDAX_MM_MISSING_H */
