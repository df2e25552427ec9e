/*
 * ws_frame — the pure parts of RFC 6455 that the rkc client needs: frame
 * header encoding and decoding, masking, close payloads, and the
 * Sec-WebSocket-Key / Sec-WebSocket-Accept pair of the opening handshake.
 *
 * No I/O and no connection state: rkc.c keeps the state (buffers,
 * fragment reassembly, close handshake) and the unit tests drive these
 * functions directly. Decoding validates what does not depend on which
 * side is reading (reserved bits and opcodes, control frame rules, the
 * 64-bit length's top bit); the caller checks the mask bit, since only it
 * knows whether it is the client or the server.
 *
 * Internal to client-cli/lib and its tests.
 */
#ifndef WS_FRAME_H
#define WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define RKC_WS_MAX_HEADER 14      /* 2 + 8 (length) + 4 (mask) */
#define RKC_WS_MAX_CONTROL 125    /* payload limit of control frames */
#define RKC_WS_KEY_LEN 24         /* base64 of 16 random bytes */
#define RKC_WS_ACCEPT_LEN 28      /* base64 of a SHA-1 digest */
#define RKC_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Close codes we send or check (RFC 6455 7.4.1). */
enum {
	RKC_WS_CLOSE_NORMAL = 1000,
	RKC_WS_CLOSE_PROTOCOL = 1002,
	RKC_WS_CLOSE_UNSUPPORTED = 1003,
	RKC_WS_CLOSE_NO_STATUS = 1005, /* never on the wire */
	RKC_WS_CLOSE_TOO_BIG = 1009,
};

struct rkc_ws_header {
	int fin;
	int rsv;          /* RSV1..RSV3 as bits 2..0; 0 without extensions */
	int opcode;
	int masked;
	uint8_t mask[4];  /* valid when masked */
	uint64_t len;     /* payload length */
	size_t hdr_len;   /* header bytes, mask included; see decode */
};

/* Results of rkc_ws_header_decode. */
enum {
	RKC_WS_OK = 0,
	RKC_WS_NEED_MORE = 1,
	RKC_WS_INVALID = -1,
};

/* 1 for CLOSE, PING, PONG and the reserved control opcodes 0xB-0xF. */
int rkc_ws_is_control(int opcode);

/* Write a frame header into out (RKC_WS_MAX_HEADER bytes at least), with
 * the shortest length encoding; mask is 4 bytes, or NULL for an unmasked
 * frame. Returns the header length. opcode is taken as is (0..15), so
 * tests can produce invalid frames. */
size_t rkc_ws_header_encode(uint8_t *out, int fin, int opcode, uint64_t len,
                            const uint8_t *mask);

/* Decode the header at buf[0..len). Returns RKC_WS_OK with *h filled;
 * RKC_WS_NEED_MORE when buf holds only part of it (h->hdr_len then says
 * how many bytes are needed to go on, at least); or RKC_WS_INVALID with a
 * static reason in *err_desc (if not NULL). */
int rkc_ws_header_decode(const uint8_t *buf, size_t len, struct rkc_ws_header *h,
                         const char **err_desc);

/* XOR data in place with the mask, as if data started at payload offset
 * `offset` (masking is its own inverse). */
void rkc_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/* A whole frame: header, then the payload masked with mask (4 bytes, or
 * NULL for none). Returns a malloc'ed buffer (caller frees) and its size
 * in *out_len. Aborts on out-of-memory. */
uint8_t *rkc_ws_frame_build(int fin, int opcode, const void *payload, size_t len,
                            const uint8_t *mask, size_t *out_len);

/* Close frame payload: 2-byte code then the reason, cut to fit 125 bytes
 * (at a UTF-8 character boundary). code 0 gives an empty payload. Writes
 * into out (RKC_WS_MAX_CONTROL bytes) and returns its length. */
size_t rkc_ws_close_payload(uint8_t *out, int code, const char *reason);

/* Parse a received close payload: *code (0 when the payload is empty) and
 * the reason, NUL-terminated and cut to reason_len - 1 bytes. Returns 0,
 * or -1 with *err_desc for a 1-byte payload or a code that may not be
 * sent (RFC 6455 7.4); *code and reason are still filled then. */
int rkc_ws_close_parse(const uint8_t *p, size_t len, int *code, char *reason,
                       size_t reason_len, const char **err_desc);

/* A fresh Sec-WebSocket-Key: base64 of 16 bytes from RAND_bytes. out must
 * hold RKC_WS_KEY_LEN + 1 bytes. Returns 0, or -1 if the random generator
 * fails. */
int rkc_ws_make_key(char *out);

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + RKC_WS_GUID)). out must
 * hold RKC_WS_ACCEPT_LEN + 1 bytes. Returns 0, or -1 if OpenSSL fails. */
int rkc_ws_accept_for(const char *key, char *out);

#endif
