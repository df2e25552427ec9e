/*
 * Fuzz target: the CLI's WebSocket frame parser (client-cli/lib/ws_frame.c)
 * on a stream of bytes as the server would send them.
 *
 * The input is read as rkc.c reads its socket: a header is decoded at the
 * current offset, then its payload is taken and the next frame follows.
 * A close frame's payload goes through rkc_ws_close_parse.
 *
 * Invariants:
 *  - NEED_MORE only while fewer bytes than hdr_len are there, and
 *    hdr_len grows as the header reveals itself, never past 14; a decoded
 *    header's hdr_len is 2 + 0/2/8 + 0/4 and never more than the bytes;
 *  - a refusal comes with a reason; an accepted header has no reserved
 *    bits or opcodes, a control frame is final and at most 125 bytes,
 *    and a 64-bit length has its top bit clear;
 *  - encoding the decoded header and decoding it again gives the same
 *    header (the shortest encoding, so never longer than the original);
 *  - masking twice gives the payload back;
 *  - a close payload parses into a code (0 iff empty) and a reason that
 *    is NUL-terminated within its buffer; a valid one rebuilt with
 *    rkc_ws_close_payload parses to the same code and reason.
 */
#include <string.h>

#include "fuzz.h"
#include "ws_frame.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	return 0;
}

static void
check_close(const uint8_t *p, size_t len)
{
	char reason[RKC_WS_MAX_CONTROL], again[RKC_WS_MAX_CONTROL];
	uint8_t rebuilt[RKC_WS_MAX_CONTROL];
	const char *why = NULL, *why2 = NULL;
	int code = -1, code2 = -1, rc;
	size_t n;

	rc = rkc_ws_close_parse(p, len, &code, reason, sizeof(reason), &why);
	CHECK(memchr(reason, '\0', sizeof(reason)) != NULL);
	CHECK(strlen(reason) <= (len > 2 ? len - 2 : 0));
	CHECK(len >= 2 || code == 0);
	if (rc != 0) {
		CHECK(rc == RKC_WS_INVALID && why != NULL);
		return;
	}
	CHECK(len != 1);
	if (len == 0)
		return;
	/* What the CLI would send back with the same code and reason. */
	n = rkc_ws_close_payload(rebuilt, code, reason);
	CHECK(n >= 2 && n <= RKC_WS_MAX_CONTROL);
	rc = rkc_ws_close_parse(rebuilt, n, &code2, again, sizeof(again), &why2);
	CHECK(rc == 0 && code2 == code);
	CHECK(strncmp(again, reason, sizeof(again)) == 0);
}

static void
check_roundtrip(const struct rkc_ws_header *h)
{
	uint8_t buf[RKC_WS_MAX_HEADER];
	struct rkc_ws_header h2;
	const char *why = NULL;
	size_t n;

	n = rkc_ws_header_encode(buf, h->fin, h->opcode, h->len,
	                         h->masked ? h->mask : NULL);
	CHECK(n <= RKC_WS_MAX_HEADER && n <= h->hdr_len);
	CHECK(rkc_ws_header_decode(buf, n, &h2, &why) == RKC_WS_OK);
	CHECK(h2.fin == h->fin && h2.opcode == h->opcode && h2.rsv == 0);
	CHECK(h2.masked == h->masked && h2.len == h->len && h2.hdr_len == n);
	CHECK(!h->masked || memcmp(h2.mask, h->mask, 4) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct rkc_ws_header h;
		const char *why = NULL;
		size_t avail = size - off, prev_need = 0;
		int rc;

		/* As rkc.c's fill(): offer the bytes a few at a time, as a
		 * slow socket would, until the header decodes. */
		for (size_t have = 0;; have = h.hdr_len) {
			if (have > avail)
				have = avail;
			rc = rkc_ws_header_decode(data + off, have, &h, &why);
			if (rc != RKC_WS_NEED_MORE)
				break;
			CHECK(h.hdr_len > have && h.hdr_len <= RKC_WS_MAX_HEADER);
			CHECK(h.hdr_len >= prev_need);
			prev_need = h.hdr_len;
			if (have == avail)
				return 0; /* the stream ends inside a header */
		}
		if (rc == RKC_WS_INVALID) {
			CHECK(why != NULL);
			return 0;
		}
		CHECK(rc == RKC_WS_OK);
		CHECK(h.hdr_len <= avail && h.hdr_len >= 2 &&
		      h.hdr_len <= RKC_WS_MAX_HEADER);
		CHECK(h.rsv == 0);
		CHECK(!((h.opcode >= 0x3 && h.opcode <= 0x7) || h.opcode >= 0xb));
		CHECK(!rkc_ws_is_control(h.opcode) ||
		      (h.fin && h.len <= RKC_WS_MAX_CONTROL));
		CHECK((h.len >> 63) == 0);
		check_roundtrip(&h);
		off += h.hdr_len;
		if (h.len > size - off)
			return 0; /* the stream ends inside a payload */

		uint8_t *p = malloc(h.len ? (size_t)h.len : 1);
		CHECK(p != NULL);
		memcpy(p, data + off, (size_t)h.len);
		if (h.masked) {
			rkc_ws_mask(p, (size_t)h.len, h.mask, 0);
			rkc_ws_mask(p, (size_t)h.len, h.mask, 0);
			CHECK(memcmp(p, data + off, (size_t)h.len) == 0);
		}
		if (h.opcode == 0x8)
			check_close(p, (size_t)h.len);
		free(p);
		off += (size_t)h.len;
	}
	return 0;
}
