/*
 * Live delivery follows the liaison sheet: "a member removed while
 * watching a board receives no further event of it" — proved with posts
 * made after the removal, while another member watching the same board
 * receives them (so the wait was long enough). Ending a member and
 * moving their last valid day into the past both count as removal; the
 * sheet's history records who did it and when.
 *
 * Demo ward, board pt-sato: dr.tanaka is the primary physician (he edits
 * the sheet and posts), cm.nakamura and pt.ito watch, ns.kobayashi and
 * cw.yamamoto are the members removed (each stays on another board, so
 * their sessions go on). A member left on no sheet at all loses their
 * sessions: family.yamada, on pt-yamada only.
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

#define QUIET_MS 1200 /* how long a removed member must stay silent */

static struct h_server *srv;
static const char *const sato[] = {"pt-sato"};

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

/* Connect, log in and watch `patients` live (n = 0: all my boards). */
static struct rkc *
watcher(const char *login, const char *const *patients, size_t n)
{
	struct rkc *c = h_connect_login(srv, login, NULL);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_sync_env(c, patients, n, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	return c;
}

static uint64_t
post_ok(struct rkc *c, const char *patient, const char *cid)
{
	Renkei__V1__Envelope *r = h_post_env(
	    c, patient, cid, RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	    "退院後の経過：食事量やや低下");
	uint64_t id;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = r->post_response->post->id;
	h_env_free(r);
	return id;
}

/* The next PostEvent must be post `id`. */
static void
expect_event(struct rkc *c, uint64_t id)
{
	Renkei__V1__Envelope *e = h_next_post_event(c, H_TIMEOUT_MS);

	assert_non_null(e);
	assert_int_equal(e->event->post->post->id, id);
	h_env_free(e);
}

/* Nothing at all may arrive for QUIET_MS. */
static void
expect_silence(struct rkc *c)
{
	Renkei__V1__Envelope *e = h_next_post_event(c, QUIET_MS);

	if (e != NULL)
		fprintf(stderr, "a removed member received post %llu on %s\n",
		        (unsigned long long)e->event->post->post->id,
		        e->event->post->post->patient);
	assert_null(e);
}

/* The member can neither read, watch nor write the board any more. */
static void
expect_no_access(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope *r;
	const char *board[1] = {patient};

	r = h_timeline_env(c, patient);
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
	r = h_sync_env(c, board, 1, 0, 0);
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
	r = h_post_env(c, patient, "after-removal",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "削除後の投稿");
	h_assert_error(r, RENKEI__V1__CODE__PERMISSION_DENIED);
	h_env_free(r);
}

/* The sheet history's last change of `member` is `action` by dr.tanaka
 * at a time in [t0, t1]. */
static void
expect_history(struct rkc *d, const char *member, const char *action,
               int64_t t0, int64_t t1, const char *detail_part)
{
	Renkei__V1__Envelope *r = h_sheet_history_env(d, "pt-sato");
	Renkei__V1__SheetChange *last = NULL;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_RESPONSE);
	for (size_t i = 0; i < r->sheet_history_response->n_changes; i++) {
		Renkei__V1__SheetChange *ch =
		    r->sheet_history_response->changes[i];
		if (ch->member != NULL &&
		    strcmp(ch->member->login, member) == 0)
			last = ch;
	}
	assert_non_null(last);
	assert_string_equal(last->action, action);
	assert_non_null(last->by);
	assert_string_equal(last->by->login, "dr.tanaka");
	assert_in_range(last->at_ms, t0, t1);
	if (detail_part != NULL && strstr(last->detail, detail_part) == NULL)
		fail_msg("history detail \"%s\" lacks \"%s\"", last->detail,
		         detail_part);
	h_env_free(r);
}

/* ------------------------------------------------------------- tests */

