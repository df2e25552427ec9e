/*
 * The audit trail against the real server. A table issues every request
 * type, allowed and denied, and checks that exactly the expected records
 * appear — action, actor, patient, outcome (and the object, reason or
 * device the request named) — and nothing else. An auditor connection
 * (device "bookkeeper", whose own audit.query records are left out)
 * reads them as soon as the answer arrives, with no wait: an answer
 * leaves only after its record has committed.
 *
 * Then: an auditor finds who opened 山田 太郎's board in the last 7 days,
 * from where, with one query (a nurse asking is refused); a JSON Lines
 * export fetched in chunks verifies offline with the public key; after a
 * clean stop `renkei-server audit verify` says OK, and on a copy with
 * one field changed (sqlcipher CLI) it fails naming that record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include <cmocka.h>
#include <liboath/oath.h>

#include "audit/audit.h"
#include "harness.h"
#include "media_gen.h"
#include "util/err.h"

#define OK_       RENKEI__V1__CODE__OK
#define DENIED    RENKEI__V1__CODE__PERMISSION_DENIED
#define NOT_FOUND RENKEI__V1__CODE__NOT_FOUND
#define UNAUTH    RENKEI__V1__CODE__UNAUTHENTICATED
#define EXHAUSTED RENKEI__V1__CODE__RESOURCE_EXHAUSTED
#define PRECOND   RENKEI__V1__CODE__FAILED_PRECONDITION
#define DAY_MS    (86400LL * 1000)

static struct h_server *srv;

/* Logged in at setup (but ns, whose login is a row), kept open. */
enum { U_NS, U_DR, U_OUT, U_CM, U_MSW, U_AUD, U_CW, U_DDS, U_ADM, U_PH, U_N };
static const char *const logins[U_N] = {
    "ns.kobayashi", "dr.tanaka",   "dr.outsider", "cm.nakamura",
    "msw.yoshida",  "audit.inoue", "cw.yamamoto", "dds.kato",
    "admin",        "ph.watanabe"};

static const char *const bg_reason =
    "救急外来へ搬送。既往歴と内服薬の確認が必要なため";

struct ctx {
	struct rkc *c[U_N];
	char *token[U_N];
	struct rkc *pre;     /* not logged in: failed logins */
	struct rkc *resumed; /* ns's session on a second connection */
	struct rkc *book;    /* the bookkeeper auditor */
	uint64_t last_id, post, amended, att, request; /* newest record seen; ids */
	uint64_t board_read_id; /* a record the tamper test changes */
	struct buf photo;
	/* Set by a row's run for its first record; "" = not checked. */
	char obj[64], reason[200], device[32];
	/* cw's second factor (the TOTP rows): the secret, raw, and the step
	 * of the code that confirmed it. */
	char totp_secret[32];
	size_t totp_len;
	int64_t totp_step;
};

static struct ctx X;

/* ------------------------------------------------------------ records */

struct recs {
	Renkei__V1__Envelope **env;
	size_t nenv;
	Renkei__V1__AuditRecord **r;
	size_t n;
	size_t sheet_rows; /* "sheet.row" records (the sheet's digests), apart */
};

static void
recs_free(struct recs *rs)
{
	for (size_t i = 0; i < rs->nenv; i++)
		h_env_free(rs->env[i]);
	free(rs->env);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/* Every record after X.last_id, paging by after_id, but the
 * bookkeeper's own; moves last_id. */
static void
recs_new(struct recs *rs)
{
	Renkei__V1__AuditQueryRequest q = RENKEI__V1__AUDIT_QUERY_REQUEST__INIT;
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__AuditQueryResponse *a;

	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST;
	req.audit_query_request = &q;
	q.limit = 1000;
	do {
		q.after_id = X.last_id;
		e = h_call(X.book, &req);
		h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_RESPONSE);
		a = e->audit_query_response;
		rs->env = realloc(rs->env, (rs->nenv + 1) * sizeof(*rs->env));
		rs->r = realloc(rs->r, (rs->n + a->n_records + 1) * sizeof(*rs->r));
		assert_true(rs->env != NULL && rs->r != NULL);
		rs->env[rs->nenv++] = e;
		for (size_t i = 0; i < a->n_records; i++) {
			assert_true(a->records[i]->id > X.last_id); /* oldest first */
			X.last_id = a->records[i]->id;
			if (strcmp(a->records[i]->device, "bookkeeper") == 0)
				continue;
			if (strcmp(a->records[i]->action, "sheet.row") == 0) {
				/* Each names a member and carries its row's digest. */
				assert_int_equal(strlen(a->records[i]->content_sha256), 64);
				assert_true(a->records[i]->object[0] != '\0');
				rs->sheet_rows++;
				continue;
			}
			rs->r[rs->n++] = a->records[i];
		}
	} while (a->more && a->n_records > 0);
}

/* ------------------------------------------------------------- the table */

/* What a row does (run() below). */
enum op {
	LOGIN_OK, LOGIN_BAD, LOGIN_LOCKED, LOGIN_NOBODY, RESUME, WHOAMI, LOGOUT,
	TIMELINE, TIMELINE_OUT, TIMELINE_NOBODY, LIST, PATIENT, PATIENT_OUT,
	SYNC, SYNC_ALL, SYNC_OUT, POST, POST_OUT, AMEND, RETRACT, ACK,
	ACK_MISSING, ACKS, SHEET_ADD, SHEET_ADD_NS, SHEET_CHANGE,
	SHEET_CHANGE_NS, SHEET_END, SHEET_END_NS, SHEET_HISTORY, HO_OPEN,
	HO_PROPOSE, HO_CONFERENCE, HO_GET, HO_ACCEPT, BREAKGLASS,
	BREAKGLASS_CW, FAMILY, PW_CHANGE, PW_BAD, UP_BEGIN, UP_CHUNKS, UP_FINISH, ATT_GET,
	ATT_GET_OUT, ATT_HTTPS, AUDIT_NS, AUDIT, EXPORT_NS, EXPORT, PUBKEY,
	RESUME_UNSIGNED, SESSIONS, REVOKE_NOBODY,
	NOTICE_ADD, NOTICE_LIST, NOTICE_PREFS, NOTICE_REMOVE_NOBODY, NOTICE_TEST,
	NOTICE_VAPID,
	CALLORDER, CALLORDER_NS, ONCALL_SET, ONCALL_SET_CW, ONCALL_SHOW,
	ONCALL_SHOW_CW,
	TOTP_BEGIN, TOTP_CONFIRM_WRONG, TOTP_CONFIRM, TOTP_CONFIRM_AGAIN,
	TOTP_STATUS, TOTP_LOGIN_NO_CODE, TOTP_LOGIN, TOTP_STEP_UP_NONE,
	ADM_ORG_ADD, ADM_CREATE, ADM_DISABLE, ADM_ENABLE, ADM_RESET_PW,
	ADM_RESET_2FA, ADM_UNLOCK, ADM_DISABLE_NS, ADM_DISABLE_NOBODY,
	INBOX, REQUEST_ASK, INBOX_OWNER, REQUEST_DONE, REQUEST_DONE_OUT,
};

