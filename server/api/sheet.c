/*
 * Liaison sheet, hand-off, break-glass and family requests.
 *
 * All are writes (writer thread). Whatever they change about someone's
 * access is applied to live subscriptions in done(), right after the
 * commit: a member removed from a sheet receives nothing from that board
 * after the change is committed, on connections already open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

enum sheet_op {
	SH_ADD, SH_CHANGE, SH_END, SH_HISTORY,
	HO_OPEN, HO_PROPOSE, HO_CONFERENCE, HO_ACCEPT, HO_GET,
	BG_BREAK, FAM_INVITE,
};

struct sheet_req {
	struct api_req r;
	struct audit_entry *au;
	enum sheet_op what;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	/* inputs (owned copies) */
	char *s1, *s2, *s3, *s4, *s5, *s6;
	bool b1, b2;
	struct care_proposed *proposed;
	size_t nproposed;
	struct care_new_patient np;
	char *np_strings[8];
	char password[24];
	char pw_hash[160];
	/* outputs */
	struct care_access_change *changes;
	size_t nchanges;
	struct care_handoff handoff;
	struct care_post post;
	struct care_history_entry *history;
	size_t nhistory;
	int64_t expires_ms;
	bool created;
	struct care_member *sheet;
	size_t nsheet;
};

static const char *const action_names[] = {
	[SH_ADD] = "sheet.add", [SH_CHANGE] = "sheet.change",
	[SH_END] = "sheet.end", [SH_HISTORY] = "sheet.history.read",
	[HO_OPEN] = "handoff.open", [HO_PROPOSE] = "handoff.propose",
	[HO_CONFERENCE] = "handoff.conference", [HO_ACCEPT] = "handoff.accept",
	[HO_GET] = "handoff.read", [BG_BREAK] = "breakglass.start",
	[FAM_INVITE] = "family.invite",
};

static void
sheet_req_free(struct sheet_req *q)
{
	api_req_fini(&q->r);
	free(q->s1);
	free(q->s2);
	free(q->s3);
	free(q->s4);
	free(q->s5);
	free(q->s6);
	for (size_t i = 0; i < q->nproposed; i++) {
		free((char *)q->proposed[i].login);
		free((char *)q->proposed[i].team_role);
	}
	free(q->proposed);
	for (int i = 0; i < 8; i++)
		free(q->np_strings[i]);
	free(q->changes);
	free(q->history);
	free(q->sheet);
	care_post_fini(&q->post);
	OPENSSL_cleanse(q->password, sizeof(q->password));
	OPENSSL_cleanse(q->pw_hash, sizeof(q->pw_hash));
	free(q);
}

static int
sheet_run(struct store_conn *sc, struct store_op *op)
{
	struct sheet_req *q = (struct sheet_req *)op;
	struct api *api = q->r.api;
	struct rk_status *st = &q->r.st;
	int64_t now = rk_now_ms();
	struct care_sheet_input in = {
		.login = q->s1, .team_role = q->s2, .set_primary = q->b1,
		.primary = q->b2, .valid_from = q->s3, .valid_until = q->s4,
		.contact = q->s5,
	};

	int rc;

	switch (q->what) {
	case SH_ADD:
	case SH_CHANGE:
	case SH_END:
		q->changes = rk_calloc(1, sizeof(*q->changes));
		q->nchanges = 1;
		if (q->what == SH_ADD)
			rc = care_sheet_member_add(sc, &q->who, q->code, &in, now,
			                           q->changes, st);
		else if (q->what == SH_CHANGE)
			rc = care_sheet_member_change(sc, &q->who, q->code, &in, now,
			                              q->changes, st);
		else
			rc = care_sheet_member_end(sc, &q->who, q->code, q->s1, q->s2, now,
			                           q->changes, st);
		if (rc == RK_OK &&
		    care_sheet_list(sc, q->changes[0].patient_id, &q->sheet,
		                    &q->nsheet) != RK_OK)
			rc = rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		return rc;
	case SH_HISTORY:
		return care_sheet_history(sc, &q->who, q->code, now, &q->history,
		                          &q->nhistory, st);
	case HO_OPEN:
		return care_handoff_open(sc, &q->who, q->code, &q->np, q->s1, q->s2, q->s3,
		                         now, &q->handoff, &q->post, st);
	case HO_PROPOSE:
		q->changes = rk_calloc(q->nproposed + 1, sizeof(*q->changes));
		q->nchanges = q->nproposed;
		return care_handoff_propose(sc, &q->who, q->code, q->proposed,
		                            q->nproposed, now, &q->handoff, q->changes, st);
	case HO_CONFERENCE:
		return care_handoff_conference(sc, &q->who, q->code, q->s1, now,
		                               &q->handoff, st);
	case HO_ACCEPT:
		return care_handoff_accept(sc, &q->who, q->code, now,
		                           (int64_t)api->conf->handoff_readonly_s * 1000,
		                           &q->handoff, &q->changes, &q->nchanges, st);
	case HO_GET:
		return care_handoff_get(sc, &q->who, q->code, now, &q->handoff, st);
	case BG_BREAK:
		return care_breakglass(sc, &q->who, q->code, q->s1, now,
		                       (int64_t)api->conf->breakglass_s * 1000,
		                       &q->expires_ms, &q->post, st);
	case FAM_INVITE:
		q->changes = rk_calloc(1, sizeof(*q->changes));
		q->nchanges = 1;
		return care_family_invite(sc, &q->who, q->code, q->s1, q->s2, q->s3,
		                          q->pw_hash, now, &q->created, q->changes, st);
	}
	return RK_ERR_INTERNAL;
}

