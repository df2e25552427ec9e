/*
 * Account administration: create, disable, enable, reset password, reset
 * second factor, unlock, organisation add (proto/renkei.proto,
 * "administration"; docs/accounts.md "Administration").
 *
 * Two ways in, one path:
 *  - a request on a connection whose session is an admin's (api_admin,
 *    the rows of dispatch.c);
 *  - a request from the host's local channel (net/local.c hands the bytes
 *    to api_local_request): no connection and no session; the actor is
 *    the operating-system user the socket's peer credentials name.
 *
 * Either way the request is one struct admin_req. Creating an account
 * and resetting a password first make the one-time password and its hash
 * on the store's hashers (argon2 never runs on the writer), then one
 * write op makes the change; its audit record rides on that op, so that
 * it commits with the change or not at all (staged in care.db's outbox
 * and forwarded, docs/audit-commit.md), and a checkpoint is signed right
 * after it. The one-time password is only ever in the answer: never in
 * the record, never in a log line, and wiped when the request is freed.
 *
 * Live effect: once the op has committed (its done() on this thread),
 * every live session of the target is closed (SessionEnded, 4001) before
 * this thread does anything else, so no event committed after the change
 * reaches them. Sessions of this server that a write op of another
 * process ends are found by revoke.c; the write guard (api_revoke_guard)
 * re-checks that the admin asking is still enabled and their session
 * live, within the op's own transaction.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/dispatch.h"
#include "api/live.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/wirecheck.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define B(name) RENKEI__V1__ENVELOPE__BODY_##name
#define REASON_MAX 2000

enum admin_op {
	OP_CREATE,
	OP_DISABLE,
	OP_ENABLE,
	OP_RESET_PASSWORD,
	OP_RESET_2FA,
	OP_UNLOCK,
	OP_ORG_ADD,
};

/* Per op: its body, the command that does it on the host (the local
 * channel's device name) and why the target's sessions end (NULL: they
 * stay). The audit action is the dispatch row's. */
static const struct {
	Renkei__V1__Envelope__BodyCase body;
	const char *command;
	const char *ends;
} ops[] = {
	[OP_CREATE] = {B(ADMIN_CREATE_USER_REQUEST), "user add", NULL},
	[OP_DISABLE] = {B(ADMIN_DISABLE_USER_REQUEST), "user disable",
	                "account disabled"},
	[OP_ENABLE] = {B(ADMIN_ENABLE_USER_REQUEST), "user enable", NULL},
	[OP_RESET_PASSWORD] = {B(ADMIN_RESET_PASSWORD_REQUEST),
	                       "user reset-password", "password reset"},
	[OP_RESET_2FA] = {B(ADMIN_RESET_SECOND_FACTOR_REQUEST), "user reset-2fa",
	                  "second factor reset"},
	[OP_UNLOCK] = {B(ADMIN_UNLOCK_USER_REQUEST), "user unlock", NULL},
	[OP_ORG_ADD] = {B(ADMIN_ORG_ADD_REQUEST), "org add", NULL},
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* What a request says, borrowed from the decoded message. */
struct admin_fields {
	enum admin_op op;
	const char *target; /* login, or the organisation code */
	const char *display_name, *org, *name, *kind, *area, *reason;
	int profession;
};

struct admin_req {
	struct api_req r;
	struct admin_fields f; /* strings owned by r (api_req_strdup) */
	char one_time[AUTH_ONE_TIME_LEN + 1];
	char pw_hash[160];
	int64_t target_id;
	/* The local channel's answer (NULL on a connection, or once sent). */
	api_local_reply *local;
	void *local_arg;
};

static bool
op_of(Renkei__V1__Envelope__BodyCase body, enum admin_op *op)
{
	for (size_t i = 0; i < NOPS; i++)
		if (ops[i].body == body) {
			*op = (enum admin_op)i;
			return true;
		}
	return false;
}

/* Read the message of an admin body into f, without checking it. */
static void
fields_of(enum admin_op op, const void *msg, struct admin_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->op = op;
	if (op == OP_CREATE) {
		const Renkei__V1__AdminCreateUserRequest *m = msg;
		f->target = m->login;
		f->display_name = m->display_name;
		f->profession = (int)m->profession;
		f->org = m->org;
		f->reason = m->reason;
	} else if (op == OP_ORG_ADD) {
		const Renkei__V1__AdminOrgAddRequest *m = msg;
		f->target = m->code;
		f->name = m->name;
		f->kind = m->kind;
		f->area = m->area;
		f->reason = m->reason;
	} else {
		const Renkei__V1__AdminUserRequest *m = msg;
		f->target = m->login;
		f->reason = m->reason;
	}
}

/* A reason an auditor can read: not empty, not only white space (the
 * ideographic space U+3000 and the no-break space count as space). */
static bool
reason_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= REASON_MAX && rk_text_visible_len(s, n) > 0;
}

