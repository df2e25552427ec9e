/*
 * libwebsockets glue, after the lws minimal examples: all state hangs off
 * the vhost's private data (struct net) and each connection's per-session
 * data (struct pss); frames are written only from SERVER_WRITEABLE, as
 * many as the pipe takes, each with LWS_PRE bytes of headroom (our frames
 * reserve FRAME_HEADROOM for it).
 */
#include "net/net.h"
#include "net/internal.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libwebsockets.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "util/frame.h"
#include "util/log.h"
#include "util/mem.h"

_Static_assert(LWS_PRE <= FRAME_HEADROOM, "frames must leave room for LWS_PRE");

#define SUBPROTOCOL "renkei.v1"
/* Our own callback reasons: close this connection (in = reason, len =
 * code); the keepalive pass, once a second. */
static void peer_cert(struct net *n, struct lws *wsi, struct api_conn *conn);

#define CB_CLOSE_ALL (LWS_CALLBACK_USER + 1)
#define CB_KEEPALIVE (LWS_CALLBACK_USER + 2)

/* TLS 1.2 suites: ECDHE + AEAD only. TLS 1.3 suites are all AEAD. */
#define TLS12_CIPHERS                                                          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"         \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_CIPHERS                                                          \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"                       \
	"TLS_CHACHA20_POLY1305_SHA256"

struct net *
net_of(struct lws *wsi)
{
	struct net **pn = lws_protocol_vh_priv_get(lws_get_vhost(wsi),
	                                           lws_get_protocol(wsi));
	return pn ? *pn : NULL;
}

/* ---------------------------------------------------------- outbound queue */

static void
queue_clear(struct pss *p)
{
	while (p->q_count > 0) {
		frame_unref(&p->q[p->q_head]);
		p->q_head = (p->q_head + 1) % p->q_cap;
		p->q_count--;
	}
	p->q_bytes = 0;
	free(p->q);
	p->q = NULL;
	p->q_cap = p->q_head = 0;
}

/*
 * Closing a connection we decided to close (culled, too large, timed out,
 * session ended, shutdown). First politely: the close frame, with code
 * and reason, goes out after what is queued. A client that reads nothing
 * will not take it, nor one whose socket buffers hold megabytes it has
 * stopped reading (a culled watcher). lws's own close steps would wait
 * 5 s for the frame to go, then 5 s for a TLS shutdown that never comes;
 * and once the socket is closed the kernel goes on sending what it holds,
 * so such a client would see its end only after reading all of that — in
 * practice at its ping hang-up, or never. So after close_grace_s the TCP
 * connection is reset (SO_LINGER 0, then closed): the kernel drops what
 * it still holds for it, and the client sees ECONNRESET as soon as it
 * reads. The timer is lws's per-connection hrtimer, which lws's close
 * steps leave alone (they use the pending-timeout slot, and set it anew
 * at each step).
 */
static void
start_close(struct pss *p, int code, const char *reason)
{
	if (p->closing)
		return;
	p->closing = true;
	p->close_code = code;
	snprintf(p->close_reason, sizeof(p->close_reason), "%s", reason);
	int w = lws_callback_on_writable(p->wsi);
	LOG_D("NET-CLOSE-START", "code=%d writable_rc=%d", code, w);
	lws_set_timer_usecs(p->wsi,
	                    (lws_usec_t)p->net->conf->close_grace_s * LWS_US_PER_SEC);
}

/* Reset the TCP connection now: SO_LINGER 0, then closed. lws marks a
 * timed-out socket unusable and closes it without a shutdown or a
 * flush, so with SO_LINGER 0 that is a reset. */
static void
reset_now(struct pss *p)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	lws_sockfd_type fd = lws_get_socket_fd(p->wsi);

	p->closing = true;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0)
		LOG_W("NET-CLOSE-RESET-FAIL", "code=%d fd=%d", p->close_code, (int)fd);
	lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* The grace is over: reset the connection (see start_close). */
