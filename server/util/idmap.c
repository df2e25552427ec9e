#include "util/idmap.h"

#include <stdlib.h>

#include "util/mem.h"

static size_t
slot_of(uint64_t id, size_t cap)
{
	/* Fibonacci hashing spreads sequential ids. */
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

void
idmap_init(struct idmap *m)
{
	m->im_slots = NULL;
	m->im_cap = 0;
	m->im_count = 0;
}

void
idmap_fini(struct idmap *m)
{
	free(m->im_slots);
	idmap_init(m);
}

void *
idmap_get(const struct idmap *m, uint64_t id)
{
	if (m->im_cap == 0 || id == 0)
		return NULL;
	for (size_t i = slot_of(id, m->im_cap);; i = (i + 1) & (m->im_cap - 1)) {
		if (m->im_slots[i].id == id)
			return m->im_slots[i].val;
		if (m->im_slots[i].id == 0)
			return NULL;
	}
}

static void
grow(struct idmap *m)
{
	struct idmap_slot *old = m->im_slots;
	size_t oldcap = m->im_cap;

	m->im_cap = oldcap ? oldcap * 2 : 16;
	m->im_slots = rk_calloc(m->im_cap, sizeof(*m->im_slots));
	m->im_count = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].id != 0)
			idmap_set(m, old[i].id, old[i].val);
	free(old);
}

void
idmap_set(struct idmap *m, uint64_t id, void *val)
{
	if (m->im_cap == 0 || (m->im_count + 1) * 4 > m->im_cap * 3)
		grow(m);
	for (size_t i = slot_of(id, m->im_cap);; i = (i + 1) & (m->im_cap - 1)) {
		if (m->im_slots[i].id == id) {
			m->im_slots[i].val = val;
			return;
		}
		if (m->im_slots[i].id == 0) {
			m->im_slots[i].id = id;
			m->im_slots[i].val = val;
			m->im_count++;
			return;
		}
	}
}

void *
idmap_del(struct idmap *m, uint64_t id)
{
	size_t mask = m->im_cap - 1, i, j;
	void *val;

	if (m->im_cap == 0 || id == 0)
		return NULL;
	for (i = slot_of(id, m->im_cap);; i = (i + 1) & mask) {
		if (m->im_slots[i].id == 0)
			return NULL;
		if (m->im_slots[i].id == id)
			break;
	}
	val = m->im_slots[i].val;
	/* Backward-shift: pull later members of the probe run into the hole
	 * so that lookups never stop early at it. */
	for (j = (i + 1) & mask; m->im_slots[j].id != 0; j = (j + 1) & mask) {
		size_t home = slot_of(m->im_slots[j].id, m->im_cap);
		/* Move j to i if home is not cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->im_slots[i] = m->im_slots[j];
			i = j;
		}
	}
	m->im_slots[i].id = 0;
	m->im_slots[i].val = NULL;
	m->im_count--;
	return val;
}

int
idmap_next(const struct idmap *m, size_t *pos, uint64_t *id, void **val)
{
	while (*pos < m->im_cap) {
		size_t i = (*pos)++;
		if (m->im_slots[i].id != 0) {
			*id = m->im_slots[i].id;
			*val = m->im_slots[i].val;
			return 1;
		}
	}
	return 0;
}

