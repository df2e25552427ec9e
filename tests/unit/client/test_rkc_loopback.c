/*
 * Unit tests: the rkc client against a scripted TLS WebSocket server in a
 * thread of this process, on loopback, with certificates made at start.
 *
 * The real server is tested in tests/integration; this file pins down
 * the client's own behaviour, including what a real server should never
 * do (fragment responses around pings, send masked or oversize frames,
 * omit the subprotocol, answer with a wrong Sec-WebSocket-Accept, reset
 * the connection).
 *
 * The scripted server uses blocking OpenSSL and ws_frame.h; each test
 * starts it with one scenario, runs the client in the main thread, joins
 * the server and then checks what each side saw. SIGPIPE keeps its
 * default action in the main thread on purpose: rkc must not die of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "rkc.h"
#include "rkc_http.h"
#include "ws_frame.h"

/* ------------------------------------------------------------ PKI */

struct pki {
	char ca_path[64];        /* CA that signed the server certificates */
	char other_ca_path[64];  /* an unrelated CA */
	EVP_PKEY *ca_key, *other_key, *key;
	X509 *ca, *other_ca;
	X509 *cert;              /* localhost, 127.0.0.1, ::1 */
	X509 *cert_dns_only;     /* localhost only */
};

static void
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);

	if (e == NULL || X509_add_ext(x, e, -1) != 1)
		abort();
	X509_EXTENSION_free(e);
}

static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
          const char *san, long serial)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		abort();
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
	                               -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1)
		abort();
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (issuer == NULL) {
		add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(x, &v3, NID_subject_key_identifier, "hash");
	} else {
		add_ext(x, &v3, NID_basic_constraints, "CA:FALSE");
		add_ext(x, &v3, NID_key_usage, "critical,digitalSignature");
		add_ext(x, &v3, NID_ext_key_usage, "serverAuth");
		add_ext(x, &v3, NID_subject_alt_name, san);
		add_ext(x, &v3, NID_authority_key_identifier, "keyid:always");
	}
	if (X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) == 0)
		abort();
	return x;
}

static void
write_pem(char *path, size_t len, X509 *x)
{
	FILE *f;
	int fd;

	snprintf(path, len, "/tmp/rkc-test-ca-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL || PEM_write_X509(f, x) != 1 ||
	    fclose(f) != 0)
		abort();
}

static int
pki_setup(void **state)
{
	struct pki *p = calloc(1, sizeof *p);

	if (p == NULL)
		return -1;
	p->ca_key = EVP_EC_gen("P-256");
	p->other_key = EVP_EC_gen("P-256");
	p->key = EVP_EC_gen("P-256");
	if (p->ca_key == NULL || p->other_key == NULL || p->key == NULL)
		return -1;
	p->ca = make_cert(p->ca_key, "rkc test CA", NULL, NULL, NULL, 1);
	p->other_ca = make_cert(p->other_key, "rkc other CA", NULL, NULL, NULL, 2);
	p->cert = make_cert(p->key, "localhost", p->ca, p->ca_key,
	                    "DNS:localhost,IP:127.0.0.1,IP:::1", 3);
	p->cert_dns_only = make_cert(p->key, "localhost", p->ca, p->ca_key, "DNS:localhost", 4);
	write_pem(p->ca_path, sizeof p->ca_path, p->ca);
	write_pem(p->other_ca_path, sizeof p->other_ca_path, p->other_ca);
	*state = p;
	return 0;
}

static int
pki_teardown(void **state)
{
	struct pki *p = *state;

	unlink(p->ca_path);
	unlink(p->other_ca_path);
	X509_free(p->ca);
	X509_free(p->other_ca);
	X509_free(p->cert);
	X509_free(p->cert_dns_only);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->other_key);
	EVP_PKEY_free(p->key);
	free(p);
	return 0;
}

/* ------------------------------------------------------------ scripted server */

struct server;
typedef void (*scenario_fn)(struct server *s, SSL *ssl);

struct server {
	int lfd, port;
	SSL_CTX *ctx;
	pthread_t thread;
	scenario_fn scenario;
	int up_how;              /* how srv_upgrade answers */
	/* what the server saw */
	int tls_failed;
	int tls_version;
	char sni[256];
	char request[8192];      /* the HTTP request head */
	int offered_protocol;
	int unmasked;            /* client frames without a mask */
	int pongs;
	char pong_data[64];
	int requests;            /* Envelopes received */
	uint64_t last_id;
	int close_code;          /* from the client's close frame; -1 if none */
	char close_reason[128];
	int eof;                 /* the stream ended */
};

enum { UP_OK, UP_NO_PROTOCOL, UP_BAD_ACCEPT, UP_403, UP_EXTENSION };

static int
srv_read_all(SSL *ssl, void *buf, size_t len)
{
	size_t off = 0, n;

	while (off < len) {
		if (SSL_read_ex(ssl, (char *)buf + off, len - off, &n) != 1)
			return -1;
		off += n;
	}
	return 0;
}

static int
srv_write(SSL *ssl, const void *buf, size_t len)
{
	size_t n;

	return SSL_write_ex(ssl, buf, len, &n) == 1 && n == len ? 0 : -1;
}

