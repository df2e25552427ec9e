/*
 * The access policy, cell by cell, against the running server.
 *
 * docs/policy.md is the spec: this test reads its main table (profession
 * × situation × operation) and its hand-off transitions table at run
 * time, so that a change to the table is a change to the test. It writes
 * a ward file with one test user per profession and, for every row, one
 * patient per operation that changes state (posts, sheet edits, hand-off
 * steps, break-glass) plus one shared read-only board for the reads;
 * each patient's sheet puts the row's user in the row's situation. Then
 * every cell is asked over TLS and the answer compared with the cell.
 *
 * Fixtures: f-dr (a physician on every sheet, not primary) writes the
 * posts marked all / professional / clinical that the reads look at;
 * f-msw opened (through the ward file) the hand-offs the hand-off steps
 * need; f-cw is the care worker sheet_edit adds and handoff_propose
 * proposes. The transitions' "accepted" state is reached over the API.
 * RENKEI_POLICY_MD names another copy of the table (to test the test).
 *
 * It prints "policy: N cells checked, M unexpected" (N = the table's
 * cells plus the transitions' cells) and fails if M > 0; a cell where the
 * server allowed what the table denies is marked so in the output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "md_table.h"

#define MAXC  24 /* operation columns */
#define MAXR  96 /* rows of the main table */
#define TXMAX 8  /* states and steps of the transitions table */
#define CELL  48

/* clang-format off */
enum op {
	OP_TIMELINE, OP_SEE, OP_LIVE, OP_RESYNC, OP_POST_ALL, OP_POST_PROF,
	OP_POST_CLIN, OP_AMEND, OP_ACK, OP_SHEET_VIEW, OP_SHEET_EDIT,
	OP_HO_OPEN, OP_HO_PROPOSE, OP_HO_CONF, OP_HO_ACCEPT, OP_BREAKGLASS,
	OP_CALLORDER, OP__COUNT
};
/* clang-format on */

/* Each column: its name in the table and the patient it runs on (a
 * suffix of the row's patient codes; "r" is the shared read-only board). */
static const struct {
	const char *name, *pt;
} ops[OP__COUNT] = {
    [OP_TIMELINE] = {"timeline", "r"},
    [OP_SEE] = {"see", "r"},
    [OP_LIVE] = {"live", "r"},
    [OP_RESYNC] = {"resync", "r"},
    [OP_POST_ALL] = {"post_all", "pa"},
    [OP_POST_PROF] = {"post_professional", "pp"},
    [OP_POST_CLIN] = {"post_clinical", "pc"},
    [OP_AMEND] = {"amend", "am"},
    [OP_ACK] = {"ack", "ak"},
    [OP_SHEET_VIEW] = {"sheet_view", "r"},
    [OP_SHEET_EDIT] = {"sheet_edit", "se"},
    [OP_HO_OPEN] = {"handoff_open", "ho"},
    [OP_HO_PROPOSE] = {"handoff_propose", "hp"},
    [OP_HO_CONF] = {"handoff_conference", "hc"},
    [OP_HO_ACCEPT] = {"handoff_accept", "ha"},
    [OP_BREAKGLASS] = {"breakglass", "bg"},
    [OP_CALLORDER] = {"callorder", "co"},
};

static const char *const marks[4] = {"none", "all", "professional", "clinical"};
/* docs/policy.md's situations, as subject_member() puts them on a sheet. */
static const char *const situations[5] = {"on_sheet", "primary", "before_start",
                                          "after_end", "not_on_sheet"};

struct row {
	char prof[CELL], sit[CELL];
	char cell[MAXC][CELL];
};

static struct {
	int ncols, nrows, see_col;
	enum op op[MAXC];
	struct row rows[MAXR];
} T;

static struct {
	int ncols, nrows;
	char step[TXMAX][CELL], state[TXMAX][CELL];
	char cell[TXMAX][TXMAX][CELL];
} X;

static struct h_server *srv;
static struct rkc *conn[MAXR]; /* each row's user, logged in */
static struct rkc *dr, *msw;   /* the fixtures f-dr and f-msw */
static uint64_t amend_id[MAXR], ack_id[MAXR];
static char today[11], tomorrow[11], yesterday[11], past[11], soon[11];
static int n_checked, n_unexpected, n_leaks;

