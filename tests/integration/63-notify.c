/*
 * Notices without patient data (docs/notice.md), against the real
 * server and real receivers on loopback:
 *
 *  - a Web Push receiver in this process: an HTTPS endpoint (OpenSSL,
 *    a thread per connection, its own certificate from the harness CA)
 *    that checks every request as a push service would — the VAPID JWT
 *    (RFC 8292: ES256 signature with the key in k=, which must be the
 *    server's VAPID key; aud the endpoint's origin; exp in the next 24
 *    hours), Content-Encoding aes128gcm, TTL — and decrypts the RFC 8291
 *    payload with the private key of the subscription it generated;
 *  - a real SMTP server from Debian's packages (python3-aiosmtpd,
 *    tests/integration/smtp_sink.py) that requires STARTTLS.
 *
 * Shown: a post reaches each member's subscription and mailbox; nothing
 * received on either channel (every byte: request lines, headers, URLs,
 * bodies decrypted and not, SMTP envelope and message) holds the
 * patient's code, name, kana or any text of a post; family hear only of
 * posts marked all; the author hears nothing of their own post; a member
 * whose sheet row was ended hears nothing; a 410 removes the
 * subscription; malformed subscriptions are refused and change nothing
 * (and private addresses, on a server without push_allow_private); a
 * burst of posts gives each member a bounded number of notices whose
 * counts add up to the burst.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "harness.h"
#include "notify/webpush.h"

#define PATIENT "pt-yamada"
#define PATIENT_NAME "山田 太郎"
#define PATIENT_NAME2 "山田"
#define PATIENT_KANA "ヤマダ タロウ"
#define MAX_SUBS 16
#define MAX_GOT 4096

/* ------------------------------------------------------ the push receiver */

struct sub {
	char path[64];
	uint8_t priv[32], pub[65], auth[16];
	int status; /* what to answer: 201, or 410 */
	int fail_first; /* answer 503 to this many requests first */
};

struct got {
	int sub;            /* index into subs */
	char plain[700];    /* the decrypted payload */
	char why[800];      /* "" if it passed every check */
};

static struct {
	SSL_CTX *ctx;
	int lfd, port;
	pthread_t th;
	volatile int stop;
	pthread_mutex_t mu;
	struct sub subs[MAX_SUBS];
	int nsubs;
	struct got got[MAX_GOT];
	int ngot;
	uint8_t vapid[65];
	/* Every byte received (request heads, raw bodies) and every payload
	 * decrypted, for the grep. */
	uint8_t *all;
	size_t alllen, allcap;
} rx;

static struct h_server *srv;
static pid_t smtp_pid;
static int smtp_port;
static char mail_dir[300], certs_dir[300];

static void
all_add(const void *p, size_t n)
{
	if (rx.alllen + n > rx.allcap) {
		rx.allcap = (rx.alllen + n) * 2 + 4096;
		rx.all = realloc(rx.all, rx.allcap);
		assert_non_null(rx.all);
	}
	memcpy(rx.all + rx.alllen, p, n);
	rx.alllen += n;
}

static const char *
header(const char *head, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			const char *v = p + 3 + n, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			size_t l = e ? (size_t)(e - v) : strlen(v);
			if (l >= cap)
				l = cap - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return out;
		}
	}
	return NULL;
}

/* Check one request as a push service would, and decrypt it. */
static void
check_request(const char *head, const uint8_t *body, size_t blen, struct got *g,
              int *status)
{
	char path[128] = "", v[2048], claims[600], origin[64];
	const char *sp = strchr(head, ' ');
	int si = -1;

	g->why[0] = '\0';
	if (strncmp(head, "POST ", 5) == 0 && sp != NULL)
		sscanf(sp + 1, "%127s", path);
	for (int i = 0; i < rx.nsubs; i++)
		if (strcmp(rx.subs[i].path, path) == 0)
			si = i;
	g->sub = si;
	*status = 404;
	if (si < 0) {
		snprintf(g->why, sizeof(g->why), "no subscription at %s", path);
		return;
	}
	*status = rx.subs[si].status;
	if (rx.subs[si].fail_first > 0) {
		rx.subs[si].fail_first--;
		*status = 503;
	}
	if (!header(head, "Content-Encoding", v, sizeof(v)) || strcmp(v, "aes128gcm") != 0)
		snprintf(g->why, sizeof(g->why), "Content-Encoding is not aes128gcm");
	else if (!header(head, "TTL", v, sizeof(v)))
		snprintf(g->why, sizeof(g->why), "no TTL");
	else if (!header(head, "Authorization", v, sizeof(v)) ||
	         strncmp(v, "vapid t=", 8) != 0 || strstr(v, ", k=") == NULL)
		snprintf(g->why, sizeof(g->why), "no VAPID Authorization");
	else {
		char *k = strstr(v, ", k=");
		uint8_t kraw[70];
		*k = '\0';
		k += 4;
		snprintf(origin, sizeof(origin), "https://127.0.0.1:%d", rx.port);
		if (webpush_b64url_decode(k, strlen(k), kraw, sizeof(kraw)) != 65 ||
		    memcmp(kraw, rx.vapid, 65) != 0)
			snprintf(g->why, sizeof(g->why), "k= is not the server's VAPID key");
		else if (webpush_jwt_verify(v + 8, kraw, claims, sizeof(claims)) != 0)
			snprintf(g->why, sizeof(g->why), "the VAPID JWT does not verify");
		else {
			char want[128];
			const char *e = strstr(claims, "\"exp\":");
			long long exp = e ? strtoll(e + 6, NULL, 10) : 0;
			long long now = h_now_ms() / 1000;
			snprintf(want, sizeof(want), "\"aud\":\"%s\"", origin);
			if (strstr(claims, want) == NULL)
				snprintf(g->why, sizeof(g->why), "aud is not %s: %s", origin,
				         claims);
			else if (exp <= now || exp > now + 24 * 3600)
				snprintf(g->why, sizeof(g->why), "exp not within 24 h: %s",
				         claims);
		}
	}
	uint8_t out[1024];
	long n = webpush_decrypt(rx.subs[si].priv, rx.subs[si].auth, body, blen, out,
	                         sizeof(out));
	if (n < 0 || (size_t)n >= sizeof(g->plain)) {
		if (g->why[0] == '\0')
			snprintf(g->why, sizeof(g->why), "the payload does not decrypt");
		return;
	}
	memcpy(g->plain, out, (size_t)n);
	g->plain[n] = '\0';
}

