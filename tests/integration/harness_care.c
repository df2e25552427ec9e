/*
 * Care requests for the harness; see harness.h. Each builds one request
 * on the stack and sends it with h_call: the tests then read like the
 * policy they check, not like protobuf-c plumbing.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JST_OFFSET_MS (9LL * 3600 * 1000)
#define DAY_MS        (86400LL * 1000)

/* Callers may pass NULL for a string the request does not need; the
 * wire form is the same as "". */
static char *
s_or_empty(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

Renkei__V1__Envelope *
h_post_env(struct rkc *c, const char *patient, const char *client_id,
           Renkei__V1__Visibility vis, const char *text)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;

	p.patient = s_or_empty(patient);
	p.client_id = s_or_empty(client_id);
	p.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	p.visibility = vis;
	p.text = s_or_empty(text);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &p;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_amend_env(struct rkc *c, uint64_t post_id, const char *client_id,
            const char *text)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AmendPostRequest a = RENKEI__V1__AMEND_POST_REQUEST__INIT;

	a.post_id = post_id;
	a.client_id = s_or_empty(client_id);
	a.text = s_or_empty(text);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_AMEND_POST_REQUEST;
	req.amend_post_request = &a;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_ack_env(struct rkc *c, uint64_t post_id)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AckRequest a = RENKEI__V1__ACK_REQUEST__INIT;

	a.post_id = post_id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_REQUEST;
	req.ack_request = &a;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_timeline_env(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__TimelineRequest t = RENKEI__V1__TIMELINE_REQUEST__INIT;

	t.patient = s_or_empty(patient);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_TIMELINE_REQUEST;
	req.timeline_request = &t;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_sync_env(struct rkc *c, const char *const *patients, size_t n,
           uint64_t cursor, int live_only)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncRequest s = RENKEI__V1__SYNC_REQUEST__INIT;

	s.patients = (char **)patients;
	s.n_patients = n;
	s.cursor = cursor;
	s.live_only = live_only != 0;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	req.sync_request = &s;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_get_patient_env(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__GetPatientRequest g = RENKEI__V1__GET_PATIENT_REQUEST__INIT;

	g.patient = s_or_empty(patient);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_REQUEST;
	req.get_patient_request = &g;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_sheet_add_env(struct rkc *c, const char *patient, const char *login,
                const char *team_role, int primary, const char *valid_from,
                const char *valid_until)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SheetAddRequest a = RENKEI__V1__SHEET_ADD_REQUEST__INIT;

	a.patient = s_or_empty(patient);
	a.login = s_or_empty(login);
	a.team_role = s_or_empty(team_role);
	a.primary = primary != 0;
	a.valid_from = s_or_empty(valid_from);
	a.valid_until = s_or_empty(valid_until);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_ADD_REQUEST;
	req.sheet_add_request = &a;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_sheet_until_env(struct rkc *c, const char *patient, const char *login,
                  const char *valid_until)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SheetChangeRequest m =
	    RENKEI__V1__SHEET_CHANGE_REQUEST__INIT;

	m.patient = s_or_empty(patient);
	m.login = s_or_empty(login);
	m.valid_until = s_or_empty(valid_until);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_CHANGE_REQUEST;
	req.sheet_change_request = &m;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_sheet_end_env(struct rkc *c, const char *patient, const char *login,
                const char *reason)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SheetEndRequest e = RENKEI__V1__SHEET_END_REQUEST__INIT;

	e.patient = s_or_empty(patient);
	e.login = s_or_empty(login);
	e.reason = s_or_empty(reason);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_END_REQUEST;
	req.sheet_end_request = &e;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_sheet_history_env(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SheetHistoryRequest h =
	    RENKEI__V1__SHEET_HISTORY_REQUEST__INIT;

	h.patient = s_or_empty(patient);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_REQUEST;
	req.sheet_history_request = &h;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_handoff_open_env(struct rkc *c, const char *patient,
                   Renkei__V1__Patient *new_patient, const char *discharge_date,
                   const char *summary, const char *client_id)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__HandoffOpenRequest o =
	    RENKEI__V1__HANDOFF_OPEN_REQUEST__INIT;

	o.patient = s_or_empty(patient);
	o.new_patient = new_patient;
	o.discharge_date = s_or_empty(discharge_date);
	o.summary = s_or_empty(summary);
	o.client_id = s_or_empty(client_id);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_OPEN_REQUEST;
	req.handoff_open_request = &o;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_handoff_propose_env(struct rkc *c, const char *patient,
                      const Renkei__V1__ProposedMember *members, size_t n)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__HandoffProposeRequest p =
	    RENKEI__V1__HANDOFF_PROPOSE_REQUEST__INIT;
	Renkei__V1__ProposedMember **ptrs = calloc(n + 1, sizeof(*ptrs));

	if (ptrs == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		ptrs[i] = (Renkei__V1__ProposedMember *)&members[i];
	p.patient = s_or_empty(patient);
	p.members = ptrs;
	p.n_members = n;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_PROPOSE_REQUEST;
	req.handoff_propose_request = &p;
	r = h_call(c, &req);
	free(ptrs);
	return r;
}

Renkei__V1__Envelope *
h_handoff_conference_env(struct rkc *c, const char *patient,
                         const char *conference_at)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__HandoffConferenceRequest m =
	    RENKEI__V1__HANDOFF_CONFERENCE_REQUEST__INIT;

	m.patient = s_or_empty(patient);
	m.conference_at = s_or_empty(conference_at);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_CONFERENCE_REQUEST;
	req.handoff_conference_request = &m;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_handoff_accept_env(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__HandoffAcceptRequest m =
	    RENKEI__V1__HANDOFF_ACCEPT_REQUEST__INIT;

	m.patient = s_or_empty(patient);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_ACCEPT_REQUEST;
	req.handoff_accept_request = &m;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_handoff_get_env(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__HandoffGetRequest m = RENKEI__V1__HANDOFF_GET_REQUEST__INIT;

	m.patient = s_or_empty(patient);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_GET_REQUEST;
	req.handoff_get_request = &m;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_breakglass_env(struct rkc *c, const char *patient, const char *reason)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__BreakGlassRequest b = RENKEI__V1__BREAK_GLASS_REQUEST__INIT;

	b.patient = s_or_empty(patient);
	b.reason = s_or_empty(reason);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_REQUEST;
	req.break_glass_request = &b;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_family_invite_env(struct rkc *c, const char *patient, const char *login,
                    const char *display_name, const char *relation)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__FamilyInviteRequest f =
	    RENKEI__V1__FAMILY_INVITE_REQUEST__INIT;

	f.patient = s_or_empty(patient);
	f.login = s_or_empty(login);
	f.display_name = s_or_empty(display_name);
	f.relation = s_or_empty(relation);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_REQUEST;
	req.family_invite_request = &f;
	return h_call(c, &req);
}

json_t *
h_ward_user(const char *login, const char *profession, const char *org)
{
	json_t *u = json_pack("{s:s, s:s, s:s, s:s}", "login", login, "name",
	                      login, "profession", profession, "demo_password",
	                      H_DEMO_PASSWORD);
	if (org != NULL)
		json_object_set_new(u, "org", json_string(org));
	return u;
}

json_t *
h_ward_member(const char *login, const char *team_role, int primary,
              const char *from, const char *until)
{
	json_t *m = json_pack("{s:s, s:s, s:b}", "login", login, "team_role",
	                      team_role, "primary", primary);
	if (from != NULL)
		json_object_set_new(m, "from", json_string(from));
	if (until != NULL)
		json_object_set_new(m, "until", json_string(until));
	return m;
}

json_t *
h_ward_post(const char *author, const char *visibility, const char *text)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "author", author, "kind",
	                 "visit_note", "visibility", visibility, "text", text);
}

int
h_env_code(const Renkei__V1__Envelope *env)
{
	if (env == NULL)
		return -1;
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR)
		return (int)env->error->code;
	return RENKEI__V1__CODE__OK;
}

const char *
h_env_outcome(const Renkei__V1__Envelope *env)
{
	if (env == NULL)
		return "(no answer)";
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR)
		return rkc_code_name(env->error->code);
	return "ok";
}

Renkei__V1__Envelope *
h_next_post_event(struct rkc *c, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;

	for (;;) {
		Renkei__V1__Envelope *e = NULL;
		int64_t left = end - h_mono_ms();
		if (rkc_next_event(c, left > 0 ? (int)left : 0, &e) != 0)
			return NULL;
		if (e->body_case == RENKEI__V1__ENVELOPE__BODY_EVENT &&
		    e->event->kind_case == RENKEI__V1__EVENT__KIND_POST)
			return e;
		h_env_free(e);
	}
}

int
h_until_closed(struct rkc *c, int timeout_ms, uint64_t first_forbidden,
               int *ended, int *leaked, char *why, size_t whylen)
{
	int64_t end = h_mono_ms() + timeout_ms;
	Renkei__V1__Envelope *e;

	*ended = *leaked = 0;
	while (h_mono_ms() < end) {
		if (rkc_recv(c, (int)(end - h_mono_ms()), &e) != 0)
			return rkc_close_code(c);
		if (e->body_case == RENKEI__V1__ENVELOPE__BODY_EVENT) {
			if (e->event->kind_case == RENKEI__V1__EVENT__KIND_SESSION_ENDED) {
				*ended = 1;
				if (why != NULL)
					snprintf(why, whylen, "%s",
					         e->event->session_ended->reason);
			}
			if (e->event->kind_case == RENKEI__V1__EVENT__KIND_POST &&
			    first_forbidden != 0 &&
			    e->event->post->post->id >= first_forbidden)
				*leaked = 1;
		}
		h_env_free(e);
	}
	return -1;
}

void
h_jst_date(int days, char out[11])
{
	time_t t =
	    (time_t)((h_now_ms() + JST_OFFSET_MS + days * DAY_MS) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

int64_t
h_ms_to_jst_midnight(void)
{
	int64_t jst = h_now_ms() + JST_OFFSET_MS;
	return DAY_MS - jst % DAY_MS;
}

/* ------------------------------------------------------ on-call (65, 66) */

Renkei__V1__Envelope *
h_callorder_env(struct rkc *c, const char *patient, const char *spec)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SetCallOrderRequest m = RENKEI__V1__SET_CALL_ORDER_REQUEST__INIT;
	Renkei__V1__CallSlotInput slots[16], *sp[16];
	char *logins[16][16];
	char buf[1024];
	size_t ns = 0;
	Renkei__V1__Envelope *r;

	snprintf(buf, sizeof(buf), "%s", spec != NULL ? spec : "");
	/* "a,b+c": slots split by ',', people of one slot by '+'. */
	for (char *save = NULL, *slot = strtok_r(buf, ",", &save);
	     slot != NULL && ns < 16; slot = strtok_r(NULL, ",", &save)) {
		renkei__v1__call_slot_input__init(&slots[ns]);
		slots[ns].logins = logins[ns];
		for (char *s2 = NULL, *l = strtok_r(slot, "+", &s2);
		     l != NULL && slots[ns].n_logins < 16; l = strtok_r(NULL, "+", &s2))
			logins[ns][slots[ns].n_logins++] = l;
		sp[ns] = &slots[ns];
		ns++;
	}
	m.patient = s_or_empty(patient);
	m.n_slots = ns;
	m.slots = sp;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SET_CALL_ORDER_REQUEST;
	req.set_call_order_request = &m;
	r = h_call(c, &req);
	return r;
}

Renkei__V1__Envelope *
h_oncall_set_env(struct rkc *c, const char *org, const char *login,
                 int64_t start_ms, int64_t end_ms, uint64_t remove_id)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__OnCallSetRequest m = RENKEI__V1__ON_CALL_SET_REQUEST__INIT;

	m.org = s_or_empty(org);
	m.login = s_or_empty(login);
	m.start_at_ms = start_ms;
	m.end_at_ms = end_ms;
	m.remove_id = remove_id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_REQUEST;
	req.on_call_set_request = &m;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_oncall_show_env(struct rkc *c, const char *org)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__OnCallShowRequest m = RENKEI__V1__ON_CALL_SHOW_REQUEST__INIT;

	m.org = s_or_empty(org);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ON_CALL_SHOW_REQUEST;
	req.on_call_show_request = &m;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_urgent_post_env(struct rkc *c, const char *patient, const char *client_id,
                  Renkei__V1__Visibility vis, const char *text)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;

	p.patient = s_or_empty(patient);
	p.client_id = s_or_empty(client_id);
	p.kind = RENKEI__V1__POST_KIND__VITALS;
	p.visibility = vis;
	p.urgent = 1;
	p.text = s_or_empty(text);
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &p;
	return h_call(c, &req);
}
