/*
 * rkc_http — the little HTTP/1.1 response parsing the rkc client needs:
 * the WebSocket upgrade answer (101 + headers) and the plain HTTPS GET of
 * rkc_https_get (status, Content-Length or chunked body).
 *
 * Pure functions over a buffer that holds a response head (status line and
 * header lines, up to and including the blank line), or a whole response.
 * They never read past the given length, never allocate and do no I/O:
 * rkc.c and rkc_https.c read the socket, these say what was read.
 * Internal to client-cli/lib, its tests and its fuzz target.
 */
#ifndef RKC_HTTP_H
#define RKC_HTTP_H

#include <stddef.h>

/* The largest response rkc_https_get takes (and Content-Length it believes). */
#define RKC_HTTP_MAX_RESPONSE ((size_t)64 << 20)

/* Length of the head at buf[0..len) including its final "\r\n\r\n", or 0
 * while the head is not complete. */
size_t rkc_http_head_end(const char *buf, size_t len);

/* Status code of the "HTTP/1.x NNN ..." line at the start of head, or -1
 * if it is not one. */
int rkc_http_status(const char *head, size_t len);

/* Copy the value of the first header called `name` (case-insensitive),
 * without surrounding blanks, into out (NUL-terminated). Returns 1 if
 * found, 0 if absent, -1 if present but unusable: longer than outlen - 1,
 * or holding a NUL byte (out is then left as it was). */
int rkc_http_header(const char *head, size_t len, const char *name, char *out,
                    size_t outlen);

/* 1 if the comma-separated list `value` holds `token` (case-insensitive,
 * e.g. token "upgrade" in "keep-alive, Upgrade"), else 0. */
int rkc_http_has_token(const char *value, const char *token);

/* Decode a complete chunked body in place: buf[0..len) holds the chunks
 * as received (from just after the head to the end of the stream).
 * Returns 0 with the decoded size in *out_len, or -1 with a static reason
 * in *err_desc if the body is malformed or cut short. Chunk extensions
 * are skipped; trailers are ignored. */
int rkc_http_dechunk(char *buf, size_t len, size_t *out_len, const char **err_desc);

/* Is the response in buf[0..len) complete before the end of the stream?
 * Only when Content-Length says so: a server should close after
 * "Connection: close", but we need not wait for it. 1 or 0. */
int rkc_http_complete(const char *buf, size_t len);

/* A whole response in buf[0..len) (everything read until the end of the
 * stream, or until rkc_http_complete): returns its status with the body
 * at buf[*body_off..*body_off + *body_len) (a chunked body is decoded in
 * place; a Content-Length cuts what follows), or -1 with a reason in err
 * (if errlen > 0). */
int rkc_http_response(char *buf, size_t len, size_t *body_off, size_t *body_len,
                      char *err, size_t errlen);

/* Check the head of the server's answer to a WebSocket upgrade: 101,
 * "Upgrade: websocket", "Connection: Upgrade", Sec-WebSocket-Accept equal
 * to `accept`, Sec-WebSocket-Protocol equal to `subprotocol` (NULL: none
 * was offered, so none may come back), and no extension. Returns 0, or
 * -1 with a reason in err (if errlen > 0). */
int rkc_http_upgrade_check(const char *head, size_t head_len, const char *accept,
                           const char *subprotocol, char *err, size_t errlen);

#endif