static void *
conn_main(void *arg)
{
	SSL *ssl = arg;
	char buf[65536];
	size_t have = 0;

	if (SSL_accept(ssl) != 1)
		goto out;
	while (!rx.stop) {
		char *end;
		int r;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL) {
			size_t hlen = (size_t)(end + 4 - buf), clen = 0;
			char v[32];
			buf[hlen - 2] = '\0';
			if (header(buf, "Content-Length", v, sizeof(v)))
				clen = strtoul(v, NULL, 10);
			buf[hlen - 2] = '\r';
			if (hlen + clen > sizeof(buf) - 1)
				break;
			if (have >= hlen + clen) {
				struct got g;
				int status;
				char resp[128];
				buf[hlen - 2] = '\0';
				memset(&g, 0, sizeof(g));
				pthread_mutex_lock(&rx.mu);
				all_add(buf, hlen - 2);
				all_add((const uint8_t *)buf + hlen, clen);
				check_request(buf, (const uint8_t *)buf + hlen, clen, &g, &status);
				all_add(g.plain, strlen(g.plain));
				if (rx.ngot < MAX_GOT)
					rx.got[rx.ngot++] = g;
				pthread_mutex_unlock(&rx.mu);
				snprintf(resp, sizeof(resp),
				         "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", status,
				         status == 201   ? "Created"
				         : status == 410 ? "Gone"
				         : status == 503 ? "Service Unavailable"
				                         : "Not Found");
				SSL_write(ssl, resp, (int)strlen(resp));
				memmove(buf, buf + hlen + clen, have - hlen - clen);
				have -= hlen + clen;
				continue;
			}
		}
		r = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));
		if (r <= 0) {
			if (SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ ||
			    (errno == EAGAIN && SSL_get_error(ssl, r) == SSL_ERROR_SYSCALL))
				continue;
			break;
		}
		have += (size_t)r;
	}
out:
	close(SSL_get_fd(ssl));
	SSL_free(ssl);
	return NULL;
}

