/*
 * Escalation of urgent posts, on the service thread's timer
 * (docs/oncall.md). The state is care.db's (escalations): this file only
 * decides when to ask the writer to advance what is due, and after the
 * commit publishes and notifies. Nothing is kept here that a restart
 * would lose: at start esc_next_ms is 0, so the first tick looks, and a
 * step that fell due while the server was down runs then.
 *
 * Between looks the next due time is known from the last advance (the
 * earliest due row) and from the posts committed since (api_escalate_wake);
 * it is looked at least once a minute anyway, so that a missed wake costs
 * at most that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/notice.h"
#include "api/oncall.h"
#include "api/record.h"
#include "api/sub.h"
#include "util/log.h"
#include "util/mem.h"

#define LOOK_EVERY_MS 60000
#define RETRY_MS 5000

struct esc_op {
	struct store_op op;
	struct api *api;
	int64_t now_ms;
	struct care_escalation_step *steps;
	size_t n;
	int64_t next_due_ms;
};

int
api_escalate_records(void **journal, const struct audit_entry *like,
                     const struct care_escalation_step *s)
{
	struct audit_event ev = {0};
	struct audit_entry *e;
	char obj[24];

	if (like != NULL)
		ev = like->ev;
	ev.ts_ms = 0;
	ev.content = NULL;
	ev.patient = s->patient_code;
	snprintf(obj, sizeof(obj), "%lld", (long long)s->post_id);
	ev.action = s->step == 0 ? "escalation.stop" : "escalation.step";
	ev.object = obj;
	ev.reason = s->detail;
	e = audit_entry_new(&ev);
	e->outcome_from_op = true;
	audit_entries_append((struct audit_entry **)journal, e);

	/* Its post, with the digest every post's record carries. */
	snprintf(obj, sizeof(obj), "%lld", (long long)s->event.id);
	ev.action = "post.create";
	ev.reason = NULL;
	e = audit_entry_new(&ev);
	e->outcome_from_op = true;
	audit_entries_append((struct audit_entry **)journal, e);
	return api_content_post(e, &s->event);
}

void
api_escalate_publish(struct api *api, const struct care_escalation_step *s)
{
	api->stats.posts++;
	api_publish_post(api, &s->event);
	if (s->nusers > 0)
		api_notice_users(api, s->patient_id, s->post_id, s->user_ids, s->nusers,
		                 API_NOTICE_ESCALATION, true);
	LOG_I("CARE-ESCALATION", "post_id=%lld step=%d called=%zu%s",
	      (long long)s->post_id, s->step, s->nusers,
	      s->step == 0 ? " stopped" : s->finished ? " finished" : "");
}

static int
esc_run(struct store_conn *sc, struct store_op *op)
{
	struct esc_op *e = (struct esc_op *)op;
	int64_t after_ms = (int64_t)e->api->conf->escalate_after_s * 1000;
	int rc = care_escalation_advance(sc, e->now_ms, after_ms, &e->steps, &e->n,
	                                 &e->next_due_ms);

	for (size_t i = 0; rc == RK_OK && i < e->n; i++)
		rc = api_escalate_records(&op->journal, NULL, &e->steps[i]);
	return rc;
}

static void
esc_done(struct store_op *op, int rc)
{
	struct esc_op *e = (struct esc_op *)op;
	struct api *api = e->api;
	int64_t next = e->now_ms + LOOK_EVERY_MS;

	api->esc_busy = false;
	if (rc == RK_OK) {
		for (size_t i = 0; i < e->n; i++)
			api_escalate_publish(api, &e->steps[i]);
		if (e->next_due_ms != 0 && e->next_due_ms < next)
			next = e->next_due_ms;
		/* A full batch: more may be due now. */
		if (e->n == CARE_ESCALATE_BATCH)
			next = e->now_ms;
	} else {
		LOG_E("CARE-ESCALATION-FAIL", "rc=%d", rc);
		next = e->now_ms + RETRY_MS;
	}
	if (api->esc_wake_ms != 0 && api->esc_wake_ms < next)
		next = api->esc_wake_ms;
	api->esc_wake_ms = 0;
	api->esc_next_ms = next;
	care_escalation_steps_free(e->steps, e->n);
	audit_entries_free(op->journal);
	free(e);
}

void
api_escalate_tick(struct api *api, int64_t now_ms)
{
	struct esc_op *e;

	if (api->esc_busy || api->shutting_down ||
	    (api->esc_next_ms != 0 && now_ms < api->esc_next_ms))
		return;
	e = rk_calloc(1, sizeof(*e));
	e->api = api;
	e->now_ms = now_ms;
	e->op.run = esc_run;
	e->op.done = esc_done;
	if (store_submit_write(api->store, &e->op) != RK_OK) {
		free(e);
		api->esc_next_ms = now_ms + RETRY_MS;
		return;
	}
	api->esc_busy = true;
	api->esc_wake_ms = 0;
}

void
api_escalate_wake(struct api *api, int64_t due_ms)
{
	if (api->esc_busy) {
		if (api->esc_wake_ms == 0 || due_ms < api->esc_wake_ms)
			api->esc_wake_ms = due_ms;
		return;
	}
	/* 0: a look is due at the next tick anyway (it finds this one). */
	if (api->esc_next_ms != 0 && due_ms < api->esc_next_ms)
		api->esc_next_ms = due_ms;
}