/* ------------------------------------------------------------ the table */

static enum op
op_named(const char *name)
{
	int k = 0;

	while (k < OP__COUNT && strcmp(ops[k].name, name) != 0)
		k++;
	return (enum op)k;
}

/* Copy docs/policy.md's two tables into T and X. */
static int
load_tables(void)
{
	struct md_table m = {0}, x = {0};
	char path[512];
	int rc = -1;

	if (getenv("RENKEI_POLICY_MD") != NULL)
		snprintf(path, sizeof(path), "%s", getenv("RENKEI_POLICY_MD"));
	else
		snprintf(path, sizeof(path), "%s/docs/policy.md",
		         h_source_dir());
	if (md_table_read(path, "## The table", &m) != 0 ||
	    md_table_read(path, "## Hand-off transitions", &x) != 0)
		goto out;
	if (m.ncols < 3 || m.ncols - 2 > MAXC || m.nrows - 1 > MAXR ||
	    m.nrows < 2 || strcmp(m.cell[0][0], "profession") != 0 ||
	    strcmp(m.cell[0][1], "situation") != 0 || x.ncols < 2 ||
	    x.ncols - 1 > TXMAX || x.nrows - 1 > TXMAX || x.nrows < 2) {
		fprintf(stderr, "policy.md: tables of an unknown shape\n");
		goto out;
	}
	T.ncols = m.ncols - 2;
	T.nrows = m.nrows - 1;
	T.see_col = -1;
	for (int c = 0; c < T.ncols; c++) {
		if ((T.op[c] = op_named(m.cell[0][c + 2])) == OP__COUNT) {
			fprintf(stderr, "policy.md: unknown column \"%s\"\n",
			        m.cell[0][c + 2]);
			goto out;
		}
		if (T.op[c] == OP_SEE)
			T.see_col = c;
	}
	for (int r = 0; r < T.nrows; r++) {
		int known = 0;
		for (int i = 0; i < 5; i++)
			known |= strcmp(m.cell[r + 1][1], situations[i]) == 0;
		if (!known) {
			fprintf(stderr, "policy.md: unknown situation \"%s\"\n",
			        m.cell[r + 1][1]);
			goto out;
		}
		snprintf(T.rows[r].prof, CELL, "%s", m.cell[r + 1][0]);
		snprintf(T.rows[r].sit, CELL, "%s", m.cell[r + 1][1]);
		for (int c = 0; c < T.ncols; c++)
			snprintf(T.rows[r].cell[c], CELL, "%s",
			         m.cell[r + 1][c + 2]);
	}
	X.ncols = x.ncols - 1;
	X.nrows = x.nrows - 1;
	/* "open (MSW)": the step is the first word. */
	for (int c = 0; c < X.ncols; c++)
		sscanf(x.cell[0][c + 1], "%47s", X.step[c]);
	for (int r = 0; r < X.nrows; r++) {
		snprintf(X.state[r], CELL, "%s", x.cell[r + 1][0]);
		for (int c = 0; c < X.ncols; c++)
			snprintf(X.cell[r][c], CELL, "%s",
			         x.cell[r + 1][c + 1]);
	}
	rc = T.see_col < 0 ? -1 : 0;
out:
	md_table_free(&m);
	md_table_free(&x);
	return rc;
}

/* ------------------------------------------------------------ the ward */

static void
code_of(char out[CELL], int row, const char *suffix)
{
	snprintf(out, CELL, "pt-%02d-%s", row, suffix);
}

/* The user and their organisation (one per profession), once each:
 * `seen` holds the logins and organisation codes written so far. */
static void
add_user(json_t *users, json_t *orgs, json_t *seen, const char *login,
         const char *prof)
{
	char org[CELL + 8];
	int family = strcmp(prof, "family") == 0;

	if (json_object_get(seen, login) != NULL)
		return;
	json_object_set_new(seen, login, json_true());
	snprintf(org, sizeof(org), "org-t-%s", prof);
	if (!family && json_object_get(seen, org) == NULL) {
		json_object_set_new(seen, org, json_true());
		json_array_append_new(orgs,
		                      json_pack("{s:s, s:s, s:s}", "id", org,
		                                "name", org, "kind", prof));
	}
	/* Family members belong to no organisation. */
	json_array_append_new(users,
	                      h_ward_user(login, prof, family ? NULL : org));
}

