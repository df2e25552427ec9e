/*
 * Shared by api's own files; not part of its API.
 */
#ifndef RK_API_INTERNAL_H
#define RK_API_INTERNAL_H

#include <stdbool.h>

#include "api/api.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "care/care.h"
#include "renkei.pb-c.h"
#include "util/err.h"
#include "util/idmap.h"

/* A session as the service thread sees it: shared by every connection
 * that uses it, freed with the last one. */
struct live_session {
	int64_t id;
	int64_t expires_ms;
	int64_t last_use_ms;  /* any request on any of its connections */
	int64_t touched_ms;   /* last time last_use was written to the db */
	int refs;
	bool ended; /* killed: its connections are closing */
	char device[129];
	struct auth_user user;
};

struct api_conn {
	uint64_t id;
	void *handle;
	char address[64];
	int64_t opened_ms;
	int prelogin_requests;
	bool closing;
	bool login_busy; /* a login or resume is in flight */
	struct live_session *sess; /* NULL until logged in */
	int64_t *watch;            /* boards watched live (patient ids) */
	size_t nwatch;
	bool syncing;              /* a SyncRequest is being paged */
	char *export_buf;          /* an audit export being fetched */
	size_t export_len;
	int64_t export_records;
};

struct api {
	const struct conf *conf;
	struct store *store;
	struct api_transport tr;
	struct idmap conns;    /* conn id -> struct api_conn */
	struct idmap sessions; /* session id -> struct live_session */
	struct idmap boards;   /* patient id -> watchers (sub.c) */
	uint64_t next_conn_id;
	bool shutting_down;
	struct api_stats stats;
	struct auth_limits limits;
	char *audit_pubkey; /* PEM, read once at start */
	int64_t last_gc_ms;
	const uint64_t *audit_appended;
	/* Break-glass grants running now: their end is recorded when they
	 * expire (sheet.c, api_tick). */
	struct api_grant *grants;
	int decoding;       /* photos being decoded now (bounded) */
};

/* Every request that goes to the store starts with this. */
struct api_req {
	struct store_op op;
	struct api *api;
	uint64_t conn_id;
	uint64_t request_id;
	struct rk_status st;
	/* audit-then-reply (audit.c) */
	int read_rc;
	void (*reply)(struct api_req *r, int rc);
};

/* Initialise the common part; the caller sets op.run / op.done. */
void api_req_init(struct api_req *r, struct api *api, struct api_conn *c,
                  uint64_t request_id);
/* The connection a request came from, or NULL if it has gone. */
struct api_conn *api_req_conn(struct api_req *r);

/* ---- audit (audit.c) */

/* A journal entry for request r from connection c (actor, session,
 * address, device from c; outcome from the op that carries it), appended
 * to r->op.journal. Returns the entry so that the op can fill in the
 * patient or object once it knows them. */
struct audit_entry *api_audit(struct api_req *r, const struct api_conn *c,
                              const char *action, const char *patient,
                              const char *object);
/* The same before login: the actor is the login as typed. */
struct audit_entry *api_audit_anon(struct api_req *r, const struct api_conn *c,
                                   const char *action, const char *login);
/* Free the request's journal entries (every done() calls this). */
void api_req_fini(struct api_req *r);
/* After a read: commit the request's audit records (an audit-only write
 * op whose outcome is rc), then call reply(r, rc) — or reply(r,
 * RK_ERR_UNAVAILABLE) if they could not be written (fail closed). The
 * caller's done() must not free r: reply does. */
void api_audit_then(struct api_req *r, int rc,
                    void (*reply)(struct api_req *r, int rc));
/* The done() of a read op whose r->reply is set: api_audit_then(r, rc,
 * r->reply). Saves each read its own three-line wrapper. */
void api_read_done(struct store_op *op, int rc);
/* Commit `entries` on their own (nobody waits for the answer). */
void api_audit_fire(struct api *api, struct audit_entry *entries);

/* Encode and queue one envelope to c. */
void api_send(struct api *api, struct api_conn *c,
              const Renkei__V1__Envelope *env);
/* Answer request_id with an Error built from st (code mapped from
 * st->err in one table). An unset st (err RK_OK) means the batch failed
 * to commit: answered UNAVAILABLE, try again. */
void api_send_error(struct api *api, struct api_conn *c, uint64_t request_id,
                    const struct rk_status *st);
void api_send_error3(struct api *api, struct api_conn *c, uint64_t request_id,
                     int err, const char *msg, const char *field);

/* The wire code for an rk_err. */
Renkei__V1__Code api_code_of(int err);