static void
test_ended_member_receives_nothing_more(void **state)
{
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	/* M watches the board by name on one connection and "all my boards"
	 * on another; W is a member who stays. */
	struct rkc *m = watcher("ns.kobayashi", sato, 1);
	struct rkc *m_all = watcher("ns.kobayashi", NULL, 0);
	struct rkc *w = watcher("cm.nakamura", sato, 1);
	Renkei__V1__Envelope *r;
	uint64_t before, after[3], other;
	int64_t t0, t1;
	int found = 0;
	char today[11];

	(void)state;
	assert_non_null(d);
	/* Live before the removal: all three receive it. */
	before = post_ok(d, "pt-sato", "sl-before");
	expect_event(m, before);
	expect_event(m_all, before);
	expect_event(w, before);

	t0 = h_now_ms();
	r = h_sheet_end_env(d, "pt-sato", "ns.kobayashi",
	                    "担当ステーション変更");
	t1 = h_now_ms();
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE);
	h_jst_date(0, today);
	for (size_t i = 0; i < r->sheet_response->n_sheet; i++) {
		Renkei__V1__SheetMember *sm = r->sheet_response->sheet[i];
		if (strcmp(sm->user->login, "ns.kobayashi") != 0)
			continue;
		/* Ended now: today was the last day of the place. */
		assert_string_equal(sm->valid_until, today);
		found = 1;
	}
	assert_true(found);
	h_env_free(r);

	for (int i = 0; i < 3; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "sl-after-%d", i);
		after[i] = post_ok(d, "pt-sato", cid);
	}
	for (int i = 0; i < 3; i++)
		expect_event(w, after[i]);
	expect_silence(m);
	/* The connection watching all boards is still live for the boards
	 * M is still on (pt-yamada), and still silent about pt-sato. */
	other = post_ok(d, "pt-yamada", "sl-other");
	expect_event(m_all, other);
	expect_silence(m_all);

	expect_no_access(m, "pt-sato");
	expect_history(d, "ns.kobayashi", "end", t0, t1,
	               "担当ステーション変更");
	rkc_close(m);
	rkc_close(m_all);
	rkc_close(w);
	rkc_close(d);
}

static void
test_validity_moved_to_yesterday_stops_too(void **state)
{
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *p = watcher("cw.yamamoto", sato, 1);
	struct rkc *w = watcher("pt.ito", sato, 1);
	Renkei__V1__Envelope *r;
	char yesterday[11], detail[40];
	uint64_t before, after[3];
	int64_t t0, t1;

	(void)state;
	assert_non_null(d);
	before = post_ok(d, "pt-sato", "sv-before");
	expect_event(p, before);
	expect_event(w, before);

	h_jst_date(-1, yesterday);
	t0 = h_now_ms();
	r = h_sheet_until_env(d, "pt-sato", "cw.yamamoto", yesterday);
	t1 = h_now_ms();
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE);
	h_env_free(r);

	for (int i = 0; i < 3; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "sv-after-%d", i);
		after[i] = post_ok(d, "pt-sato", cid);
	}
	for (int i = 0; i < 3; i++)
		expect_event(w, after[i]);
	expect_silence(p);
	expect_no_access(p, "pt-sato");
	snprintf(detail, sizeof(detail), "until=%s", yesterday);
	expect_history(d, "cw.yamamoto", "change", t0, t1, detail);
	rkc_close(p);
	rkc_close(w);
	rkc_close(d);
}

/* Ending someone's last place on any sheet ends their sessions: the
 * family member's only board is pt-yamada; her watching connection is
 * closed with 4001 within a second, nothing posted after reaches it, and
 * her token no longer resumes. (ns.kobayashi, ended on pt-sato above, is
 * still on pt-yamada: her connections stayed open.) */
static void
test_last_place_ended_closes_the_session(void **state)
{
	static const char *const yamada[] = {"pt-yamada"};
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *f = watcher("family.yamada", yamada, 1);
	Renkei__V1__Envelope *r;
	uint64_t after;
	int64_t t0, dt;
	int code, ended, leaked;

	(void)state;
	assert_non_null(d);
	t0 = h_mono_ms();
	r = h_sheet_end_env(d, "pt-yamada", "family.yamada", "ご家族の希望により");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE);
	h_env_free(r);
	r = h_post_env(d, "pt-yamada", "sl-family-after",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "本日の訪問：変化なし");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	after = r->post_response->post->id;
	h_env_free(r);

	code = h_until_closed(f, 3000, after, &ended, &leaked, NULL, 0);
	dt = h_mono_ms() - t0;
	print_message("last place ended: closed with %d after %lld ms\n", code,
	              (long long)dt);
	assert_int_equal(code, 4001);
	assert_true(ended);
	assert_false(leaked);
	assert_true(dt <= 1000);
	rkc_close(f);
	rkc_close(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ended_member_receives_nothing_more),
	    cmocka_unit_test(test_validity_moved_to_yesterday_stops_too),
	    cmocka_unit_test(test_last_place_ended_closes_the_session),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
