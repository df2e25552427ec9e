/*
 * Unit tests: posts' client ids (care/post.c) where a post is written on
 * the way of another request, over a real store: the discharge summary
 * of a hand-off (handoff.c) and the break-glass notice (sheet.c).
 * (author, client_id) is unique in the table; a post written with an id
 * its author already used must be refused clearly, never reach the
 * UNIQUE index and come back as a database error that no retry cures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit_store.h"

#include "auth/auth.h"
#include "care/care.h"
#include "care/internal.h"
#include "util/err.h"
#include "util/text.h"

struct fx {
	char dir[64], care[96], audit[96];
	struct store_config cfg;
	struct store_conn *sc;
	struct policy_actor msw, nurse;
	int64_t now;
};

static struct policy_actor
actor(struct store_conn *sc, const char *login)
{
	struct auth_user u;

	assert_int_equal(auth_user_load(sc, login, 0, &u), RK_OK);
	return (struct policy_actor){.user_id = u.id, .profession = u.profession};
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct care_patient_input a = {.code = "pt-a", .name = "山田 太郎"};
	struct care_patient_input b = {.code = "pt-b", .name = "佐藤 健一"};
	struct rk_status st = {0};
	char hash[160], err[256];
	int64_t pid;

	unit_tmpdir(f->dir, "care-post");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	f->now = rk_now_ms();
	assert_int_equal(auth_password_hash("pw", 1, 8, hash, sizeof(hash)), RK_OK);
	assert_int_equal(auth_org_add(f->sc, "org-hosp", "練馬総合病院", "hospital", "", &st),
	                 RK_OK);
	assert_int_equal(auth_org_add(f->sc, "org-vn", "訪問看護ステーション", "visiting_nurse",
	                              "", &st),
	                 RK_OK);
	assert_int_equal(auth_user_add(f->sc, "msw.a", "吉田 恵", PROF_MSW, "org-hosp", hash, &st),
	                 RK_OK);
	assert_int_equal(auth_user_add(f->sc, "ns.a", "小林 由美", PROF_NURSE, "org-vn", hash, &st),
	                 RK_OK);
	assert_int_equal(care_patient_add(f->sc, &a, f->now, &pid, &st), RK_OK);
	assert_int_equal(care_sheet_add(f->sc, pid, "ns.a", "訪問看護", false, 0, 0, 0, f->now,
	                                &st),
	                 RK_OK);
	assert_int_equal(care_patient_add(f->sc, &b, f->now, &pid, &st), RK_OK);
	f->msw = actor(f->sc, "msw.a");
	f->nurse = actor(f->sc, "ns.a");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_conn_close(f->sc);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static int
open_new_board(struct fx *f, const char *code, const char *client_id,
               struct rk_status *st)
{
	struct care_new_patient np = {.present = true, .in = {.name = "木村 和子"}};
	struct care_handoff h;
	struct care_post post;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = care_handoff_open(f->sc, &f->msw, code, &np, "2026-12-20",
	                       "術後リハビリ中。退院後は訪問リハ希望。", client_id, f->now, &h,
	                       &post, st);
	if (rc == RK_OK)
		care_post_fini(&post);
	return rc;
}

/* Found by fuzz_envelope: the hand-off's summary post skipped the client
 * id check, so a hand-off whose summary reused an id the author had used
 * on that board failed in the UNIQUE index: INTERNAL ("could not store
 * the post; try again"), with the hand-off half made until the savepoint
 * rolled it back. Client ids are per (author, board): on another board
 * the same id is simply another post. */
static void
test_handoff_summary_reused_client_id(void **state)
{
	struct fx *f = *state;
	struct rk_status st;

	struct care_post_input in = {.client_id = "4d3c2b1a-0001", .kind = KIND_GENERAL,
	                             .visibility = VIS_PROFESSIONAL, .text = "面談予定"};
	struct care_post p;
	int64_t pid;
	bool dup;

	/* The hospital's MSW is on pt-e's sheet and has posted there. */
	struct care_patient_input e = {.code = "pt-e", .name = "北村 一郎"};
	memset(&st, 0, sizeof(st));
	assert_int_equal(care_patient_add(f->sc, &e, f->now, &pid, &st), RK_OK);
	assert_int_equal(care_sheet_add(f->sc, pid, "msw.a", "医療連携室", false, 0, 0,
	                                0, f->now, &st),
	                 RK_OK);
	assert_int_equal(care_post_create(f->sc, &f->msw, "pt-e", &in, f->now, &p,
	                                  &dup, &st),
	                 RK_OK);
	care_post_fini(&p);
	/* A hand-off whose summary reuses that id on that board: refused
	 * before anything is written; with a new id it opens. */
	assert_int_equal(open_new_board(f, "pt-e", "4d3c2b1a-0001", &st), RK_ERR_EXISTS);
	assert_string_equal(st.field, "client_id");
	assert_int_equal(open_new_board(f, "pt-e", "4d3c2b1a-0002", &st), RK_OK);
	/* Another board: the same id is simply another post. */
	assert_int_equal(open_new_board(f, "pt-d", "4d3c2b1a-0001", &st), RK_OK);
	store_conn_release(f->sc);
}

/* Found reading the same path: the break-glass notice's client id was
 * "breakglass-N", which a client may send too; had the user used it on
 * a post of their own, their emergency access failed in the index. */
static void
test_breakglass_client_id_cannot_collide(void **state)
{
	struct fx *f = *state;
	struct care_post_input in = {.client_id = "breakglass-1", .kind = KIND_GENERAL,
	                             .visibility = VIS_PROFESSIONAL, .text = "訪問しました。"};
	struct care_post post;
	struct rk_status st = {0};
	int64_t expires;
	bool dup;

	assert_int_equal(care_post_input_check(&in, &st), RK_OK);
	assert_int_equal(care_post_create(f->sc, &f->nurse, "pt-a", &in, f->now, &post, &dup, &st),
	                 RK_OK);
	care_post_fini(&post);
	memset(&st, 0, sizeof(st));
	assert_int_equal(care_breakglass(f->sc, &f->nurse, "pt-b",
	                                 "救急搬送、服薬歴の確認のため", f->now, 3600000,
	                                 &expires, &post, &st),
	                 RK_OK);
	assert_int_equal(post.kind, KIND_BREAK_GLASS);
	assert_false(care_client_id_valid(post.client_id)); /* never a client's */
	care_post_fini(&post);
	store_conn_release(f->sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handoff_summary_reused_client_id, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_breakglass_client_id_cannot_collide, setup,
		                                teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