static int
srv_send_frame(SSL *ssl, int fin, int op, const void *data, size_t len)
{
	size_t n;
	uint8_t *f = rkc_ws_frame_build(fin, op, data, len, NULL, &n);
	int rc = srv_write(ssl, f, n);

	free(f);
	return rc;
}

static int
srv_send_env(SSL *ssl, Renkei__V1__Envelope *env)
{
	size_t len = renkei__v1__envelope__get_packed_size(env);
	uint8_t *buf = malloc(len + 1);
	int rc;

	renkei__v1__envelope__pack(env, buf);
	rc = srv_send_frame(ssl, 1, RKC_OP_BINARY, buf, len);
	free(buf);
	return rc;
}

/* One client frame: returns its opcode with *payload (unmasked, caller
 * frees), or -1 at the end of the stream. Records pongs and close. */
static int
srv_recv_frame(struct server *s, SSL *ssl, uint8_t **payload, size_t *len)
{
	uint8_t hdr[RKC_WS_MAX_HEADER];
	struct rkc_ws_header h;
	size_t have = 0;
	int r, code;

	*payload = NULL;
	for (;;) {
		r = rkc_ws_header_decode(hdr, have, &h, NULL);
		if (r == RKC_WS_OK)
			break;
		if (r == RKC_WS_INVALID || srv_read_all(ssl, hdr + have, h.hdr_len - have) != 0) {
			s->eof = 1;
			return -1;
		}
		have = h.hdr_len;
	}
	if (!h.masked)
		s->unmasked++;
	*payload = malloc((size_t)h.len + 1);
	if (srv_read_all(ssl, *payload, (size_t)h.len) != 0) {
		free(*payload);
		*payload = NULL;
		s->eof = 1;
		return -1;
	}
	if (h.masked)
		rkc_ws_mask(*payload, (size_t)h.len, h.mask, 0);
	(*payload)[h.len] = 0;
	*len = (size_t)h.len;
	if (h.opcode == RKC_OP_PONG) {
		s->pongs++;
		snprintf(s->pong_data, sizeof s->pong_data, "%s", (char *)*payload);
	}
	if (h.opcode == RKC_OP_CLOSE) {
		rkc_ws_close_parse(*payload, *len, &code, s->close_reason,
		                   sizeof s->close_reason, NULL);
		s->close_code = code;
	}
	return h.opcode;
}

static int
srv_upgrade(struct server *s, SSL *ssl)
{
	char key[64], accept[RKC_WS_ACCEPT_LEN + 1], proto[64], resp[1024];
	size_t len = 0, n;

	while (rkc_http_head_end(s->request, len) == 0) {
		if (len >= sizeof s->request - 1 ||
		    SSL_read_ex(ssl, s->request + len, sizeof s->request - 1 - len, &n) != 1)
			return -1;
		len += n;
	}
	s->request[len] = '\0';
	if (rkc_http_header(s->request, len, "Sec-WebSocket-Key", key, sizeof key) != 1 ||
	    rkc_ws_accept_for(key, accept) != 0)
		return -1;
	s->offered_protocol =
		rkc_http_header(s->request, len, "Sec-WebSocket-Protocol", proto, sizeof proto) == 1 &&
		strcmp(proto, "renkei.v1") == 0;
	if (s->up_how == UP_BAD_ACCEPT)
		accept[0] = accept[0] == 'A' ? 'B' : 'A';
	if (s->up_how == UP_403)
		snprintf(resp, sizeof resp, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
	else
		snprintf(resp, sizeof resp,
		         "HTTP/1.1 101 Switching Protocols\r\n"
		         "Upgrade: websocket\r\n"
		         "Connection: Upgrade\r\n"
		         "Sec-WebSocket-Accept: %s\r\n"
		         "%s%s\r\n",
		         accept,
		         s->offered_protocol && s->up_how != UP_NO_PROTOCOL
		                 ? "Sec-WebSocket-Protocol: renkei.v1\r\n" : "",
		         s->up_how == UP_EXTENSION ? "Sec-WebSocket-Extensions: permessage-deflate\r\n"
		                                   : "");
	if (srv_write(ssl, resp, strlen(resp)) != 0)
		return -1;
	return s->up_how == UP_OK ? 0 : -1;
}

/* Read client frames until its close (answered) or the end of stream. */
static void
srv_until_close(struct server *s, SSL *ssl)
{
	uint8_t *p, cp[RKC_WS_MAX_CONTROL];
	size_t len;
	int op;

	while ((op = srv_recv_frame(s, ssl, &p, &len)) >= 0) {
		free(p);
		if (op == RKC_OP_CLOSE) {
			len = rkc_ws_close_payload(cp, s->close_code, "");
			srv_send_frame(ssl, 1, RKC_OP_CLOSE, cp, len);
			return;
		}
	}
}

static Renkei__V1__Organisation org = {
	PROTOBUF_C_MESSAGE_INIT(&renkei__v1__organisation__descriptor),
	"org-vn-shakujii", "石神井たんぽぽ訪問看護ステーション", "visiting_nurse",
};

/* An answer for req: WhoAmIResponse, LoginResponse or LogoutResponse. */
static int
srv_answer(SSL *ssl, const Renkei__V1__Envelope *req)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__User user = RENKEI__V1__USER__INIT;
	Renkei__V1__WhoAmIResponse who = RENKEI__V1__WHO_AM_IRESPONSE__INIT;
	Renkei__V1__LoginResponse lr = RENKEI__V1__LOGIN_RESPONSE__INIT;
	Renkei__V1__LogoutResponse lo = RENKEI__V1__LOGOUT_RESPONSE__INIT;
	Renkei__V1__Error err = RENKEI__V1__ERROR__INIT;

	user.login = "kobayashi";
	user.display_name = "小林 由美";
	user.profession = RENKEI__V1__PROFESSION__NURSE;
	user.organisation = &org;
	env.request_id = req->request_id;
	switch (req->body_case) {
	case RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST:
		who.user = &user;
		who.expires_at_ms = 1767225600000LL; /* 2026-01-01T00:00:00Z */
		who.idle_timeout_s = 1800;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE;
		env.whoami_response = &who;
		break;
	case RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST:
	case RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST:
		if ((req->body_case == RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST &&
		     strcmp(req->login_request->password, "demo-pass") != 0) ||
		    (req->body_case == RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST &&
		     strcmp(req->resume_request->token, "tok-0123456789") != 0)) {
			err.code = RENKEI__V1__CODE__UNAUTHENTICATED;
			err.message = req->body_case == RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST
			                      ? "wrong login or password"
			                      : "session ended";
			env.body_case = RENKEI__V1__ENVELOPE__BODY_ERROR;
			env.error = &err;
			break;
		}
		if (req->body_case == RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST)
			lr.token = "tok-0123456789";
		lr.user = &user;
		lr.expires_at_ms = 1767225600000LL;
		lr.idle_timeout_s = 1800;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE;
		env.login_response = &lr;
		break;
	case RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST:
		env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE;
		env.logout_response = &lo;
		break;
	default:
		err.code = RENKEI__V1__CODE__UNIMPLEMENTED;
		err.message = "not in this test server";
		env.body_case = RENKEI__V1__ENVELOPE__BODY_ERROR;
		env.error = &err;
	}
	return srv_send_env(ssl, &env);
}

