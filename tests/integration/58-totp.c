/*
 * 58-totp: the second factor against the real server, started with
 * --totp-required staff (the default of a real install).
 *
 * A professional who signs in with the password alone, without a
 * factor, can do nothing but enrol (every other verb FAILED_PRECONDITION
 * naming "totp"), also on a resumed connection; enrolment works end to
 * end, the test computing codes from the secret the server gave with
 * liboath as an authenticator app would; afterwards a login without a
 * code is UNAUTHENTICATED naming "totp_code", and a wrong, an old (two
 * steps back) and a replayed code are refused, counted by the login
 * throttle and recorded as failed logins; each recovery code works once;
 * a family member is not asked unless they opted in by enrolling, and
 * is asked afterwards; break-glass and audit export ask for a fresh code
 * (step-up); malformed codes are INVALID_ARGUMENT naming the field and
 * change nothing; confirming ends the user's other sessions that never
 * showed the factor (close 4001) and lifts the step on every connection
 * of the confirming session.
 *
 * Codes: the server accepts the step before and after its own, so a code
 * for step S (the test's clock) and S+1 both work while the test runs
 * within a step or so; each successful code uses up its step, so a
 * scenario signs in with recovery codes where it needs more logins than
 * the window has steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sqlite3.h>

#include "harness.h"

#define OK_ RENKEI__V1__CODE__OK
#define UNAUTH RENKEI__V1__CODE__UNAUTHENTICATED
#define INVALID RENKEI__V1__CODE__INVALID_ARGUMENT
#define PRECOND RENKEI__V1__CODE__FAILED_PRECONDITION
#define EXHAUSTED RENKEI__V1__CODE__RESOURCE_EXHAUSTED
#define B(x) RENKEI__V1__ENVELOPE__BODY_##x

static struct h_server *srv;

static int
group_setup(void **state)
{
	/* Each scenario connects from an address of its own: failures here
	 * are meant, and the per-address throttle must not mix them. */
	const char *args[] = {"--totp-required", "staff", "--login-max-failures", "4",
	                      "--login-delay-s", "30", "--prelogin-max-requests", "50",
	                      NULL};

	(void)state;
	if (oath_init() != OATH_OK)
		return -1;
	srv = h_server_up(args);
	return srv != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	oath_done();
	return h_server_free(srv);
}

/* ---------------------------------------------------------------- helpers */

struct factor {
	char secret[64]; /* raw bytes from the base32 the server answered */
	size_t len;
	char recovery[10][16];
	int64_t step; /* the step of the code that confirmed */
};

static int64_t
step_now(void)
{
	return (int64_t)time(NULL) / 30;
}

/* The 6-digit code of f at `step`. */
static void
code_at(const struct factor *f, int64_t step, char out[7])
{
	assert_int_equal(oath_totp_generate(f->secret, f->len, (time_t)(step * 30), 30, 0, 6,
	                                    out),
	                 OATH_OK);
}

/* A 6-digit code that is none of the window's around `step`. */
static void
wrong_code(const struct factor *f, int64_t step, char out[7])
{
	char w[3][7];

	for (int d = -1; d <= 1; d++)
		code_at(f, step + d, w[d + 1]);
	for (unsigned n = 0;; n++) {
		snprintf(out, 7, "%06u", (n * 7919u + 123457u) % 1000000u);
		if (strcmp(out, w[0]) && strcmp(out, w[1]) && strcmp(out, w[2]))
			return;
	}
}

static Renkei__V1__Envelope *
login_env(struct rkc *c, const char *login, const char *code, const char *recovery)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	uint8_t pub[RKC_DEVICE_KEY_LEN];

	/* The harness's device key, so that h_resume_env resumes it. */
	rkc_device_public_key(h_device(), pub);
	lr.device_key.data = pub;
	lr.device_key.len = sizeof(pub);
	lr.login = (char *)login;
	lr.password = H_DEMO_PASSWORD;
	lr.device = "totp-test";
	lr.totp_code = (char *)(code ? code : "");
	lr.recovery_code = (char *)(recovery ? recovery : "");
	env.body_case = B(LOGIN_REQUEST);
	env.login_request = &lr;
	return h_call(c, &env);
}

/* A request whose message has no fields (the oneof takes any member). */
static Renkei__V1__Envelope *
empty_env(struct rkc *c, Renkei__V1__Envelope__BodyCase b, void *msg)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;

	env.body_case = b;
	env.list_patients_request = msg;
	return h_call(c, &env);
}

static Renkei__V1__Envelope *
list_env(struct rkc *c)
{
	Renkei__V1__ListPatientsRequest m = RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	return empty_env(c, B(LIST_PATIENTS_REQUEST), &m);
}

static Renkei__V1__Envelope *
begin_env(struct rkc *c)
{
	Renkei__V1__TotpEnrolBeginRequest m = RENKEI__V1__TOTP_ENROL_BEGIN_REQUEST__INIT;
	return empty_env(c, B(TOTP_ENROL_BEGIN_REQUEST), &m);
}

