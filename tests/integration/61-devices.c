/*
 * 61-devices: sessions bound to the device that logged in.
 *
 *  - A resume signed by the login's device key over this connection's
 *    nonce works; the same token with no signature, another key's
 *    signature, a nonce already used, taken from another connection or
 *    older than resume_nonce_s, or
 *    for a session that registered no key, is refused UNAUTHENTICATED;
 *    each refusal is in the audit trail (session.resume, UNAUTHENTICATED,
 *    naming the session, with the reason). A signature or a device key of
 *    the wrong length is INVALID_ARGUMENT naming the field.
 *  - ListSessionsRequest lists exactly my open sessions, marks this one,
 *    and carries no token.
 *  - RevokeSessionRequest ends one of my sessions: its connection that
 *    watches a board gets SessionEnded and close 4001 within 1 s and no
 *    post made after; its token no longer resumes. Someone else's
 *    session id, an unknown one and 0 are NOT_FOUND alike, and change
 *    nothing.
 *  - HTTPS GET /attachments/ID takes a bearer token only while its
 *    session is logged in on a WebSocket from the same address.
 *  - The CLI keeps its device key mode 0600 beside the cached session; a
 *    copied session file without the key resumes nothing, and a key file
 *    others may read is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

static struct h_server *srv;
static const char *const yamada[] = {"pt-yamada"};

static int
group_setup(void **state)
{
	/* Nonces good for 2 s, so that a stale one can be tried. */
	const char *args[] = {"--resume-nonce-s", "2", NULL};

	(void)state;
	srv = h_server_up(args);
	return srv != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

/* ---------------------------------------------------------------- helpers */

static Renkei__V1__Envelope *
list_env(struct rkc *c)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__ListSessionsRequest lr =
	    RENKEI__V1__LIST_SESSIONS_REQUEST__INIT;

	env.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_REQUEST;
	env.list_sessions_request = &lr;
	return h_call(c, &env);
}

static Renkei__V1__Envelope *
revoke_env(struct rkc *c, int64_t id)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__RevokeSessionRequest rr =
	    RENKEI__V1__REVOKE_SESSION_REQUEST__INIT;

	rr.session_id = id;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_REVOKE_SESSION_REQUEST;
	env.revoke_session_request = &rr;
	return h_call(c, &env);
}

/* The id of c's own session, from its list. */
static int64_t
current_id(struct rkc *c)
{
	Renkei__V1__Envelope *r = list_env(c);
	int64_t id = 0;
	int n = 0;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_RESPONSE);
	for (size_t i = 0; i < r->list_sessions_response->n_sessions; i++)
		if (r->list_sessions_response->sessions[i]->current) {
			id = r->list_sessions_response->sessions[i]->session_id;
			n++;
		}
	h_env_free(r);
	assert_int_equal(n, 1);
	return id;
}

/* A nonce for c. */
static void
challenge(struct rkc *c, uint8_t nonce[32])
{
	Renkei__V1__Envelope *r = NULL;

	assert_int_equal(rkc_resume_challenge(c, H_TIMEOUT_MS, nonce, &r), 0);
	assert_null(r);
}

/* ResumeRequest with these signature bytes (len 0: none). */
static Renkei__V1__Envelope *
resume_raw(struct rkc *c, const char *token, const uint8_t *sig, size_t len)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__ResumeRequest rr = RENKEI__V1__RESUME_REQUEST__INIT;

	rr.token = (char *)token;
	rr.device = "61-devices";
	rr.signature.data = (uint8_t *)sig;
	rr.signature.len = len;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST;
	env.resume_request = &rr;
	return h_call(c, &env);
}

static void
assert_unproven(Renkei__V1__Envelope *r)
{
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_string_equal(
	    r->error->message,
	    "the resume was not signed by this session's device; "
	    "log in again");
	h_env_free(r);
}

static void
assert_invalid(Renkei__V1__Envelope *r, const char *field)
{
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, field);
	h_env_free(r);
}

/* Audit records of failed resumes of session `sid` with `reason`. */
static int64_t
refusals(int64_t sid, const char *reason)
{
	sqlite3 *db = h_db_open(srv);
	char sql[400];
	int64_t n;

	assert_non_null(db);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT count(*) FROM audit.records WHERE action = 'session.resume'"
	    " AND error_code = 'UNAUTHENTICATED' AND session_id = %lld"
	    " AND reason = '%s' AND actor_login IS NOT NULL",
	    (long long)sid, reason);
	n = h_db_int(db, sql);
	sqlite3_close(db);
	return n;
}

