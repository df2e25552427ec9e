/*
 * 62-device-certs: TLS client certificates per device, issued by the
 * server's own CA (`renkei-server device issue`).
 *
 * client_cert = required:
 *  - no certificate, or one from another CA: no TLS connection at all;
 *  - a certificate issued to another user: the login is refused
 *    (UNAUTHENTICATED) and recorded;
 *  - her own certificate: she logs in; the audit trail names the
 *    certificate's fingerprint as the device; a resume must present the
 *    same certificate;
 *  - `device revoke` while she watches a board: SessionEnded and close
 *    4001 within 1 s, no post made after; the certificate no longer logs
 *    in.
 * client_cert = optional: no certificate logs in as before; a certificate
 * sent is checked all the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "harness.h"

static struct h_server *srv;
static const char *const yamada[] = {"pt-yamada"};

struct cert {
	char pem[290], key[290], fp[65];
};
static struct cert dr_harness, ns_phone, ns_tablet;

/* `device issue LOGIN DEVICE` into s's folder; fills c. 0 or -1. */
static int
issue(struct h_server *s, const char *login, const char *device, struct cert *c)
{
	char cmd[1200], *out = NULL;
	const char *p;
	int rc;

	snprintf(cmd, sizeof(cmd), "%s device issue %s %s --out %s --data %s",
	         h_server_bin(), login, device, s->dir, s->dir);
	rc = h_sh(cmd, &out);
	p = out != NULL ? strstr(out, "fingerprint  ") : NULL;
	if (rc != 0 || p == NULL || strlen(p) < 13 + 64) {
		fprintf(stderr, "device issue: exit %d: %s\n", rc,
		        out ? out : "");
		free(out);
		return -1;
	}
	memcpy(c->fp, p + 13, 64);
	c->fp[64] = '\0';
	free(out);
	snprintf(c->pem, sizeof(c->pem), "%s/%s-%s.pem", s->dir, login, device);
	snprintf(c->key, sizeof(c->key), "%s/%s-%s.key", s->dir, login, device);
	return 0;
}

static int
up(const char *mode)
{
	const char *args[] = {"--client-cert", mode, NULL};

	srv = h_server_new();
	if (srv == NULL)
		return -1;
	if (issue(srv, "dr.tanaka", "harness", &dr_harness) != 0 ||
	    issue(srv, "ns.kobayashi", "phone", &ns_phone) != 0 ||
	    issue(srv, "ns.kobayashi", "tablet", &ns_tablet) != 0)
		return -1;
	/* The harness's own clients (its /healthz wait too) are dr.tanaka's. */
	snprintf(srv->cert_file, sizeof(srv->cert_file), "%s", dr_harness.pem);
	snprintf(srv->key_file, sizeof(srv->key_file), "%s", dr_harness.key);
	return h_server_start(srv, args);
}

static int
setup_required(void **state)
{
	(void)state;
	return up("required");
}

static int
setup_optional(void **state)
{
	(void)state;
	return up("optional");
}

static int
teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

/* Connect presenting c (NULL: no certificate). */
static struct rkc *
connect_as(const struct cert *c)
{
	struct rkc_opts o;
	char err[300];
	struct rkc *k;

	h_opts(srv, &o);
	o.cert_file = c != NULL ? c->pem : NULL;
	o.key_file = c != NULL ? c->key : NULL;
	k = rkc_connect(&o, err, sizeof(err));
	if (k == NULL)
		print_message("connect: %s\n", err);
	return k;
}

static int64_t
records(const char *where)
{
	sqlite3 *db = h_db_open(srv);
	char sql[700];
	int64_t n;

	assert_non_null(db);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM audit.records WHERE %s", where);
	n = h_db_int(db, sql);
	sqlite3_close(db);
	return n;
}

static void
assert_cert_refused(Renkei__V1__Envelope *r)
{
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_non_null(strstr(r->error->message, "certificate is not valid"));
	h_env_free(r);
}

/* ------------------------------------------------------- required */

