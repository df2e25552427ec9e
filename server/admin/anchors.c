/*
 * renkei-server audit verify --anchors FILE (admin/backup.h).
 */
#include "admin/backup.h"

#include <stdio.h>

#include <openssl/crypto.h>

#include "admin/admin.h"
#include "audit/anchor.h"
#include "util/err.h"

int
admin_audit_anchors(const struct conf *conf, const char *anchors_path)
{
	struct store_config cfg;
	struct store_conn *sc;
	struct audit_anchor_result res;
	char err[512], pub[4200];
	int rc;

	if (admin_store_config(conf, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	rc = store_conn_open(&sc, &cfg, 1, err, sizeof(err));
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	if (rc != RK_OK) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	snprintf(pub, sizeof(pub), "%s.pub", conf->audit_signing_key);
	rc = audit_verify_anchors(sc, "audit", pub, anchors_path, &res);
	store_conn_close(sc);
	if (rc != RK_OK) {
		fprintf(stderr, "renkei-server: the anchors could not be checked: %s\n",
		        res.why[0] ? res.why : rk_strerror(rc));
		return 1;
	}
	if (!res.ok) {
		printf("FAILED: anchors: %s\n", res.why);
		return 1;
	}
	printf("OK: anchors: the chain matches all %lld anchors of %s (%lld "
	       "checkpoints, the newest at record %lld)\n",
	       (long long)res.anchors, anchors_path, (long long)res.matched,
	       (long long)res.newest_record);
	return 0;
}
