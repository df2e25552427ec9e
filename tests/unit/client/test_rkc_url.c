/* Unit tests: rkc_url (server URL parsing of the rkc client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rkc_url.h"

static void
test_full(void **state)
{
	struct rkc_url u;
	const char *why = NULL;
	char host[300];

	(void)state;
	assert_int_equal(rkc_url_parse("wss://renkei.example.jp:8443/ws", &u, &why), 0);
	assert_string_equal(u.host, "renkei.example.jp");
	assert_string_equal(u.port, "8443");
	assert_string_equal(u.path, "/ws");
	assert_int_equal(u.host_is_ip, 0);
	assert_int_equal(rkc_url_host_header(&u, host, sizeof host), 0);
	assert_string_equal(host, "renkei.example.jp:8443");
}

static void
test_defaults(void **state)
{
	struct rkc_url u;

	(void)state;
	assert_int_equal(rkc_url_parse("wss://localhost", &u, NULL), 0);
	assert_string_equal(u.host, "localhost");
	assert_string_equal(u.port, "443");
	assert_string_equal(u.path, "/");
	assert_int_equal(rkc_url_parse("WSS://localhost:8443", &u, NULL), 0);
	assert_string_equal(u.port, "8443");
	assert_string_equal(u.path, "/");
	assert_int_equal(rkc_url_parse("https://localhost:8443/healthz", &u, NULL), 0);
	assert_string_equal(u.path, "/healthz");
	assert_int_equal(rkc_url_parse("wss://h:1?x=1", &u, NULL), 0);
	assert_string_equal(u.path, "/?x=1");
}

static void
test_ip_literals(void **state)
{
	struct rkc_url u;
	char host[300];

	(void)state;
	assert_int_equal(rkc_url_parse("wss://127.0.0.1:8443/", &u, NULL), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.host_is_ip, 4);
	assert_int_equal(rkc_url_parse("wss://[::1]:8443/x/y", &u, NULL), 0);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "8443");
	assert_string_equal(u.path, "/x/y");
	assert_int_equal(u.host_is_ip, 6);
	assert_int_equal(rkc_url_host_header(&u, host, sizeof host), 0);
	assert_string_equal(host, "[::1]:8443");
	assert_int_equal(rkc_url_parse("wss://[fe80::1:2]", &u, NULL), 0);
	assert_string_equal(u.port, "443");
}

static void
test_refused(void **state)
{
	static const char *bad[] = {
		"",
		"localhost:8443",
		"ws://localhost:8443/",        /* no plain text */
		"http://localhost/",
		"wss://",
		"wss:///path",
		"wss://:8443/",
		"wss://user@localhost/",
		"wss://user:pw@localhost/",
		"wss://localhost:0/",
		"wss://localhost:65536/",
		"wss://localhost:99999999999999999999/",
		"wss://localhost:/",
		"wss://localhost:84a3/",
		"wss://[::1/",
		"wss://[not-ip]:8443/",
		"wss://::1:8443/",             /* IPv6 needs brackets */
		"wss://local host/",
		"wss://localhost/a b",
		"wss://localhost/a\r\nX-Injected: 1",
		"wss://localhost/\x7f",
		"wss://localhost/\xe3\x81\x82", /* must be percent-encoded */
		"wss://localhost/#frag",
		"wss://..evil/",
		"wss://-x/",
	};
	struct rkc_url u;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		if (rkc_url_parse(bad[i], &u, &why) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(why);
	}
	assert_int_equal(rkc_url_parse(NULL, &u, NULL), -1);
}

static void
test_limits(void **state)
{
	char url[4096], host[16];
	struct rkc_url u;

	(void)state;
	memset(url, 0, sizeof url);
	strcpy(url, "wss://");
	memset(url + 6, 'a', 300);
	assert_int_equal(rkc_url_parse(url, &u, NULL), -1); /* host too long */
	strcpy(url, "wss://h/");
	memset(url + 8, 'p', 3000);
	assert_int_equal(rkc_url_parse(url, &u, NULL), -1); /* path too long */
	assert_int_equal(rkc_url_parse("wss://localhost:65535", &u, NULL), 0);
	assert_string_equal(u.port, "65535");
	assert_int_equal(rkc_url_host_header(&u, host, 5), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ip_literals),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
