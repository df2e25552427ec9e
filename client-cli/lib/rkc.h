/*
 * rkc — a blocking renkei client: one TLS WebSocket connection speaking
 * renkei.v1 (one binary message = one protobuf Envelope).
 *
 * Used by the `renkei` CLI and by the integration tests. It is written on
 * OpenSSL directly rather than on libwebsockets' client because callers
 * here want a synchronous call/response API, and because the tests must be
 * able to send what a well-behaved client library never would (text frames,
 * oversize frames, garbage, half-written frames) and to stop reading on
 * purpose.
 *
 * Thread rules: one struct rkc belongs to one thread at a time.
 * Errors: functions return 0 on success, or -1 with a human-readable reason
 * available from rkc_last_error(). Out of memory aborts (as in the server).
 */
#ifndef RKC_H
#define RKC_H

#include <stddef.h>
#include <stdint.h>

#include "renkei.pb-c.h"

struct rkc;

struct rkc_opts {
	const char *url;     /* wss://host:port[/path]; required */
	const char *ca_file; /* PEM CA bundle to verify the server; required */
	int timeout_ms;      /* connect + handshake timeout; 0 = 10000 */
	int tls_max_version; /* 0 = any; else TLS1_2_VERSION etc. (tests) */
	int no_subprotocol;  /* tests: do not offer "renkei.v1" */
	const char *source_addr; /* NULL = any; else the numeric local address
	                          * to connect from (tests, benchmarks) */
	const char *cert_file; /* NULL = none; else a TLS client (device)
	                        * certificate, PEM, for client_cert servers */
	const char *key_file;  /* its private key (PEM); NULL: in cert_file */
};

/* WebSocket opcodes, for rkc_send_frame / rkc_recv_frame. */
enum {
	RKC_OP_CONT = 0x0,
	RKC_OP_TEXT = 0x1,
	RKC_OP_BINARY = 0x2,
	RKC_OP_CLOSE = 0x8,
	RKC_OP_PING = 0x9,
	RKC_OP_PONG = 0xA,
};

/* Connect, verify the server certificate against ca_file and the host
 * name, and complete the WebSocket upgrade with subprotocol renkei.v1.
 * On failure returns NULL and writes a reason into err (if errlen > 0). */
struct rkc *rkc_connect(const struct rkc_opts *opts, char *err, size_t errlen);

/* Send a close frame (1000) if still open, and free everything. NULL ok. */
void rkc_close(struct rkc *c);

/* Close the TCP socket abruptly, without a close frame or TLS
 * close_notify (tests), and free everything as rkc_close does: c must not
 * be used afterwards. NULL ok. */
void rkc_abort(struct rkc *c);

/* The reason for the last failure on this connection. Never NULL. */
const char *rkc_last_error(const struct rkc *c);

/* Send one Envelope as one binary message. */
int rkc_send(struct rkc *c, const Renkei__V1__Envelope *env);

/* Receive the next Envelope (responses and events alike). Answers pings
 * by itself. Returns 0 and sets *out (free with
 * renkei__v1__envelope__free_unpacked(*out, NULL)); returns -1 on timeout
 * (rkc_last_error says "timeout"), close (rkc_close_code() then tells the
 * code the server sent) or error. timeout_ms < 0 waits forever.
 * A timeout loses nothing: a partly received frame or message is kept
 * for the next call. A message that is not a valid Envelope (or is a text
 * message) fails only this call, with an error starting "the server
 * sent"; any other failure but a timeout leaves the connection unusable. */
int rkc_recv(struct rkc *c, int timeout_ms, Renkei__V1__Envelope **out);

/* Send `req` with the next request id (overwriting req->request_id) and
 * wait for the response with that id. Events that arrive meanwhile are
 * kept, in order, for rkc_next_event(). Returns 0 and *resp (which may be
 * an Error body: check resp->body_case), or -1. */
int rkc_call(struct rkc *c, Renkei__V1__Envelope *req, int timeout_ms,
             Renkei__V1__Envelope **resp);

/* Send `req` with the next request id (written into req->request_id)
 * without waiting for the answer: for callers that keep several requests
 * in flight (pipelined upload chunks) and collect the answers themselves
 * with rkc_recv, by request id. Returns 0, or -1. */
int rkc_send_request(struct rkc *c, Renkei__V1__Envelope *req);

/* Pop an event kept by rkc_call, or receive one (waiting up to
 * timeout_ms). Same return and ownership rules as rkc_recv. */
int rkc_next_event(struct rkc *c, int timeout_ms, Renkei__V1__Envelope **out);