static void
test_no_certificate_no_connection(void **state)
{
	struct rkc_opts o;
	char cmd[1400], err[300];
	struct cert other;

	(void)state;
	assert_null(connect_as(NULL));
	/* The HTTPS side of the port too. */
	h_opts(srv, &o);
	o.cert_file = NULL;
	assert_int_equal(
	    rkc_https_get(&o, "/healthz", NULL, NULL, NULL, err, sizeof(err)),
	    -1);
	/* A certificate from a CA of someone else's making. */
	snprintf(other.pem, sizeof(other.pem), "%s/other.pem", srv->dir);
	snprintf(other.key, sizeof(other.key), "%s/other.key", srv->dir);
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
	         " -nodes -keyout %s -out %s -days 2 -subj /CN=ns.kobayashi"
	         " 2>&1",
	         other.key, other.pem);
	assert_int_equal(h_sh(cmd, NULL), 0);
	assert_null(connect_as(&other));
	/* With the server's own: connected. */
	rkc_close(connect_as(&ns_phone));
}

static void
test_another_users_certificate(void **state)
{
	struct rkc *c = connect_as(&dr_harness);

	(void)state;
	assert_non_null(c);
	assert_cert_refused(
	    h_login_env(c, "ns.kobayashi", H_DEMO_PASSWORD, NULL));
	rkc_close(c);
	assert_int_equal(
	    records("action = 'login' AND actor_login = 'ns.kobayashi'"
	            " AND error_code = 'UNAUTHENTICATED'"
	            " AND reason = 'device certificate'"),
	    1);
}

