/*
 * idmap — a hash map from non-zero 64-bit ids to pointers (open
 * addressing, linear probing, backward-shift deletion; after nng's
 * idhash). Used for live connections by id, subscriptions by board, and
 * sessions by id. Not thread-safe: one owner thread.
 *
 * Invariants: id 0 is never stored (it marks an empty slot); the table is
 * at most 3/4 full; it grows by doubling and never shrinks below 16.
 */
#ifndef RK_UTIL_IDMAP_H
#define RK_UTIL_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_slot {
	uint64_t id;
	void *val;
};

struct idmap {
	struct idmap_slot *im_slots;
	size_t im_cap; /* power of two, or 0 before the first set */
	size_t im_count;
};

void idmap_init(struct idmap *m);
void idmap_fini(struct idmap *m);

/* The value for id, or NULL. */
void *idmap_get(const struct idmap *m, uint64_t id);
/* Insert or replace. id must not be 0. */
void idmap_set(struct idmap *m, uint64_t id, void *val);
/* Remove; returns the old value or NULL. */
void *idmap_del(struct idmap *m, uint64_t id);

/* Iterate: start with *pos = 0; returns 0 at the end. The map must not
 * change during iteration (collect ids first, then delete). */
int idmap_next(const struct idmap *m, size_t *pos, uint64_t *id, void **val);

#endif
