/*
 * A temporary store for unit tests (unit_store.h).
 */
#include "unit_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/text.h"

void
unit_tmpdir(char dir[64], const char *name)
{
	snprintf(dir, 64, "/tmp/renkei-%s-XXXXXX", name);
	assert_non_null(mkdtemp(dir));
}

void
unit_store_config(struct store_config *cfg, const char *dir, char care[96],
                  char audit[96])
{
	snprintf(care, 96, "%s/care.db", dir);
	snprintf(audit, 96, "%s/audit.db", dir);
	cfg->care_path = care;
	cfg->audit_path = audit;
	rk_random(cfg->care_key.bytes, 32);
	rk_random(cfg->audit_key.bytes, 32);
	cfg->readers = 1;
	cfg->max_batch = 100;
}

void
unit_rm_rf(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}
