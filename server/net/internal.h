/*
 * Shared by net's own files; not part of its API.
 */
#ifndef RK_NET_INTERNAL_H
#define RK_NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "net/net.h"
#include "net/webapp.h"
#include "util/conf.h"
#include "util/frame.h"
#include "util/idmap.h"

/* A message read while reads were paused (net.c, transport_rx_flow). */
struct held_msg {
	struct held_msg *next;
	size_t len;
	uint8_t data[];
};

/* A WebSocket connection. */
struct pss {
	struct net *net;
	struct lws *wsi;
	struct api_conn *conn;
	/* reassembly of one message */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	/* outbound ring of shared frames, grown on demand */
	struct frame **q;
	uint32_t q_head, q_count, q_cap;
	size_t q_bytes;
	/* pending close */
	bool closing;
	int close_code;
	char close_reason[124];
	/* paused reads (max_inflight): see transport_rx_flow */
	bool rx_paused;  /* api asked: hand it nothing more for now */
	bool lws_paused; /* lws does not read the socket */
	struct held_msg *held, **held_tail;
	size_t held_bytes;
	lws_sorted_usec_list_t rx_sul;
	/* keepalive (net.c) */
	lws_usec_t last_rx_us; /* last anything received: data or pong */
	bool ping_wanted;      /* send a ping when writable */
	bool ping_sent;        /* ... sent, nothing received since */
};

/* An HTTPS request: answered at once (healthz, metrics) or later by api
 * (attachments), through net_http_reply with its id. */
struct http_pss {
	struct net *net;
	struct lws *wsi;
	uint64_t id;      /* in net->http while api may still answer */
	bool ready;       /* the answer is here; write it */
	bool headers_sent;
	bool head;        /* HEAD: the headers of the GET answer, no body */
	bool close_after; /* close the connection once answered (405) */
	int status;
	char ctype[64];
	char extra[512];  /* more header lines: "name: value\n"... */
	const char *cache; /* cache-control (static); NULL = no-store */
	char host[128];    /* the Host asked for, if well-formed: the CSP's
	                    * connect-src names wss://host */
	uint8_t *body;
	size_t len, off;
};

struct net {
	const struct conf *conf;
	struct net_hooks hooks;
	struct api *api;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	lws_sorted_usec_list_t tick_sul;
	unsigned ticks; /* tick_cb calls: the keepalive pass runs every 4th */
	lws_retry_bo_t retry; /* all 0: lws's own keepalive is off (net.c) */
	int nconns;
	int admitted;             /* accepted sockets not yet ended (admit.c) */
	struct idmap per_address; /* address key -> count (as a pointer) */
	struct idmap admit_fd;    /* fd + 1 -> address key, until bound */
	struct net_stats stats;
	struct idmap http;   /* id -> struct http_pss waiting for api */
	struct webapp web;   /* the web client's files (webapp.h) */
	uint64_t next_http_id;
};

struct net *net_of(struct lws *wsi);

/* Admission (admit.c). At accept: 0 to take the socket on fd, -1 to
 * refuse it (over max_connections or max_connections_per_address). When
 * lws makes a connection of it: bind. When that connection ends:
 * release (a connection never bound is ignored). */
int net_admit(struct net *n, int fd);
void net_admit_bind(struct net *n, struct lws *wsi);
void net_admit_release(struct net *n, struct lws *wsi);

/* The http protocol's callback (http.c). */
int net_callback_http(struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len);

/* What an HTTPS request asks for, from what lws parsed of it: its method
 * (GET, HEAD or another), path and peer address (http.c; pure, and what
 * fuzz_http drives). */
enum net_http_route {
	NET_HTTP_NOT_ALLOWED, /* neither GET nor HEAD: 405, then close */
	NET_HTTP_HEALTHZ,
	NET_HTTP_METRICS,
	NET_HTTP_FORBIDDEN,   /* /metrics, from a peer metrics_access refuses */
	NET_HTTP_WEBAPP,      /* "/", "/app" or under "/app/": webapp.h */
	NET_HTTP_API,         /* anything else: api_http_get answers */
};
enum net_http_route net_http_route(const struct conf *conf, bool get, bool head,
                                   const char *path, const char *peer);

/* The extra header lines api hands over with an answer ("name: value\n"
 * each; see api_transport.http_reply), one at a time: returns 1 with
 * name (lowercased, with its ':', NUL-terminated) and the value
 * (*val, *vlen bytes: after the blanks that follow ':', up to the line's
 * end), or 0 at the end. Lines without ':', of NET_HTTP_LINE_MAX bytes or
 * more, or whose name with its ':' takes NET_HTTP_NAME_MAX bytes or more,
 * are skipped.
 * *cur moves past what was read (http.c; pure). */
#define NET_HTTP_LINE_MAX 512
#define NET_HTTP_NAME_MAX 128
int net_http_extra_next(const char **cur, char name[NET_HTTP_NAME_MAX],
                        const char **val, size_t *vlen);

/* Whether a Host header may be named in the CSP (wss://HOST): letters,
 * digits and ".-:[]" only, 1 to NET_HTTP_HOST_MAX - 1 bytes (http.c;
 * pure). Anything else leaves connect-src at 'self'. */
#define NET_HTTP_HOST_MAX 128
int net_http_host_ok(const char *host);

/* api_transport.http_reply (http.c). */
void net_http_reply(void *ctx, uint64_t http_id, int status,
                    const char *content_type, const char *extra_headers,
                    const uint8_t *body, size_t len);

#endif
