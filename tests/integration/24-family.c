/*
 * Family invitations against the real server: the primary physician of
 * pt-sato (dr.tanaka) invites a family member under a new login; the
 * answer carries a one-time invitation code, once; with it the family
 * member logs in to a session that can do nothing but choose their own
 * password (FAILED_PRECONDITION, field "password"); after that they see
 * only the posts marked ALL (acknowledging one above that mark
 * is NOT_FOUND, as for a post that does not exist), may post marked ALL
 * and nothing else. A nurse may not invite; the care manager may.
 * Inviting an account that exists already hands out no code.
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
expect_code(Renkei__V1__Envelope *r, Renkei__V1__Code code)
{
	h_assert_error(r, code);
	h_env_free(r);
}

static uint64_t
post_as(struct rkc *c, const char *cid, Renkei__V1__Visibility vis,
        const char *text)
{
	Renkei__V1__Envelope *r = h_post_env(c, "pt-sato", cid, vis, text);
	uint64_t id;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = r->post_response->post->id;
	h_env_free(r);
	return id;
}

/* Invite and return the invitation code (malloc'ed; "" if none). */
static char *
invite(struct rkc *c, const char *patient, const char *login)
{
	Renkei__V1__Envelope *r =
	    h_family_invite_env(c, patient, login, "佐藤 花子", "家族（長女）");
	char *pw;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_RESPONSE);
	assert_string_equal(r->family_invite_response->login, login);
	pw = strdup(r->family_invite_response->invitation_code);
	h_env_free(r);
	return pw;
}

static void
test_invited_family_sees_and_writes_only_all(void **state)
{
	struct rkc *d = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *f;
	Renkei__V1__Envelope *r;
	char *pw;
	int n_all = 0;
	uint64_t all, prof, clin;

	(void)state;
	assert_non_null(d);
	/* Something at every mark on the board. */
	all = post_as(d, "fam-all", RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	              "ご家族へ：明日の訪問は午後2時です");
	prof = post_as(d, "fam-prof",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	               "ケア会議の日程調整");
	clin =
	    post_as(d, "fam-clin", RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL,
	            "血液検査：Alb 2.9、栄養状態に注意");

	pw = invite(d, "pt-sato", "family.sato");
	/* auth_one_time_password's shape: xxxx-xxxx-xxxx-xxxx-xxxx. */
	assert_int_equal(strlen(pw), 24);

	f = h_connect(srv);
	assert_non_null(f);
	r = h_login_env(f, "family.sato", pw, "family-phone");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_int_equal(r->login_response->user->profession,
	                 RENKEI__V1__PROFESSION__FAMILY);
	assert_int_equal(r->login_response->n_pending, 1);
	assert_int_equal(r->login_response->pending[0],
	                 RENKEI__V1__SIGN_IN_STEP__CHANGE_PASSWORD);
	h_env_free(r);
	/* Nothing before their own password. */
	r = h_timeline_env(f, "pt-sato");
	h_assert_error(r, RENKEI__V1__CODE__FAILED_PRECONDITION);
	assert_string_equal(r->error->field, "password");
	h_env_free(r);
	r = h_password_change_env(f, pw, "hanako-kaki-no-ki-2026");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_RESPONSE);
	h_env_free(r);
	r = h_whoami_env(f);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_int_equal(r->whoami_response->n_pending, 0);
	h_env_free(r);

	r = h_timeline_env(f, "pt-sato");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	for (size_t i = 0; i < r->timeline_response->n_posts; i++) {
		Renkei__V1__Post *p = r->timeline_response->posts[i];
		assert_int_equal(p->visibility,
		                 RENKEI__V1__VISIBILITY__VISIBILITY_ALL);
		n_all += strcmp(p->client_id, "fam-all") == 0;
	}
	assert_int_equal(n_all, 1);
	h_env_free(r);
	/* A post above the family's mark is, to them, not there. */
	r = h_ack_env(f, all);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_ACK_RESPONSE);
	h_env_free(r);
	expect_code(h_ack_env(f, prof), RENKEI__V1__CODE__NOT_FOUND);
	expect_code(h_ack_env(f, clin), RENKEI__V1__CODE__NOT_FOUND);

	r = h_post_env(f, "pt-sato", "from-family",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	               "父は昨夜よく眠れました");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_string_equal(r->post_response->post->author->login,
	                    "family.sato");
	h_env_free(r);
	expect_code(h_post_env(f, "pt-sato", "family-prof",
	                       RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	                       "専門職向けのつもり"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	expect_code(h_post_env(f, "pt-sato", "family-clin",
	                       RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL,
	                       "臨床向けのつもり"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	/* Only pt-sato: the family member is on no other board. */
	expect_code(h_timeline_env(f, "pt-suzuki"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);

	/* An existing account invited to another board: no new code. */
	free(pw);
	pw = invite(d, "pt-suzuki", "family.sato");
	assert_string_equal(pw, "");
	free(pw);
	r = h_timeline_env(f, "pt-suzuki");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	h_env_free(r);
	rkc_close(f);
	rkc_close(d);
}

static void
test_who_may_invite(void **state)
{
	struct rkc *ns = h_connect_login(srv, "ns.kobayashi", NULL);
	struct rkc *cm = h_connect_login(srv, "cm.nakamura", NULL);
	struct rkc *f;
	char *pw;

	(void)state;
	assert_non_null(ns);
	assert_non_null(cm);
	expect_code(h_family_invite_env(ns, "pt-sato", "family.sato2",
	                                "佐藤 一郎", "家族（長男）"),
	            RENKEI__V1__CODE__PERMISSION_DENIED);
	/* The nurse's attempt created no account. */
	f = h_connect(srv);
	assert_non_null(f);
	expect_code(h_login_env(f, "family.sato2", "no-such-pass", NULL),
	            RENKEI__V1__CODE__UNAUTHENTICATED);
	rkc_close(f);

	pw = invite(cm, "pt-sato", "family.sato2");
	assert_int_equal(strlen(pw), 24);
	free(pw);
	rkc_close(ns);
	rkc_close(cm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_invited_family_sees_and_writes_only_all),
	    cmocka_unit_test(test_who_may_invite),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
