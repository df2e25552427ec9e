/*
 * Unit tests of on-call and escalation (care/oncall.c, policy.c's
 * on-call rule): the call order's shape (pure), the policy's decisions
 * on a membership with an on-call entry (pure), and over a real store
 * the rota deciding access, the call order's checks, and an escalation
 * walking the call order down to the on-call nurse until a confirmation
 * that counts stops it.
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
#include "care/oncall.h"
#include "util/err.h"
#include "util/text.h"

static void
test_callorder_shape(void **state)
{
	struct rk_status st = {0};
	const char *l[] = {"dr.a", "ns.b", "pt.c", "ns.b"};
	size_t two[] = {1, 2}, dup[] = {2, 2}, empty[] = {1, 0}, nine[9] = {0};
	size_t crowd[] = {9};
	const char *many[9] = {"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"};

	(void)state;
	assert_int_equal(care_callorder_check(two, 2, l, &st), RK_OK);
	assert_int_equal(care_callorder_check(NULL, 0, NULL, &st), RK_OK); /* clear */
	assert_int_equal(care_callorder_check(dup, 2, l, &st), RK_ERR_INVALID);
	assert_string_equal(st.msg, "slot 2: this login is in the call order twice");
	assert_string_equal(st.field, "slots");
	assert_int_equal(care_callorder_check(empty, 2, l, &st), RK_ERR_INVALID);
	assert_string_equal(st.msg, "slot 2: a call slot names no one");
	for (int i = 0; i < 9; i++)
		nine[i] = 1;
	assert_int_equal(care_callorder_check(nine, 9, many, &st), RK_ERR_INVALID);
	assert_string_equal(st.msg, "at most 8 call slots");
	assert_int_equal(care_callorder_check(crowd, 1, many, &st), RK_ERR_INVALID);
	assert_string_equal(st.msg, "slot 1: at most 8 people in one call slot");
	const char *bad[] = {"DR.A"};
	size_t one[] = {1};
	assert_int_equal(care_callorder_check(one, 1, bad, &st), RK_ERR_INVALID);
	assert_string_equal(st.msg, "slot 1: no such user");
	/* Every message names its slot, for slots 1 to 8. */
	assert_string_equal(care_callorder_msg(CARE_CALL_FAMILY, 8),
	                    "slot 8: family members are not called");
}

static void
test_policy_oncall(void **state)
{
	struct policy_oncall_use use = {0};
	struct policy_actor ns = {.user_id = 5, .profession = PROF_NURSE, .use = &use};
	struct policy_membership m = {.patient_exists = true, .oncall = true,
	                              .oncall_entry_id = 7, .oncall_until_ms = 5000};
	struct rk_status st = {0};

	(void)state;
	assert_int_equal(policy_check(&ns, &m, POLICY_READ, VIS_CLINICAL, &st), RK_OK);
	assert_int_equal(use.entry_id, 7);
	assert_false(use.denied);
	assert_int_equal(policy_check(&ns, &m, POLICY_POST, VIS_CLINICAL, &st), RK_OK);
	assert_int_equal(policy_check(&ns, &m, POLICY_ACK, VIS_ALL, &st), RK_OK);
	assert_int_equal(policy_check(&ns, &m, POLICY_SHEET_VIEW, 0, &st), RK_OK);
	assert_int_equal(policy_access_until(&m), 5000);
	/* Never the sheet, the call order or a hand-off. */
	assert_int_equal(policy_check(&ns, &m, POLICY_SHEET_EDIT, 0, &st), RK_ERR_DENIED);
	assert_int_equal(policy_check(&ns, &m, POLICY_CALLORDER_SET, 0, &st),
	                 RK_ERR_DENIED);
	assert_int_equal(policy_check(&ns, &m, POLICY_HANDOFF_ACCEPT, 0, &st),
	                 RK_ERR_DENIED);
	assert_int_equal(policy_check(&ns, &m, POLICY_FAMILY_INVITE, 0, &st),
	                 RK_ERR_DENIED);
	/* Per profession: a care worker on call sees no clinical post. */
	struct policy_actor cw = {.user_id = 6, .profession = PROF_CARE_WORKER};
	assert_int_equal(policy_check(&cw, &m, POLICY_READ, VIS_CLINICAL, &st),
	                 RK_ERR_NOT_FOUND);
	assert_int_equal(policy_check(&cw, &m, POLICY_POST, VIS_CLINICAL, &st),
	                 RK_ERR_DENIED);
	assert_int_equal(policy_check(&cw, &m, POLICY_READ, VIS_PROFESSIONAL, &st),
	                 RK_OK);

	/* The shift has ended: no access, as for no patient, and the entry
	 * is named for the refusal's record. */
	struct policy_oncall_use use2 = {0};
	struct policy_actor ns2 = {.user_id = 5, .profession = PROF_NURSE, .use = &use2};
	struct policy_membership ended = {.patient_exists = true, .oncall_ended_id = 9};
	assert_int_equal(policy_check(&ns2, &ended, POLICY_READ, 0, &st), RK_ERR_DENIED);
	assert_string_equal(st.msg, POLICY_NO_ACCESS);
	assert_string_equal(st.field, "patient");
	assert_int_equal(use2.entry_id, 9);
	assert_true(use2.denied);
	assert_int_equal(policy_access_until(&ended), 0);
	/* A member is a member: on-call plays no part. */
	struct policy_oncall_use use3 = {0};
	struct policy_actor ns3 = {.user_id = 5, .profession = PROF_NURSE, .use = &use3};
	struct policy_membership member = {.patient_exists = true, .on_sheet = true,
	                                   .active = true, .oncall = true,
	                                   .oncall_entry_id = 7};
	assert_int_equal(policy_check(&ns3, &member, POLICY_READ, 0, &st), RK_OK);
	assert_int_equal(use3.entry_id, 0);
}