/* The checks before anything is done (the domain checks the rest: the
 * display name, the profession, the organisation). */
static int
fields_check(const struct admin_fields *f, struct rk_status *st)
{
	if (!reason_ok(f->reason))
		return rk_fail(st, RK_ERR_INVALID, "give a reason for this change",
		               "reason");
	if (f->op == OP_ORG_ADD)
		return auth_login_valid(f->target)
		               ? RK_OK
		               : rk_fail(st, RK_ERR_INVALID,
		                         "organisation code: 1-64 of a-z 0-9 . _ -",
		                         "code");
	if (!auth_login_valid(f->target))
		return rk_fail(st, RK_ERR_INVALID, "login: 1-64 of a-z 0-9 . _ -",
		               "login");
	if (f->op == OP_CREATE) {
		if (f->display_name[0] == '\0' ||
		    strlen(f->display_name) > AUTH_NAME_MAX ||
		    strchr(f->display_name, '\n') != NULL)
			return rk_fail(st, RK_ERR_INVALID,
			               "display name is empty or invalid", "display_name");
		if (f->profession <= PROF_NONE || f->profession >= PROF__COUNT)
			return rk_fail(st, RK_ERR_INVALID, "unknown profession",
			               "profession");
	}
	return RK_OK;
}

/* ------------------------------------------------------------- answers */

/* Encode env for the local channel and hand it over (once). */
static void
local_send(struct admin_req *q, const Renkei__V1__Envelope *env)
{
	size_t n = renkei__v1__envelope__get_packed_size(env);
	uint8_t *buf = rk_malloc(n > 0 ? n : 1);
	api_local_reply *reply = q->local;

	renkei__v1__envelope__pack(env, buf);
	q->local = NULL;
	reply(q->local_arg, buf, n);
}

static void
local_error(struct api *api, api_local_reply *reply, void *arg, uint64_t rid,
            int err, const char *msg, const char *field)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__Error e = RENKEI__V1__ERROR__INIT;
	size_t n;
	uint8_t *buf;

	(void)api;
	e.code = api_code_of(err);
	e.message = (char *)(msg ? msg : rk_strerror(err));
	e.field = (char *)(field ? field : "");
	env.request_id = rid;
	env.body_case = B(ERROR);
	env.error = &e;
	n = renkei__v1__envelope__get_packed_size(&env);
	buf = rk_malloc(n);
	renkei__v1__envelope__pack(&env, buf);
	reply(arg, buf, n);
}

/* The answer to an op that failed with rc (its st, as api_reply_status
 * reads it). */
static void
answer_error(struct admin_req *q, int rc)
{
	const struct rk_status *st = &q->r.st;
	struct api_conn *c;

	if (q->local == NULL) {
		if ((c = api_req_conn(&q->r)) != NULL)
			api_reply_status(q->r.api, c, q->r.request_id, st, rc);
		return;
	}
	if (st->err != RK_OK)
		local_error(q->r.api, q->local, q->local_arg, q->r.request_id, st->err,
		            st->msg, st->field);
	else
		local_error(q->r.api, q->local, q->local_arg, q->r.request_id,
		            rc == RK_ERR_EXHAUSTED ? RK_ERR_EXHAUSTED : RK_ERR_UNAVAILABLE,
		            rc == RK_ERR_EXHAUSTED
		                    ? API_MSG_DISK_FULL
		                    : "could not be saved; nothing was done; try again",
		            NULL);
	q->local = NULL;
}

