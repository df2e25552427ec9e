/*
 * Discharge hand-off (退院連携) against the real server, on the demo's
 * terminal-cancer patient pt-yamada: the hospital MSW (msw.yoshida) opens
 * the hand-off with a discharge summary, proposes the home team, records
 * the discharge conference, and the home primary physician (dr.tanaka)
 * accepts. Afterwards the hospital may read (and still receives the
 * board's posts) but not post, and after handoff_readonly_s (3 s here)
 * has no access at all, live delivery included. Steps out of order are
 * FAILED_PRECONDITION and change nothing. An MSW may also open a hand-off
 * for a patient the system does not know yet: that creates the patient
 * and the board, with the MSW on the sheet.
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

#define READONLY_S 3

static struct h_server *srv;
static const char *const yamada[] = {"pt-yamada"};

static const char *const summary =
    "退院時サマリー：膵癌終末期。疼痛はオキシコドン徐放剤で概ね制御。"
    "在宅での看取りを本人・家族とも希望。";
static const char *const conference_at = "2026-11-21T14:00:00+09:00";

static int
group_setup(void **state)
{
	const char *args[] = {"--handoff-readonly-s", "3", NULL};

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

/* A hand-off answer in `want` state (fails the test otherwise). */
static Renkei__V1__Handoff *
handoff_in(Renkei__V1__Envelope *r, Renkei__V1__HandoffState want)
{
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE);
	assert_non_null(r->handoff_response->handoff);
	assert_int_equal(r->handoff_response->handoff->state, want);
	return r->handoff_response->handoff;
}

static void
expect_code(Renkei__V1__Envelope *r, Renkei__V1__Code code)
{
	h_assert_error(r, code);
	h_env_free(r);
}

/* The hand-off's state as the primary physician reads it. */
static Renkei__V1__HandoffState
state_of(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope *r = h_handoff_get_env(c, patient);
	Renkei__V1__HandoffState s;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE);
	s = r->handoff_response->handoff->state;
	h_env_free(r);
	return s;
}

/* The board holds a HANDOFF post by msw.yoshida with this text. */
static void
expect_summary_post(struct rkc *c, const char *patient, const char *text)
{
	Renkei__V1__Envelope *r = h_timeline_env(c, patient);
	int found = 0;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	for (size_t i = 0; i < r->timeline_response->n_posts; i++) {
		Renkei__V1__Post *p = r->timeline_response->posts[i];
		found |= p->kind == RENKEI__V1__POST_KIND__HANDOFF &&
		         strcmp(p->author->login, "msw.yoshida") == 0 &&
		         strcmp(p->text, text) == 0;
	}
	assert_true(found);
	h_env_free(r);
}

/* The home team posts on pt-yamada: the post's id. */
static uint64_t
post_clinical(struct rkc *c, const char *cid)
{
	Renkei__V1__Envelope *r = h_post_env(
	    c, "pt-yamada", cid, RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL,
	    "在宅訪問。疼痛コントロール良好。");
	uint64_t id;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = r->post_response->post->id;
	h_env_free(r);
	return id;
}

