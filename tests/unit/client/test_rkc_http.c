/* Unit tests: rkc_http (HTTP/1.1 response parsing of the rkc client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rkc_http.h"

static const char upgrade[] =
	"HTTP/1.1 101 Switching Protocols\r\n"
	"Upgrade: websocket\r\n"
	"connection:  keep-alive, Upgrade \r\n"
	"Sec-WebSocket-Accept: s3pPLMBiTxaYGYjZCCRGxHDOHes=\r\n"
	"Sec-WebSocket-Protocol: renkei.v1\r\n"
	"\r\n"
	"\x82\x00";

static void
test_head(void **state)
{
	size_t len = sizeof upgrade - 1, head;
	char v[64];

	(void)state;
	head = rkc_http_head_end(upgrade, len);
	assert_int_equal(head, len - 2);
	assert_int_equal(rkc_http_head_end(upgrade, head - 1), 0);
	assert_int_equal(rkc_http_status(upgrade, head), 101);
	assert_int_equal(rkc_http_header(upgrade, head, "upgrade", v, sizeof v), 1);
	assert_string_equal(v, "websocket");
	assert_int_equal(rkc_http_header(upgrade, head, "Connection", v, sizeof v), 1);
	assert_string_equal(v, "keep-alive, Upgrade");
	assert_true(rkc_http_has_token(v, "upgrade"));
	assert_false(rkc_http_has_token(v, "websocket"));
	assert_int_equal(rkc_http_header(upgrade, head, "Sec-WebSocket-Protocol", v, sizeof v), 1);
	assert_string_equal(v, "renkei.v1");
	assert_int_equal(rkc_http_header(upgrade, head, "Sec-WebSocket-Extensions", v, sizeof v), 0);
	/* a prefix of a header name is not that header */
	assert_int_equal(rkc_http_header(upgrade, head, "Sec-WebSocket", v, sizeof v), 0);
	/* too small a buffer */
	assert_int_equal(rkc_http_header(upgrade, head, "Sec-WebSocket-Accept", v, 10), -1);
}

static void
test_status(void **state)
{
	(void)state;
	assert_int_equal(rkc_http_status("HTTP/1.1 200 OK\r\n", 17), 200);
	assert_int_equal(rkc_http_status("HTTP/1.0 404 Not Found\r\n", 24), 404);
	assert_int_equal(rkc_http_status("HTTP/1.1 503\r\n", 14), 503);
	assert_int_equal(rkc_http_status("HTTP/2 200 OK\r\n", 15), -1);
	assert_int_equal(rkc_http_status("HTTP/1.1 20x OK\r\n", 17), -1);
	assert_int_equal(rkc_http_status("HTTP/1.1 2000 OK\r\n", 18), -1);
	assert_int_equal(rkc_http_status("SSH-2.0-OpenSSH\r\n", 17), -1);
	assert_int_equal(rkc_http_status("HTTP", 4), -1);
}

static void
test_tokens(void **state)
{
	(void)state;
	assert_true(rkc_http_has_token("Upgrade", "upgrade"));
	assert_true(rkc_http_has_token(" a ,b,  upgrade  ", "upgrade"));
	assert_false(rkc_http_has_token("upgraded", "upgrade"));
	assert_false(rkc_http_has_token("", "upgrade"));
	assert_false(rkc_http_has_token("up grade", "upgrade"));
}

static void
test_dechunk(void **state)
{
	char body[] = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
	char cut[] = "4\r\nWiki\r\n5\r\npe";
	char nolast[] = "4\r\nWiki\r\n";
	char junk[] = "zz\r\n";
	char nocrlf[] = "4\r\nWikiXX0\r\n\r\n";
	char huge[] = "fffffffffffffffffffff\r\n";
	const char *why;
	size_t n;

	(void)state;
	assert_int_equal(rkc_http_dechunk(body, strlen(body), &n, NULL), 0);
	assert_int_equal(n, 23);
	assert_memory_equal(body, "Wikipedia in\r\n\r\nchunks.", 23);

	why = NULL;
	assert_int_equal(rkc_http_dechunk(cut, strlen(cut), &n, &why), -1);
	assert_non_null(why);
	assert_int_equal(rkc_http_dechunk(nolast, strlen(nolast), &n, NULL), -1);
	assert_int_equal(rkc_http_dechunk(junk, strlen(junk), &n, NULL), -1);
	assert_int_equal(rkc_http_dechunk(nocrlf, strlen(nocrlf), &n, NULL), -1);
	assert_int_equal(rkc_http_dechunk(huge, strlen(huge), &n, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_dechunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