static void *
accept_main(void *arg)
{
	(void)arg;
	while (!rx.stop) {
		struct pollfd p = {rx.lfd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int fd = accept(rx.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		struct timeval tv = {0, 200000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		SSL *ssl = SSL_new(rx.ctx);
		SSL_set_fd(ssl, fd);
		pthread_t t;
		if (pthread_create(&t, NULL, conn_main, ssl) == 0)
			pthread_detach(t);
		else {
			SSL_free(ssl);
			close(fd);
		}
	}
	return NULL;
}

static int
receiver_start(const char *cert, const char *key)
{
	struct sockaddr_in a = {0};
	socklen_t al = sizeof(a);
	int one = 1;

	pthread_mutex_init(&rx.mu, NULL);
	rx.ctx = SSL_CTX_new(TLS_server_method());
	if (rx.ctx == NULL || SSL_CTX_use_certificate_chain_file(rx.ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(rx.ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return -1;
	}
	rx.lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(rx.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(rx.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(rx.lfd, 16) != 0 ||
	    getsockname(rx.lfd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	rx.port = ntohs(a.sin_port);
	return pthread_create(&rx.th, NULL, accept_main, NULL) == 0 ? 0 : -1;
}

/* A new subscription on the receiver: its keys and its URL. */
static int
sub_new(int status, char *url, size_t cap)
{
	int i;
	pthread_mutex_lock(&rx.mu);
	i = rx.nsubs++;
	assert_true(i < MAX_SUBS);
	snprintf(rx.subs[i].path, sizeof(rx.subs[i].path), "/push/v1/sub-%d-%08x", i,
	         (unsigned)random());
	webpush_new_private(rx.subs[i].priv);
	webpush_public_of(rx.subs[i].priv, rx.subs[i].pub);
	for (int k = 0; k < 16; k++)
		rx.subs[i].auth[k] = (uint8_t)random();
	rx.subs[i].status = status;
	pthread_mutex_unlock(&rx.mu);
	snprintf(url, cap, "https://127.0.0.1:%d%s", rx.port, rx.subs[i].path);
	return i;
}

/* Notices received for subscription i so far (each checked: a failed
 * check fails the test). texts: their payloads, concatenated. */
static int
got_for(int i, char *texts, size_t cap)
{
	int n = 0;
	size_t o = 0;
	if (texts && cap)
		texts[0] = '\0';
	pthread_mutex_lock(&rx.mu);
	for (int k = 0; k < rx.ngot; k++) {
		if (rx.got[k].sub != i)
			continue;
		if (rx.got[k].why[0] != '\0') {
			pthread_mutex_unlock(&rx.mu);
			fail_msg("push receiver: %s", rx.got[k].why);
		}
		n++;
		if (texts && o < cap)
			o += (size_t)snprintf(texts + o, cap - o, "%s\n", rx.got[k].plain);
	}
	pthread_mutex_unlock(&rx.mu);
	return n;
}

static int
wait_got(int i, int atleast, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;
	int n;
	while ((n = got_for(i, NULL, 0)) < atleast && h_mono_ms() < end)
		h_sleep_ms(50);
	return n;
}

/* ------------------------------------------------------------ the mailbox */

/* Messages for `addr` so far; their text concatenated into texts. */
static int
mail_for(const char *addr, char *texts, size_t cap)
{
	char cmd[600], *out = NULL, want[300];
	int n = 0;
	size_t o = 0;

	if (texts && cap)
		texts[0] = '\0';
	snprintf(want, sizeof(want), "X-Sink-Rcpt-To: %s\r\n", addr);
	snprintf(cmd, sizeof(cmd), "ls %s | grep '^msg-.*\\.eml$'", mail_dir);
	h_sh(cmd, &out);
	for (char *line = strtok(out ? out : (char *)"", "\n"); line;
	     line = strtok(NULL, "\n")) {
		char path[600];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", mail_dir, line);
		char *m = h_read_file(path, &len);
		if (m == NULL)
			continue;
		if (strstr(m, want) != NULL) {
			n++;
			if (strstr(m, "X-Sink-TLS: yes\r\n") == NULL)
				fail_msg("mail %s came without STARTTLS", line);
			if (texts && o < cap)
				o += (size_t)snprintf(texts + o, cap - o, "%s\n", m);
		}
		free(m);
	}
	free(out);
	return n;
}

static int
wait_mail(const char *addr, int atleast, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;
	int n;
	while ((n = mail_for(addr, NULL, 0)) < atleast && h_mono_ms() < end)
		h_sleep_ms(50);
	return n;
}

/* ------------------------------------------------------------ requests */

static Renkei__V1__Envelope *
add_push_env(struct rkc *c, const char *endpoint, const uint8_t *p256dh,
             size_t plen, const uint8_t *auth, size_t alen, const char *label)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticeDeviceAddRequest m = RENKEI__V1__NOTICE_DEVICE_ADD_REQUEST__INIT;
	Renkei__V1__WebPushSubscription w = RENKEI__V1__WEB_PUSH_SUBSCRIPTION__INIT;

	w.endpoint = (char *)endpoint;
	w.p256dh.data = (uint8_t *)p256dh;
	w.p256dh.len = plen;
	w.auth.data = (uint8_t *)auth;
	w.auth.len = alen;
	m.push = &w;
	m.label = (char *)label;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICE_ADD_REQUEST;
	env.notice_device_add_request = &m;
	return h_call(c, &env);
}

static Renkei__V1__Envelope *
add_mail_env(struct rkc *c, const char *email)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticeDeviceAddRequest m = RENKEI__V1__NOTICE_DEVICE_ADD_REQUEST__INIT;

	m.email = (char *)email;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICE_ADD_REQUEST;
	env.notice_device_add_request = &m;
	return h_call(c, &env);
}

static Renkei__V1__Envelope *
list_env(struct rkc *c)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticeListRequest m = RENKEI__V1__NOTICE_LIST_REQUEST__INIT;

	env.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_LIST_REQUEST;
	env.notice_list_request = &m;
	return h_call(c, &env);
}

static Renkei__V1__Envelope *
prefs_env(struct rkc *c, int64_t device, Renkei__V1__NoticePrefs *p)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticePrefsRequest m = RENKEI__V1__NOTICE_PREFS_REQUEST__INIT;

	m.device_id = device;
	m.prefs = p;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_PREFS_REQUEST;
	env.notice_prefs_request = &m;
	return h_call(c, &env);
}

static size_t
ndevices(struct rkc *c)
{
	Renkei__V1__Envelope *r = list_env(c);
	size_t n;
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE);
	n = r->notice_devices_response->n_devices;
	h_env_free(r);
	return n;
}

/* Register subscription i for c's user; the device id. */
static int64_t
register_sub(struct rkc *c, int i)
{
	char url[200];
	Renkei__V1__Envelope *r;
	int64_t id;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", rx.port, rx.subs[i].path);
	r = add_push_env(c, url, rx.subs[i].pub, 65, rx.subs[i].auth, 16, "phone");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE);
	id = r->notice_devices_response->added_id;
	assert_true(id > 0);
	h_env_free(r);
	return id;
}

static uint64_t
post(struct rkc *c, const char *cid, Renkei__V1__Visibility vis, int urgent,
     const char *text)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest m = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	Renkei__V1__Envelope *r;
	uint64_t id;

	m.patient = PATIENT;
	m.client_id = (char *)cid;
	m.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	m.visibility = vis;
	m.urgent = urgent;
	m.text = (char *)text;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &m;
	r = h_call(c, &env);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	id = r->post_response->post->id;
	h_env_free(r);
	return id;
}

/* ------------------------------------------------------------ setup */

/* The people of pt-yamada's sheet and their devices. */
enum { DR, FAM, CM, NS, MSW, NPEOPLE };
static const char *const login[NPEOPLE] = {"dr.tanaka", "family.yamada",
                                           "cm.nakamura", "ns.kobayashi",
                                           "msw.yoshida"};
static const char *const email[NPEOPLE] = {"tanaka@clinic.example.jp",
                                           "yamada.family@example.jp",
                                           "nakamura@cm.example.jp",
                                           "kobayashi@vn.example.jp",
                                           "yoshida@hosp.example.jp"};
static int subi[NPEOPLE];
static int64_t devid[NPEOPLE];
static struct rkc *cl[NPEOPLE];
/* The post texts, to look for in everything received. */
static char texts[64][200];
static int ntexts;

static const char *
text_of(const char *t)
{
	snprintf(texts[ntexts], sizeof(texts[0]), "%s", t);
	return texts[ntexts++];
}

static int
make_cert(void)
{
	char cmd[2000], *out = NULL;
	int rc;

	snprintf(certs_dir, sizeof(certs_dir), "%s/rx-certs", srv->dir);
	mkdir(certs_dir, 0700);
	snprintf(cmd, sizeof(cmd),
	         "cd %s && openssl ecparam -name prime256v1 -genkey -noout -out rx.key && "
	         "openssl req -new -key rx.key -subj /CN=push.test -out rx.csr && "
	         "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > rx.ext && "
	         "openssl x509 -req -in rx.csr -CA %s/certs/ca.pem -CAkey %s/certs/ca.key "
	         "-CAcreateserial -days 2 -sha256 -extfile rx.ext -out rx.pem",
	         certs_dir, srv->keys, srv->keys);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fprintf(stderr, "63-notify: certificate: %s\n", out ? out : "");
	free(out);
	return rc == 0 ? 0 : -1;
}

static int
smtp_start(void)
{
	char port[16], cert[400], key[400], ready[400], script[400];

	snprintf(mail_dir, sizeof(mail_dir), "%s/mail", srv->dir);
	mkdir(mail_dir, 0700);
	smtp_port = h_free_port();
	snprintf(port, sizeof(port), "%d", smtp_port);
	snprintf(cert, sizeof(cert), "%s/rx.pem", certs_dir);
	snprintf(key, sizeof(key), "%s/rx.key", certs_dir);
	snprintf(ready, sizeof(ready), "%s/ready", mail_dir);
	snprintf(script, sizeof(script), "%s/tests/integration/smtp_sink.py",
	         h_source_dir());
	smtp_pid = fork();
	if (smtp_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/usr/bin/python3", "python3", script, port, cert, key, mail_dir,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (access(ready, F_OK) == 0)
			return 0;
		h_sleep_ms(50);
	}
	fprintf(stderr, "63-notify: the SMTP sink did not start (python3-aiosmtpd?)\n");
	return -1;
}

static int
group_setup(void **state)
{
	char smtp_url[64], ca[400];
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticeVapidKeyRequest vk = RENKEI__V1__NOTICE_VAPID_KEY_REQUEST__INIT;
	Renkei__V1__Envelope *r;

	(void)state;
	srandom((unsigned)getpid());
	srv = h_server_new();
	if (srv == NULL || make_cert() != 0 || smtp_start() != 0)
		return -1;
	snprintf(ca, sizeof(ca), "%s/certs/ca.pem", srv->keys);
	snprintf(smtp_url, sizeof(smtp_url), "smtp://127.0.0.1:%d", smtp_port);
	char rxcert[400], rxkey[400];
	snprintf(rxcert, sizeof(rxcert), "%s/rx.pem", certs_dir);
	snprintf(rxkey, sizeof(rxkey), "%s/rx.key", certs_dir);
	if (receiver_start(rxcert, rxkey) != 0)
		return -1;
	const char *args[] = {"--push-allow-private", "1", "--push-ca", ca,
	                      "--smtp-url", smtp_url, "--smtp-from",
	                      "renkei@ward.example.jp", "--smtp-ca", ca,
	                      "--notice-link", "https://renkei.example.jp/",
	                      "--notice-batch-ms", "300",
	                      "--notice-user-interval-ms", "1000",
	                      "--notice-retry-ms", "100",
	                      "--vapid-subject", "mailto:ops@ward.example.jp",
	                      "--rate-write-per-s", "100000", NULL};
	if (h_server_start(srv, args) != 0)
		return -1;
	for (int i = 0; i < NPEOPLE; i++) {
		cl[i] = h_connect_login(srv, login[i], NULL);
		if (cl[i] == NULL)
			return -1;
	}
	env.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_VAPID_KEY_REQUEST;
	env.notice_vapid_key_request = &vk;
	r = h_call(cl[DR], &env);
	if (r == NULL ||
	    r->body_case != RENKEI__V1__ENVELOPE__BODY_NOTICE_VAPID_KEY_RESPONSE ||
	    r->notice_vapid_key_response->public_key.len != 65)
		return -1;
	memcpy(rx.vapid, r->notice_vapid_key_response->public_key.data, 65);
	h_env_free(r);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NPEOPLE; i++)
		rkc_close(cl[i]);
	rx.stop = 1;
	if (rx.th)
		pthread_join(rx.th, NULL);
	if (smtp_pid > 0) {
		kill(smtp_pid, SIGTERM);
		waitpid(smtp_pid, NULL, 0);
	}
	h_sleep_ms(300); /* connection threads see the stop */
	return h_server_free(srv);
}

