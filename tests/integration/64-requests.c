/*
 * Addressed posts and requests (宛先・依頼, issue 13): an addressee has the
 * post in their inbox until they confirm it; a request is its owner's
 * until they mark it done; past its due time its author is told (a
 * RequestEvent on the board, InboxResponse.overdue). Every refusal of bad
 * addressing stores nothing. The CLI does the same end to end.
 *
 * Demo ward: pt-yamada's sheet has dr.tanaka (primary physician),
 * ns.kobayashi, cm.nakamura, ccc.sasaki, msw.yoshida and family.yamada;
 * dr.outsider is on no sheet; cw.yamamoto is on pt-sato and pt-suzuki.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define PRO RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL
#define ALL RENKEI__V1__VISIBILITY__VISIBILITY_ALL

static struct h_server *srv;

static int
group_setup(void **state)
{
	(void)state;
	srv = h_server_up(NULL);
	return srv != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

/* A post on `patient` addressed to to[0..n), a request when owner or due
 * say so (request = 1 with owner "" = the first addressee). */
static Renkei__V1__Envelope *
addressed(struct rkc *c, const char *patient, const char *cid,
          Renkei__V1__Visibility vis, const char *const *to, size_t n,
          int request, const char *owner, int64_t due_ms)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;

	p.patient = (char *)patient;
	p.client_id = (char *)cid;
	p.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	p.visibility = vis;
	p.text = (char *)"明日の訪問をお願いします";
	p.to = (char **)to;
	p.n_to = n;
	p.request = request;
	p.owner = (char *)(owner ? owner : "");
	p.due_at_ms = due_ms;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &p;
	return h_call(c, &req);
}

static Renkei__V1__Envelope *
retract(struct rkc *c, uint64_t post_id, const char *cid, const char *reason)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__RetractPostRequest rr = RENKEI__V1__RETRACT_POST_REQUEST__INIT;

	rr.post_id = post_id;
	rr.client_id = (char *)cid;
	rr.reason = (char *)reason;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_RETRACT_POST_REQUEST;
	req.retract_post_request = &rr;
	return h_call(c, &req);
}

static Renkei__V1__Envelope *
inbox(struct rkc *c)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__InboxRequest ir = RENKEI__V1__INBOX_REQUEST__INIT;
	Renkei__V1__Envelope *r;

	req.body_case = RENKEI__V1__ENVELOPE__BODY_INBOX_REQUEST;
	req.inbox_request = &ir;
	r = h_call(c, &req);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_INBOX_RESPONSE);
	return r;
}

static Renkei__V1__Envelope *
done(struct rkc *c, uint64_t post_id)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__RequestDoneRequest dr = RENKEI__V1__REQUEST_DONE_REQUEST__INIT;

	dr.post_id = post_id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_REQUEST_DONE_REQUEST;
	req.request_done_request = &dr;
	return h_call(c, &req);
}

static int
has(Renkei__V1__Post **posts, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (posts[i]->id == id)
			return 1;
	return 0;
}

/* Which inbox list of `login` holds post id: a bit each (1 addressed,
 * 2 requests, 4 overdue). */
static int
inbox_of(struct rkc *c, uint64_t id)
{
	Renkei__V1__Envelope *r = inbox(c);
	Renkei__V1__InboxResponse *b = r->inbox_response;
	int bits = has(b->addressed, b->n_addressed, id) |
	           has(b->requests, b->n_requests, id) << 1 |
	           has(b->overdue, b->n_overdue, id) << 2;

	h_env_free(r);
	return bits;
}

/* ListPatientsResponse's unconfirmed count of `patient` for c; -1 if it
 * is not in the list. */
static long
unconfirmed_of(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__ListPatientsRequest lp = RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	long n = -1;

	req.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST;
	req.list_patients_request = &lp;
	r = h_call(c, &req);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_RESPONSE);
	for (size_t i = 0; i < r->list_patients_response->n_patients; i++)
		if (strcmp(r->list_patients_response->patients[i]->code, patient) == 0)
			n = r->list_patients_response->patients[i]->unconfirmed;
	h_env_free(r);
	return n;
}

static uint64_t
board_last_seq(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope *r = h_get_patient_env(c, patient);
	uint64_t seq;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE);
	seq = r->get_patient_response->patient->last_seq;
	h_env_free(r);
	return seq;
}