static void
wire_member(const struct care_member *m, Renkei__V1__User *u)
{
	renkei__v1__user__init(u);
	u->login = (char *)m->login;
	u->display_name = (char *)m->display_name;
	u->profession = (Renkei__V1__Profession)m->profession;
}

static void
send_handoff(struct api *api, struct api_conn *c, uint64_t rid,
             const struct care_handoff *h)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__HandoffResponse hr = RENKEI__V1__HANDOFF_RESPONSE__INIT;
	Renkei__V1__Handoff w = RENKEI__V1__HANDOFF__INIT;
	Renkei__V1__User ob, ab;

	w.patient = (char *)h->patient_code;
	w.state = (Renkei__V1__HandoffState)h->state;
	w.from_org = (char *)h->from_org;
	w.discharge_date = (char *)h->discharge_date;
	w.conference_at = (char *)h->conference_at;
	if (h->opened_by.login[0]) {
		wire_member(&h->opened_by, &ob);
		w.opened_by = &ob;
	}
	if (h->accepted_by.login[0]) {
		wire_member(&h->accepted_by, &ab);
		w.accepted_by = &ab;
	}
	w.accepted_at_ms = h->accepted_ms;
	w.hospital_until_ms = h->hospital_until_ms;
	hr.handoff = &w;
	env.request_id = rid;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE;
	env.handoff_response = &hr;
	api_send(api, c, &env);
}

static void
send_history(struct api *api, struct api_conn *c, uint64_t rid,
             const struct care_history_entry *h, size_t n)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SheetHistoryResponse hr = RENKEI__V1__SHEET_HISTORY_RESPONSE__INIT;
	Renkei__V1__SheetChange *ch = rk_calloc(n + 1, sizeof(*ch));
	Renkei__V1__SheetChange **chp = rk_calloc(n + 1, sizeof(*chp));
	Renkei__V1__User *us = rk_calloc(2 * n + 1, sizeof(*us));

	for (size_t i = 0; i < n; i++) {
		renkei__v1__sheet_change__init(&ch[i]);
		ch[i].at_ms = h[i].at_ms;
		ch[i].action = (char *)h[i].action;
		ch[i].detail = (char *)h[i].detail;
		if (h[i].by.user_id) {
			wire_member(&h[i].by, &us[2 * i]);
			ch[i].by = &us[2 * i];
		}
		if (h[i].member.user_id) {
			wire_member(&h[i].member, &us[2 * i + 1]);
			ch[i].member = &us[2 * i + 1];
		}
		chp[i] = &ch[i];
	}
	hr.n_changes = n;
	hr.changes = chp;
	env.request_id = rid;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_RESPONSE;
	env.sheet_history_response = &hr;
	api_send(api, c, &env);
	free(ch);
	free(chp);
	free(us);
}

