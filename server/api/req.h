/*
 * The request pattern, written once.
 *
 * Every verb handler is given a struct api_call (who asked, on which
 * connection, with which request id, by which row of the verb table).
 * It checks the message's own fields, then, if there is work for the
 * store, makes a request with api_req_new — a struct of the verb's own
 * whose first member is struct api_req — fills in what its op needs and
 * submits it with api_req_write or api_req_read.
 *
 * The life of a request:
 *   api_req_new    allocate, remember the connection by id, and open the
 *                  audit record the verb's row names (r->au)
 *   op.run         on a store thread: the domain call
 *   op.done        back on the service thread:
 *     api_req_write_done  a write: error, or r->ok after the commit
 *     api_req_read_done   a read: first commit its audit records (nothing
 *                         is disclosed before they are durable), then
 *                         error, or r->ok
 *   api_req_release  r->fini for the verb's own parts, the journal, free
 *
 * A verb with two steps (a check on a reader, then a write) moves to the
 * next with api_req_next, which keeps the audit records.
 */
#ifndef RK_API_REQ_H
#define RK_API_REQ_H

#include <stddef.h>

#include "api/internal.h"

struct api_verb;

/* One request as it came in. */
struct api_call {
	struct api *api;
	struct api_conn *c;
	uint64_t rid;
	const struct api_verb *verb;
};

struct api_req {
	struct store_op op;   /* first: the store hands the op back */
	struct api *api;
	uint64_t conn_id;
	uint64_t request_id;
	struct rk_status st;  /* the domain's answer when it refuses */
	struct audit_entry *au; /* the verb's audit record, or NULL */
	int read_rc;          /* a read's result while its records commit */
	void (*then)(struct api_req *r, int rc); /* api_audit_then's reply */
	/* Success, on the service thread, after the commit (for a read,
	 * after its audit records). For a write c is NULL if the connection
	 * has gone: then answer nothing, but do what must happen anyway
	 * (publish). A read's ok is called only with its connection. */
	void (*ok)(struct api_req *r, struct api_conn *c);
	/* Free what the verb's struct owns beyond this header; may be NULL. */
	void (*fini)(struct api_req *r);
	struct api_owned *owned; /* api_req_strdup's copies */
	bool is_read;            /* answered by api_req_read_done */
	/* The session the request came in on (0: none yet), for the write
	 * guard (live.h, revoke.c). */
	int64_t sess_id, sess_user_id;
	int64_t revoke_since_ms; /* the guard looks from here */
	int (*inner_run)(struct store_conn *sc, struct store_op *op);
	struct auth_ended *revoked; /* sessions the guard found ended; owned */
	size_t nrevoked;
	struct api_stepup *stepup; /* a step-up code check (totp.c); owned */
	/* On-call access (policy.h): what the policy noted while the op ran
	 * for an actor made by api_req_actor; one "oncall" audit record
	 * names the rota entry (req.c). */
	struct policy_oncall_use oncall;
	bool oncall_logged;
	int (*oncall_inner)(struct store_conn *sc, struct store_op *op);
};

/* Allocate a request of `size` bytes (>= sizeof(struct api_req)),
 * zeroed, for call; opens the audit record named by the verb's row. The
 * caller sets op.run (and ok, fini, op.lean) before submitting. */
void *api_req_new(size_t size, const struct api_call *call);

/* Submit r to the writer / a reader with op.done = api_req_write_done /
 * api_req_read_done unless op.done is already set. Returns RK_OK; or, if
 * the store refuses (shutting down), answers UNAVAILABLE, releases r and
 * returns RK_ERR_UNAVAILABLE. */
int api_req_write(struct api_req *r);
int api_req_read(struct api_req *r);
/* As api_req_read, on the store's password hashers (a login check, a
 * new password's hash): argon2 never runs on the readers. */
int api_req_hash(struct api_req *r);

/* The standard done()s (see above). */
void api_req_write_done(struct store_op *op, int rc);
void api_req_read_done(struct store_op *op, int rc);

/* Answer r's outcome rc now (error, or r->ok) and release it. What the
 * done()s end with; also for a verb that decides without the store. */
void api_req_finish(struct api_req *r, int rc);

/* The next step of a two-step verb: a new op (run, done; done NULL for
 * the standard one) on the writer or a reader, keeping r's audit
 * records. Returns as api_req_write. */
int api_req_next(struct api_req *r, bool write,
                  int (*run)(struct store_conn *sc, struct store_op *op),
                  void (*done)(struct store_op *op, int rc));

/* A copy of s owned by r (freed with it); "" for NULL. */
char *api_req_strdup(struct api_req *r, const char *s);

/* After a domain call that found the patient: name them in r's audit
 * record if rc is RK_OK. Returns rc. */
int api_req_found(struct api_req *r, int rc, const char *patient);

/* Free r and all it owns. */
void api_req_release(struct api_req *r);

/* The connection r came from, or NULL if it has gone or is closing. */
struct api_conn *api_req_conn(struct api_req *r);

/* Refuse the call now with an Error (nothing was done). */
void api_refuse(const struct api_call *call, int err, const char *msg,
                const char *field);

/* The policy's view of the connection's user. */
struct policy_actor api_actor(const struct api_conn *c);
/* The same for a request that reads or posts on a board: what the
 * policy notes of on-call access goes to r, and becomes an "oncall"
 * audit record (action "oncall", object the rota entry id, the
 * request's patient, the op's outcome) in the op's own journal. */
struct policy_actor api_req_actor(struct api_req *r, const struct api_conn *c);

/* Shared field checks. */
bool api_code_ok(const char *code);        /* a patient code: 1..CARE_CODE_MAX */
/* The request names a patient by a valid code; else it is refused (false). */
bool api_patient_named(const struct api_call *call, const char *code);
bool api_id_ok(uint64_t id);               /* a row id: 1..INT64_MAX */
/* Set e's object to a decimal id. */
void api_audit_object_id(struct audit_entry *e, uint64_t id);

#endif
