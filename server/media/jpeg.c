/*
 * JPEG through libjpeg-turbo: decode everything, encode from pixels.
 *
 * libjpeg reports errors by calling err->error_exit, whose default prints
 * and calls exit(). Ours records the failure and longjmp()s back to the
 * function that called setjmp(); that function never touches its own
 * locals after the jump - everything the jump must not lose (the libjpeg
 * object, the buffers to free) lives in a struct in the caller's frame,
 * which is what C11 7.13.2.1 asks for without a volatile on every local.
 *
 * libjpeg also "recovers" from damage with warnings (a truncated file is
 * padded with a fake end-of-image and decodes as grey). We refuse those
 * instead: a clinical photo that is partly invented is worse than none.
 * Warnings that only concern metadata are let through; pixels are intact.
 *
 * Resource bounds, all set before the decoder allocates: the declared
 * dimensions (media_check_size), libjpeg's own memory (max_memory_to_use,
 * which bounds the whole-image coefficient buffers of a progressive file),
 * and the number of progressive scans (a small file with thousands of
 * scans costs minutes of CPU).
 */
#include "media/internal.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "util/log.h"
#include "util/mem.h"

#define MAX_SCANS   256
#define EXIF_PREFIX "Exif\0\0"

struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	int code;
	const char *msg;
};

/* A refused upload is routine (debug); failing to encode our own pixels
 * is a bug (error). libjpeg's text holds no image content. */
static void
log_failure(j_common_ptr c)
{
	char buf[JMSG_LENGTH_MAX];
	int level = c->is_decompressor ? LOG_DEBUG : LOG_ERROR;

	if (level > log_threshold)
		return;
	(*c->err->format_message)(c, buf);
	LOG(level, c->is_decompressor ? "MEDIA-REJECT" : "MEDIA-ENCODE-FAIL",
	    "codec=jpeg detail=\"%s\"", buf);
}

static void
on_error(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;
	int code = c->err->msg_code;

	log_failure(c);
	e->code = RK_ERR_INVALID;
	e->msg = media_msg_damaged;
	if (!c->is_decompressor) {
		/* Compressing our own pixels failed: a bug, not the user's. */
		e->code = RK_ERR_INTERNAL;
		e->msg = media_msg_internal;
	} else if (code == JERR_NO_BACKING_STORE ||
	           code == JERR_OUT_OF_MEMORY) {
		/* Over max_memory_to_use: more than the pixel limit implies. */
		e->msg = media_msg_pixels;
	}
	longjmp(e->jb, 1);
}

static bool
benign_warning(int code)
{
	switch (code) {
	case JWRN_JFIF_MAJOR:      /* unknown JFIF version in APP0 */
	case JWRN_ADOBE_XFORM:     /* odd Adobe APP14 transform code */
	case JWRN_BOGUS_ICC:       /* ICC profile: we drop it anyway */
	case JWRN_EXTRANEOUS_DATA: /* junk between segments, not pixels */
		return true;
	default:
		return false;
	}
}

static void
on_message(j_common_ptr c, int level)
{
	/* level < 0 is a warning; higher levels are trace output. */
	if (level < 0 && !benign_warning(c->err->msg_code))
		on_error(c);
}

static void
on_output(j_common_ptr c)
{
	(void)c; /* never print to stderr */
}

static void
on_progress(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;

	if (!c->is_decompressor ||
	    ((j_decompress_ptr)c)->input_scan_number <= MAX_SCANS)
		return;
	LOG_D("MEDIA-REJECT", "codec=jpeg detail=\"more than %d scans\"",
	      MAX_SCANS);
	e->code = RK_ERR_INVALID;
	e->msg = media_msg_damaged;
	longjmp(e->jb, 1);
}

static void
jerr_init(struct jerr *e)
{
	memset(e, 0, sizeof(*e));
	jpeg_std_error(&e->pub);
	e->pub.error_exit = on_error;
	e->pub.emit_message = on_message;
	e->pub.output_message = on_output;
}

/* ---- decode */