static void
sheet_done(struct store_op *op, int rc)
{
	struct sheet_req *q = (struct sheet_req *)op;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;

	if (rc != RK_OK) {
		if (c != NULL) {
			api_send_error(api, c, q->r.request_id, &q->r.st);
		}
		goto out;
	}
	/* Committed: first make live delivery match the new sheet. */
	for (size_t i = 0; i < q->nchanges; i++)
		api_sub_access(api, &q->changes[i]);
	if (q->post.id != 0) {
		api->stats.posts++;
		api_publish_post(api, &q->post);
	}
	if (c == NULL)
		goto out;
	env.request_id = q->r.request_id;
	switch (q->what) {
	case SH_ADD:
	case SH_CHANGE:
	case SH_END: {
		Renkei__V1__SheetResponse sr = RENKEI__V1__SHEET_RESPONSE__INIT;
		struct api_sheet_wire w;
		api_sheet_to_wire(q->sheet, q->nsheet, &w);
		sr.n_sheet = w.n;
		sr.sheet = w.ptrs;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE;
		env.sheet_response = &sr;
		api_send(api, c, &env);
		api_sheet_wire_fini(&w);
		break;
	}
	case SH_HISTORY:
		send_history(api, c, q->r.request_id, q->history, q->nhistory);
		break;
	case HO_OPEN:
	case HO_PROPOSE:
	case HO_CONFERENCE:
	case HO_ACCEPT:
	case HO_GET:
		send_handoff(api, c, q->r.request_id, &q->handoff);
		break;
	case BG_BREAK: {
		Renkei__V1__BreakGlassResponse br = RENKEI__V1__BREAK_GLASS_RESPONSE__INIT;
		br.expires_at_ms = q->expires_ms;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_RESPONSE;
		env.break_glass_response = &br;
		api_send(api, c, &env);
		LOG_W("CARE-BREAKGLASS", "user=%s patient_id=%lld", c->sess->user.login,
		      (long long)q->post.patient_id);
		/* Its end will be a record too: prepare it now, while the
		 * actor is known, and write it at expiry. */
		struct api_req tmp;
		memset(&tmp, 0, sizeof(tmp));
		struct audit_entry *end = api_audit(&tmp, c, "breakglass.end", q->code, NULL);
		audit_entry_set_outcome(end, RK_OK);
		struct api_grant *g = rk_calloc(1, sizeof(*g));
		g->end = end;
		g->expires_ms = q->expires_ms;
		g->next = api->grants;
		api->grants = g;
		break;
	}
	case FAM_INVITE: {
		Renkei__V1__FamilyInviteResponse fr = RENKEI__V1__FAMILY_INVITE_RESPONSE__INIT;
		fr.login = q->s1;
		fr.initial_password = q->created ? q->password : (char *)"";
		env.body_case = RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_RESPONSE;
		env.family_invite_response = &fr;
		api_send(api, c, &env);
		break;
	}
	}
out:
	sheet_req_free(q);
}

static void
submit(struct api *api, struct api_conn *c, struct sheet_req *q)
{
	q->r.op.run = sheet_run;
	q->r.op.done = sheet_done;
	if (store_submit_write(api->store, &q->r.op) != RK_OK) {
		api_send_error3(api, c, q->r.request_id, RK_ERR_UNAVAILABLE,
		                "the server is shutting down; try again shortly", NULL);
		sheet_req_free(q);
	}
}

static struct sheet_req *
sheet_req_new(struct api *api, struct api_conn *c, uint64_t rid,
              enum sheet_op what, const char *code)
{
	struct sheet_req *q = rk_calloc(1, sizeof(*q));

	api_req_init(&q->r, api, c, rid);
	q->what = what;
	q->who = api_actor(c);
	snprintf(q->code, sizeof(q->code), "%s", code);
	q->au = api_audit(&q->r, c, action_names[what], q->code, NULL);
	return q;
}

static bool
code_ok(const char *code)
{
	size_t n = strlen(code);
	return n > 0 && n <= CARE_CODE_MAX;
}

static bool
short_ok(const char *s)
{
	return strlen(s) <= CARE_NAME_MAX;
}

/* Family passwords are made on a reader thread: argon2 must not hold up
 * the writer. Then the write op runs. */