struct want {
	const char *action, *patient;
	Renkei__V1__Code outcome;
};

struct row {
	const char *what;
	const char *actor;  /* every record's actor_login */
	enum op op;
	int answer;         /* the code the request itself gets */
	struct want rec[5]; /* in any order; action NULL ends */
};

/* The code of an answer, which is freed. */
static int
code_of(Renkei__V1__Envelope *e)
{
	int c = h_env_code(e);

	h_env_free(e);
	return c;
}

static int
login_as(struct ctx *x, struct rkc *c, const char *login, const char *pw)
{
	Renkei__V1__Envelope *e = h_login_env(c, login, pw, "phone-7");
	int code = h_env_code(e);

	/* LoginRequest.device is "for the audit". */
	snprintf(x->device, sizeof(x->device), "phone-7");
	if (code == 0)
		x->token[U_NS] = strdup(e->login_response->token);
	h_env_free(e);
	return code;
}

/* The one request of a body case with one message set (by hand). */
static int
call(struct rkc *c, Renkei__V1__Envelope__BodyCase b, void *msg)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;

	req.body_case = b;
	req.list_patients_request = msg; /* the oneof: any member will do */
	return code_of(h_call(c, &req));
}

/* cw's code at `step`, as an authenticator app makes it. */
static void
totp_code(const struct ctx *x, int64_t step, char out[7])
{
	assert_int_equal(oath_totp_generate(x->totp_secret, x->totp_len,
	                                    (time_t)(step * 30), 30, 0, 6, out),
	                 OATH_OK);
}

/* The TOTP rows: cw enrols (the server runs with totp_required off, so
 * no one had to), then signs in with and without a code. */
static int
run_totp(struct ctx *x, enum op op)
{
	Renkei__V1__TotpEnrolBeginRequest tb = RENKEI__V1__TOTP_ENROL_BEGIN_REQUEST__INIT;
	Renkei__V1__TotpEnrolConfirmRequest tc = RENKEI__V1__TOTP_ENROL_CONFIRM_REQUEST__INIT;
	Renkei__V1__TotpStatusRequest ts = RENKEI__V1__TOTP_STATUS_REQUEST__INIT;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	struct rkc *c;
	char code[7], *raw = NULL;
	size_t n = 0;
	int rc;

	switch (op) {
	case TOTP_BEGIN:
		snprintf(x->obj, sizeof(x->obj), "cw.yamamoto");
		req.body_case = RENKEI__V1__ENVELOPE__BODY_TOTP_ENROL_BEGIN_REQUEST;
		req.totp_enrol_begin_request = &tb;
		e = h_call(x->c[U_CW], &req);
		if (h_env_code(e) == 0) {
			const char *b32 = e->totp_enrol_begin_response->secret;
			assert_int_equal(oath_base32_decode(b32, strlen(b32), &raw, &n), OATH_OK);
			assert_true(n <= sizeof(x->totp_secret));
			memcpy(x->totp_secret, raw, n);
			x->totp_len = n;
			free(raw);
		}
		return code_of(e);
	case TOTP_CONFIRM_WRONG:
	case TOTP_CONFIRM:
	case TOTP_CONFIRM_AGAIN:
		snprintf(x->obj, sizeof(x->obj), "cw.yamamoto");
		if (op != TOTP_CONFIRM_AGAIN)
			x->totp_step = (int64_t)time(NULL) / 30;
		totp_code(x, x->totp_step, code);
		if (op == TOTP_CONFIRM_WRONG) /* one digit off: no code of the window */
			code[5] = code[5] == '9' ? '0' : (char)(code[5] + 1);
		tc.code = code;
		req.body_case = RENKEI__V1__ENVELOPE__BODY_TOTP_ENROL_CONFIRM_REQUEST;
		req.totp_enrol_confirm_request = &tc;
		return code_of(h_call(x->c[U_CW], &req));
	case TOTP_STATUS:
		return call(x->c[U_CW], RENKEI__V1__ENVELOPE__BODY_TOTP_STATUS_REQUEST, &ts);
	case TOTP_LOGIN_NO_CODE:
		snprintf(x->reason, sizeof(x->reason), "second factor needed");
		return login_as(x, x->pre, "cw.yamamoto", H_DEMO_PASSWORD);
	case TOTP_LOGIN:
		/* The next step's code (the confirming one is used up). */
		totp_code(x, x->totp_step + 1, code);
		c = h_connect(srv);
		lr.login = "cw.yamamoto";
		lr.password = H_DEMO_PASSWORD;
		lr.device = "phone-8";
		lr.totp_code = code;
		snprintf(x->device, sizeof(x->device), "phone-8");
		req.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
		req.login_request = &lr;
		rc = code_of(h_call(c, &req));
		rkc_close(c);
		return rc;
	case TOTP_STEP_UP_NONE: /* break-glass without the fresh code */
		return code_of(h_breakglass_env(x->c[U_CW], "pt-sato", bg_reason));
	default:
		return -1;
	}
}

static int
att_https(struct ctx *x)
{
	struct rkc_opts o;
	char path[64], hdr[200], err[200];
	int st;

	h_opts(srv, &o);
	snprintf(path, sizeof(path), "/attachments/%llu", (unsigned long long)x->att);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", x->token[U_NS]);
	st = rkc_https_get(&o, path, hdr, NULL, NULL, err, sizeof(err));
	return st == 200 ? 0 : st == 404 ? NOT_FOUND : -1;
}

