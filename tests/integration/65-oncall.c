/*
 * On-call (docs/oncall.md) against the real server. ns.mori, a nurse of
 * the visiting-nurse station org-vn-shakujii on no sheet, is put on duty
 * for a few seconds: during the shift she reads and posts on pt-yamada's
 * board (ns.kobayashi of her station is on its sheet), lists it, watches
 * it live, sees the sheet — but not pt-suzuki's (no member of her
 * station), and she may not change the sheet or the call order. One
 * second after the shift ends she is refused with the bytes of a patient
 * that does not exist, live delivery stops, and both the reads and the
 * refusal are in the audit trail as "oncall" with the rota entry's id.
 *
 * Also every refusal of the rota verbs (who may set and see a rota, bad
 * fields) and of the call order (who may set it, unknown logins, people
 * not on the sheet, duplicates, too many), each changing nothing.
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

#define VN "org-vn-shakujii"
#define SHIFT_MS 5000

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

static void
expect_code(Renkei__V1__Envelope *r, Renkei__V1__Code code, const char *field)
{
	h_assert_error(r, code);
	if (field != NULL)
		assert_string_equal(r->error->field, field);
	h_env_free(r);
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

static void
same_bytes(Renkei__V1__Envelope *a, Renkei__V1__Envelope *b)
{
	size_t na, nb;
	char *x = error_bytes(a, &na), *y = error_bytes(b, &nb);

	assert_int_equal(na, nb);
	assert_memory_equal(x, y, na);
	free(x);
	free(y);
}

static size_t
rota_size(struct rkc *c, const char *org)
{
	Renkei__V1__Envelope *r = h_oncall_show_env(c, org);
	size_t n;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SHOW_RESPONSE);
	n = r->on_call_show_response->n_entries;
	h_env_free(r);
	return n;
}

static int64_t
audit_count(const char *sql_where)
{
	sqlite3 *db = h_db_open(srv);
	char sql[512];
	int64_t n;

	assert_non_null(db);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit.records WHERE %s",
	         sql_where);
	n = h_db_int(db, sql);
	sqlite3_close(db);
	return n;
}

static void
test_rota_refusals(void **state)
{
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *pt = h_connect_login(srv, "pt.ito", NULL);
	struct rkc *cw = h_connect_login(srv, "cw.yamamoto", NULL);
	struct rkc *fam = h_connect_login(srv, "family.yamada", NULL);
	struct rkc *aud = h_connect_login(srv, "audit.inoue", NULL);
	struct rkc *adm = h_connect_login(srv, "admin", NULL);
	int64_t now = h_now_ms(), h1 = 3600 * 1000;
	Renkei__V1__Envelope *r;
	uint64_t id;

	(void)state;
	assert_non_null(ns);
	assert_non_null(pt);
	assert_non_null(cw);
	assert_non_null(fam);
	assert_non_null(aud);
	assert_non_null(adm);

	/* Who may set a rota: an administrator, or a physician or nurse of
	 * that organisation. Everyone else is refused, and an organisation
	 * that does not exist answers the same. */
	expect_code(h_oncall_set_env(cw, VN, "ns.mori", now, now + h1, 0),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	expect_code(h_oncall_set_env(pt, VN, "ns.mori", now, now + h1, 0),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	expect_code(h_oncall_set_env(fam, VN, "ns.mori", now, now + h1, 0),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	expect_code(h_oncall_set_env(aud, VN, "ns.mori", now, now + h1, 0),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	expect_code(h_oncall_set_env(ns, "org-clinic-hikari", "dr.tanaka", now,
	                             now + h1, 0),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	same_bytes(h_oncall_set_env(ns, "org-clinic-hikari", "dr.tanaka", now,
	                            now + h1, 0),
	           h_oncall_set_env(ns, "org-no-such", "dr.tanaka", now, now + h1, 0));
	/* Bad fields, from someone who may set it. */
	expect_code(h_oncall_set_env(ns, "", "ns.mori", now, now + h1, 0),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "org");
	expect_code(h_oncall_set_env(ns, VN, "", now, now + h1, 0),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "login");
	expect_code(h_oncall_set_env(ns, VN, "no.such", now, now + h1, 0),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "login");
	expect_code(h_oncall_set_env(ns, VN, "dr.tanaka", now, now + h1, 0),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "login"); /* another org */
	expect_code(h_oncall_set_env(ns, VN, "ns.mori", 0, now + h1, 0),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "start_at_ms");
	expect_code(h_oncall_set_env(ns, VN, "ns.mori", now, now, 0),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "end_at_ms");
	expect_code(h_oncall_set_env(ns, VN, "ns.mori", now - 2 * h1, now - h1, 0),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "end_at_ms");
	expect_code(h_oncall_set_env(ns, VN, "ns.mori", now, now + 8 * 24 * h1, 0),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "end_at_ms");
	expect_code(h_oncall_set_env(ns, VN, NULL, 0, 0, 987654),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "remove_id");

	/* Who may see it: an administrator or a member of the organisation. */
	expect_code(h_oncall_show_env(cw, VN), RENKEI__V1__CODE__PERMISSION_DENIED,
	            NULL);
	expect_code(h_oncall_show_env(fam, VN), RENKEI__V1__CODE__PERMISSION_DENIED,
	            NULL);
	expect_code(h_oncall_show_env(aud, VN), RENKEI__V1__CODE__PERMISSION_DENIED,
	            NULL);
	same_bytes(h_oncall_show_env(cw, VN), h_oncall_show_env(cw, "org-no-such"));
	expect_code(h_oncall_show_env(ns, ""), RENKEI__V1__CODE__INVALID_ARGUMENT,
	            "org");
	/* None of it made an entry. */
	assert_int_equal(rota_size(pt, VN), 0);
	assert_int_equal(rota_size(adm, VN), 0);

	/* An administrator may; a future entry removed never starts. */
	r = h_oncall_set_env(adm, VN, "ns.mori", now + h1, now + 2 * h1, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_RESPONSE);
	id = r->on_call_set_response->entry->id;
	assert_string_equal(r->on_call_set_response->entry->user->login, "ns.mori");
	assert_string_equal(r->on_call_set_response->entry->set_by, "admin");
	h_env_free(r);
	assert_int_equal(rota_size(ns, VN), 1);
	r = h_oncall_set_env(ns, VN, NULL, 0, 0, id);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_RESPONSE);
	assert_true(r->on_call_set_response->entry->removed_at_ms > 0);
	assert_int_equal(r->on_call_set_response->entry->end_at_ms,
	                 r->on_call_set_response->entry->start_at_ms);
	h_env_free(r);
	/* Still shown (until its time has passed), marked removed. */
	r = h_oncall_show_env(ns, VN);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SHOW_RESPONSE);
	assert_int_equal(r->on_call_show_response->n_entries, 1);
	assert_true(r->on_call_show_response->entries[0]->removed_at_ms > 0);
	h_env_free(r);
	/* The refusals and the changes are audited. */
	assert_true(audit_count("action = 'oncall.rota.set' AND outcome != 0 AND "
	                        "actor_login = 'cw.yamamoto'") >= 1);
	assert_true(audit_count("action = 'oncall.rota.set' AND outcome = 0") >= 2);
	assert_true(audit_count("action = 'oncall.rota.read' AND outcome != 0") >= 1);

	rkc_close(ns);
	rkc_close(pt);
	rkc_close(cw);
	rkc_close(fam);
	rkc_close(aud);
	rkc_close(adm);
}

static size_t
call_slots(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope *r = h_get_patient_env(c, patient);
	size_t n;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE);
	n = r->get_patient_response->n_call_order;
	h_env_free(r);
	return n;
}

static void
test_callorder_refusals(void **state)
{
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *out = h_connect_login(srv, "dr.outsider", NULL);
	Renkei__V1__Envelope *r;
	Renkei__V1__GetPatientResponse *gp;

	(void)state;
	assert_non_null(dr);
	assert_non_null(ns);
	assert_non_null(out);
	/* Not an editor of the sheet; not on it (the bytes of no patient). */
	expect_code(h_callorder_env(ns, "pt-suzuki", "dr.tanaka"),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	expect_code(h_callorder_env(ns, "pt-sato", "dr.tanaka"),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	same_bytes(h_callorder_env(out, "pt-sato", "dr.tanaka"),
	           h_callorder_env(out, "pt-no-such", "dr.tanaka"));
	expect_code(h_callorder_env(dr, "", "dr.tanaka"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "patient");
	/* Bad logins: unknown, malformed, not on this sheet, a family member,
	 * twice, too many. */
	expect_code(h_callorder_env(dr, "pt-sato", "no.such"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	expect_code(h_callorder_env(dr, "pt-sato", "DR.TANAKA"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	expect_code(h_callorder_env(dr, "pt-sato", "dr.tanaka,dr.outsider"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	expect_code(h_callorder_env(dr, "pt-sato", "dr.tanaka,ph.watanabe"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	expect_code(h_callorder_env(dr, "pt-yamada", "dr.tanaka,family.yamada"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	expect_code(h_callorder_env(dr, "pt-sato", "dr.tanaka,dr.tanaka"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	expect_code(h_callorder_env(dr, "pt-sato", "dr.tanaka+ns.kobayashi,ns.kobayashi"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	expect_code(h_callorder_env(dr, "pt-sato", "a1,a2,a3,a4,a5,a6,a7,a8,a9"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	expect_code(h_callorder_env(dr, "pt-sato", "a1+a2+a3+a4+a5+a6+a7+a8+a9"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT, "slots");
	r = h_callorder_env(dr, "pt-sato", "dr.tanaka,no.such");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_non_null(strstr(r->error->message, "slot 2"));
	h_env_free(r);
	/* Nothing changed by any of it: the demo ward's order stands. */
	assert_int_equal(call_slots(dr, "pt-sato"), 2);

	/* A good one: two slots, the second shared. */
	r = h_callorder_env(dr, "pt-sato", "dr.tanaka,ns.kobayashi+pt.ito");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SET_CALL_ORDER_RESPONSE);
	assert_int_equal(r->set_call_order_response->n_call_order, 2);
	assert_int_equal(r->set_call_order_response->call_order[1]->n_members, 2);
	h_env_free(r);
	r = h_get_patient_env(ns, "pt-sato");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE);
	gp = r->get_patient_response;
	assert_int_equal(gp->n_call_order, 2);
	assert_int_equal(gp->call_order[0]->slot, 1);
	assert_string_equal(gp->call_order[0]->members[0]->login, "dr.tanaka");
	assert_string_equal(gp->call_order[1]->members[1]->login, "pt.ito");
	for (size_t i = 0; i < gp->n_sheet; i++) {
		const char *l = gp->sheet[i]->user->login;
		uint32_t want = strcmp(l, "dr.tanaka") == 0      ? 1
		                : strcmp(l, "ns.kobayashi") == 0 ? 2
		                : strcmp(l, "pt.ito") == 0       ? 2
		                                                 : 0;
		assert_int_equal(gp->sheet[i]->call_slot, want);
	}
	h_env_free(r);
	/* Cleared again (the escalation test sets its own). */
	r = h_callorder_env(dr, "pt-sato", "");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SET_CALL_ORDER_RESPONSE);
	h_env_free(r);
	assert_int_equal(call_slots(dr, "pt-sato"), 0);
	assert_true(audit_count("action = 'callorder.set' AND outcome != 0") >= 10);
	rkc_close(dr);
	rkc_close(ns);
	rkc_close(out);
}

static int
lists(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope r = RENKEI__V1__ENVELOPE__INIT, *a;
	Renkei__V1__ListPatientsRequest m = RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	int seen = 0;

	r.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST;
	r.list_patients_request = &m;
	a = h_call(c, &r);
	h_assert_body(a, RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_RESPONSE);
	for (size_t i = 0; i < a->list_patients_response->n_patients; i++)
		seen |= strcmp(a->list_patients_response->patients[i]->code, patient) == 0;
	h_env_free(a);
	return seen;
}

static void
test_shift(void **state)
{
	struct rkc *mori = h_connect_login(srv, "ns.mori", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	static const char *const yamada[] = {"pt-yamada"};
	Renkei__V1__Envelope *r, *ev;
	char where[256];
	int64_t start, end;
	uint64_t id;
	int found = 0;

	(void)state;
	assert_non_null(mori);
	assert_non_null(ns);
	assert_non_null(dr);
	/* Before: nothing, as for a patient that does not exist. */
	same_bytes(h_timeline_env(mori, "pt-yamada"),
	           h_timeline_env(mori, "pt-no-such"));
	assert_false(lists(mori, "pt-yamada"));

	/* Her station's nurse puts her on duty, from a moment ago. */
	start = h_now_ms() - 1000;
	r = h_oncall_set_env(ns, VN, "ns.mori", start, start + 1000 + SHIFT_MS, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_RESPONSE);
	id = r->on_call_set_response->entry->id;
	end = r->on_call_set_response->entry->end_at_ms;
	h_env_free(r);

	/* During the shift: the board of a patient with a member of her
	 * station on the sheet, as a nurse member would see it. */
	r = h_timeline_env(mori, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	assert_true(r->timeline_response->n_posts > 0);
	h_env_free(r);
	assert_true(lists(mori, "pt-yamada"));
	assert_true(lists(mori, "pt-sato"));
	assert_false(lists(mori, "pt-suzuki"));
	expect_code(h_timeline_env(mori, "pt-suzuki"),
	            RENKEI__V1__CODE__PERMISSION_DENIED, "patient");
	r = h_get_patient_env(mori, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE);
	for (size_t i = 0; i < r->get_patient_response->n_on_call; i++)
		found |= r->get_patient_response->on_call[i]->id == id;
	assert_true(found);
	h_env_free(r);
	r = h_post_env(mori, "pt-yamada", "oncall-visit",
	               RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL,
	               "夜間オンコール：電話で状態確認、呼吸苦なし");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	/* She does not change the sheet or the call order. */
	expect_code(h_callorder_env(mori, "pt-yamada", "dr.tanaka"),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	expect_code(h_sheet_end_env(mori, "pt-yamada", "ns.kobayashi", "no"),
	            RENKEI__V1__CODE__PERMISSION_DENIED, NULL);
	/* A sync of every board I may read includes it. */
	r = h_sync_env(mori, NULL, 0, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	found = 0;
	for (size_t i = 0; i < r->sync_response->n_patients; i++)
		found |= strcmp(r->sync_response->patients[i], "pt-yamada") == 0;
	assert_true(found);
	h_env_free(r);
	/* Live while it lasts. */
	r = h_sync_env(mori, yamada, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	r = h_post_env(dr, "pt-yamada", "oncall-live-1",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	               "主治医：本日の往診で変化なし");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	ev = h_next_post_event(mori, H_TIMEOUT_MS);
	assert_non_null(ev);
	h_env_free(ev);

	/* One second after the shift ends: refused, as for no patient. */
	h_sleep_ms((int)(end - h_now_ms()) + 1000);
	same_bytes(h_timeline_env(mori, "pt-yamada"),
	           h_timeline_env(mori, "pt-no-such"));
	expect_code(h_post_env(mori, "pt-yamada", "oncall-late",
	                       RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL, "遅れて"),
	            RENKEI__V1__CODE__PERMISSION_DENIED, "patient");
	assert_false(lists(mori, "pt-yamada"));
	r = h_post_env(dr, "pt-yamada", "oncall-live-2",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	               "主治医：夜間の連絡先を確認");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	assert_null(h_next_post_event(mori, 1000));

	/* Both sides are in the trail, each naming the rota entry. */
	snprintf(where, sizeof(where),
	         "action = 'oncall' AND actor_login = 'ns.mori' AND object = '%llu' "
	         "AND patient = 'pt-yamada' AND outcome = 0",
	         (unsigned long long)id);
	assert_true(audit_count(where) >= 3); /* read, sheet, post, sync */
	snprintf(where, sizeof(where),
	         "action = 'oncall' AND actor_login = 'ns.mori' AND object = '%llu' "
	         "AND patient = 'pt-yamada' AND outcome != 0",
	         (unsigned long long)id);
	assert_true(audit_count(where) >= 2); /* the read and the post after */
	assert_true(audit_count("action = 'board.read' AND actor_login = 'ns.mori' "
	                        "AND patient = 'pt-yamada' AND outcome != 0") >= 2);
	rkc_close(mori);
	rkc_close(ns);
	rkc_close(dr);
}

/* A running shift removed ends now: reads, and live delivery on the
 * connections already watching. */
static void
test_removed_shift(void **state)
{
	struct rkc *mori = h_connect_login(srv, "ns.mori", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	static const char *const yamada[] = {"pt-yamada"};
	Renkei__V1__Envelope *r, *ev;
	int64_t now = h_now_ms();
	uint64_t id;

	(void)state;
	assert_non_null(mori);
	assert_non_null(ns);
	assert_non_null(dr);
	r = h_oncall_set_env(ns, VN, "ns.mori", now - 1000, now + 3600 * 1000, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_RESPONSE);
	id = r->on_call_set_response->entry->id;
	h_env_free(r);
	r = h_sync_env(mori, yamada, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	r = h_post_env(dr, "pt-yamada", "oncall-rm-1",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, "主治医：確認");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	ev = h_next_post_event(mori, H_TIMEOUT_MS);
	assert_non_null(ev);
	h_env_free(ev);

	r = h_oncall_set_env(ns, VN, NULL, 0, 0, id);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_RESPONSE);
	assert_true(r->on_call_set_response->entry->end_at_ms <= h_now_ms());
	h_env_free(r);
	r = h_post_env(dr, "pt-yamada", "oncall-rm-2",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, "主治医：再確認");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	assert_null(h_next_post_event(mori, 1000));
	same_bytes(h_timeline_env(mori, "pt-yamada"),
	           h_timeline_env(mori, "pt-no-such"));
	rkc_close(mori);
	rkc_close(ns);
	rkc_close(dr);
}

/* The station's last member leaves the sheet: its on-call nurse loses the
 * board at once, live delivery included. (Last: it changes pt-yamada.) */
static void
test_station_leaves_the_sheet(void **state)
{
	struct rkc *mori = h_connect_login(srv, "ns.mori", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	static const char *const yamada[] = {"pt-yamada"};
	Renkei__V1__Envelope *r;
	int64_t now = h_now_ms();

	(void)state;
	assert_non_null(mori);
	assert_non_null(ns);
	assert_non_null(dr);
	r = h_oncall_set_env(ns, VN, "ns.mori", now - 1000, now + 3600 * 1000, 0);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_RESPONSE);
	h_env_free(r);
	r = h_sync_env(mori, yamada, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	r = h_sheet_end_env(dr, "pt-yamada", "ns.kobayashi", "担当交代");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE);
	h_env_free(r);
	r = h_post_env(dr, "pt-yamada", "oncall-left-1",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, "主治医：訪問看護交代");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	assert_null(h_next_post_event(mori, 1000));
	same_bytes(h_timeline_env(mori, "pt-yamada"),
	           h_timeline_env(mori, "pt-no-such"));
	assert_true(lists(mori, "pt-sato")); /* still her station's there */
	rkc_close(mori);
	rkc_close(ns);
	rkc_close(dr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rota_refusals),
	    cmocka_unit_test(test_callorder_refusals),
	    cmocka_unit_test(test_shift),
	    cmocka_unit_test(test_removed_shift),
	    cmocka_unit_test(test_station_leaves_the_sheet),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
