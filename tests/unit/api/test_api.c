/* Unit tests: the api floor through api.h only. A fake transport collects
 * what api sends and the closes it asks for; a real store (SQLCipher, in a
 * temporary folder, with the real audit journal) runs the ops, and the
 * test pumps its completions as the server's wake hook does
 * (store_complete on the owner's thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "unit_store.h"

#include "api/api.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "renkei.pb-c.h"
#include "store/store.h"
#include "util/conf.h"
#include "util/frame.h"
#include "util/text.h"

#define MAX_FRAMES 64

/* One connection as the transport sees it. */
struct peer {
	struct api_conn *c;
	uint8_t *frames[MAX_FRAMES];
	size_t lens[MAX_FRAMES];
	int nframes, taken;
	int close_code;
	char close_reason[128];
	int rx_stops, rx_resumes; /* rx_flow(0) and rx_flow(1) calls */
	int rx_allowed;
};

struct fx {
	char dir[64];
	char care[96], audit[96];
	struct conf conf;
	struct store_config cfg;
	struct audit_journal journal;
	struct store *store;
	struct api *api;
};

/* ---------------------------------------------------------- the transport */

static int
fake_send(void *handle, struct frame *f)
{
	struct peer *p = handle;

	/* Copy the bytes rather than take a reference: api drops its own. */
	if (p->nframes == MAX_FRAMES)
		return -1;
	p->frames[p->nframes] = malloc(f->len ? f->len : 1);
	assert_non_null(p->frames[p->nframes]);
	memcpy(p->frames[p->nframes], frame_payload(f), f->len);
	p->lens[p->nframes] = f->len;
	p->nframes++;
	return 0;
}

static void
fake_close(void *handle, int code, const char *reason)
{
	struct peer *p = handle;

	assert_int_equal(p->close_code, 0); /* asked once */
	p->close_code = code;
	snprintf(p->close_reason, sizeof(p->close_reason), "%s", reason);
}

static void
fake_rx_flow(void *handle, int allow)
{
	struct peer *p = handle;

	assert_int_not_equal(p->rx_allowed, allow); /* a change each time */
	p->rx_allowed = allow;
	if (allow)
		p->rx_resumes++;
	else
		p->rx_stops++;
}

static void
fake_http_reply(void *ctx, uint64_t http_id, int status, const char *content_type,
                const char *extra_headers, const uint8_t *body, size_t len)
{
	(void)ctx, (void)http_id, (void)status, (void)content_type;
	(void)extra_headers, (void)body, (void)len;
}

static void
nowake(void *arg)
{
	(void)arg;
}

/* ---------------------------------------------------------------- fixture */

static void
add_user(struct store_conn *sc, const char *login, const char *pw,
         enum profession prof, const char *org)
{
	char hash[160];
	struct rk_status st = {0};

	assert_int_equal(auth_password_hash(pw, 1, 8, hash, sizeof(hash)), RK_OK);
	assert_int_equal(auth_user_add(sc, login, "田中 誠", prof, org, hash, &st), RK_OK);
}

