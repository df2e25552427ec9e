/*
 * RFC 6455 framing, pure parts; see ws_frame.h.
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-------+-+-------------+-------------------------------+
 *     |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *     |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *     |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *     | |1|2|3|       |K|             |                               |
 *     +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *     |     Extended payload length continued, if payload len == 127  |
 *     + - - - - - - - - - - - - - - - +-------------------------------+
 *     |                               |Masking-key, if MASK set to 1  |
 *     +-------------------------------+-------------------------------+
 */
#include "ws_frame.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "rkc_util.h"

int
rkc_ws_is_control(int opcode)
{
	return (opcode & 0x8) != 0;
}

size_t
rkc_ws_header_encode(uint8_t *out, int fin, int opcode, uint64_t len,
                     const uint8_t *mask)
{
	size_t n = 0;
	int i;

	out[n++] = (uint8_t)((fin ? 0x80 : 0x00) | (opcode & 0x0f));
	if (len < 126) {
		out[n++] = (uint8_t)len;
	} else if (len <= 0xffff) {
		out[n++] = 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 127;
		for (i = 7; i >= 0; i--)
			out[n++] = (uint8_t)(len >> (8 * i));
	}
	if (mask != NULL) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

static int
invalid(const char **err_desc, const char *why)
{
	if (err_desc != NULL)
		*err_desc = why;
	return RKC_WS_INVALID;
}

int
rkc_ws_header_decode(const uint8_t *buf, size_t len, struct rkc_ws_header *h,
                     const char **err_desc)
{
	size_t need = 2, ext;
	uint8_t len7;
	int i;

	memset(h, 0, sizeof *h);
	h->hdr_len = need;
	if (len < need)
		return RKC_WS_NEED_MORE;

	h->fin = (buf[0] & 0x80) != 0;
	h->rsv = (buf[0] >> 4) & 0x7;
	h->opcode = buf[0] & 0x0f;
	h->masked = (buf[1] & 0x80) != 0;
	len7 = buf[1] & 0x7f;

	/* Fail as early as possible: a peer sending garbage should not make
	 * us wait for the rest of a header that will be refused anyway. */
	if (h->rsv != 0)
		return invalid(err_desc, "reserved bits set without a negotiated extension");
	if ((h->opcode >= 0x3 && h->opcode <= 0x7) || h->opcode >= 0xb)
		return invalid(err_desc, "reserved opcode");
	if (rkc_ws_is_control(h->opcode)) {
		if (!h->fin)
			return invalid(err_desc, "fragmented control frame");
		if (len7 > RKC_WS_MAX_CONTROL)
			return invalid(err_desc, "control frame payload longer than 125 bytes");
	}

	ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
	need = 2 + ext + (h->masked ? 4 : 0);
	h->hdr_len = need;
	if (len < need)
		return RKC_WS_NEED_MORE;

	if (ext == 0) {
		h->len = len7;
	} else {
		h->len = 0;
		for (i = 0; i < (int)ext; i++)
			h->len = (h->len << 8) | buf[2 + i];
		if (ext == 8 && (h->len >> 63) != 0)
			return invalid(err_desc, "payload length has its most significant bit set");
	}
	if (h->masked)
		memcpy(h->mask, buf + 2 + ext, 4);
	return RKC_WS_OK;
}

void
rkc_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
	size_t i;

	for (i = 0; i < len; i++)
		data[i] ^= mask[(offset + i) & 3];
}

uint8_t *
rkc_ws_frame_build(int fin, int opcode, const void *payload, size_t len,
                   const uint8_t *mask, size_t *out_len)
{
	uint8_t hdr[RKC_WS_MAX_HEADER];
	size_t hlen = rkc_ws_header_encode(hdr, fin, opcode, len, mask);
	uint8_t *frame;

	if (len > SIZE_MAX - hlen)
		abort();
	frame = rkc_xmalloc(hlen + len);
	memcpy(frame, hdr, hlen);
	if (len > 0)
		memcpy(frame + hlen, payload, len);
	if (mask != NULL)
		rkc_ws_mask(frame + hlen, len, mask, 0);
	*out_len = hlen + len;
	return frame;
}

size_t
rkc_ws_close_payload(uint8_t *out, int code, const char *reason)
{
	size_t rlen;

	if (code == 0)
		return 0;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	rlen = reason != NULL ? strlen(reason) : 0;
	if (rlen > RKC_WS_MAX_CONTROL - 2) {
		rlen = RKC_WS_MAX_CONTROL - 2;
		/* do not cut a UTF-8 sequence in half: back up over
		 * continuation bytes to the start of the cut character */
		while (rlen > 0 && ((unsigned char)reason[rlen] & 0xc0) == 0x80)
			rlen--;
	}
	if (rlen > 0)
		memcpy(out + 2, reason, rlen);
	return 2 + rlen;
}

/* Codes a peer may put in a close frame (RFC 6455 7.4.1, 7.4.2, and the
 * IANA registry's 1012-1014). */
static int
close_code_valid(int code)
{
	if (code >= 3000 && code <= 4999)
		return 1;
	switch (code) {
	case 1000: case 1001: case 1002: case 1003:
	case 1007: case 1008: case 1009: case 1010: case 1011:
	case 1012: case 1013: case 1014:
		return 1;
	default:
		return 0;
	}
}

int
rkc_ws_close_parse(const uint8_t *p, size_t len, int *code, char *reason,
                   size_t reason_len, const char **err_desc)
{
	size_t rlen;

	*code = 0;
	if (reason_len > 0)
		reason[0] = '\0';
	if (len == 0)
		return 0;
	if (len == 1)
		return invalid(err_desc, "close frame with a 1-byte payload");
	*code = (p[0] << 8) | p[1];
	if (reason_len > 0) {
		rlen = len - 2;
		if (rlen > reason_len - 1)
			rlen = reason_len - 1;
		memcpy(reason, p + 2, rlen);
		reason[rlen] = '\0';
	}
	if (!close_code_valid(*code))
		return invalid(err_desc, "invalid close code");
	return 0;
}

int
rkc_ws_make_key(char *out)
{
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	/* EVP_EncodeBlock NUL-terminates; 16 bytes give 24 characters */
	if (EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw) != RKC_WS_KEY_LEN)
		return -1;
	return 0;
}

int
rkc_ws_accept_for(const char *key, char *out)
{
	static const char guid[] = RKC_WS_GUID;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
	     EVP_DigestUpdate(ctx, guid, sizeof guid - 1) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	if (EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen) != RKC_WS_ACCEPT_LEN)
		return -1;
	return 0;
}