/* The row's user in the row's situation (checked by load_tables). */
static void
subject_member(const struct row *r, json_t *sheet)
{
	const char *from[] = {today, today, tomorrow, past};
	const char *until[] = {NULL, NULL, NULL, yesterday};
	char login[CELL + 4];

	snprintf(login, sizeof(login), "t-%s", r->prof);
	for (int i = 0; i < 4; i++) /* not_on_sheet: no row at all */
		if (strcmp(r->sit, situations[i]) == 0)
			json_array_append_new(
			    sheet, h_ward_member(login, "テスト担当", i == 1,
			                         from[i], until[i]));
}

static const char *const hosp = "病院 医療連携室";

static json_t *
patient(const char *code, json_t *sheet, const char *handoff, json_t *posts)
{
	json_t *p = json_pack("{s:s, s:s, s:o}", "id", code, "name", code,
	                      "sheet", sheet);
	if (handoff != NULL) {
		json_t *h =
		    json_pack("{s:s, s:s, s:s}", "state", handoff, "opened_by",
		              "f-msw", "discharge_date", soon);
		/* Only a CONFERENCE_SET hand-off has a conference yet. */
		if (strcmp(handoff, "conference") == 0)
			json_object_set_new(
			    h, "conference",
			    json_string("2026-12-01T14:00+09:00"));
		json_object_set_new(p, "handoff", h);
	}
	if (posts != NULL)
		json_object_set_new(p, "posts", posts);
	return p;
}

static void
row_patients(int ri, json_t *pts)
{
	const struct row *r = &T.rows[ri];
	char done[OP__COUNT][4] = {{0}}, code[CELL], login[CELL + 4];
	int ndone = 0;

	snprintf(login, sizeof(login), "t-%s", r->prof);
	for (int c = 0; c < T.ncols; c++) {
		const char *sfx = ops[T.op[c]].pt, *ho = NULL;
		json_t *sheet = json_array(), *posts = NULL;
		int seen = 0;

		for (int k = 0; k < ndone; k++)
			seen |= strcmp(done[k], sfx) == 0;
		if (seen) {
			json_decref(sheet);
			continue;
		}
		snprintf(done[ndone++], 4, "%s", sfx);
		code_of(code, ri, sfx);
		subject_member(r, sheet);
		json_array_append_new(
		    sheet, h_ward_member("f-dr", "訪問診療", 0, NULL, NULL));
		if (strcmp(sfx, "r") == 0)
			posts = json_pack(
			    "[o, o, o]", h_ward_post("f-dr", "all", "記録"),
			    h_ward_post("f-dr", "professional", "記録"),
			    h_ward_post("f-dr", "clinical", "記録"));
		else if (strcmp(sfx, "am") == 0)
			posts =
			    json_pack("[o]", h_ward_post(login, "all", "記録"));
		else if (strcmp(sfx, "ak") == 0)
			posts = json_pack("[o]",
			                  h_ward_post("f-dr", "all", "記録"));
		ho = strcmp(sfx, "hp") == 0   ? "open"
		     : strcmp(sfx, "hc") == 0 ? "proposed"
		     : strcmp(sfx, "ha") == 0 ? "conference"
		                              : NULL;
		if (ho != NULL)
			json_array_append_new(
			    sheet, h_ward_member("f-msw", hosp, 0, NULL, NULL));
		json_array_append_new(pts, patient(code, sheet, ho, posts));
	}
}