static void *
srv_main(void *arg)
{
	struct server *s = arg;
	struct pollfd pfd = { s->lfd, POLLIN, 0 };
	struct timeval tv = { 10, 0 };
	const char *sni;
	sigset_t pipe;
	SSL *ssl = NULL;
	int fd;

	/* the server thread may write to a client that went away */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	if (poll(&pfd, 1, 10000) != 1)
		return NULL;
	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	ssl = SSL_new(s->ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
		s->tls_failed = 1;
		goto out;
	}
	s->tls_version = SSL_version(ssl);
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (sni != NULL)
		snprintf(s->sni, sizeof s->sni, "%s", sni);
	s->scenario(s, ssl);
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
	return NULL;
}

/* Start a server for one connection. Returns 0, or -1 if the address
 * family is not available here. */
static int
srv_start(struct server *s, const struct pki *p, int family, X509 *cert, int max_version,
          scenario_fn scenario)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	memset(s, 0, sizeof *s);
	s->close_code = -1;
	s->scenario = scenario;
	s->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(s->ctx);
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, cert != NULL ? cert : p->cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, p->key), 1);
	if (max_version != 0) {
		/* let the server go below the client's floor for that test */
		SSL_CTX_set_security_level(s->ctx, 0);
		assert_int_equal(SSL_CTX_set_min_proto_version(s->ctx, TLS1_VERSION), 1);
		assert_int_equal(SSL_CTX_set_max_proto_version(s->ctx, max_version), 1);
	}
	s->lfd = socket(family, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		sl = sizeof *a6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a4;
	}
	if (bind(s->lfd, (struct sockaddr *)&ss, sl) != 0 || listen(s->lfd, 4) != 0) {
		close(s->lfd);
		SSL_CTX_free(s->ctx);
		return -1;
	}
	sl = sizeof ss;
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&ss, &sl), 0);
	s->port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                   : ((struct sockaddr_in *)&ss)->sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
	return 0;
}

static void
srv_join(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
	SSL_CTX_free(s->ctx);
}

static struct rkc *
connect_to(const struct pki *p, const char *host, int port, const char *ca, char *err,
           size_t errlen)
{
	struct rkc_opts o;
	char url[128];

	snprintf(url, sizeof url, "wss://%s:%d/v1", host, port);
	memset(&o, 0, sizeof o);
	o.url = url;
	o.ca_file = ca != NULL ? ca : p->ca_path;
	o.timeout_ms = 5000;
	return rkc_connect(&o, err, errlen);
}

static void
whoami_req(Renkei__V1__Envelope *env, Renkei__V1__WhoAmIRequest *w)
{
	renkei__v1__envelope__init(env);
	renkei__v1__who_am_irequest__init(w);
	env->body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST;
	env->whoami_request = w;
}

/* ------------------------------------------------------------ scenarios */

/* First request: an event, a ping, the answer in 4 fragments with a ping
 * between them. Later requests: plain answers. */
