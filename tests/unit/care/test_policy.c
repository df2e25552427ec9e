/*
 * The access policy (care/policy.c) against docs/policy.md, cell by cell,
 * without a database: each row's profession and situation become a
 * policy_actor and a policy_membership as the store would load them, and
 * each column becomes the policy question the server asks for that
 * request; the answer is turned into its wire code by the api's own
 * mapping (api_code_of) and compared with the cell.
 *
 * The same table is checked against the running server over TLS by
 * tests/integration/20-policy.c; both print "policy: N cells checked"
 * and count N the same way (the main table's cells plus the hand-off
 * transitions' cells), so the two counts must match.
 * RENKEI_POLICY_MD names another copy of the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/reply.h"
#include "auth/auth.h"
#include "care/policy.h"
#include "md_table.h"

static const char *const marks[4] = {"none", "all", "professional", "clinical"};

/* The wire name of a policy answer: "ok" or the Code's name. */
static const char *
answer(int rc)
{
	const ProtobufCEnumValue *v;

	if (rc == RK_OK)
		return "ok";
	v = protobuf_c_enum_descriptor_get_value(&renkei__v1__code__descriptor,
	                                         api_code_of(rc));
	return v != NULL ? v->name : "?";
}

/* A row's situation as policy_membership_load() would fill it. */
static int
membership(const char *sit, int handoff_state, struct policy_membership *m)
{
	*m = (struct policy_membership){.patient_exists = true,
	                                .handoff_state = handoff_state};
	if (strcmp(sit, "not_on_sheet") == 0)
		return 0;
	m->on_sheet = true;
	if (strcmp(sit, "on_sheet") == 0 || strcmp(sit, "primary") == 0) {
		m->active = true;
		m->primary = strcmp(sit, "primary") == 0;
		return 0;
	}
	/* Rows that start tomorrow or ended yesterday: on it, not active. */
	return strcmp(sit, "before_start") == 0 || strcmp(sit, "after_end") == 0
	           ? 0
	           : -1;
}

/* A read of a post: what the server's care_post_readable() makes of a
 * denial — the post is, to them, not there. */
static int
post_readable(const struct policy_actor *a, const struct policy_membership *m,
              enum policy_op op, int vis)
{
	struct rk_status st;
	int rc = policy_check(a, m, op, vis, &st);
	return rc == RK_OK ? RK_OK : RK_ERR_NOT_FOUND;
}

/* The answer for one column, as the server composes it (see
 * docs/policy.md "Operations" for the request each column stands for).
 * *see gets the highest mark the actor sees, for the "see" column. */
static int
ask(const char *col, const struct policy_actor *a, const char *sit,
    const char **see)
{
	struct policy_membership m;
	struct rk_status st;
	int rc;

	*see = NULL;
	if (membership(sit, HANDOFF_NONE, &m) != 0)
		return -1;
	if (strcmp(col, "timeline") == 0 || strcmp(col, "live") == 0 ||
	    strcmp(col, "resync") == 0)
		return policy_check(a, &m, POLICY_READ, 0, &st);
	if (strcmp(col, "see") == 0) {
		*see = marks[0];
		for (int v = VIS_CLINICAL; v >= VIS_ALL; v--)
			if (policy_check(a, &m, POLICY_READ, 0, &st) == RK_OK &&
			    policy_check(a, &m, POLICY_READ, v, &st) == RK_OK) {
				*see = marks[v];
				break;
			}
		return RK_OK;
	}
	if (strcmp(col, "post_all") == 0)
		return policy_check(a, &m, POLICY_POST, VIS_ALL, &st);
	if (strcmp(col, "post_professional") == 0)
		return policy_check(a, &m, POLICY_POST, VIS_PROFESSIONAL, &st);
	if (strcmp(col, "post_clinical") == 0)
		return policy_check(a, &m, POLICY_POST, VIS_CLINICAL, &st);
	if (strcmp(col, "amend") == 0) {
		/* Their own post marked all: found only if readable, then the
		 * post check at its mark. */
		rc = post_readable(a, &m, POLICY_READ, VIS_ALL);
		return rc != RK_OK ? rc : policy_check(a, &m, POLICY_POST, VIS_ALL, &st);
	}
	if (strcmp(col, "ack") == 0)
		return post_readable(a, &m, POLICY_ACK, VIS_ALL);
	if (strcmp(col, "sheet_view") == 0)
		return policy_check(a, &m, POLICY_SHEET_VIEW, 0, &st);
	if (strcmp(col, "sheet_edit") == 0)
		return policy_check(a, &m, POLICY_SHEET_EDIT, 0, &st);
	if (strcmp(col, "handoff_open") == 0)
		return policy_check(a, &m, POLICY_HANDOFF_OPEN, 0, &st);
	if (strcmp(col, "handoff_propose") == 0) {
		m.handoff_state = HANDOFF_OPEN;
		return policy_check(a, &m, POLICY_HANDOFF_PROPOSE, 0, &st);
	}
	if (strcmp(col, "handoff_conference") == 0) {
		m.handoff_state = HANDOFF_PROPOSED;
		return policy_check(a, &m, POLICY_HANDOFF_CONFERENCE, 0, &st);
	}
	if (strcmp(col, "handoff_accept") == 0) {
		m.handoff_state = HANDOFF_CONFERENCE_SET;
		return policy_check(a, &m, POLICY_HANDOFF_ACCEPT, 0, &st);
	}
	if (strcmp(col, "breakglass") == 0)
		return policy_check(a, &m, POLICY_BREAKGLASS, 0, &st);
	if (strcmp(col, "callorder") == 0)
		return policy_check(a, &m, POLICY_CALLORDER_SET, 0, &st);
	return -1;
}