static int
run(struct ctx *x, enum op op)
{
	static const char *const yamada[] = {"pt-yamada"};
	static const Renkei__V1__ProposedMember team[] = {
	    {PROTOBUF_C_MESSAGE_INIT(&renkei__v1__proposed_member__descriptor),
	     "dr.tanaka", "主治医（在宅）", 1},
	    {PROTOBUF_C_MESSAGE_INIT(&renkei__v1__proposed_member__descriptor),
	     "ns.kobayashi", "訪問看護", 0}};
	Renkei__V1__ListPatientsRequest lp = RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	Renkei__V1__RetractPostRequest rr = RENKEI__V1__RETRACT_POST_REQUEST__INIT;
	Renkei__V1__AckListRequest al = RENKEI__V1__ACK_LIST_REQUEST__INIT;
	Renkei__V1__AuditQueryRequest aq = RENKEI__V1__AUDIT_QUERY_REQUEST__INIT;
	Renkei__V1__AuditExportRequest ae = RENKEI__V1__AUDIT_EXPORT_REQUEST__INIT;
	Renkei__V1__AuditPublicKeyRequest pk = RENKEI__V1__AUDIT_PUBLIC_KEY_REQUEST__INIT;
	Renkei__V1__ListSessionsRequest ls = RENKEI__V1__LIST_SESSIONS_REQUEST__INIT;
	Renkei__V1__RevokeSessionRequest rv = RENKEI__V1__REVOKE_SESSION_REQUEST__INIT;
	Renkei__V1__AdminOrgAddRequest oa = RENKEI__V1__ADMIN_ORG_ADD_REQUEST__INIT;
	Renkei__V1__AdminCreateUserRequest cu =
		RENKEI__V1__ADMIN_CREATE_USER_REQUEST__INIT;
	Renkei__V1__AdminUserRequest ur = RENKEI__V1__ADMIN_USER_REQUEST__INIT;
	Renkei__V1__InboxRequest ib = RENKEI__V1__INBOX_REQUEST__INIT;
	Renkei__V1__RequestDoneRequest rd = RENKEI__V1__REQUEST_DONE_REQUEST__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	static const char *const to_cm[] = {"cm.nakamura"};
	struct rkc **c = x->c;
	Renkei__V1__Envelope *e;
	char day[11];
	uint8_t sha[32], *d;
	size_t n;
	int code;

	switch (op) {
	case LOGIN_OK:
		c[U_NS] = h_connect(srv);
		return login_as(x, c[U_NS], "ns.kobayashi", H_DEMO_PASSWORD);
	case LOGIN_BAD:
		return login_as(x, x->pre, "pt.ito", "not-the-password");
	case LOGIN_LOCKED: /* the right password, but it must wait now */
		return login_as(x, x->pre, "pt.ito", H_DEMO_PASSWORD);
	case LOGIN_NOBODY:
		return login_as(x, x->pre, "no.such.user", "whatever-1");
	case RESUME:
		x->resumed = h_connect(srv);
		return code_of(h_resume_env(x->resumed, x->token[U_NS]));
	case WHOAMI:
		return code_of(h_whoami_env(c[U_NS]));
	case LOGOUT:
		return code_of(h_logout_env(c[U_DDS]));
	case TIMELINE:
		return code_of(h_timeline_env(c[U_NS], "pt-yamada"));
	case TIMELINE_OUT:
		return code_of(h_timeline_env(c[U_OUT], "pt-yamada"));
	case TIMELINE_NOBODY:
		return code_of(h_timeline_env(c[U_NS], "pt-nobody"));
	case LIST:
		return call(c[U_DR], RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST, &lp);
	case PATIENT:
		return code_of(h_get_patient_env(c[U_NS], "pt-sato"));
	case PATIENT_OUT:
		return code_of(h_get_patient_env(c[U_OUT], "pt-sato"));
	case SYNC: /* on the second connection, which then stays live */
		return code_of(h_sync_env(x->resumed, yamada, 1, 0, 1));
	case SYNC_ALL:
		return code_of(h_sync_env(c[U_CM], NULL, 0, 0, 1));
	case SYNC_OUT:
		return code_of(h_sync_env(c[U_OUT], yamada, 1, 0, 0));
	case POST:
		e = h_post_env(c[U_NS], "pt-yamada", "audit-post-1",
		               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
		               "訪問。呼吸状態安定。");
		if (h_env_code(e) == 0)
			x->post = e->post_response->post->id;
		snprintf(x->obj, sizeof(x->obj), "%llu", (unsigned long long)x->post);
		return code_of(e);
	case POST_OUT:
		return code_of(h_post_env(c[U_OUT], "pt-yamada", "audit-post-2",
		                          RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "x"));
	case AMEND:
		e = h_amend_env(c[U_NS], x->post, "audit-amend-1", "訂正：やや不安定。");
		if (h_env_code(e) == 0)
			x->amended = e->post_response->post->id;
		snprintf(x->obj, sizeof(x->obj), "%llu", (unsigned long long)x->amended);
		return code_of(e);
	case RETRACT:
		rr.post_id = x->amended;
		rr.client_id = "audit-retract-1";
		rr.reason = "別の患者の記録でした";
		return call(c[U_NS], RENKEI__V1__ENVELOPE__BODY_RETRACT_POST_REQUEST, &rr);
	case ACK:
		snprintf(x->obj, sizeof(x->obj), "%llu", (unsigned long long)x->post);
		return code_of(h_ack_env(c[U_DR], x->post));
	case ACK_MISSING:
		snprintf(x->obj, sizeof(x->obj), "987654321");
		return code_of(h_ack_env(c[U_DR], 987654321));
	case ACKS:
		al.post_id = x->post;
		return call(c[U_NS], RENKEI__V1__ENVELOPE__BODY_ACK_LIST_REQUEST, &al);
	case INBOX:
	case INBOX_OWNER:
		return call(c[op == INBOX ? U_CW : U_CM],
		            RENKEI__V1__ENVELOPE__BODY_INBOX_REQUEST, &ib);
	case REQUEST_ASK:
		cp.patient = "pt-sato";
		cp.client_id = "audit-request-1";
		cp.kind = RENKEI__V1__POST_KIND__CARE;
		cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
		cp.text = "担当者会議の日程調整をお願いします";
		cp.n_to = 1;
		cp.to = (char **)to_cm;
		cp.request = 1;
		req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
		req.create_post_request = &cp;
		e = h_call(c[U_DR], &req);
		if (h_env_code(e) == 0)
			x->request = e->post_response->post->id;
		snprintf(x->obj, sizeof(x->obj), "%llu", (unsigned long long)x->request);
		return code_of(e);
	case REQUEST_DONE:
	case REQUEST_DONE_OUT:
		rd.post_id = x->request;
		snprintf(x->obj, sizeof(x->obj), "%llu", (unsigned long long)x->request);
		return call(c[op == REQUEST_DONE ? U_CM : U_OUT],
		            RENKEI__V1__ENVELOPE__BODY_REQUEST_DONE_REQUEST, &rd);
	case SHEET_ADD:
	case SHEET_ADD_NS:
		snprintf(x->obj, sizeof(x->obj), "pt.ito");
		return code_of(h_sheet_add_env(c[op == SHEET_ADD ? U_DR : U_NS],
		                               "pt-yamada", "pt.ito",
		                               "訪問リハビリ（PT）", 0, "", ""));
	case SHEET_CHANGE:
	case SHEET_CHANGE_NS:
		h_jst_date(30, day);
		return code_of(h_sheet_until_env(c[op == SHEET_CHANGE ? U_DR : U_NS],
		                                 "pt-yamada", "pt.ito", day));
	case SHEET_END:
		return code_of(h_sheet_end_env(c[U_DR], "pt-yamada", "pt.ito", "終了"));
	case SHEET_END_NS:
		return code_of(h_sheet_end_env(c[U_NS], "pt-yamada", "cm.nakamura", ""));
	case SHEET_HISTORY:
		return code_of(h_sheet_history_env(c[U_NS], "pt-yamada"));
	case HO_OPEN:
		h_jst_date(3, day);
		return code_of(h_handoff_open_env(c[U_MSW], "pt-yamada", NULL, day,
		                                  "退院時サマリー：在宅療養へ移行。",
		                                  "audit-ho-1"));
	case HO_PROPOSE:
		return code_of(h_handoff_propose_env(c[U_MSW], "pt-yamada", team, 2));
	case HO_CONFERENCE:
		return code_of(h_handoff_conference_env(c[U_MSW], "pt-yamada",
		                                        "2026-11-21T14:00:00+09:00"));
	case HO_GET:
		return code_of(h_handoff_get_env(c[U_DR], "pt-yamada"));
	case HO_ACCEPT:
		return code_of(h_handoff_accept_env(c[U_DR], "pt-yamada"));
	case BREAKGLASS:
		snprintf(x->reason, sizeof(x->reason), "%s", bg_reason);
		return code_of(h_breakglass_env(c[U_OUT], "pt-sato", bg_reason));
	case BREAKGLASS_CW:
		return code_of(h_breakglass_env(c[U_CW], "pt-yamada", bg_reason));
	case CALLORDER:
	case CALLORDER_NS:
		return code_of(h_callorder_env(c[op == CALLORDER ? U_DR : U_NS],
		                               "pt-sato", "dr.tanaka"));
	case ONCALL_SET:
	case ONCALL_SET_CW:
		return code_of(h_oncall_set_env(c[op == ONCALL_SET ? U_ADM : U_CW],
		                                "org-vn-shakujii", "ns.mori",
		                                h_now_ms(), h_now_ms() + 60000, 0));
	case ONCALL_SHOW:
	case ONCALL_SHOW_CW:
		return code_of(h_oncall_show_env(c[op == ONCALL_SHOW ? U_NS : U_CW],
		                                 "org-vn-shakujii"));
	case FAMILY:
		snprintf(x->obj, sizeof(x->obj), "family.sato9");
		return code_of(h_family_invite_env(c[U_DR], "pt-sato", "family.sato9",
		                                   "佐藤 九", "家族（長男）"));
	case PW_CHANGE:
	case PW_BAD:
		snprintf(x->obj, sizeof(x->obj), "ph.watanabe");
		return code_of(h_password_change_env(c[U_PH],
		                                     op == PW_CHANGE ? H_DEMO_PASSWORD
		                                                     : "not-the-password",
		                                     "kettle-orbit-27"));
	case UP_BEGIN:
		h_sha256(x->photo.p, x->photo.n, sha);
		snprintf(x->obj, sizeof(x->obj), "audit-up-1");
		return code_of(h_upload_begin_env(c[U_NS], "pt-yamada", "audit-up-1",
		                                  "wound.jpg", x->photo.n, sha));
	case UP_CHUNKS:
		e = h_upload_rest_env(c[U_NS], "audit-up-1", x->photo.p, x->photo.n,
		                      0, UINT64_MAX, NULL);
		return e == NULL ? 0 : code_of(e);
	case UP_FINISH:
		e = h_upload_finish_env(c[U_NS], "audit-up-1");
		if (h_env_code(e) == 0)
			x->att = e->upload_finish_response->attachment->id;
		snprintf(x->obj, sizeof(x->obj), "%llu", (unsigned long long)x->att);
		return code_of(e);
	case ATT_GET:
	case ATT_GET_OUT:
	case ATT_HTTPS:
		snprintf(x->obj, sizeof(x->obj), "%llu", (unsigned long long)x->att);
		if (op == ATT_HTTPS)
			return att_https(x);
		code = h_attachment_get(c[op == ATT_GET ? U_NS : U_OUT], x->att, 0,
		                        &d, &n, day, sizeof(day));
		if (code == 0)
			free(d);
		return code;
	case AUDIT_NS:
	case AUDIT:
		aq.patient = "pt-yamada";
		aq.limit = 5;
		return call(c[op == AUDIT ? U_AUD : U_NS],
		            RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST, &aq);
	case EXPORT_NS:
	case EXPORT:
		ae.since_ms = h_now_ms() - DAY_MS;
		return call(c[op == EXPORT ? U_AUD : U_NS],
		            RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST, &ae);
	case PUBKEY:
		return call(c[U_NS], RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_REQUEST,
		            &pk);
	case RESUME_UNSIGNED: { /* her token, without her device's signature */
		struct rkc *t = h_connect(srv);
		code = code_of(h_resume_with(t, x->token[U_NS], NULL));
		rkc_close(t);
		snprintf(x->reason, sizeof(x->reason), "no signature");
		return code;
	}
	case SESSIONS:
		return call(c[U_DR], RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_REQUEST, &ls);
	case REVOKE_NOBODY:
		rv.session_id = 987654321;
		snprintf(x->obj, sizeof(x->obj), "987654321");
		return call(c[U_DR], RENKEI__V1__ENVELOPE__BODY_REVOKE_SESSION_REQUEST, &rv);
	case NOTICE_ADD: {
		Renkei__V1__NoticeDeviceAddRequest na =
			RENKEI__V1__NOTICE_DEVICE_ADD_REQUEST__INIT;
		na.email = "tanaka@clinic.example.jp";
		return call(c[U_DR], RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICE_ADD_REQUEST,
		            &na);
	}
	case NOTICE_LIST: {
		Renkei__V1__NoticeListRequest nl = RENKEI__V1__NOTICE_LIST_REQUEST__INIT;
		return call(c[U_DR], RENKEI__V1__ENVELOPE__BODY_NOTICE_LIST_REQUEST, &nl);
	}
	case NOTICE_PREFS: {
		Renkei__V1__NoticePrefsRequest np = RENKEI__V1__NOTICE_PREFS_REQUEST__INIT;
		Renkei__V1__NoticePrefs p = RENKEI__V1__NOTICE_PREFS__INIT;
		p.urgent_only = 1;
		np.prefs = &p;
		snprintf(x->obj, sizeof(x->obj), "user");
		return call(c[U_DR], RENKEI__V1__ENVELOPE__BODY_NOTICE_PREFS_REQUEST, &np);
	}
	case NOTICE_REMOVE_NOBODY: {
		Renkei__V1__NoticeDeviceRemoveRequest nr =
			RENKEI__V1__NOTICE_DEVICE_REMOVE_REQUEST__INIT;
		nr.device_id = 987654321;
		snprintf(x->obj, sizeof(x->obj), "987654321");
		return call(c[U_DR],
		            RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICE_REMOVE_REQUEST, &nr);
	}
	case NOTICE_TEST: {
		Renkei__V1__NoticeTestRequest nt = RENKEI__V1__NOTICE_TEST_REQUEST__INIT;
		return call(c[U_DR], RENKEI__V1__ENVELOPE__BODY_NOTICE_TEST_REQUEST, &nt);
	}
	case NOTICE_VAPID: {
		Renkei__V1__NoticeVapidKeyRequest nv =
			RENKEI__V1__NOTICE_VAPID_KEY_REQUEST__INIT;
		return call(c[U_DR], RENKEI__V1__ENVELOPE__BODY_NOTICE_VAPID_KEY_REQUEST,
		            &nv);
	}
	default:
		return run_totp(x, op);
	case ADM_ORG_ADD:
		snprintf(x->obj, sizeof(x->obj), "org-audit-9");
		snprintf(x->reason, sizeof(x->reason), "新規参加");
		oa.code = x->obj;
		oa.name = "監査第九診療所";
		oa.reason = x->reason;
		return call(c[U_ADM], RENKEI__V1__ENVELOPE__BODY_ADMIN_ORG_ADD_REQUEST,
		            &oa);
	case ADM_CREATE:
		snprintf(x->obj, sizeof(x->obj), "dr.audit9");
		snprintf(x->reason, sizeof(x->reason), "新任");
		cu.login = x->obj;
		cu.display_name = "監査 九郎";
		cu.profession = RENKEI__V1__PROFESSION__PHYSICIAN;
		cu.org = "org-audit-9";
		cu.reason = x->reason;
		return call(c[U_ADM],
		            RENKEI__V1__ENVELOPE__BODY_ADMIN_CREATE_USER_REQUEST, &cu);
	case ADM_DISABLE:
	case ADM_ENABLE:
	case ADM_RESET_PW:
	case ADM_RESET_2FA:
	case ADM_UNLOCK:
	case ADM_DISABLE_NS:
	case ADM_DISABLE_NOBODY:
		/* ccc.sasaki has no session open here: one record each. */
		snprintf(x->obj, sizeof(x->obj), "%s",
		         op == ADM_DISABLE_NOBODY ? "no.such.user" : "ccc.sasaki");
		snprintf(x->reason, sizeof(x->reason), "理由 %d", (int)op);
		ur.login = x->obj;
		ur.reason = x->reason;
		return call(c[op == ADM_DISABLE_NS ? U_NS : U_ADM],
		            op == ADM_ENABLE     ? RENKEI__V1__ENVELOPE__BODY_ADMIN_ENABLE_USER_REQUEST
		            : op == ADM_RESET_PW ? RENKEI__V1__ENVELOPE__BODY_ADMIN_RESET_PASSWORD_REQUEST
		            : op == ADM_RESET_2FA
		                    ? RENKEI__V1__ENVELOPE__BODY_ADMIN_RESET_SECOND_FACTOR_REQUEST
		            : op == ADM_UNLOCK ? RENKEI__V1__ENVELOPE__BODY_ADMIN_UNLOCK_USER_REQUEST
		                               : RENKEI__V1__ENVELOPE__BODY_ADMIN_DISABLE_USER_REQUEST,
		            &ur);
	}
}

