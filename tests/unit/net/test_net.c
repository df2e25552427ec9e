/* Unit tests: net/ — a real net (libwebsockets, TLS) on 127.0.0.1 and an
 * ephemeral port, served on a thread of its own, with a real api and
 * store in a temporary folder; the client is raw OpenSSL, so the tests
 * see the bytes on the wire. Checked: GET /healthz, /metrics and its
 * access setting, other methods, plaintext on the TLS port, the
 * WebSocket upgrade and its subprotocol, connection counting, text and
 * oversize frames, net_close_all, the TLS policy, the hooks, net_new's
 * failures.
 *
 * Everything that reads the net (net_connections, net_get_stats,
 * net_close_all) runs on the service thread, through net_wake and the
 * on_wake hook, as net.h asks. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit_store.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "api/api.h"
#include "net/internal.h"
#include "net/net.h"
#include "store/store.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/text.h"

#define IO_TIMEOUT_MS 3000
#define WAIT_MS 3000

/* Certificates made once for the whole group. */
static char certs_dir[64];
static char ca_path[128], cert_path[128], key_path[128];

enum action { ACT_SNAPSHOT, ACT_CLOSE_ALL };

struct fx {
	char dir[64], care[96], audit[96];
	struct conf conf;
	struct net *net;
	struct store *store;
	struct api *api;
	int port;
	pthread_t thread;
	atomic_int stop;
	atomic_int ticks;
	/* requests to the service thread, answered in on_wake */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t asked, answered;
	enum action action;
	int conns;
	struct net_stats stats;
};

/* ----------------------------------------------------------------- hooks */