static void
answer_ok(struct admin_req *q, uint32_t closed)
{
	Renkei__V1__AdminResponse ar = RENKEI__V1__ADMIN_RESPONSE__INIT;
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	struct api_conn *c;

	ar.target = (char *)q->f.target;
	ar.one_time_password = q->one_time;
	ar.sessions_closed = closed;
	if (q->local != NULL) {
		env.request_id = q->r.request_id;
		env.body_case = B(ADMIN_RESPONSE);
		env.admin_response = &ar;
		local_send(q, &env);
	} else if ((c = api_req_conn(&q->r)) != NULL) {
		api_reply(q->r.api, c, q->r.request_id, B(ADMIN_RESPONSE), &ar);
	}
}

/* Whatever happened, a local request is answered exactly once: one that
 * is freed unanswered (the store refused it: shutting down, or busy) is
 * told so here. */
static void
admin_fini(struct api_req *r)
{
	struct admin_req *q = (struct admin_req *)r;

	if (q->local != NULL)
		local_error(r->api, q->local, q->local_arg, r->request_id,
		            RK_ERR_UNAVAILABLE, API_MSG_BUSY, NULL);
	q->local = NULL;
	OPENSSL_cleanse(q->one_time, sizeof(q->one_time));
	OPENSSL_cleanse(q->pw_hash, sizeof(q->pw_hash));
}

/* ------------------------------------------------------------- the ops */

