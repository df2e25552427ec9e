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
admin_audit_anchors(struct admin *a, const char *anchors_path)
{
	struct store_config cfg;
	struct store_conn *sc;
	struct audit_anchor_result res;
	char err[ADMIN_ERR], pub[4200];
	int rc;

	if (admin_store_config(a, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	rc = store_conn_open(&sc, &cfg, 1, err, sizeof(err));
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	if (rc != RK_OK) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	/* The root key; the rotations in the trail give the later ones. */
	admin_key_path(a, KEYS_ROOT_PUB, pub, sizeof(pub));
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
