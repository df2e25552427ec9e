/*
 * Shared by media's own files; not part of its API.
 *
 * The pipeline is: sniff (sniff.c) -> decode to struct media_pixels
 * (jpeg.c, png.c, which also pick up the EXIF orientation via exif.c) ->
 * orient and scale (pixels.c) -> encode (jpeg.c, png.c). media.c strings
 * them together; limits.c holds the limits and the messages users see.
 */
#ifndef RK_MEDIA_INTERNAL_H
#define RK_MEDIA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/media.h"
#include "util/err.h"

/* The messages a user may see, one place so tests can compare them. */
extern const char media_msg_damaged[];
extern const char media_msg_type[];
extern const char media_msg_heic[];
extern const char media_msg_empty[];
extern const char media_msg_bytes[];
extern const char media_msg_pixels[];
extern const char media_msg_internal[];

/* The colour description a PNG carried, written back unchanged. */
struct media_colour {
	bool has_srgb, has_gama, has_chrm;
	int srgb_intent;
	int32_t gama;    /* png_fixed_point, 100000 = 1.0 */
	int32_t chrm[8]; /* white x,y, red x,y, green x,y, blue x,y */
};

/*
 * A decoded image: 8 bits per sample, interleaved, rows packed with no
 * padding. ch is 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
 * px is owned (w * h * ch bytes). orientation is the EXIF value 1..8 that
 * the source asked for (1 when absent or invalid), not yet applied.
 */
struct media_pixels {
	uint8_t *px;
	uint32_t w, h;
	unsigned ch;
	unsigned orientation;
	struct media_colour colour;
};

void media_pixels_fini(struct media_pixels *p);

/* A copy of *in (or the defaults when in is NULL) with every unusable
 * setting replaced by its default. */
void media_limits_fix(const struct media_limits *in, struct media_limits *lim);

/* RK_OK if a w x h image is within lim; else RK_ERR_INVALID in st. */
int media_check_size(uint32_t w, uint32_t h, const struct media_limits *lim,
                     struct rk_status *st);

/* The EXIF orientation (1..8) in a TIFF structure (what follows
 * "Exif\0\0" in a JPEG APP1 segment, or a PNG eXIf chunk). Reads only the
 * first IFD, bounds-checked; 1 if the tag is absent or anything is off. */
unsigned media_exif_orientation(const uint8_t *tiff, size_t n);

/* Decode the whole image; on success *out holds the pixels. On failure
 * *out is empty and st says why. Dimensions are checked against lim
 * before the pixel buffer or the decoder's buffers are allocated. */
int media_jpeg_decode(const uint8_t *in, size_t n,
                      const struct media_limits *lim, struct media_pixels *out,
                      struct rk_status *st);
int media_png_decode(const uint8_t *in, size_t n,
                     const struct media_limits *lim, struct media_pixels *out,
                     struct rk_status *st);

/* Encode p (ch 1 or 3 for JPEG; 1..4 for PNG) into a new heap buffer
 * *data (owned by the caller, free()) of *len bytes. No metadata is
 * written except the JFIF header (JPEG) or p->colour (PNG). */
int media_jpeg_encode(const struct media_pixels *p, int quality, uint8_t **data,
                      size_t *len, struct rk_status *st);
int media_png_encode(const struct media_pixels *p, uint8_t **data, size_t *len,
                     struct rk_status *st);

/* Apply p->orientation to the pixels (replacing p->px, swapping w and h
 * for 5..8) and set it to 1. */
void media_pixels_orient(struct media_pixels *p);

/* A copy of src scaled by area averaging so that its longer side is at
 * most max_side (never enlarged), with alpha composited on white: dst->ch
 * is 1 for gray sources, 3 otherwise. dst must be empty; owns its px. */
void media_pixels_thumb(const struct media_pixels *src, uint32_t max_side,
                        struct media_pixels *dst);

#endif