static Renkei__V1__Envelope *
status_env(struct rkc *c)
{
	Renkei__V1__TotpStatusRequest m = RENKEI__V1__TOTP_STATUS_REQUEST__INIT;
	return empty_env(c, B(TOTP_STATUS_REQUEST), &m);
}

static Renkei__V1__Envelope *
confirm_env(struct rkc *c, const char *code)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__TotpEnrolConfirmRequest m = RENKEI__V1__TOTP_ENROL_CONFIRM_REQUEST__INIT;

	m.code = (char *)code;
	env.body_case = B(TOTP_ENROL_CONFIRM_REQUEST);
	env.totp_enrol_confirm_request = &m;
	return h_call(c, &env);
}

static Renkei__V1__Envelope *
breakglass_env(struct rkc *c, const char *code)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__BreakGlassRequest m = RENKEI__V1__BREAK_GLASS_REQUEST__INIT;

	m.patient = "pt-sato";
	m.reason = "救急外来へ搬送。既往歴と内服薬の確認が必要なため";
	m.totp_code = (char *)code;
	env.body_case = B(BREAK_GLASS_REQUEST);
	env.break_glass_request = &m;
	return h_call(c, &env);
}

static Renkei__V1__Envelope *
export_env(struct rkc *c, const char *code)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AuditExportRequest m = RENKEI__V1__AUDIT_EXPORT_REQUEST__INIT;

	m.totp_code = (char *)code;
	env.body_case = B(AUDIT_EXPORT_REQUEST);
	env.audit_export_request = &m;
	return h_call(c, &env);
}

/* env must be an Error with this code and field (the message holding
 * `words`, if not NULL); frees it. */
static void
expect_error(Renkei__V1__Envelope *e, Renkei__V1__Code code, const char *field,
             const char *words, int line)
{
	if (e == NULL || e->body_case != B(ERROR) || e->error->code != code ||
	    strcmp(e->error->field, field) != 0 ||
	    (words != NULL && strstr(e->error->message, words) == NULL))
		fail_msg("line %d: expected %s field \"%s\", got %s (%s, field \"%s\")", line,
		         rkc_code_name(code), field, h_env_outcome(e),
		         e && e->body_case == B(ERROR) ? e->error->message : "",
		         e && e->body_case == B(ERROR) ? e->error->field : "");
	h_env_free(e);
}
#define EXPECT_ERROR(e, code, field, words) expect_error((e), (code), (field), (words), __LINE__)

static void
expect_ok(Renkei__V1__Envelope *e, Renkei__V1__Envelope__BodyCase b, int line)
{
	if (e == NULL || e->body_case != b)
		fail_msg("line %d: expected %s, got %s (%s)", line, h_body_name(b),
		         h_env_outcome(e),
		         e && e->body_case == B(ERROR) ? e->error->message : "");
	h_env_free(e);
}
#define EXPECT_OK(e, b) expect_ok((e), B(b), __LINE__)

/* Whether a LoginResponse / WhoAmIResponse lists ENROL_SECOND_FACTOR. */
static int
pending_totp(size_t n, const Renkei__V1__SignInStep *p)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == RENKEI__V1__SIGN_IN_STEP__ENROL_SECOND_FACTOR)
			return 1;
	return 0;
}

/* Log in with the password alone: the session must be pending or not, as
 * said. Returns the connection; *token (if not NULL) gets the token. */
static struct rkc *
login_password(const char *from, const char *login, int want_pending, char **token)
{
	struct rkc *c = h_connect_from(srv, from);
	Renkei__V1__Envelope *e;

	assert_non_null(c);
	e = login_env(c, login, NULL, NULL);
	h_assert_body(e, B(LOGIN_RESPONSE));
	assert_int_equal(pending_totp(e->login_response->n_pending, e->login_response->pending),
	                 want_pending);
	assert_int_equal(e->login_response->second_factor,
	                 RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_NONE);
	if (token != NULL)
		*token = strdup(e->login_response->token);
	h_env_free(e);
	return c;
}

/* Base32 (no padding) -> raw, with liboath. */
static void
secret_decode(const char *b32, struct factor *f)
{
	char *raw = NULL;
	size_t n = 0;

	assert_int_equal(oath_base32_decode(b32, strlen(b32), &raw, &n), OATH_OK);
	assert_int_equal(n, 20);
	memcpy(f->secret, raw, n);
	f->len = n;
	free(raw);
}

/* Begin and confirm enrolment on c (a session of `login`), as the CLI
 * does; fills f. */