/* ------------------------------------------------------------ tests */

struct bad_sub {
	const char *endpoint;
	const uint8_t *p;
	size_t plen;
	size_t alen;
	const char *field;
};

static void
test_malformed_subscriptions_are_refused(void **state)
{
	char url[200];
	uint8_t pub[65], auth[16] = {1};
	int i;
	struct bad_sub bad[6];
	Renkei__V1__Envelope *r;

	(void)state;
	i = sub_new(201, url, sizeof(url));
	memcpy(pub, rx.subs[i].pub, 65);
	uint8_t off[65];
	memcpy(off, pub, 65);
	off[64] ^= 1;
	char http[220];
	snprintf(http, sizeof(http), "http://127.0.0.1:%d/x", rx.port);
	bad[0] = (struct bad_sub){http, pub, 65, 16, "push.endpoint"};
	bad[1] = (struct bad_sub){url, pub, 64, 16, "push.p256dh"};
	bad[2] = (struct bad_sub){url, off, 65, 16, "push.p256dh"};
	bad[3] = (struct bad_sub){url, pub, 65, 15, "push.auth"};
	bad[4] = (struct bad_sub){"https://user@127.0.0.1/x", pub, 65, 16, "push.endpoint"};
	bad[5] = (struct bad_sub){"ftp://127.0.0.1/x", pub, 65, 16, "push.endpoint"};
	for (size_t k = 0; k < 6; k++) {
		r = add_push_env(cl[DR], bad[k].endpoint, bad[k].p, bad[k].plen, auth,
		                 bad[k].alen, "x");
		h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
		assert_string_equal(r->error->field, bad[k].field);
		h_env_free(r);
	}
	/* Bad e-mail addresses, both or neither channel. */
	static const char *const bad_mail[] = {"no-at.example.jp", "a@b", "a@@b.jp",
	                                       "a b@c.jp", "a@b..jp", "a@.b.jp",
	                                       "@b.jp", "a@b.jp\r\nBcc: x@y.jp"};
	for (size_t k = 0; k < sizeof(bad_mail) / sizeof(bad_mail[0]); k++) {
		r = add_mail_env(cl[DR], bad_mail[k]);
		h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
		assert_string_equal(r->error->field, "email");
		h_env_free(r);
	}
	r = add_mail_env(cl[DR], "");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "push");
	h_env_free(r);
	/* Preferences: quiet hours malformed, a board not mine. */
	Renkei__V1__NoticePrefs p = RENKEI__V1__NOTICE_PREFS__INIT;
	p.quiet_from = "25:00";
	p.quiet_until = "07:00";
	r = prefs_env(cl[DR], 0, &p);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "prefs.quiet_from");
	h_env_free(r);
	p.quiet_from = "22:00";
	p.quiet_until = "";
	r = prefs_env(cl[DR], 0, &p);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "prefs.quiet_until");
	h_env_free(r);
	p.quiet_from = p.quiet_until = "";
	char *boards[] = {"pt-no-such-patient"};
	p.n_boards = 1;
	p.boards = boards;
	r = prefs_env(cl[FAM], 0, &p); /* and pt-sato is not family.yamada's */
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "prefs.boards");
	h_env_free(r);
	boards[0] = "pt-sato";
	r = prefs_env(cl[FAM], 0, &p);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "prefs.boards");
	h_env_free(r);
	r = prefs_env(cl[DR], 12345, &p);
	h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
	h_env_free(r);
	/* Nothing was registered by any of it. */
	assert_int_equal(ndevices(cl[DR]), 0);
	assert_int_equal(ndevices(cl[FAM]), 0);

	/* A server without push_allow_private refuses loopback and private
	 * endpoints, and still takes a public one. */
	struct h_server *strict = h_server_up(NULL);
	assert_non_null(strict);
	struct rkc *c = h_connect_login(strict, "dr.tanaka", NULL);
	assert_non_null(c);
	static const char *const priv[] = {
		"https://127.0.0.1:9/x", "https://10.0.0.8/x", "https://192.168.1.2/x",
		"https://localhost/x", "https://[::1]/x", "https://169.254.169.254/x",
		"https://[fd00::1]/x", "https://2130706433/x",
	};
	for (size_t k = 0; k < sizeof(priv) / sizeof(priv[0]); k++) {
		r = add_push_env(c, priv[k], pub, 65, auth, 16, "x");
		h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
		assert_string_equal(r->error->field, "push.endpoint");
		h_env_free(r);
	}
	assert_int_equal(ndevices(c), 0);
	r = add_push_env(c, "https://push.example.net/wpush/v2/abc", pub, 65, auth, 16,
	                 "x");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE);
	assert_int_equal(r->notice_devices_response->n_devices, 1);
	assert_string_equal(r->notice_devices_response->devices[0]->push_host,
	                    "push.example.net");
	h_env_free(r);
	rkc_close(c);
	assert_int_equal(h_server_free(strict), 0);
}