static void
test_addressed_until_confirmed(void **state)
{
	static const char *const to[] = {"ns.kobayashi", "cm.nakamura"};
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *cm = h_connect_login(srv, "cm.nakamura", NULL);
	struct rkc *ccc = h_connect_login(srv, "ccc.sasaki", NULL);
	Renkei__V1__Envelope *r;
	Renkei__V1__Post *p;
	uint64_t id;
	long waiting, unc_ccc;

	(void)state;
	r = addressed(dr, "pt-yamada", "to-1", PRO, to, 2, 0, NULL, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	p = r->post_response->post;
	id = p->id;
	assert_int_equal(p->n_to, 2);
	assert_string_equal(p->to[0]->login, "ns.kobayashi");
	assert_string_equal(p->to[1]->login, "cm.nakamura");
	assert_false(p->request);
	assert_null(p->owner);
	h_env_free(r);

	/* The timeline shows the addressees too. */
	r = h_timeline_env(ccc, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	p = r->timeline_response->posts[0];
	assert_int_equal(p->id, id);
	assert_int_equal(p->n_to, 2);
	assert_string_equal(p->to[1]->display_name[0] ? p->to[1]->login : "", "cm.nakamura");
	h_env_free(r);

	assert_int_equal(inbox_of(ns, id), 1);
	assert_int_equal(inbox_of(cm, id), 1);
	assert_int_equal(inbox_of(ccc, id), 0); /* not addressed */
	assert_int_equal(inbox_of(dr, id), 0);  /* the author */
	/* The patient list counts it as waiting for ns's confirmation. */
	waiting = unconfirmed_of(ns, "pt-yamada");
	assert_true(waiting >= 1);
	unc_ccc = unconfirmed_of(ccc, "pt-yamada");

	r = h_ack_env(ns, id);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ACK_RESPONSE);
	h_env_free(r);
	assert_int_equal(inbox_of(ns, id), 0);
	assert_int_equal(inbox_of(cm, id), 1);
	assert_int_equal(unconfirmed_of(ns, "pt-yamada"), waiting - 1);
	assert_int_equal(unconfirmed_of(ccc, "pt-yamada"), unc_ccc);

	/* A retracted post leaves the inbox. */
	r = retract(dr, id, "to-1-retract", "宛先の誤り");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	assert_int_equal(inbox_of(cm, id), 0);
	rkc_close(dr);
	rkc_close(ns);
	rkc_close(cm);
	rkc_close(ccc);
}

static void
test_request_done_by_owner(void **state)
{
	static const char *const to[] = {"cm.nakamura", "ns.kobayashi"};
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *cm = h_connect_login(srv, "cm.nakamura", NULL);
	struct rkc *out = h_connect_login(srv, "dr.outsider", NULL);
	Renkei__V1__Envelope *r, *none;
	Renkei__V1__Post *p;
	int64_t due = h_now_ms() + 3600 * 1000, at;
	uint64_t id, plain;

	(void)state;
	r = addressed(dr, "pt-yamada", "rq-1", PRO, to, 2, 1, "ns.kobayashi", due);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	p = r->post_response->post;
	id = p->id;
	assert_true(p->request);
	assert_non_null(p->owner);
	assert_string_equal(p->owner->login, "ns.kobayashi");
	assert_int_equal(p->due_at_ms, due);
	assert_int_equal(p->done_at_ms, 0);
	assert_false(p->overdue);
	h_env_free(r);

	assert_int_equal(inbox_of(ns, id), 1 | 2); /* addressed and owned */
	assert_int_equal(inbox_of(cm, id), 1);     /* addressed only */
	/* Confirming is not doing: still the owner's open request. */
	r = h_ack_env(ns, id);
	h_env_free(r);
	assert_int_equal(inbox_of(ns, id), 2);

	/* Only the owner marks it done. */
	r = done(cm, id);
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	assert_string_equal(r->error->field, "post_id");
	h_env_free(r);
	/* One not on the sheet hears exactly what a missing post says. */
	r = done(out, id);
	none = done(out, 999999999);
	h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
	h_assert_error(none, RENKEI__V1__CODE__NOT_FOUND);
	assert_string_equal(r->error->message, none->error->message);
	assert_string_equal(r->error->field, none->error->field);
	h_env_free(r);
	h_env_free(none);
	/* Not a request. */
	r = h_post_env(dr, "pt-yamada", "rq-1-plain", PRO, "申し送り");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	plain = r->post_response->post->id;
	h_env_free(r);
	r = done(ns, plain);
	h_assert_error(r, RENKEI__V1__CODE__FAILED_PRECONDITION);
	assert_string_equal(r->error->field, "post_id");
	h_env_free(r);

	r = done(ns, id);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_REQUEST_DONE_RESPONSE);
	at = r->request_done_response->done_at_ms;
	assert_true(at > 0);
	assert_false(r->request_done_response->already);
	h_env_free(r);
	r = done(ns, id);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_REQUEST_DONE_RESPONSE);
	assert_int_equal(r->request_done_response->done_at_ms, at);
	assert_true(r->request_done_response->already);
	h_env_free(r);
	assert_int_equal(inbox_of(ns, id), 0);

	r = h_timeline_env(dr, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	for (size_t i = 0; i < r->timeline_response->n_posts; i++)
		if (r->timeline_response->posts[i]->id == id)
			assert_int_equal(r->timeline_response->posts[i]->done_at_ms, at);
	h_env_free(r);
	rkc_close(dr);
	rkc_close(ns);
	rkc_close(cm);
	rkc_close(out);
}