static void
enrol(struct rkc *c, const char *login, struct factor *f)
{
	Renkei__V1__Envelope *e = begin_env(c);
	char uri[256], code[7];

	h_assert_body(e, B(TOTP_ENROL_BEGIN_RESPONSE));
	snprintf(uri, sizeof(uri),
	         "otpauth://totp/renkei:%s?secret=%s&issuer=renkei&digits=6&period=30", login,
	         e->totp_enrol_begin_response->secret);
	assert_string_equal(e->totp_enrol_begin_response->otpauth_uri, uri);
	assert_int_equal(strlen(e->totp_enrol_begin_response->secret), 32);
	secret_decode(e->totp_enrol_begin_response->secret, f);
	h_env_free(e);
	f->step = step_now();
	code_at(f, f->step, code);
	e = confirm_env(c, code);
	h_assert_body(e, B(TOTP_ENROL_CONFIRM_RESPONSE));
	assert_int_equal(e->totp_enrol_confirm_response->n_recovery_codes, 10);
	for (int i = 0; i < 10; i++) {
		const char *r = e->totp_enrol_confirm_response->recovery_codes[i];
		assert_int_equal(strlen(r), 11);
		assert_int_equal(r[5], '-');
		snprintf(f->recovery[i], sizeof(f->recovery[i]), "%s", r);
	}
	h_env_free(e);
}

/* Audit records of `action` by `login` with this outcome (0 = OK). */
static int64_t
records(const char *login, const char *action, int outcome_ok)
{
	sqlite3 *db = h_db_open(srv);
	char sql[300];
	int64_t n;

	assert_non_null(db);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM audit.records WHERE actor_login = '%s' AND"
	         " action = '%s' AND outcome %s 0",
	         login, action, outcome_ok ? "=" : "!=");
	n = h_db_int(db, sql);
	sqlite3_close(db);
	return n;
}

/* The failures the throttle holds for `login` from `from`. */
static int64_t
failures(const char *login, const char *from)
{
	sqlite3 *db = h_db_open(srv);
	char sql[300];
	int64_t n;

	assert_non_null(db);
	snprintf(sql, sizeof(sql),
	         "SELECT coalesce(sum(failures), 0) FROM login_failures WHERE login = '%s %s'",
	         login, from);
	n = h_db_int(db, sql);
	sqlite3_close(db);
	return n;
}

/* ------------------------------------------------------------------ tests */

/* A professional without a factor: a session that can only enrol,
 * whoami and log out, on every connection of it. */
static void
test_no_access_before_enrolment(void **state)
{
	Renkei__V1__LogoutRequest lo = RENKEI__V1__LOGOUT_REQUEST__INIT;
	char *token = NULL;
	struct rkc *c = login_password("127.0.0.21", "ns.kobayashi", 1, &token), *c2;
	Renkei__V1__Envelope *e;

	(void)state;
	EXPECT_ERROR(list_env(c), PRECOND, "totp", "enrol a second factor first");
	EXPECT_ERROR(h_timeline_env(c, "pt-yamada"), PRECOND, "totp", NULL);
	EXPECT_ERROR(h_get_patient_env(c, "pt-yamada"), PRECOND, "totp", NULL);
	EXPECT_ERROR(h_post_env(c, "pt-yamada", "totp-1",
	                        RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "訪問"),
	             PRECOND, "totp", NULL);
	EXPECT_ERROR(h_sync_env(c, NULL, 0, 0, 1), PRECOND, "totp", NULL);
	EXPECT_ERROR(breakglass_env(c, ""), PRECOND, "totp", NULL);
	/* Confirming what was never begun. */
	EXPECT_ERROR(confirm_env(c, "123456"), PRECOND, "", "begin enrolment first");
	/* What it may do. */
	e = h_whoami_env(c);
	h_assert_body(e, B(WHOAMI_RESPONSE));
	assert_true(pending_totp(e->whoami_response->n_pending, e->whoami_response->pending));
	h_env_free(e);
	e = status_env(c);
	h_assert_body(e, B(TOTP_STATUS_RESPONSE));
	assert_false(e->totp_status_response->enrolled);
	assert_true(e->totp_status_response->required);
	assert_false(e->totp_status_response->enrolment_begun);
	h_env_free(e);

	/* Resumed elsewhere: worked out again, still pending. */
	c2 = h_connect_from(srv, "127.0.0.21");
	e = h_resume_env(c2, token);
	h_assert_body(e, B(LOGIN_RESPONSE));
	assert_true(pending_totp(e->login_response->n_pending, e->login_response->pending));
	h_env_free(e);
	EXPECT_ERROR(list_env(c2), PRECOND, "totp", NULL);
	rkc_close(c2);
	EXPECT_OK(empty_env(c, B(LOGOUT_REQUEST), &lo), LOGOUT_RESPONSE);
	rkc_close(c);
	free(token);
}