static void
set(struct fx *f, const char *name, const char *value)
{
	char err[256];
	if (conf_set(&f->conf, name, value, err, sizeof(err)) != 0)
		fail_msg("conf %s=%s: %s", name, value, err);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_conn *sc;
	struct rk_status st = {0};
	struct api_transport tr = {.send = fake_send,
	                           .close = fake_close,
	                           .http_reply = fake_http_reply,
	                           .rx_flow = fake_rx_flow};
	char err[256];

	unit_tmpdir(f->dir, "api");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);

	conf_init(&f->conf);
	set(f, "data_dir", f->dir);
	/* Cheap hashes below OWASP's floor: a test run only (util/conf.h). */
	setenv("RENKEI_ARGON2_TEST_COST", "1", 1);
	set(f, "argon2_t", "1");
	set(f, "argon2_m_kib", "8");
	set(f, "login_max_failures", "3");
	/* These tests sign in with passwords alone (58-totp tests the
	 * second factor). */
	set(f, "totp_required", "off");
	set(f, "prelogin_max_requests", "10");
	set(f, "max_inflight", "4");
	set(f, "store_readers", "1");

	f->cfg.wake = nowake;
	f->cfg.journal = &audit_store_journal; /* every access recorded */
	f->cfg.journal_arg = &f->journal;     /* no signer: no checkpoints */

	/* A tiny ward: one clinic, one physician, one family member. */
	assert_int_equal(store_conn_open(&sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	assert_int_equal(auth_org_add(sc, "org-a", "みどり在宅クリニック", "clinic", "", &st),
	                 RK_OK);
	add_user(sc, "dr.a", "pw-right", PROF_PHYSICIAN, "org-a");
	add_user(sc, "fam.a", "pw-family", PROF_FAMILY, NULL);
	store_conn_close(sc);

	assert_int_equal(store_open(&f->store, &f->cfg, err, sizeof(err)), RK_OK);
	f->api = api_new(&f->conf, f->store, &tr);
	assert_non_null(f->api);
	*state = f;
	return 0;
}

static void
peer_free(struct peer *p)
{
	for (int i = 0; i < p->nframes; i++)
		free(p->frames[i]);
	memset(p, 0, sizeof(*p));
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	/* As the server stops: the store finishes (done()s find no
	 * connections), then api goes. */
	store_close(f->store, NULL, NULL);
	api_free(f->api);
	conf_fini(&f->conf);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static void
open_peer(struct fx *f, struct peer *p)
{
	memset(p, 0, sizeof(*p));
	p->rx_allowed = 1;
	p->c = api_conn_open(f->api, p, "::ffff:192.0.2.7");
	assert_non_null(p->c);
}

static void
close_peer(struct fx *f, struct peer *p)
{
	api_conn_closed(f->api, &p->c);
	assert_null(p->c);
	peer_free(p);
}

/* ------------------------------------------------------------- the wire */

static void
send_env(struct fx *f, struct peer *p, const Renkei__V1__Envelope *env)
{
	size_t n = renkei__v1__envelope__get_packed_size(env);
	uint8_t *buf = malloc(n ? n : 1);

	assert_non_null(buf);
	renkei__v1__envelope__pack(env, buf);
	api_on_message(f->api, p->c, buf, n);
	free(buf);
}

static void
send_bytes(struct fx *f, struct peer *p, const uint8_t *data, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1); /* exactly len: ASan sees overreads */

	assert_non_null(buf);
	memcpy(buf, data, len);
	api_on_message(f->api, p->c, buf, len);
	free(buf);
}

/* The device key every login here sends: Ed25519 from a fixed seed. */
static EVP_PKEY *
unit_device_key(void)
{
	static const uint8_t seed[32] = {1, 2, 3, 4, 5, 6, 7, 8};
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	                                            sizeof(seed));
	assert_non_null(pk);
	return pk;
}

/* Sign the resume message for nonce and token with the unit key. */
static void
unit_sign_resume(const uint8_t nonce[32], const char *token, uint8_t sig[64])
{
	uint8_t msg[AUTH_RESUME_MSG_LEN];
	EVP_PKEY *pk = unit_device_key();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 64;

	auth_resume_message(nonce, token, msg);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &n, msg, sizeof(msg)), 1);
	assert_int_equal(n, 64);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
}

static void
send_login(struct fx *f, struct peer *p, uint64_t rid, const char *login,
           const char *password)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	uint8_t pub[32];
	size_t n = sizeof(pub);
	EVP_PKEY *pk = unit_device_key();

	assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pub, &n), 1);
	EVP_PKEY_free(pk);
	lr.device_key.data = pub;
	lr.device_key.len = sizeof(pub);
	lr.login = (char *)login;
	lr.password = (char *)password;
	lr.device = "unit-test";
	env.request_id = rid;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	send_env(f, p, &env);
}

/* Send an empty-bodied request (LogoutRequest, WhoAmIRequest, ...). */
static void
send_empty(struct fx *f, struct peer *p, uint64_t rid,
           Renkei__V1__Envelope__BodyCase body)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__WhoAmIRequest who = RENKEI__V1__WHO_AM_IREQUEST__INIT;
	Renkei__V1__LogoutRequest out = RENKEI__V1__LOGOUT_REQUEST__INIT;
	Renkei__V1__ListPatientsRequest lp = RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	Renkei__V1__LogoutResponse lor = RENKEI__V1__LOGOUT_RESPONSE__INIT;

	env.request_id = rid;
	env.body_case = body;
	switch (body) {
	case RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST:
		env.whoami_request = &who;
		break;
	case RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST:
		env.logout_request = &out;
		break;
	case RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST:
		env.list_patients_request = &lp;
		break;
	case RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE:
		env.logout_response = &lor;
		break;
	default:
		fail_msg("send_empty: body %d", (int)body);
	}
	send_env(f, p, &env);
}