static int
write_ward(const char *path)
{
	json_t *root = json_object(), *o = json_array(), *u = json_array();
	json_t *pts = json_array(), *seen = json_object();
	int rc;

	add_user(u, o, seen, "f-dr", "physician");
	add_user(u, o, seen, "f-msw", "msw");
	add_user(u, o, seen, "f-cw", "care_worker");
	for (int i = 0; i < T.nrows; i++) {
		char login[CELL + 4];
		snprintf(login, sizeof(login), "t-%s", T.rows[i].prof);
		add_user(u, o, seen, login, T.rows[i].prof);
		row_patients(i, pts);
	}
	/* Transitions: f-dr is the primary physician, f-msw the hospital;
	 * "accepted" is reached from "conference" by the test itself. */
	for (int s = 0; s < X.nrows; s++) {
		const char *ho = strcmp(X.state[s], "accepted") == 0
		                     ? "conference"
		                 : strcmp(X.state[s], "none") == 0 ? NULL
		                                                   : X.state[s];
		for (int c = 0; c < X.ncols; c++) {
			char code[CELL];
			json_t *sheet = json_array();
			json_array_append_new(
			    sheet,
			    h_ward_member("f-dr", "主治医", 1, NULL, NULL));
			json_array_append_new(
			    sheet, h_ward_member("f-msw", hosp, 0, NULL, NULL));
			snprintf(code, sizeof(code), "pt-tx-%d-%d", s, c);
			json_array_append_new(pts,
			                      patient(code, sheet, ho, NULL));
		}
	}
	json_object_set_new(root, "organisations", o);
	json_object_set_new(root, "users", u);
	json_object_set_new(root, "patients", pts);
	rc = json_dump_file(root, path, JSON_INDENT(1));
	json_decref(root);
	json_decref(seen);
	return rc;
}

/* ---------------------------------------------------------- verdicts */

/* The marks 1..rank as a bit set. */
static unsigned
upto(int rank)
{
	return rank <= 0 ? 0 : (1u << (rank + 1)) - 2;
}

/* "none", "all", "professional", "clinical", or the odd set seen. */
static const char *
mask_name(unsigned mask, char *buf, size_t cap)
{
	for (int k = 0; k < 4; k++)
		if (mask == upto(k))
			return marks[k];
	snprintf(buf, cap, "marks%s%s%s", mask & 2 ? "+all" : "",
	         mask & 4 ? "+professional" : "", mask & 8 ? "+clinical" : "");
	return buf;
}

static void
verdict(const struct row *r, const char *col, const char *expect,
        const char *actual, int leak)
{
	n_checked++;
	if (strcmp(expect, actual) == 0)
		return;
	n_unexpected++;
	n_leaks += leak != 0;
	printf("UNEXPECTED %s/%s %s: table says %s, server %s%s\n", r->prof,
	       r->sit, col, expect, actual,
	       leak ? "  <-- allowed what the table denies" : "");
}

/* Compare an answer with a cell: ok means the expected success body. */
static void
judge(const struct row *r, const char *col, const char *expect,
      const Renkei__V1__Envelope *env, Renkei__V1__Envelope__BodyCase want)
{
	const char *actual = h_env_outcome(env);
	char buf[96];

	if (strcmp(actual, "ok") == 0 && env->body_case != want) {
		snprintf(buf, sizeof(buf), "answered %s",
		         h_body_name(env->body_case));
		actual = buf;
	}
	verdict(r, col, expect, actual,
	        strcmp(expect, "ok") != 0 && env != NULL &&
	            env->body_case != RENKEI__V1__ENVELOPE__BODY_ERROR);
}

/* The marks (bit per visibility) of a page of posts. */
static unsigned
posts_mask(Renkei__V1__Post **p, size_t n)
{
	unsigned m = 0;
	for (size_t i = 0; i < n; i++)
		m |= 1u << (p[i]->visibility & 7);
	return m;
}

/* The marks the row's `see` cell allows. */
static unsigned
expected_mask(const struct row *r)
{
	for (int k = 0; k < 4; k++)
		if (strcmp(marks[k], r->cell[T.see_col]) == 0)
			return upto(k);
	return 0;
}

/* ------------------------------------------------------------- setup */