/* The transitions table: the right actor for the step (an MSW on the
 * sheet; the primary physician accepts) on a patient in `state`. */
static int
step(const char *state, const char *stp)
{
	static const struct {
		const char *name;
		int hs;
	} states[] = {{"none", HANDOFF_NONE},
	              {"open", HANDOFF_OPEN},
	              {"proposed", HANDOFF_PROPOSED},
	              {"conference", HANDOFF_CONFERENCE_SET},
	              {"accepted", HANDOFF_ACCEPTED}};
	static const struct {
		const char *name;
		enum policy_op op;
		int prof;
		const char *sit;
	} steps[] = {{"open", POLICY_HANDOFF_OPEN, PROF_MSW, "on_sheet"},
	             {"propose", POLICY_HANDOFF_PROPOSE, PROF_MSW, "on_sheet"},
	             {"conference", POLICY_HANDOFF_CONFERENCE, PROF_MSW, "on_sheet"},
	             {"accept", POLICY_HANDOFF_ACCEPT, PROF_PHYSICIAN, "primary"}};
	struct policy_membership m;
	struct rk_status st;

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		if (strcmp(states[i].name, state) != 0)
			continue;
		for (size_t k = 0; k < 4; k++) {
			if (strcmp(steps[k].name, stp) != 0)
				continue;
			struct policy_actor a = {.user_id = 1, .profession = steps[k].prof};
			membership(steps[k].sit, states[i].hs, &m);
			/* After acceptance the hospital's members read only. */
			m.read_only = states[i].hs == HANDOFF_ACCEPTED &&
			              steps[k].prof == PROF_MSW;
			return policy_check(&a, &m, steps[k].op, 0, &st);
		}
	}
	return -1;
}

struct result {
	int checked, unexpected;
};

/* Check every cell of both tables of the document at path. `flip`, if
 * >= 0, is a main-table cell (row * columns + column) whose expectation
 * is replaced by a wrong one, to prove that a wrong cell is caught. */
static struct result
check_tables(const char *path, int flip)
{
	struct md_table t = {0}, x = {0};
	struct result res = {0, 0};

	assert_int_equal(md_table_read(path, "## The table", &t), 0);
	assert_int_equal(md_table_read(path, "## Hand-off transitions", &x), 0);
	assert_true(t.nrows > 1 && t.ncols > 2);
	assert_string_equal(t.cell[0][0], "profession");
	assert_string_equal(t.cell[0][1], "situation");

	for (int r = 1; r < t.nrows; r++) {
		struct policy_actor a = {
		    .user_id = 1,
		    .profession = (int)auth_profession_parse(t.cell[r][0])};
		assert_int_not_equal(a.profession, PROF_NONE);
		for (int c = 2; c < t.ncols; c++) {
			const char *want = t.cell[r][c], *see, *got;
			int rc = ask(t.cell[0][c], &a, t.cell[r][1], &see);

			if (rc < 0)
				fail_msg("policy.md: unknown column \"%s\" or situation "
				         "\"%s\"", t.cell[0][c], t.cell[r][1]);
			got = see != NULL ? see : answer(rc);
			if (flip == (r - 1) * (t.ncols - 2) + (c - 2))
				want = strcmp(want, "ok") == 0 ? "PERMISSION_DENIED" : "ok";
			res.checked++;
			if (strcmp(got, want) != 0) {
				res.unexpected++;
				printf("  %s / %s / %s: table says %s, policy says %s\n",
				       t.cell[r][0], t.cell[r][1], t.cell[0][c], want, got);
			}
		}
	}
	for (int r = 1; r < x.nrows; r++) {
		for (int c = 1; c < x.ncols; c++) {
			char stp[48];
			int rc;

			sscanf(x.cell[0][c], "%47s", stp); /* "open (MSW)" */
			rc = step(x.cell[r][0], stp);
			if (rc < 0)
				fail_msg("policy.md: unknown state \"%s\" or step \"%s\"",
				         x.cell[r][0], stp);
			res.checked++;
			if (strcmp(answer(rc), x.cell[r][c]) != 0) {
				res.unexpected++;
				printf("  hand-off %s / %s: table says %s, policy says %s\n",
				       x.cell[r][0], stp, x.cell[r][c], answer(rc));
			}
		}
	}
	/* The integration test counts the same cells. */
	assert_int_equal(res.checked, (t.nrows - 1) * (t.ncols - 2) +
	                                  (x.nrows - 1) * (x.ncols - 1));
	md_table_free(&t);
	md_table_free(&x);
	return res;
}