static void
test_register_everyone(void **state)
{
	char url[200];
	Renkei__V1__Envelope *r;

	(void)state;
	for (int i = 0; i < NPEOPLE; i++) {
		subi[i] = sub_new(201, url, sizeof(url));
		devid[i] = register_sub(cl[i], subi[i]);
		r = add_mail_env(cl[i], email[i]);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE);
		assert_int_equal(r->notice_devices_response->n_devices, 2);
		h_env_free(r);
	}
	/* Registering again replaces, and does not add. */
	register_sub(cl[DR], subi[DR]);
	assert_int_equal(ndevices(cl[DR]), 2);
}

static void
test_post_reaches_members_not_family_not_author(void **state)
{
	char t[4096];

	(void)state;
	post(cl[NS], "n-1", RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, 0,
	     text_of("SpO2 88%、夜間に呼吸苦。山田さんの酸素を2Lに増量"));
	assert_int_equal(wait_got(subi[DR], 1, 8000), 1);
	assert_int_equal(wait_got(subi[CM], 1, 8000), 1);
	assert_int_equal(wait_got(subi[MSW], 1, 8000), 1);
	assert_int_equal(wait_mail(email[DR], 1, 8000), 1);
	assert_int_equal(wait_mail(email[CM], 1, 8000), 1);
	got_for(subi[DR], t, sizeof(t));
	assert_non_null(strstr(t, "\"body\":\"renkei: 1 new post\""));
	assert_non_null(strstr(t, "\"url\":\"https://renkei.example.jp/\""));
	mail_for(email[DR], t, sizeof(t));
	assert_non_null(strstr(t, "Subject: renkei: 1 new post\r\n"));
	assert_non_null(strstr(t, "https://renkei.example.jp/"));
	h_sleep_ms(1200);
	/* Family (a post not marked all) and the author: nothing. */
	assert_int_equal(got_for(subi[FAM], NULL, 0), 0);
	assert_int_equal(mail_for(email[FAM], NULL, 0), 0);
	assert_int_equal(got_for(subi[NS], NULL, 0), 0);
	assert_int_equal(mail_for(email[NS], NULL, 0), 0);

	/* Marked all and urgent: the family hears of it too. */
	post(cl[NS], "n-2", RENKEI__V1__VISIBILITY__VISIBILITY_ALL, 1,
	     text_of("ご家族へ：今夜は付き添いをお願いします（山田 太郎様）"));
	assert_int_equal(wait_got(subi[FAM], 1, 8000), 1);
	assert_int_equal(wait_mail(email[FAM], 1, 8000), 1);
	assert_int_equal(wait_got(subi[DR], 2, 8000), 2);
	got_for(subi[FAM], t, sizeof(t));
	assert_non_null(strstr(t, "\"body\":\"renkei: 1 new urgent post\""));
	h_sleep_ms(1200);
	assert_int_equal(got_for(subi[NS], NULL, 0), 0);
}

static void
test_removed_member_hears_nothing(void **state)
{
	Renkei__V1__Envelope *r;
	int before_push, before_mail;

	(void)state;
	r = h_sheet_end_env(cl[DR], PATIENT, "cm.nakamura", "担当交代");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE);
	h_env_free(r);
	h_sleep_ms(1200); /* past the care manager's interval */
	before_push = got_for(subi[CM], NULL, 0);
	before_mail = mail_for(email[CM], NULL, 0);
	int dr_before = got_for(subi[DR], NULL, 0);
	post(cl[NS], "n-3", RENKEI__V1__VISIBILITY__VISIBILITY_ALL, 1,
	     text_of("ケアマネ交代後の最初の記録：食事量 半分"));
	assert_int_equal(wait_got(subi[DR], dr_before + 1, 8000), dr_before + 1);
	h_sleep_ms(1500);
	assert_int_equal(got_for(subi[CM], NULL, 0), before_push);
	assert_int_equal(mail_for(email[CM], NULL, 0), before_mail);
}