static int64_t
records(const char *where)
{
	sqlite3 *db = h_db_open(srv);
	char sql[600];
	int64_t n;

	assert_non_null(db);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM audit.records WHERE %s", where);
	n = h_db_int(db, sql);
	sqlite3_close(db);
	return n;
}

/* ------------------------------------------------------------------ tests */

static void
test_resume_needs_the_device_key(void **state)
{
	char *token = NULL;
	struct rkc *a = h_connect_login(srv, "dr.tanaka", &token);
	struct rkc *c;
	struct rkc_device *other;
	Renkei__V1__Envelope *r;
	uint8_t nonce[32], nonce2[32], sig[64], good[64];
	char err[200];
	int64_t sid;

	(void)state;
	assert_non_null(a);
	sid = current_id(a);
	other = rkc_device_generate(err, sizeof(err));
	assert_non_null(other);

	/* The right key over this connection's nonce: resumed. */
	c = h_connect(srv);
	r = h_resume_env(c, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_string_equal(r->login_response->user->login, "dr.tanaka");
	h_env_free(r);
	assert_int_equal(current_id(c), sid);
	rkc_close(c);

	/* No signature (no nonce asked either): refused. */
	c = h_connect(srv);
	assert_unproven(h_resume_with(c, token, NULL));
	/* A nonce, and still no signature: refused. */
	challenge(c, nonce);
	assert_unproven(resume_raw(c, token, NULL, 0));
	/* Another device's key: refused. */
	assert_unproven(h_resume_with(c, token, other));
	rkc_close(c);

	/* A nonce is used up by the resume that follows it, whatever its
	 * outcome: the right signature over it after a wrong one fails. */
	c = h_connect(srv);
	challenge(c, nonce);
	assert_int_equal(rkc_device_sign_resume(other, nonce, 32, token, sig),
	                 0);
	assert_unproven(resume_raw(c, token, sig, 64));
	assert_int_equal(
	    rkc_device_sign_resume(h_device(), nonce, 32, token, good), 0);
	assert_unproven(resume_raw(c, token, good, 64));
	/* ... and a fresh nonce on the same connection works. */
	challenge(c, nonce2);
	assert_memory_not_equal(nonce, nonce2, 32);
	assert_int_equal(
	    rkc_device_sign_resume(h_device(), nonce2, 32, token, sig), 0);
	r = resume_raw(c, token, sig, 64);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(c);

	/* A signature that worked once, replayed on another connection
	 * (which asked for its own nonce, or none): refused. */
	c = h_connect(srv);
	assert_unproven(resume_raw(c, token, sig, 64));
	challenge(c, nonce);
	assert_unproven(resume_raw(c, token, sig, 64));
	rkc_close(c);

	/* A nonce older than resume_nonce_s (2 s here): refused. */
	c = h_connect(srv);
	{
		Renkei__V1__Envelope *cr = NULL;
		Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__ResumeChallengeRequest rq =
		    RENKEI__V1__RESUME_CHALLENGE_REQUEST__INIT;
		env.body_case =
		    RENKEI__V1__ENVELOPE__BODY_RESUME_CHALLENGE_REQUEST;
		env.resume_challenge_request = &rq;
		cr = h_call(c, &env);
		h_assert_body(
		    cr, RENKEI__V1__ENVELOPE__BODY_RESUME_CHALLENGE_RESPONSE);
		assert_int_equal(cr->resume_challenge_response->expires_in_s,
		                 2);
		assert_int_equal(cr->resume_challenge_response->nonce.len, 32);
		memcpy(nonce, cr->resume_challenge_response->nonce.data, 32);
		h_env_free(cr);
	}
	h_sleep_ms(2300);
	assert_int_equal(
	    rkc_device_sign_resume(h_device(), nonce, 32, token, sig), 0);
	assert_unproven(resume_raw(c, token, sig, 64));
	rkc_close(c);

	/* Wrong lengths: INVALID_ARGUMENT naming the field, and the nonce
	 * is kept for the real attempt. */
	c = h_connect(srv);
	challenge(c, nonce);
	memset(sig, 0x5a, sizeof(sig));
	assert_invalid(resume_raw(c, token, sig, 63), "signature");
	assert_invalid(resume_raw(c, token, sig, 1), "signature");
	assert_int_equal(
	    rkc_device_sign_resume(h_device(), nonce, 32, token, good), 0);
	{
		uint8_t longer[65];
		memcpy(longer, good, 64);
		longer[64] = 0;
		assert_invalid(resume_raw(c, token, longer, 65), "signature");
	}
	r = resume_raw(c, token, good, 64);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(c);

	/* Every refusal above is in the trail as a failed resume of this
	 * session, with why. */
	assert_int_equal(refusals(sid, "no signature"), 2);
	assert_int_equal(refusals(sid, "bad signature"), 3);
	assert_int_equal(refusals(sid, "no valid nonce"), 3);
	/* The wrong lengths are refused before anything is looked up. */
	assert_int_equal(records("action = 'session.resume' AND error_code ="
	                         " 'INVALID_ARGUMENT'"),
	                 0);

	rkc_device_free(other);
	rkc_close(a);
	free(token);
}

/* A login that registered no key makes a session that can never be
 * resumed; a key of the wrong length is refused at login. */
static void
test_session_without_key(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	struct rkc *a = h_connect(srv), *c;
	Renkei__V1__Envelope *r;
	uint8_t key[33] = {1};
	char *token;
	int64_t sid;

	(void)state;
	lr.login = "pt.ito";
	lr.password = H_DEMO_PASSWORD;
	lr.device = "61-devices keyless";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;

	lr.device_key.data = key;
	lr.device_key.len = 31;
	assert_invalid(h_call(a, &env), "device_key");
	lr.device_key.len = 33;
	assert_invalid(h_call(a, &env), "device_key");
	assert_int_equal(records("action = 'login' AND actor_login = 'pt.ito'"),
	                 0);

	lr.device_key.len = 0;
	r = h_call(a, &env);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	token = strdup(r->login_response->token);
	h_env_free(r);
	sid = current_id(a);
	r = list_env(a);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_RESPONSE);
	assert_int_equal(r->list_sessions_response->n_sessions, 1);
	assert_false(r->list_sessions_response->sessions[0]->device_key);
	h_env_free(r);

	c = h_connect(srv);
	assert_unproven(h_resume_env(c, token));
	rkc_close(c);
	assert_int_equal(refusals(sid, "no device key"), 1);
	rkc_close(a);
	free(token);
}