static void
reset_connection(struct pss *p)
{
	p->net->stats.closed_reset++;
	LOG_I("NET-CLOSE-RESET", "code=%d grace_s=%d", p->close_code,
	      p->net->conf->close_grace_s);
	reset_now(p);
}

/*
 * Keepalive, ours rather than lws's. lws 4.1 keeps a timer per connection
 * for it in one sorted list and inserts each new one by walking that list
 * from its head: with thousands of connections open, every new one costs
 * a walk over all of them. A flood of 5,000 connections stalled the
 * service thread for 100-300 ms at a time, and everyone's requests with
 * it (a reader's p99 went from 7 ms to 1.3 s). So lws's validity timers
 * are off (n->retry is all 0) and one pass a second over the connections
 * does the same work, as the settings say: a ping after ping_interval_s
 * in which nothing was received, a reset after ping_hangup_s (a peer that
 * silent is gone, or not reading: a close frame would not reach it).
 */
static void
keepalive(struct pss *p, lws_usec_t now)
{
	const struct conf *conf = p->net->conf;
	lws_usec_t idle = now - p->last_rx_us;

	if (p->closing)
		return;
	if (idle >= (lws_usec_t)conf->ping_hangup_s * LWS_US_PER_SEC) {
		p->net->stats.hangups++;
		LOG_I("NET-HANGUP", "silent_s=%lld", (long long)(idle / LWS_US_PER_SEC));
		reset_now(p);
		return;
	}
	if (!p->ping_sent && !p->ping_wanted &&
	    idle >= (lws_usec_t)conf->ping_interval_s * LWS_US_PER_SEC) {
		p->ping_wanted = true;
		lws_callback_on_writable(p->wsi);
	}
}

static int
transport_send(void *handle, struct frame *f)
{
	struct pss *p = handle;
	struct net *n = p->net;

	if (p->closing)
		return -1;
	/* A frame larger than the byte bound on its own (a big sync page)
	 * is not a sign of a slow client: it may go when nothing waits. */
	if (p->q_count + 1 > (uint32_t)n->conf->out_queue_frames ||
	    (p->q_count > 0 &&
	     p->q_bytes + f->len > (size_t)n->conf->out_queue_bytes)) {
		n->stats.culled++;
		LOG_W("NET-CULL", "frames=%u bytes=%zu", p->q_count, p->q_bytes);
		queue_clear(p);
		start_close(p, LWS_CLOSE_STATUS_POLICY_VIOLATION,
		            "outbound queue full: client too slow; reconnect and resync");
		return -1;
	}
	if (p->q_count == p->q_cap) {
		uint32_t ncap = p->q_cap ? p->q_cap * 2 : 8;
		struct frame **nq = rk_malloc(ncap * sizeof(*nq));
		for (uint32_t i = 0; i < p->q_count; i++)
			nq[i] = p->q[(p->q_head + i) % p->q_cap];
		free(p->q);
		p->q = nq;
		p->q_head = 0;
		p->q_cap = ncap;
	}
	p->q[(p->q_head + p->q_count) % p->q_cap] = frame_ref(f);
	p->q_count++;
	p->q_bytes += f->len;
	lws_callback_on_writable(p->wsi);
	return 0;
}

static void
transport_close(void *handle, int code, const char *reason)
{
	start_close(handle, code, reason);
}

/*
 * Pausing reads while a connection has max_inflight requests in flight.
 * The pause is asked for while a message is being handed over, that is
 * inside lws's read of the socket. Turning lws's rx flow control on right
 * there is what the lws examples do, but in lws 4.1 it can spin forever:
 * when the rest of the chunk it read is cached and OpenSSL still holds
 * decrypted bytes of the same record (requests pipelined in 16 KiB
 * records), its read loop goes back to the cache, which flow control
 * will not let it use, then back to OpenSSL's pending bytes, and so on —
 * the service thread at 100 % and nobody answered. So the pause takes
 * effect in two steps: at once for api (what lws still hands over in
 * this read is held here, in order: at most about one TLS record, or one
 * message), and for the socket on the next turn of the service loop (a
 * zero-delay sul), where lws has nothing cached. Resuming hands api what
 * was held first, and lets lws read again only if api did not pause
 * once more.
 */