static void
test_410_removes_the_subscription(void **state)
{
	char url[200];
	int gone;
	size_t n0;

	(void)state;
	gone = sub_new(410, url, sizeof(url));
	register_sub(cl[MSW], gone);
	n0 = ndevices(cl[MSW]);
	assert_int_equal(n0, 3);
	h_sleep_ms(1100);
	post(cl[NS], "n-4", RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, 0,
	     text_of("退院前カンファレンスの日程を再調整します"));
	assert_int_equal(wait_got(gone, 1, 8000), 1);
	for (int k = 0; k < 100 && ndevices(cl[MSW]) != n0 - 1; k++)
		h_sleep_ms(50);
	assert_int_equal(ndevices(cl[MSW]), n0 - 1);
	/* The other devices of that user are still there and still hear. */
	assert_true(wait_got(subi[MSW], 2, 8000) >= 2);
	char *body = NULL;
	assert_int_equal(h_https_get(srv, "/metrics", &body), 200);
	assert_non_null(strstr(body, "renkei_notice_subscriptions_removed_total 1\n"));
	free(body);
}

/* A push service that answers 503 twice: the notice is tried again, with
 * backoff, and arrives once on the third try (the same text). */
static void
test_5xx_is_retried(void **state)
{
	char url[200], t[4096];
	int s;
	int64_t t0;

	(void)state;
	s = sub_new(201, url, sizeof(url));
	pthread_mutex_lock(&rx.mu);
	rx.subs[s].fail_first = 2;
	pthread_mutex_unlock(&rx.mu);
	register_sub(cl[DR], s);
	h_sleep_ms(1100);
	t0 = h_mono_ms();
	post(cl[NS], "n-retry", RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, 1,
	     text_of("点滴の速度を調整しました（再送の確認）"));
	assert_int_equal(wait_got(s, 3, 8000), 3);
	/* 100 ms, then 200 ms between the tries (notice_retry_ms 100). */
	assert_true(h_mono_ms() - t0 >= 300);
	got_for(s, t, sizeof(t));
	/* Three requests, each a valid notice of the one post. */
	char *a = strstr(t, "renkei: 1 new urgent post");
	assert_non_null(a);
	a = strstr(a + 1, "renkei: 1 new urgent post");
	assert_non_null(a);
	assert_non_null(strstr(a + 1, "renkei: 1 new urgent post"));
	h_sleep_ms(500);
	assert_int_equal(got_for(s, NULL, 0), 3);
	char *body = NULL;
	assert_int_equal(h_https_get(srv, "/metrics", &body), 200);
	char *r = strstr(body, "\nrenkei_notices_retries_total ");
	assert_non_null(r);
	assert_true(strtol(r + strlen("\nrenkei_notices_retries_total "), NULL, 10) >= 2);
	free(body);
}

/* A post addressed to a member (the requests slice's `to`): they are
 * told it is addressed to them, once; the others that a post came. */
static void
test_addressed_post(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest m = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	Renkei__V1__Envelope *r;
	char *to[] = {"dr.tanaka"}, t[8192];
	int dr0, msw0;

	(void)state;
	h_sleep_ms(1100);
	dr0 = got_for(subi[DR], NULL, 0);
	msw0 = got_for(subi[MSW], NULL, 0);
	m.patient = PATIENT;
	m.client_id = "n-to";
	m.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	m.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	m.text = (char *)text_of("先生、明日の往診で疼痛評価をお願いします");
	m.n_to = 1;
	m.to = to;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &m;
	r = h_call(cl[NS], &env);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	assert_int_equal(wait_got(subi[DR], dr0 + 1, 8000), dr0 + 1);
	assert_int_equal(wait_got(subi[MSW], msw0 + 1, 8000), msw0 + 1);
	h_sleep_ms(600);
	assert_int_equal(got_for(subi[DR], NULL, 0), dr0 + 1);
	got_for(subi[DR], t, sizeof(t));
	assert_non_null(strstr(t, "\"body\":\"renkei: a post addressed to you\""));
	got_for(subi[MSW], t, sizeof(t));
	char *last = t, *p;
	while ((p = strstr(last + 1, "\"body\":")) != NULL)
		last = p;
	assert_non_null(strstr(last, "\"body\":\"renkei: 1 new post\""));
}

static void
test_test_notice_and_urgent_only(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticeTestRequest m = RENKEI__V1__NOTICE_TEST_REQUEST__INIT;
	Renkei__V1__Envelope *r;
	char t[8192];
	int before;

	(void)state;
	before = got_for(subi[FAM], NULL, 0);
	m.device_id = devid[FAM];
	env.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_TEST_REQUEST;
	env.notice_test_request = &m;
	r = h_call(cl[FAM], &env);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_NOTICE_TEST_RESPONSE);
	assert_int_equal(r->notice_test_response->queued, 1);
	h_env_free(r);
	assert_int_equal(wait_got(subi[FAM], before + 1, 8000), before + 1);
	got_for(subi[FAM], t, sizeof(t));
	assert_non_null(strstr(t, "renkei: a test notice"));
	/* Another user's device: not found, as one that does not exist. */
	m.device_id = devid[DR];
	r = h_call(cl[FAM], &env);
	h_assert_error(r, RENKEI__V1__CODE__NOT_FOUND);
	assert_string_equal(r->error->field, "device_id");
	h_env_free(r);

	/* The family's phone: urgent only; a non-urgent post marked all
	 * reaches their mailbox, not their phone. */
	Renkei__V1__NoticePrefs p = RENKEI__V1__NOTICE_PREFS__INIT;
	p.urgent_only = 1;
	r = prefs_env(cl[FAM], devid[FAM], &p);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE);
	h_env_free(r);
	h_sleep_ms(1100);
	before = got_for(subi[FAM], NULL, 0);
	int mails = mail_for(email[FAM], NULL, 0);
	post(cl[NS], "n-5", RENKEI__V1__VISIBILITY__VISIBILITY_ALL, 0,
	     text_of("明日の訪問は14時に変更になりました"));
	assert_int_equal(wait_mail(email[FAM], mails + 1, 8000), mails + 1);
	h_sleep_ms(800);
	assert_int_equal(got_for(subi[FAM], NULL, 0), before);
}