static void
sc_basic(struct server *s, SSL *ssl)
{
	Renkei__V1__Envelope ev = RENKEI__V1__ENVELOPE__INIT, *req;
	Renkei__V1__Event event = RENKEI__V1__EVENT__INIT;
	Renkei__V1__SessionEnded se = RENKEI__V1__SESSION_ENDED__INIT;
	uint8_t *p, cp[RKC_WS_MAX_CONTROL];
	size_t len;
	int op;

	if (srv_upgrade(s, ssl) != 0)
		return;
	while ((op = srv_recv_frame(s, ssl, &p, &len)) >= 0) {
		if (op == RKC_OP_CLOSE) {
			free(p);
			len = rkc_ws_close_payload(cp, s->close_code, "");
			srv_send_frame(ssl, 1, RKC_OP_CLOSE, cp, len);
			return;
		}
		if (op != RKC_OP_BINARY) {
			free(p);
			continue;
		}
		req = renkei__v1__envelope__unpack(NULL, len, p);
		free(p);
		if (req == NULL)
			return;
		s->requests++;
		s->last_id = req->request_id;
		if (s->requests == 1) {
			Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
			Renkei__V1__User user = RENKEI__V1__USER__INIT;
			Renkei__V1__WhoAmIResponse who = RENKEI__V1__WHO_AM_IRESPONSE__INIT;
			uint8_t *buf;
			size_t n, q;

			se.reason = "テスト";
			event.kind_case = RENKEI__V1__EVENT__KIND_SESSION_ENDED;
			event.session_ended = &se;
			ev.body_case = RENKEI__V1__ENVELOPE__BODY_EVENT;
			ev.event = &event;
			srv_send_env(ssl, &ev);
			srv_send_frame(ssl, 1, RKC_OP_PING, "p1", 2);

			user.login = "kobayashi";
			user.display_name = "小林 由美";
			user.profession = RENKEI__V1__PROFESSION__NURSE;
			user.organisation = &org;
			who.user = &user;
			who.expires_at_ms = 1767225600000LL;
			env.request_id = req->request_id;
			env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE;
			env.whoami_response = &who;
			n = renkei__v1__envelope__get_packed_size(&env);
			buf = malloc(n);
			renkei__v1__envelope__pack(&env, buf);
			/* 4 fragments (one empty), a ping between two of them */
			q = n / 4;
			srv_send_frame(ssl, 0, RKC_OP_BINARY, buf, q);
			srv_send_frame(ssl, 1, RKC_OP_PING, "p2", 2);
			srv_send_frame(ssl, 0, RKC_OP_CONT, buf + q, q);
			srv_send_frame(ssl, 0, RKC_OP_CONT, buf + 2 * q, 0);
			srv_send_frame(ssl, 1, RKC_OP_CONT, buf + 2 * q, n - 2 * q);
			free(buf);
		} else {
			srv_answer(ssl, req);
		}
		renkei__v1__envelope__free_unpacked(req, NULL);
	}
}

static void
sc_server_closes(struct server *s, SSL *ssl)
{
	uint8_t cp[RKC_WS_MAX_CONTROL], *p;
	size_t len;

	if (srv_upgrade(s, ssl) != 0)
		return;
	len = rkc_ws_close_payload(cp, 4001, "session ended");
	srv_send_frame(ssl, 1, RKC_OP_CLOSE, cp, len);
	/* the client's answer */
	while (srv_recv_frame(s, ssl, &p, &len) >= 0) {
		free(p);
		if (s->close_code >= 0)
			break;
	}
	/* then nothing more may come */
	if (srv_recv_frame(s, ssl, &p, &len) >= 0) {
		s->requests = 99; /* flags a frame after the close */
		free(p);
	}
}

static void
sc_upgrade_only(struct server *s, SSL *ssl)
{
	(void)srv_upgrade(s, ssl);
}

static void
sc_oversize(struct server *s, SSL *ssl)
{
	uint8_t hdr[RKC_WS_MAX_HEADER];
	size_t n;

	if (srv_upgrade(s, ssl) != 0)
		return;
	n = rkc_ws_header_encode(hdr, 1, RKC_OP_BINARY, (uint64_t)65 << 20, NULL);
	srv_write(ssl, hdr, n);
	srv_until_close(s, ssl);
}

static void
sc_masked(struct server *s, SSL *ssl)
{
	static const uint8_t mask[4] = { 1, 2, 3, 4 };
	uint8_t *f;
	size_t n;

	if (srv_upgrade(s, ssl) != 0)
		return;
	f = rkc_ws_frame_build(1, RKC_OP_BINARY, "\x08\x01", 2, mask, &n);
	srv_write(ssl, f, n);
	free(f);
	srv_until_close(s, ssl);
}

/* A whole frame in two writes 400 ms apart. */
static void
sc_slow_frame(struct server *s, SSL *ssl)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	uint8_t buf[64], *f;
	size_t n, fl;

	if (srv_upgrade(s, ssl) != 0)
		return;
	env.request_id = 0;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE;
	env.logout_response = &(Renkei__V1__LogoutResponse)RENKEI__V1__LOGOUT_RESPONSE__INIT;
	env.request_id = 77;
	n = renkei__v1__envelope__pack(&env, buf);
	f = rkc_ws_frame_build(1, RKC_OP_BINARY, buf, n, NULL, &fl);
	srv_write(ssl, f, 3);
	usleep(400 * 1000);
	srv_write(ssl, f + 3, fl - 3);
	free(f);
	srv_until_close(s, ssl);
}