/* Enrolment end to end, then every kind of code at login. */
static void
test_enrol_and_codes(void **state)
{
	const char *from = "127.0.0.22", *who = "dr.tanaka";
	char *token = NULL, code[7], bad[7], old[7];
	struct rkc *c = login_password(from, who, 1, &token), *c2, *c3;
	Renkei__V1__Envelope *e;
	struct factor f;
	char first[40];
	int64_t s;

	(void)state;
	/* A second connection of the same session, before enrolment. */
	c2 = h_connect_from(srv, from);
	EXPECT_OK(h_resume_env(c2, token), LOGIN_RESPONSE);
	EXPECT_ERROR(list_env(c2), PRECOND, "totp", NULL);

	/* Begin twice: the first secret is replaced. */
	e = begin_env(c);
	h_assert_body(e, B(TOTP_ENROL_BEGIN_RESPONSE));
	snprintf(first, sizeof(first), "%s", e->totp_enrol_begin_response->secret);
	h_env_free(e);
	e = status_env(c);
	h_assert_body(e, B(TOTP_STATUS_RESPONSE));
	assert_true(e->totp_status_response->enrolment_begun);
	assert_false(e->totp_status_response->enrolled);
	h_env_free(e);
	{
		struct factor old_f;
		secret_decode(first, &old_f);
		e = begin_env(c);
		h_assert_body(e, B(TOTP_ENROL_BEGIN_RESPONSE));
		assert_string_not_equal(first, e->totp_enrol_begin_response->secret);
		secret_decode(e->totp_enrol_begin_response->secret, &f);
		h_env_free(e);
		/* The replaced secret's code does not confirm. */
		s = step_now();
		code_at(&old_f, s, code);
		code_at(&f, s, bad);
		if (strcmp(code, bad) != 0)
			EXPECT_ERROR(confirm_env(c, code), UNAUTH, "code", "wrong code");
	}
	/* Malformed: INVALID_ARGUMENT, nothing changes. */
	EXPECT_ERROR(confirm_env(c, "12345"), INVALID, "code", "6 digits");
	EXPECT_ERROR(confirm_env(c, "1234567"), INVALID, "code", "6 digits");
	EXPECT_ERROR(confirm_env(c, "12a456"), INVALID, "code", "6 digits");
	EXPECT_ERROR(confirm_env(c, "１２３４５６"), INVALID, "code", "6 digits");
	e = status_env(c);
	h_assert_body(e, B(TOTP_STATUS_RESPONSE));
	assert_true(e->totp_status_response->enrolment_begun);
	assert_false(e->totp_status_response->enrolled);
	h_env_free(e);
	/* Wrong: refused, still pending. */
	wrong_code(&f, step_now(), bad);
	EXPECT_ERROR(confirm_env(c, bad), UNAUTH, "code", "wrong code");
	EXPECT_ERROR(list_env(c), PRECOND, "totp", NULL);

	/* The right code: ten recovery codes; the step is lifted on both
	 * connections of the session. */
	f.step = step_now();
	code_at(&f, f.step, code);
	e = confirm_env(c, code);
	h_assert_body(e, B(TOTP_ENROL_CONFIRM_RESPONSE));
	assert_int_equal(e->totp_enrol_confirm_response->n_recovery_codes, 10);
	for (int i = 0; i < 10; i++)
		snprintf(f.recovery[i], sizeof(f.recovery[i]), "%s",
		         e->totp_enrol_confirm_response->recovery_codes[i]);
	h_env_free(e);
	EXPECT_OK(list_env(c), LIST_PATIENTS_RESPONSE);
	EXPECT_OK(list_env(c2), LIST_PATIENTS_RESPONSE);
	e = h_whoami_env(c2);
	h_assert_body(e, B(WHOAMI_RESPONSE));
	assert_int_equal(e->whoami_response->n_pending, 0);
	h_env_free(e);
	/* Replays of enrolment. */
	EXPECT_ERROR(confirm_env(c, code), PRECOND, "", "already enrolled");
	EXPECT_ERROR(begin_env(c), PRECOND, "", "already enrolled");
	e = status_env(c);
	h_assert_body(e, B(TOTP_STATUS_RESPONSE));
	assert_true(e->totp_status_response->enrolled);
	assert_true(e->totp_status_response->enrolled_at_ms > 0);
	assert_int_equal(e->totp_status_response->recovery_codes_left, 10);
	assert_true(e->totp_status_response->required);
	h_env_free(e);
	/* The confirming session resumes without the step. */
	c3 = h_connect_from(srv, from);
	e = h_resume_env(c3, token);
	h_assert_body(e, B(LOGIN_RESPONSE));
	assert_int_equal(e->login_response->n_pending, 0);
	h_env_free(e);
	EXPECT_OK(list_env(c3), LIST_PATIENTS_RESPONSE);
	rkc_close(c3);
	rkc_close(c2);
	rkc_close(c);

	/* Logins from now on. Malformed first: no password check, nothing
	 * counted, nothing used. */
	c = h_connect_from(srv, from);
	EXPECT_ERROR(login_env(c, who, "12 345", NULL), INVALID, "totp_code", "6 digits");
	EXPECT_ERROR(login_env(c, who, "12345", NULL), INVALID, "totp_code", NULL);
	EXPECT_ERROR(login_env(c, who, NULL, "abc"), INVALID, "recovery_code", "xxxxx-xxxxx");
	EXPECT_ERROR(login_env(c, who, NULL, "abcde_fghjk"), INVALID, "recovery_code", NULL);
	EXPECT_ERROR(login_env(c, who, "123456", f.recovery[9]), INVALID, "recovery_code",
	             "not both");
	assert_int_equal(failures(who, from), 0);
	assert_int_equal(records(who, "login", 0), 0);
	/* No code: asked for one (after the right password only). */
	EXPECT_ERROR(login_env(c, who, NULL, NULL), UNAUTH, "totp_code", "code is needed");
	{
		Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
		lr.login = (char *)who;
		lr.password = "not-the-password";
		env.body_case = B(LOGIN_REQUEST);
		env.login_request = &lr;
		e = h_call(c, &env);
		EXPECT_ERROR(e, UNAUTH, "", "wrong login or password");
	}
	/* The code that confirmed: used up (replay). Wrong. Two steps old. */
	EXPECT_ERROR(login_env(c, who, code, NULL), UNAUTH, "totp_code", "already used");
	s = step_now();
	wrong_code(&f, s, bad);
	EXPECT_ERROR(login_env(c, who, bad, NULL), UNAUTH, "totp_code", NULL);
	code_at(&f, s - 2, old);
	EXPECT_ERROR(login_env(c, who, old, NULL), UNAUTH, "totp_code", NULL);
	/* Three failures (and the wrong password: four) were counted, and
	 * recorded as failed logins (with the one that sent no code). */
	assert_int_equal(failures(who, from), 4);
	assert_int_equal(records(who, "login", 0), 5);
	/* The next step's code signs in, with the factor. */
	code_at(&f, f.step + 1, code);
	e = login_env(c, who, code, NULL);
	h_assert_body(e, B(LOGIN_RESPONSE));
	assert_int_equal(e->login_response->n_pending, 0);
	assert_int_equal(e->login_response->second_factor,
	                 RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_TOTP);
	h_env_free(e);
	EXPECT_OK(list_env(c), LIST_PATIENTS_RESPONSE);
	rkc_close(c);
	/* The same code again: replayed. */
	c = h_connect_from(srv, from);
	EXPECT_ERROR(login_env(c, who, code, NULL), UNAUTH, "totp_code", "already used");
	/* Each recovery code works once. */
	for (int i = 0; i < 2; i++) {
		e = login_env(c, who, NULL, f.recovery[i]);
		h_assert_body(e, B(LOGIN_RESPONSE));
		assert_int_equal(e->login_response->second_factor,
		                 RENKEI__V1__SECOND_FACTOR__SECOND_FACTOR_RECOVERY);
		assert_int_equal(e->login_response->recovery_codes_left, (uint32_t)(9 - i));
		h_env_free(e);
		EXPECT_OK(list_env(c), LIST_PATIENTS_RESPONSE);
		rkc_close(c);
		c = h_connect_from(srv, from);
		EXPECT_ERROR(login_env(c, who, NULL, f.recovery[i]), UNAUTH, "recovery_code",
		             "already used");
	}
	/* Typed in capitals, still the same code. */
	for (char *p = f.recovery[2]; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	EXPECT_OK(login_env(c, who, NULL, f.recovery[2]), LOGIN_RESPONSE);
	rkc_close(c);
	/* The one sent with a code, malformed, was not used up. */
	c = h_connect_from(srv, from);
	EXPECT_OK(login_env(c, who, NULL, f.recovery[9]), LOGIN_RESPONSE);
	e = status_env(c);
	h_assert_body(e, B(TOTP_STATUS_RESPONSE));
	assert_int_equal(e->totp_status_response->recovery_codes_left, 6);
	h_env_free(e);
	rkc_close(c);
	free(token);
}

/* Wrong codes are throttled like wrong passwords: after the free ones
 * the login from that address must wait, the right code included. */
static void
test_wrong_codes_throttled(void **state)
{
	const char *from = "127.0.0.23", *who = "ph.watanabe";
	struct rkc *c = login_password(from, who, 1, NULL), *c2;
	Renkei__V1__Envelope *e;
	struct factor f;
	char bad[7], code[7];

	(void)state;
	enrol(c, who, &f);
	rkc_close(c);
	c = h_connect_from(srv, from);
	for (int i = 0; i < 5; i++) {
		wrong_code(&f, step_now(), bad);
		EXPECT_ERROR(login_env(c, who, bad, NULL), UNAUTH, "totp_code", NULL);
	}
	code_at(&f, f.step + 1, code);
	e = login_env(c, who, code, NULL);
	assert_int_equal(h_env_code(e), EXHAUSTED);
	assert_true(e->error->retry_after_ms > 0);
	h_env_free(e);
	/* From elsewhere the owner still signs in. */
	c2 = h_connect_from(srv, "127.0.0.24");
	EXPECT_OK(login_env(c2, who, code, NULL), LOGIN_RESPONSE);
	rkc_close(c2);
	rkc_close(c);
}

/* Family: not asked unless they opt in by enrolling; asked afterwards. */
static void
test_family_opt_in(void **state)
{
	const char *from = "127.0.0.25", *who = "family.yamada";
	struct rkc *c = login_password(from, who, 0, NULL);
	Renkei__V1__Envelope *e;
	struct factor f;
	char code[7];

	(void)state;
	EXPECT_OK(list_env(c), LIST_PATIENTS_RESPONSE);
	e = status_env(c);
	h_assert_body(e, B(TOTP_STATUS_RESPONSE));
	assert_false(e->totp_status_response->required);
	assert_false(e->totp_status_response->enrolled);
	h_env_free(e);
	rkc_close(c);
	/* Again: still not asked. */
	c = login_password(from, who, 0, NULL);
	enrol(c, who, &f);
	e = status_env(c);
	h_assert_body(e, B(TOTP_STATUS_RESPONSE));
	assert_true(e->totp_status_response->required);
	assert_true(e->totp_status_response->enrolled);
	h_env_free(e);
	rkc_close(c);
	c = h_connect_from(srv, from);
	EXPECT_ERROR(login_env(c, who, NULL, NULL), UNAUTH, "totp_code", "code is needed");
	code_at(&f, f.step + 1, code);
	EXPECT_OK(login_env(c, who, code, NULL), LOGIN_RESPONSE);
	EXPECT_OK(list_env(c), LIST_PATIENTS_RESPONSE);
	rkc_close(c);
}

/* Confirming ends the user's other password-only sessions at once. */
static void
test_confirm_ends_other_sessions(void **state)
{
	const char *from = "127.0.0.26", *who = "cm.nakamura";
	struct rkc *a = login_password(from, who, 1, NULL);
	struct rkc *b = login_password(from, who, 1, NULL);
	struct factor f;
	int code;

	(void)state;
	enrol(a, who, &f);
	code = h_wait_close(b, 3000, NULL);
	assert_int_equal(code, 4001);
	EXPECT_OK(list_env(a), LIST_PATIENTS_RESPONSE);
	rkc_close(b);
	rkc_close(a);
}

/* Step-up: break-glass and audit export want a fresh code. */
static void
test_step_up(void **state)
{
	const char *from = "127.0.0.27", *who = "dr.outsider", *aud = "audit.inoue";
	struct rkc *c = login_password(from, who, 1, NULL);
	Renkei__V1__Envelope *e;
	struct factor f, fa;
	char code[7], bad[7], used[7];

	(void)state;
	enrol(c, who, &f);
	code_at(&f, f.step, used);
	/* Malformed: refused before anything, no record. */
	EXPECT_ERROR(breakglass_env(c, "12345"), INVALID, "totp_code", "6 digits");
	EXPECT_ERROR(breakglass_env(c, "abcdef"), INVALID, "totp_code", NULL);
	assert_int_equal(records(who, "breakglass.start", 0), 0);
	/* None, wrong, replayed: refused, recorded, no grant. */
	EXPECT_ERROR(breakglass_env(c, ""), UNAUTH, "totp_code", "fresh second-factor code");
	wrong_code(&f, step_now(), bad);
	EXPECT_ERROR(breakglass_env(c, bad), UNAUTH, "totp_code", NULL);
	EXPECT_ERROR(breakglass_env(c, used), UNAUTH, "totp_code", "already used");
	assert_int_equal(records(who, "breakglass.start", 0), 3);
	assert_int_equal(records(who, "breakglass.start", 1), 0);
	assert_int_not_equal(h_env_code(e = h_timeline_env(c, "pt-sato")), OK_);
	h_env_free(e);
	/* A fresh one: granted. The same again: refused. */
	code_at(&f, f.step + 1, code);
	EXPECT_OK(breakglass_env(c, code), BREAK_GLASS_RESPONSE);
	assert_int_equal(records(who, "breakglass.start", 1), 1);
	EXPECT_OK(h_timeline_env(c, "pt-sato"), TIMELINE_RESPONSE);
	EXPECT_ERROR(breakglass_env(c, code), UNAUTH, "totp_code", "already used");
	rkc_close(c);

	/* The auditor's export, the same way. */
	c = login_password("127.0.0.28", aud, 1, NULL);
	enrol(c, aud, &fa);
	EXPECT_ERROR(export_env(c, ""), UNAUTH, "totp_code", "fresh second-factor code");
	EXPECT_ERROR(export_env(c, "1"), INVALID, "totp_code", NULL);
	code_at(&fa, fa.step + 1, code);
	EXPECT_OK(export_env(c, code), AUDIT_EXPORT_RESPONSE);
	assert_true(records(aud, "audit.export", 0) >= 1);
	rkc_close(c);
}

#ifdef RENKEI_CLI_BIN
/* The CLI's config folder for this test (RENKEI_CONFIG_DIR). */
static char cli_dir[300];

/* Run the CLI with `args` (after --server and --ca), stdin `in` (may be
 * NULL: empty), output (stdout and stderr) into *out; the exit status. */
static int
cli_run(const char *args, const char *in, char **out)
{
	char cmd[2000];

	snprintf(cmd, sizeof(cmd),
	         "printf '%%s' '%s' | RENKEI_CONFIG_DIR=%s %s --server %s --ca %s %s 2>&1",
	         in ? in : "", cli_dir, RENKEI_CLI_BIN, srv->url, srv->ca, args);
	return h_sh(cmd, out);
}

/* `renkei 2fa enroll`, answering its question with the code of the
 * secret it printed, as a person with a phone would. */
static int
cli_enroll(struct factor *f, char **out)
{
	int in[2], from[2], st;
	size_t n = 0, cap = 65536;
	char *buf = calloc(1, cap), code[7], *p;
	pid_t pid;

	assert_non_null(buf);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(from), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(from[1], 1);
		dup2(from[1], 2);
		close(in[1]);
		close(from[0]);
		setenv("RENKEI_CONFIG_DIR", cli_dir, 1);
		execl(RENKEI_CLI_BIN, RENKEI_CLI_BIN, "2fa", "enroll", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(from[1]);
	/* Until the key has been printed (the line after "type this key"). */
	while ((p = strstr(buf, "secret=")) == NULL || strchr(p, '&') == NULL) {
		ssize_t r = read(from[0], buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	p = strstr(buf, "secret=");
	assert_non_null(p);
	{
		char b32[40];
		size_t k = 0;
		for (p += 7; *p != '&' && k < sizeof(b32) - 1; p++)
			b32[k++] = *p;
		b32[k] = '\0';
		secret_decode(b32, f);
	}
	f->step = step_now();
	code_at(f, f->step, code);
	assert_int_equal(write(in[1], code, 6), 6);
	assert_int_equal(write(in[1], "\n", 1), 1);
	close(in[1]);
	for (;;) {
		ssize_t r = read(from[0], buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(from[0]);
	buf[n] = '\0';
	*out = buf;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The CLI end to end: login says to enrol, 2fa enroll (QR skipped: not a
 * terminal), recovery codes, login with the code on the next stdin line,
 * 2fa status; wrong codes exit 3. */
static void
test_cli(void **state)
{
	struct factor f;
	char *out = NULL, in[64], code[7], bad[7];
	int rc;

	(void)state;
	snprintf(cli_dir, sizeof(cli_dir), "%s/cli", srv->dir);
	rc = cli_run("login --password-stdin pt.ito", H_DEMO_PASSWORD "\n", &out);
	if (rc != 0 || strstr(out, "2fa enroll") == NULL)
		fail_msg("login: exit %d: %s", rc, out);
	free(out);
	rc = cli_run("patients", NULL, &out);
	if (rc == 0 || strstr(out, "2fa enroll") == NULL)
		fail_msg("patients before enrolment: exit %d: %s", rc, out);
	free(out);
	rc = cli_enroll(&f, &out);
	if (rc != 0 || strstr(out, "Second factor enrolled") == NULL ||
	    strstr(out, "otpauth://totp/renkei:pt.ito?secret=") == NULL)
		fail_msg("2fa enroll: exit %d: %s", rc, out);
	free(out);
	rc = cli_run("patients", NULL, &out);
	if (rc != 0)
		fail_msg("patients after enrolment: exit %d: %s", rc, out);
	free(out);
	/* A new login: the code on the line after the password. */
	wrong_code(&f, step_now(), bad);
	snprintf(in, sizeof(in), "%s\n%s\n", H_DEMO_PASSWORD, bad);
	rc = cli_run("login --password-stdin pt.ito", in, &out);
	if (rc != 3 || strstr(out, "totp_code") == NULL)
		fail_msg("login with a wrong code: exit %d: %s", rc, out);
	free(out);
	rc = cli_run("login --password-stdin pt.ito", H_DEMO_PASSWORD "\n", &out);
	if (rc != 3 || strstr(out, "code is needed") == NULL)
		fail_msg("login with no code: exit %d: %s", rc, out);
	free(out);
	code_at(&f, f.step + 1, code);
	snprintf(in, sizeof(in), "%s\n%s\n", H_DEMO_PASSWORD, code);
	rc = cli_run("login --password-stdin pt.ito", in, &out);
	if (rc != 0 || strstr(out, "Logged in as") == NULL)
		fail_msg("login with the code: exit %d: %s", rc, out);
	free(out);
	rc = cli_run("--json 2fa status", NULL, &out);
	if (rc != 0 || strstr(out, "\"enrolled\": true") == NULL ||
	    strstr(out, "\"recovery_codes_left\": 10") == NULL)
		fail_msg("2fa status: exit %d: %s", rc, out);
	free(out);
}
#endif

/* A login from this process's device key, proving it with a signature
 * over c's nonce (sign = the key that signs: the harness's, another one,
 * or NULL for no signature), with `password` and `code`. */
static Renkei__V1__Envelope *
login_signed(struct rkc *c, const char *login, const char *password,
             const char *code, const struct rkc_device *sign)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	uint8_t pub[RKC_DEVICE_KEY_LEN], nonce[32], sig[RKC_SIGNATURE_LEN];

	rkc_device_public_key(h_device(), pub);
	lr.device_key.data = pub;
	lr.device_key.len = sizeof(pub);
	if (sign != NULL) {
		assert_int_equal(rkc_resume_challenge(c, H_TIMEOUT_MS, nonce, &resp), 0);
		assert_int_equal(rkc_device_sign_login(sign, nonce, sizeof(nonce), login, sig),
		                 0);
		lr.device_signature.data = sig;
		lr.device_signature.len = sizeof(sig);
	}
	lr.login = (char *)login;
	lr.password = (char *)password;
	lr.device = "totp-test";
	lr.totp_code = (char *)(code ? code : "");
	env.body_case = B(LOGIN_REQUEST);
	env.login_request = &lr;
	return h_call(c, &env);
}

/* A known device (one that signed in to this login with a second factor:
 * the enrolment's session, from this process's device key) is never made
 * to wait by others' failures at its address: someone at the same
 * address sends wrong passwords for dds.kato until that address waits;
 * dds.kato without the device's proof waits too, with it she signs in;
 * another key's signature proves nothing; and the device's own failures
 * still make it wait. */
static void
test_known_device_not_throttled(void **state)
{
	const char *from = "127.0.0.29", *who = "dds.kato";
	struct rkc *c = login_password(from, who, 1, NULL), *a;
	struct rkc_device *other;
	Renkei__V1__Envelope *e;
	struct factor f;
	char code[7], err[128];
	int code_seen = 0, n;

	(void)state;
	enrol(c, who, &f);
	rkc_close(c);

	/* The attacker, same address, no device proof. */
	a = h_connect_from(srv, from);
	for (n = 0; n < 40 && code_seen != EXHAUSTED; n++) {
		e = login_signed(a, who, "not-her-password", NULL, NULL);
		code_seen = h_env_code(e);
		h_env_free(e);
	}
	assert_int_equal(code_seen, EXHAUSTED);
	rkc_close(a);

	/* Her right password and code, unproven: she waits like the address. */
	code_at(&f, f.step + 1, code);
	c = h_connect_from(srv, from);
	e = login_signed(c, who, H_DEMO_PASSWORD, code, NULL);
	assert_int_equal(h_env_code(e), EXHAUSTED);
	h_env_free(e);
	/* Another key's signature: the same wait, and no word of why. */
	other = rkc_device_generate(err, sizeof(err));
	assert_non_null(other);
	e = login_signed(c, who, H_DEMO_PASSWORD, code, other);
	assert_int_equal(h_env_code(e), EXHAUSTED);
	h_env_free(e);
	rkc_device_free(other);
	rkc_close(c);

	/* Proven: signed in, from the very address that waits. */
	c = h_connect_from(srv, from);
	EXPECT_OK(login_signed(c, who, H_DEMO_PASSWORD, code, h_device()), LOGIN_RESPONSE);
	rkc_close(c);
	/* Her success clears her device's count, not the address's: the
	 * attacker there still waits. */
	a = h_connect_from(srv, from);
	e = login_signed(a, who, "not-her-password", NULL, NULL);
	assert_int_equal(h_env_code(e), EXHAUSTED);
	h_env_free(e);
	rkc_close(a);

	/* Its own failures count on their own: 4 free (--login-max-failures),
	 * the 5th sets the wait, the 6th meets it. */
	a = h_connect_from(srv, from);
	code_seen = 0;
	for (n = 0; n < 10 && code_seen != EXHAUSTED; n++) {
		e = login_signed(a, who, "not-her-password", NULL, h_device());
		code_seen = h_env_code(e);
		h_env_free(e);
	}
	assert_int_equal(code_seen, EXHAUSTED);
	assert_int_equal(n, 6);
	rkc_close(a);
}

/* device_signature of the wrong length, or without the device_key it
 * would be checked against: INVALID_ARGUMENT naming the field, before
 * any password is checked (nothing counted). */
static void
test_device_signature_bad_input(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	uint8_t pub[RKC_DEVICE_KEY_LEN], sig[65] = {0};
	struct rkc *c = h_connect_from(srv, "127.0.0.30");

	(void)state;
	assert_non_null(c);
	rkc_device_public_key(h_device(), pub);
	lr.login = "dr.tanaka";
	lr.password = H_DEMO_PASSWORD;
	lr.device_key.data = pub;
	lr.device_key.len = sizeof(pub);
	lr.device_signature.data = sig;
	env.body_case = B(LOGIN_REQUEST);
	env.login_request = &lr;
	for (size_t n = 1; n <= 65; n += 31) { /* 1, 32, 63: none is 64 */
		lr.device_signature.len = n;
		EXPECT_ERROR(h_call(c, &env), INVALID, "device_signature", "64 bytes");
	}
	lr.device_signature.len = 64;
	lr.device_key.len = 0;
	EXPECT_ERROR(h_call(c, &env), INVALID, "device_signature", "device_key");
	/* Nothing was counted: the right login goes through at once. */
	lr.device_signature.len = 0;
	lr.device_key.len = sizeof(pub);
	e = h_call(c, &env);
	assert_int_not_equal(h_env_code(e), EXHAUSTED);
	h_env_free(e);
	rkc_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_access_before_enrolment),
		cmocka_unit_test(test_enrol_and_codes),
		cmocka_unit_test(test_wrong_codes_throttled),
		cmocka_unit_test(test_family_opt_in),
		cmocka_unit_test(test_confirm_ends_other_sessions),
		cmocka_unit_test(test_step_up),
		cmocka_unit_test(test_known_device_not_throttled),
		cmocka_unit_test(test_device_signature_bad_input),
#ifdef RENKEI_CLI_BIN
		cmocka_unit_test(test_cli),
#endif
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