/* Quiet hours (the family's own, around now in Japan's time): a post
 * that is not urgent reaches neither their phone nor their mailbox; an
 * urgent one comes through. */
static void
test_quiet_hours_let_only_urgent_through(void **state)
{
	Renkei__V1__NoticePrefs p = RENKEI__V1__NOTICE_PREFS__INIT;
	Renkei__V1__Envelope *r;
	char from[8], until[8];
	int m = (int)(((h_now_ms() / 60000) + 9 * 60) % 1440);
	int f = (m + 1440 - 2) % 1440, u = (m + 3) % 1440;
	int push0, mail0;

	(void)state;
	snprintf(from, sizeof(from), "%02d:%02d", f / 60, f % 60);
	snprintf(until, sizeof(until), "%02d:%02d", u / 60, u % 60);
	p.quiet_from = from;
	p.quiet_until = until;
	r = prefs_env(cl[FAM], 0, &p);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE);
	assert_string_equal(r->notice_devices_response->prefs->quiet_from, from);
	h_env_free(r);
	h_sleep_ms(1100);
	push0 = got_for(subi[FAM], NULL, 0);
	mail0 = mail_for(email[FAM], NULL, 0);
	int dr0 = got_for(subi[DR], NULL, 0);
	post(cl[NS], "n-quiet", RENKEI__V1__VISIBILITY__VISIBILITY_ALL, 0,
	     text_of("夜間の様子：よく眠れています"));
	/* The doctor has no quiet hours: once it reached them, the family's
	 * would have too. */
	assert_int_equal(wait_got(subi[DR], dr0 + 1, 8000), dr0 + 1);
	h_sleep_ms(1000);
	assert_int_equal(got_for(subi[FAM], NULL, 0), push0);
	assert_int_equal(mail_for(email[FAM], NULL, 0), mail0);
	post(cl[NS], "n-quiet-urgent", RENKEI__V1__VISIBILITY__VISIBILITY_ALL, 1,
	     text_of("至急：呼吸状態が悪化しています"));
	assert_int_equal(wait_got(subi[FAM], push0 + 1, 8000), push0 + 1);
	assert_int_equal(wait_mail(email[FAM], mail0 + 1, 8000), mail0 + 1);
	/* No quiet hours again. */
	p.quiet_from = p.quiet_until = "";
	r = prefs_env(cl[FAM], 0, &p);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE);
	assert_string_equal(r->notice_devices_response->prefs->quiet_from, "");
	h_env_free(r);
}

static void
test_burst_is_batched(void **state)
{
	enum { BURST = 1000, WINDOW = 100 };
	char cid[32], t[65536];
	int before[NPEOPLE];
	int64_t t0, t1;
	Renkei__V1__Envelope *r;

	(void)state;
	h_sleep_ms(1200);
	for (int i = 0; i < NPEOPLE; i++)
		before[i] = got_for(subi[i], NULL, 0);
	t0 = h_mono_ms();
	/* Ten rounds of 100 posts (pipelined, WINDOW in flight), 300 ms
	 * apart: longer than a batch, so that the user interval shows too. */
	for (int round = 0, sent = 0, recvd = 0; round < 10; round++) {
		int end = (round + 1) * (BURST / 10);
		while (recvd < end) {
			while (sent < end && sent - recvd < WINDOW) {
				Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
				Renkei__V1__CreatePostRequest m =
					RENKEI__V1__CREATE_POST_REQUEST__INIT;
				snprintf(cid, sizeof(cid), "burst-%d", sent);
				m.patient = PATIENT;
				m.client_id = cid;
				m.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
				m.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
				m.text = "バイタル記録（連続入力）";
				env.request_id = 100000 + (uint64_t)sent;
				env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
				env.create_post_request = &m;
				assert_int_equal(rkc_send(cl[NS], &env), 0);
				sent++;
			}
			assert_int_equal(rkc_recv(cl[NS], H_TIMEOUT_MS, &r), 0);
			if (r->request_id >= 100000) {
				h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
				recvd++;
			}
			h_env_free(r);
		}
		if (round < 9)
			h_sleep_ms(300);
	}
	t1 = h_mono_ms();
	text_of("バイタル記録（連続入力）");
	/* Everything has arrived once the counts add up (below), or after
	 * a quiet second and a half. */
	h_sleep_ms(2500);
	long secs = (long)((t1 - t0) / 1000) + 1;
	for (int who = 0; who < NPEOPLE; who++) {
		if (who == FAM || who == NS || who == CM)
			continue; /* not marked all / the author / off the sheet */
		int n = got_for(subi[who], t, sizeof(t)) - before[who];
		long sum = 0;
		/* At most one per interval (1 s) over the burst, and one more;
		 * more than one, as the burst is longer than the interval. */
		if (n < 2 || n > secs + 2)
			fail_msg("%s got %d notices for a burst of %d posts over %ld s",
			         login[who], n, BURST, secs);
		/* The counts of the notices of the burst add up to the burst. */
		int seen = 0;
		for (char *p = t; (p = strstr(p, "renkei: ")) != NULL; p++) {
			if (seen++ < before[who])
				continue;
			sum += strtol(p + 8, NULL, 10);
		}
		fprintf(stderr, "63-notify: %s: %d notices for %d posts in %lld ms\n",
		        login[who], n, BURST, (long long)(t1 - t0));
		if (sum != BURST)
			fail_msg("%s: the notices counted %ld posts, not %d", login[who],
			         sum, BURST);
	}
	assert_int_equal(got_for(subi[NS], NULL, 0), 0);
	assert_int_equal(got_for(subi[FAM], NULL, 0) - before[FAM], 0);
}

#ifdef RENKEI_CLI_BIN
static int
cli(const char *dir, const char *args, char **out)
{
	char cmd[2000];

	snprintf(cmd, sizeof(cmd),
	         "RENKEI_CONFIG_DIR=%s %s --server %s --ca %s %s 2>&1", dir,
	         RENKEI_CLI_BIN, srv->url, srv->ca, args);
	return h_sh(cmd, out);
}

