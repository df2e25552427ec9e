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

#endif
