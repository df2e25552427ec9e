/*
 * The request pattern (req.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/dispatch.h"
#include "api/live.h"
#include "api/record.h"
#include "api/reply.h"
#include "util/mem.h"

void *
api_req_new(size_t size, const struct api_call *call)
{
	struct api_req *r = rk_calloc(1, size);

	r->api = call->api;
	r->conn_id = call->c->id;
	r->request_id = call->rid;
	if (call->c->sess != NULL) {
		r->sess_id = call->c->sess->id;
		r->sess_user_id = call->c->sess->user.id;
	}
	call->c->inflight++;
	if (call->verb != NULL && call->verb->audit != NULL)
		r->au = api_audit(r, call->c, call->verb->audit, NULL, NULL);
	return r;
}

/* One string a request owns. */
struct api_owned {
	struct api_owned *next;
	char s[];
};

char *
api_req_strdup(struct api_req *r, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	struct api_owned *o = rk_malloc(sizeof(*o) + n + 1);

	memcpy(o->s, s != NULL ? s : "", n + 1);
	o->next = r->owned;
	r->owned = o;
	return o->s;
}

int
api_req_found(struct api_req *r, int rc, const char *patient)
{
	if (rc == RK_OK)
		audit_entry_set_patient(r->au, patient);
	return rc;
}

void
api_req_release(struct api_req *r)
{
	struct api_conn *c;

	if (r == NULL)
		return;
	/* One less in flight: read the socket again once half are done. */
	if ((c = idmap_get(&r->api->conns, r->conn_id)) != NULL) {
		c->inflight--;
		if (c->rx_paused && !c->closing &&
		    c->inflight <= r->api->conf->max_inflight / 2) {
			c->rx_paused = false;
			if (r->api->tr.rx_flow != NULL)
				r->api->tr.rx_flow(c->handle, 1);
		}
	}
	if (r->fini != NULL)
		r->fini(r);
	while (r->owned != NULL) {
		struct api_owned *o = r->owned;
		r->owned = o->next;
		OPENSSL_cleanse(o->s, strlen(o->s));
		free(o);
	}
	audit_entries_free(r->op.journal);
	free(r->revoked);
	api_step_up_free(r);
	free(r);
}

struct api_conn *
api_req_conn(struct api_req *r)
{
	struct api_conn *c = idmap_get(&r->api->conns, r->conn_id);
	return c != NULL && !c->closing ? c : NULL;
}

void
api_req_finish(struct api_req *r, int rc)
{
	struct api_conn *c;

	/* Sessions ended elsewhere before this op committed hear nothing
	 * of it: close them first. */
	api_revoke_apply(r);
	c = api_req_conn(r);
	if (rc != RK_OK) {
		if (c != NULL)
			api_reply_status(r->api, c, r->request_id, &r->st, rc);
	} else if (r->ok != NULL && (c != NULL || !r->is_read)) {
		r->ok(r, c);
	}
	api_req_release(r);
}

void
api_req_write_done(struct store_op *op, int rc)
{
	api_req_finish((struct api_req *)op, rc);
}

void
api_req_read_done(struct store_op *op, int rc)
{
	struct api_req *r = (struct api_req *)op;

	r->is_read = true;
	api_audit_then(r, rc, api_req_finish);
}

/* The op, then the "oncall" record if the policy noted a rota entry:
 * a copy of the verb's own record (actor, session, address, patient)
 * under action "oncall", naming the entry, in the same journal, so it
 * commits with the op (a write) or before the answer (a read). Runs on
 * the store thread, touching only r. */
static int
oncall_run(struct store_conn *sc, struct store_op *op)
{
	struct api_req *r = (struct api_req *)op;
	int rc = r->oncall_inner(sc, op);

	if (r->oncall.entry_id != 0 && !r->oncall_logged && r->au != NULL) {
		struct audit_event ev = r->au->ev;
		struct audit_entry *e;
		char obj[24];

		snprintf(obj, sizeof(obj), "%lld", (long long)r->oncall.entry_id);
		ev.action = "oncall";
		ev.object = obj;
		ev.reason = r->oncall.denied ? "on-call shift ended" : "on duty";
		ev.content = NULL;
		e = audit_entry_new(&ev);
		e->outcome_from_op = true;
		audit_entries_append((struct audit_entry **)&r->op.journal, e);
		r->oncall_logged = true;
	}
	return rc;
}

