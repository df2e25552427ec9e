/*
 * Break-glass against the real server: a physician on no sheet
 * (dr.outsider) opens pt-sato's board in an emergency with a written
 * reason. The grant is read-only, the team is told on the board (a
 * BREAK_GLASS post every member can see) and in the sheet history, and
 * it ends after breakglass_s (3 s here): reads are refused again and live
 * delivery stops. Refused: no reason or a short one (INVALID_ARGUMENT),
 * a profession that may not break the glass (PERMISSION_DENIED), a
 * member who has no need to (FAILED_PRECONDITION).
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

#define GRANT_S 3

static struct h_server *srv;
static const char *const sato[] = {"pt-sato"};
static const char *const reason =
    "夜間救急搬送。意識レベル低下、既往歴と服薬内容の確認が必要";

static int
group_setup(void **state)
{
	const char *args[] = {"--breakglass-s", "3", NULL};

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

static void
expect_code(Renkei__V1__Envelope *r, Renkei__V1__Code code)
{
	h_assert_error(r, code);
	h_env_free(r);
}

static void
test_refusals(void **state)
{
	struct rkc *o = h_connect_login(srv, "dr.outsider", NULL);
	struct rkc *cw = h_connect_login(srv, "cw.yamamoto", NULL);
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);

	(void)state;
	assert_non_null(o);
	assert_non_null(cw);
	assert_non_null(ns);
	expect_code(h_timeline_env(o, "pt-sato"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	/* A reason is required, and at least 10 characters of it (not
	 * bytes: 9 kanji are 27 bytes and still too short). */
	expect_code(h_breakglass_env(o, "pt-sato", ""),
	            RENKEI__V1__CODE__INVALID_ARGUMENT);
	expect_code(h_breakglass_env(o, "pt-sato", "急変のため"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT);
	expect_code(h_breakglass_env(o, "pt-sato", "救急搬送で既往歴確"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT);
	/* Spaces are not a reason: ten ASCII spaces, nine kanji padded
	 * with ideographic spaces, tabs and newlines. */
	expect_code(h_breakglass_env(o, "pt-sato", "          "),
	            RENKEI__V1__CODE__INVALID_ARGUMENT);
	expect_code(h_breakglass_env(o, "pt-sato", "救急搬送で既往歴確\u3000\u3000"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT);
	expect_code(h_breakglass_env(o, "pt-sato", "急変 \t\n\r 急変 \u00a0 急変"),
	            RENKEI__V1__CODE__INVALID_ARGUMENT);
	/* A care worker never breaks the glass (cw.yamamoto is not on
	 * pt-yamada's sheet). */
	expect_code(h_breakglass_env(cw, "pt-yamada", reason),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	/* A member has access already. */
	expect_code(h_breakglass_env(ns, "pt-sato", reason),
	            RENKEI__V1__CODE__FAILED_PRECONDITION);
	/* None of that opened anything. */
	expect_code(h_timeline_env(o, "pt-sato"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	rkc_close(o);
	rkc_close(cw);
	rkc_close(ns);
}

static void
test_grant_is_read_only_announced_and_expires(void **state)
{
	struct rkc *o = h_connect_login(srv, "dr.outsider", NULL);
	struct rkc *w = h_connect_login(srv, "cm.nakamura", NULL);
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Envelope *r, *ev;
	Renkei__V1__Post *p;
	int64_t t0, t1, expires;
	uint64_t bg_post;
	int seen = 0;

	(void)state;
	assert_non_null(o);
	assert_non_null(w);
	assert_non_null(d);
	r = h_sync_env(w, sato, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);

	t0 = h_now_ms();
	r = h_breakglass_env(o, "pt-sato", reason);
	t1 = h_now_ms();
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_RESPONSE);
	expires = r->break_glass_response->expires_at_ms;
	assert_in_range(expires, t0 + GRANT_S * 1000 - 100,
	                t1 + GRANT_S * 1000 + 100);
	h_env_free(r);

	/* The team is told, on the board, in a post every member sees. */
	ev = h_next_post_event(w, H_TIMEOUT_MS);
	assert_non_null(ev);
	p = ev->event->post->post;
	assert_int_equal(p->kind, RENKEI__V1__POST_KIND__BREAK_GLASS);
	assert_string_equal(p->author->login, "dr.outsider");
	assert_int_equal(p->visibility, RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
	assert_non_null(strstr(p->text, reason));
	bg_post = p->id;
	h_env_free(ev);

	/* Read-only: the board (and the announcement) yes, posting no. */
	r = h_timeline_env(o, "pt-sato");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	for (size_t i = 0; i < r->timeline_response->n_posts; i++)
		seen |= r->timeline_response->posts[i]->id == bg_post;
	assert_true(seen);
	h_env_free(r);
	expect_code(h_post_env(o, "pt-sato", "bg-post",
	                       RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	                       "救急外来より"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);

	/* Loudly audited on the sheet's history too. */
	r = h_sheet_history_env(d, "pt-sato");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_RESPONSE);
	seen = 0;
	for (size_t i = 0; i < r->sheet_history_response->n_changes; i++) {
		Renkei__V1__SheetChange *ch =
		    r->sheet_history_response->changes[i];
		seen |= strcmp(ch->action, "breakglass") == 0 &&
		        ch->by != NULL &&
		        strcmp(ch->by->login, "dr.outsider") == 0 &&
		        ch->at_ms >= t0 && ch->at_ms <= t1;
	}
	assert_true(seen);
	h_env_free(r);

	/* While it lasts the outsider may watch the board live... */
	r = h_sync_env(o, sato, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);

	/* ...and when it ends, reads and live delivery end with it. */
	h_sleep_ms((int)(expires - h_now_ms()) + 500);
	expect_code(h_timeline_env(o, "pt-sato"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	r = h_post_env(d, "pt-sato", "after-bg",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	               "主治医より：状態は落ち着いています");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	ev = h_next_post_event(w, H_TIMEOUT_MS); /* the team still hears */
	assert_non_null(ev);
	h_env_free(ev);
	ev = h_next_post_event(o, 1000);
	assert_null(ev);
	rkc_close(o);
	rkc_close(w);
	rkc_close(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_grant_is_read_only_announced_and_expires),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
