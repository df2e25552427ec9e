/*
 * HTTPS on the WebSocket port: /healthz, /metrics, and whatever api/
 * serves (attachments for web clients).
 *
 * Answers that api/ produces later are matched by id: the request is
 * registered in net->http until answered or closed, so a late answer for
 * a connection that went away is dropped, never written to a freed wsi.
 * Bodies are written in pieces from HTTP_WRITEABLE, as the pipe takes
 * them, with LWS_PRE headroom.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "api/api.h"
#include "net/internal.h"
#include "util/log.h"
#include "util/mem.h"

#define HTTP_PIECE 16384
#define HSTS "max-age=31536000"

static void
set_reply(struct http_pss *h, int status, const char *ctype, const char *extra,
          const uint8_t *body, size_t len)
{
	h->status = status;
	snprintf(h->ctype, sizeof(h->ctype), "%s", ctype ? ctype : "text/plain");
	snprintf(h->extra, sizeof(h->extra), "%s", extra ? extra : "");
	free(h->body);
	h->body = rk_malloc(LWS_PRE + len + 1);
	if (len > 0)
		memcpy(h->body + LWS_PRE, body, len);
	h->len = len;
	h->off = 0;
	h->ready = true;
	lws_callback_on_writable(h->wsi);
}

void
net_http_reply(void *ctx, uint64_t http_id, int status,
               const char *content_type, const char *extra_headers,
               const uint8_t *body, size_t len)
{
	struct net *n = ctx;
	struct http_pss *h = idmap_del(&n->http, http_id);

	if (h == NULL)
		return; /* the client went away */
	h->id = 0;
	set_reply(h, status, content_type, extra_headers, body, len);
}

int
net_http_extra_next(const char **cur, char name[NET_HTTP_NAME_MAX],
                    const char **val, size_t *vlen)
{
	while (**cur != '\0') {
		const char *line = *cur, *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);
		const char *colon = memchr(line, ':', l);

		*cur += l + (nl ? 1 : 0);
		if (colon != NULL && l < NET_HTTP_LINE_MAX) {
			size_t nlen = (size_t)(colon - line) + 1;
			const char *v = colon + 1;
			while (*v == ' ')
				v++;
			if (nlen < NET_HTTP_NAME_MAX) {
				for (size_t i = 0; i < nlen; i++)
					name[i] = (char)(line[i] >= 'A' && line[i] <= 'Z'
					                         ? line[i] + 32
					                         : line[i]);
				name[nlen] = '\0';
				*val = v;
				*vlen = (size_t)(line + l - v);
				return 1;
			}
		}
	}
	return 0;
}

/* The Content-Security-Policy of every answer: the web client's own
 * files only (no inline script or style, no other origin), its WebSocket
 * to this server (wss://HOST; 'self' covers it in CSP 3 browsers, the
 * explicit source covers older ones), photos shown from blob: URLs made
 * of what it fetched, never framed. */
#define CSP_HEAD "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' blob:; connect-src 'self'"
#define CSP_TAIL "; worker-src 'self'; manifest-src 'self'; object-src 'none'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static int
add_header(struct lws *wsi, const char *name, const char *val, uint8_t **p,
           uint8_t *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
	                                   (const unsigned char *)val,
	                                   (int)strlen(val), p, end);
}

static int
write_headers(struct http_pss *h)
{
	uint8_t buf[LWS_PRE + 2048], *start = &buf[LWS_PRE], *p = start,
	                             *end = &buf[sizeof(buf) - 1];
	struct lws *wsi = h->wsi;
	char name[NET_HTTP_NAME_MAX], csp[512];
	const char *cur = h->extra, *val;
	size_t vlen;

	if (h->host[0] != '\0')
		snprintf(csp, sizeof(csp), CSP_HEAD " wss://%s" CSP_TAIL, h->host);
	else
		snprintf(csp, sizeof(csp), CSP_HEAD CSP_TAIL);
	/* The security headers are all sent here, each once (lws's own
	 * HTTP_HEADERS_SECURITY_BEST_PRACTICES set is off on the vhost: its
	 * CSP would forbid the web client's manifest and photos). */
	if (lws_add_http_common_headers(wsi, (unsigned)h->status, h->ctype,
	                                (lws_filepos_t)h->len, &p, end) ||
	    add_header(wsi, "cache-control:", h->cache ? h->cache : "no-store", &p,
	               end) ||
	    add_header(wsi, "strict-transport-security:", HSTS, &p, end) ||
	    add_header(wsi, "content-security-policy:", csp, &p, end) ||
	    add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
	    add_header(wsi, "x-frame-options:", "deny", &p, end) ||
	    add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
	    add_header(wsi, "cross-origin-opener-policy:", "same-origin", &p, end) ||
	    (h->close_after && add_header(wsi, "connection:", "close", &p, end)))
		return -1;
	/* Extra lines, "name: value\n" each. */
	while (net_http_extra_next(&cur, name, &val, &vlen))
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
		                                (const unsigned char *)val, (int)vlen,
		                                &p, end))
			return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	h->headers_sent = true;
	return 0;
}