/* A text message, then an undecodable binary one, then a good one. */
static void
sc_text_then_binary(struct server *s, SSL *ssl)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__LogoutResponse lo = RENKEI__V1__LOGOUT_RESPONSE__INIT;

	if (srv_upgrade(s, ssl) != 0)
		return;
	srv_send_frame(ssl, 1, RKC_OP_TEXT, "{}", 2);
	srv_send_frame(ssl, 1, RKC_OP_BINARY, "\xff\xff\xff", 3);
	env.request_id = 5;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE;
	env.logout_response = &lo;
	srv_send_env(ssl, &env);
	srv_until_close(s, ssl);
}

/* Answers the first request 300 ms late, after the client gave up. */
static void
sc_late(struct server *s, SSL *ssl)
{
	Renkei__V1__Envelope *req, *first = NULL;
	uint8_t *p;
	size_t len;
	int op;

	if (srv_upgrade(s, ssl) != 0)
		return;
	while ((op = srv_recv_frame(s, ssl, &p, &len)) >= 0) {
		if (op == RKC_OP_CLOSE) {
			free(p);
			srv_send_frame(ssl, 1, RKC_OP_CLOSE, "\x03\xe8", 2);
			break;
		}
		req = renkei__v1__envelope__unpack(NULL, len, p);
		free(p);
		if (req == NULL)
			break;
		s->requests++;
		if (first == NULL) {
			first = req;
			continue;
		}
		srv_answer(ssl, first);
		srv_answer(ssl, req);
		renkei__v1__envelope__free_unpacked(req, NULL);
	}
	if (first != NULL)
		renkei__v1__envelope__free_unpacked(first, NULL);
}

/* Upgrade, then reset the TCP connection. */
static void
sc_reset(struct server *s, SSL *ssl)
{
	struct linger lg = { 1, 0 };

	if (srv_upgrade(s, ssl) != 0)
		return;
	setsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	shutdown(SSL_get_fd(ssl), SHUT_RDWR);
}

/* Ping; then report what the client sent until the stream ends. */
static void
sc_raw(struct server *s, SSL *ssl)
{
	uint8_t *p, *all = NULL;
	size_t len, total = 0;
	int op;

	if (srv_upgrade(s, ssl) != 0)
		return;
	srv_send_frame(ssl, 1, RKC_OP_PING, "abc", 3);
	while ((op = srv_recv_frame(s, ssl, &p, &len)) >= 0) {
		if (op == RKC_OP_BINARY || op == RKC_OP_CONT) {
			all = realloc(all, total + len + 1);
			memcpy(all + total, p, len);
			total += len;
			all[total] = 0;
			s->requests++;
		}
		free(p);
	}
	if (all != NULL)
		snprintf(s->close_reason, sizeof s->close_reason, "%s", (char *)all);
	free(all);
}

/* HTTPS: reads the request head, answers per up_how, closes. */
enum { HTTP_LENGTH, HTTP_CHUNKED, HTTP_404, HTTP_CUT };

static void
sc_http(struct server *s, SSL *ssl)
{
	static const char *answers[] = {
		[HTTP_LENGTH] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n",
		[HTTP_CHUNKED] = ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		                  "6\r\n# HELP\r\n4\r\n up\n\r\n0\r\n\r\n"),
		[HTTP_404] = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
		[HTTP_CUT] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
	};
	size_t len = 0, n;
	char buf[64];

	while (rkc_http_head_end(s->request, len) == 0) {
		if (len >= sizeof s->request - 1 ||
		    SSL_read_ex(ssl, s->request + len, sizeof s->request - 1 - len, &n) != 1)
			return;
		len += n;
	}
	s->request[len] = '\0';
	srv_write(ssl, answers[s->up_how], strlen(answers[s->up_how]));
	if (s->up_how == HTTP_LENGTH) {
		/* keep the connection open: the client must not need EOF */
		while (SSL_read_ex(ssl, buf, sizeof buf, &n) == 1)
			;
		s->eof = 1;
	}
}

/* ------------------------------------------------------------ tests */

