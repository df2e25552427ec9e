/*
 * api — the renkei.v1 protocol: decode each Envelope, check it, run it
 * against the domain modules (through the store's threads), encode the
 * answer, and keep each connection's protocol state (its session, what it
 * may still do before login).
 *
 * Thread rules: every function here runs on the lws service thread. Work
 * that touches the database is handed to the store as ops; their done()
 * callbacks come back on this thread (store_complete), find the connection
 * again by id (it may have gone) and answer.
 *
 * The transport (net/) is reached only through struct api_transport, so
 * this module knows nothing of libwebsockets.
 */
#ifndef RK_API_API_H
#define RK_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/conf.h"
#include "util/frame.h"

struct api;
struct api_conn;

/* WebSocket close codes api asks for (RFC 6455 and private 4xxx). */
enum {
	API_CLOSE_NORMAL = 1000,
	API_CLOSE_GOING_AWAY = 1001,
	API_CLOSE_POLICY = 1008,
	API_CLOSE_SESSION_ENDED = 4001,
	API_CLOSE_LOGIN_TIMEOUT = 4002,
};

struct api_transport {
	/* Queue frame f to the connection `handle`; takes a reference on
	 * success. Returns 0, or -1 if the connection cannot take it (its
	 * queue is full: the transport is closing it). */
	int (*send)(void *handle, struct frame *f);
	/* Close the connection with a WebSocket close code and reason
	 * (ASCII, < 120 bytes), after what is already queued. */
	void (*close)(void *handle, int code, const char *reason);
	/* Answer HTTPS request http_id (from api_http_get), once. The body
	 * is copied. extra_headers: "name: value\n" lines, or NULL. An id
	 * whose connection has gone is ignored. */
	void (*http_reply)(void *ctx, uint64_t http_id, int status,
	                   const char *content_type, const char *extra_headers,
	                   const uint8_t *body, size_t len);
	/* Stop (allow = 0) or resume (1) reading the connection's socket:
	 * api stops a connection that has max_inflight requests in flight,
	 * so that a client pipelining without waiting is slowed to the
	 * server's pace instead of queueing without bound. May be NULL. */
	void (*rx_flow)(void *handle, int allow);
	void *ctx;
};

/* Borrows conf and store for its lifetime. */
struct api *api_new(const struct conf *conf, struct store *store,
                    const struct api_transport *transport);
void api_free(struct api *api);

/* A connection was established. `address` is the peer's address (copied).
 * The returned state belongs to api; hand it back to api_conn_closed. */
struct api_conn *api_conn_open(struct api *api, void *handle,
                               const char *address);
/* The connection came with a verified TLS client certificate whose
 * SHA-256 (64 lower-case hex digits) is fp (devices.c). */
void api_conn_set_cert(struct api *api, struct api_conn *c, const char *fp);
/* The connection is gone; frees the state and NULLs *cp. */
void api_conn_closed(struct api *api, struct api_conn **cp);

/* The largest message the connection may send now: far smaller before
 * it has logged in (prelogin_max_message_bytes) than after
 * (max_message_bytes), so that connections that never log in cannot make
 * the server hold large unfinished messages. */
size_t api_conn_message_max(const struct api *api, const struct api_conn *c);

/* One complete binary message from the connection. */
void api_on_message(struct api *api, struct api_conn *c, const uint8_t *data,
                    size_t len);

/* An HTTPS GET other than /healthz and /metrics: path, query string
 * (may be ""), Authorization header value (may be ""), peer address.
 * Answer later through transport.http_reply(http_id). */
void api_http_get(struct api *api, uint64_t http_id, const char *path,
                  const char *query, const char *auth, const char *peer);

/* Prometheus text for api's and the store's counters, appended to *buf
 * (a growing string: *len used of *cap). */
void api_metrics(struct api *api, char **buf, size_t *len, size_t *cap);

/* Where the audit journal counts the records it wrote (for /metrics). */
void api_set_audit_counter(struct api *api, const uint64_t *appended);

/* Notices (api/notice.c, docs/notice.md): the notice thread api hands
 * them to (borrowed; NULL: none). Set once, before serving. */
struct notify;
void api_set_notify(struct api *api, struct notify *n);
/* The notice thread woke us: delete the subscriptions the push services
 * said are gone (through the writer). Cheap when there are none. */
void api_notice_service(struct api *api);

/* Housekeeping, about once a second: login timeouts, session expiry. */
void api_tick(struct api *api, int64_t now_ms);

/* Begin shutdown: from now on every request is answered UNAVAILABLE. */
void api_shutdown(struct api *api);

/* ---- the local channel (net/local.c; api/admin.c)
 *
 * An administration request from the host (renkei-server user disable
 * ... beside the running server), already past the socket's peer check:
 * data is one encoded Envelope carrying one of the administration
 * requests. The actor recorded is the operating-system user `user` (no
 * renkei user, no session), the device "renkei-server COMMAND".
 * reply(arg, bytes, len) is called exactly once, on this thread, with the
 * encoded answer (an AdminResponse or an Error Envelope; malloc'ed, the
 * callee frees it): at once for a request refused outright, else once the
 * change has committed (or failed). */
struct api_local_peer {
	unsigned uid;
	int pid;
	char user[64]; /* the peer's user name, or "uid=N" */
};
typedef void api_local_reply(void *arg, uint8_t *bytes, size_t len);
void api_local_request(struct api *api, const uint8_t *data, size_t len,
                       const struct api_local_peer *peer,
                       api_local_reply *reply, void *arg);

/* Counters for metrics and tests. */
/* The limits an audit export may be refused by (RESOURCE_EXHAUSTED). */
enum api_export_limit {
	API_EXPORT_LIMIT_PER_USER,   /* export_max_per_user */
	API_EXPORT_LIMIT_CONCURRENT, /* export_max_concurrent */
	API_EXPORT_LIMIT_SIZE,       /* export_max_mb */
	API_EXPORT_LIMITS
};

struct api_stats {
	uint64_t requests, errors, logins_ok, logins_failed, posts, deliveries;
	uint64_t auth_attacks; /* AUTH-ATTACK events */
	uint64_t upload_bytes;
	uint64_t upload_refused[5]; /* new uploads refused, by enum care_upload_limit */
	uint64_t export_refused[API_EXPORT_LIMITS]; /* by enum api_export_limit */
	uint64_t exports_expired; /* held exports dropped after export_idle_s */
	uint64_t rx_paused;     /* times a connection hit max_inflight */
	uint64_t rate_limited[8]; /* requests refused by the rate, by class */
	uint64_t by_type[160];  /* requests by Envelope body field number */
	uint64_t notices_requested[4]; /* by enum api_notice_why (api/notice.h) */
	uint64_t notices_unresolved; /* recipients not looked up (store busy) */
	uint64_t requests_overdue; /* requests found past their due time */
	uint64_t by_code[17];   /* errors by wire code */
	uint64_t by_rate[8];    /* requests by rate class (api/dispatch.h) */
	int connections;
};
void api_get_stats(const struct api *api, struct api_stats *st);

#endif
