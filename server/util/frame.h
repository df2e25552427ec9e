/*
 * frame — one encoded WebSocket message, reference-counted so that the
 * same bytes can be queued to every recipient without a copy.
 *
 * The payload starts FRAME_HEADROOM bytes into the buffer, leaving room
 * for the transport's header (libwebsockets' LWS_PRE; net/ checks at
 * compile time that it fits). Service thread only: the count is not atomic.
 */
#ifndef RK_UTIL_FRAME_H
#define RK_UTIL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADROOM 16

struct frame {
	int refs;
	size_t len;
	uint8_t buf[]; /* FRAME_HEADROOM + len */
};

/* A frame with room for `len` payload bytes and one reference. */
struct frame *frame_new(size_t len);

static inline uint8_t *
frame_payload(struct frame *f)
{
	return f->buf + FRAME_HEADROOM;
}

static inline struct frame *
frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

/* Drop one reference and NULL the caller's pointer; frees at zero. */
void frame_unref(struct frame **fp);

#endif
