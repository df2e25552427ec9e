/*
 * What the fuzz targets that need real encrypted databases share: a
 * scratch folder in memory (/dev/shm, else /tmp), removed at exit, and
 * the configuration of the two SQLCipher files in it with fresh keys.
 * (The unit tests' tests/common/unit_store.c does the same with cmocka's
 * asserts; a fuzz target has no cmocka.)
 */
#ifndef RK_FUZZ_STORE_H
#define RK_FUZZ_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "store/store.h"
#include "util/text.h"

static char fuzz_dir[96];

static void
fuzz_dir_remove(void)
{
	char cmd[160];

	if (fuzz_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir);
	if (system(cmd) != 0)
		dprintf(fuzz_report_fd, "could not remove %s\n", fuzz_dir);
	fuzz_dir[0] = '\0';
}

/* Make the scratch folder "renkei-fuzz-NAME-XXXXXX" once; removed at
 * exit (a crash leaves it: it is small, and it is evidence). */
static inline const char *
fuzz_scratch(const char *name)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/renkei-fuzz-%s-XXXXXX", base, name);
	CHECK(mkdtemp(fuzz_dir) != NULL);
	atexit(fuzz_dir_remove);
	return fuzz_dir;
}

/* cfg for care.db and audit.db in dir (paths into care[128], audit[128]),
 * fresh random keys, one reader, batches of at most 100. */
static inline void
fuzz_store_config(struct store_config *cfg, const char *dir, char care[128],
                  char audit[128])
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(care, 128, "%s/care.db", dir);
	snprintf(audit, 128, "%s/audit.db", dir);
	cfg->care_path = care;
	cfg->audit_path = audit;
	rk_random(cfg->care_key.bytes, 32);
	rk_random(cfg->audit_key.bytes, 32);
	cfg->readers = 1;
	cfg->max_batch = 100;
	cfg->cache_mb = 2;
}

#endif
