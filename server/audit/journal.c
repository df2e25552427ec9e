/*
 * The journal: how audit records reach audit.db. Requests attach entries
 * to their store ops; the writer thread calls audit_journal_batch once per
 * batch, in a transaction it commits before the batch's own.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

static const char *
copy(struct audit_entry *e, int slot, const char *s)
{
	if (s == NULL)
		return NULL;
	e->copies[slot] = rk_strdup(s);
	return e->copies[slot];
}

struct audit_entry *
audit_entry_new(const struct audit_event *ev)
{
	struct audit_entry *e = rk_calloc(1, sizeof(*e));

	e->ev = *ev;
	e->ev.actor_login = copy(e, 0, ev->actor_login);
	e->ev.actor_org = copy(e, 1, ev->actor_org);
	e->ev.address = copy(e, 2, ev->address);
	e->ev.device = copy(e, 3, ev->device);
	e->ev.action = copy(e, 4, ev->action);
	e->ev.patient = copy(e, 5, ev->patient);
	e->ev.object = copy(e, 6, ev->object);
	e->ev.error_code = copy(e, 7, ev->error_code);
	e->ev.reason = copy(e, 8, ev->reason);
	if (e->ev.ts_ms == 0)
		e->ev.ts_ms = rk_now_ms();
	return e;
}

void
audit_entry_set_patient(struct audit_entry *e, const char *patient)
{
	free(e->copies[5]);
	e->copies[5] = NULL;
	e->ev.patient = copy(e, 5, patient);
}

void
audit_entry_set_object(struct audit_entry *e, const char *object)
{
	free(e->copies[6]);
	e->copies[6] = NULL;
	e->ev.object = copy(e, 6, object);
}

void
audit_entry_set_session(struct audit_entry *e, int64_t session_id,
                        int64_t user_id)
{
	e->ev.session_id = session_id;
	if (user_id != 0)
		e->ev.actor_user_id = user_id;
}

void
audit_entry_set_actor(struct audit_entry *e, int64_t user_id, const char *login,
                      int profession, const char *org, const char *device)
{
	e->ev.actor_user_id = user_id;
	e->ev.actor_profession = profession;
	free(e->copies[0]);
	e->copies[0] = NULL;
	e->ev.actor_login = copy(e, 0, login);
	free(e->copies[1]);
	e->copies[1] = NULL;
	e->ev.actor_org = copy(e, 1, org != NULL && org[0] ? org : NULL);
	free(e->copies[3]);
	e->copies[3] = NULL;
	e->ev.device = copy(e, 3, device != NULL && device[0] ? device : NULL);
}

void
audit_entry_set_reason(struct audit_entry *e, const char *reason)
{
	free(e->copies[8]);
	e->copies[8] = NULL;
	e->ev.reason = copy(e, 8, reason);
}

void
audit_entry_set_outcome(struct audit_entry *e, int rc)
{
	e->outcome_from_op = false;
	e->ev.outcome = rc;
	e->ev.error_code = rc ? rk_err_grpc_name(rc) : NULL; /* static */
}

void
audit_entries_free(struct audit_entry *e)
{
	while (e != NULL) {
		struct audit_entry *next = e->next;
		for (int i = 0; i < 12; i++)
			free(e->copies[i]);
		free(e);
		e = next;
	}
}

void
audit_entries_append(struct audit_entry **list, struct audit_entry *more)
{
	while (*list != NULL)
		list = &(*list)->next;
	*list = more;
}

int
audit_journal_batch(struct store_conn *jc, struct store_op *batch, void *arg)
{
	struct audit_journal *j = arg;
	bool sign_now = false;

	for (struct store_op *op = batch; op != NULL; op = op->next) {
		for (struct audit_entry *e = op->journal; e != NULL; e = e->next) {
			sign_now |= e->checkpoint_after;
			struct audit_event ev = e->ev;
			if (e->outcome_from_op) {
				ev.outcome = op->rc;
				ev.error_code = op->rc ? rk_err_grpc_name(op->rc) : NULL;
			}
			if (audit_append(jc, "audit", &ev) != RK_OK)
				return RK_ERR_STORE;
			if (j != NULL)
				__atomic_fetch_add(&j->appended, 1, __ATOMIC_RELAXED);
		}
	}
	if (j != NULL && j->signer != NULL &&
	    audit_checkpoint_maybe(jc, "audit", j->signer,
	                           sign_now ? 1 : j->every_records,
	                           sign_now ? 1 : j->every_ms, rk_now_ms()) != RK_OK)
		return RK_ERR_STORE;
	return RK_OK;
}

int
audit_journal_close(struct store_conn *jc, void *arg)
{
	struct audit_journal *j = arg;

	if (j == NULL || j->signer == NULL)
		return RK_OK;
	return audit_checkpoint_maybe(jc, "audit", j->signer, 1, 1, rk_now_ms());
}