static void
rx_sul_cb(lws_sorted_usec_list_t *sul)
{
	struct pss *p = lws_container_of(sul, struct pss, rx_sul);

	if (p->net == NULL || p->closing)
		return;
	if (p->rx_paused) {
		if (!p->lws_paused && lws_rx_flow_control(p->wsi, 0) == 0)
			p->lws_paused = true;
		return;
	}
	while (p->held != NULL && !p->rx_paused && !p->closing) {
		struct held_msg *h = p->held;
		p->held = h->next;
		if (p->held == NULL)
			p->held_tail = &p->held;
		p->held_bytes -= h->len;
		api_on_message(p->net->api, p->conn, h->data, h->len);
		free(h);
	}
	if (!p->rx_paused && !p->closing && p->lws_paused &&
	    lws_rx_flow_control(p->wsi, 1) == 0)
		p->lws_paused = false;
}

static void
transport_rx_flow(void *handle, int allow)
{
	struct pss *p = handle;

	if (p->wsi == NULL || p->closing)
		return;
	p->rx_paused = !allow;
	lws_sul_schedule(lws_get_context(p->wsi), 0, &p->rx_sul, rx_sul_cb, 1);
}

static void
held_free(struct pss *p)
{
	while (p->held != NULL) {
		struct held_msg *h = p->held;
		p->held = h->next;
		free(h);
	}
	p->held_tail = &p->held;
	p->held_bytes = 0;
}

/* A whole message for api: now, or after the pause. */
static void
deliver(struct pss *p, const void *data, size_t len)
{
	struct net *n = p->net;
	struct held_msg *h;

	n->stats.frames_in++;
	n->stats.bytes_in += len;
	if (!p->rx_paused && p->held == NULL) {
		api_on_message(n->api, p->conn, data, len);
		return;
	}
	/* Bounded by what one read of lws can hold; anything more is a bug
	 * here, not the client's doing, but memory stays bounded anyway. */
	if (p->held_bytes + len > (size_t)n->conf->max_message_bytes + 262144) {
		LOG_E("NET-HELD-OVER", "bytes=%zu", p->held_bytes + len);
		held_free(p);
		start_close(p, LWS_CLOSE_STATUS_POLICY_VIOLATION,
		            "too many requests in flight");
		return;
	}
	h = rk_malloc(sizeof(*h) + len);
	h->next = NULL;
	h->len = len;
	memcpy(h->data, data, len);
	*p->held_tail = h;
	p->held_tail = &h->next;
	p->held_bytes += len;
}

struct api_transport
net_transport(struct net *n)
{
	struct api_transport t = {
		.send = transport_send,
		.close = transport_close,
		.http_reply = net_http_reply,
		.rx_flow = transport_rx_flow,
		.ctx = n,
	};
	return t;
}