#define Y   "pt-yamada"
#define S   "pt-sato"
#define NS  "ns.kobayashi"
#define DR  "dr.tanaka"
#define OUT "dr.outsider"
#define MSW "msw.yoshida"
#define AUD "audit.inoue"
#define ITO "pt.ito"
#define CW  "cw.yamamoto"
#define ADM "admin"
#define W(action, patient, outcome) {action, patient, outcome}
#define R(op, actor, answer, ...) {#op, actor, op, answer, {__VA_ARGS__}}
#define NONE {0}

static const struct row rows[] = {
    R(LOGIN_OK, NS, OK_, W("login", "", OK_)),
    R(LOGIN_BAD, ITO, UNAUTH, W("login", "", UNAUTH)),
    R(LOGIN_LOCKED, ITO, EXHAUSTED, W("login", "", EXHAUSTED)),
    R(LOGIN_NOBODY, "no.such.user", UNAUTH, W("login", "", UNAUTH)),
    R(RESUME, NS, OK_, W("session.resume", "", OK_)),
    R(WHOAMI, NS, OK_, NONE), /* not an access to anyone's record */
    R(LOGOUT, "dds.kato", OK_, W("logout", "", OK_)),
    R(TIMELINE, NS, OK_, W("board.read", Y, OK_)),
    R(TIMELINE_OUT, OUT, DENIED, W("board.read", Y, DENIED)),
    R(TIMELINE_NOBODY, NS, DENIED, W("board.read", "pt-nobody", DENIED)),
    /* The list shows names: a record per patient (and the request's). */
    R(LIST, DR, OK_, W("patient.list", "", OK_), W("patient.list", Y, OK_),
      W("patient.list", S, OK_), W("patient.list", "pt-suzuki", OK_)),
    R(PATIENT, NS, OK_, W("patient.read", S, OK_)),
    R(PATIENT_OUT, OUT, DENIED, W("patient.read", S, DENIED)),
    R(SYNC, NS, OK_, W("board.sync", Y, OK_)),
    R(SYNC_ALL, "cm.nakamura", OK_, W("board.sync", "", OK_),
      W("board.sync", Y, OK_), W("board.sync", S, OK_),
      W("board.sync", "pt-suzuki", OK_)),
    R(SYNC_OUT, OUT, DENIED, W("board.sync", Y, DENIED)),
    R(POST, NS, OK_, W("post.create", Y, OK_)),
    R(POST_OUT, OUT, DENIED, W("post.create", Y, DENIED)),
    R(AMEND, NS, OK_, W("post.amend", Y, OK_)),
    R(RETRACT, NS, OK_, W("post.retract", Y, OK_)),
    R(ACK, DR, OK_, W("post.ack", Y, OK_)),
    R(ACK_MISSING, DR, NOT_FOUND, W("post.ack", "", NOT_FOUND)),
    R(ACKS, NS, OK_, W("post.acks.read", Y, OK_)),
    /* An inbox shows posts: a record per patient shown (and the
     * request's), as a patient list does. */
    R(INBOX, CW, OK_, W("inbox.read", "", OK_)),
    R(REQUEST_ASK, DR, OK_, W("post.create", S, OK_)),
    R(INBOX_OWNER, "cm.nakamura", OK_, W("inbox.read", "", OK_),
      W("inbox.read", S, OK_)),
    R(REQUEST_DONE, "cm.nakamura", OK_, W("request.done", S, OK_)),
    R(REQUEST_DONE_OUT, OUT, NOT_FOUND, W("request.done", "", NOT_FOUND)),
    R(SHEET_ADD, DR, OK_, W("sheet.add", Y, OK_)),
    R(SHEET_ADD_NS, NS, DENIED, W("sheet.add", Y, DENIED)),
    R(SHEET_CHANGE, DR, OK_, W("sheet.change", Y, OK_)),
    R(SHEET_CHANGE_NS, NS, DENIED, W("sheet.change", Y, DENIED)),
    R(SHEET_END, DR, OK_, W("sheet.end", Y, OK_)),
    R(SHEET_END_NS, NS, DENIED, W("sheet.end", Y, DENIED)),
    R(SHEET_HISTORY, NS, OK_, W("sheet.history.read", Y, OK_)),
    /* Opening writes the summary post: it has its own record. */
    R(HO_OPEN, MSW, OK_, W("handoff.open", Y, OK_), W("post.create", Y, OK_)),
    R(HO_PROPOSE, MSW, OK_, W("handoff.propose", Y, OK_)),
    R(HO_CONFERENCE, MSW, OK_, W("handoff.conference", Y, OK_)),
    R(HO_GET, DR, OK_, W("handoff.read", Y, OK_)),
    R(HO_ACCEPT, DR, OK_, W("handoff.accept", Y, OK_)),
    /* The grant's announcement is a post with its own record. */
    R(BREAKGLASS, OUT, OK_, W("breakglass.start", S, OK_), W("post.create", S, OK_)),
    R(BREAKGLASS_CW, "cw.yamamoto", DENIED, W("breakglass.start", Y, DENIED)),
    R(FAMILY, DR, OK_, W("family.invite", S, OK_)),
    /* The change first: after one failure the login waits (setup). */
    R(PW_CHANGE, "ph.watanabe", OK_, W("password.change", "", OK_)),
    R(PW_BAD, "ph.watanabe", UNAUTH, W("password.change", "", UNAUTH)),
    R(UP_BEGIN, NS, OK_, W("attachment.upload.begin", Y, OK_)),
    R(UP_CHUNKS, NS, OK_, NONE), /* the begin and the finish are */
    R(UP_FINISH, NS, OK_, W("attachment.upload", Y, OK_)),
    R(ATT_GET, NS, OK_, W("attachment.read", Y, OK_)),
    R(ATT_GET_OUT, OUT, NOT_FOUND, W("attachment.read", "", NOT_FOUND)),
    R(ATT_HTTPS, NS, OK_, W("attachment.read", Y, OK_)),
    R(AUDIT_NS, NS, DENIED, W("audit.query", Y, DENIED)),
    R(AUDIT, AUD, OK_, W("audit.query", Y, OK_)),
    R(EXPORT_NS, NS, DENIED, W("audit.export", "", DENIED)),
    R(EXPORT, AUD, OK_, W("audit.export", "", OK_)),
    R(PUBKEY, NS, OK_, NONE), /* public, and no one's record */
    /* Sessions and devices: a live token without its device's signature
     * is recorded as a failed resume of that session, with why. */
    R(RESUME_UNSIGNED, NS, UNAUTH, W("session.resume", "", UNAUTH)),
    R(SESSIONS, DR, OK_, W("session.list", "", OK_)),
    R(REVOKE_NOBODY, DR, NOT_FOUND, W("session.revoke", "", NOT_FOUND)),
    /* Notices (docs/notice.md): my own devices; no patient named. */
    R(NOTICE_ADD, DR, OK_, W("notice.device.add", "", OK_)),
    R(NOTICE_LIST, DR, OK_, W("notice.devices.read", "", OK_)),
    R(NOTICE_PREFS, DR, OK_, W("notice.prefs.set", "", OK_)),
    R(NOTICE_REMOVE_NOBODY, DR, NOT_FOUND,
      W("notice.device.remove", "", NOT_FOUND)),
    R(NOTICE_TEST, DR, OK_, W("notice.test", "", OK_)),
    R(NOTICE_VAPID, DR, OK_, NONE), /* a public key, as PUBKEY */
    /* On-call (65-oncall tests it; here, its records). */
    R(CALLORDER, DR, OK_, W("callorder.set", S, OK_)),
    R(CALLORDER_NS, NS, DENIED, W("callorder.set", S, DENIED)),
    R(ONCALL_SET, ADM, OK_, W("oncall.rota.set", "", OK_)),
    R(ONCALL_SET_CW, CW, DENIED, W("oncall.rota.set", "", DENIED)),
    R(ONCALL_SHOW, NS, OK_, W("oncall.rota.read", "", OK_)),
    R(ONCALL_SHOW_CW, CW, DENIED, W("oncall.rota.read", "", DENIED)),
    /* The second factor (58-totp tests it; here, its records). */
    R(TOTP_BEGIN, CW, OK_, W("totp.enrol.begin", "", OK_)),
    R(TOTP_CONFIRM_WRONG, CW, UNAUTH, W("totp.enrol.confirm", "", UNAUTH)),
    R(TOTP_CONFIRM, CW, OK_, W("totp.enrol.confirm", "", OK_)),
    R(TOTP_CONFIRM_AGAIN, CW, PRECOND, W("totp.enrol.confirm", "", PRECOND)),
    R(TOTP_STATUS, CW, OK_, NONE), /* the caller's own state */
    R(TOTP_LOGIN_NO_CODE, CW, UNAUTH, W("login", "", UNAUTH)),
    R(TOTP_LOGIN, CW, OK_, W("login", "", OK_)),
    R(TOTP_STEP_UP_NONE, CW, UNAUTH, W("breakglass.start", S, UNAUTH)),
    /* Administration: the target is the object, the reason as given;
     * a refusal is recorded too, naming both. */
    R(ADM_ORG_ADD, ADM, OK_, W("org.add", "", OK_)),
    R(ADM_CREATE, ADM, OK_, W("user.create", "", OK_)),
    R(ADM_DISABLE, ADM, OK_, W("user.disable", "", OK_)),
    R(ADM_ENABLE, ADM, OK_, W("user.enable", "", OK_)),
    R(ADM_RESET_PW, ADM, OK_, W("user.reset_password", "", OK_)),
    R(ADM_RESET_2FA, ADM, OK_, W("user.reset_2fa", "", OK_)),
    R(ADM_UNLOCK, ADM, OK_, W("user.unlock", "", OK_)),
    R(ADM_DISABLE_NS, NS, DENIED, W("user.disable", "", DENIED)),
    R(ADM_DISABLE_NOBODY, ADM, NOT_FOUND, W("user.disable", "", NOT_FOUND)),
};