static int
write_run(struct store_conn *sc, struct store_op *op)
{
	struct admin_req *q = (struct admin_req *)op;
	struct rk_status *st = &q->r.st;
	int64_t now = rk_now_ms();
	struct auth_user u;
	int rc;

	switch (q->f.op) {
	case OP_CREATE:
		return auth_user_create_one_time(sc, q->f.target, q->f.display_name,
		                                 (enum profession)q->f.profession,
		                                 q->f.org, q->pw_hash, &q->target_id,
		                                 st);
	case OP_ORG_ADD:
		return auth_org_add(sc, q->f.target, q->f.name, q->f.kind, q->f.area,
		                    st);
	default:
		break;
	}
	rc = auth_user_load(sc, q->f.target, 0, &u);
	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	if (rc != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	q->target_id = u.id;
	switch (q->f.op) {
	case OP_DISABLE:
		return auth_user_disable(sc, q->f.target, now, st);
	case OP_ENABLE:
		return auth_user_enable(sc, q->f.target, st);
	case OP_RESET_PASSWORD:
		rc = auth_password_reset_hashed(sc, u.id, q->pw_hash, now);
		break;
	case OP_RESET_2FA:
		rc = auth_totp_forget(sc, u.id, now);
		break;
	case OP_UNLOCK:
		rc = auth_login_unlock(sc, q->f.target);
		break;
	default:
		rc = RK_ERR_INTERNAL;
	}
	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	if (rc != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	return RK_OK;
}

/* The target's live sessions on this server that a change ends (not
 * already ended, nor logging out): *ids malloc'ed, the count returned. */
static size_t
target_sessions(struct admin_req *q, int64_t **ids)
{
	struct api *api = q->r.api;
	size_t n = 0, cap = 0, pos = 0;
	uint64_t id;
	void *v;

	*ids = NULL;
	if (ops[q->f.op].ends == NULL || q->target_id == 0)
		return 0;
	while (idmap_next(&api->sessions, &pos, &id, &v)) {
		const struct live_session *ls = v;
		if (ls->user.id != q->target_id || ls->ended || ls->ending)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			*ids = rk_realloc(*ids, cap * sizeof(**ids));
		}
		(*ids)[n++] = ls->id;
	}
	return n;
}

static void
write_done(struct store_op *op, int rc)
{
	struct admin_req *q = (struct admin_req *)op;

	/* Sessions the guard found ended elsewhere go first (req.c). */
	api_revoke_apply(&q->r);
	if (rc != RK_OK) {
		answer_error(q, rc);
	} else {
		/* Answer, then close: all on this thread, before any other
		 * completion, so nothing reaches the target in between (and an
		 * admin who disabled themselves still hears the answer). */
		int64_t *ids;
		size_t n = target_sessions(q, &ids);

		LOG_I("ADMIN-DONE", "op=\"%s\" target=%s sessions=%zu",
		      ops[q->f.op].command, q->f.target, n);
		answer_ok(q, (uint32_t)n);
		/* Collected first: closing changes what the map holds. */
		for (size_t i = 0; i < n; i++)
			api_session_revoked(q->r.api, ids[i], ops[q->f.op].ends);
		free(ids);
	}
	api_req_release(&q->r);
}

static int
hash_run(struct store_conn *sc, struct store_op *op)
{
	struct admin_req *q = (struct admin_req *)op;

	(void)sc;
	auth_one_time_password(q->one_time);
	if (auth_password_hash(q->one_time, q->r.api->conf->argon2_t,
	                       q->r.api->conf->argon2_m_kib, q->pw_hash,
	                       sizeof(q->pw_hash)) != RK_OK)
		return rk_fail(&q->r.st, RK_ERR_UNAVAILABLE,
		               "could not make a one-time password; try again", NULL);
	return RK_OK;
}

static void
hash_done(struct store_op *op, int rc)
{
	struct admin_req *q = (struct admin_req *)op;

	if (rc != RK_OK) {
		answer_error(q, rc);
		api_req_release(&q->r);
		return;
	}
	api_req_next(&q->r, true, write_run, write_done);
}

/* Take the fields into q (copies) and hand it to the store. */
static void
admin_start(struct admin_req *q, const struct admin_fields *f)
{
	struct api_req *r = &q->r;

	q->f.op = f->op;
	q->f.target = api_req_strdup(r, f->target);
	q->f.display_name = api_req_strdup(r, f->display_name);
	q->f.org = api_req_strdup(r, f->org);
	q->f.name = api_req_strdup(r, f->name);
	q->f.kind = api_req_strdup(r, f->kind);
	q->f.area = api_req_strdup(r, f->area);
	q->f.reason = api_req_strdup(r, f->reason);
	q->f.profession = f->profession;
	r->fini = admin_fini;
	if (f->op == OP_CREATE || f->op == OP_RESET_PASSWORD) {
		r->op.run = hash_run;
		r->op.done = hash_done;
		api_req_hash(r);
	} else {
		r->op.run = write_run;
		r->op.done = write_done;
		api_req_write(r);
	}
}

/* The record's target and reason, as sent (a refusal names them too). */
static void
record_names(struct audit_entry *e, const struct admin_fields *f)
{
	if (e == NULL)
		return;
	if (f->target != NULL && f->target[0] != '\0')
		audit_entry_set_object(e, f->target);
	if (f->reason != NULL && f->reason[0] != '\0')
		audit_entry_set_reason(e, f->reason);
	e->checkpoint_after = true; /* proven from the moment it exists */
}

/* -------------------------------------------------- over the protocol */

void
api_admin(const struct api_call *call, const void *msg)
{
	struct admin_fields f;
	struct admin_req *q;
	struct rk_status st = {0};
	enum admin_op op;

	if (!op_of(call->verb->body, &op))
		return api_refuse(call, RK_ERR_INTERNAL, NULL, NULL);
	fields_of(op, msg, &f);
	if (call->c->sess->user.profession != PROF_ADMIN) {
		/* Refused, and the attempt recorded before the answer. */
		q = api_req_new(sizeof(*q), call);
		record_names(q->r.au, &f);
		rk_fail(&q->r.st, RK_ERR_DENIED,
		        "only administrators may manage accounts", NULL);
		api_audit_then(&q->r, RK_ERR_DENIED, api_req_finish);
		return;
	}
	if (fields_check(&f, &st) != RK_OK)
		return api_refuse(call, st.err, st.msg, st.field);
	q = api_req_new(sizeof(*q), call);
	record_names(q->r.au, &f);
	admin_start(q, &f);
}

/* -------------------------------------------------- the local channel */

void
api_local_request(struct api *api, const uint8_t *data, size_t len,
                  const struct api_local_peer *peer, api_local_reply *reply,
                  void *arg)
{
	Renkei__V1__Envelope *env;
	const struct api_verb *v;
	const ProtobufCFieldDescriptor *fd;
	struct admin_fields f;
	struct admin_req *q;
	struct audit_event ev = {0};
	struct rk_status st = {0};
	struct wirecheck w;
	char device[64], address[64], toolong[160];
	enum admin_op op;

	api_wirecheck(data, len, &w);
	env = renkei__v1__envelope__unpack(NULL, len, data);
	if (env == NULL || w.result == WIRECHECK_MALFORMED) {
		local_error(api, reply, arg, w.has_request_id ? w.request_id : 0,
		            RK_ERR_INVALID,
		            "the message is not a valid renkei.v1 Envelope", NULL);
		goto out;
	}
	if (w.result == WIRECHECK_BAD_TEXT) {
		local_error(api, reply, arg, env->request_id, RK_ERR_INVALID,
		            "text is not valid UTF-8 or holds a NUL or control "
		            "character",
		            w.field);
		goto out;
	}
	if (w.result == WIRECHECK_TOO_LONG) {
		snprintf(toolong, sizeof(toolong), "%s is longer than %zu bytes",
		         w.field, w.max);
		local_error(api, reply, arg, env->request_id, RK_ERR_INVALID, toolong,
		            w.field);
		goto out;
	}
	v = api_verb_of(env->body_case);
	if (v == NULL || !op_of(env->body_case, &op)) {
		local_error(api, reply, arg, env->request_id, RK_ERR_INVALID,
		            "the local channel takes administration requests only",
		            "body");
		goto out;
	}
	if (api->shutting_down) {
		local_error(api, reply, arg, env->request_id, RK_ERR_UNAVAILABLE,
		            API_MSG_SHUTTING_DOWN, NULL);
		goto out;
	}
	fd = protobuf_c_message_descriptor_get_field(&renkei__v1__envelope__descriptor,
	                                             (unsigned)env->body_case);
	fields_of(op, *(void *const *)((const char *)env + fd->offset), &f);
	if (fields_check(&f, &st) != RK_OK) {
		local_error(api, reply, arg, env->request_id, st.err, st.msg, st.field);
		goto out;
	}

	/* No connection, no session: the operator of the host, as an
	 * offline command names them (admin_trail_actor). */
	q = rk_calloc(1, sizeof(*q));
	q->r.api = api;
	q->r.request_id = env->request_id;
	q->local = reply;
	q->local_arg = arg;
	snprintf(device, sizeof(device), "renkei-server %s", ops[op].command);
	snprintf(address, sizeof(address), "local pid %d", peer->pid);
	ev.action = v->audit;
	ev.actor_login = peer->user;
	ev.device = device;
	ev.address = address;
	q->r.au = audit_entry_new(&ev);
	q->r.au->outcome_from_op = true;
	audit_entries_append((struct audit_entry **)&q->r.op.journal, q->r.au);
	record_names(q->r.au, &f);
	LOG_I("ADMIN-LOCAL", "op=\"%s\" uid=%u pid=%d", ops[op].command, peer->uid,
	      peer->pid);
	admin_start(q, &f);
out:
	if (env != NULL)
		renkei__v1__envelope__free_unpacked(env, NULL);
}