static int
on_writeable(struct pss *p)
{
	struct net *n = p->net;

	if (p->ping_wanted && !p->closing) {
		/* Not empty: lws 4.1 hands us no empty pong. */
		uint8_t ping[LWS_PRE + 4];
		memcpy(ping + LWS_PRE, "rkka", 4);
		p->ping_wanted = false;
		if (lws_write(p->wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
			return -1;
		p->ping_sent = true;
		if (p->q_count > 0 && lws_send_pipe_choked(p->wsi)) {
			lws_callback_on_writable(p->wsi);
			return 0;
		}
	}
	while (p->q_count > 0) {
		struct frame *f = p->q[p->q_head];
		int m = lws_write(p->wsi, frame_payload(f), f->len, LWS_WRITE_BINARY);
		if (m < (int)f->len) {
			LOG_D("NET-WRITE-FAIL", "len=%zu", f->len);
			return -1;
		}
		n->stats.frames_out++;
		n->stats.bytes_out += f->len;
		p->q_bytes -= f->len;
		frame_unref(&p->q[p->q_head]);
		p->q_head = (p->q_head + 1) % p->q_cap;
		p->q_count--;
		if (p->q_count > 0 && lws_send_pipe_choked(p->wsi)) {
			lws_callback_on_writable(p->wsi);
			return 0;
		}
	}
	if (p->closing) {
		LOG_D("NET-CLOSE-SEND", "code=%d", p->close_code);
		lws_close_reason(p->wsi, (enum lws_close_status)p->close_code,
		                 (unsigned char *)p->close_reason,
		                 strlen(p->close_reason));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ receive */

static int
on_receive(struct pss *p, const void *in, size_t len)
{
	struct net *n = p->net;
	size_t max = api_conn_message_max(n->api, p->conn);

	if (p->closing)
		return 0;
	if (lws_is_first_fragment(p->wsi) && !lws_frame_is_binary(p->wsi)) {
		n->stats.closed_text++;
		start_close(p, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
		            "text messages are not accepted: send binary protobuf");
		return 0;
	}
	if (p->rx_len + len > max) {
		n->stats.closed_oversize++;
		free(p->rx);
		p->rx = NULL;
		p->rx_len = p->rx_cap = 0;
		start_close(p, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		            "message larger than the server's limit");
		return 0;
	}
	bool final = lws_is_final_fragment(p->wsi) &&
	             lws_remaining_packet_payload(p->wsi) == 0;
	if (final && p->rx_len == 0) {
		/* The common case: a whole message in one piece, no copy. */
		deliver(p, in, len);
		return 0;
	}
	if (p->rx_len + len > p->rx_cap) {
		size_t cap = p->rx_cap ? p->rx_cap : 4096;
		while (cap < p->rx_len + len)
			cap *= 2;
		if (cap > max)
			cap = max;
		p->rx = rk_realloc(p->rx, cap);
		p->rx_cap = cap;
	}
	memcpy(p->rx + p->rx_len, in, len);
	p->rx_len += len;
	if (final) {
		deliver(p, p->rx, p->rx_len);
		p->rx_len = 0;
		/* Do not keep a large buffer around for an idle connection. */
		if (p->rx_cap > 65536) {
			free(p->rx);
			p->rx = NULL;
			p->rx_cap = 0;
		}
	}
	return 0;
}

/* RFC 6455 4.4: an upgrade asking for a version other than 13 is
 * answered 426 with the version we speak (libwebsockets 4.1 would
 * otherwise carry on as if it had asked for 13), and closed. */
static int
refuse_ws_version(struct lws *wsi)
{
	char v[16] = "";
	uint8_t buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *p = start,
	                            *end = &buf[sizeof(buf) - 1];

	if (lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_VERSION) > 0 &&
	    strcmp(v, "13") == 0)
		return 0;
	if (lws_add_http_header_status(wsi, 426, &p, end) == 0 &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"sec-websocket-version:",
	                                (const unsigned char *)"13", 2, &p, end) == 0 &&
	    lws_add_http_header_content_length(wsi, 0, &p, end) == 0 &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
	                                (const unsigned char *)"close", 5, &p, end) == 0 &&
	    lws_finalize_http_header(wsi, &p, end) == 0)
		lws_write(wsi, start, (size_t)(p - start),
		          LWS_WRITE_HTTP_HEADERS);
	return -1;
}

static int
callback_renkei(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                void *in, size_t len)
{
	struct pss *p = user;
	struct net **pn;
	char addr[64];

	if ((int)reason == CB_CLOSE_ALL) {
		if (p != NULL && p->net != NULL)
			start_close(p, (int)len, (const char *)in);
		return 0;
	}
	if ((int)reason == CB_KEEPALIVE) {
		if (p != NULL && p->net != NULL)
			keepalive(p, *(const lws_usec_t *)in);
		return 0;
	}
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return refuse_ws_version(wsi);
	case LWS_CALLBACK_WSI_DESTROY:
		/* A WebSocket ends in this protocol, not in http's. */
		net_admit_release(lws_context_user(lws_get_context(wsi)), wsi);
		return 0;
	case LWS_CALLBACK_PROTOCOL_INIT:
		pn = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
		                                 lws_get_protocol(wsi), sizeof(*pn));
		if (pn == NULL)
			return -1;
		*pn = (struct net *)lws_context_user(lws_get_context(wsi));
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		memset(p, 0, sizeof(*p));
		p->net = net_of(wsi);
		p->wsi = wsi;
		p->held_tail = &p->held;
		p->last_rx_us = lws_now_usecs();
		addr[0] = '\0';
		lws_get_peer_simple(wsi, addr, sizeof(addr));
		p->conn = api_conn_open(p->net->api, p, addr);
		peer_cert(p->net, wsi, p->conn);
		p->net->nconns++;
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (p->net == NULL)
			return 0;
		lws_sul_cancel(&p->rx_sul);
		held_free(p);
		api_conn_closed(p->net->api, &p->conn);
		queue_clear(p);
		free(p->rx);
		p->rx = NULL;
		p->net->nconns--;
		p->net = NULL;
		return 0;
	case LWS_CALLBACK_RECEIVE:
		p->last_rx_us = lws_now_usecs();
		p->ping_sent = false;
		return on_receive(p, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		p->last_rx_us = lws_now_usecs();
		p->ping_sent = false;
		return 0;
	case LWS_CALLBACK_TIMER:
		if (p != NULL && p->net != NULL && p->closing)
			reset_connection(p);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_writeable(p);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Handled once, by the http protocol. */
		return 0;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"http", net_callback_http, sizeof(struct http_pss), 0, 0, NULL, 0},
	{SUBPROTOCOL, callback_renkei, sizeof(struct pss), 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ------------------------------------------------------------------ context */

/* The housekeeping tick (api_tick): 4 times a second, so that a session
 * ended by another process closes within a second. */
#define NET_TICK_US (LWS_US_PER_SEC / 4)

static void
tick_cb(lws_sorted_usec_list_t *sul)
{
	struct net *n = lws_container_of(sul, struct net, tick_sul);
	const struct lws_protocols *pr =
		lws_vhost_name_to_protocol(n->vh, SUBPROTOCOL);
	lws_usec_t now = lws_now_usecs();

	n->hooks.on_tick(n->hooks.arg);
	/* the keepalive pass: once a second is enough */
	if (pr != NULL && ++n->ticks % (LWS_US_PER_SEC / NET_TICK_US) == 0)
		lws_callback_all_protocol_vhost_args(n->vh, pr, CB_KEEPALIVE, &now, 0);
	lws_sul_schedule(n->ctx, 0, &n->tick_sul, tick_cb, NET_TICK_US);
}

static void
lws_log_bridge(int level, const char *line)
{
	/* lws lines carry no patient data (we never hand it any). */
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		LOG_E("LWS", "msg=\"%.*s\"", (int)n, line);
	else
		LOG_W("LWS", "msg=\"%.*s\"", (int)n, line);
}

/* The device certificate the client presented (OpenSSL verified its
 * chain during the handshake, or there would be no connection): its
 * SHA-256 for the api, which decides whose it is. */
static void
peer_cert(struct net *n, struct lws *wsi, struct api_conn *conn)
{
	SSL *ssl = lws_get_ssl(wsi);
	X509 *x = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * 32 + 1];

	if (x == NULL || conn == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return;
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
		return;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	api_conn_set_cert(n->api, conn, hex);
}

struct net *
net_new(const struct conf *conf, const struct net_hooks *hooks, char *err,
        size_t errlen)
{
	struct lws_context_creation_info info;
	struct net *n = rk_calloc(1, sizeof(*n));
	struct net **pn;

	n->conf = conf;
	n->hooks = *hooks;
	idmap_init(&n->http);
	idmap_init(&n->per_address);
	idmap_init(&n->admit_fd);
	/* n->retry stays all 0: no lws keepalive (see keepalive()). */

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	               LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.user = n;
	n->ctx = lws_create_context(&info);
	if (n->ctx == NULL) {
		snprintf(err, errlen, "libwebsockets: cannot create the context");
		free(n);
		return NULL;
	}

	memset(&info, 0, sizeof(info));
	info.vhost_name = "renkei";
	info.port = conf->port;
	info.iface = strcmp(conf->listen, "*") == 0 ? NULL : conf->listen;
	info.protocols = protocols;
	/* No HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE: http.c sends the
	 * security headers itself, with a CSP the web client can live with. */
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	/* With IPv6 on, lws binds [::] whatever the IPv4 address asked for:
	 * a server meant for 127.0.0.1 would answer on every interface. */
	if (info.iface != NULL && strchr(info.iface, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.ssl_cert_filepath = conf->tls_cert;
	info.ssl_private_key_filepath = conf->tls_key;
	info.ssl_cipher_list = TLS12_CIPHERS;
	info.tls1_3_plus_cipher_list = TLS13_CIPHERS;
	/* Device certificates (docs/accounts.md): lws asks OpenSSL for a
	 * client certificate chained to client_ca — any sent is verified,
	 * and `required` refuses a handshake without one. The verdict is
	 * OpenSSL's (http.c, PERFORM_CLIENT_CERT_VERIFICATION). */
	if (strcmp(conf->client_cert, "off") != 0) {
		info.options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
		                LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
		if (strcmp(conf->client_cert, "optional") == 0)
			info.options |= LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED;
		info.ssl_ca_filepath = conf->client_ca;
	}
	info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
	                       SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	                       SSL_OP_NO_RENEGOTIATION;
	info.alpn = "http/1.1";
	info.retry_and_idle_policy = &n->retry;
	info.timeout_secs = 20;
	info.user = n;
	n->vh = lws_create_vhost(n->ctx, &info);
	if (n->vh == NULL) {
		snprintf(err, errlen,
		         "cannot listen on %s port %d with certificate %s (in use, or "
		         "certificate/key unreadable)",
		         conf->listen, conf->port, conf->tls_cert);
		lws_context_destroy(n->ctx);
		free(n);
		return NULL;
	}
	/* The http protocol has no PROTOCOL_INIT of its own that we use;
	 * give it the same private pointer for WAIT_CANCELLED. */
	pn = lws_protocol_vh_priv_zalloc(n->vh, &protocols[0], sizeof(*pn));
	if (pn != NULL)
		*pn = n;
	webapp_load(&n->web, conf);
	lws_sul_schedule(n->ctx, 0, &n->tick_sul, tick_cb, NET_TICK_US);
	return n;
}

void
net_set_api(struct net *n, struct api *api)
{
	n->api = api;
}


void
net_run(struct net *n, volatile sig_atomic_t *stop)
{
	while (!*stop)
		if (lws_service(n->ctx, 0) < 0)
			break;
}

void
net_run_until(struct net *n, int (*done)(void *arg), void *arg, int timeout_ms)
{
	lws_usec_t end = lws_now_usecs() + (lws_usec_t)timeout_ms * 1000;

	while (!done(arg) && lws_now_usecs() < end)
		if (lws_service(n->ctx, 0) < 0)
			break;
}

void
net_close_all(struct net *n, int code, const char *reason)
{
	/* Each connection closes after what is already queued to it. lws
	 * matches on its own copy of the protocol, so ask it for that. */
	const struct lws_protocols *pr =
		lws_vhost_name_to_protocol(n->vh, SUBPROTOCOL);
	if (pr == NULL)
		return;
	lws_callback_all_protocol_vhost_args(n->vh, pr, CB_CLOSE_ALL,
	                                     (void *)reason, (size_t)code);
}

int
net_connections(const struct net *n)
{
	return n->nconns;
}

void
net_wake(void *arg)
{
	struct net *n = arg;
	lws_cancel_service(n->ctx);
}

void
net_get_stats(const struct net *n, struct net_stats *st)
{
	*st = n->stats;
}

void
net_free(struct net *n)
{
	if (n == NULL)
		return;
	lws_sul_cancel(&n->tick_sul);
	lws_context_destroy(n->ctx);
	idmap_fini(&n->http);
	idmap_fini(&n->per_address);
	idmap_fini(&n->admit_fd);
	webapp_fini(&n->web);
	free(n);
}