/* Pump the store's completions until p holds `n` frames (10 s at most). */
static void
pump_until(struct fx *f, struct peer *p, int n)
{
	for (int i = 0; i < 10000 && p->nframes < n; i++) {
		store_complete(f->store);
		if (p->nframes < n)
			usleep(1000);
	}
	if (p->nframes < n)
		fail_msg("waited for %d frames, have %d", n, p->nframes);
}

/* Pump until nothing is pending (the answer's write committed too). */
static void
pump_idle(struct fx *f)
{
	for (int i = 0; i < 10000 && store_pending(f->store) > 0; i++) {
		usleep(1000);
		store_complete(f->store);
	}
	assert_int_equal(store_pending(f->store), 0);
}

/* The next frame p received, decoded (free with ..._free_unpacked). */
static Renkei__V1__Envelope *
next_reply(struct fx *f, struct peer *p)
{
	Renkei__V1__Envelope *env;

	pump_until(f, p, p->taken + 1);
	env = renkei__v1__envelope__unpack(NULL, p->lens[p->taken], p->frames[p->taken]);
	assert_non_null(env);
	p->taken++;
	return env;
}

/* The next frame must be an Error for rid: check code, message (NULL:
 * any) and field. */
static void
expect_error(struct fx *f, struct peer *p, uint64_t rid, Renkei__V1__Code code,
             const char *message, const char *field)
{
	Renkei__V1__Envelope *env = next_reply(f, p);

	if (env->body_case != RENKEI__V1__ENVELOPE__BODY_ERROR)
		fail_msg("expected an Error, got body %d", (int)env->body_case);
	assert_int_equal(env->request_id, rid);
	if ((int)env->error->code != (int)code)
		fail_msg("error code %d (\"%s\"), expected %d", (int)env->error->code,
		         env->error->message, (int)code);
	if (message != NULL)
		assert_string_equal(env->error->message, message);
	assert_string_equal(env->error->field, field);
	renkei__v1__envelope__free_unpacked(env, NULL);
}

/* Log p in as login; returns the token (static buffer). */
static const char *
login_ok(struct fx *f, struct peer *p, uint64_t rid, const char *login,
         const char *password)
{
	static char token[AUTH_TOKEN_LEN + 1];
	Renkei__V1__Envelope *env;

	send_login(f, p, rid, login, password);
	env = next_reply(f, p);
	if (env->body_case != RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE)
		fail_msg("login %s: body %d (%s)", login, (int)env->body_case,
		         env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR
		                 ? env->error->message
		                 : "");
	assert_int_equal(env->request_id, rid);
	snprintf(token, sizeof(token), "%s", env->login_response->token);
	renkei__v1__envelope__free_unpacked(env, NULL);
	return token;
}

/* ------------------------------------------------------------------ tests */

