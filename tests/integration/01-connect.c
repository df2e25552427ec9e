/*
 * 01-connect: the transport before any login — HTTPS endpoints, the
 * WebSocket upgrade and its subprotocol, the TLS versions and suites the
 * server accepts, and the login timeout.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "harness.h"

/* The upgrade request rkc would send, with a chosen subprotocol line. */
#define UPGRADE_REQ(proto_line)                                                \
	"GET / HTTP/1.1\r\n"                                                   \
	"Host: 127.0.0.1\r\n"                                                  \
	"Upgrade: websocket\r\n"                                               \
	"Connection: Upgrade\r\n"                                              \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                      \
	"Sec-WebSocket-Version: 13\r\n" proto_line "\r\n"

/* An upgrade to renkei.v1 with the given version line ("" for none). */
#define VERSION_REQ(version_line)                                              \
	"GET / HTTP/1.1\r\n"                                                   \
	"Host: 127.0.0.1\r\n"                                                  \
	"Upgrade: websocket\r\n"                                               \
	"Connection: Upgrade\r\n"                                              \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" version_line         \
	"Sec-WebSocket-Protocol: renkei.v1\r\n\r\n"

static int
setup(void **state)
{
	/* A short login timeout so that test_login_timeout is quick; every
	 * other test here logs in at once or does not need to. */
	static const char *const args[] = {"--login-timeout-s", "2", NULL};

	*state = h_server_up(args);
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return h_server_free(*state);
}