static int
family_hash_run(struct store_conn *sc, struct store_op *op)
{
	struct sheet_req *q = (struct sheet_req *)op;
	uint8_t raw[12];
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";

	(void)sc;
	rk_random(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		q->password[i] = alphabet[raw[i] % 32];
	q->password[sizeof(raw)] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return auth_password_hash(q->password, q->r.api->conf->argon2_t,
	                          q->r.api->conf->argon2_m_kib, q->pw_hash,
	                          sizeof(q->pw_hash));
}

static void
family_hash_done(struct store_op *op, int rc)
{
	struct sheet_req *q = (struct sheet_req *)op;
	struct api_conn *c = api_req_conn(&q->r);

	if (c == NULL || rc != RK_OK) {
		if (c != NULL)
			api_send_error3(q->r.api, c, q->r.request_id, RK_ERR_UNAVAILABLE,
			                "try again", NULL);
		sheet_req_free(q);
		return;
	}
	void *journal = q->r.op.journal;
	memset(&q->r.op, 0, sizeof(q->r.op));
	q->r.op.journal = journal;
	submit(q->r.api, c, q);
}

void
api_handle_sheet(struct api *api, struct api_conn *c,
                 const Renkei__V1__Envelope *env)
{
	uint64_t rid = env->request_id;
	struct sheet_req *q;

#define NEED_CODE(p)                                                           \
	do {                                                                   \
		if (!code_ok(p))                                               \
			return api_send_error3(api, c, rid, RK_ERR_INVALID,    \
			                       "name the patient (their code)",  \
			                       "patient");                     \
	} while (0)

	switch (env->body_case) {
	case RENKEI__V1__ENVELOPE__BODY_SHEET_ADD_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_SHEET_CHANGE_REQUEST: {
		bool add = env->body_case == RENKEI__V1__ENVELOPE__BODY_SHEET_ADD_REQUEST;
		const Renkei__V1__SheetAddRequest *a = env->sheet_add_request;
		const Renkei__V1__SheetChangeRequest *m = env->sheet_change_request;
		const char *patient = add ? a->patient : m->patient;
		const char *login = add ? a->login : m->login;
		const char *role = add ? a->team_role : m->team_role;
		NEED_CODE(patient);
		if (add && role[0] == '\0')
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "give the member's role on the team",
			                       "team_role");
		if (!short_ok(role) || !short_ok(add ? a->contact : m->contact))
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "a field is too long", NULL);
		q = sheet_req_new(api, c, rid, add ? SH_ADD : SH_CHANGE, patient);
		q->s1 = rk_strdup(login);
		audit_entry_set_object(q->au, login);
		q->s2 = rk_strdup(role);
		q->s3 = rk_strdup(add ? a->valid_from : m->valid_from);
		q->s4 = rk_strdup(add ? a->valid_until : m->valid_until);
		q->s5 = rk_strdup(add ? a->contact : m->contact);
		q->b1 = add ? true : m->set_primary;
		q->b2 = add ? a->primary : m->primary;
		return submit(api, c, q);
	}
	case RENKEI__V1__ENVELOPE__BODY_SHEET_END_REQUEST: {
		const Renkei__V1__SheetEndRequest *m = env->sheet_end_request;
		NEED_CODE(m->patient);
		if (strlen(m->reason) > CARE_NAME_MAX)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "the reason is too long", "reason");
		q = sheet_req_new(api, c, rid, SH_END, m->patient);
		q->s1 = rk_strdup(m->login);
		audit_entry_set_object(q->au, m->login);
		q->s2 = rk_strdup(m->reason[0] ? m->reason : "ended");
		return submit(api, c, q);
	}
	case RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_REQUEST:
		NEED_CODE(env->sheet_history_request->patient);
		q = sheet_req_new(api, c, rid, SH_HISTORY,
		                  env->sheet_history_request->patient);
		return submit(api, c, q);
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_OPEN_REQUEST: {
		const Renkei__V1__HandoffOpenRequest *m = env->handoff_open_request;
		NEED_CODE(m->patient);
		if (m->summary[0] && !care_client_id_valid(m->client_id))
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "client_id must be 1-64 printable ASCII "
			                       "characters",
			                       "client_id");
		if (strlen(m->summary) > CARE_TEXT_MAX)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "the summary is longer than 16384 bytes",
			                       "summary");
		q = sheet_req_new(api, c, rid, HO_OPEN, m->patient);
		q->s1 = rk_strdup(m->discharge_date);
		q->s2 = rk_strdup(m->summary);
		q->s3 = rk_strdup(m->client_id);
		if (m->new_patient != NULL) {
			const Renkei__V1__Patient *p = m->new_patient;
			const char *src[8] = {p->name, p->kana, p->birth_date, p->sex,
			                      p->area, p->summary, p->wishes, ""};
			for (int i = 0; i < 7; i++)
				q->np_strings[i] = rk_strdup(src[i]);
			q->np.present = true;
			q->np.in.name = q->np_strings[0];
			q->np.in.kana = q->np_strings[1];
			q->np.in.birth_date = q->np_strings[2];
			q->np.in.sex = q->np_strings[3];
			q->np.in.area = q->np_strings[4];
			q->np.in.summary = q->np_strings[5];
			q->np.in.wishes = q->np_strings[6];
		}
		return submit(api, c, q);
	}
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_PROPOSE_REQUEST: {
		const Renkei__V1__HandoffProposeRequest *m = env->handoff_propose_request;
		NEED_CODE(m->patient);
		if (m->n_members == 0 || m->n_members > 50)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "propose 1 to 50 members", "members");
		for (size_t i = 0; i < m->n_members; i++)
			if (m->members[i]->team_role[0] == '\0' ||
			    !short_ok(m->members[i]->team_role))
				return api_send_error3(api, c, rid, RK_ERR_INVALID,
				                       "each member needs a team role",
				                       "members.team_role");
		q = sheet_req_new(api, c, rid, HO_PROPOSE, m->patient);
		q->proposed = rk_calloc(m->n_members, sizeof(*q->proposed));
		for (size_t i = 0; i < m->n_members; i++) {
			q->proposed[i].login = rk_strdup(m->members[i]->login);
			q->proposed[i].team_role = rk_strdup(m->members[i]->team_role);
			q->proposed[i].primary = m->members[i]->primary;
			q->nproposed++;
		}
		return submit(api, c, q);
	}
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_CONFERENCE_REQUEST:
		NEED_CODE(env->handoff_conference_request->patient);
		q = sheet_req_new(api, c, rid, HO_CONFERENCE,
		                  env->handoff_conference_request->patient);
		q->s1 = rk_strdup(env->handoff_conference_request->conference_at);
		return submit(api, c, q);
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_ACCEPT_REQUEST:
		NEED_CODE(env->handoff_accept_request->patient);
		q = sheet_req_new(api, c, rid, HO_ACCEPT,
		                  env->handoff_accept_request->patient);
		return submit(api, c, q);
	case RENKEI__V1__ENVELOPE__BODY_HANDOFF_GET_REQUEST:
		NEED_CODE(env->handoff_get_request->patient);
		q = sheet_req_new(api, c, rid, HO_GET, env->handoff_get_request->patient);
		return submit(api, c, q);
	case RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_REQUEST: {
		const Renkei__V1__BreakGlassRequest *m = env->break_glass_request;
		NEED_CODE(m->patient);
		if (strlen(m->reason) > 2000)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "the reason is too long", "reason");
		q = sheet_req_new(api, c, rid, BG_BREAK, m->patient);
		q->s1 = rk_strdup(m->reason);
		audit_entry_set_reason(q->au, m->reason);
		return submit(api, c, q);
	}
	case RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_REQUEST: {
		const Renkei__V1__FamilyInviteRequest *m = env->family_invite_request;
		NEED_CODE(m->patient);
		if (!auth_login_valid(m->login))
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "login: 1-64 of a-z 0-9 . _ -", "login");
		if (m->display_name[0] == '\0' || !short_ok(m->display_name) ||
		    m->relation[0] == '\0' || !short_ok(m->relation))
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "give the family member's name and relation",
			                       "display_name");
		q = sheet_req_new(api, c, rid, FAM_INVITE, m->patient);
		q->s1 = rk_strdup(m->login);
		audit_entry_set_object(q->au, m->login);
		q->s2 = rk_strdup(m->display_name);
		q->s3 = rk_strdup(m->relation);
		q->r.op.run = family_hash_run;
		q->r.op.done = family_hash_done;
		if (store_submit_read(api->store, &q->r.op) != RK_OK) {
			api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
			                "the server is shutting down; try again shortly",
			                NULL);
			sheet_req_free(q);
		}
		return;
	}
	default:
		api_send_error3(api, c, rid, RK_ERR_INTERNAL, "unhandled request", NULL);
	}
#undef NEED_CODE
}

void
api_grants_expire(struct api *api, int64_t now_ms)
{
	struct api_grant **pg = &api->grants;

	while (*pg != NULL) {
		struct api_grant *g = *pg;
		if (g->expires_ms > now_ms && !api->shutting_down) {
			pg = &g->next;
			continue;
		}
		*pg = g->next;
		/* At shutdown a running grant is recorded as ended then: access
		 * through the server stops with it. */
		g->end->ev.ts_ms = g->expires_ms < now_ms ? g->expires_ms : now_ms;
		api_audit_fire(api, g->end);
		free(g);
	}
}