struct dec {
	struct jpeg_decompress_struct ci;
	struct jerr err;
	struct jpeg_progress_mgr prog;
	struct media_pixels *out;
	struct rk_status why; /* why media_check_size() refused */
};

static unsigned
find_orientation(j_decompress_ptr ci)
{
	for (jpeg_saved_marker_ptr m = ci->marker_list; m != NULL; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
		    memcmp(m->data, EXIF_PREFIX, 6) == 0)
			return media_exif_orientation(m->data + 6,
			                              m->data_length - 6);
	return 1;
}

/* Adobe CMYK JPEGs store inverted ink values; either way, a plain
 * ink-times-key conversion is good enough for a photo that never should
 * have been CMYK. Works in place: 4 bytes in, 3 out, front to back. */
static void
cmyk_to_rgb(uint8_t *px, size_t npix, bool inverted)
{
	for (size_t i = 0; i < npix; i++) {
		unsigned c = px[i * 4], m = px[i * 4 + 1], y = px[i * 4 + 2],
		         k = px[i * 4 + 3];

		if (!inverted)
			c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
		px[i * 3] = (uint8_t)((c * k + 127) / 255);
		px[i * 3 + 1] = (uint8_t)((m * k + 127) / 255);
		px[i * 3 + 2] = (uint8_t)((y * k + 127) / 255);
	}
}

/* Returns 0, or -1 with d->err set. Calls setjmp: see the file comment. */
static int
decode(struct dec *d, const uint8_t *in, size_t n,
       const struct media_limits *lim)
{
	j_decompress_ptr ci = &d->ci;
	struct media_pixels *out = d->out;
	size_t stride;

	if (setjmp(d->err.jb) != 0)
		return -1;
	jpeg_create_decompress(ci);
	ci->progress = &d->prog;
	jpeg_mem_src(ci, in, (unsigned long)n);
	jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(ci, TRUE);

	if (media_check_size(ci->image_width, ci->image_height, lim, &d->why) !=
	    RK_OK) {
		d->err.code = d->why.err;
		d->err.msg = d->why.msg;
		return -1;
	}
	out->orientation = find_orientation(ci);

	switch (ci->jpeg_color_space) {
	case JCS_GRAYSCALE:
		ci->out_color_space = JCS_GRAYSCALE;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		ci->out_color_space = JCS_CMYK;
		break;
	default:
		ci->out_color_space = JCS_RGB;
		break;
	}
	/* Enough for the coefficient buffers of a progressive image at the
	 * pixel limit with three full-resolution components (2 bytes per
	 * coefficient), plus working room; beyond it libjpeg asks for a
	 * backing store, which we do not have, and fails cleanly. */
	ci->mem->max_memory_to_use =
	    lim->max_pixels < (uint64_t)(LONG_MAX / 16)
	        ? (long)(lim->max_pixels * 8) + 64L * 1024 * 1024
	        : LONG_MAX;
	jpeg_start_decompress(ci);

	out->w = ci->output_width;
	out->h = ci->output_height;
	out->ch = (unsigned)ci->output_components;
	stride = (size_t)out->w * out->ch;
	out->px = rk_malloc(stride * out->h);
	while (ci->output_scanline < ci->output_height) {
		JSAMPROW rows[16];
		JDIMENSION k, left = ci->output_height - ci->output_scanline;

		for (k = 0; k < 16 && k < left; k++)
			rows[k] = out->px + (ci->output_scanline + k) * stride;
		/* 0 rows means the input ran dry; the warning has already
		 * jumped out, this is a second line of defence. */
		if (jpeg_read_scanlines(ci, rows, k) == 0) {
			d->err.code = RK_ERR_INVALID;
			d->err.msg = media_msg_damaged;
			return -1;
		}
	}
	/* Reads on to the end-of-image marker, so damage after the last
	 * row we needed is still caught. */
	jpeg_finish_decompress(ci);

	if (out->ch == 4) {
		cmyk_to_rgb(out->px, (size_t)out->w * out->h,
		            ci->saw_Adobe_marker);
		out->ch = 3;
	}
	return 0;
}

