/*
 * 14-no-access: one answer for "no access". A member whose place on the
 * sheet starts tomorrow, one whose place ended yesterday, a user not on
 * the sheet at all, and anyone asking about a patient that does not
 * exist get the same Error, byte for byte, for every request about the
 * patient — so that no answer tells which patients exist.
 *
 * And idempotency scoped right: a client id that the author used on one
 * board, sent again for a board they may not post to (or one that does
 * not exist), gets that board's no-access answer — never the first post —
 * and the audit trail records the attempt as a denial, not a create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"

struct state {
	struct h_server *s;
	char today[11], tomorrow[11], yesterday[11], past[11];
};

/* pt-na: nx.soon starts tomorrow, nx.gone ended yesterday; nx.none is
 * on no sheet; nx.here is on it now (the control). */
static int
write_ward(struct state *st, const char *path)
{
	json_t *root = json_object(), *orgs = json_array(), *users = json_array();
	json_t *sheet = json_array(), *pts = json_array();
	const char *logins[] = {"nx.soon", "nx.gone", "nx.none", "nx.here"};
	int rc;

	json_array_append_new(orgs, json_pack("{s:s, s:s, s:s}", "id", "org-nx",
	                                      "name", "org-nx", "kind", "nurse"));
	for (size_t i = 0; i < 4; i++)
		json_array_append_new(users, h_ward_user(logins[i], "nurse", "org-nx"));
	json_array_append_new(sheet, h_ward_member("nx.soon", "訪問看護", 0,
	                                           st->tomorrow, NULL));
	json_array_append_new(sheet, h_ward_member("nx.gone", "訪問看護", 0,
	                                           st->past, st->yesterday));
	json_array_append_new(sheet, h_ward_member("nx.here", "訪問看護", 0,
	                                           st->today, NULL));
	json_array_append_new(pts, json_pack("{s:s, s:s, s:o}", "id", "pt-na",
	                                     "name", "pt-na", "sheet", sheet));
	json_object_set_new(root, "organisations", orgs);
	json_object_set_new(root, "users", users);
	json_object_set_new(root, "patients", pts);
	rc = json_dump_file(root, path, JSON_INDENT(1));
	json_decref(root);
	return rc;
}

static int
setup(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	char path[512];

	if (st == NULL)
		return -1;
	/* Sheet dates are JST days: do not straddle a midnight. */
	if (h_ms_to_jst_midnight() < 30000)
		h_sleep_ms((int)h_ms_to_jst_midnight() + 1000);
	h_jst_date(0, st->today);
	h_jst_date(1, st->tomorrow);
	h_jst_date(-1, st->yesterday);
	h_jst_date(-30, st->past);
	if ((st->s = h_server_new()) == NULL)
		goto fail;
	snprintf(path, sizeof(path), "%s/no-access-ward.json", st->s->dir);
	if (write_ward(st, path) != 0 || h_import(st->s, path) != 0 ||
	    h_server_start(st->s, NULL) != 0)
		goto fail;
	*state = st;
	return 0;
fail:
	if (st->s != NULL)
		h_server_free(st->s);
	free(st);
	return -1;
}

static int
teardown(void **state)
{
	struct state *st = *state;
	int rc = h_server_free(st->s);
	free(st);
	return rc;
}

/* The Error of env packed: what a client receives, minus the request id. */
static char *
error_bytes(Renkei__V1__Envelope *env, size_t *n)
{
	char *b;

	if (env == NULL || env->body_case != RENKEI__V1__ENVELOPE__BODY_ERROR)
		fail_msg("expected an Error, got %s",
		         env ? h_body_name(env->body_case) : "nothing");
	*n = renkei__v1__error__get_packed_size(env->error);
	b = malloc(*n + 1);
	assert_non_null(b);
	renkei__v1__error__pack(env->error, (uint8_t *)b);
	h_env_free(env);
	return b;
}

enum ask { ASK_TIMELINE, ASK_SYNC, ASK_POST, ASK_PATIENT, ASK_SHEET_ADD,
	   ASK_HISTORY, ASK_HANDOFF, ASK_UPLOAD, ASK__COUNT };
static const char *const ask_names[ASK__COUNT] = {
    "timeline", "sync", "post", "get_patient", "sheet_add", "sheet_history",
    "handoff_get", "upload_begin"};