static int
on_http_writeable(struct http_pss *h)
{
	if (!h->ready)
		return 0;
	if (!h->headers_sent) {
		if (write_headers(h) != 0)
			return -1;
		if (h->head)
			h->off = h->len; /* the length is told, the body is not sent */
		if (h->len > 0 && !h->head) {
			lws_callback_on_writable(h->wsi);
			return 0;
		}
	}
	while (h->off < h->len) {
		size_t piece = h->len - h->off;
		int final;
		if (piece > HTTP_PIECE)
			piece = HTTP_PIECE;
		final = h->off + piece == h->len;
		/* lws_write needs LWS_PRE writable bytes before the data: the
		 * body buffer has them before offset 0 only, so move the piece
		 * into place when it is not the first. */
		uint8_t *at = h->body + LWS_PRE + h->off;
		uint8_t save[LWS_PRE];
		memcpy(save, at - LWS_PRE, LWS_PRE);
		int m = lws_write(h->wsi, at, piece,
		                  final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
		memcpy(at - LWS_PRE, save, LWS_PRE);
		if (m < (int)piece)
			return -1;
		h->off += piece;
		if (!final) {
			lws_callback_on_writable(h->wsi);
			return 0;
		}
	}
	h->net->stats.http_responses++;
	if (h->close_after)
		return -1;
	return lws_http_transaction_completed(h->wsi) ? -1 : 0;
}

/* Peers allowed to read /metrics. */
static bool
metrics_allowed(const struct conf *conf, const char *peer)
{
	const char *mode = conf->metrics_access;

	if (strcmp(mode, "any") == 0)
		return true;
	if (strcmp(mode, "off") == 0)
		return false;
	return strncmp(peer, "127.", 4) == 0 || strcmp(peer, "::1") == 0 ||
	       strncmp(peer, "::ffff:127.", 11) == 0;
}

static void
metrics_text(struct net *n, char **buf, size_t *len, size_t *cap)
{
	const struct net_stats *st = &n->stats;

	rk_appendf(buf, len, cap,
	        "# HELP renkei_connections Open WebSocket connections.\n"
	        "# TYPE renkei_connections gauge\n"
	        "renkei_connections %d\n"
	        "# HELP renkei_frames_out_total Frames written to clients.\n"
	        "# TYPE renkei_frames_out_total counter\n"
	        "renkei_frames_out_total %llu\n"
	        "# HELP renkei_bytes_out_total Payload bytes written to clients.\n"
	        "# TYPE renkei_bytes_out_total counter\n"
	        "renkei_bytes_out_total %llu\n"
	        "# HELP renkei_frames_in_total Messages received from clients.\n"
	        "# TYPE renkei_frames_in_total counter\n"
	        "renkei_frames_in_total %llu\n"
	        "# HELP renkei_bytes_in_total Payload bytes received from clients.\n"
	        "# TYPE renkei_bytes_in_total counter\n"
	        "renkei_bytes_in_total %llu\n"
	        "# HELP renkei_culled_total Slow clients disconnected because their "
	        "outbound queue was full.\n"
	        "# TYPE renkei_culled_total counter\n"
	        "renkei_culled_total %llu\n"
	        "# HELP renkei_closed_total Connections closed for framing errors.\n"
	        "# TYPE renkei_closed_total counter\n"
	        "renkei_closed_total{reason=\"oversize\"} %llu\n"
	        "renkei_closed_total{reason=\"text_frame\"} %llu\n"
	        "# HELP renkei_close_resets_total Connections the server was closing "
	        "that had not taken their close frame after close_grace_s, and were "
	        "reset.\n"
	        "# TYPE renkei_close_resets_total counter\n"
	        "renkei_close_resets_total %llu\n"
	        "# HELP renkei_hangups_total Connections reset because nothing, not "
	        "even a pong, came from them for ping_hangup_s.\n"
	        "# TYPE renkei_hangups_total counter\n"
	        "renkei_hangups_total %llu\n"
	        "# HELP renkei_refused_connections_total Sockets closed at accept.\n"
	        "# TYPE renkei_refused_connections_total counter\n"
	        "renkei_refused_connections_total{reason=\"max_connections\"} %llu\n"
	        "renkei_refused_connections_total{reason=\"per_address\"} %llu\n"
	        "# HELP renkei_sockets Accepted sockets open (TLS, HTTPS, WebSocket).\n"
	        "# TYPE renkei_sockets gauge\n"
	        "renkei_sockets %d\n",
	        n->nconns, (unsigned long long)st->frames_out,
	        (unsigned long long)st->bytes_out, (unsigned long long)st->frames_in,
	        (unsigned long long)st->bytes_in, (unsigned long long)st->culled,
	        (unsigned long long)st->closed_oversize,
	        (unsigned long long)st->closed_text,
	        (unsigned long long)st->closed_reset,
	        (unsigned long long)st->hangups,
	        (unsigned long long)st->refused_total,
	        (unsigned long long)st->refused_address, n->admitted);
	api_metrics(n->api, buf, len, cap);
}

enum net_http_route
net_http_route(const struct conf *conf, bool get, bool head, const char *path,
               const char *peer)
{
	/* GET and HEAD only; anything else is answered 405 and the
	 * connection closed, so that no request body is left to read. */
	if (!get && !head)
		return NET_HTTP_NOT_ALLOWED;
	if (strcmp(path, "/healthz") == 0)
		return NET_HTTP_HEALTHZ;
	if (strcmp(path, "/metrics") == 0)
		return metrics_allowed(conf, peer) ? NET_HTTP_METRICS
		                                   : NET_HTTP_FORBIDDEN;
	{
		char name[WEBAPP_NAME_MAX];
		if (webapp_path(path, name) != WEBAPP_NOT_MINE)
			return NET_HTTP_WEBAPP;
	}
	return NET_HTTP_API;
}

int
net_http_host_ok(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n >= NET_HTTP_HOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = host[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
		      c == '[' || c == ']'))
			return 0;
	}
	return 1;
}