static const char *
table_path(void)
{
	const char *env = getenv("RENKEI_POLICY_MD");
	return env != NULL ? env : "docs/policy.md"; /* run from the source root */
}

static void
test_every_cell(void **state)
{
	struct result r = check_tables(table_path(), -1);

	(void)state;
	printf("policy: %d cells checked, %d unexpected\n", r.checked,
	       r.unexpected);
	assert_true(r.checked > 0);
	assert_int_equal(r.unexpected, 0);
}

/* The test can fail: one wrong cell anywhere is found. */
static void
test_a_wrong_cell_is_caught(void **state)
{
	(void)state;
	for (int flip = 0; flip < 40; flip += 13)
		assert_int_equal(check_tables(table_path(), flip).unexpected, 1);
}

/* What the table does not show: roles without clinical access, the
 * denial that does not tell which patients exist, break-glass reads. */
static void
test_outside_the_table(void **state)
{
	struct policy_actor aud = {.user_id = 1, .profession = PROF_AUDITOR};
	struct policy_actor nurse = {.user_id = 2, .profession = PROF_NURSE};
	struct policy_membership m = {.on_sheet = true, .active = true,
	                              .patient_exists = true};
	struct policy_membership gone = {0}, bg = {.patient_exists = true,
	                                           .breakglass = true};
	struct rk_status st;

	(void)state;
	assert_int_equal(policy_max_visibility(PROF_AUDITOR), VIS_NONE);
	assert_int_equal(policy_max_visibility(PROF_ADMIN), VIS_NONE);
	assert_int_equal(policy_check(&aud, &m, POLICY_READ, 0, &st), RK_ERR_DENIED);
	/* Not on the sheet and no such patient: the same words. */
	assert_int_equal(policy_check(&nurse, &gone, POLICY_READ, 0, &st),
	                 RK_ERR_DENIED);
	assert_string_equal(st.msg, POLICY_NO_ACCESS);
	assert_int_equal(policy_check(&nurse, &gone, POLICY_BREAKGLASS, 0, &st),
	                 RK_ERR_DENIED);
	assert_string_equal(st.msg, POLICY_NO_ACCESS);
	/* A break-glass grant reads and confirms, never posts or edits. */
	assert_int_equal(policy_check(&nurse, &bg, POLICY_READ, VIS_CLINICAL, &st),
	                 RK_OK);
	assert_int_equal(policy_check(&nurse, &bg, POLICY_ACK, VIS_ALL, &st), RK_OK);
	assert_int_equal(policy_check(&nurse, &bg, POLICY_POST, VIS_ALL, &st),
	                 RK_ERR_DENIED);
	assert_int_equal(policy_check(&nurse, &bg, POLICY_SHEET_EDIT, 0, &st),
	                 RK_ERR_DENIED);
	/* Read-only after a hand-off: reads, no posts. */
	m.read_only = true;
	assert_int_equal(policy_check(&nurse, &m, POLICY_READ, VIS_ALL, &st), RK_OK);
	assert_int_equal(policy_check(&nurse, &m, POLICY_POST, VIS_ALL, &st),
	                 RK_ERR_DENIED);
	/* Access lasts until the row ends, or the grant does. */
	m.valid_until_ms = 5000;
	assert_int_equal(policy_access_until(&m), 5000);
	bg.breakglass_until_ms = 7000;
	assert_int_equal(policy_access_until(&bg), 7000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_cell),
	    cmocka_unit_test(test_a_wrong_cell_is_caught),
	    cmocka_unit_test(test_outside_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