static Renkei__V1__Envelope *
ask(struct rkc *c, enum ask a, const char *pt, int n)
{
	static const uint8_t sha[32] = {1};
	char cid[64];

	snprintf(cid, sizeof(cid), "na-%d-%d", (int)a, n);
	switch (a) {
	case ASK_TIMELINE:
		return h_timeline_env(c, pt);
	case ASK_SYNC:
		return h_sync_env(c, &pt, 1, 0, 0);
	case ASK_POST:
		return h_post_env(c, pt, cid, RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
		                  "訪問しました");
	case ASK_PATIENT:
		return h_get_patient_env(c, pt);
	case ASK_SHEET_ADD:
		return h_sheet_add_env(c, pt, "nx.none", "訪問看護", 0, "", "");
	case ASK_HISTORY:
		return h_sheet_history_env(c, pt);
	case ASK_HANDOFF:
		return h_handoff_get_env(c, pt);
	case ASK_UPLOAD:
		return h_upload_begin_env(c, pt, cid, "a.jpg", 1000, sha);
	default:
		return NULL;
	}
}

static void
test_one_answer_for_no_access(void **state)
{
	struct state *st = *state;
	const char *who[] = {"nx.soon", "nx.gone", "nx.none"};
	struct rkc *c[3], *here = h_connect_login(st->s, "nx.here", NULL);
	Renkei__V1__Envelope *e;

	assert_non_null(here);
	for (int i = 0; i < 3; i++)
		assert_non_null(c[i] = h_connect_login(st->s, who[i], NULL));
	/* The control: the member of today may read the board. */
	e = h_timeline_env(here, "pt-na");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	h_env_free(e);

	for (int a = 0; a < ASK__COUNT; a++) {
		size_t n0, n;
		/* The reference: a patient that does not exist. */
		char *ref = error_bytes(ask(here, a, "pt-no-such", 0), &n0);

		for (int i = 0; i < 3; i++) {
			char *b = error_bytes(ask(c[i], a, "pt-na", i + 1), &n);
			if (n != n0 || memcmp(b, ref, n) != 0)
				fail_msg("%s by %s: the answer differs from a missing "
				         "patient's", ask_names[a], who[i]);
			free(b);
		}
		free(ref);
	}
	for (int i = 0; i < 3; i++)
		rkc_close(c[i]);
	rkc_close(here);
}

/* Every post.create record of `login`, oldest first, as the demo
 * ward's auditor reads them (freed with h_env_free(*env)). */
static Renkei__V1__AuditQueryResponse *
creates_of(struct h_server *s, const char *login, Renkei__V1__Envelope **env)
{
	Renkei__V1__AuditQueryRequest q = RENKEI__V1__AUDIT_QUERY_REQUEST__INIT;
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	struct rkc *au = h_connect_login(s, "audit.inoue", NULL);

	assert_non_null(au);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_REQUEST;
	req.audit_query_request = &q;
	q.user = (char *)login;
	q.action = "post.create";
	q.limit = 1000;
	*env = h_call(au, &req);
	h_assert_body(*env, RENKEI__V1__ENVELOPE__BODY_AUDIT_QUERY_RESPONSE);
	rkc_close(au);
	return (*env)->audit_query_response;
}

static void
test_repeat_on_a_foreign_board(void **state)
{
	struct state *st = *state;
	struct rkc *here = h_connect_login(st->s, "nx.here", NULL);
	Renkei__V1__Envelope *e;
	size_t n0, n;
	char *ref, *b;
	uint64_t first;

	assert_non_null(here);
	/* What the trail held before: test_one_answer... asked too. */
	size_t before = creates_of(st->s, "nx.here", &e)->n_records;
	h_env_free(e);
	e = h_post_env(here, "pt-na", "nx-once", RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	               "初回訪問");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	first = e->post_response->post->id;
	assert_false(e->post_response->duplicate);
	h_env_free(e);

	/* The same client id on a patient that does not exist, and on the
	 * demo ward's pt-yamada whose sheet nx.here is not on: the answer for
	 * a missing patient, not "ok, duplicate" with the first post. */
	ref = error_bytes(h_timeline_env(here, "pt-no-such"), &n0);
	b = error_bytes(h_post_env(here, "pt-no-such", "nx-once",
	                           RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "初回訪問"),
	                &n);
	assert_true(n == n0 && memcmp(b, ref, n) == 0);
	free(b);
	b = error_bytes(h_post_env(here, "pt-yamada", "nx-once",
	                           RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "初回訪問"),
	                &n);
	assert_true(n == n0 && memcmp(b, ref, n) == 0);
	free(b);
	free(ref);

	/* On its own board the repeat is answered with the first post. */
	e = h_post_env(here, "pt-na", "nx-once", RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	               "初回訪問");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_true(e->post_response->duplicate);
	assert_int_equal(e->post_response->post->id, first);
	h_env_free(e);

	/* The trail: the two refused repeats are denials on the patient
	 * asked for; every "ok" names the first post on its own board. */
	{
		char id[24];
		int ok = 0, denied = 0;
		Renkei__V1__AuditQueryResponse *a = creates_of(st->s, "nx.here", &e);

		snprintf(id, sizeof(id), "%llu", (unsigned long long)first);
		for (size_t i = before; i < a->n_records; i++) {
			Renkei__V1__AuditRecord *r = a->records[i];
			if (r->outcome == RENKEI__V1__CODE__OK) {
				assert_string_equal(r->patient, "pt-na");
				assert_string_equal(r->object, id);
				ok++;
			} else {
				assert_int_equal(r->outcome,
				                 RENKEI__V1__CODE__PERMISSION_DENIED);
				assert_string_not_equal(r->patient, "pt-na");
				denied++;
			}
		}
		assert_int_equal(ok, 2);     /* the post and its repeat */
		assert_int_equal(denied, 2); /* pt-no-such and pt-yamada */
		h_env_free(e);
	}
	rkc_close(here);
}

