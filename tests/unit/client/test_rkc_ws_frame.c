/* Unit tests: ws_frame (RFC 6455 framing and handshake keys, client side). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ws_frame.h"

/* RFC 6455 section 1.3 (also section 4.2.2): the sample nonce and its
 * answer. (Some copies of this example circulate with a wrong answer; this
 * one is the RFC's, checked against `openssl sha1 -binary | base64`.) */
static void
test_accept_rfc_example(void **state)
{
	char out[RKC_WS_ACCEPT_LEN + 1];

	(void)state;
	assert_int_equal(rkc_ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(rkc_ws_accept_for("x3JJHMbDL1EzLkh9GBhXDw==", out), 0);
	assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

static void
test_make_key(void **state)
{
	char a[RKC_WS_KEY_LEN + 1], b[RKC_WS_KEY_LEN + 1];

	(void)state;
	assert_int_equal(rkc_ws_make_key(a), 0);
	assert_int_equal(rkc_ws_make_key(b), 0);
	assert_int_equal(strlen(a), RKC_WS_KEY_LEN);
	assert_int_equal(a[22], '=');
	assert_int_equal(a[23], '=');
	assert_string_not_equal(a, b);
}

/* RFC 6455 section 5.7 examples */
static void
test_rfc_examples(void **state)
{
	static const uint8_t hello_unmasked[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	static const uint8_t hello_masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
		                                0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	struct rkc_ws_header h;
	uint8_t *f, payload[5];
	size_t n;

	(void)state;
	f = rkc_ws_frame_build(1, 0x1, "Hello", 5, NULL, &n);
	assert_int_equal(n, sizeof hello_unmasked);
	assert_memory_equal(f, hello_unmasked, n);
	free(f);
	f = rkc_ws_frame_build(1, 0x1, "Hello", 5, mask, &n);
	assert_int_equal(n, sizeof hello_masked);
	assert_memory_equal(f, hello_masked, n);
	free(f);

	assert_int_equal(rkc_ws_header_decode(hello_masked, sizeof hello_masked, &h, NULL),
	                 RKC_WS_OK);
	assert_true(h.fin);
	assert_int_equal(h.opcode, 0x1);
	assert_true(h.masked);
	assert_memory_equal(h.mask, mask, 4);
	assert_int_equal(h.len, 5);
	assert_int_equal(h.hdr_len, 6);
	memcpy(payload, hello_masked + h.hdr_len, 5);
	rkc_ws_mask(payload, 5, h.mask, 0);
	assert_memory_equal(payload, "Hello", 5);

	/* fragmented "Hel" + "lo" */
	{
		static const uint8_t first[] = { 0x01, 0x03, 0x48, 0x65, 0x6c };
		static const uint8_t last[] = { 0x80, 0x02, 0x6c, 0x6f };

		assert_int_equal(rkc_ws_header_decode(first, sizeof first, &h, NULL), RKC_WS_OK);
		assert_false(h.fin);
		assert_int_equal(h.opcode, 0x1);
		assert_int_equal(rkc_ws_header_decode(last, sizeof last, &h, NULL), RKC_WS_OK);
		assert_true(h.fin);
		assert_int_equal(h.opcode, 0x0);
		assert_int_equal(h.len, 2);
	}
}

static void
test_lengths(void **state)
{
	static const uint64_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 1u << 24,
		                         (uint64_t)1 << 40 };
	static const size_t hlens[] = { 2, 2, 2, 4, 4, 4, 10, 10, 10 };
	static const uint8_t mask[4] = { 1, 2, 3, 4 };
	uint8_t hdr[RKC_WS_MAX_HEADER];
	struct rkc_ws_header h;
	size_t i, n, k;

	(void)state;
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		n = rkc_ws_header_encode(hdr, 1, 0x2, lens[i], NULL);
		assert_int_equal(n, hlens[i]);
		/* every strict prefix asks for more */
		for (k = 0; k < n; k++) {
			assert_int_equal(rkc_ws_header_decode(hdr, k, &h, NULL), RKC_WS_NEED_MORE);
			assert_true(h.hdr_len > k);
		}
		assert_int_equal(rkc_ws_header_decode(hdr, n, &h, NULL), RKC_WS_OK);
		assert_int_equal(h.len, lens[i]);
		assert_int_equal(h.hdr_len, n);
		assert_false(h.masked);

		n = rkc_ws_header_encode(hdr, 0, 0x0, lens[i], mask);
		assert_int_equal(n, hlens[i] + 4);
		assert_int_equal(rkc_ws_header_decode(hdr, n - 1, &h, NULL), RKC_WS_NEED_MORE);
		assert_int_equal(rkc_ws_header_decode(hdr, n, &h, NULL), RKC_WS_OK);
		assert_true(h.masked);
		assert_false(h.fin);
		assert_int_equal(h.opcode, 0);
		assert_memory_equal(h.mask, mask, 4);
		assert_int_equal(h.len, lens[i]);
	}
}

static void
test_invalid_headers(void **state)
{
	static const uint8_t cases[][10] = {
		{ 0xc2, 0x00 },                  /* RSV1 */
		{ 0xa2, 0x00 },                  /* RSV2 */
		{ 0x92, 0x00 },                  /* RSV3 */
		{ 0x83, 0x00 },                  /* reserved data opcode */
		{ 0x87, 0x00 },
		{ 0x8b, 0x00 },                  /* reserved control opcode */
		{ 0x8f, 0x00 },
		{ 0x09, 0x00 },                  /* fragmented ping */
		{ 0x88, 0x7e },                  /* close with 126-byte payload */
		{ 0x89, 0x7f },
		{ 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0 }, /* 64-bit length, MSB set */
	};
	struct rkc_ws_header h;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		why = NULL;
		assert_int_equal(rkc_ws_header_decode(cases[i], sizeof cases[i], &h, &why),
		                 RKC_WS_INVALID);
		assert_non_null(why);
	}
	/* a ping with 125 bytes is fine */
	{
		static const uint8_t ok[] = { 0x89, 0x7d };

		assert_int_equal(rkc_ws_header_decode(ok, sizeof ok, &h, NULL), RKC_WS_OK);
		assert_int_equal(h.len, 125);
	}
}

