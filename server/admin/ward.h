/*
 * ward — the patient part of a ward file (patients, liaison sheets,
 * hand-offs, posts), for admin_import. Runs inside the import's
 * transaction. Returns the number of patients, or -1 after printing what
 * was wrong.
 */
#ifndef RK_ADMIN_WARD_H
#define RK_ADMIN_WARD_H

#include <jansson.h>

#include "store/store.h"

int ward_import_patients(struct store_conn *sc, json_t *patients);

/* The file's "oncall" array (docs/oncall.md): rota entries {"org",
 * "login", "hours" (1..168), "from_hours" (0..168, default 0)} counted
 * from the import's time. Returns the number of entries, or -1 after
 * printing what was wrong. */
int ward_import_oncall(struct store_conn *sc, json_t *entries);

#endif
