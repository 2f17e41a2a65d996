/* SPDX-License-Identifier: MIT */
/*
 * delivery.h - layer delivery: the SIGBUS/SIGSEGV entry of udax faults
 * (delivery.c), and the asynchronous signals udax calls block.
 *
 * May call: base, mm, fault. Called by: api.
 */
#ifndef UDAX_DELIVERY_H
#define UDAX_DELIVERY_H

#include <signal.h>

/* Install the fault handlers (once per process), keeping the
 * application's to chain to. Return: 0, or -errno with the reason in *why. */
int delivery_init(const char **why);

/* sigaction(2) for the application: for SIGBUS and SIGSEGV once udax's
 * handlers are installed, the handler udax chains to is changed (act) and
 * reported (old), udax's own staying in place; otherwise sigaction itself.
 * Async-signal-safe. Return: 0 or -errno. */
int delivery_app_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/* fork(): prepare takes the lock of the handlers' installation, parent
 * releases it, child makes it anew (api/fork.c). */
void delivery_fork_prepare(void);
void delivery_fork_parent(void);
void delivery_fork_child(void);

/* Block the application's asynchronous signals in this thread (every
 * signal but SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, which the
 * CPU raises for the instruction that runs), keeping the mask it had in
 * *saved; restore it. The fault handler runs with the same set blocked. */
void delivery_signals_block(sigset_t *saved);
void delivery_signals_restore(const sigset_t *saved);

#endif /* UDAX_DELIVERY_H */