static void
test_login_ok(void **state)
{
	struct fx *f = *state;
	struct peer p;
	struct api_stats st;
	Renkei__V1__Envelope *env;
	int64_t before = rk_now_ms();

	open_peer(f, &p);
	send_login(f, &p, 1, "dr.a", "pw-right");
	/* Nothing is answered before the store has checked and recorded. */
	assert_int_equal(p.nframes, 0);
	env = next_reply(f, &p);
	assert_int_equal(env->request_id, 1);
	assert_int_equal(env->body_case, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	Renkei__V1__LoginResponse *lr = env->login_response;
	assert_int_equal(strlen(lr->token), AUTH_TOKEN_LEN);
	assert_non_null(lr->user);
	assert_string_equal(lr->user->login, "dr.a");
	assert_string_equal(lr->user->display_name, "田中 誠");
	assert_int_equal(lr->user->profession, RENKEI__V1__PROFESSION__PHYSICIAN);
	assert_non_null(lr->user->organisation);
	assert_true(lr->expires_at_ms >= before + f->conf.session_max_s * 1000LL);
	assert_true(lr->expires_at_ms <= rk_now_ms() + f->conf.session_max_s * 1000LL);
	assert_int_equal(lr->idle_timeout_s, f->conf.session_idle_s);
	renkei__v1__envelope__free_unpacked(env, NULL);

	/* Now logged in: whoami is answered, a second login is not. */
	send_empty(f, &p, 2, RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST);
	env = next_reply(f, &p);
	assert_int_equal(env->request_id, 2);
	assert_int_equal(env->body_case, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(env->whoami_response->user->login, "dr.a");
	renkei__v1__envelope__free_unpacked(env, NULL);

	send_login(f, &p, 3, "dr.a", "pw-right");
	expect_error(f, &p, 3, RENKEI__V1__CODE__FAILED_PRECONDITION,
	             "already logged in on this connection", "");

	pump_idle(f);
	api_get_stats(f->api, &st);
	assert_int_equal(st.logins_ok, 1);
	assert_int_equal(st.logins_failed, 0);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.by_type[RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST], 2);
	/* The login was recorded in the audit journal before it was answered. */
	assert_true(__atomic_load_n(&f->journal.appended, __ATOMIC_SEQ_CST) >= 1);
	assert_int_equal(p.close_code, 0);
	close_peer(f, &p);
	api_get_stats(f->api, &st);
	assert_int_equal(st.connections, 0);
}

static void
test_wrong_password_and_unknown_login(void **state)
{
	struct fx *f = *state;
	struct peer p;
	struct api_stats st;

	open_peer(f, &p);
	send_login(f, &p, 7, "dr.a", "pw-wrong");
	expect_error(f, &p, 7, RENKEI__V1__CODE__UNAUTHENTICATED,
	             "wrong login or password", "");
	/* A failed login is recorded too (the answer waits for the record). */
	assert_true(__atomic_load_n(&f->journal.appended, __ATOMIC_SEQ_CST) >= 1);
	/* An unknown login reads exactly the same. */
	send_login(f, &p, 8, "nobody", "pw-right");
	expect_error(f, &p, 8, RENKEI__V1__CODE__UNAUTHENTICATED,
	             "wrong login or password", "");
	/* So does a login that could not even exist. */
	send_login(f, &p, 9, "No Such", "pw-right");
	expect_error(f, &p, 9, RENKEI__V1__CODE__UNAUTHENTICATED,
	             "wrong login or password", "");
	/* After all that, the right password still works on this connection. */
	login_ok(f, &p, 10, "dr.a", "pw-right");
	pump_idle(f);
	api_get_stats(f->api, &st);
	assert_int_equal(st.logins_failed, 2);
	assert_int_equal(st.logins_ok, 1);
	close_peer(f, &p);
}

/* Past login_max_failures wrong passwords the login waits (from this
 * address), even with the right password, on any connection; a retry
 * hint says how long; other logins are not held up. */
static void
test_throttle(void **state)
{
	struct fx *f = *state;
	struct peer p, q;

	open_peer(f, &p);
	for (int i = 0; i <= f->conf.login_max_failures; i++) {
		send_login(f, &p, 20 + (uint64_t)i, "dr.a", "pw-wrong");
		expect_error(f, &p, 20 + (uint64_t)i, RENKEI__V1__CODE__UNAUTHENTICATED,
		             "wrong login or password", "");
	}
	open_peer(f, &q);
	send_login(f, &q, 30, "dr.a", "pw-right");
	expect_error(f, &q, 30, RENKEI__V1__CODE__RESOURCE_EXHAUSTED, NULL, "");
	/* Someone else is not locked out. */
	login_ok(f, &p, 31, "fam.a", "pw-family");
	close_peer(f, &p);
	close_peer(f, &q);
}

static void
test_request_before_login_refused(void **state)
{
	struct fx *f = *state;
	struct peer p;

	open_peer(f, &p);
	send_empty(f, &p, 4, RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST);
	expect_error(f, &p, 4, RENKEI__V1__CODE__UNAUTHENTICATED, "log in first", "");
	send_empty(f, &p, 5, RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST);
	expect_error(f, &p, 5, RENKEI__V1__CODE__UNAUTHENTICATED, "log in first", "");
	send_empty(f, &p, 6, RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST);
	expect_error(f, &p, 6, RENKEI__V1__CODE__UNAUTHENTICATED, "log in first", "");
	/* Nothing reached the store. */
	assert_int_equal(store_pending(f->store), 0);
	/* A response sent to the server is not a request at all. */
	send_empty(f, &p, 7, RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE);
	expect_error(f, &p, 7, RENKEI__V1__CODE__INVALID_ARGUMENT,
	             "this message type is not a request", "body");
	/* Nor is an envelope without a body. */
	static const uint8_t nobody[] = {0x08, 0x08};
	send_bytes(f, &p, nobody, sizeof(nobody));
	expect_error(f, &p, 8, RENKEI__V1__CODE__INVALID_ARGUMENT, NULL, "body");
	assert_int_equal(p.close_code, 0);
	close_peer(f, &p);
}

static void
test_request_id_zero_refused(void **state)
{
	struct fx *f = *state;
	struct peer p;

	open_peer(f, &p);
	send_login(f, &p, 0, "dr.a", "pw-right");
	expect_error(f, &p, 0, RENKEI__V1__CODE__INVALID_ARGUMENT, NULL, "request_id");
	/* Refused before the store: no login was run. */
	assert_int_equal(store_pending(f->store), 0);
	pump_idle(f);
	assert_int_equal(p.nframes, 1);
	close_peer(f, &p);
}

static void
test_undecodable(void **state)
{
	struct fx *f = *state;
	struct peer p;

	open_peer(f, &p);
	/* request_id 42, then a LoginRequest that claims 80 bytes. */
	static const uint8_t cut[] = {0x08, 42, 0x52, 80, 0x0a, 2, 'd', 'r'};
	send_bytes(f, &p, cut, sizeof(cut));
	expect_error(f, &p, 42, RENKEI__V1__CODE__INVALID_ARGUMENT,
	             "the message is not a valid renkei.v1 Envelope", "");
	/* Field 1 itself unreadable: the Error carries 0. */
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	send_bytes(f, &p, junk, sizeof(junk));
	expect_error(f, &p, 0, RENKEI__V1__CODE__INVALID_ARGUMENT,
	             "the message is not a valid renkei.v1 Envelope", "");
	/* A NUL inside a string: refused on the bytes, before login is even
	 * considered, naming the field. */
	static const uint8_t nul[] = {0x08, 43, 0x52, 12, 0x0a, 4, 'd', 'r', 0, 'a',
	                              0x12, 4, 'p', 'w', 'p', 'w'};
	send_bytes(f, &p, nul, sizeof(nul));
	expect_error(f, &p, 43, RENKEI__V1__CODE__INVALID_ARGUMENT, NULL, "login");
	assert_int_equal(store_pending(f->store), 0);
	assert_int_equal(p.close_code, 0);
	close_peer(f, &p);
}

/* Found by fuzz_wirecheck: protobuf-c skips a field numbered 0 (as an
 * unknown field) where wirecheck stops, calling it malformed; dispatch
 * went on, and the strings after the stop were never checked. Here the
 * login "dr.a\0x" (a NUL: cut short to "dr.a" once decoded) after a
 * field 0 logged in as dr.a. What wirecheck cannot read is not
 * dispatched. */
static void
test_unwalkable_refused(void **state)
{
	struct fx *f = *state;
	struct peer p;
	static const uint8_t field0[] = {
		0x08, 44,                            /* request_id 44 */
		0x85, 0x00, 0, 0, 0, 0,              /* field 0, fixed32 */
		0x52, 18,                            /* LoginRequest: */
		0x0a, 6, 'd', 'r', '.', 'a', 0, 'x', /*   login "dr.a\0x" */
		0x12, 8, 'p', 'w', '-', 'r', 'i', 'g', 'h', 't',
	};

	open_peer(f, &p);
	send_bytes(f, &p, field0, sizeof(field0));
	expect_error(f, &p, 44, RENKEI__V1__CODE__INVALID_ARGUMENT,
	             "the message is not a valid renkei.v1 Envelope", "");
	assert_int_equal(store_pending(f->store), 0);
	assert_int_equal(p.close_code, 0);
	close_peer(f, &p);
}

/* More than prelogin_max_requests requests without a session: closed. */
static void
test_prelogin_limit(void **state)
{
	struct fx *f = *state;
	struct peer p;
	int max = f->conf.prelogin_max_requests;

	open_peer(f, &p);
	for (int i = 1; i <= max; i++) {
		send_empty(f, &p, (uint64_t)i, RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST);
		assert_int_equal(p.close_code, 0);
	}
	send_empty(f, &p, (uint64_t)max + 1, RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST);
	assert_int_equal(p.close_code, API_CLOSE_POLICY);
	assert_string_equal(p.close_reason, "too many requests before login");
	assert_int_equal(p.nframes, max + 1); /* each still answered */
	/* Closing: what comes after is ignored. */
	send_login(f, &p, 99, "dr.a", "pw-right");
	pump_idle(f);
	assert_int_equal(p.nframes, max + 1);
	close_peer(f, &p);
}

/* A token from a login resumes the session on another connection; logout
 * ends it for every connection. */
static void
test_resume_and_logout(void **state)
{
	struct fx *f = *state;
	struct peer p, q, r;
	char token[AUTH_TOKEN_LEN + 1];
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__ResumeRequest rr = RENKEI__V1__RESUME_REQUEST__INIT;
	Renkei__V1__Envelope *got;
	uint8_t sig[64];

	open_peer(f, &p);
	snprintf(token, sizeof(token), "%s", login_ok(f, &p, 1, "dr.a", "pw-right"));
	pump_idle(f);

	open_peer(f, &q);
	/* The nonce to sign, for this connection. */
	{
		Renkei__V1__Envelope ch = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__ResumeChallengeRequest cr =
			RENKEI__V1__RESUME_CHALLENGE_REQUEST__INIT;
		ch.request_id = 9;
		ch.body_case = RENKEI__V1__ENVELOPE__BODY_RESUME_CHALLENGE_REQUEST;
		ch.resume_challenge_request = &cr;
		send_env(f, &q, &ch);
		got = next_reply(f, &q);
		assert_int_equal(got->body_case,
		                 RENKEI__V1__ENVELOPE__BODY_RESUME_CHALLENGE_RESPONSE);
		assert_int_equal(got->resume_challenge_response->nonce.len, 32);
		unit_sign_resume(got->resume_challenge_response->nonce.data, token, sig);
		renkei__v1__envelope__free_unpacked(got, NULL);
	}
	rr.token = token;
	rr.device = "second";
	rr.signature.data = sig;
	rr.signature.len = sizeof(sig);
	env.request_id = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST;
	env.resume_request = &rr;
	send_env(f, &q, &env);
	got = next_reply(f, &q);
	assert_int_equal(got->body_case, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_int_equal(got->request_id, 1);
	assert_string_equal(got->login_response->token, ""); /* not handed out again */
	assert_string_equal(got->login_response->user->login, "dr.a");
	renkei__v1__envelope__free_unpacked(got, NULL);

	/* A made-up token does not resume anything. */
	open_peer(f, &r);
	rr.token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	send_env(f, &r, &env);
	expect_error(f, &r, 1, RENKEI__V1__CODE__UNAUTHENTICATED, NULL, "");

	/* Logout on p: answered, and q (same session) is closed. */
	send_empty(f, &p, 2, RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST);
	got = next_reply(f, &p);
	assert_int_equal(got->request_id, 2);
	assert_int_equal(got->body_case, RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE);
	renkei__v1__envelope__free_unpacked(got, NULL);
	pump_idle(f);
	assert_int_equal(q.close_code, API_CLOSE_SESSION_ENDED);

	/* The token is dead now. */
	close_peer(f, &r);
	open_peer(f, &r);
	rr.token = token;
	send_env(f, &r, &env);
	expect_error(f, &r, 1, RENKEI__V1__CODE__UNAUTHENTICATED, NULL, "");
	close_peer(f, &p);
	close_peer(f, &q);
	close_peer(f, &r);
}

/* A connection that goes while its login is in the store: the answer
 * finds nobody, and nothing is sent or leaked. */
/* A client that pipelines without waiting: at max_inflight (4 here) its
 * socket stops being read, and is read again once half are answered;
 * every request is still answered, in order. */
static void
test_inflight_cap_stops_reading(void **state)
{
	struct fx *f = *state;
	struct peer pp, *p = &pp;

	open_peer(f, p);
	login_ok(f, p, 1, "dr.a", "pw-right");
	pump_idle(f);
	for (uint64_t rid = 10; rid < 18; rid++)
		send_empty(f, p, rid, RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST);
	assert_int_equal(p->rx_stops, 1);
	assert_int_equal(p->rx_allowed, 0);
	for (uint64_t rid = 10; rid < 18; rid++) {
		Renkei__V1__Envelope *env = next_reply(f, p);
		assert_int_equal(env->request_id, rid);
		assert_int_equal(env->body_case,
		                 RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_RESPONSE);
		renkei__v1__envelope__free_unpacked(env, NULL);
	}
	pump_idle(f);
	assert_int_equal(p->rx_allowed, 1);
	assert_true(p->rx_resumes >= 1);
	close_peer(f, p);
}

static void
test_conn_gone_mid_login(void **state)
{
	struct fx *f = *state;
	struct peer p;
	struct api_stats st;

	open_peer(f, &p);
	send_login(f, &p, 1, "dr.a", "pw-right");
	api_conn_closed(f->api, &p.c);
	pump_idle(f);
	assert_int_equal(p.nframes, 0);
	api_get_stats(f->api, &st);
	assert_int_equal(st.connections, 0);
	peer_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_password_and_unknown_login, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_throttle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_before_login_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_request_id_zero_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undecodable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwalkable_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prelogin_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_and_logout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight_cap_stops_reading, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_conn_gone_mid_login, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
