/*
 * Break-glass: a physician or nurse not on the sheet opens a board in an
 * emergency, with a written reason. The grant is a write (with a
 * BREAK_GLASS post the team sees live); its end is an audit record of its
 * own, made while the actor is known and written when the grant expires
 * (or at shutdown while it runs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/sub.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define REASON_MAX 2000

struct breakglass_req {
	struct api_req r;
	struct policy_actor who;
	char code[CARE_CODE_MAX + 1];
	const char *reason;
	int64_t expires_ms;
	struct care_post post;
	struct audit_entry *end; /* the grant's end record, until it is kept */
	char login[AUTH_LOGIN_MAX + 1]; /* for the log line */
};

static void
breakglass_fini(struct api_req *r)
{
	struct breakglass_req *q = (struct breakglass_req *)r;

	care_post_fini(&q->post);
	audit_entries_free(q->end);
}

static int
breakglass_run(struct store_conn *sc, struct store_op *op)
{
	struct breakglass_req *q = (struct breakglass_req *)op;
	int rc = care_breakglass(sc, &q->who, q->code, q->reason, rk_now_ms(),
	                         (int64_t)q->r.api->conf->breakglass_s * 1000,
	                         &q->expires_ms, &q->post, &q->r.st);

	/* The post that tells the team has its own record and digest. */
	if (rc == RK_OK && api_content_extra_post(&q->r, &q->post) != RK_OK)
		rc = rk_fail(&q->r.st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return rc;
}

static void
breakglass_ok(struct api_req *r, struct api_conn *c)
{
	struct breakglass_req *q = (struct breakglass_req *)r;
	struct api *api = r->api;
	struct api_grant *g = rk_calloc(1, sizeof(*g));

	/* The team is told, then the grant's end is kept for later. */
	api->stats.posts++;
	api_publish_post(api, &q->post);
	g->end = q->end;
	q->end = NULL;
	g->expires_ms = q->expires_ms;
	g->next = api->grants;
	api->grants = g;
	LOG_W("CARE-BREAKGLASS", "user=%s patient_id=%lld", q->login,
	      (long long)q->post.patient_id);
	if (c != NULL) {
		Renkei__V1__BreakGlassResponse br = RENKEI__V1__BREAK_GLASS_RESPONSE__INIT;
		br.expires_at_ms = q->expires_ms;
		api_reply(api, c, r->request_id,
		          RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_RESPONSE, &br);
	}
}

/* The step-up code was good (or not needed): the grant itself. */
static void
breakglass_go(struct api_req *r)
{
	api_req_next(r, true, breakglass_run, NULL);
}

void
api_break_glass(const struct api_call *call, const void *msg)
{
	const Renkei__V1__BreakGlassRequest *m = msg;
	struct breakglass_req *q;
	void *end = NULL;

	if (!api_patient_named(call, m->patient))
		return;
	if (strlen(m->reason) > REASON_MAX)
		return api_refuse(call, RK_ERR_INVALID, "the reason is too long",
		                  "reason");
	if (!api_step_up_format_ok(call, m->totp_code))
		return;
	q = api_req_new(sizeof(*q), call);
	q->who = api_actor(call->c);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	q->reason = api_req_strdup(&q->r, m->reason);
	audit_entry_set_patient(q->r.au, q->code);
	audit_entry_set_reason(q->r.au, m->reason);
	snprintf(q->login, sizeof(q->login), "%s", call->c->sess->user.login);
	api_audit_to(&end, call->c, "breakglass.end", q->code, NULL, NULL);
	audit_entry_set_outcome(end, RK_OK);
	q->end = end;
	q->r.ok = breakglass_ok;
	q->r.fini = breakglass_fini;
	/* A fresh second-factor code first (if the user has a factor). */
	api_step_up(&q->r, m->totp_code, breakglass_go);
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