static void
test_sessions_list(void **state)
{
	struct rkc *a = h_connect_login(srv, "cm.nakamura", NULL);
	struct rkc *b = h_connect(srv);
	struct rkc *x = h_connect_login(srv, "ccc.sasaki", NULL);
	Renkei__V1__Envelope *r =
	    h_login_env(b, "cm.nakamura", H_DEMO_PASSWORD, "61 tablet");
	Renkei__V1__ListSessionsResponse *l;
	int64_t ida, idb;

	(void)state;
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	ida = current_id(a);
	idb = current_id(b);
	assert_true(ida != idb);

	r = list_env(b);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_RESPONSE);
	l = r->list_sessions_response;
	/* Mine, both, newest first; not ccc.sasaki's. */
	assert_int_equal(l->n_sessions, 2);
	assert_int_equal(l->sessions[0]->session_id, idb);
	assert_int_equal(l->sessions[1]->session_id, ida);
	assert_true(l->sessions[0]->current);
	assert_false(l->sessions[1]->current);
	assert_string_equal(l->sessions[0]->device, "61 tablet");
	assert_string_equal(l->sessions[1]->device, "renkei-integration-test");
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(l->sessions[i]->address, "127.0.0.1");
		assert_true(l->sessions[i]->device_key);
		assert_true(l->sessions[i]->created_at_ms > 0);
		assert_true(l->sessions[i]->last_used_at_ms >=
		            l->sessions[i]->created_at_ms);
	}
	/* SessionInfo has no token field at all: nothing to leak. */
	assert_null(protobuf_c_message_descriptor_get_field_by_name(
	    &renkei__v1__session_info__descriptor, "token"));
	h_env_free(r);
	assert_true(records("action = 'session.list' AND actor_login ="
	                    " 'cm.nakamura' AND outcome = 0") >= 3);
	rkc_close(a);
	rkc_close(b);
	rkc_close(x);
}

/* ns.kobayashi watches pt-yamada on her phone (session P, also resumed on
 * a second connection); from her PC (session Q) she revokes P. */