int
media_jpeg_decode(const uint8_t *in, size_t n, const struct media_limits *lim,
                  struct media_pixels *out, struct rk_status *st)
{
	struct dec d;
	int rc;

	memset(&d, 0, sizeof(d));
	memset(out, 0, sizeof(*out));
	jerr_init(&d.err);
	d.ci.err = &d.err.pub;
	d.prog.progress_monitor = on_progress;
	d.out = out;

	rc = decode(&d, in, n, lim);
	jpeg_destroy_decompress(&d.ci);
	if (rc != 0) {
		media_pixels_fini(out);
		return rk_fail(st, d.err.code ? d.err.code : RK_ERR_INVALID,
		               d.err.msg ? d.err.msg : media_msg_damaged, NULL);
	}
	return RK_OK;
}

/* ---- encode, into a buffer that grows with rk_realloc */

struct dst {
	struct jpeg_destination_mgr pub;
	uint8_t *buf;
	size_t cap;
};

static void
dst_init(j_compress_ptr c)
{
	struct dst *d = (struct dst *)c->dest;

	d->pub.next_output_byte = d->buf;
	d->pub.free_in_buffer = d->cap;
}

static boolean
dst_grow(j_compress_ptr c)
{
	struct dst *d = (struct dst *)c->dest;
	size_t old = d->cap;

	/* Called only when the whole buffer is full. */
	d->cap *= 2;
	d->buf = rk_realloc(d->buf, d->cap);
	d->pub.next_output_byte = d->buf + old;
	d->pub.free_in_buffer = d->cap - old;
	return TRUE;
}

static void
dst_term(j_compress_ptr c)
{
	(void)c; /* the length is read from free_in_buffer afterwards */
}

struct enc {
	struct jpeg_compress_struct ci;
	struct jerr err;
	struct dst dst;
};

static int
encode(struct enc *e, const struct media_pixels *p, int quality)
{
	j_compress_ptr ci = &e->ci;
	size_t stride = (size_t)p->w * p->ch;

	if (setjmp(e->err.jb) != 0)
		return -1;
	jpeg_create_compress(ci);
	ci->dest = &e->dst.pub;
	ci->image_width = p->w;
	ci->image_height = p->h;
	ci->input_components = (int)p->ch;
	ci->in_color_space = p->ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(ci);
	jpeg_set_quality(ci, quality, TRUE);
	ci->optimize_coding = TRUE;
	/* The JFIF header jpeg_set_defaults asks for carries only the
	 * version and a 1:1 aspect ratio; nothing else is written. */
	jpeg_start_compress(ci, TRUE);
	while (ci->next_scanline < ci->image_height) {
		JSAMPROW row = p->px + (size_t)ci->next_scanline * stride;

		jpeg_write_scanlines(ci, &row, 1);
	}
	jpeg_finish_compress(ci);
	return 0;
}

int
media_jpeg_encode(const struct media_pixels *p, int quality, uint8_t **data,
                  size_t *len, struct rk_status *st)
{
	struct enc e;
	int rc;

	*data = NULL;
	*len = 0;
	if (p->ch != 1 && p->ch != 3)
		return rk_fail(st, RK_ERR_INTERNAL, media_msg_internal, NULL);
	memset(&e, 0, sizeof(e));
	jerr_init(&e.err);
	e.ci.err = &e.err.pub;
	e.dst.pub.init_destination = dst_init;
	e.dst.pub.empty_output_buffer = dst_grow;
	e.dst.pub.term_destination = dst_term;
	e.dst.cap = (size_t)p->w * p->h * p->ch / 8 + 4096;
	e.dst.buf = rk_malloc(e.dst.cap);

	rc = encode(&e, p, quality);
	if (rc == 0)
		*len = e.dst.cap - e.dst.pub.free_in_buffer;
	jpeg_destroy_compress(&e.ci);
	if (rc != 0) {
		free(e.dst.buf);
		return rk_fail(st, e.err.code ? e.err.code : RK_ERR_INTERNAL,
		               e.err.msg ? e.err.msg : media_msg_internal,
		               NULL);
	}
	*data = e.dst.buf;
	return RK_OK;
}