enum lane { LANE_WRITE, LANE_READ, LANE_HASH };

/* Hand r to the store; answer UNAVAILABLE if it takes no more work. */
static int
submit_to(struct api_req *r, enum lane lane)
{
	struct api_conn *c;
	int rc;

	if (r->op.done == NULL)
		r->op.done = lane == LANE_WRITE ? api_req_write_done : api_req_read_done;
	if (r->op.run != NULL && r->op.run != oncall_run && !api_revoke_guarded(r)) {
		r->oncall_inner = r->op.run;
		r->op.run = oncall_run;
	}
	if (lane == LANE_WRITE)
		api_revoke_guard(r);
	rc = lane == LANE_WRITE  ? store_submit_write(r->api->store, &r->op)
	     : lane == LANE_READ ? store_submit_read(r->api->store, &r->op)
	                         : store_submit_hash(r->api->store, &r->op);
	if (rc == RK_OK)
		return RK_OK;
	c = api_req_conn(r);
	if (rc == RK_ERR_EXHAUSTED && lane == LANE_HASH) {
		/* login_queue_max logins wait for the hashers: say so at once
		 * rather than queue this one behind them. */
		if (c != NULL)
			api_reply_error_retry(r->api, c, r->request_id, RK_ERR_EXHAUSTED,
			                      API_MSG_LOGINS_BUSY, API_RETRY_LOGINS_MS);
		api_req_release(r);
		return RK_ERR_EXHAUSTED;
	}
	/* Closing, or the queue is at store_queue_max: UNAVAILABLE either
	 * way (a retry later will do), with the words for which. */
	if (c != NULL)
		api_reply_error(r->api, c, r->request_id, RK_ERR_UNAVAILABLE,
		                rc == RK_ERR_EXHAUSTED ? API_MSG_BUSY
		                                       : API_MSG_SHUTTING_DOWN,
		                NULL);
	api_req_release(r);
	return RK_ERR_UNAVAILABLE;
}

static int
submit(struct api_req *r, bool write)
{
	return submit_to(r, write ? LANE_WRITE : LANE_READ);
}

int
api_req_write(struct api_req *r)
{
	return submit(r, true);
}

int
api_req_hash(struct api_req *r)
{
	return submit_to(r, LANE_HASH);
}

int
api_req_read(struct api_req *r)
{
	return submit(r, false);
}

int
api_req_next(struct api_req *r, bool write,
             int (*run)(struct store_conn *sc, struct store_op *op),
             void (*done)(struct store_op *op, int rc))
{
	void *journal = r->op.journal;

	memset(&r->op, 0, sizeof(r->op));
	r->op.journal = journal;
	r->op.run = run;
	r->op.done = done;
	return submit(r, write);
}

void
api_refuse(const struct api_call *call, int err, const char *msg,
           const char *field)
{
	api_reply_error(call->api, call->c, call->rid, err, msg, field);
}

struct policy_actor
api_actor(const struct api_conn *c)
{
	struct policy_actor a = {c->sess->user.id, c->sess->user.profession, NULL};
	return a;
}

struct policy_actor
api_req_actor(struct api_req *r, const struct api_conn *c)
{
	struct policy_actor a = api_actor(c);
	a.use = &r->oncall;
	return a;
}

bool
api_code_ok(const char *code)
{
	size_t n = strlen(code);
	return n > 0 && n <= CARE_CODE_MAX;
}

bool
api_patient_named(const struct api_call *call, const char *code)
{
	if (api_code_ok(code))
		return true;
	api_refuse(call, RK_ERR_INVALID, "name the patient (their code)", "patient");
	return false;
}

bool
api_id_ok(uint64_t id)
{
	return id != 0 && id <= INT64_MAX;
}

void
api_audit_object_id(struct audit_entry *e, uint64_t id)
{
	char obj[24];
	snprintf(obj, sizeof(obj), "%llu", (unsigned long long)id);
	audit_entry_set_object(e, obj);
}
