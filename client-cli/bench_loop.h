/*
 * The bench's event loop inside: shared by bench_net.c (the loop, TCP,
 * TLS, reading and writing bytes) and bench_ws.c (WebSocket frames, the
 * upgrade answer, the login or resume). Not for the scenarios: they use
 * bench.h.
 */
#ifndef BENCH_LOOP_H
#define BENCH_LOOP_H

#include "bench.h"

#define IN_CHUNK ((size_t)16384)
#define MAX_HEAD ((size_t)16384)

struct bench_loop {
	struct bench_target *t;
	struct bench_cbs cbs;
	int ep;
	int window;
	struct bconn **c;
	size_t n, cap;
	uint32_t *q;        /* indices waiting for a handshake slot */
	size_t q_head, q_n, q_cap;
	size_t handshaking;
	int64_t next_sweep;
};

/* bench_net.c */
/* Grow *buf to hold need bytes (aborts when out of memory). */
void bn_ensure(uint8_t **buf, size_t *cap, size_t need);
/* Write what is queued on c. 0, or -1 when the connection failed. */
int bn_flush(struct bconn *c);
/* The connection failed: why (with OpenSSL's reason), closed callback. */
void bn_fail(struct bconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* c no longer counts as handshaking. */
void bn_hs_end(struct bconn *c);
/* Free the socket and TLS; c keeps its buffers for reuse. */
void bn_release(struct bconn *c, int graceful);

/* bench_ws.c */
/* The answer to the upgrade request in c->in, then the frames after it. */
void bws_upgrade_answer(struct bconn *c);
/* Handle the complete frames in c->in. */
void bws_frames(struct bconn *c);
/* Queue a control frame (close, pong). */
void bws_send_control(struct bconn *c, int opcode, const uint8_t *payload, size_t len);

#endif
