/*
 * Audit records for requests (record.h). A read's records commit through
 * an audit-only write op: its run() does nothing and returns the read's
 * own result, which the journal hook writes as the records' outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/record.h"
#include "api/reply.h"
#include "util/log.h"
#include "util/mem.h"

struct audit_entry *
api_audit_to(void **journal, const struct api_conn *c, const char *action,
             const char *patient, const char *object, const char *login)
{
	struct audit_event ev = {0};
	const struct live_session *ls = c != NULL ? c->sess : NULL;
	struct audit_entry *e;

	ev.action = action;
	ev.patient = patient;
	ev.object = object;
	ev.address = c != NULL ? c->address : NULL;
	if (ls != NULL) {
		ev.actor_user_id = ls->user.id;
		ev.actor_login = ls->user.login;
		ev.actor_profession = ls->user.profession;
		ev.actor_org = ls->user.org_code[0] ? ls->user.org_code : NULL;
		ev.session_id = ls->id;
		/* A device certificate names the device; else its own name. */
		ev.device = c->cert_device[0] ? c->cert_device
		            : ls->device[0]   ? ls->device
		                              : NULL;
	} else {
		ev.actor_login = login;
	}
	e = audit_entry_new(&ev);
	e->outcome_from_op = true;
	audit_entries_append((struct audit_entry **)journal, e);
	return e;
}

struct audit_entry *
api_audit(struct api_req *r, const struct api_conn *c, const char *action,
          const char *patient, const char *object)
{
	return api_audit_to(&r->op.journal, c, action, patient, object, NULL);
}

static int
audit_only_run(struct store_conn *sc, struct store_op *op)
{
	(void)sc;
	/* The op's result is the read's: the journal records it. */
	return ((struct api_req *)op)->read_rc;
}

static void
audit_only_done(struct store_op *op, int rc)
{
	struct api_req *r = (struct api_req *)op;

	/* rc is read_rc unless the batch (and so the journal) failed. */
	if (rc != r->read_rc && (rc == RK_ERR_STORE || rc == RK_ERR_EXHAUSTED)) {
		LOG_E("AUDIT-WRITE-FAIL", "conn=%llu full=%d",
		      (unsigned long long)r->conn_id, rc == RK_ERR_EXHAUSTED);
		rc = RK_ERR_UNAVAILABLE;
		rk_fail(&r->st, RK_ERR_UNAVAILABLE,
		        "the access could not be recorded, so it was refused; try "
		        "again",
		        NULL);
	}
	r->then(r, rc);
}

void
api_audit_then(struct api_req *r, int rc, void (*reply)(struct api_req *r, int rc))
{
	void *journal = r->op.journal;

	r->read_rc = rc;
	r->then = reply;
	memset(&r->op, 0, sizeof(r->op));
	r->op.journal = journal;
	r->op.lean = true; /* writes nothing of its own */
	r->op.run = audit_only_run;
	r->op.done = audit_only_done;
	int sub = store_submit_write(r->api->store, &r->op);

	if (sub != RK_OK) {
		rk_fail(&r->st, RK_ERR_UNAVAILABLE,
		        sub == RK_ERR_EXHAUSTED ? API_MSG_BUSY : API_MSG_SHUTTING_DOWN,
		        NULL);
		reply(r, RK_ERR_UNAVAILABLE);
	}
}

struct fire_req {
	struct store_op op;
};

static int
fire_run(struct store_conn *sc, struct store_op *op)
{
	(void)sc;
	(void)op;
	return RK_OK;
}

static void
fire_done(struct store_op *op, int rc)
{
	if (rc != RK_OK)
		LOG_E("AUDIT-WRITE-FAIL", "what=background");
	audit_entries_free(op->journal);
	free(op);
}

void
api_audit_fire(struct api *api, struct audit_entry *entries)
{
	struct fire_req *f;

	if (entries == NULL)
		return;
	f = rk_calloc(1, sizeof(*f));
	f->op.lean = true;
	f->op.run = fire_run;
	f->op.done = fire_done;
	f->op.journal = entries;
	if (store_submit_write(api->store, &f->op) != RK_OK) {
		LOG_E("AUDIT-WRITE-FAIL", "what=background reason=closing");
		fire_done(&f->op, RK_OK);
	}
}

/* ------------------------------------------------------- content digests */

int
api_content_post(struct audit_entry *e, const struct care_post *p)
{
	char hex[CARE_DIGEST_HEX];
	int rc = care_post_digest(p, hex);

	if (rc == RK_OK)
		audit_entry_set_content(e, hex);
	return rc;
}

int
api_content_member(struct store_conn *sc, struct audit_entry *e,
                   const struct care_access_change *ch)
{
	char hex[CARE_DIGEST_HEX];
	int rc = care_sheet_member_digest(sc, ch->patient_id, ch->user_id, hex);

	if (rc == RK_OK)
		audit_entry_set_content(e, hex);
	return rc;
}

int
api_content_handoff(struct store_conn *sc, struct audit_entry *e,
                    int64_t patient_id)
{
	char hex[CARE_DIGEST_HEX];
	int rc = care_handoff_digest(sc, patient_id, hex);

	if (rc == RK_OK)
		audit_entry_set_content(e, hex);
	return rc;
}

int
api_content_photo(struct store_conn *sc, struct audit_entry *e,
                  int64_t attachment_id)
{
	char hex[CARE_DIGEST_HEX];
	int rc = care_attachment_digest(sc, attachment_id, hex);

	if (rc == RK_OK)
		audit_entry_set_content(e, hex);
	return rc;
}

/* One more record like r's own: same actor, session, address, patient;
 * outcome the op's. */
static struct audit_entry *
extra_record(struct api_req *r, const char *action, const char *object,
             const char *hex)
{
	struct audit_event ev = r->au->ev;
	struct audit_entry *e;

	ev.action = action;
	ev.object = object;
	ev.reason = NULL;
	ev.content = hex;
	e = audit_entry_new(&ev);
	e->outcome_from_op = true;
	audit_entries_append((struct audit_entry **)&r->op.journal, e);
	return e;
}

static int
sheet_row_record(void *arg, const char *login, const char *hex)
{
	extra_record(arg, "sheet.row", login, hex);
	return RK_OK;
}

int
api_content_sheet_rows(struct store_conn *sc, struct api_req *r,
                       int64_t patient_id)
{
	return care_sheet_digests(sc, patient_id, sheet_row_record, r);
}

int
api_content_extra_post(struct api_req *r, const struct care_post *p)
{
	char hex[CARE_DIGEST_HEX], obj[24];
	int rc = care_post_digest(p, hex);

	if (rc != RK_OK)
		return rc;
	snprintf(obj, sizeof(obj), "%lld", (long long)p->id);
	extra_record(r, "post.create", obj, hex);
	return RK_OK;
}