/* renkei notify: add an address, set preferences, test, remove. */
static void
test_cli(void **state)
{
	char dir[300], cmd[1200], *out = NULL;
	int rc, before;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/cli", srv->dir);
	snprintf(cmd, sizeof(cmd),
	         "echo %s | RENKEI_CONFIG_DIR=%s %s --server %s --ca %s login"
	         " --password-stdin ccc.sasaki 2>&1",
	         H_DEMO_PASSWORD, dir, RENKEI_CLI_BIN, srv->url, srv->ca);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fail_msg("renkei login: exit %d: %s", rc, out);
	free(out);
	rc = cli(dir, "notify add-email sasaki@ccc.example.jp --label office", &out);
	if (rc != 0 || strstr(out, "sasaki@ccc.example.jp") == NULL)
		fail_msg("notify add-email: exit %d: %s", rc, out);
	free(out);
	rc = cli(dir, "notify add-email not-an-address", &out);
	if (rc == 0 || strstr(out, "not an e-mail address") == NULL)
		fail_msg("notify add-email (bad): exit %d: %s", rc, out);
	free(out);
	rc = cli(dir, "notify prefs --quiet 22:00-07:00 --boards pt-yamada", &out);
	if (rc != 0 || strstr(out, "quiet 22:00-07:00") == NULL)
		fail_msg("notify prefs: exit %d: %s", rc, out);
	free(out);
	rc = cli(dir, "notify prefs --urgent-only on", &out);
	if (rc != 0 || strstr(out, "urgent only, quiet 22:00-07:00 (JST), boards "
	                           "pt-yamada") == NULL)
		fail_msg("notify prefs (keeps the rest): exit %d: %s", rc, out);
	free(out);
	rc = cli(dir, "notify prefs --quiet 25:00-07:00", &out);
	if (rc == 0 || strstr(out, "quiet hours are HH:MM") == NULL)
		fail_msg("notify prefs (bad): exit %d: %s", rc, out);
	free(out);
	before = mail_for("sasaki@ccc.example.jp", NULL, 0);
	rc = cli(dir, "notify test", &out);
	if (rc != 0 || strstr(out, "on its way to 1 device") == NULL)
		fail_msg("notify test: exit %d: %s", rc, out);
	free(out);
	assert_int_equal(wait_mail("sasaki@ccc.example.jp", before + 1, 8000),
	                 before + 1);
	rc = cli(dir, "--json notify devices", &out);
	assert_int_equal(rc, 0);
	char *idp = strstr(out, "\"id\": ");
	assert_non_null(idp);
	long id = strtol(idp + 6, NULL, 10);
	free(out);
	snprintf(cmd, sizeof(cmd), "notify remove %ld", id);
	rc = cli(dir, cmd, &out);
	if (rc != 0 || strstr(out, "0 devices") == NULL)
		fail_msg("notify remove: exit %d: %s", rc, out);
	free(out);
	rc = cli(dir, cmd, &out);
	if (rc == 0 || strstr(out, "no such notice device of yours") == NULL)
		fail_msg("notify remove (again): exit %d: %s", rc, out);
	free(out);
	rc = cli(dir, "notify vapid-key", &out);
	assert_int_equal(rc, 0);
	char k[100];
	webpush_b64url_encode(rx.vapid, 65, k);
	assert_non_null(strstr(out, k));
	free(out);
}
#endif

/* Last: everything either channel ever received, byte by byte. */
static void
test_nothing_received_names_the_patient(void **state)
{
	const char *needles[80];
	size_t nn = 0;
	char *mail = NULL, cmd[600];

	(void)state;
	needles[nn++] = PATIENT;
	needles[nn++] = PATIENT_NAME;
	needles[nn++] = PATIENT_NAME2;
	needles[nn++] = PATIENT_KANA;
	needles[nn++] = "ヤマダ";
	for (int i = 0; i < ntexts; i++)
		needles[nn++] = texts[i];
	/* Every mailbox file, whole. */
	snprintf(cmd, sizeof(cmd), "cat %s/msg-*.eml", mail_dir);
	h_sh(cmd, &mail);
	assert_non_null(mail);
	assert_true(strlen(mail) > 100);
	assert_true(rx.alllen > 1000);
	for (size_t k = 0; k < nn; k++) {
		if (memmem(rx.all, rx.alllen, needles[k], strlen(needles[k])) != NULL)
			fail_msg("a push notice holds \"%s\"", needles[k]);
		if (strstr(mail, needles[k]) != NULL)
			fail_msg("an e-mail notice holds \"%s\"", needles[k]);
	}
	/* No patient code of the ward at all, on either channel. */
	static const char *const codes[] = {"pt-sato", "pt-suzuki", "pt-yamada"};
	for (size_t k = 0; k < 3; k++) {
		assert_null(strstr(mail, codes[k]));
		assert_null(memmem(rx.all, rx.alllen, codes[k], strlen(codes[k])));
	}
	free(mail);
	/* The server's log names no endpoint and no address either. */
	assert_int_equal(h_server_log_has(srv, "example.jp"), 0);
	assert_int_equal(h_server_log_has(srv, "/push/v1/"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_subscriptions_are_refused),
		cmocka_unit_test(test_register_everyone),
		cmocka_unit_test(test_post_reaches_members_not_family_not_author),
		cmocka_unit_test(test_removed_member_hears_nothing),
		cmocka_unit_test(test_410_removes_the_subscription),
		cmocka_unit_test(test_5xx_is_retried),
		cmocka_unit_test(test_addressed_post),
		cmocka_unit_test(test_test_notice_and_urgent_only),
		cmocka_unit_test(test_quiet_hours_let_only_urgent_through),
		cmocka_unit_test(test_burst_is_batched),
#ifdef RENKEI_CLI_BIN
		cmocka_unit_test(test_cli),
#endif
		cmocka_unit_test(test_nothing_received_names_the_patient),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
