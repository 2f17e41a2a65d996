// SPDX-License-Identifier: MIT
/*
 * vma_registry.c - layer mm: the registry of udax mappings (see
 * vma_registry.h).
 *
 * Locks: registry_lock protects the registry list and the unmapping list.
 * A fault takes it only to find its mapping and count itself in
 * vma.users; vma_unregister() moves the mapping to the unmapping list
 * under the lock, so no new fault finds it, then waits outside it for
 * users to reach 0 before releasing the addresses, so no fault can install
 * a page into a range that was given back to the kernel; then it takes the
 * mapping off the unmapping list (a fork in between: the child unmaps it,
 * or it would keep pages of the store file: found by the adversarial
 * pass).
 * inode.maps_lock protects the inode's list (install.c zaps through it).
 *
 * fork(): a child gets copies of the mappings' VMAs but nothing serves
 * their faults (with userfaultfd its missing pages would read as zeros; with
 * SIGSEGV delivery it would serve them from a copy of the parent's index
 * and allocator, and write into the store behind the parent's back).
 * vma_registry_fork_child() makes every mapping PROT_NONE memory that udax
 * does not know (an access raises SIGSEGV) and hands them to the library's
 * fork handler (api/fork.c), which makes them udax mappings of the child
 * again where it can (a store shared by processes), and unmaps those made
 * with UDAX_MAP_DONTFORK, as the kernel's MADV_DONTFORK leaves nothing in
 * the child. A child made without fork handlers (a raw
 * fork or clone syscall, _Fork()) inherits the pages udax installed but
 * not the missing ones (MADV_DONTFORK, missing.c), and its faults are not
 * served (vma.owner, delivery/delivery.c).
 *
 * May call: base, mm/install.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mm/install.h"
#include "mm/vma_registry.h"

static struct mutex registry_lock = MUTEX_INIT;
static struct udax_vma *registry;
/* Mappings udax_munmap() took off the registry and has not unmapped yet:
 * a fork child unmaps them (it would keep the store file's pages). */
static struct udax_vma *unmapping;
static _Atomic uint64_t vma_ids;

void vma_registry_fork_prepare(void)
{
	mutex_lock(&registry_lock);
}

void vma_registry_fork_parent(void)
{
	mutex_unlock(&registry_lock);
}

bool vma_registry_any_locked(bool (*pred)(const struct udax_vma *vma))
{
	for (const struct udax_vma *vma = registry; vma; vma = vma->next)
		if (pred(vma))
			return true;
	return false;
}

/* In the child, single-threaded: no lock is needed, and the parent's
 * registry_lock state (held by prepare) is dropped. */
struct udax_vma *vma_registry_fork_child(void)
{
	struct udax_vma *kept = NULL, *vma, *next;

	for (vma = registry; vma; vma = next) {
		next = vma->next;
		if (mmap(vma->addr, vma->len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED) {
			vma->next = kept;
			kept = vma;
			continue;
		}
		munmap(vma->addr, vma->len);	/* past vm.max_map_count */
	}
	for (vma = unmapping; vma; vma = vma->next)
		munmap(vma->addr, vma->len);
	registry = unmapping = NULL;	/* the other copies are the parent's to free */
	mutex_init(&registry_lock);
	return kept;
}

struct udax_vma *vma_get(const void *addr)
{
	const char *p = addr;
	struct udax_vma *vma;

	mutex_lock(&registry_lock);
	for (vma = registry; vma; vma = vma->next)
		if (p >= vma->addr && p < vma->addr + vma->len)
			break;
	if (vma)
		atomic_fetch_add_explicit(&vma->users, 1, memory_order_relaxed);
	mutex_unlock(&registry_lock);
	return vma;
}

/* Set in vma.users by udax_munmap() while it waits for the faults in
 * progress: only then does the last of them make the wake-up syscall. */
#define VMA_UNMAPPING ((uint32_t)1 << 31)

void vma_put(struct udax_vma *vma)
{
	/* release pairs with the acquire load in udax_munmap() */
	if (atomic_fetch_sub_explicit(&vma->users, 1, memory_order_release) ==
	    (VMA_UNMAPPING | 1))
		futex_wake(&vma->users, INT32_MAX);
}

uint64_t vma_evict_all(void)
{
	uint64_t mappings = 0;

	mutex_lock(&registry_lock);
	for (struct udax_vma *vma = registry; vma; vma = vma->next) {
		file_write_lock(&vma->inode->invalidate_lock);
		vma_zap_all(vma);
		file_write_unlock(&vma->inode->invalidate_lock);
		mappings++;
	}
	mutex_unlock(&registry_lock);
	return mappings;
}


void vma_register(struct udax_vma *vma)
{
	struct inode *ino = vma->inode;

	vma->id = atomic_fetch_add_explicit(&vma_ids, 1, memory_order_relaxed) + 1;
	vma->owner = getpid();
	atomic_init(&vma->users, 0);
	mutex_lock(&ino->maps_lock);
	/* Among the file's mappers before the mapping can fault. */
	if (ino->share)
		file_share_mapped(ino->share, (uint32_t)ino->slot, true);
	vma->next_in_inode = ino->maps;
	ino->maps = vma;
	mutex_unlock(&ino->maps_lock);
	mutex_lock(&registry_lock);
	vma->next = registry;
	registry = vma;
	mutex_unlock(&registry_lock);
}

struct udax_vma *vma_unregister(void *addr, size_t len)
{
	struct udax_vma **link, *vma = NULL;
	struct inode *ino;
	uint32_t users;

	mutex_lock(&registry_lock);
	for (link = &registry; *link; link = &(*link)->next) {
		if ((*link)->addr == addr &&
		    (*link)->len == ((len + PAGE_SIZE_4K - 1) & ~(size_t)(PAGE_SIZE_4K - 1))) {
			vma = *link;
			*link = vma->next;
			vma->next = unmapping;
			unmapping = vma;
			break;
		}
	}
	mutex_unlock(&registry_lock);
	if (!vma)
		return NULL;
	/* acquire pairs with the release in vma_put() */
	atomic_fetch_or_explicit(&vma->users, VMA_UNMAPPING, memory_order_relaxed);
	while ((users = atomic_load_explicit(&vma->users, memory_order_acquire)) != VMA_UNMAPPING)
		futex_wait(&vma->users, users);

	ino = vma->inode;
	mutex_lock(&ino->maps_lock);
	for (link = &ino->maps; *link != vma; link = &(*link)->next_in_inode)
		;
	*link = vma->next_in_inode;
	mutex_unlock(&ino->maps_lock);
	munmap(vma->addr, vma->len);
	mutex_lock(&registry_lock);
	for (link = &unmapping; *link != vma; link = &(*link)->next)
		;
	*link = vma->next;
	mutex_unlock(&registry_lock);
	/* No longer a mapper once its last mapping is gone from the address
	 * space (a new one registered meanwhile keeps it one). */
	if (ino->share) {
		mutex_lock(&ino->maps_lock);
		if (!ino->maps)
			file_share_mapped(ino->share, (uint32_t)ino->slot, false);
		mutex_unlock(&ino->maps_lock);
	}
	return vma;
}