/* A file of the web client, its 404, or the way to it. */
static void
serve_webapp(struct net *n, struct http_pss *h, const char *path)
{
	char name[WEBAPP_NAME_MAX];
	const struct webapp_file *f = NULL;

	switch (webapp_path(path, name)) {
	case WEBAPP_REDIRECT:
		set_reply(h, HTTP_STATUS_FOUND, "text/plain", "location: /app/\n",
		          (const uint8_t *)"/app/\n", 6);
		return;
	case WEBAPP_FILE:
		f = webapp_find(&n->web, name);
		break;
	case WEBAPP_NOT_MINE:
	case WEBAPP_BAD:
		break;
	}
	if (f == NULL) {
		set_reply(h, HTTP_STATUS_NOT_FOUND, "text/plain", NULL,
		          (const uint8_t *)"not found\n", 10);
		return;
	}
	h->cache = f->immutable ? "public, max-age=31536000, immutable" : "no-cache";
	set_reply(h, HTTP_STATUS_OK, f->ctype, NULL, f->data, f->len);
}

static int
on_http(struct lws *wsi, struct http_pss *h, const char *path)
{
	struct net *n = net_of(wsi);
	char peer[64] = "", query[512] = "", auth[512] = "";
	bool get;

	memset(h, 0, sizeof(*h));
	h->net = n;
	h->wsi = wsi;
	if (n == NULL)
		return -1;
	get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	h->head = !get && lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	lws_get_peer_simple(wsi, peer, sizeof(peer));
	if (lws_hdr_copy(wsi, h->host, sizeof(h->host), WSI_TOKEN_HOST) < 0 ||
	    !net_http_host_ok(h->host))
		h->host[0] = '\0';
	switch (net_http_route(n->conf, get, h->head, path, peer)) {
	case NET_HTTP_NOT_ALLOWED:
		h->close_after = true;
		set_reply(h, HTTP_STATUS_METHOD_NOT_ALLOWED, "text/plain",
		          "allow: GET, HEAD\n", (const uint8_t *)"only GET and HEAD\n",
		          18);
		return 0;
	case NET_HTTP_HEALTHZ:
		set_reply(h, HTTP_STATUS_OK, "text/plain", NULL, (const uint8_t *)"ok\n", 3);
		return 0;
	case NET_HTTP_FORBIDDEN:
		set_reply(h, HTTP_STATUS_FORBIDDEN, "text/plain", NULL,
		          (const uint8_t *)"forbidden\n", 10);
		return 0;
	case NET_HTTP_METRICS: {
		size_t len = 0, cap = 8192;
		char *buf = rk_malloc(cap);
		buf[0] = '\0';
		metrics_text(n, &buf, &len, &cap);
		set_reply(h, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
		          NULL, (const uint8_t *)buf, len);
		free(buf);
		return 0;
	}
	case NET_HTTP_WEBAPP:
		serve_webapp(n, h, path);
		return 0;
	case NET_HTTP_API:
		break;
	}
	if (lws_hdr_copy(wsi, query, sizeof(query), WSI_TOKEN_HTTP_URI_ARGS) < 0)
		query[0] = '\0';
	if (lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
		auth[0] = '\0';
	h->id = ++n->next_http_id;
	idmap_set(&n->http, h->id, h);
	api_http_get(n->api, h->id, path, query, auth, peer);
	return 0;
}

/* The answer to a request lws does not serve as HTTP (CONNECT), written
 * by hand; then the connection closes (-1). */
static int
refuse_raw(struct lws *wsi)
{
	static const char resp[] =
		"HTTP/1.1 405 Method Not Allowed\r\n"
		"allow: GET, HEAD\r\n"
		"strict-transport-security: " HSTS "\r\n"
		"x-content-type-options: nosniff\r\n"
		"content-type: text/plain\r\n"
		"content-length: 18\r\n"
		"connection: close\r\n\r\n"
		"only GET and HEAD\n";
	uint8_t buf[LWS_PRE + sizeof(resp)];

	memcpy(buf + LWS_PRE, resp, sizeof(resp) - 1);
	lws_write(wsi, buf + LWS_PRE, sizeof(resp) - 1, LWS_WRITE_RAW);
	return -1;
}

int
net_callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                  void *in, size_t len)
{
	struct http_pss *h = user;
	struct net *n;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* A TCP accept, before TLS: in is the socket. */
		return net_admit(lws_context_user(lws_get_context(wsi)),
		                 (int)(lws_intptr_t)in) != 0;
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		net_admit_bind(lws_context_user(lws_get_context(wsi)), wsi);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		net_admit_release(lws_context_user(lws_get_context(wsi)), wsi);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* A WebSocket upgrade that did not ask for renkei.v1 lands
		 * here: refuse it. */
		return -1;
	case LWS_CALLBACK_HTTP:
		return on_http(wsi, h, (const char *)in);
	case LWS_CALLBACK_HTTP_BODY:
		return 0; /* a body is never read: such a request gets 405 */
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (h != NULL && h->ready)
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return h != NULL ? on_http_writeable(h) : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		/* DROP_PROTOCOL: a keep-alive transaction is over (or the
		 * connection upgrades); lws frees this pss right after, and
		 * CLOSED_HTTP will see a fresh one. */
		if (h != NULL && h->net != NULL) {
			if (h->id != 0)
				idmap_del(&h->net->http, h->id);
			free(h->body);
			h->body = NULL;
			h->net = NULL;
		}
		return 0;
	case LWS_CALLBACK_RAW_ADOPT:
		/* An HTTP CONNECT: lws hands the socket over raw, with no
		 * timeout (there is no proxy here). Answer 405, then close. */
		lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_RAW_RX:
		return 0; /* nothing it sends is read */
	case LWS_CALLBACK_RAW_WRITEABLE:
		return refuse_raw(wsi);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		n = net_of(wsi);
		if (n != NULL)
			n->hooks.on_wake(n->hooks.arg);
		return 0;
	case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
		/* A device certificate (client_cert optional or required). lws
		 * takes 0 as "verified" whatever OpenSSL found (and the dummy
		 * handler answers 0 to everything): pass OpenSSL's verdict
		 * on, len being its preverify_ok. A chain that does not lead
		 * to client_ca fails the handshake. */
		return len != 0 ? 0 : 1;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* user is the SSL_CTX: pin the protocol floor in OpenSSL itself,
		 * not only through option bits. */
		if (SSL_CTX_set_min_proto_version((SSL_CTX *)user, TLS1_2_VERSION) != 1)
			return 1;
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
