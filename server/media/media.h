/*
 * media — turning an uploaded photo into bytes that are safe to store and
 * serve: type check, full decode, metadata removal, orientation, thumbnail.
 *
 * What comes out is never the bytes that came in. media_sanitize() decides
 * the type from the content (magic bytes; never the file name or the
 * client's claim), decodes every pixel with libjpeg-turbo or libpng, and
 * encodes a new image from those pixels. So nothing that is not pixels can
 * survive: no EXIF (GPS position, camera serial, maker notes, embedded
 * thumbnail), no XMP, no ICC profile, no comments or text chunks, and no
 * bytes after the end of the image (a JPEG or PNG followed by HTML comes
 * out as a plain image; the HTML is gone). The EXIF Orientation tag is read
 * first and applied to the pixels, so the output is the right way up with
 * no tag needed.
 *
 * Decisions:
 *  - Accepted: JPEG and PNG only. Everything else (text, SVG, GIF, WebP,
 *    video...) is refused with RK_ERR_INVALID "only JPEG and PNG photos
 *    are accepted".
 *  - HEIC/HEIF (an ISO-BMFF "ftyp" box with a heic, heix, heim, heis, hevc,
 *    hevx, mif1 or msf1 brand; what iPhones send by default) is refused
 *    with RK_ERR_INVALID and a message that tells the user what to do.
 *    Without a HEIF decoder we can neither check nor re-encode the image,
 *    and removing its metadata by editing the container is not something
 *    we can do reliably (EXIF and XMP items, thumbnails and derived images
 *    are all separate items), so a HEIC file is never stored.
 *  - JPEG in, JPEG out (quality lim->jpeg_quality, 4:2:0, grayscale stays
 *    grayscale; CMYK is converted to RGB). PNG in, PNG out, 8 bits per
 *    channel (16-bit input is scaled down, palettes and transparency are
 *    expanded), keeping only sRGB, gAMA and cHRM besides the image data.
 *    Thumbnails are always JPEG (transparency composited on white).
 *  - A damaged or incomplete image is refused, also when the decoder could
 *    have guessed the rest: libjpeg's "premature end" and "corrupt data"
 *    warnings are treated as errors, as is any libpng error.
 *  - Size limits are checked before anything large is allocated: input
 *    bytes, pixels (width x height) and the longer side. They are
 *    RK_ERR_INVALID, not RK_ERR_EXHAUSTED: sending the same photo again
 *    will never succeed, so the client must not be told to retry.
 *  - Bytes after the end of a complete image (Android "motion photos"
 *    append a video there, polyglots append HTML) are dropped, not
 *    refused: the image itself is whole. A file whose image data runs
 *    into something else is damaged, and refused.
 *  - The output may be larger than the input (a heavily compressed JPEG
 *    re-encoded at quality 90); storage quotas apply to the output.
 *
 * Errors: every failure returns an rk_err code and sets st->msg to a static
 * English message that is safe to show the user; st->field is left NULL
 * (the caller knows which request field carried the photo). Decoder
 * details go to the debug log only (event MEDIA-REJECT), never to the
 * client. Out of memory aborts, as everywhere (util/mem.h).
 *
 * Threads: no global state. Any number of threads may call media_* at the
 * same time on different inputs. Each call is CPU- and memory-heavy: the
 * peak is about 6 to 9 bytes per pixel (the decoded image plus its rotated
 * copy or the encoder's buffers; a progressive JPEG's coefficients), so
 * some 300-450 MB and a second or two of CPU at the 50-megapixel default.
 * Run it off the lws service thread and bound how many run at once.
 */
#ifndef RK_MEDIA_MEDIA_H
#define RK_MEDIA_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* What the first bytes of a file say it is. */
enum media_type {
	MEDIA_UNKNOWN = 0, /* binary we do not recognise */
	MEDIA_JPEG,        /* FF D8 FF */
	MEDIA_PNG,         /* 89 50 4E 47 0D 0A 1A 0A */
	MEDIA_HEIC,        /* ftyp box with a HEIF brand */
	MEDIA_SVG_OR_TEXT, /* markup (SVG, HTML, XML) or plain text */
};

/* Classify b[0..n) by its leading bytes only; does not validate the rest.
 * b may be NULL when n is 0. */
enum media_type media_sniff(const uint8_t *b, size_t n);

/* "image/jpeg" or "image/png" for the two accepted types, NULL otherwise. */
const char *media_type_mime(enum media_type t);

/* Limits and settings for one media_sanitize() call. Fill with
 * media_limits_init() and change what you need. */
struct media_limits {
	size_t max_bytes;    /* input size; larger input is refused */
	uint64_t max_pixels; /* width x height of the decoded image */
	uint32_t max_side;   /* the longer side (either orientation) */
	uint32_t thumb_side; /* the thumbnail's longer side, at most */
	int jpeg_quality;    /* 1..100, for JPEG output and thumbnails */
};

#define MEDIA_DEFAULT_MAX_BYTES  ((size_t)32 * 1024 * 1024)
#define MEDIA_DEFAULT_MAX_PIXELS ((uint64_t)50 * 1000 * 1000)
#define MEDIA_DEFAULT_MAX_SIDE   20000u
#define MEDIA_DEFAULT_THUMB_SIDE 320u
#define MEDIA_DEFAULT_QUALITY    90

/* Set *lim to the defaults above. */
void media_limits_init(struct media_limits *lim);

/* An encoded image. `data` is heap memory owned by the struct; release it
 * with media_image_fini(). `mime` is static. */
struct media_image {
	enum media_type type; /* MEDIA_JPEG or MEDIA_PNG */
	uint32_t width, height;
	uint8_t *data;
	size_t len;
	const char *mime;
};

/*
 * Check, decode, orient and re-encode the photo in[0..n).
 *
 * in:    the uploaded bytes; only read, not kept.
 * lim:   limits; NULL means media_limits_init() defaults. A 0 or a
 *        quality outside 1..100 means the default; max_side is capped at
 *        65500, the most JPEG can hold.
 * out:   on success, the clean image (same type as the input, oriented
 *        width/height). Always initialised, also on failure, so
 *        media_image_fini() is always safe.
 * thumb: may be NULL. On success, a JPEG whose longer side is at most
 *        lim->thumb_side (never enlarged), made from the oriented pixels.
 * st:    may be NULL; on failure gets the code and a static message.
 *
 * Returns RK_OK; RK_ERR_INVALID for anything wrong with the photo (wrong
 * type, HEIC, damaged, too large); RK_ERR_INTERNAL if encoding failed.
 * On failure out and thumb hold nothing.
 */
int media_sanitize(const uint8_t *in, size_t n, const struct media_limits *lim,
                   struct media_image *out, struct media_image *thumb,
                   struct rk_status *st);

/* Free m->data and zero *m. NULL and zeroed structs are fine. */
void media_image_fini(struct media_image *m);

#endif