/* ------------------------------------------------------------- setup */

static int
group_setup(void **state)
{
	/* After one failure a login waits (from this address): the row of
	 * a throttled login. */
	const char *args[] = {"--login-max-failures", "0", "--login-delay-s", "60",
	                      NULL};
	Renkei__V1__Envelope *e;

	(void)state;
	srv = h_server_up(args);
	if (srv == NULL)
		return -1;
	for (int u = 0; u < U_N; u++)
		if (u != U_NS &&
		    (X.c[u] = h_connect_login(srv, logins[u], &X.token[u])) == NULL)
			return -1;
	X.pre = h_connect(srv);
	X.book = h_connect(srv);
	if (X.pre == NULL || X.book == NULL)
		return -1;
	e = h_login_env(X.book, "audit.inoue", H_DEMO_PASSWORD, "bookkeeper");
	if (h_env_code(e) != 0)
		return -1;
	h_env_free(e);
	X.photo = make_jpeg(48, 32, 3, 0);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	for (int u = 0; u < U_N; u++) {
		rkc_close(X.c[u]);
		free(X.token[u]);
	}
	rkc_close(X.pre);
	rkc_close(X.resumed);
	rkc_close(X.book);
	free(X.photo.p);
	return h_server_free(srv);
}

/* --------------------------------------------------------------- tests */

