/* SPDX-License-Identifier: MIT */
/*
 * vma_registry.h - layer mm: the process's udax mappings, found by address
 * (the kernel's find_vma), each also on its file's list (inode.maps), and
 * what becomes of them in a fork() child.
 *
 * May call: base, mm/install.h. Locks: the registry lock (address_space.h
 * gives its place in the lock order).
 */
#ifndef UDAX_MM_VMA_REGISTRY_H
#define UDAX_MM_VMA_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/address_space.h"

/* Add vma (addr, len, pgoff, prot, inode and flags set; its addresses
 * reserved missing) to the registry and to its inode's list, giving it its
 * id and owner: faults in it are served from now on. */
void vma_register(struct udax_vma *vma);
/* Take the mapping at exactly [addr, addr + len rounded up to a page) out
 * of the registry, wait for the faults in progress in it, take it off its
 * inode's list and unmap its addresses. Return: the mapping (the caller
 * frees it), or NULL if there is none. */
struct udax_vma *vma_unregister(void *addr, size_t len);

/* The mapping holding addr, counted in its users, or NULL. */
struct udax_vma *vma_get(const void *addr);
/* Drop the count vma_get() took. */
void vma_put(struct udax_vma *vma);

/* Empty every udax mapping of the process, each under its inode's
 * invalidate_lock (exclusive): the VMA budget's last resort.
 * Return: the number of mappings. Context: no udax lock held. */
uint64_t vma_evict_all(void);

/* fork(): prepare takes the registry lock (no mapping comes or goes
 * across the fork), parent releases it. child (in the child) makes every
 * mapping PROT_NONE memory udax does not know (unmapping those being
 * unmapped), empties the registry and returns them, linked by next, still
 * pointing to the parent's inodes: the caller makes them mappings of the
 * child's own, or unmaps or leaves them, and frees them. */
void vma_registry_fork_prepare(void);
void vma_registry_fork_parent(void);
struct udax_vma *vma_registry_fork_child(void);
/* Whether pred holds for a mapping of the process. Context: the registry
 * lock held (vma_registry_fork_prepare()). */
bool vma_registry_any_locked(bool (*pred)(const struct udax_vma *vma));

#endif /* UDAX_MM_VMA_REGISTRY_H */
