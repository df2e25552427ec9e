/*
 * Fuzz target: the settings file parser (server/util/conf.c:
 * DATA/renkei.conf, INI read by inih, each value through the settings
 * table), on a file in memory, then conf_resolve_paths as main does.
 *
 * Invariants:
 *  - a refusal says where: "renkei.conf:LINE: ..." with a line number;
 *  - an accepted file leaves every checked string setting valid
 *    (log_level, metrics_access) and every path set after resolving;
 *  - nothing leaks, whatever is set twice or refused half-way.
 */
#include <string.h>

#include "fuzz.h"
#include "util/conf.h"
#include "util/log.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char err[256] = "";
	FILE *f;
	int rc;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	CHECK(f != NULL);
	conf_init(&c);
	rc = conf_load_stream(&c, f, "renkei.conf", err, sizeof(err));
	fclose(f);
	CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		CHECK(strncmp(err, "renkei.conf:", 12) == 0);
		CHECK(err[12] >= '0' && err[12] <= '9');
	} else {
		CHECK(log_level_parse(c.log_level) >= 0);
		CHECK(strcmp(c.metrics_access, "loopback") == 0 ||
		      strcmp(c.metrics_access, "any") == 0 ||
		      strcmp(c.metrics_access, "off") == 0);
		CHECK(c.port >= 1 && c.port <= 65535);
		/* OWASP's floor holds (no RENKEI_ARGON2_TEST_COST here). */
		CHECK(c.argon2_m_kib >= 19456 && c.argon2_t >= 2);
		conf_resolve_paths(&c);
		CHECK(c.tls_cert[0] != '\0' && c.tls_key[0] != '\0');
		CHECK(c.keys_dir[0] != '\0' && c.backup_key_file[0] != '\0');
	}
	conf_fini(&c);
	return 0;
}
