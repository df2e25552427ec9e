/*
 * net — the libwebsockets side: one TLS-only vhost that speaks WebSocket
 * subprotocol "renkei.v1" and plain HTTPS (GET /healthz) on the same port.
 *
 * What it guarantees to api/: complete binary messages only (fragments
 * reassembled, at most api_conn_message_max(): smaller before login;
 * text frames and oversize messages close the connection with 1003 /
 * 1009), one callback per
 * message, and a bounded outbound queue per connection: when a client
 * stops reading and its queue passes out_queue_frames or out_queue_bytes,
 * its queue is dropped and it is closed with 1008 and a reason — the
 * server's memory never grows with a slow client.
 *
 * HTTPS on the same port: GET /healthz; GET /metrics (Prometheus text,
 * for the addresses metrics_access allows); "/", "/app" and "/app/..."
 * are the web client's files (webapp.h, read once by net_new); every
 * other GET goes to
 * api_http_get, which answers through api_transport.http_reply.
 *
 * Thread rules: everything runs on the lws service thread, except
 * net_wake(), which any thread may call.
 */
#ifndef RK_NET_NET_H
#define RK_NET_NET_H

#include <signal.h>
#include <stdint.h>

#include "api/api.h"
#include "util/conf.h"

struct net;

struct net_hooks {
	/* Service thread, after net_wake() from any thread. */
	void (*on_wake)(void *arg);
	/* Service thread, about once a second. */
	void (*on_tick)(void *arg);
	void *arg;
};

/* Create the lws context and listening vhost (TLS certificate and key
 * from conf). Returns NULL with a reason in err. conf and hooks are
 * borrowed for the life of the net. */
struct net *net_new(const struct conf *conf, const struct net_hooks *hooks,
                    char *err, size_t errlen);

/* The transport that api/ sends through, bound to this net. */
struct api_transport net_transport(struct net *n);

/* Give the net its api before serving. */
void net_set_api(struct net *n, struct api *api);

/* Serve until *stop becomes non-zero (set from a signal handler). */
void net_run(struct net *n, volatile sig_atomic_t *stop);

/* Serve until done(arg) returns non-zero or timeout_ms passes. */
void net_run_until(struct net *n, int (*done)(void *arg), void *arg,
                   int timeout_ms);

/* Close every connection with code and reason. */
void net_close_all(struct net *n, int code, const char *reason);

/* Connections currently open. */
int net_connections(const struct net *n);

/* Any thread: wake the service thread (runs hooks->on_wake there). */
void net_wake(void *n);

/* Counters for metrics. */
struct net_stats {
	uint64_t frames_out, bytes_out, frames_in, bytes_in, culled,
		closed_oversize, closed_text, http_responses;
	uint64_t closed_reset; /* reset after close_grace_s (net.c) */
	uint64_t hangups;      /* reset after ping_hangup_s of silence */
	uint64_t refused_total, refused_address; /* at accept (admit.c) */
};
void net_get_stats(const struct net *n, struct net_stats *st);

/* Destroy the context (closing what is still open). NULL is fine. */
void net_free(struct net *n);

#endif