/* The test's own address, as the server's dual-stack socket names it. */
static int
loopback(const char *a)
{
	return strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::ffff:127.0.0.1") == 0 ||
	       strcmp(a, "::1") == 0;
}

/* Does record a match w (and the row)? */
static int
matches(const Renkei__V1__AuditRecord *a, const struct want *w,
        const struct row *r)
{
	return strcmp(a->action, w->action) == 0 &&
	       strcmp(a->patient, w->patient) == 0 && a->outcome == w->outcome &&
	       strcmp(a->actor_login, r->actor) == 0;
}

/* Are rs exactly the records row r wants, from here and now? */
/* A successful record of an action that makes or changes a post, a sheet
 * row, a hand-off or a photo (docs/audit-content.md). */
static int
changes_content(const Renkei__V1__AuditRecord *a)
{
	static const char *const actions[] = {
	    "post.create", "post.amend", "post.retract", "sheet.add",
	    "sheet.change", "sheet.end", "family.invite", "handoff.open",
	    "handoff.propose", "handoff.conference", "handoff.accept",
	    "attachment.upload"};

	if (a->outcome != RENKEI__V1__CODE__OK)
		return 0;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(a->action, actions[i]) == 0)
			return strcmp(a->action, "attachment.upload") != 0 ||
			       a->object[0] != '\0';
	return 0;
}