static void
on_wake(void *arg)
{
	struct fx *f = arg;

	if (f->store != NULL)
		store_complete(f->store);
	pthread_mutex_lock(&f->mu);
	if (f->answered < f->asked) {
		if (f->action == ACT_CLOSE_ALL)
			net_close_all(f->net, 1001, "unit test close");
		f->conns = net_connections(f->net);
		net_get_stats(f->net, &f->stats);
		f->answered = f->asked;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
}

static void
on_tick(void *arg)
{
	struct fx *f = arg;
	atomic_fetch_add(&f->ticks, 1);
}

static void
store_wake(void *arg)
{
	struct fx *f = arg;
	if (f->net != NULL)
		net_wake(f->net);
}

static int
stopped(void *arg)
{
	struct fx *f = arg;
	return atomic_load(&f->stop);
}

static void *
service(void *arg)
{
	struct fx *f = arg;
	while (!atomic_load(&f->stop))
		net_run_until(f->net, stopped, f, 1000);
	return NULL;
}

/* Run `action` on the service thread and take a snapshot there. */
static void
ask(struct fx *f, enum action action)
{
	struct timespec until;
	uint64_t want;
	int64_t end = rk_mono_ms() + WAIT_MS;

	pthread_mutex_lock(&f->mu);
	f->action = action;
	want = ++f->asked;
	while (f->answered < want) {
		pthread_mutex_unlock(&f->mu);
		net_wake(f->net);
		pthread_mutex_lock(&f->mu);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 50 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (f->answered < want)
			pthread_cond_timedwait(&f->cv, &f->mu, &until);
		if (f->answered < want && rk_mono_ms() > end) {
			pthread_mutex_unlock(&f->mu);
			fail_msg("the service thread did not answer net_wake");
		}
	}
	pthread_mutex_unlock(&f->mu);
}

static struct net_stats
stats(struct fx *f)
{
	ask(f, ACT_SNAPSHOT);
	return f->stats;
}

/* net_connections once it equals `want`, or its last value after WAIT_MS. */
static int
connections_become(struct fx *f, int want)
{
	int64_t end = rk_mono_ms() + WAIT_MS;

	for (;;) {
		ask(f, ACT_SNAPSHOT);
		if (f->conns == want || rk_mono_ms() > end)
			return f->conns;
		usleep(10 * 1000);
	}
}

/* --------------------------------------------------------------- fixture */

static void
set(struct conf *c, const char *name, const char *value)
{
	char err[160];
	if (conf_set(c, name, value, err, sizeof(err)) != 0)
		fail_msg("conf_set %s: %s", name, err);
}

static int
group_setup(void **state)
{
	char cmd[512];

	(void)state;
	strcpy(certs_dir, "/tmp/renkei-netcerts-XXXXXX");
	if (mkdtemp(certs_dir) == NULL)
		return -1;
	/* ctest runs unit tests in the source root. */
	snprintf(cmd, sizeof(cmd), "/bin/sh certs/make-dev-certs.sh '%s' >/dev/null 2>&1",
	         certs_dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", certs_dir);
	snprintf(cert_path, sizeof(cert_path), "%s/server.pem", certs_dir);
	snprintf(key_path, sizeof(key_path), "%s/server.key", certs_dir);
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certs_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
conf_for(struct conf *c, const char *dir)
{
	conf_init(c);
	set(c, "data_dir", dir);
	set(c, "tls_cert", cert_path);
	set(c, "tls_key", key_path);
	set(c, "max_message_bytes", "4096");
	set(c, "store_readers", "1");
	set(c, "store_cache_mb", "2");
	set(c, "log_level", "error");
	conf_resolve_paths(c);
	c->port = 0; /* below the table's minimum: "any free port", for tests */
}

static struct fx *
fx_new(const char *metrics_access)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct net_hooks hooks = {on_wake, on_tick, f};
	struct store_config cfg;
	char err[512];

	unit_tmpdir(f->dir, "net");
	conf_for(&f->conf, f->dir);
	set(&f->conf, "metrics_access", metrics_access);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);

	f->net = net_new(&f->conf, &hooks, err, sizeof(err));
	if (f->net == NULL)
		fail_msg("net_new: %s", err);
	f->port = lws_get_vhost_listen_port(f->net->vh);
	assert_true(f->port > 0);

	memset(&cfg, 0, sizeof(cfg));
	unit_store_config(&cfg, f->dir, f->care, f->audit);
	cfg.cache_mb = 2;
	cfg.wake = store_wake;
	cfg.wake_arg = f;
	if (store_open(&f->store, &cfg, err, sizeof(err)) != RK_OK)
		fail_msg("store_open: %s", err);
	struct api_transport tr = net_transport(f->net);
	f->api = api_new(&f->conf, f->store, &tr);
	net_set_api(f->net, f->api);
	assert_int_equal(pthread_create(&f->thread, NULL, service, f), 0);
	return f;
}

static void
fx_free(struct fx *f)
{
	atomic_store(&f->stop, 1);
	net_wake(f->net);
	pthread_join(f->thread, NULL);
	/* As main.c: the net first (api sees each close), then the store. */
	net_free(f->net);
	f->net = NULL;
	store_close(f->store, NULL, NULL);
	f->store = NULL;
	api_free(f->api);
	conf_fini(&f->conf);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	unit_rm_rf(f->dir);
	free(f);
}

static int
setup(void **state)
{
	*state = fx_new("loopback");
	return 0;
}

static int
setup_metrics_off(void **state)
{
	*state = fx_new("off");
	return 0;
}

static int
teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* ---------------------------------------------------------------- client */

struct cli {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static int
tcp_connect(int port)
{
	struct timeval tv = {IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000};
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* A TLS connection verified against the development CA and 127.0.0.1.
 * max_version 0 = any; ciphers NULL = OpenSSL's defaults. Returns
 * false (and frees everything) if the handshake fails. */
static bool
cli_open_with(struct fx *f, struct cli *c, int max_version, const char *ciphers)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c->ctx);
	assert_int_equal(SSL_CTX_load_verify_locations(c->ctx, ca_path, NULL), 1);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (max_version != 0)
		assert_int_equal(SSL_CTX_set_max_proto_version(c->ctx, max_version), 1);
	if (ciphers != NULL)
		assert_int_equal(SSL_CTX_set_cipher_list(c->ctx, ciphers), 1);
	c->fd = tcp_connect(f->port);
	c->ssl = SSL_new(c->ctx);
	assert_non_null(c->ssl);
	assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
	                                               "127.0.0.1"),
	                 1);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		SSL_free(c->ssl);
		SSL_CTX_free(c->ctx);
		close(c->fd);
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		return false;
	}
	assert_int_equal(SSL_get_verify_result(c->ssl), X509_V_OK);
	return true;
}