/* Close a connection (once). */
void api_conn_close(struct api *api, struct api_conn *c, int code,
                    const char *reason);

/* Attach / detach a connection to a live session. */
void api_session_attach(struct api *api, struct api_conn *c,
                        const struct auth_session *s, int64_t now_ms);
void api_session_detach(struct api *api, struct api_conn *c);
/* A request arrived on c's session: note the use, and write it back to
 * the database now and then. */
void api_session_used(struct api *api, struct api_conn *c, int64_t now_ms);
/* End a session on every connection using it: send SessionEnded, close. */
void api_session_kill(struct api *api, int64_t session_id, const char *reason);

/* Fill a wire User from an auth_user; strings are borrowed from u. */
void api_user_to_wire(const struct auth_user *u, Renkei__V1__User *w,
                      Renkei__V1__Organisation *org);

/* Check every string field of a decoded message (recursively) is valid
 * UTF-8; on failure names the field in *field. */
bool api_strings_valid(const ProtobufCMessage *m, const char **field);

/* ---- handlers (session.c) */
void api_handle_login(struct api *api, struct api_conn *c, uint64_t rid,
                      const Renkei__V1__LoginRequest *req);
void api_handle_resume(struct api *api, struct api_conn *c, uint64_t rid,
                       const Renkei__V1__ResumeRequest *req);
void api_handle_logout(struct api *api, struct api_conn *c, uint64_t rid);
void api_handle_whoami(struct api *api, struct api_conn *c, uint64_t rid);

/* ---- care (care.c) */
/* A wire Post with the parts it points to; strings borrowed from the
 * care_post, which must outlive it. */
struct api_post_wire {
	Renkei__V1__Post post;
	Renkei__V1__User author;
	Renkei__V1__Vitals vitals;
	Renkei__V1__Attachment att[CARE_ATTACH_MAX];
	Renkei__V1__Attachment *attp[CARE_ATTACH_MAX];
	char sha_hex[CARE_ATTACH_MAX][65];
};
/* A wire Attachment from a stored one; hex[65] holds the digest text. */
void api_attachment_to_wire(const struct care_attachment *a,
                            Renkei__V1__Attachment *w, char hex[65]);
void api_post_to_wire(const struct care_post *p, struct api_post_wire *w);
/* The policy's view of the connection's user. */
struct policy_actor api_actor(const struct api_conn *c);

void api_handle_care(struct api *api, struct api_conn *c,
                     const Renkei__V1__Envelope *env);

/* A wire sheet (SheetMember list) with what it points to. */
struct api_sheet_wire {
	size_t n;
	Renkei__V1__SheetMember *ms, **ptrs;
	Renkei__V1__User *users;
	Renkei__V1__Organisation *orgs;
	char (*dates)[2][11];
};
void api_sheet_to_wire(const struct care_member *m, size_t n,
                       struct api_sheet_wire *w);
void api_sheet_wire_fini(struct api_sheet_wire *w);

/* ---- sheet, hand-off, break-glass, family (sheet.c) */
void api_handle_sheet(struct api *api, struct api_conn *c,
                      const Renkei__V1__Envelope *env);

/* ---- break-glass ends (sheet.c) */
struct api_grant {
	struct audit_entry *end; /* the record to write at expiry */
	int64_t expires_ms;
	struct api_grant *next;
};
/* Record the end of every grant that has expired by now_ms. */
void api_grants_expire(struct api *api, int64_t now_ms);

/* ---- photos (attach.c) */
void api_handle_attach(struct api *api, struct api_conn *c,
                       const Renkei__V1__Envelope *env);
/* Delete abandoned uploads and orphaned photos (from api_tick). */
void api_media_gc(struct api *api);

/* ---- auditors (auditq.c) */
void api_handle_audit(struct api *api, struct api_conn *c,
                      const Renkei__V1__Envelope *env);
void api_export_drop(struct api_conn *c);

/* ---- subscriptions (sub.c) */
void api_sub_set(struct api *api, struct api_conn *c,
                 const struct care_board *boards, size_t n);
void api_sub_clear(struct api *api, struct api_conn *c);
void api_sub_free_all(struct api *api);
/* Apply a committed change of someone's access to live subscriptions:
 * update or drop that user's watch of that board, on every connection. */
void api_sub_access(struct api *api, const struct care_access_change *ch);
void api_publish_post(struct api *api, const struct care_post *p);
void api_publish_ack(struct api *api, const struct care_post *p,
                     const struct auth_user *u, int64_t acked_ms);

#endif