static int
row_ok(const struct row *r, const struct recs *rs, int64_t t0)
{
	int used[8] = {0}, n = 0;

	while (n < 5 && r->rec[n].action != NULL)
		n++;
	if ((int)rs->n != n)
		return 0;
	for (int k = 0; k < n; k++) {
		size_t j = 0;
		while (j < rs->n && (used[j] || !matches(rs->r[j], &r->rec[k], r)))
			j++;
		if (j == rs->n)
			return 0;
		used[j] = 1;
	}
	for (size_t j = 0; j < rs->n; j++) {
		const Renkei__V1__AuditRecord *a = rs->r[j];
		/* From where and when, chained, and in a session but for
		 * logins. */
		if (!loopback(a->address) || a->time_ms < t0 - 1000 ||
		    a->time_ms > h_now_ms() + 1000 || strlen(a->hash) != 64 ||
		    (strcmp(a->action, "login") != 0 && a->session_id == 0))
			return 0;
		/* What a change made carries its digest; nothing else does. */
		if (strlen(a->content_sha256) != (changes_content(a) ? 64u : 0u))
			return 0;
	}
	/* Steps that change several sheet rows record each row in force. */
	if ((rs->sheet_rows > 0) !=
	    (r->op == HO_OPEN || r->op == HO_PROPOSE || r->op == HO_ACCEPT))
		return 0;
	/* What the request named, on a row with one record. */
	return n == 0 ||
	       ((!X.obj[0] || strcmp(rs->r[0]->object, X.obj) == 0) &&
	        (!X.reason[0] || strcmp(rs->r[0]->reason, X.reason) == 0) &&
	        (!X.device[0] || strcmp(rs->r[0]->device, X.device) == 0));
}

static void
test_every_request_is_recorded(void **state)
{
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	struct recs rs = {0};
	int bad = 0;

	(void)state;
	recs_new(&rs); /* everything before the table */
	recs_free(&rs);
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		int64_t t0 = h_now_ms();
		int got;

		X.obj[0] = X.reason[0] = X.device[0] = '\0';
		got = run(&X, r->op);
		/* No sleep: the record committed before the answer left. */
		recs_new(&rs);
		if (got == r->answer && row_ok(r, &rs, t0)) {
			if (r->op == TIMELINE)
				X.board_read_id = rs.r[0]->id;
			recs_free(&rs);
			continue;
		}
		print_message("FAIL %s by %s: answer %s (want %s); want", r->what,
		              r->actor, got < 0 ? "none" : rkc_code_name(got),
		              rkc_code_name(r->answer));
		for (int k = 0; k < 5 && r->rec[k].action != NULL; k++)
			print_message(" [%s %s %s]", r->rec[k].action,
			              r->rec[k].patient,
			              rkc_code_name(r->rec[k].outcome));
		print_message(" object \"%s\" reason \"%s\" device \"%s\"; got:\n",
		              X.obj, X.reason, X.device);
		for (size_t j = 0; j < rs.n; j++)
			print_message("  #%llu %s by %s on \"%s\" object \"%s\": %s "
			              "from %s device \"%s\"\n",
			              (unsigned long long)rs.r[j]->id, rs.r[j]->action,
			              rs.r[j]->actor_login, rs.r[j]->patient,
			              rs.r[j]->object, rkc_code_name(rs.r[j]->outcome),
			              rs.r[j]->address, rs.r[j]->device);
		recs_free(&rs);
		bad++;
	}
	print_message("%zu rows, %d wrong\n", nrows, bad);
	assert_int_equal(bad, 0);
}

/* "Who opened 山田 太郎's board in the last 7 days, from where": one
 * query for an auditor, refused for anyone else. */
static void
test_who_opened_the_board(void **state)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__AuditQueryRequest q = RENKEI__V1__AUDIT_QUERY_REQUEST__INIT;
	Renkei__V1__AuditQueryResponse *a;
	int nurse = 0, outsider = 0;

	(void)state;
	q.patient = "pt-yamada";
	q.action = "board.read";
	q.since_ms = h_now_ms() - 7 * DAY_MS;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST;
	req.audit_query_request = &q;
	e = h_call(X.c[U_AUD], &req);
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_RESPONSE);
	a = e->audit_query_response;
	assert_false(a->more);
	for (size_t i = 0; i < a->n_records; i++) {
		const Renkei__V1__AuditRecord *r = a->records[i];
		assert_string_equal(r->action, "board.read");
		assert_string_equal(r->patient, "pt-yamada");
		assert_true(loopback(r->address));
		assert_true(r->actor_login[0] != '\0');
		nurse += strcmp(r->actor_login, NS) == 0 && r->outcome == OK_;
		outsider += strcmp(r->actor_login, OUT) == 0 &&
		            r->outcome == DENIED &&
		            strcmp(r->actor_org, "org-hosp-nerima") == 0;
	}
	assert_true(nurse >= 1);
	assert_true(outsider >= 1);
	h_env_free(e);
	/* The nurse asking the same is refused. */
	h_assert_error((e = h_call(X.c[U_NS], &req)), DENIED);
	h_env_free(e);
}

/* Records enough for an export of several chunks (256 KiB each): board
 * reads, pipelined a hundred at a time. */
static void
many_reads(int n)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__TimelineRequest t = RENKEI__V1__TIMELINE_REQUEST__INIT;

	t.patient = "pt-sato";
	t.limit = 1;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST;
	req.timeline_request = &t;
	for (int i = 0; i < n; i += 100) {
		for (int k = i; k < i + 100 && k < n; k++) {
			req.request_id = 100000 + (uint64_t)k;
			assert_int_equal(rkc_send(X.c[U_DR], &req), 0);
		}
		for (int k = i; k < i + 100 && k < n;) {
			assert_int_equal(rkc_recv(X.c[U_DR], H_TIMEOUT_MS, &e), 0);
			k += e->request_id >= 100000;
			h_env_free(e);
		}
	}
}