static void
test_revoke_closes_the_watcher(void **state)
{
	char *token = NULL;
	struct rkc *w = h_connect_login(srv, "ns.kobayashi", &token);
	struct rkc *w2 = h_connect(srv);
	struct rkc *pc = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Envelope *r;
	int64_t p, t0, dt;
	uint64_t after;
	int code, ended, leaked, code2, ended2, leaked2;
	char where[200];

	(void)state;
	assert_non_null(pc);
	assert_non_null(dr);
	p = current_id(w);
	r = h_sync_env(w, yamada, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	r = h_resume_env(w2, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);

	r = revoke_env(pc, p);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_REVOKE_SESSION_RESPONSE);
	assert_false(r->revoke_session_response->current);
	h_env_free(r);
	t0 = h_mono_ms();
	/* Posted right after the revocation committed: never delivered. */
	r = h_post_env(dr, "pt-yamada", "61-after-revoke",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	               "訪問後の記録（取り消し後）");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	after = r->post_response->post->id;
	h_env_free(r);

	code = h_until_closed(w, 3000, after, &ended, &leaked, NULL, 0);
	dt = h_mono_ms() - t0;
	code2 = h_until_closed(w2, 3000, after, &ended2, &leaked2, NULL, 0);
	print_message("revoke: the watcher closed with %d after %lld ms\n",
	              code, (long long)dt);
	assert_int_equal(code, 4001);
	assert_true(ended);
	assert_false(leaked);
	assert_true(dt <= 1000);
	assert_int_equal(code2, 4001);
	assert_true(ended2);
	assert_false(leaked2);

	/* Q goes on; P's token is dead. */
	r = h_whoami_env(pc);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	h_env_free(r);
	rkc_close(w);
	w = h_connect(srv);
	r = h_resume_env(w, token);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_string_equal(r->error->message,
	                    "the session has ended or expired; log in again");
	h_env_free(r);
	/* Revoked once: a second time it is not found. */
	r = revoke_env(pc, p);
	h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
	h_env_free(r);

	snprintf(where, sizeof(where),
	         "action = 'session.revoke' AND actor_login = 'ns.kobayashi'"
	         " AND object = '%lld' AND outcome = 0 AND reason = 'session "
	         "revoked'",
	         (long long)p);
	assert_int_equal(records(where), 1);

	/* Revoking my own session: answered, then closed like any other. */
	r = revoke_env(pc, current_id(pc));
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_REVOKE_SESSION_RESPONSE);
	assert_true(r->revoke_session_response->current);
	h_env_free(r);
	code = h_until_closed(pc, 3000, 0, &ended, &leaked, NULL, 0);
	assert_int_equal(code, 4001);
	assert_true(ended);

	rkc_close(w);
	rkc_close(w2);
	rkc_close(pc);
	rkc_close(dr);
	free(token);
}

static void
test_someone_elses_session_is_not_found(void **state)
{
	struct rkc *dr = h_connect_login(srv, "dds.kato", NULL);
	struct rkc *ns = h_connect_login(srv, "ph.watanabe", NULL);
	const int64_t ids[3] = {0, 0, 987654321};
	Renkei__V1__Envelope *r;
	int64_t theirs;
	char where[200];

	(void)state;
	assert_non_null(dr);
	assert_non_null(ns);
	theirs = current_id(dr);
	for (int i = 0; i < 3; i++) {
		int64_t id = i == 0 ? theirs : ids[i];
		r = revoke_env(ns, id);
		h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
		assert_string_equal(r->error->message, "no such session");
		assert_string_equal(r->error->field, "session_id");
		h_env_free(r);
	}
	/* Untouched: still works, still listed. */
	r = h_whoami_env(dr);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	h_env_free(r);
	assert_int_equal(current_id(dr), theirs);
	snprintf(where, sizeof(where),
	         "action = 'session.revoke' AND actor_login = 'ph.watanabe'"
	         " AND error_code = 'NOT_FOUND' AND object = '%lld'",
	         (long long)theirs);
	assert_int_equal(records(where), 1);
	rkc_close(dr);
	rkc_close(ns);
}

/* HTTPS GET /attachments/ID with a bearer token, from `source`. */
static int
https_status(const char *token, const char *source)
{
	struct rkc_opts o;
	char hdr[200], err[200];

	h_opts(srv, &o);
	o.source_addr = source;
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
	return rkc_https_get(&o, "/attachments/987654", hdr, NULL, NULL, err,
	                     sizeof(err));
}

/* The HTTPS attachment path takes a token only while its session is
 * logged in on a WebSocket from the same address: a copied token is
 * refused there too. */