/* The next RequestEvent on c within timeout_ms, or NULL. */
static Renkei__V1__Envelope *
next_request_event(struct rkc *c, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;

	for (;;) {
		Renkei__V1__Envelope *e = NULL;
		int64_t left = end - h_mono_ms();
		if (rkc_next_event(c, left > 0 ? (int)left : 0, &e) != 0)
			return NULL;
		if (e->body_case == RENKEI__V1__ENVELOPE__BODY_EVENT &&
		    e->event->kind_case == RENKEI__V1__EVENT__KIND_REQUEST)
			return e;
		h_env_free(e);
	}
}

static void
test_overdue_flagged_to_author(void **state)
{
	static const char *const to[] = {"ns.kobayashi"};
	static const char *const yamada[] = {"pt-yamada"};
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	Renkei__V1__Envelope *r, *e;
	int64_t due = h_now_ms() + 1500;
	uint64_t id;

	(void)state;
	r = h_sync_env(dr, yamada, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	r = addressed(dr, "pt-yamada", "od-1", PRO, to, 1, 1, NULL, due);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = r->post_response->post->id;
	assert_false(r->post_response->post->overdue);
	h_env_free(r);
	assert_int_equal(inbox_of(dr, id), 0);

	e = next_request_event(dr, 6000);
	assert_non_null(e);
	assert_int_equal(e->event->request->post_id, id);
	assert_true(e->event->request->overdue);
	assert_string_equal(e->event->request->patient, "pt-yamada");
	assert_true(h_now_ms() >= due);
	h_env_free(e);
	assert_int_equal(inbox_of(dr, id), 4);
	assert_int_equal(inbox_of(ns, id), 1 | 2);

	r = done(ns, id);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_REQUEST_DONE_RESPONSE);
	h_env_free(r);
	e = next_request_event(dr, 3000);
	assert_non_null(e);
	assert_int_equal(e->event->request->post_id, id);
	assert_false(e->event->request->overdue);
	assert_true(e->event->request->done_at_ms > 0);
	assert_string_equal(e->event->request->done_by->login, "ns.kobayashi");
	h_env_free(e);
	assert_int_equal(inbox_of(dr, id), 0);
	rkc_close(dr);
	rkc_close(ns);
}

struct bad {
	const char *what;
	Renkei__V1__Visibility vis;
	const char *to[24];
	size_t n;
	int request;
	const char *owner;
	int64_t due_ahead_ms; /* from now; INT64_MIN: none */
	const char *field;
};