static void
test_call_fragments_pings_events(void **state)
{
	struct pki *p = *state;
	struct server s;
	struct rkc *c;
	Renkei__V1__Envelope req, *resp, *ev;
	Renkei__V1__WhoAmIRequest w;
	char err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_basic), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	if (c == NULL)
		fail_msg("connect: %s", err);
	assert_true(rkc_fd(c) >= 0);

	whoami_req(&req, &w);
	assert_int_equal(rkc_call(c, &req, 5000, &resp), 0);
	assert_int_equal(req.request_id, 1);
	assert_int_equal(resp->request_id, 1);
	assert_int_equal(resp->body_case, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(resp->whoami_response->user->display_name, "小林 由美");
	assert_string_equal(resp->whoami_response->user->organisation->name,
	                    "石神井たんぽぽ訪問看護ステーション");
	renkei__v1__envelope__free_unpacked(resp, NULL);

	/* the second call gets id 2 and an unfragmented answer */
	whoami_req(&req, &w);
	assert_int_equal(rkc_call(c, &req, 5000, &resp), 0);
	assert_int_equal(resp->request_id, 2);
	renkei__v1__envelope__free_unpacked(resp, NULL);

	/* the event that came before the first answer was kept */
	assert_int_equal(rkc_next_event(c, 0, &ev), 0);
	assert_int_equal(ev->request_id, 0);
	assert_int_equal(ev->body_case, RENKEI__V1__ENVELOPE__BODY_EVENT);
	assert_string_equal(ev->event->session_ended->reason, "テスト");
	renkei__v1__envelope__free_unpacked(ev, NULL);
	assert_int_equal(rkc_next_event(c, 50, &ev), -1);
	assert_null(ev);
	assert_string_equal(rkc_last_error(c), "timeout");

	rkc_close(c);
	srv_join(&s);
	assert_int_equal(s.requests, 2);
	assert_int_equal(s.last_id, 2);
	assert_int_equal(s.unmasked, 0);
	assert_int_equal(s.pongs, 2);
	assert_string_equal(s.pong_data, "p2");
	assert_int_equal(s.close_code, 1000);
	assert_true(s.offered_protocol);
	assert_int_equal(s.sni[0], '\0'); /* no SNI for an address */
	assert_non_null(strstr(s.request, "GET /v1 HTTP/1.1\r\n"));
	assert_non_null(strstr(s.request, "\r\nHost: 127.0.0.1:"));
	assert_non_null(strstr(s.request, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_int_equal(s.tls_version, TLS1_3_VERSION);
}

static void
test_server_close(void **state)
{
	struct pki *p = *state;
	Renkei__V1__Envelope *env = NULL, req;
	Renkei__V1__WhoAmIRequest w;
	struct server s;
	struct rkc *c;
	char err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_server_closes), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	if (c == NULL)
		fail_msg("connect: %s", err);
	assert_int_equal(rkc_recv(c, 5000, &env), -1);
	assert_null(env);
	assert_int_equal(rkc_close_code(c), 4001);
	assert_string_equal(rkc_close_reason(c), "session ended");
	assert_non_null(strstr(rkc_last_error(c), "4001"));
	/* no more sending after the close */
	whoami_req(&req, &w);
	assert_int_equal(rkc_send(c, &req), -1);
	rkc_close(c);
	srv_join(&s);
	assert_int_equal(s.close_code, 4001); /* echoed */
	assert_int_equal(s.requests, 0);      /* and nothing after it */
}

static void
expect_connect_failure(struct pki *p, int up_how, const char *needle, const char *host,
                       X509 *cert, const char *ca, int max_version)
{
	struct server s;
	struct rkc *c;
	char err[256] = "";

	assert_int_equal(srv_start(&s, p, AF_INET, cert, max_version, sc_upgrade_only), 0);
	s.up_how = up_how;
	c = connect_to(p, host, s.port, ca, err, sizeof err);
	if (c != NULL)
		fail_msg("connected although %s was expected", needle);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, needle);
	srv_join(&s);
}

static void
test_handshake_failures(void **state)
{
	struct pki *p = *state;

	expect_connect_failure(p, UP_NO_PROTOCOL, "subprotocol", "127.0.0.1", NULL, NULL, 0);
	expect_connect_failure(p, UP_BAD_ACCEPT, "Sec-WebSocket-Accept", "127.0.0.1", NULL, NULL, 0);
	expect_connect_failure(p, UP_403, "HTTP 403", "127.0.0.1", NULL, NULL, 0);
	expect_connect_failure(p, UP_EXTENSION, "extension", "127.0.0.1", NULL, NULL, 0);
}

static void
test_certificate_checks(void **state)
{
	struct pki *p = *state;
	struct server s;
	struct rkc *c;
	char err[256];

	/* a CA that did not sign the server's certificate */
	expect_connect_failure(p, UP_OK, "not trusted", "127.0.0.1", NULL, p->other_ca_path, 0);
	/* a certificate without the address we dialled */
	expect_connect_failure(p, UP_OK, "IP address mismatch", "127.0.0.1", p->cert_dns_only,
	                       NULL, 0);
	/* a CA file that is not there: refused before dialling anyone */
	assert_null(connect_to(p, "127.0.0.1", 1, "/nonexistent/ca.pem", err, sizeof err));
	assert_non_null(strstr(err, "cannot load CA file"));
	/* a server stuck below TLS 1.2 */
	expect_connect_failure(p, UP_OK, "TLS handshake", "127.0.0.1", NULL, NULL,
	                       TLS1_1_VERSION);

	/* the same DNS-only certificate is fine by name, and SNI is sent */
	assert_int_equal(srv_start(&s, p, AF_INET, p->cert_dns_only, 0, sc_upgrade_only), 0);
	c = connect_to(p, "localhost", s.port, NULL, err, sizeof err);
	if (c == NULL)
		fail_msg("connect: %s", err);
	rkc_abort(c);
	srv_join(&s);
	assert_string_equal(s.sni, "localhost");
	assert_non_null(strstr(s.request, "\r\nHost: localhost:"));
}

static void
test_tls12_cap(void **state)
{
	struct pki *p = *state;
	struct rkc_opts o;
	struct server s;
	struct rkc *c;
	char url[64], err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_upgrade_only), 0);
	snprintf(url, sizeof url, "wss://127.0.0.1:%d", s.port);
	memset(&o, 0, sizeof o);
	o.url = url;
	o.ca_file = p->ca_path;
	o.tls_max_version = TLS1_2_VERSION;
	c = rkc_connect(&o, err, sizeof err);
	if (c == NULL)
		fail_msg("connect: %s", err);
	rkc_abort(c);
	srv_join(&s);
	assert_int_equal(s.tls_version, TLS1_2_VERSION);
	assert_non_null(strstr(s.request, "GET / HTTP/1.1\r\n"));
}