static void
cli_open(struct fx *f, struct cli *c)
{
	if (!cli_open_with(f, c, 0, NULL))
		fail_msg("TLS handshake with the net failed");
}

static void
cli_close(struct cli *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	SSL_CTX_free(c->ctx);
	ERR_clear_error();
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void
cli_write(struct cli *c, const void *buf, size_t len)
{
	assert_int_equal(SSL_write(c->ssl, buf, (int)len), (int)len);
}

static void
cli_puts(struct cli *c, const char *s)
{
	cli_write(c, s, strlen(s));
}

/* One SSL_read: >0 bytes, 0 the peer closed, -1 timeout. */
static int
cli_read_some(struct cli *c, void *buf, size_t cap)
{
	int n = SSL_read(c->ssl, buf, (int)cap);
	if (n > 0)
		return n;
	int e = SSL_get_error(c->ssl, n);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ ||
	    (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)))
		return -1;
	return 0; /* close_notify, EOF, reset, or a TLS error: closed */
}

static void
cli_read_exact(struct cli *c, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		int n = cli_read_some(c, (char *)buf + got, len - got);
		if (n <= 0)
			fail_msg("connection %s after %zu of %zu bytes",
			         n == 0 ? "closed" : "timed out", got, len);
		got += (size_t)n;
	}
}

/* Read one HTTP response head (up to and with the blank line) into buf,
 * NUL-terminated. Returns its length, or 0 if the connection closed
 * first (what was read is still in buf). */
static size_t
read_head(struct cli *c, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	while (len + 1 < cap) {
		/* A byte at a time: nothing after the head is consumed. */
		int n = cli_read_some(c, buf + len, 1);
		if (n < 0)
			fail_msg("timed out reading a response head");
		if (n == 0)
			return 0;
		len++;
		buf[len] = '\0';
		if (len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0)
			return len;
	}
	fail_msg("response head too long");
	return 0;
}

/* The value of header `name` (lower case, with ':') in a head, copied. */
static bool
header(const char *head, const char *name, char *out, size_t cap)
{
	const char *p = head;
	size_t nlen = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, cap, "%.*s", (int)(e - v), v);
			return true;
		}
	}
	return false;
}

struct response {
	int status;
	char head[4096];
	char body[32768];
	size_t body_len;
};

static void
read_response(struct cli *c, struct response *r)
{
	char v[64];
	long clen;

	memset(r, 0, sizeof(*r));
	if (read_head(c, r->head, sizeof(r->head)) == 0)
		fail_msg("closed before a response: \"%s\"", r->head);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
	assert_true(header(r->head, "content-length:", v, sizeof(v)));
	clen = strtol(v, NULL, 10);
	assert_true(clen >= 0 && (size_t)clen < sizeof(r->body));
	cli_read_exact(c, r->body, (size_t)clen);
	r->body_len = (size_t)clen;
}

static void
get(struct cli *c, const char *path, struct response *r)
{
	char req[256];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	cli_puts(c, req);
	read_response(c, r);
}

/* Read until the peer closes; true if it did within the timeout. What
 * came before the close is returned in buf (NUL-terminated). */
static bool
read_until_closed(struct cli *c, char *buf, size_t cap)
{
	size_t len = 0;
	int64_t end = rk_mono_ms() + WAIT_MS;

	buf[0] = '\0';
	while (rk_mono_ms() < end) {
		char tmp[512];
		int n = cli_read_some(c, tmp, sizeof(tmp));
		if (n == 0)
			return true;
		if (n < 0)
			continue;
		size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
		memcpy(buf + len, tmp, take);
		len += take;
		buf[len] = '\0';
	}
	return false;
}

/* ------------------------------------------------------------- WebSocket */

#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ==" /* RFC 6455's example */
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void
ws_request(struct cli *c, const char *protocol_header)
{
	char req[512];
	snprintf(req, sizeof(req),
	         "GET / HTTP/1.1\r\n"
	         "Host: 127.0.0.1\r\n"
	         "Upgrade: websocket\r\n"
	         "Connection: Upgrade\r\n"
	         "Sec-WebSocket-Key: " WS_KEY "\r\n"
	         "Sec-WebSocket-Version: 13\r\n"
	         "%s"
	         "\r\n",
	         protocol_header ? protocol_header : "");
	cli_puts(c, req);
}