static void
test_bad_addressing_changes_nothing(void **state)
{
	static const struct bad bad[] = {
		{"unknown login", PRO, {"nobody.here"}, 1, 0, NULL, INT64_MIN, "to"},
		{"not on the sheet", PRO, {"dr.outsider"}, 1, 0, NULL, INT64_MIN, "to"},
		{"on another board only", PRO, {"pt.ito"}, 1, 0, NULL, INT64_MIN, "to"},
		{"family on a professional post", PRO, {"family.yamada"}, 1, 0, NULL,
		 INT64_MIN, "to"},
		{"oneself", PRO, {"dr.tanaka"}, 1, 0, NULL, INT64_MIN, "to"},
		{"twice", PRO, {"ns.kobayashi", "ns.kobayashi"}, 2, 0, NULL, INT64_MIN, "to"},
		{"empty login", PRO, {""}, 1, 0, NULL, INT64_MIN, "to"},
		{"too many", PRO,
		 {"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11",
		  "a12", "a13", "a14", "a15", "a16", "a17", "a18", "a19", "a20", "a21"},
		 21, 0, NULL, INT64_MIN, "to"},
		{"request without addressee", PRO, {NULL}, 0, 1, NULL, INT64_MIN, "to"},
		{"owner not addressed", PRO, {"ns.kobayashi"}, 1, 1, "cm.nakamura",
		 INT64_MIN, "owner"},
		{"owner without request", PRO, {"ns.kobayashi"}, 1, 0, "ns.kobayashi",
		 INT64_MIN, "owner"},
		{"due without request", PRO, {"ns.kobayashi"}, 1, 0, NULL, 3600000,
		 "due_at_ms"},
		{"due in the past", PRO, {"ns.kobayashi"}, 1, 1, NULL, -60000, "due_at_ms"},
		{"due too far", PRO, {"ns.kobayashi"}, 1, 1, NULL,
		 367LL * 24 * 3600 * 1000, "due_at_ms"},
	};
	static const char *const to_ns[] = {"ns.kobayashi"};
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *out = h_connect_login(srv, "dr.outsider", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	uint64_t seq = board_last_seq(dr, "pt-yamada");
	Renkei__V1__Envelope *r, *plain;
	sqlite3 *db;
	char cid[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad *b = &bad[i];
		int64_t due = b->due_ahead_ms == INT64_MIN ? 0 : h_now_ms() + b->due_ahead_ms;
		snprintf(cid, sizeof(cid), "bad-%zu", i);
		r = addressed(dr, "pt-yamada", cid, b->vis, b->to, b->n, b->request,
		              b->owner, due);
		if (h_env_code(r) != RENKEI__V1__CODE__INVALID_ARGUMENT ||
		    strcmp(r->error->field, b->field) != 0)
			fail_msg("%s: %s (field %s), wanted INVALID_ARGUMENT field %s", b->what,
			         h_env_outcome(r),
			         r != NULL && r->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR
			                 ? r->error->field
			                 : "-",
			         b->field);
		h_env_free(r);
	}
	assert_int_equal(board_last_seq(dr, "pt-yamada"), seq);
	db = h_db_open(srv);
	assert_non_null(db);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM post_to p JOIN posts q "
	                              "ON q.id = p.post_id WHERE q.client_id LIKE 'bad-%'"),
	                 0);
	sqlite3_close(db);

	/* One who may not post on the board hears what a post without
	 * addressees gets: the sheet is not consulted for them. */
	r = addressed(out, "pt-yamada", "out-1", PRO, to_ns, 1, 0, NULL, 0);
	plain = h_post_env(out, "pt-yamada", "out-2", PRO, "x");
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_assert_error(plain, RENKEI__V1__CODE__PERMISSION_DENIED);
	assert_string_equal(r->error->message, plain->error->message);
	h_env_free(r);
	h_env_free(plain);
	assert_int_equal(inbox_of(ns, 0), 0);
	rkc_close(dr);
	rkc_close(out);
	rkc_close(ns);
}