/* Export (JSON Lines, in chunks) and verify offline with the public key
 * alone: the server's verifier, and the CLI's when it has one. */
static void
test_export_verifies_offline(void **state)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__AuditExportRequest q = RENKEI__V1__AUDIT_EXPORT_REQUEST__INIT;
	Renkei__V1__AuditPublicKeyRequest pk = RENKEI__V1__AUDIT_PUBLIC_KEY_REQUEST__INIT;
	Renkei__V1__AuditExportResponse *x;
	struct audit_verify_result res;
	char path[400], pem[400];
	uint8_t *file = NULL;
	uint64_t total = 0, at = 0;
	int64_t records = 0;
	int chunks = 0, more;

	(void)state;
	many_reads(600);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_REQUEST;
	req.audit_public_key_request = &pk;
	e = h_call(X.c[U_AUD], &req);
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_AUDIT_PUBLIC_KEY_RESPONSE);
	assert_non_null(strstr(e->audit_public_key_response->pem, "PUBLIC KEY"));
	snprintf(pem, sizeof(pem), "%s/export-key.pem", srv->dir);
	assert_int_equal(h_write_file(pem, e->audit_public_key_response->pem,
	                            strlen(e->audit_public_key_response->pem)),
	                 0);
	h_env_free(e);

	q.since_ms = 0; /* everything */
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST;
	req.audit_export_request = &q;
	do {
		q.offset = at;
		e = h_call(X.c[U_AUD], &req);
		h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_RESPONSE);
		x = e->audit_export_response;
		assert_int_equal(x->offset, at);
		file = realloc(file, at + x->data.len + 1);
		assert_non_null(file);
		memcpy(file + at, x->data.data, x->data.len);
		at += x->data.len;
		total = x->total, records = x->records, more = x->more, chunks++;
		h_env_free(e);
	} while (more);
	assert_int_equal(at, total);
	assert_true(records > 600);
	assert_true(chunks >= 2);
	snprintf(path, sizeof(path), "%s/export.jsonl", srv->dir);
	assert_int_equal(h_write_file(path, file, at), 0);
	print_message("export: %lld records, %llu bytes in %d chunk(s)\n",
	              (long long)records, (unsigned long long)total, chunks);
	free(file);

	memset(&res, 0, sizeof(res));
	assert_int_equal(audit_verify_export(path, pem, &res), RK_OK);
	if (!res.ok)
		fail_msg("export does not verify: first bad record %lld: %s",
		         (long long)res.first_bad_id, res.why);
	assert_true(res.records >= records);
	assert_true(res.checkpoints >= 1);

#ifdef RENKEI_CLI_BIN
	/* The CLI's offline check, once it has one. */
	char cmd[1400], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s help audit", RENKEI_CLI_BIN);
	if (h_sh(cmd, &out) == 0 && strstr(out, "verify") != NULL) {
		free(out);
		snprintf(cmd, sizeof(cmd), "%s audit verify %s --pubkey %s",
		         RENKEI_CLI_BIN, path, pem);
		int rc = h_sh(cmd, &out);
		if (rc != 0)
			fail_msg("renkei audit verify: exit %d: %s", rc, out);
		print_message("renkei audit verify: %s", out);
	} else {
		print_message("note: the CLI has no `audit verify` yet\n");
	}
	free(out);
#endif
}

/* After a clean stop the whole database verifies; a copy with one field
 * changed (the append-only triggers dropped, as someone holding the key
 * could) fails, naming the record. */
static void
test_verify_db_and_tamper(void **state)
{
	char cmd[2000], key[65], *out = NULL;
	int rc;

	(void)state;
	assert_true(X.board_read_id > 0);
	for (int u = 0; u < U_N; u++)
		rkc_close(X.c[u]), X.c[u] = NULL;
	rkc_close(X.pre), rkc_close(X.resumed), rkc_close(X.book);
	X.pre = X.resumed = X.book = NULL;
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 15000)));

	snprintf(cmd, sizeof(cmd), "%s audit verify --data %s", h_server_bin(),
	         srv->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0 || strstr(out, "OK") == NULL)
		fail_msg("audit verify: exit %d: %s", rc, out);
	print_message("%s", out);
	free(out);

	/* After every kind of request of the table — posts, amendments,
	 * retractions, sheet changes, a whole hand-off, a family invitation,
	 * a photo — what is stored matches the digests in the trail. */
	snprintf(cmd, sizeof(cmd), "%s verify --content --data %s", h_server_bin(),
	         srv->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0 || strstr(out, "OK:") == NULL)
		fail_msg("verify --content: exit %d: %s", rc, out);
	print_message("%s", out);
	free(out);

	if (h_sh("command -v sqlcipher", NULL) != 0) {
		fail_msg("no sqlcipher binary (scripts/install-deps.sh installs it)");
	}
	/* A copy, with its own key folder beside it (DIR/tamper-keys, the
	 * default for DIR/tamper). */
	snprintf(cmd, sizeof(cmd),
	         "mkdir %s/tamper && cp -a %s/audit.db* %s/care.db* %s/tamper/ && "
	         "cp -a %s %s/tamper-keys",
	         srv->dir, srv->dir, srv->dir, srv->dir, srv->keys, srv->dir);
	assert_int_equal(h_sh(cmd, NULL), 0);
	assert_int_equal(h_key_hex(srv, "audit.key", key), 0);
	/* Who read the board: make it look like another patient's. */
	snprintf(cmd, sizeof(cmd),
	         "printf '%%s\\n' \"PRAGMA key = \\\"x'%s'\\\";\" "
	         "'PRAGMA cipher_page_size = 4096;' "
	         "'DROP TRIGGER records_no_update;' "
	         "\"UPDATE records SET patient = 'pt-sato' WHERE id = %llu;\" "
	         "'SELECT changes();' | sqlcipher %s/tamper/audit.db",
	         key, (unsigned long long)X.board_read_id, srv->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0 || strstr(out, "1") == NULL)
		fail_msg("sqlcipher: exit %d: %s", rc, out);
	free(out);

	snprintf(cmd, sizeof(cmd), "%s audit verify --data %s/tamper",
	         h_server_bin(), srv->dir);
	rc = h_sh(cmd, &out);
	print_message("tampered copy: exit %d: %s", rc, out);
	char want[80];
	snprintf(want, sizeof(want), "first bad record %llu",
	         (unsigned long long)X.board_read_id);
	if (rc != 1 || strstr(out, want) == NULL)
		fail_msg("tampered copy: want exit 1 and \"%s\"", want);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_request_is_recorded),
	    cmocka_unit_test(test_who_opened_the_board),
	    cmocka_unit_test(test_export_verifies_offline),
	    cmocka_unit_test(test_verify_db_and_tamper),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