static void
test_https_needs_the_live_device(void **state)
{
	char *token = NULL;
	struct rkc *c = h_connect_login(srv, "msw.yoshida", &token);
	int64_t end;
	int st;

	(void)state;
	assert_non_null(c);
	/* Live from 127.0.0.1: the token is taken (the photo is not there). */
	assert_int_equal(https_status(token, "127.0.0.1"), 404);
	/* The same token from another address: refused. */
	assert_int_equal(https_status(token, "127.0.0.3"), 401);
	rkc_close(c);
	/* Once the connection is gone: refused from anywhere. */
	end = h_mono_ms() + 3000;
	while ((st = https_status(token, "127.0.0.1")) != 401 &&
	       h_mono_ms() < end)
		h_sleep_ms(20);
	assert_int_equal(st, 401);
	free(token);
}

#ifdef RENKEI_CLI_BIN
/* Run the CLI with configuration folder dir; exit status, output in *out. */
static int
cli(const char *dir, const char *args, char **out)
{
	char cmd[2000];

	snprintf(cmd, sizeof(cmd),
	         "RENKEI_CONFIG_DIR=%s %s --server %s --ca %s %s 2>&1", dir,
	         RENKEI_CLI_BIN, srv->url, srv->ca, args);
	return h_sh(cmd, out);
}

static void
test_cli_device_key(void **state)
{
	char dir[300], copy[300], path[400], cmd[1200], *out = NULL;
	struct stat st;
	int rc;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/cli-a", srv->dir);
	snprintf(copy, sizeof(copy), "%s/cli-b", srv->dir);
	snprintf(cmd, sizeof(cmd),
	         "echo %s | RENKEI_CONFIG_DIR=%s %s --server %s --ca %s login"
	         " --password-stdin cw.yamamoto 2>&1",
	         H_DEMO_PASSWORD, dir, RENKEI_CLI_BIN, srv->url, srv->ca);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fail_msg("renkei login: exit %d: %s", rc, out);
	free(out);
	snprintf(path, sizeof(path), "%s/device-key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	rc = cli(dir, "sessions", &out);
	if (rc != 0)
		fail_msg("renkei sessions: exit %d: %s", rc, out);
	assert_non_null(strstr(out, "(this one)"));
	assert_non_null(strstr(out, "1 open session."));
	free(out);

	/* The session file copied elsewhere, without the key: useless. */
	snprintf(cmd, sizeof(cmd), "mkdir -m 700 %s && cp -p %s/session %s/",
	         copy, dir, copy);
	assert_int_equal(h_sh(cmd, NULL), 0);
	rc = cli(copy, "whoami", &out);
	assert_int_equal(rc, 3);
	assert_non_null(strstr(out, "no device key"));
	free(out);
	/* With a key of its own: the server refuses the resume. */
	{
		char err[200];
		struct rkc_device *d = rkc_device_generate(err, sizeof(err));
		snprintf(path, sizeof(path), "%s/device-key", copy);
		assert_int_equal(rkc_device_save(d, path, err, sizeof(err)), 0);
		rkc_device_free(d);
	}
	rc = cli(copy, "whoami", &out);
	assert_int_equal(rc, 3);
	assert_non_null(strstr(out, "not signed by this session's device"));
	free(out);

	/* A key file others may read is refused, not used. */
	snprintf(path, sizeof(path), "%s/device-key", dir);
	assert_int_equal(chmod(path, 0644), 0);
	rc = cli(dir, "whoami", &out);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "readable or writable by others"));
	free(out);
	assert_int_equal(chmod(path, 0600), 0);
	rc = cli(dir, "--json sessions", &out);
	if (rc != 0)
		fail_msg("renkei sessions: exit %d: %s", rc, out);
	{
		const char *p = strstr(out, "\"session_id\": ");
		char args[64];
		assert_non_null(p);
		snprintf(args, sizeof(args), "sessions revoke %lld",
		         atoll(p + strlen("\"session_id\": ")));
		free(out);
		/* Its own session: ended, and the cached session forgotten. */
		rc = cli(dir, args, &out);
		if (rc != 0)
			fail_msg("renkei %s: exit %d: %s", args, rc, out);
		assert_non_null(strstr(out, "It was this one"));
		free(out);
	}
	snprintf(path, sizeof(path), "%s/session", dir);
	assert_int_equal(access(path, F_OK), -1);
	rc = cli(dir, "whoami", &out);
	assert_int_equal(rc, 3);
	free(out);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resume_needs_the_device_key),
	    cmocka_unit_test(test_session_without_key),
	    cmocka_unit_test(test_sessions_list),
	    cmocka_unit_test(test_revoke_closes_the_watcher),
	    cmocka_unit_test(test_someone_elses_session_is_not_found),
	    cmocka_unit_test(test_https_needs_the_live_device),
#ifdef RENKEI_CLI_BIN
	    cmocka_unit_test(test_cli_device_key),
#endif
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