static void
test_no_subprotocol_option(void **state)
{
	struct pki *p = *state;
	struct rkc_opts o;
	struct server s;
	struct rkc *c;
	char url[64], err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_upgrade_only), 0);
	snprintf(url, sizeof url, "wss://127.0.0.1:%d", s.port);
	memset(&o, 0, sizeof o);
	o.url = url;
	o.ca_file = p->ca_path;
	o.no_subprotocol = 1;
	c = rkc_connect(&o, err, sizeof err);
	if (c == NULL)
		fail_msg("connect: %s", err);
	rkc_abort(c);
	srv_join(&s);
	assert_false(s.offered_protocol);
	assert_null(strstr(s.request, "Sec-WebSocket-Protocol"));
}

static void
test_protocol_violations(void **state)
{
	struct pki *p = *state;
	Renkei__V1__Envelope *env;
	struct server s;
	struct rkc *c;
	char err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_oversize), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(rkc_recv(c, 5000, &env), -1);
	assert_non_null(strstr(rkc_last_error(c), "64 MiB"));
	assert_int_equal(rkc_recv(c, 5000, &env), -1); /* stays failed */
	rkc_close(c);
	srv_join(&s);
	assert_int_equal(s.close_code, 1009);

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_masked), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(rkc_recv(c, 5000, &env), -1);
	assert_non_null(strstr(rkc_last_error(c), "masked"));
	rkc_close(c);
	srv_join(&s);
	assert_int_equal(s.close_code, 1002);
}

static void
test_timeout_keeps_partial_frame(void **state)
{
	struct pki *p = *state;
	Renkei__V1__Envelope *env;
	struct server s;
	struct rkc *c;
	char err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_slow_frame), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	assert_non_null(c);
	usleep(100 * 1000); /* let the first 3 bytes arrive */
	assert_int_equal(rkc_recv(c, 50, &env), -1);
	assert_string_equal(rkc_last_error(c), "timeout");
	assert_int_equal(rkc_recv(c, 0, &env), -1); /* a zero wait only looks */
	assert_int_equal(rkc_recv(c, 5000, &env), 0);
	assert_int_equal(env->request_id, 77);
	assert_int_equal(env->body_case, RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE);
	renkei__v1__envelope__free_unpacked(env, NULL);
	rkc_close(c);
	srv_join(&s);
	assert_int_equal(s.close_code, 1000);
}

static void
test_bad_messages_do_not_kill(void **state)
{
	struct pki *p = *state;
	Renkei__V1__Envelope *env;
	struct server s;
	struct rkc *c;
	char err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_text_then_binary), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(rkc_recv(c, 5000, &env), -1);
	assert_non_null(strstr(rkc_last_error(c), "text"));
	assert_int_equal(rkc_recv(c, 5000, &env), -1);
	assert_non_null(strstr(rkc_last_error(c), "not a valid Envelope"));
	assert_int_equal(rkc_recv(c, 5000, &env), 0);
	assert_int_equal(env->request_id, 5);
	renkei__v1__envelope__free_unpacked(env, NULL);
	rkc_close(c);
	srv_join(&s);
}

static void
test_late_answer_is_dropped(void **state)
{
	struct pki *p = *state;
	Renkei__V1__Envelope req, *resp;
	Renkei__V1__WhoAmIRequest w;
	struct server s;
	struct rkc *c;
	char err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_late), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	assert_non_null(c);
	whoami_req(&req, &w);
	assert_int_equal(rkc_call(c, &req, 100, &resp), -1);
	assert_string_equal(rkc_last_error(c), "timeout");
	whoami_req(&req, &w);
	assert_int_equal(rkc_call(c, &req, 5000, &resp), 0);
	assert_int_equal(resp->request_id, 2);
	renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	srv_join(&s);
	assert_int_equal(s.requests, 2);
}

static void
test_reset_does_not_kill(void **state)
{
	struct pki *p = *state;
	Renkei__V1__Envelope req, *env;
	Renkei__V1__WhoAmIRequest w;
	struct server s;
	struct rkc *c;
	char err[256];
	int i, rc = 0;

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_reset), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	assert_non_null(c);
	srv_join(&s);
	usleep(50 * 1000);
	/* writing into a reset connection raises SIGPIPE; with its default
	 * action this process would die here if rkc did not guard it */
	whoami_req(&req, &w);
	for (i = 0; i < 10 && rc == 0; i++)
		rc = rkc_send(c, &req);
	assert_int_equal(rc, -1);
	assert_int_equal(rkc_recv(c, 1000, &env), -1);
	rkc_close(c);
}

static void
test_raw_frames(void **state)
{
	struct pki *p = *state;
	struct server s;
	struct rkc *c;
	uint8_t *data;
	size_t len;
	char err[256];

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_raw), 0);
	c = connect_to(p, "127.0.0.1", s.port, NULL, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(rkc_recv_frame(c, 5000, &data, &len), RKC_OP_PING);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "abc", 3);
	free(data);
	assert_int_equal(rkc_send_frame(c, RKC_OP_BINARY, "frag", 4, 0), 0);
	assert_int_equal(rkc_send_frame(c, RKC_OP_CONT, "mented", 6, 1), 0);
	rkc_abort(c); /* no close frame */
	srv_join(&s);
	assert_int_equal(s.pongs, 0);     /* raw mode answers nothing */
	assert_int_equal(s.unmasked, 0);
	assert_int_equal(s.requests, 2);
	assert_string_equal(s.close_reason, "fragmented");
	assert_int_equal(s.close_code, -1);
	assert_true(s.eof);
}

