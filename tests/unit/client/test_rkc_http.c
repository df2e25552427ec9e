/* Unit tests: rkc_http (HTTP/1.1 response parsing of the rkc client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* Found by fuzz_cli_http (its corpus keeps both inputs): a header value
 * holding a NUL was copied as if it ended there, so that
 * "Sec-WebSocket-Accept: <the right key>\0junk" passed for the right
 * key; now such a value is unusable (-1), like one too long. */
static void
test_header_nul(void **state)
{
	static const char head[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\0junk\r\n"
		"Sec-WebSocket-Protocol: renkei.v1\r\n"
		"\r\n";
	size_t len = sizeof head - 1;
	char v[64] = "untouched", err[256];

	(void)state;
	assert_int_equal(rkc_http_header(head, len, "Sec-WebSocket-Accept", v, sizeof v), -1);
	assert_string_equal(v, "untouched");
	assert_int_equal(rkc_http_upgrade_check(head, len, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
	                                        "renkei.v1", err, sizeof err),
	                 -1);
	assert_string_equal(err, "WebSocket upgrade: wrong or missing Sec-WebSocket-Accept");
}

/* Found by fuzz_cli_http: a Transfer-Encoding (or Content-Length) header
 * that is present but unusable (longer than the buffer, or holding a
 * NUL) left the value buffer unset, and the response was then judged by
 * whatever the stack held there. Now it is refused. */
static void
test_response_unusable_header(void **state)
{
	static const char te_nul[] =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\0x\r\n\r\n0\r\n\r\n";
	char resp[1024], err[256];
	size_t off = 1, blen = 1;
	int n;

	(void)state;
	n = snprintf(resp, sizeof resp,
	             "HTTP/1.1 200 OK\r\nTransfer-Encoding: %0300d\r\n\r\n0\r\n\r\n", 7);
	assert_int_equal(rkc_http_response(resp, (size_t)n, &off, &blen, err, sizeof err), -1);
	assert_string_equal(err, "bad Transfer-Encoding in the HTTP response");
	n = snprintf(resp, sizeof resp,
	             "HTTP/1.1 200 OK\r\nContent-Length: %0300d\r\n\r\nok", 2);
	assert_int_equal(rkc_http_response(resp, (size_t)n, &off, &blen, err, sizeof err), -1);
	assert_string_equal(err, "bad Content-Length in the HTTP response");
	memcpy(resp, te_nul, sizeof te_nul - 1);
	assert_int_equal(rkc_http_response(resp, sizeof te_nul - 1, &off, &blen, err, sizeof err),
	                 -1);
	assert_string_equal(err, "bad Transfer-Encoding in the HTTP response");
	assert_int_equal(off, 1); /* nothing set on failure */

	/* ... and a usable one still works. */
	n = snprintf(resp, sizeof resp,
	             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA");
	assert_int_equal(rkc_http_response(resp, (size_t)n, &off, &blen, err, sizeof err), 200);
	assert_int_equal(off, (size_t)n - 7);
	assert_int_equal(blen, 2);
	n = snprintf(resp, sizeof resp,
	             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
	assert_int_equal(rkc_http_response(resp, (size_t)n, &off, &blen, err, sizeof err), 200);
	assert_int_equal(blen, 2);
	assert_memory_equal(resp + off, "ok", 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_dechunk),
		cmocka_unit_test(test_header_nul),
		cmocka_unit_test(test_response_unusable_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