/* A WebSocket connection speaking renkei.v1, upgrade checked. */
static void
ws_open(struct fx *f, struct cli *c)
{
	char head[2048], v[128];

	cli_open(f, c);
	ws_request(c, "Sec-WebSocket-Protocol: renkei.v1\r\n");
	if (read_head(c, head, sizeof(head)) == 0)
		fail_msg("closed instead of upgrading: \"%s\"", head);
	assert_int_equal(strncmp(head, "HTTP/1.1 101", 12), 0);
	assert_true(header(head, "sec-websocket-protocol:", v, sizeof(v)));
	assert_string_equal(v, "renkei.v1");
	assert_true(header(head, "sec-websocket-accept:", v, sizeof(v)));
	assert_string_equal(v, WS_ACCEPT);
}

/* One client frame (masked, final). */
static void
ws_send(struct cli *c, int opcode, const uint8_t *payload, size_t len)
{
	static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
	uint8_t *buf = malloc(len + 14);
	size_t h = 0;

	buf[h++] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		buf[h++] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		buf[h++] = 0x80 | 126;
		buf[h++] = (uint8_t)(len >> 8);
		buf[h++] = (uint8_t)len;
	} else {
		buf[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			buf[h++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	memcpy(buf + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		buf[h + i] = payload[i] ^ mask[i % 4];
	cli_write(c, buf, h + len);
	free(buf);
}

/* Read server frames until a close frame; return its code and reason. */
static int
ws_read_close(struct cli *c, char *reason, size_t cap)
{
	for (int frames = 0; frames < 16; frames++) {
		uint8_t h[2], ext[8], payload[256];
		uint64_t len;

		cli_read_exact(c, h, 2);
		assert_int_equal(h[1] & 0x80, 0); /* server frames are unmasked */
		len = h[1] & 0x7f;
		if (len == 126) {
			cli_read_exact(c, ext, 2);
			len = (uint64_t)ext[0] << 8 | ext[1];
		} else if (len == 127) {
			cli_read_exact(c, ext, 8);
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | ext[i];
		}
		assert_true(len <= sizeof(payload));
		cli_read_exact(c, payload, (size_t)len);
		if ((h[0] & 0x0f) != 0x8)
			continue; /* a ping or a message: not what we wait for */
		assert_true(len >= 2);
		snprintf(reason, cap, "%.*s", (int)len - 2, (const char *)payload + 2);
		return payload[0] << 8 | payload[1];
	}
	fail_msg("no close frame");
	return -1;
}

/* ----------------------------------------------------------------- tests */

static void
test_healthz(void **state)
{
	struct fx *f = *state;
	struct response r;
	struct cli c;
	char v[128];

	assert_int_equal(stats(f).http_responses, 0);
	cli_open(f, &c);
	get(&c, "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 3);
	assert_memory_equal(r.body, "ok\n", 3);
	assert_true(header(r.head, "content-type:", v, sizeof(v)));
	assert_string_equal(v, "text/plain");
	assert_true(header(r.head, "cache-control:", v, sizeof(v)));
	assert_string_equal(v, "no-store");
	assert_true(header(r.head, "x-content-type-options:", v, sizeof(v)));
	assert_string_equal(v, "nosniff");
	assert_int_equal(stats(f).http_responses, 1);
	/* Keep-alive: a second request on the same connection. */
	get(&c, "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(stats(f).http_responses, 2);
	/* HTTP connections are not WebSocket connections. */
	assert_int_equal(connections_become(f, 0), 0);
	cli_close(&c);
	/* A new connection counts on. */
	cli_open(f, &c);
	get(&c, "/healthz", &r);
	assert_int_equal(r.status, 200);
	cli_close(&c);
	struct net_stats st = stats(f);
	assert_int_equal(st.http_responses, 3);
	assert_int_equal(st.frames_in, 0);
	assert_int_equal(st.frames_out, 0);
}

static void
test_only_get(void **state)
{
	struct fx *f = *state;
	struct response r;
	struct cli c;
	char v[64];

	static const char *const reqs[] = {
		"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"DELETE /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		/* With a body, even an empty one: lws reads it first. */
		"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		"Content-Length: 0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
		"PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc",
	};
	size_t n = sizeof(reqs) / sizeof(reqs[0]);

	for (size_t i = 0; i < n; i++) {
		/* One connection each: the server closes the connection
		 * after a 405 (the request's body is never read). */
		cli_open(f, &c);
		cli_puts(&c, reqs[i]);
		if (read_head(&c, r.head, sizeof(r.head)) == 0)
			fail_msg("request %zu: closed without an answer", i);
		cli_read_exact(&c, r.body, 18);
		r.body_len = 18;
		if (sscanf(r.head, "HTTP/1.1 %d", &r.status) != 1 || r.status != 405)
			fail_msg("request %zu: %s", i, r.head);
		assert_true(header(r.head, "allow:", v, sizeof(v)));
		assert_string_equal(v, "GET, HEAD");
		assert_true(header(r.head, "content-length:", v, sizeof(v)));
		assert_string_equal(v, "18");
		assert_memory_equal(r.body, "only GET and HEAD\n", 18);
		cli_close(&c);
	}
	assert_int_equal(stats(f).http_responses, n);
}

static void
test_metrics_loopback(void **state)
{
	struct fx *f = *state;
	struct response r;
	struct cli c, ws;

	ws_open(f, &ws);
	assert_int_equal(connections_become(f, 1), 1);
	cli_open(f, &c);
	get(&c, "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(memmem(r.body, r.body_len, "\nrenkei_connections 1\n", 22));
	assert_non_null(memmem(r.body, r.body_len, "renkei_closed_total{reason=\"text_frame\"} 0\n",
	                       strlen("renkei_closed_total{reason=\"text_frame\"} 0\n")));
	/* api's part follows net's. */
	assert_non_null(memmem(r.body, r.body_len, "renkei_requests_total", 21));
	cli_close(&c);
	cli_close(&ws);
}

static void
test_metrics_off(void **state)
{
	struct fx *f = *state;
	struct response r;
	struct cli c;

	cli_open(f, &c);
	get(&c, "/metrics", &r);
	assert_int_equal(r.status, 403);
	assert_int_equal(r.body_len, 10);
	assert_memory_equal(r.body, "forbidden\n", 10);
	/* /healthz is for everyone. */
	get(&c, "/healthz", &r);
	assert_int_equal(r.status, 200);
	cli_close(&c);
}

static void
test_plaintext_closed(void **state)
{
	struct fx *f = *state;
	const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	char buf[1024];
	size_t len = 0;
	int fd = tcp_connect(f->port);
	int64_t end = rk_mono_ms() + WAIT_MS;
	bool closed = false;

	assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL),
	                 (ssize_t)(sizeof(req) - 1));
	while (rk_mono_ms() < end && len < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			closed = true;
			break;
		}
	}
	close(fd);
	buf[len] = '\0';
	assert_true(closed);
	/* No HTTP answer in the clear, whatever else (a TLS alert) came. */
	assert_null(memmem(buf, len, "HTTP/", 5));
	assert_null(memmem(buf, len, "ok\n", 3));
	assert_int_equal(stats(f).http_responses, 0);
	/* And the net still serves TLS clients. */
	struct cli c;
	struct response r;
	cli_open(f, &c);
	get(&c, "/healthz", &r);
	assert_int_equal(r.status, 200);
	cli_close(&c);
}

static void
test_upgrade_needs_subprotocol(void **state)
{
	struct fx *f = *state;
	static const char *const refused[] = {
		NULL,
		"Sec-WebSocket-Protocol: renkei.v2\r\n",
		"Sec-WebSocket-Protocol: http\r\n",
	};
	char buf[2048];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct cli c;
		cli_open(f, &c);
		ws_request(&c, refused[i]);
		bool closed = read_until_closed(&c, buf, sizeof(buf));
		cli_close(&c);
		if (!closed)
			fail_msg("upgrade %zu: connection left open", i);
		if (strstr(buf, " 101 ") != NULL)
			fail_msg("upgrade %zu was accepted: %s", i, buf);
		assert_int_equal(connections_become(f, 0), 0);
	}
	/* The right subprotocol upgrades (ws_open checks the answer). */
	struct cli ok;
	ws_open(f, &ok);
	assert_int_equal(connections_become(f, 1), 1);
	cli_close(&ok);
	assert_int_equal(connections_become(f, 0), 0);
}

static void
test_connections_count(void **state)
{
	struct fx *f = *state;
	struct cli a, b, h;
	struct response r;

	assert_int_equal(connections_become(f, 0), 0);
	ws_open(f, &a);
	assert_int_equal(connections_become(f, 1), 1);
	ws_open(f, &b);
	assert_int_equal(connections_become(f, 2), 2);
	/* An HTTPS request meanwhile changes nothing. */
	cli_open(f, &h);
	get(&h, "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(connections_become(f, 2), 2);
	cli_close(&h);
	/* A clean close... */
	uint8_t code[2] = {0x03, 0xe8}; /* 1000 */
	ws_send(&a, 0x8, code, 2);
	cli_close(&a);
	assert_int_equal(connections_become(f, 1), 1);
	/* ...and a client that just goes away. */
	close(b.fd);
	b.fd = -1;
	assert_int_equal(connections_become(f, 0), 0);
	SSL_free(b.ssl);
	b.ssl = NULL;
	cli_close(&b);
}

static void
test_text_frame_closes(void **state)
{
	struct fx *f = *state;
	struct cli c;
	char reason[128];

	ws_open(f, &c);
	assert_int_equal(connections_become(f, 1), 1);
	ws_send(&c, 0x1, (const uint8_t *)"hello", 5);
	assert_int_equal(ws_read_close(&c, reason, sizeof(reason)), 1003);
	assert_non_null(strstr(reason, "binary"));
	cli_close(&c);
	assert_int_equal(connections_become(f, 0), 0);
	struct net_stats st = stats(f);
	assert_int_equal(st.closed_text, 1);
	assert_int_equal(st.closed_oversize, 0);
	assert_int_equal(st.frames_in, 0);
}

static void
test_oversize_closes(void **state)
{
	struct fx *f = *state;
	size_t len = (size_t)f->conf.max_message_bytes + 1;
	uint8_t *big = calloc(1, len);
	struct cli c;
	char reason[128];

	ws_open(f, &c);
	ws_send(&c, 0x2, big, len);
	free(big);
	assert_int_equal(ws_read_close(&c, reason, sizeof(reason)), 1009);
	assert_non_null(strstr(reason, "larger"));
	cli_close(&c);
	assert_int_equal(connections_become(f, 0), 0);
	struct net_stats st = stats(f);
	assert_int_equal(st.closed_oversize, 1);
	assert_int_equal(st.closed_text, 0);
	assert_int_equal(st.frames_in, 0);
}

/* Fragments count together: two pieces that are each allowed, but not
 * together, close too. */
static void
test_oversize_fragments_close(void **state)
{
	struct fx *f = *state;
	size_t half = (size_t)f->conf.max_message_bytes / 2 + 1;
	uint8_t *piece = calloc(1, half);
	uint8_t frame_hdr[8] = {0x02 /* binary, not final */, 0x80 | 126,
	                        (uint8_t)(half >> 8), (uint8_t)half, 0, 0, 0, 0};
	struct cli c;
	char reason[128];

	ws_open(f, &c);
	/* First fragment by hand (FIN clear), mask of zeros. */
	cli_write(&c, frame_hdr, sizeof(frame_hdr));
	cli_write(&c, piece, half);
	/* The continuation, final. */
	ws_send(&c, 0x0, piece, half);
	free(piece);
	assert_int_equal(ws_read_close(&c, reason, sizeof(reason)), 1009);
	cli_close(&c);
	assert_int_equal(stats(f).closed_oversize, 1);
}

static void
test_close_all(void **state)
{
	struct fx *f = *state;
	struct cli a, b;
	char reason[128];

	ws_open(f, &a);
	ws_open(f, &b);
	assert_int_equal(connections_become(f, 2), 2);
	ask(f, ACT_CLOSE_ALL);
	assert_int_equal(ws_read_close(&a, reason, sizeof(reason)), 1001);
	assert_string_equal(reason, "unit test close");
	assert_int_equal(ws_read_close(&b, reason, sizeof(reason)), 1001);
	assert_string_equal(reason, "unit test close");
	/* The server waits for the closing handshake: answer it. */
	uint8_t code[2] = {0x03, 0xe9}; /* 1001 */
	ws_send(&a, 0x8, code, 2);
	ws_send(&b, 0x8, code, 2);
	assert_int_equal(connections_become(f, 0), 0);
	cli_close(&a);
	cli_close(&b);
	/* New connections are still welcome afterwards. */
	ws_open(f, &a);
	assert_int_equal(connections_become(f, 1), 1);
	cli_close(&a);
}

static void
test_tls_policy(void **state)
{
	struct fx *f = *state;
	struct cli c;

	/* TLS 1.3 by default. */
	cli_open(f, &c);
	assert_int_equal(SSL_version(c.ssl), TLS1_3_VERSION);
	cli_close(&c);
	/* TLS 1.2 with ECDHE and an AEAD suite. */
	assert_true(cli_open_with(f, &c, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"));
	assert_int_equal(SSL_version(c.ssl), TLS1_2_VERSION);
	assert_string_equal(SSL_get_cipher_name(c.ssl), "ECDHE-ECDSA-AES128-GCM-SHA256");
	cli_close(&c);
	/* TLS 1.2 CBC suites, ECDHE or not, are refused. */
	assert_false(cli_open_with(f, &c, TLS1_2_VERSION,
	                           "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA"));
	/* The net is unharmed. */
	struct response r;
	cli_open(f, &c);
	get(&c, "/healthz", &r);
	assert_int_equal(r.status, 200);
	cli_close(&c);
}

static void
test_tick_hook(void **state)
{
	struct fx *f = *state;
	int64_t end = rk_mono_ms() + 2500;

	/* About once a second. */
	while (atomic_load(&f->ticks) == 0 && rk_mono_ms() < end)
		usleep(20 * 1000);
	assert_true(atomic_load(&f->ticks) >= 1);
}

static void
noop(void *arg)
{
	(void)arg;
}

/* A listening socket on 127.0.0.1 and a free port; returns the fd. */
static int
hold_port(int *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* No fixture: one lws context at a time, as in the server (a second
 * live context while one fails to start makes lws lose the first one's
 * SSL_CTX at exit, a test-only situation). */
static void
test_new_fails_cleanly(void **state)
{
	struct net_hooks hooks = {noop, noop, NULL};
	struct conf c;
	char err[512] = "", portstr[16];
	int port, fd;

	(void)state;
	/* The port is taken. */
	fd = hold_port(&port);
	conf_for(&c, "/tmp");
	snprintf(portstr, sizeof(portstr), "%d", port);
	set(&c, "port", portstr);
	assert_null(net_new(&c, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, portstr));
	conf_fini(&c);
	close(fd);
	/* No certificate. */
	conf_for(&c, "/tmp");
	set(&c, "tls_cert", "/nonexistent/server.pem");
	err[0] = '\0';
	assert_null(net_new(&c, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/server.pem"));
	conf_fini(&c);
	/* A key that is not the certificate's. */
	conf_for(&c, "/tmp");
	set(&c, "tls_key", ca_path);
	err[0] = '\0';
	assert_null(net_new(&c, &hooks, err, sizeof(err)));
	assert_true(err[0] != '\0');
	conf_fini(&c);
	/* net_free(NULL) is fine. */
	net_free(NULL);
	/* And a net can start after all that. */
	conf_for(&c, "/tmp");
	struct net *n = net_new(&c, &hooks, err, sizeof(err));
	if (n == NULL)
		fail_msg("net_new: %s", err);
	assert_true(lws_get_vhost_listen_port(n->vh) > 0);
	assert_int_equal(net_connections(n), 0);
	net_free(n);
	conf_fini(&c);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_healthz),
		T(test_only_get),
		T(test_metrics_loopback),
		cmocka_unit_test_setup_teardown(test_metrics_off, setup_metrics_off, teardown),
		T(test_plaintext_closed),
		T(test_upgrade_needs_subprotocol),
		T(test_connections_count),
		T(test_text_frame_closes),
		T(test_oversize_closes),
		T(test_oversize_fragments_close),
		T(test_close_all),
		T(test_tls_policy),
		T(test_tick_hook),
		cmocka_unit_test(test_new_fails_cleanly),
	};
#undef T
	/* A client that goes away must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("UT_FILTER"))
		cmocka_set_test_filter(getenv("UT_FILTER"));
	if (getenv("UT_FILTER")) cmocka_set_test_filter(getenv("UT_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