static void
test_yamada_handoff_to_home_team(void **state)
{
	static const Renkei__V1__ProposedMember team[] = {
	    {PROTOBUF_C_MESSAGE_INIT(&renkei__v1__proposed_member__descriptor),
	     "dr.tanaka", "主治医（在宅）", 1},
	    {PROTOBUF_C_MESSAGE_INIT(&renkei__v1__proposed_member__descriptor),
	     "ns.kobayashi", "訪問看護", 0},
	    {PROTOBUF_C_MESSAGE_INIT(&renkei__v1__proposed_member__descriptor),
	     "cm.nakamura", "担当ケアマネジャー", 0},
	};
	struct rkc *y = h_connect_login(srv, "msw.yoshida", NULL);
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Envelope *r, *ev;
	Renkei__V1__Handoff *h;
	char discharge[11];
	int64_t t0, until;
	uint64_t home;
	int checked = 0;

	(void)state;
	assert_non_null(y);
	assert_non_null(d);
	h_jst_date(3, discharge);
	assert_int_equal(state_of(d, "pt-yamada"),
	                 RENKEI__V1__HANDOFF_STATE__HANDOFF_NONE);

	/* Out of order before anything: nothing to propose or accept. */
	expect_code(h_handoff_propose_env(y, "pt-yamada", team, 3),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);
	expect_code(h_handoff_accept_env(d, "pt-yamada"),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);

	r = h_handoff_open_env(y, "pt-yamada", NULL, discharge, summary,
	                       "ho-yamada-1");
	h = handoff_in(r, RENKEI__V1__HANDOFF_STATE__HANDOFF_OPEN);
	assert_non_null(h->opened_by);
	assert_string_equal(h->opened_by->login, "msw.yoshida");
	assert_string_equal(h->discharge_date, discharge);
	assert_string_equal(h->from_org, "org-hosp-nerima");
	h_env_free(r);
	expect_summary_post(d, "pt-yamada", summary);

	/* Opening twice, the conference before the proposal, accepting
	 * before the conference: all refused, the state unchanged. */
	expect_code(h_handoff_open_env(y, "pt-yamada", NULL, discharge, summary,
	                               "ho-yamada-2"),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);
	expect_code(h_handoff_conference_env(y, "pt-yamada", conference_at),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);
	expect_code(h_handoff_accept_env(d, "pt-yamada"),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);
	assert_int_equal(state_of(d, "pt-yamada"),
	                 RENKEI__V1__HANDOFF_STATE__HANDOFF_OPEN);

	r = h_handoff_propose_env(y, "pt-yamada", team, 3);
	handoff_in(r, RENKEI__V1__HANDOFF_STATE__HANDOFF_PROPOSED);
	h_env_free(r);
	expect_code(h_handoff_accept_env(d, "pt-yamada"),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);
	/* The proposal is on the sheet: dr.tanaka primary, with his role. */
	r = h_get_patient_env(d, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE);
	for (size_t i = 0; i < r->get_patient_response->n_sheet; i++) {
		Renkei__V1__SheetMember *m = r->get_patient_response->sheet[i];
		if (strcmp(m->user->login, "dr.tanaka") == 0) {
			assert_true(m->primary);
			assert_string_equal(m->team_role, "主治医（在宅）");
			checked++;
		}
	}
	assert_int_equal(checked, 1);
	h_env_free(r);

	r = h_handoff_conference_env(y, "pt-yamada", conference_at);
	h = handoff_in(r, RENKEI__V1__HANDOFF_STATE__HANDOFF_CONFERENCE_SET);
	assert_string_equal(h->conference_at, conference_at);
	h_env_free(r);
	/* Only the home side accepts: not the MSW. */
	expect_code(h_handoff_accept_env(y, "pt-yamada"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);

	/* The hospital watches the board live through the acceptance. */
	r = h_sync_env(y, yamada, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);

	t0 = h_now_ms();
	r = h_handoff_accept_env(d, "pt-yamada");
	h = handoff_in(r, RENKEI__V1__HANDOFF_STATE__HANDOFF_ACCEPTED);
	assert_non_null(h->accepted_by);
	assert_string_equal(h->accepted_by->login, "dr.tanaka");
	assert_in_range(h->hospital_until_ms, t0 + READONLY_S * 1000 - 100,
	                h_now_ms() + READONLY_S * 1000 + 100);
	until = h->hospital_until_ms;
	h_env_free(r);
	expect_code(h_handoff_accept_env(d, "pt-yamada"),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);

	/* The hospital reads, does not write; the home team writes. */
	r = h_timeline_env(y, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	h_env_free(r);
	expect_code(h_post_env(y, "pt-yamada", "ho-after-accept",
	                       RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL,
	                       "退院後の追記"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	home = post_clinical(d, "home-after-accept");
	ev = h_next_post_event(y, H_TIMEOUT_MS); /* reading still goes on */
	assert_non_null(ev);
	assert_int_equal(ev->event->post->post->id, home);
	h_env_free(ev);
	r = h_get_patient_env(d, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE);
	checked = 0;
	for (size_t i = 0; i < r->get_patient_response->n_sheet; i++) {
		Renkei__V1__SheetMember *m = r->get_patient_response->sheet[i];
		if (strcmp(m->user->login, "msw.yoshida") == 0) {
			assert_true(m->read_only);
			checked++;
		}
	}
	assert_int_equal(checked, 1);
	h_env_free(r);

	/* After handoff_readonly_s the hospital has no access at all. */
	h_sleep_ms((int)(until - h_now_ms()) + 500);
	expect_code(h_timeline_env(y, "pt-yamada"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	post_clinical(d, "home-after-readonly");
	ev = h_next_post_event(y, 1000); /* nor live delivery */
	assert_null(ev);
	rkc_close(y);
	rkc_close(d);
}

static void
test_open_for_a_new_patient(void **state)
{
	struct rkc *y = h_connect_login(srv, "msw.yoshida", NULL);
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Patient np = RENKEI__V1__PATIENT__INIT;
	Renkei__V1__Envelope *r;
	const char *text =
	    "退院時サマリー：大腿骨頸部骨折術後。歩行器で屋内自立。";
	char discharge[11];
	int on_sheet = 0;

	(void)state;
	assert_non_null(y);
	assert_non_null(d);
	h_jst_date(5, discharge);
	np.name = "木村 花子";
	np.kana = "キムラ ハナコ";
	np.birth_date = "1938-04-02";
	np.sex = "F";
	np.area = "練馬";

	/* Only the hospital discharge team creates a board this way. */
	expect_code(h_handoff_open_env(d, "pt-kimura", &np, discharge, text,
	                               "ho-kimura-dr"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);

	r = h_handoff_open_env(y, "pt-kimura", &np, discharge, text,
	                       "ho-kimura-1");
	handoff_in(r, RENKEI__V1__HANDOFF_STATE__HANDOFF_OPEN);
	h_env_free(r);

	r = h_get_patient_env(y, "pt-kimura");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE);
	assert_string_equal(r->get_patient_response->patient->name,
	                    "木村 花子");
	assert_string_equal(r->get_patient_response->patient->birth_date,
	                    "1938-04-02");
	for (size_t i = 0; i < r->get_patient_response->n_sheet; i++)
		on_sheet +=
		    strcmp(r->get_patient_response->sheet[i]->user->login,
		           "msw.yoshida") == 0;
	assert_int_equal(on_sheet, 1);
	h_env_free(r);
	expect_summary_post(y, "pt-kimura", text);
	assert_int_equal(state_of(y, "pt-kimura"),
	                 RENKEI__V1__HANDOFF_STATE__HANDOFF_OPEN);

	/* The home team is not on the new board until it is proposed. */
	expect_code(h_timeline_env(d, "pt-kimura"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	/* The same code again is not a second new patient. */
	expect_code(h_handoff_open_env(y, "pt-kimura", &np, discharge, text,
	                               "ho-kimura-2"),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);
	rkc_close(y);
	rkc_close(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yamada_handoff_to_home_team),
	    cmocka_unit_test(test_open_for_a_new_patient),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
