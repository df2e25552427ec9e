/*
 * Import a ward file (JSON, the shape of data/demo-ward.json) in one
 * transaction: all of it or nothing. Passwords are hashed as they come in
 * ("demo_password" fields: a demo file; a production ward file carries
 * "password_hash" values made elsewhere). An imported hash must be
 * argon2id at OWASP's floor or above (m >= 19456 KiB, t >= 2, read from
 * the encoded string): a weaker one is refused, and with it the file.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "admin/admin.h"
#include "admin/trail.h"
#include "admin/ward.h"
#include "auth/auth.h"
#include "util/conf.h"
#include "util/err.h"

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
import_orgs(struct store_conn *sc, json_t *orgs)
{
	size_t i;
	json_t *o;
	struct rk_status st = {0};

	json_array_foreach(orgs, i, o) {
		const char *code = jstr(o, "id"), *name = jstr(o, "name");
		if (code == NULL || name == NULL) {
			fprintf(stderr, "organisations[%zu]: needs \"id\" and \"name\"\n", i);
			return -1;
		}
		if (auth_org_add(sc, code, name, jstr(o, "kind"), jstr(o, "area"),
		                 &st) != RK_OK) {
			fprintf(stderr, "organisations[%zu] (%s): %s\n", i, code, st.msg);
			return -1;
		}
	}
	return (int)i;
}

/* An imported hash is argon2id at the floor (conf.h: lower only for a
 * test run). 0, or -1 with the reason printed. */
static int
hash_strong_enough(size_t i, const char *login, const char *hash)
{
	int t, m, t_min = AUTH_ARGON2_T_MIN, m_min = AUTH_ARGON2_M_KIB_MIN;

	if (conf_argon2_test_cost()) {
		t_min = 1;
		m_min = 8;
	}
	if (auth_hash_params(hash, &t, &m) != RK_OK) {
		fprintf(stderr,
		        "users[%zu] (%s): password_hash is not an argon2id hash "
		        "(\"$argon2id$v=19$m=...,t=...,p=...$salt$hash\")\n",
		        i, login);
		return -1;
	}
	if (t < t_min || m < m_min) {
		fprintf(stderr,
		        "users[%zu] (%s): password_hash is weaker than OWASP's floor "
		        "for argon2id (it has m=%d KiB, t=%d; at least m=%d, t=%d are "
		        "needed)\n",
		        i, login, m, t, m_min, t_min);
		return -1;
	}
	return 0;
}

static int
import_users(struct store_conn *sc, const struct conf *conf, json_t *users)
{
	size_t i;
	json_t *u;
	struct rk_status st = {0};

	json_array_foreach(users, i, u) {
		const char *login = jstr(u, "login"), *name = jstr(u, "name");
		const char *prof = jstr(u, "profession"), *org = jstr(u, "org");
		const char *pw = jstr(u, "demo_password"), *hash = jstr(u, "password_hash");
		char made[160];
		enum profession p;

		if (login == NULL || name == NULL || prof == NULL) {
			fprintf(stderr, "users[%zu]: needs login, name and profession\n", i);
			return -1;
		}
		p = auth_profession_parse(prof);
		if (p == PROF_NONE) {
			fprintf(stderr, "users[%zu] (%s): unknown profession \"%s\"\n", i,
			        login, prof);
			return -1;
		}
		if (hash == NULL) {
			if (pw == NULL) {
				fprintf(stderr, "users[%zu] (%s): needs a password\n", i, login);
				return -1;
			}
			if (auth_password_hash(pw, conf->argon2_t, conf->argon2_m_kib, made,
			                       sizeof(made)) != RK_OK) {
				fprintf(stderr, "users[%zu]: cannot hash the password\n", i);
				return -1;
			}
			hash = made;
		} else if (hash_strong_enough(i, login, hash) != 0) {
			return -1;
		}
		if (auth_user_add(sc, login, name, p, org, hash, &st) != RK_OK) {
			fprintf(stderr, "users[%zu] (%s): %s\n", i, login, st.msg);
			return -1;
		}
		OPENSSL_cleanse(made, sizeof(made));
	}
	return (int)i;
}

int
admin_import_json(struct store_conn *sc, const struct conf *conf, json_t *root,
                  struct admin_import_counts *n)
{
	n->orgs = import_orgs(sc, json_object_get(root, "organisations"));
	if (n->orgs < 0)
		return -1;
	n->users = import_users(sc, conf, json_object_get(root, "users"));
	if (n->users < 0)
		return -1;
	n->patients = ward_import_patients(sc, json_object_get(root, "patients"));
	if (n->patients < 0)
		return -1;
	if (ward_import_oncall(sc, json_object_get(root, "oncall")) < 0)
		return -1;
	return 0;
}

/* The import's own record (the operator, the file, what it held), in
 * the import's transaction: it commits with what it records. */
static int
record_import(struct store_conn *sc, const char *path,
              const struct admin_import_counts *n)
{
	struct audit_event ev = {0};
	char login[64], device[64], reason[200];
	const char *base = strrchr(path, '/');

	admin_trail_actor(&ev, "import", login, device);
	snprintf(reason, sizeof(reason),
	         "ward import: %d organisations, %d users, %d patients", n->orgs,
	         n->users, n->patients);
	ev.action = "ward.import";
	ev.object = base != NULL ? base + 1 : path;
	ev.reason = reason;
	if (audit_stage(sc, &ev) == RK_OK)
		return 0;
	fprintf(stderr, "renkei-server: import: the audit record could not be "
	                "written\n");
	return -1;
}

int
admin_import(struct admin *a, const char *path)
{
	const struct conf *conf = a->conf;
	struct store_config cfg;
	struct store_conn *sc = NULL;
	struct admin_import_counts n;
	json_error_t jerr;
	json_t *root;
	char err[ADMIN_ERR];
	int rc = 1;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		fprintf(stderr, "renkei-server: %s:%d: %s\n", path, jerr.line, jerr.text);
		return 1;
	}
	if (admin_store_config(a, &cfg, err, sizeof(err)) != 0 ||
	    store_conn_open(&sc, &cfg, 0, err, sizeof(err)) != RK_OK) {
		OPENSSL_cleanse(&cfg, sizeof(cfg));
		fprintf(stderr, "renkei-server: %s\n", err);
		json_decref(root);
		return 1;
	}
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	if (store_exec(sc, "BEGIN IMMEDIATE") != RK_OK)
		goto out;
	if (admin_import_json(sc, conf, root, &n) != 0)
		goto rollback;
	if (record_import(sc, path, &n) != 0)
		goto rollback;
	store_conn_release(sc);
	if (store_exec(sc, "COMMIT") != RK_OK)
		goto rollback;
	/* The records are in the chain and signed now (else at the
	 * server's next start). */
	admin_forward_sign(a, sc);
	printf("imported %d organisations, %d users, %d patients from %s\n", n.orgs,
	       n.users, n.patients, path);
	rc = 0;
	goto out;
rollback:
	store_exec(sc, "ROLLBACK");
	fprintf(stderr, "renkei-server: import of %s failed; nothing was imported\n",
	        path);
out:
	store_conn_close(sc);
	json_decref(root);
	return rc;
}