/* Raw frames, for tests. rkc_send_frame masks the payload as a client
 * must; fin = 0 sends a fragment. */
int rkc_send_frame(struct rkc *c, int opcode, const void *data, size_t len, int fin);

/* Receive one raw frame (control frames included, pings not answered).
 * *data is malloc'ed (caller frees). Returns the opcode, or -1. */
int rkc_recv_frame(struct rkc *c, int timeout_ms, uint8_t **data, size_t *len);

/* After the server closed the connection: the close code it sent (0 if
 * none) and its reason (never NULL). */
int rkc_close_code(const struct rkc *c);
const char *rkc_close_reason(const struct rkc *c);

/* The socket, for tests that need poll() or to stop reading. */
int rkc_fd(const struct rkc *c);

/* Plain HTTPS GET on the same server (e.g. "/healthz"). Returns the HTTP
 * status, or -1; the body (malloc'ed, NUL-terminated) goes to *body if
 * body is not NULL. `headers` (may be NULL) is extra request header lines,
 * each ending in "\r\n". */
int rkc_https_get(const struct rkc_opts *opts, const char *path,
                  const char *headers, char **body, size_t *body_len,
                  char *err, size_t errlen);

/* The message to show a person for a status code, e.g. for
 * PERMISSION_DENIED "you are not allowed to do that". Never NULL. */
const char *rkc_code_text(Renkei__V1__Code code);
/* "PERMISSION_DENIED" etc. Never NULL. */
const char *rkc_code_name(Renkei__V1__Code code);

/* ---- device keys (rkc_device.c)
 *
 * A session is bound to the device that logged in: LoginRequest carries
 * the device's Ed25519 public key, and each ResumeRequest a signature by
 * its private key over "renkei-resume-v1" || nonce || SHA-256(token),
 * where the nonce is one the server gave this connection
 * (ResumeChallengeRequest). See proto/renkei.proto. */

#define RKC_DEVICE_KEY_LEN 32
#define RKC_SIGNATURE_LEN 64

struct rkc_device;

/* A new key pair. NULL (reason in err) if OpenSSL cannot make one. */
struct rkc_device *rkc_device_generate(char *err, size_t errlen);
/* Read a key saved by rkc_device_save. Refused (NULL, reason in err):
 * a symlink, not a regular file, not owned by this user, any permission
 * for group or others, or not an Ed25519 private key in PEM. */
struct rkc_device *rkc_device_load(const char *path, char *err, size_t errlen);
/* Write d to path (PEM PKCS#8, unencrypted), created mode 0600 beside it
 * and renamed over it. 0, or -1 with the reason in err. */
int rkc_device_save(const struct rkc_device *d, const char *path, char *err,
                    size_t errlen);
/* NULL ok. */
void rkc_device_free(struct rkc_device *d);
/* The raw public key, for LoginRequest.device_key. */
void rkc_device_public_key(const struct rkc_device *d,
                           uint8_t out[RKC_DEVICE_KEY_LEN]);
/* Sign the resume message for nonce (nonce_len must be 32) and token.
 * 0, or -1. */
int rkc_device_sign_resume(const struct rkc_device *d, const uint8_t *nonce,
                           size_t nonce_len, const char *token,
                           uint8_t sig[RKC_SIGNATURE_LEN]);
/* Sign the login message for nonce (32 bytes) and login, for
 * LoginRequest.device_signature: "renkei-login-v1\0" || nonce ||
 * SHA-256(login). 0, or -1. */
int rkc_device_sign_login(const struct rkc_device *d, const uint8_t *nonce,
                          size_t nonce_len, const char *login,
                          uint8_t sig[RKC_SIGNATURE_LEN]);
/* Ask c for a resume nonce. 0 with nonce filled; 1 with *resp the
 * server's other answer (an Error: the caller frees it); -1 on a
 * transport failure (rkc_last_error). */
int rkc_resume_challenge(struct rkc *c, int timeout_ms, uint8_t nonce[32],
                         Renkei__V1__Envelope **resp);
/* Resume token's session on c as `device` (a name, may be NULL): ask for
 * a nonce, sign it with d, send ResumeRequest. d NULL sends no signature
 * (which the server refuses; tests). As rkc_call: 0 with *resp the
 * answer (LoginResponse or an Error, possibly the challenge's), or -1. */
int rkc_resume(struct rkc *c, const struct rkc_device *d, const char *token,
               const char *device, int timeout_ms, Renkei__V1__Envelope **resp);

#endif
