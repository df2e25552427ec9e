/*
 * What unit tests that need a real store share: a temporary folder, the
 * configuration of two fresh SQLCipher databases in it, and its removal.
 * (Unit tests only: it links the server's store.)
 */
#ifndef RK_TEST_UNIT_STORE_H
#define RK_TEST_UNIT_STORE_H

#include "store/store.h"

/* A new empty folder "/tmp/renkei-<name>-XXXXXX" into dir[64]; fails the
 * test if it cannot be made. */
void unit_tmpdir(char dir[64], const char *name);

/* cfg for care.db and audit.db in dir (paths written to care[96] and
 * audit[96], which cfg points at), fresh random keys, one reader,
 * batches of at most 100; the rest of cfg is left as it was. */
void unit_store_config(struct store_config *cfg, const char *dir, char care[96],
                       char audit[96]);

/* Remove dir and everything in it. */
void unit_rm_rf(const char *dir);

#endif