static void
test_family_and_removed_members(void **state)
{
	static const char *const fam[] = {"family.yamada"};
	static const char *const cw[] = {"cw.yamamoto"};
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *f = h_connect_login(srv, "family.yamada", NULL);
	struct rkc *w = h_connect_login(srv, "cw.yamamoto", NULL);
	Renkei__V1__Envelope *r;
	uint64_t id, wid;

	(void)state;
	/* Family, on a post marked all. */
	r = addressed(dr, "pt-yamada", "fam-1", ALL, fam, 1, 0, NULL, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = r->post_response->post->id;
	h_env_free(r);
	assert_int_equal(inbox_of(f, id), 1);

	/* Removed from the sheet: gone from the inbox (the post is not
	 * theirs to read any more). */
	r = addressed(dr, "pt-sato", "cw-1", PRO, cw, 1, 1, NULL, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	wid = r->post_response->post->id;
	h_env_free(r);
	assert_int_equal(inbox_of(w, wid), 1 | 2);
	r = h_sheet_end_env(dr, "pt-sato", "cw.yamamoto", "担当終了");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE);
	h_env_free(r);
	assert_int_equal(inbox_of(w, wid), 0);
	r = done(w, wid);
	h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
	h_env_free(r);
	rkc_close(dr);
	rkc_close(f);
	rkc_close(w);
}

static char cli_dir[400];

static int
cli_run(const char *args, char **out)
{
	char cmd[2000];

	snprintf(cmd, sizeof(cmd),
	         "RENKEI_CONFIG_DIR=%s %s --server %s --ca %s %s 2>&1 </dev/null",
	         cli_dir, RENKEI_CLI_BIN, srv->url, srv->ca, args);
	return h_sh(cmd, out);
}

/* `renkei login` as `login`, with its own config folder DIR/name. */
static void
cli_login(const char *name, const char *login)
{
	char cmd[2000], *out = NULL;
	int rc;

	snprintf(cli_dir, sizeof(cli_dir), "%s/%s", srv->dir, name);
	snprintf(cmd, sizeof(cmd),
	         "printf '%%s\\n' '%s' | RENKEI_CONFIG_DIR=%s %s --server %s --ca %s "
	         "login --password-stdin %s 2>&1",
	         H_DEMO_PASSWORD, cli_dir, RENKEI_CLI_BIN, srv->url, srv->ca, login);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fail_msg("login %s: exit %d: %s", login, rc, out);
	free(out);
}

static void
test_cli(void **state)
{
	char *out = NULL, args[200];
	unsigned long long id = 0;
	const char *p = NULL;
	int rc;

	(void)state;
	cli_login("cli-ns", "ns.kobayashi");
	rc = cli_run("--json post pt-sato --text 'リハビリ計画の確認をお願いします' "
	             "--to dr.tanaka,pt.ito --request --owner pt.ito --due +1d",
	             &out);
	if (rc != 0 || (p = strstr(out, "\"id\": ")) == NULL ||
	    strstr(out, "\"request\": true") == NULL || strstr(out, "pt.ito") == NULL)
		fail_msg("post --to --request: exit %d: %s", rc, out);
	id = strtoull(p + 6, NULL, 10);
	free(out);
	rc = cli_run("post pt-sato --text x --due +1d", &out);
	if (rc != 2 || strstr(out, "--request") == NULL)
		fail_msg("--due without --request: exit %d: %s", rc, out);
	free(out);
	rc = cli_run("post pt-sato --text x --to dr.outsider", &out);
	if (rc == 0 || strstr(out, "liaison sheet") == NULL)
		fail_msg("--to dr.outsider: exit %d: %s", rc, out);
	free(out);
	rc = cli_run("post pt-sato --text x --to pt.ito --request --due 2h", &out);
	if (rc != 2 || strstr(out, "--due") == NULL)
		fail_msg("--due 2h (in the past): exit %d: %s", rc, out);
	free(out);

	/* pt.ito's inbox has it; done clears it. */
	cli_login("cli-ito", "pt.ito");
	rc = cli_run("inbox", &out);
	if (rc != 0 || strstr(out, "Requests for me, open (1)") == NULL ||
	    strstr(out, "request for dr.tanaka, pt.ito (owner)") == NULL)
		fail_msg("inbox: exit %d: %s", rc, out);
	free(out);
	snprintf(args, sizeof(args), "done %llu", id);
	rc = cli_run(args, &out);
	if (rc != 0 || strstr(out, "marked done") == NULL)
		fail_msg("done: exit %d: %s", rc, out);
	free(out);
	rc = cli_run("--json inbox", &out);
	if (rc != 0 || strstr(out, "\"requests\": []") == NULL)
		fail_msg("inbox after done: exit %d: %s", rc, out);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addressed_until_confirmed),
		cmocka_unit_test(test_request_done_by_owner),
		cmocka_unit_test(test_overdue_flagged_to_author),
		cmocka_unit_test(test_bad_addressing_changes_nothing),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_family_and_removed_members),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