static void
test_own_certificate_is_the_device(void **state)
{
	char *token = NULL, where[400];
	struct rkc *c = connect_as(&ns_phone), *d;
	Renkei__V1__Envelope *r;

	(void)state;
	assert_non_null(c);
	token = h_login(c, "ns.kobayashi");
	assert_non_null(token);
	r = h_timeline_env(c, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	h_env_free(r);
	snprintf(
	    where, sizeof(where),
	    "actor_login = 'ns.kobayashi' AND device = 'cert sha256:%s' AND"
	    " action IN ('login', 'board.read') AND outcome = 0",
	    ns_phone.fp);
	assert_int_equal(records(where), 2);

	/* Resumed with the same certificate: fine; with her other one or
	 * dr.tanaka's: not the session's device. */
	d = connect_as(&ns_phone);
	r = h_resume_env(d, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(d);
	d = connect_as(&ns_tablet);
	assert_cert_refused(h_resume_env(d, token));
	rkc_close(d);
	d = connect_as(&dr_harness);
	assert_cert_refused(h_resume_env(d, token));
	rkc_close(d);
	assert_int_equal(
	    records("action = 'session.resume' AND actor_login ="
	            " 'ns.kobayashi' AND reason = 'not the session''s"
	            " device certificate'"),
	    2);
	rkc_close(c);
	free(token);
}

static void
test_revoke_closes_at_once(void **state)
{
	struct rkc *ns = connect_as(&ns_tablet);
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	char cmd[800], *out = NULL, *token;
	Renkei__V1__Envelope *r;
	uint64_t after;
	int64_t t0, dt;
	int code, ended, leaked, rc;

	(void)state;
	assert_non_null(ns);
	assert_non_null(dr);
	token = h_login(ns, "ns.kobayashi");
	assert_non_null(token);
	r = h_sync_env(ns, yamada, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);

	snprintf(cmd, sizeof(cmd), "%s device revoke %s --data %s",
	         h_server_bin(), ns_tablet.fp, srv->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fail_msg("device revoke: exit %d: %s", rc, out);
	assert_non_null(strstr(out, "1 session(s) ended"));
	free(out);
	t0 = h_mono_ms();
	r = h_post_env(dr, "pt-yamada", "62-after-revoke",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	               "証明書失効後の投稿");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	after = r->post_response->post->id;
	h_env_free(r);
	code = h_until_closed(ns, 3000, after, &ended, &leaked, NULL, 0);
	dt = h_mono_ms() - t0;
	print_message("device revoke: closed with %d after %lld ms\n", code,
	              (long long)dt);
	assert_int_equal(code, 4001);
	assert_true(ended);
	assert_false(leaked);
	assert_true(dt <= 1000);
	rkc_close(ns);

	/* Revoked: no login, no resume with it. */
	ns = connect_as(&ns_tablet);
	assert_cert_refused(
	    h_login_env(ns, "ns.kobayashi", H_DEMO_PASSWORD, NULL));
	rkc_close(ns);
	/* Revoking again: not in force. */
	rc = h_sh(cmd, NULL);
	assert_int_equal(rc, 1);
	assert_int_equal(records("action = 'device.revoke' AND outcome = 0"),
	                 1);
	assert_int_equal(records("action = 'device.issue' AND outcome = 0"), 3);
	/* Each in the chain with a checkpoint signed over it by the command
	 * itself (staged with its change, forwarded and signed at once). */
	assert_int_equal(records("action IN ('device.issue', 'device.revoke') AND"
	                         " id <= (SELECT max(record_id) FROM"
	                         " audit.checkpoints)"),
	                 4);
	/* The listing says so. */
	snprintf(cmd, sizeof(cmd), "%s device list ns.kobayashi --data %s",
	         h_server_bin(), srv->dir);
	assert_int_equal(h_sh(cmd, &out), 0);
	assert_non_null(strstr(out, "revoked"));
	assert_non_null(strstr(out, ns_phone.fp));
	free(out);
	rkc_close(dr);
	free(token);
}

#ifdef RENKEI_CLI_BIN
/* The CLI presents the certificate its config names. */
static void
test_cli_certificate(void **state)
{
	char dir[300], cmd[2000], *out = NULL;
	FILE *f;
	int rc;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/cli-cert", srv->dir);
	snprintf(cmd, sizeof(cmd), "mkdir -m 700 %s", dir);
	assert_int_equal(h_sh(cmd, NULL), 0);
	snprintf(cmd, sizeof(cmd), "%s/config", dir);
	f = fopen(cmd, "w");
	assert_non_null(f);
	fprintf(f, "cert = %s\nkey = %s\n", ns_phone.pem, ns_phone.key);
	fclose(f);
	snprintf(
	    cmd, sizeof(cmd),
	    "echo %s | RENKEI_CONFIG_DIR=%s %s --server %s --ca %s login"
	    " --password-stdin ns.kobayashi 2>&1 && RENKEI_CONFIG_DIR=%s %s"
	    " whoami 2>&1",
	    H_DEMO_PASSWORD, dir, RENKEI_CLI_BIN, srv->url, srv->ca, dir,
	    RENKEI_CLI_BIN);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fail_msg(
		    "renkei login / whoami with a certificate: exit %d: %s", rc,
		    out);
	assert_non_null(strstr(out, "ns.kobayashi"));
	free(out);
	/* Without it: no connection (exit 6). */
	snprintf(cmd, sizeof(cmd), "%s/config", dir);
	f = fopen(cmd, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	         "RENKEI_CONFIG_DIR=%s %s --server %s --ca %s"
	         " whoami 2>&1",
	         dir, RENKEI_CLI_BIN, srv->url, srv->ca);
	rc = h_sh(cmd, &out);
	assert_int_equal(rc, 6);
	free(out);
}
#endif

/* ------------------------------------------------------- optional */

static void
test_optional_without_certificate(void **state)
{
	struct rkc *c = connect_as(NULL);
	Renkei__V1__Envelope *r;

	(void)state;
	assert_non_null(c);
	r = h_login_env(c, "ns.kobayashi", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(c);
	/* One sent is checked all the same. */
	c = connect_as(&dr_harness);
	assert_cert_refused(
	    h_login_env(c, "ns.kobayashi", H_DEMO_PASSWORD, NULL));
	rkc_close(c);
	c = connect_as(&ns_phone);
	r = h_login_env(c, "ns.kobayashi", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(c);
}

int
main(void)
{
	const struct CMUnitTest required[] = {
	    cmocka_unit_test(test_no_certificate_no_connection),
	    cmocka_unit_test(test_another_users_certificate),
	    cmocka_unit_test(test_own_certificate_is_the_device),
	    cmocka_unit_test(test_revoke_closes_at_once),
#ifdef RENKEI_CLI_BIN
	    cmocka_unit_test(test_cli_certificate),
#endif
	};
	const struct CMUnitTest optional[] = {
	    cmocka_unit_test(test_optional_without_certificate),
	};
	int rc = cmocka_run_group_tests_name("client_cert = required", required,
	                                     setup_required, teardown);

	rc |= cmocka_run_group_tests_name("client_cert = optional", optional,
	                                  setup_optional, teardown);
	return rc;
}