static int
group_setup(void **state)
{
	char path[400];

	(void)state;
	/* Sheet dates are JST days: do not straddle a midnight. */
	if (h_ms_to_jst_midnight() < 45000)
		h_sleep_ms((int)h_ms_to_jst_midnight() + 1000);
	h_jst_date(0, today);
	h_jst_date(1, tomorrow);
	h_jst_date(-1, yesterday);
	h_jst_date(-30, past);
	h_jst_date(7, soon);
	if (load_tables() != 0 || (srv = h_server_new()) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/policy-ward.json", srv->dir);
	if (write_ward(path) != 0 || h_import(srv, path) != 0)
		return -1;
	return h_server_start(srv, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < T.nrows; i++)
		rkc_close(conn[i]);
	rkc_close(dr);
	rkc_close(msw);
	return h_server_free(srv);
}

/* The ids of the imported posts that amend and ack name (f-dr is on
 * every board and sees every mark). */
static void
learn_post_ids(void)
{
	struct rkc *c = h_connect_login(srv, "f-dr", NULL);
	uint64_t cursor = 0;
	int more = 1;

	assert_non_null(c);
	while (more) {
		Renkei__V1__Envelope *r = h_sync_env(c, NULL, 0, cursor, 0);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
		for (size_t i = 0; i < r->sync_response->n_posts; i++) {
			Renkei__V1__Post *p = r->sync_response->posts[i];
			int row;
			char sfx[8];
			if (sscanf(p->patient, "pt-%d-%7s", &row, sfx) != 2 ||
			    row < 0 || row >= T.nrows)
				continue;
			if (strcmp(sfx, "am") == 0)
				amend_id[row] = p->id;
			else if (strcmp(sfx, "ak") == 0)
				ack_id[row] = p->id;
		}
		cursor = r->sync_response->cursor;
		more = r->sync_response->more;
		h_env_free(r);
	}
	rkc_close(c);
}

/* ------------------------------------------------------------- phases */

/* timeline, see, resync, sheet_view: reads of the row's shared board. */
static void
check_reads(int ri)
{
	const struct row *r = &T.rows[ri];
	char code[CELL], buf[96];
	const char *board[1] = {code};
	unsigned want = expected_mask(r), seen = 0;
	Renkei__V1__Envelope *tl;

	code_of(code, ri, "r");
	/* timeline and see: one answer, two cells. */
	tl = h_timeline_env(conn[ri], code);
	if (tl != NULL &&
	    tl->body_case == RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE)
		seen = posts_mask(tl->timeline_response->posts,
		                  tl->timeline_response->n_posts);
	for (int c = 0; c < T.ncols; c++) {
		Renkei__V1__Envelope *e;
		switch (T.op[c]) {
		case OP_TIMELINE:
			judge(r, "timeline", r->cell[c], tl,
			      RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
			break;
		case OP_SEE:
			verdict(r, "see", r->cell[c],
			        mask_name(seen, buf, sizeof(buf)),
			        (seen & ~want) != 0);
			break;
		case OP_RESYNC: {
			const char *actual;
			int leak = 0;
			e = h_sync_env(conn[ri], board, 1, 0, 0);
			actual = h_env_outcome(e);
			if (e != NULL &&
			    e->body_case ==
			        RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE) {
				Renkei__V1__SyncResponse *s = e->sync_response;
				unsigned m = posts_mask(s->posts, s->n_posts);
				size_t n = s->n_posts;
				char mb[64];
				leak = (m & ~want) != 0;
				if (m != want || s->more ||
				    n != (size_t)__builtin_popcount(want)) {
					snprintf(buf, sizeof(buf),
					         "ok with %zu posts (%s)", n,
					         mask_name(m, mb, sizeof(mb)));
					actual = buf;
				}
			} else if (h_env_code(e) == 0) {
				actual = h_body_name(e->body_case);
			}
			verdict(r, "resync", r->cell[c], actual,
			        leak || (strcmp(r->cell[c], "ok") != 0 &&
			                 h_env_code(e) == 0));
			h_env_free(e);
			break;
		}
		case OP_SHEET_VIEW:
			e = h_get_patient_env(conn[ri], code);
			judge(r, "sheet_view", r->cell[c], e,
			      RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE);
			h_env_free(e);
			break;
		default:
			break;
		}
	}
	h_env_free(tl);
}

/* live: every row watches its board (live only), f-dr posts one post per
 * mark on it, and each row's user must get exactly the marks `see`
 * allows — all rows before one wait. */
static void
check_live(void)
{
	char live[MAXR][CELL];
	int c = 0;

	while (c < T.ncols && T.op[c] != OP_LIVE)
		c++;
	if (c == T.ncols)
		return;
	for (int ri = 0; ri < T.nrows; ri++) {
		char code[CELL], cid[64];
		const char *board[1] = {code};
		Renkei__V1__Envelope *e;

		code_of(code, ri, "r");
		e = h_sync_env(conn[ri], board, 1, 0, 1);
		snprintf(live[ri], CELL, "%s", h_env_outcome(e));
		h_env_free(e);
		for (int v = 1; v <= 3; v++) {
			snprintf(cid, sizeof(cid), "live-%02d-%d", ri, v);
			e = h_post_env(dr, code, cid, (Renkei__V1__Visibility)v,
			               "ライブ配信テスト");
			h_assert_body(e,
			              RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
			h_env_free(e);
		}
	}
	/* Then one wait for all rows. */
	h_sleep_ms(1000);
	for (int ri = 0; ri < T.nrows; ri++) {
		const struct row *r = &T.rows[ri];
		int ok = strcmp(live[ri], "ok") == 0, n = 0;
		unsigned want = ok ? expected_mask(r) : 0, m = 0;
		int expect_n = __builtin_popcount(want);
		char buf[4800], mb[64];
		const char *actual = live[ri];
		Renkei__V1__Envelope *e;

		/* Late events get time only while some are still due. */
		while ((e = h_next_post_event(conn[ri],
		                              n < expect_n ? 3000 : 20))) {
			m |= 1u << (e->event->post->post->visibility & 7);
			n++;
			h_env_free(e);
		}
		if (!ok && n > 0) {
			snprintf(buf, sizeof(buf),
			         "%s but %d posts arrived (%s)", live[ri], n,
			         mask_name(m, mb, sizeof(mb)));
			actual = buf;
		} else if (ok && (m != want || n != expect_n)) {
			snprintf(buf, sizeof(buf), "ok with %d posts (%s)", n,
			         mask_name(m, mb, sizeof(mb)));
			actual = buf;
		}
		verdict(r, "live", r->cell[c], actual,
		        (m & ~expected_mask(r)) != 0 ||
		            (strcmp(r->cell[c], "ok") != 0 && n > 0));
	}
}

/* One hand-off step on `code` (also the transitions table). */
static Renkei__V1__Envelope *
handoff_step(struct rkc *c, enum op op, const char *code, const char *cid)
{
	Renkei__V1__ProposedMember pm = RENKEI__V1__PROPOSED_MEMBER__INIT;
	char at[40];

	pm.login = "f-cw";
	pm.team_role = "訪問介護";
	switch (op) {
	case OP_HO_OPEN:
		return h_handoff_open_env(c, code, NULL, soon,
		                          "退院時サマリー（テスト）", cid);
	case OP_HO_PROPOSE:
		return h_handoff_propose_env(c, code, &pm, 1);
	case OP_HO_CONF:
		snprintf(at, sizeof(at), "%sT14:00:00+09:00", soon);
		return h_handoff_conference_env(c, code, at);
	default:
		return h_handoff_accept_env(c, code);
	}
}

/* The writes: each on its own patient. */
static void
check_writes(int ri)
{
	const struct row *r = &T.rows[ri];

	for (int c = 0; c < T.ncols; c++) {
		enum op op = T.op[c];
		Renkei__V1__Envelope *e = NULL;
		Renkei__V1__Envelope__BodyCase want =
		    RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE;
		char code[CELL], cid[64];

		code_of(code, ri, ops[op].pt);
		snprintf(cid, sizeof(cid), "w-%02d-%d", ri, c);
		switch (op) {
		case OP_POST_ALL:
		case OP_POST_PROF:
		case OP_POST_CLIN:
			e = h_post_env(
			    conn[ri], code, cid,
			    (Renkei__V1__Visibility)(op - OP_POST_ALL + 1),
			    "テスト投稿");
			want = RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE;
			break;
		case OP_AMEND:
			assert_true(amend_id[ri] != 0);
			e = h_amend_env(conn[ri], amend_id[ri], cid,
			                "訂正（テスト）");
			want = RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE;
			break;
		case OP_ACK:
			assert_true(ack_id[ri] != 0);
			e = h_ack_env(conn[ri], ack_id[ri]);
			want = RENKEI__V1__ENVELOPE__BODY_ACK_RESPONSE;
			break;
		case OP_SHEET_EDIT:
			e = h_sheet_add_env(conn[ri], code, "f-cw", "訪問介護",
			                    0, "", "");
			want = RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE;
			break;
		case OP_HO_OPEN:
		case OP_HO_PROPOSE:
		case OP_HO_CONF:
		case OP_HO_ACCEPT:
			e = handoff_step(conn[ri], op, code, cid);
			break;
		case OP_BREAKGLASS:
			e = h_breakglass_env(conn[ri], code,
			                     "救急搬送、既往歴の確認");
			want = RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_RESPONSE;
			break;
		case OP_CALLORDER:
			/* f-dr: a member in force of every sheet. */
			e = h_callorder_env(conn[ri], code, "f-dr");
			want = RENKEI__V1__ENVELOPE__BODY_SET_CALL_ORDER_RESPONSE;
			break;
		default:
			continue; /* reads: checked before */
		}
		judge(r, ops[op].name, r->cell[c], e, want);
		h_env_free(e);
	}
}

/* The transitions table: the right actor, a fresh patient in each state. */
static void
check_transitions(void)
{
	static const struct row tx_row = {"hand-off", "transition", {{0}}};

	for (int s = 0; s < X.nrows; s++) {
		for (int c = 0; c < X.ncols; c++) {
			char code[CELL], col[2 * CELL + 8], cid[64];
			Renkei__V1__Envelope *e;
			enum op op;

			/* Step "propose" is column handoff_propose's request.
			 */
			snprintf(col, sizeof(col), "handoff_%s", X.step[c]);
			op = op_named(col);
			snprintf(code, sizeof(code), "pt-tx-%d-%d", s, c);
			snprintf(col, sizeof(col), "%s->%s", X.state[s],
			         X.step[c]);
			snprintf(cid, sizeof(cid), "tx-%d-%d", s, c);
			if (op < OP_HO_OPEN || op > OP_HO_ACCEPT) {
				verdict(&tx_row, col, X.cell[s][c],
				        "(unknown step)", 0);
				continue;
			}
			e = handoff_step(op == OP_HO_ACCEPT ? dr : msw, op,
			                 code, cid);
			judge(&tx_row, col, X.cell[s][c], e,
			      RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE);
			h_env_free(e);
		}
	}
}

/* --------------------------------------------------------------- test */

static void
test_every_cell(void **state)
{
	(void)state;
	dr = h_connect_login(srv, "f-dr", NULL);
	msw = h_connect_login(srv, "f-msw", NULL);
	assert_non_null(dr);
	assert_non_null(msw);
	for (int i = 0; i < T.nrows; i++) {
		char login[CELL + 4];
		snprintf(login, sizeof(login), "t-%s", T.rows[i].prof);
		conn[i] = h_connect_login(srv, login, NULL);
		assert_non_null(conn[i]);
	}
	/* The "accepted" state is reached the real way: f-dr accepts. */
	for (int s = 0; s < X.nrows; s++) {
		if (strcmp(X.state[s], "accepted") != 0)
			continue;
		for (int c = 0; c < X.ncols; c++) {
			char code[CELL];
			Renkei__V1__Envelope *e;
			snprintf(code, sizeof(code), "pt-tx-%d-%d", s, c);
			e = h_handoff_accept_env(dr, code);
			h_assert_body(
			    e, RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE);
			h_env_free(e);
		}
	}
	learn_post_ids();
	for (int i = 0; i < T.nrows; i++)
		check_reads(i);
	check_live();
	for (int i = 0; i < T.nrows; i++)
		check_writes(i);
	check_transitions();

	printf("policy: %d cells checked, %d unexpected\n", n_checked,
	       n_unexpected);
	if (n_leaks > 0)
		printf("policy: %d cells allowed what the table denies\n",
		       n_leaks);
	fflush(stdout);
	assert_int_equal(n_checked, T.nrows * T.ncols + X.nrows * X.ncols);
	assert_int_equal(n_leaks, 0);
	assert_int_equal(n_unexpected, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_cell),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
