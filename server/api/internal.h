/*
 * The state api keeps on the service thread: the api itself, each
 * connection, each live session. Shared by api's own files; not part of
 * its API (that is api.h).
 *
 * How the floor is laid out (no file calls "up" this list):
 *   api.c       lifecycle: connections open and close, housekeeping
 *   dispatch.c  the table of verbs, and the checks every message passes
 *   <verb>.c    one file per family of requests (posts.c, boards.c, ...)
 *   live.c      live sessions (attach, detach, kill)
 *   sub.c       subscriptions and live delivery
 *   req.c       the request pattern (req.h), written once
 *   audit.c     audit records for requests, audit-then-answer
 *   reply.c     encoding and sending answers and errors (reply.h)
 *   wire.c      domain structs -> protobuf (wire.h)
 */
#ifndef RK_API_INTERNAL_H
#define RK_API_INTERNAL_H

#include <stdbool.h>

#include "api/api.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "care/care.h"
#include "renkei.pb-c.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/idmap.h"

/* A session as the service thread sees it: shared by every connection
 * that uses it, freed with the last one. */
/* What a session must do before it may do any work (live_session.
 * pending; SignInStep on the wire): set when it is attached, cleared by
 * the verb that finishes the step. dispatch.c refuses every verb whose
 * row does not allow the steps still pending. */
enum api_pending {
	API_PENDING_PASSWORD = 1u << 0, /* a one-time password to change */
	API_PENDING_TOTP = 1u << 1,     /* a second factor to enrol */
	API_PENDING_ALL = API_PENDING_PASSWORD | API_PENDING_TOTP,
};

struct live_session {
	int64_t id;
	int64_t expires_ms;
	int64_t last_use_ms;  /* any request on any of its connections */
	int64_t touched_ms;   /* last time last_use was written to the db */
	int refs;
	bool ended; /* killed: its connections are closing */
	bool ending; /* a logout is committing: its end is ours, not a revocation */
	unsigned pending; /* enum api_pending: steps left before any work */
	char device[129];
	/* SHA-256 of its token (what care.db holds too), so that an HTTPS
	 * request's bearer token can be matched to a live, device-proven
	 * connection (api_session_here, devices.c). */
	uint8_t token_hash[32];
	struct auth_user user;
	/* The request rate (dispatch.c): one token bucket per rate class,
	 * shared by every connection of the session. */
	double tokens[8];
	int64_t tokens_us[8]; /* last use of each; 0: never */
};

/* A connection's audit export (auditq.c). One being made is counted in
 * api->exports by its request, one held by the connection. */
enum api_export_state {
	API_EXPORT_NONE = 0,
	API_EXPORT_MAKING, /* on a reader */
	API_EXPORT_HELD,   /* made: export_buf, fetched in chunks */
};

struct api_conn {
	uint64_t id;
	void *handle;
	char address[64];
	int64_t opened_ms;
	int prelogin_requests;
	bool closing;
	bool login_busy; /* a login or resume is in flight */
	/* The nonce a ResumeRequest on this connection must sign (devices.c):
	 * made by ResumeChallengeRequest, used up by the next resume. */
	uint8_t resume_nonce[AUTH_NONCE_LEN];
	int64_t resume_nonce_ms; /* monotonic time it was made; 0: none */
	/* Its verified TLS client certificate (devices.c): the SHA-256 in
	 * hex ("" when none), and "cert sha256:<hex>", the device its audit
	 * records name. */
	char cert_fp[AUTH_CERT_FP_LEN + 1];
	char cert_device[AUTH_CERT_FP_LEN + 16];
	int inflight;    /* requests handed to the store, not yet answered */
	bool rx_paused;  /* its socket is not read: inflight hit the cap */
	struct live_session *sess; /* NULL until logged in */
	int64_t *watch;            /* boards watched live (patient ids) */
	size_t nwatch;
	bool syncing;              /* a SyncRequest is being paged */
	enum api_export_state export_state;
	char *export_buf;          /* an audit export being fetched */
	size_t export_len;
	int64_t export_records;
	int64_t export_used_ms;    /* made or last fetched from (monotonic) */
};

/* A break-glass grant running now: its end is recorded when it expires
 * (breakglass.c). */
struct api_grant {
	struct audit_entry *end; /* the record to write at expiry */
	int64_t expires_ms;
	struct api_grant *next;
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
	char *audit_pubkey;         /* the root key (PEM), read once at start */
	char *audit_pubkey_current; /* the key signing now (PEM) */
	int64_t last_gc_ms;
	struct rk_clock_watch clock; /* backward steps of the wall clock */
	/* Revocation (revoke.c): sessions ended since this wall time (less
	 * a margin) are looked for; a look is in flight. */
	int64_t revoke_since_ms;
	bool revoke_busy;
	const uint64_t *audit_appended;
	struct api_grant *grants;
	/* Requests (requests.c): the earliest due time of an open request
	 * not yet found overdue (0: there is none; 1 at start, so that the
	 * first tick looks); a scan is in flight. */
	int64_t requests_due_ms;
	bool requests_busy;
	/* Escalation (escalate.c): look for due steps from this wall time
	 * (0: at the next tick); an advance in flight; the earliest wake
	 * (api_escalate_wake) while it was (0: none). */
	int64_t esc_next_ms;
	bool esc_busy;
	int64_t esc_wake_ms;
	int decoding;       /* photos being decoded now (bounded) */
	int exports;        /* audit exports being made or held (bounded) */
	/* The notice thread (notify/notify.h), or NULL: notices are then
	 * only counted (unit tests, fuzzers, notice_enabled 0 still has
	 * one for the device verbs). Not owned. */
	struct notify *notify;
	struct api_notice_batch *notice_batch; /* posts gathered (notice.c) */
};

/* What GET path?query with Authorization `auth` asks for (http.c; pure,
 * and what fuzz_http drives): 0 with *t filled (t->token is a secret:
 * wipe it), or the HTTP status to answer at once, 404 or 401. */
struct api_http_target {
	int64_t id; /* the attachment */
	bool thumbnail;
	char token[AUTH_TOKEN_LEN + 1];
};
int api_http_parse(const char *path, const char *query, const char *auth,
                   struct api_http_target *t);

#endif