/* ------------------------------------------------------------ the store */

struct fx {
	char dir[64], care[96], audit[96];
	struct store_config cfg;
	struct store_conn *sc;
	int64_t pid, pid2;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	struct rk_status st;
	const char *users[][3] = {{"dr", "physician", "org-a"},
	                          {"dr2", "physician", "org-a"},
	                          {"ns", "nurse", "org-b"},
	                          {"oc", "nurse", "org-b"},
	                          {"cw", "care_worker", "org-c"},
	                          {"fam", "family", ""}};
	struct care_patient_input in = {.code = "pt-1", .name = "テスト 患者"};
	struct care_patient_input in2 = {.code = "pt-2", .name = "テスト 二"};
	int64_t now = rk_now_ms();

	unit_tmpdir(f->dir, "oncall");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	assert_int_equal(auth_org_add(f->sc, "org-a", "A", "clinic", "", &st), RK_OK);
	assert_int_equal(auth_org_add(f->sc, "org-b", "B", "visiting_nurse", "", &st),
	                 RK_OK);
	assert_int_equal(auth_org_add(f->sc, "org-c", "C", "home_care", "", &st), RK_OK);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(auth_user_add(f->sc, users[i][0], users[i][0],
		                               auth_profession_parse(users[i][1]),
		                               users[i][2][0] ? users[i][2] : NULL, "x",
		                               &st),
		                 RK_OK);
	assert_int_equal(care_patient_add(f->sc, &in, now, &f->pid, &st), RK_OK);
	assert_int_equal(care_patient_add(f->sc, &in2, now, &f->pid2, &st), RK_OK);
	assert_int_equal(care_sheet_add(f->sc, f->pid, "dr", "主治医", true, 0, 0, 0, now,
	                                &st),
	                 RK_OK);
	assert_int_equal(care_sheet_add(f->sc, f->pid, "dr2", "副主治医", false, 0, 0, 0,
	                                now, &st),
	                 RK_OK);
	assert_int_equal(care_sheet_add(f->sc, f->pid, "ns", "訪問看護", false, 0, 0, 0,
	                                now, &st),
	                 RK_OK);
	assert_int_equal(care_sheet_add(f->sc, f->pid, "cw", "訪問介護", false, 0, 0, 0,
	                                now, &st),
	                 RK_OK);
	assert_int_equal(care_sheet_add(f->sc, f->pid, "fam", "家族", false, 0, 0, 0, now,
	                                &st),
	                 RK_OK);
	/* pt-2: no one of org-b. */
	assert_int_equal(care_sheet_add(f->sc, f->pid2, "dr", "主治医", true, 0, 0, 0,
	                                now, &st),
	                 RK_OK);
	store_conn_release(f->sc);
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

static struct policy_actor
actor(struct fx *f, const char *login)
{
	struct auth_user u;
	assert_int_equal(auth_user_load(f->sc, login, 0, &u), RK_OK);
	struct policy_actor a = {.user_id = u.id, .profession = u.profession};
	return a;
}

static int
set_order(struct fx *f, const char *who, size_t nslots, const size_t *per,
          const char *const *logins, struct rk_status *st)
{
	struct policy_actor a = actor(f, who);
	struct care_call *out;
	size_t n;
	int64_t pid;
	int rc = care_callorder_set(f->sc, &a, "pt-1", per, nslots, logins,
	                            rk_now_ms(), &out, &n, &pid, st);
	free(out);
	return rc;
}

static void
test_rota_and_callorder(void **state)
{
	struct fx *f = *state;
	struct rk_status st = {0};
	struct care_rota_entry e;
	struct policy_membership m;
	struct policy_actor ns = actor(f, "ns"), cw = actor(f, "cw"),
	                    oc = actor(f, "oc");
	int64_t now = rk_now_ms();
	size_t per[] = {1, 1};
	const char *ok[] = {"dr2", "ns"}, *fam[] = {"dr2", "fam"},
	           *stranger[] = {"dr2", "oc"};
	struct care_call *calls;
	size_t n;

	(void)state;
	/* The rota: the nurse of org-b sets it; the care worker may not. */
	assert_int_equal(care_rota_set(f->sc, &cw, "org-b", "oc", now - 1000,
	                               now + 3600000, 0, now, &e, &st),
	                 RK_ERR_DENIED);
	assert_int_equal(care_rota_set(f->sc, &ns, "org-b", "cw", now - 1000,
	                               now + 3600000, 0, now, &e, &st),
	                 RK_ERR_INVALID); /* of another organisation */
	assert_string_equal(st.field, "login");
	assert_int_equal(care_rota_set(f->sc, &ns, "org-b", "oc", now - 1000,
	                               now + 3600000, 0, now, &e, &st),
	                 RK_OK);
	/* On duty: access to pt-1 (ns of org-b is on it), not to pt-2. */
	assert_int_equal(policy_membership_load(f->sc, oc.user_id, f->pid, now, &m), RK_OK);
	assert_true(m.oncall);
	assert_int_equal(m.oncall_entry_id, e.id);
	assert_int_equal(policy_membership_load(f->sc, oc.user_id, f->pid2, now, &m),
	                 RK_OK);
	assert_false(m.oncall);

	/* The call order: only editors; members in force, not family. */
	assert_int_equal(set_order(f, "cw", 2, per, ok, &st), RK_ERR_DENIED);
	assert_int_equal(set_order(f, "dr", 2, per, fam, &st), RK_ERR_INVALID);
	assert_string_equal(st.msg, "slot 2: family members are not called");
	assert_int_equal(set_order(f, "dr", 2, per, stranger, &st), RK_ERR_INVALID);
	assert_string_equal(st.msg, "slot 2: not an active member of this patient's sheet");
	assert_int_equal(care_callorder_load(f->sc, f->pid, &calls, &n), RK_OK);
	assert_int_equal(n, 0); /* nothing changed */
	free(calls);
	assert_int_equal(set_order(f, "dr", 2, per, ok, &st), RK_OK);
	assert_int_equal(care_callorder_load(f->sc, f->pid, &calls, &n), RK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(calls[0].slot, 1);
	assert_string_equal(calls[0].m.login, "dr2");
	assert_string_equal(calls[1].m.login, "ns");
	free(calls);
}

static int64_t
urgent_post(struct fx *f, const char *who, const char *cid, struct care_post *p)
{
	struct policy_actor a = actor(f, who);
	struct care_post_input in = {.client_id = cid, .kind = KIND_VITALS,
	                             .visibility = VIS_PROFESSIONAL, .urgent = true,
	                             .text = "SpO2 88%"};
	struct rk_status st = {0};
	bool dup;

	assert_int_equal(care_post_create(f->sc, &a, "pt-1", &in, rk_now_ms(), p, &dup,
	                                  &st),
	                 RK_OK);
	return p->id;
}

static void
test_escalation_walk(void **state)
{
	struct fx *f = *state;
	struct care_post p;
	struct care_escalation_step *s, stop;
	size_t n;
	int64_t now = rk_now_ms(), next;
	bool stopped;
	struct policy_actor cw = actor(f, "cw"), dr = actor(f, "dr"),
	                    oc = actor(f, "oc");
	int64_t id = urgent_post(f, "cw", "u-1", &p);

	(void)state;
	/* Not urgent, or the server's own: no escalation. */
	assert_int_equal(care_escalation_start(f->sc, &p, now + 1000), RK_OK);
	assert_int_equal(care_escalation_next_due(f->sc, &next), RK_OK);
	assert_int_equal(next, now + 1000);
	/* Not due yet: nothing. */
	assert_int_equal(care_escalation_advance(f->sc, now, 1000, &s, &n, &next), RK_OK);
	assert_int_equal(n, 0);
	care_escalation_steps_free(s, n);
	/* Due: slot 1 (dr2) was the post's own call; slot 2 (ns) now. */
	assert_int_equal(care_escalation_advance(f->sc, now + 1000, 1000, &s, &n, &next),
	                 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].post_id, id);
	assert_int_equal(s[0].step, 2);
	assert_string_equal(s[0].detail, "slot 2: ns");
	assert_int_equal(s[0].nusers, 1);
	assert_int_equal(s[0].event.kind, KIND_ESCALATION);
	assert_int_equal(s[0].event.author_id, p.author_id);
	assert_int_equal(s[0].event.visibility, VIS_PROFESSIONAL);
	assert_non_null(strstr(s[0].event.text, "calling slot 2: ns"));
	assert_int_equal(next, now + 2000);
	care_escalation_steps_free(s, n);
	/* Then the on-call nurse of org-b. */
	assert_int_equal(care_escalation_advance(f->sc, now + 2000, 1000, &s, &n, &next),
	                 RK_OK);
	assert_int_equal(n, 1);
	assert_true(s[0].oncall);
	assert_string_equal(s[0].detail, "on call: oc (org-b)");
	care_escalation_steps_free(s, n);
	/* Confirmations that do not count: the author's, and a member not
	 * in the call order. */
	assert_int_equal(care_escalation_ack(f->sc, &cw, id, now + 2100, &stopped, &stop),
	                 RK_OK);
	assert_false(stopped);
	assert_int_equal(care_escalation_ack(f->sc, &dr, id, now + 2100, &stopped, &stop),
	                 RK_OK);
	assert_false(stopped);
	/* The on-call nurse's does. */
	assert_int_equal(care_escalation_ack(f->sc, &oc, id, now + 2200, &stopped, &stop),
	                 RK_OK);
	assert_true(stopped);
	assert_int_equal(stop.step, 0);
	assert_string_equal(stop.detail, "stopped at step 3: confirmed by oc");
	assert_non_null(strstr(stop.event.text, "stopped: confirmed by oc"));
	free(stop.user_ids);
	care_post_fini(&stop.event);
	/* Stopped is stopped. */
	assert_int_equal(care_escalation_advance(f->sc, now + 60000, 1000, &s, &n, &next),
	                 RK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(next, 0);
	care_escalation_steps_free(s, n);
	care_post_fini(&p);
}

/* A confirmation of the newest version (a correction) is one of the
 * urgent post. */
static void
test_escalation_amended(void **state)
{
	struct fx *f = *state;
	struct care_post p, v2;
	struct care_escalation_step stop;
	struct policy_actor cw = actor(f, "cw"), ns = actor(f, "ns");
	struct care_post_input in = {.client_id = "u-2b", .kind = KIND_VITALS,
	                             .visibility = VIS_PROFESSIONAL, .urgent = true,
	                             .text = "SpO2 86%（訂正）"};
	struct rk_status st = {0};
	int64_t now = rk_now_ms(), id = urgent_post(f, "cw", "u-2", &p);
	bool dup, stopped;

	(void)state;
	assert_int_equal(care_escalation_start(f->sc, &p, now + 1000), RK_OK);
	assert_int_equal(care_post_amend(f->sc, &cw, id, &in, now, &v2, &dup, &st), RK_OK);
	assert_int_equal(care_escalation_ack(f->sc, &ns, v2.id, now, &stopped, &stop),
	                 RK_OK);
	assert_true(stopped);
	assert_int_equal(stop.post_id, id);
	free(stop.user_ids);
	care_post_fini(&stop.event);
	care_post_fini(&v2);
	care_post_fini(&p);
}

/* An addressee was asked by name: their confirmation counts too. */
static void
test_escalation_addressee(void **state)
{
	struct fx *f = *state;
	struct care_post p;
	struct care_escalation_step stop;
	struct policy_actor cw = actor(f, "cw"), dr = actor(f, "dr");
	const char *to[] = {"dr"};
	struct care_post_input in = {.client_id = "u-3", .kind = KIND_VITALS,
	                             .visibility = VIS_PROFESSIONAL, .urgent = true,
	                             .text = "転倒、頭部打撲", .to = to, .nto = 1};
	struct rk_status st = {0};
	int64_t now = rk_now_ms();
	bool dup, stopped;

	(void)state;
	assert_int_equal(care_post_create(f->sc, &cw, "pt-1", &in, now, &p, &dup, &st),
	                 RK_OK);
	assert_int_equal(care_escalation_start(f->sc, &p, now + 1000), RK_OK);
	/* dr is not in the call order (dr2, ns), but was addressed. */
	assert_int_equal(care_escalation_ack(f->sc, &dr, p.id, now, &stopped, &stop),
	                 RK_OK);
	assert_true(stopped);
	free(stop.user_ids);
	care_post_fini(&stop.event);
	care_post_fini(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_callorder_shape),
	    cmocka_unit_test(test_policy_oncall),
	    cmocka_unit_test(test_rota_and_callorder),
	    cmocka_unit_test(test_escalation_walk),
	    cmocka_unit_test(test_escalation_amended),
	    cmocka_unit_test(test_escalation_addressee),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