static void
test_ipv6(void **state)
{
	struct pki *p = *state;
	Renkei__V1__Envelope req, *resp;
	Renkei__V1__WhoAmIRequest w;
	struct server s;
	struct rkc *c;
	char err[256];

	if (srv_start(&s, p, AF_INET6, NULL, 0, sc_basic) != 0)
		skip();
	c = connect_to(p, "[::1]", s.port, NULL, err, sizeof err);
	if (c == NULL)
		fail_msg("connect: %s", err);
	whoami_req(&req, &w);
	assert_int_equal(rkc_call(c, &req, 5000, &resp), 0);
	renkei__v1__envelope__free_unpacked(resp, NULL);
	rkc_close(c);
	srv_join(&s);
	assert_non_null(strstr(s.request, "\r\nHost: [::1]:"));
}

static void
test_https_get(void **state)
{
	struct pki *p = *state;
	struct rkc_opts o;
	struct server s;
	char url[64], err[256], *body;
	size_t len;

	memset(&o, 0, sizeof o);
	o.url = url;
	o.ca_file = p->ca_path;
	o.timeout_ms = 5000;

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_http), 0);
	s.up_how = HTTP_LENGTH;
	snprintf(url, sizeof url, "wss://127.0.0.1:%d/ignored", s.port);
	assert_int_equal(rkc_https_get(&o, "/healthz", "X-Test: 1\r\n", &body, &len, err,
	                               sizeof err), 200);
	assert_int_equal(len, 3);
	assert_string_equal(body, "ok\n");
	free(body);
	srv_join(&s);
	assert_non_null(strstr(s.request, "GET /healthz HTTP/1.1\r\n"));
	assert_non_null(strstr(s.request, "\r\nConnection: close\r\n"));
	assert_non_null(strstr(s.request, "\r\nX-Test: 1\r\n"));
	assert_true(s.eof);

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_http), 0);
	s.up_how = HTTP_CHUNKED;
	snprintf(url, sizeof url, "wss://127.0.0.1:%d", s.port);
	assert_int_equal(rkc_https_get(&o, "/metrics", NULL, &body, &len, err, sizeof err), 200);
	assert_string_equal(body, "# HELP up\n");
	free(body);
	srv_join(&s);

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_http), 0);
	s.up_how = HTTP_404;
	snprintf(url, sizeof url, "wss://127.0.0.1:%d", s.port);
	assert_int_equal(rkc_https_get(&o, "/nope", NULL, NULL, NULL, err, sizeof err), 404);
	srv_join(&s);

	assert_int_equal(srv_start(&s, p, AF_INET, NULL, 0, sc_http), 0);
	s.up_how = HTTP_CUT;
	snprintf(url, sizeof url, "wss://127.0.0.1:%d", s.port);
	assert_int_equal(rkc_https_get(&o, "/cut", NULL, &body, &len, err, sizeof err), -1);
	assert_non_null(strstr(err, "cut short"));
	assert_null(body);
	srv_join(&s);

	/* refused before any connection */
	assert_int_equal(rkc_https_get(&o, "no-slash", NULL, NULL, NULL, err, sizeof err), -1);
	assert_int_equal(rkc_https_get(&o, "/a\r\nX: y", NULL, NULL, NULL, err, sizeof err), -1);
}

static void
test_connect_refused(void **state)
{
	struct pki *p = *state;
	struct rkc_opts o;
	char err[256];
	int fd, port;
	struct sockaddr_in a;
	socklen_t sl = sizeof a;

	/* a port that nobody listens on: bind one, note it, close it */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	port = ntohs(a.sin_port);
	close(fd);
	assert_null(connect_to(p, "127.0.0.1", port, NULL, err, sizeof err));
	assert_non_null(strstr(err, "cannot connect"));

	memset(&o, 0, sizeof o);
	o.url = "ws://127.0.0.1:1/";
	o.ca_file = p->ca_path;
	assert_null(rkc_connect(&o, err, sizeof err));
	assert_non_null(strstr(err, "wss://"));
	rkc_close(NULL);
	rkc_abort(NULL);
	assert_string_equal(rkc_last_error(NULL), "no connection");
}

#ifndef RKC_LOOPBACK_NO_MAIN
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_fragments_pings_events),
		cmocka_unit_test(test_server_close),
		cmocka_unit_test(test_handshake_failures),
		cmocka_unit_test(test_certificate_checks),
		cmocka_unit_test(test_tls12_cap),
		cmocka_unit_test(test_no_subprotocol_option),
		cmocka_unit_test(test_protocol_violations),
		cmocka_unit_test(test_timeout_keeps_partial_frame),
		cmocka_unit_test(test_bad_messages_do_not_kill),
		cmocka_unit_test(test_late_answer_is_dropped),
		cmocka_unit_test(test_reset_does_not_kill),
		cmocka_unit_test(test_raw_frames),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_https_get),
		cmocka_unit_test(test_connect_refused),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
#endif