static void
lowercase(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* How often needle occurs in s. */
static int
count(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

static void
test_healthz(void **state)
{
	struct h_server *s = *state;
	char *body = NULL, head[4096];

	assert_int_equal(h_https_get(s, "/healthz", &body), 200);
	assert_non_null(body);
	assert_string_equal(body, "ok\n");
	free(body);

	body = NULL;
	assert_int_equal(h_https_get(s, "/no-such-page", &body), 404);
	free(body);
	body = NULL;
	assert_int_equal(h_https_get(s, "/healthz/extra", &body), 404);
	free(body);

	/* Health answers must not be cached or sniffed by a browser. */
	assert_true(
	    h_tls_exchange(s,
	                   "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                   "Connection: close\r\n\r\n",
	                   head, sizeof(head), 5000) > 0);
	lowercase(head);
	assert_non_null(strstr(head, "http/1.1 200"));
	assert_non_null(strstr(head, "x-content-type-options: nosniff"));
	assert_non_null(strstr(head, "cache-control: no-store"));
	/* Each security header once; HSTS on every HTTPS answer. */
	assert_int_equal(count(head, "x-content-type-options:"), 1);
	assert_int_equal(count(head, "content-security-policy:"), 1);
	assert_int_equal(count(head, "x-frame-options:"), 1);
	assert_int_equal(count(head, "strict-transport-security: max-age="), 1);
}

/* GET and HEAD only: HEAD has GET's head and no body; any other method
 * is 405 with Allow, and the connection closes (its body never read). */
static void
test_https_methods(void **state)
{
	struct h_server *s = *state;
	const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
	char head[8192], req[256];
	int closed;

	assert_true(h_tls_exchange_eof(s,
	                               "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                               "Connection: close\r\n\r\n",
	                               head, sizeof(head), 5000, &closed) > 0);
	lowercase(head);
	assert_non_null(strstr(head, "http/1.1 200"));
	assert_non_null(strstr(head, "content-length: 3\r\n"));
	assert_non_null(strstr(head, "strict-transport-security: max-age="));
	assert_null(strstr(head, "\r\n\r\nok")); /* no body */

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(req, sizeof(req),
		         "%s /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		         "Content-Length: 5\r\n\r\nhello",
		         methods[i]);
		assert_true(h_tls_exchange_eof(s, req, head, sizeof(head), 5000,
		                               &closed) > 0);
		lowercase(head);
		if (strstr(head, "http/1.1 405") == NULL)
			fail_msg("%s: %s", methods[i], head);
		assert_non_null(strstr(head, "allow: get, head\r\n"));
		assert_true(closed);
	}
	/* CONNECT (which lws would hand over as a raw socket): the same. */
	assert_true(h_tls_exchange_eof(s,
	                               "CONNECT example.com:443 HTTP/1.1\r\n"
	                               "Host: example.com:443\r\n\r\n",
	                               head, sizeof(head), 5000, &closed) > 0);
	lowercase(head);
	if (strstr(head, "http/1.1 405") == NULL)
		fail_msg("CONNECT: %s", head);
	assert_non_null(strstr(head, "allow: get, head\r\n"));
	assert_true(closed);
}

static void
test_whoami_before_login(void **state)
{
	struct rkc *c = h_connect(*state);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_whoami_env(c);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(r->request_id, 1);
	h_env_free(r);

	/* Logout needs a session too. */
	r = h_logout_env(c);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);

	/* Refused requests leave the connection usable: log in now. */
	r = h_login_env(c, "dr.tanaka", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	r = h_whoami_env(c);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(r->whoami_response->user->login, "dr.tanaka");
	h_env_free(r);
	rkc_close(c);
}

static void
test_no_subprotocol_refused(void **state)
{
	struct rkc_opts o;
	struct rkc *c;
	char err[256];

	h_opts(*state, &o);
	o.no_subprotocol = 1;
	c = rkc_connect(&o, err, sizeof(err));
	if (c != NULL)
		rkc_close(c);
	assert_null(c);
	print_message("refused as expected: %s\n", err);
}

static void
test_wrong_subprotocol_refused(void **state)
{
	struct h_server *s = *state;
	char buf[4096];

	/* The control: this hand-made upgrade is accepted as renkei.v1, so
	 * that the refusal below is about the subprotocol alone. */
	assert_true(h_tls_exchange(
	                s, UPGRADE_REQ("Sec-WebSocket-Protocol: renkei.v1\r\n"),
	                buf, sizeof(buf), 5000) > 0);
	assert_memory_equal(buf, "HTTP/1.1 101", 12);

	assert_true(
	    h_tls_exchange(s, UPGRADE_REQ("Sec-WebSocket-Protocol: chat\r\n"),
	                   buf, sizeof(buf), 5000) >= 0);
	if (strncmp(buf, "HTTP/1.1 101", 12) == 0)
		fail_msg("upgrade to subprotocol \"chat\" was accepted:\n%s",
		         buf);
}

/* Run s_client against the server; returns its exit status. */
static int
s_client(const struct h_server *s, const char *args, char **out)
{
	char cmd[1024];

	if (h_sh("command -v openssl", NULL) != 0) {
		fail_msg("no openssl command (scripts/install-deps.sh installs it)");
	}
	snprintf(cmd, sizeof(cmd),
	         "openssl s_client -connect 127.0.0.1:%d -CAfile %s "
	         "-verify_ip 127.0.0.1 %s",
	         s->port, s->ca, args);
	return h_sh(cmd, out);
}

static void
test_tls11_refused(void **state)
{
	char *out = NULL;
	int rc = s_client(*state, "-tls1_1 -cipher DEFAULT@SECLEVEL=0", &out);

	assert_non_null(out);
	if (rc == 0 || strstr(out, "Cipher is (NONE)") == NULL) {
		fprintf(stderr, "%s\n", out);
		fail_msg("TLS 1.1 handshake was not refused (exit %d)", rc);
	}
	free(out);
}

static void
test_tls12_weak_suite_refused(void **state)
{
	char *out = NULL;
	/* ECDHE with CBC and SHA-1 MACs: the server offers AEAD suites only. */
	int rc = s_client(
	    *state,
	    "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA",
	    &out);

	assert_non_null(out);
	if (rc == 0 || strstr(out, "Cipher is (NONE)") == NULL) {
		fprintf(stderr, "%s\n", out);
		fail_msg("a CBC suite was accepted (exit %d)", rc);
	}
	free(out);
}

static void
check_accepted(const struct h_server *s, const char *flag, const char *proto)
{
	char *out = NULL, want[64];
	int rc = s_client(s, flag, &out);

	assert_non_null(out);
	/* "New, TLSv1.3, Cipher is X" always follows a handshake; the
	 * "Protocol  :" line of the session block may not come before
	 * s_client sees the end of its input. */
	snprintf(want, sizeof(want), "New, %s, Cipher is ", proto);
	if (rc != 0 || strstr(out, want) == NULL ||
	    strstr(out, "Cipher is (NONE)") != NULL ||
	    strstr(out, "Verify return code: 0 (ok)") == NULL) {
		fprintf(stderr, "%s\n", out);
		fail_msg("%s handshake failed (exit %d)", proto, rc);
	}
	free(out);
}

static void
test_tls12_tls13_accepted(void **state)
{
	check_accepted(*state, "-tls1_2", "TLSv1.2");
	check_accepted(*state, "-tls1_3", "TLSv1.3");
}

static void
test_rkc_tls12(void **state)
{
	struct rkc_opts o;
	struct rkc *c;
	char err[256];
	Renkei__V1__Envelope *r;

	h_opts(*state, &o);
	o.tls_max_version = TLS1_2_VERSION;
	c = rkc_connect(&o, err, sizeof(err));
	if (c == NULL)
		fail_msg("rkc over TLS 1.2: %s", err);
	r = h_login_env(c, "ns.kobayashi", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(c);
}

static void
test_login_timeout(void **state)
{
	struct rkc *c = h_connect(*state);
	int64_t t0 = h_mono_ms();
	int code;

	assert_non_null(c);
	/* Say nothing: the server closes after --login-timeout-s 2 (its tick
	 * is one second, so allow up to 4 s). */
	code = h_wait_close(c, 6000, NULL);
	if (code != 4002)
		fail_msg("expected close 4002 (login timeout), got %d: %s",
		         code, rkc_last_error(c));
	assert_true(h_mono_ms() - t0 >= 1500);
	assert_non_null(strstr(rkc_close_reason(c), "logged in"));
	rkc_close(c);
}

/* RFC 6455 4.4: another version is answered 426 with the version the
 * server speaks, and the connection closes; 13 is upgraded. */
static void
test_websocket_version(void **state)
{
	struct h_server *s = *state;
	const char *reqs[] = {VERSION_REQ("Sec-WebSocket-Version: 8\r\n"),
	                      VERSION_REQ("Sec-WebSocket-Version: 14\r\n"),
	                      VERSION_REQ("")};
	char head[8192];
	int closed;

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		assert_true(h_tls_exchange_eof(s, reqs[i], head, sizeof(head), 5000,
		                               &closed) > 0);
		lowercase(head);
		if (strstr(head, " 426") == NULL)
			fail_msg("request %zu: %s", i, head);
		assert_non_null(strstr(head, "sec-websocket-version: 13\r\n"));
		assert_true(closed);
	}
	assert_true(h_tls_exchange(s, VERSION_REQ("Sec-WebSocket-Version: 13\r\n"),
	                           head, sizeof(head), 5000) > 0);
	assert_non_null(strstr(head, " 101 "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_healthz),
	    cmocka_unit_test(test_https_methods),
	    cmocka_unit_test(test_websocket_version),
	    cmocka_unit_test(test_whoami_before_login),
	    cmocka_unit_test(test_no_subprotocol_refused),
	    cmocka_unit_test(test_wrong_subprotocol_refused),
	    cmocka_unit_test(test_tls11_refused),
	    cmocka_unit_test(test_tls12_weak_suite_refused),
	    cmocka_unit_test(test_tls12_tls13_accepted),
	    cmocka_unit_test(test_rkc_tls12),
	    cmocka_unit_test(test_login_timeout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
