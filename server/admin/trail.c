/*
 * An offline admin command's own audit record (admin/trail.h).
 */
#include "admin/trail.h"

#include "admin/admin.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/anchor.h"
#include "util/err.h"

void
admin_trail_actor(struct audit_event *ev, const char *command, char login[64],
                  char device[64])
{
	struct passwd *pw = getpwuid(geteuid());

	snprintf(login, 64, "%s", pw != NULL ? pw->pw_name : "?");
	snprintf(device, 64, "renkei-server %s", command);
	ev->actor_user_id = 0; /* an operator of the host, not a renkei user */
	ev->actor_login = login;
	ev->device = device;
}

int
admin_trail_append(struct admin *adm, const struct store_config *cfg,
                   const struct audit_event *ev, char *err, size_t errlen)
{
	struct store_conn *sc = NULL;
	struct audit_signer *signer;
	struct audit_anchor a;
	int rc = -1;

	signer = admin_signer(adm, err, errlen);
	if (signer == NULL)
		return -1;
	if (store_conn_open_one(&sc, cfg->audit_path, &cfg->audit_key, 0, err,
	                        errlen) != RK_OK)
		goto out;
	if (store_exec(sc, "BEGIN IMMEDIATE") != RK_OK) {
		snprintf(err, errlen, "cannot write %s: %s", cfg->audit_path,
		         sqlite3_errmsg(store_conn_db(sc)));
		goto out;
	}
	if (audit_append(sc, "main", ev) != RK_OK ||
	    audit_checkpoint_maybe(sc, "main", signer, 1, 0, 0) != RK_OK) {
		snprintf(err, errlen, "cannot append to %s: %s", cfg->audit_path,
		         sqlite3_errmsg(store_conn_db(sc)));
		store_conn_release(sc);
		store_exec(sc, "ROLLBACK");
		audit_signer_take(signer, &a); /* never stored: dropped */
		goto out;
	}
	store_conn_release(sc);
	if (store_exec(sc, "COMMIT") != RK_OK) {
		snprintf(err, errlen, "cannot commit to %s: %s", cfg->audit_path,
		         sqlite3_errmsg(store_conn_db(sc)));
		if (!sqlite3_get_autocommit(store_conn_db(sc)))
			store_exec(sc, "ROLLBACK");
		goto out;
	}
	rc = 0;
	admin_anchor(adm, signer);
out:
	store_conn_close(sc);
	audit_signer_free(signer);
	return rc;
}