static void
test_mask_offsets(void **state)
{
	static const uint8_t mask[4] = { 0xde, 0xad, 0xbe, 0xef };
	uint8_t data[37], copy[37];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7);
	memcpy(copy, data, sizeof data);
	rkc_ws_mask(data, sizeof data, mask, 0);
	for (i = 0; i < sizeof data; i++)
		assert_int_equal(data[i], copy[i] ^ mask[i % 4]);
	/* unmasking in two pieces, the second starting at odd offset 13 */
	rkc_ws_mask(data, 13, mask, 0);
	rkc_ws_mask(data + 13, sizeof data - 13, mask, 13);
	assert_memory_equal(data, copy, sizeof data);
}

static void
test_close_payloads(void **state)
{
	uint8_t p[RKC_WS_MAX_CONTROL];
	char reason[RKC_WS_MAX_CONTROL], longr[300];
	const char *why;
	size_t n;
	int code;

	(void)state;
	n = rkc_ws_close_payload(p, 1000, "bye");
	assert_int_equal(n, 5);
	assert_int_equal(p[0], 0x03);
	assert_int_equal(p[1], 0xe8);
	assert_int_equal(rkc_ws_close_parse(p, n, &code, reason, sizeof reason, NULL), 0);
	assert_int_equal(code, 1000);
	assert_string_equal(reason, "bye");

	assert_int_equal(rkc_ws_close_payload(p, 0, "ignored"), 0);
	assert_int_equal(rkc_ws_close_parse(p, 0, &code, reason, sizeof reason, NULL), 0);
	assert_int_equal(code, 0);
	assert_string_equal(reason, "");

	/* a long Japanese reason is cut to 123 bytes at a character boundary */
	strcpy(longr, "x");
	while (strlen(longr) < 200)
		strcat(longr, "切断");
	n = rkc_ws_close_payload(p, 4001, longr);
	/* 1 + 3 * 40 = 121 bytes fit in 123; the 41st character would not */
	assert_int_equal(n, 2 + 121);
	assert_memory_equal(p + 2, longr, n - 2);

	why = NULL;
	assert_int_equal(rkc_ws_close_parse(p, 1, &code, reason, sizeof reason, &why), -1);
	assert_non_null(why);
	n = rkc_ws_close_payload(p, 1005, "");
	assert_int_equal(rkc_ws_close_parse(p, n, &code, reason, sizeof reason, NULL), -1);
	n = rkc_ws_close_payload(p, 999, "");
	assert_int_equal(rkc_ws_close_parse(p, n, &code, reason, sizeof reason, NULL), -1);
	n = rkc_ws_close_payload(p, 4999, "app");
	assert_int_equal(rkc_ws_close_parse(p, n, &code, reason, sizeof reason, NULL), 0);
	assert_int_equal(code, 4999);
	/* the reason is cut to fit the caller's buffer */
	n = rkc_ws_close_payload(p, 1008, "policy violation");
	assert_int_equal(rkc_ws_close_parse(p, n, &code, reason, 7, NULL), 0);
	assert_string_equal(reason, "policy");
}

static void
test_control(void **state)
{
	(void)state;
	assert_false(rkc_ws_is_control(0x0));
	assert_false(rkc_ws_is_control(0x1));
	assert_false(rkc_ws_is_control(0x2));
	assert_true(rkc_ws_is_control(0x8));
	assert_true(rkc_ws_is_control(0x9));
	assert_true(rkc_ws_is_control(0xa));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_rfc_example),
		cmocka_unit_test(test_make_key),
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_invalid_headers),
		cmocka_unit_test(test_mask_offsets),
		cmocka_unit_test(test_close_payloads),
		cmocka_unit_test(test_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