/* A client id is scoped to (author, board): the same client id on another
 * board the author may post to is another post, and a repeat on each board
 * returns that board's own post. */
static void
test_client_id_on_another_board(void **state)
{
	struct state *st = *state;
	struct rkc *ns = h_connect_login(st->s, "ns.kobayashi", NULL);
	Renkei__V1__Envelope *e;
	uint64_t yamada, sato;

	assert_non_null(ns);
	e = h_post_env(ns, "pt-yamada", "ns-twice",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "山田様 訪問");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	yamada = e->post_response->post->id;
	h_env_free(e);
	e = h_post_env(ns, "pt-sato", "ns-twice",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "佐藤様 訪問");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_false(e->post_response->duplicate);
	assert_string_equal(e->post_response->post->patient, "pt-sato");
	assert_string_equal(e->post_response->post->text, "佐藤様 訪問");
	sato = e->post_response->post->id;
	assert_true(sato != yamada);
	h_env_free(e);
	e = h_post_env(ns, "pt-sato", "ns-twice",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "retry");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_true(e->post_response->duplicate);
	assert_true(e->post_response->post->id == sato);
	h_env_free(e);
	e = h_post_env(ns, "pt-yamada", "ns-twice",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "retry");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_true(e->post_response->duplicate);
	assert_true(e->post_response->post->id == yamada);
	assert_string_equal(e->post_response->post->text, "山田様 訪問");
	h_env_free(e);
	rkc_close(ns);
}

/* A former member who posts again with a client id they used while on
 * the sheet is not handed the post back: the answer is that of a patient
 * that does not exist, and the trail records a denial. */
static void
test_replay_after_leaving_the_sheet(void **state)
{
	struct state *st = *state;
	struct rkc *ns = h_connect_login(st->s, "ns.kobayashi", NULL);
	struct rkc *dr = h_connect_login(st->s, "dr.tanaka", NULL);
	Renkei__V1__Envelope *e;
	Renkei__V1__AuditRecord *last;
	size_t n0, n;
	char *ref, *b;

	assert_non_null(ns);
	assert_non_null(dr);
	e = h_post_env(ns, "pt-sato", "ns-before-leaving",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, "最後の訪問");
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(e);
	e = h_sheet_end_env(dr, "pt-sato", "ns.kobayashi", "担当交代");
	assert_int_equal(h_env_code(e), RENKEI__V1__CODE__OK);
	h_env_free(e);

	ref = error_bytes(h_timeline_env(ns, "pt-no-such"), &n0);
	b = error_bytes(h_post_env(ns, "pt-sato", "ns-before-leaving",
	                           RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	                           "最後の訪問"),
	                &n);
	assert_true(n == n0 && memcmp(b, ref, n) == 0);
	free(b);
	free(ref);

	{
		Renkei__V1__AuditQueryResponse *a = creates_of(st->s, "ns.kobayashi", &e);
		assert_true(a->n_records >= 2);
		last = a->records[a->n_records - 1];
		assert_int_equal(last->outcome, RENKEI__V1__CODE__PERMISSION_DENIED);
		assert_string_equal(last->patient, "pt-sato");
		assert_string_equal(last->object, "");
	}
	h_env_free(e);
	rkc_close(ns);
	rkc_close(dr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_answer_for_no_access),
	    cmocka_unit_test(test_repeat_on_a_foreign_board),
	    cmocka_unit_test(test_client_id_on_another_board),
	    cmocka_unit_test(test_replay_after_leaving_the_sheet), /* last: ends a membership */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
