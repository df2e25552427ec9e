/*
 * PNG through libpng: decode everything, encode from pixels.
 *
 * Errors: libpng calls our error function, which records the failure and
 * png_longjmp()s to the setjmp(png_jmpbuf()) in the function doing the
 * work. As in jpeg.c, that function keeps nothing in its own locals that
 * it needs after the jump: the libpng objects and every buffer to free
 * live in a struct in the caller's frame. Warnings are not printed.
 *
 * Chunks: every ancillary chunk is discarded unread except the four we
 * use - gAMA, cHRM and sRGB (written back: they change how the pixels
 * look, and carry nothing about the patient) and eXIf (for its
 * orientation only). So text (tEXt, zTXt, iTXt), tIME, iCCP and private
 * chunks are never even decompressed, and an eXIf after the image data is
 * read too. tRNS and PLTE are part of the pixels and are applied.
 *
 * Resource bounds: the IHDR dimensions are checked before any row is
 * allocated; libpng's own per-chunk allocation and cached-chunk count are
 * capped. A truncated file ends in an error from our read function, and
 * png_read_end() insists on reaching IEND.
 */
#include "media/internal.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "util/log.h"
#include "util/mem.h"

struct pctx {
	png_structp png;
	png_infop info, end;
	/* reader */
	const uint8_t *in;
	size_t n, off;
	/* writer */
	uint8_t *buf;
	size_t len, cap;
	/* rows for png_read_image / png_write_image */
	png_bytep *rows;
	bool writing;
	int code;
	const char *msg;
	struct rk_status why;
};

static void
on_error(png_structp png, png_const_charp text)
{
	struct pctx *c = png_get_error_ptr(png);

	/* A refused upload is routine; failing to encode our own pixels is
	 * a bug. libpng's text holds no image content. */
	if (c->writing)
		LOG_E("MEDIA-ENCODE-FAIL", "codec=png detail=\"%s\"", text);
	else
		LOG_D("MEDIA-REJECT", "codec=png detail=\"%s\"", text);
	if (c->msg == NULL) {
		c->code = c->writing ? RK_ERR_INTERNAL : RK_ERR_INVALID;
		c->msg = c->writing ? media_msg_internal : media_msg_damaged;
	}
	png_longjmp(png, 1);
}

static void
on_warning(png_structp png, png_const_charp text)
{
	(void)png;
	(void)text; /* never print; a warning means libpng coped */
}

static void
on_read(png_structp png, png_bytep data, size_t len)
{
	struct pctx *c = png_get_io_ptr(png);

	if (len > c->n - c->off)
		png_error(png, "truncated");
	memcpy(data, c->in + c->off, len);
	c->off += len;
}

static void
on_write(png_structp png, png_bytep data, size_t len)
{
	struct pctx *c = png_get_io_ptr(png);

	if (len > c->cap - c->len) {
		while (len > c->cap - c->len)
			c->cap *= 2;
		c->buf = rk_realloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
}

static void
on_flush(png_structp png)
{
	(void)png;
}

static void
rows_for(struct pctx *c, uint8_t *px, uint32_t h, size_t stride)
{
	c->rows = rk_malloc((size_t)h * sizeof(*c->rows));
	for (uint32_t y = 0; y < h; y++)
		c->rows[y] = px + (size_t)y * stride;
}

static void
read_colour(struct pctx *c, struct media_colour *col)
{
	png_fixed_point v[8];

	if (png_get_sRGB(c->png, c->info, &col->srgb_intent) != 0)
		col->has_srgb = true;
	if (png_get_gAMA_fixed(c->png, c->info, &v[0]) != 0) {
		col->has_gama = true;
		col->gama = v[0];
	}
	if (png_get_cHRM_fixed(c->png, c->info, &v[0], &v[1], &v[2], &v[3],
	                       &v[4], &v[5], &v[6], &v[7]) != 0) {
		col->has_chrm = true;
		for (int i = 0; i < 8; i++)
			col->chrm[i] = v[i];
	}
}

static unsigned
read_orientation(struct pctx *c, png_infop info)
{
	png_uint_32 len = 0;
	png_bytep exif = NULL;

	if (png_get_eXIf_1(c->png, info, &len, &exif) == 0 || exif == NULL)
		return 1;
	return media_exif_orientation(exif, len);
}

/* Returns 0, or -1 with c->code/msg set. Calls setjmp: see the top. */
static int
decode(struct pctx *c, const struct media_limits *lim, struct media_pixels *out)
{
	static const png_byte keep[] = "gAMA\0cHRM\0sRGB\0eXIf";
	png_uint_32 w, h;
	int depth, type;

	if (setjmp(png_jmpbuf(c->png)) != 0)
		return -1;
	png_set_read_fn(c->png, c, on_read);
	/* libpng's own size limit (a million pixels a side) would refuse a
	 * big IHDR as an error like any other; lift it so that the user
	 * hears "too many pixels" from our check below, which runs before
	 * libpng allocates its row buffers. */
	png_set_user_limits(c->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
	png_set_chunk_cache_max(c->png, 64);
	png_set_chunk_malloc_max(c->png, 1024 * 1024);
	/* Discard every chunk but the critical ones and tRNS, then take
	 * back the four we read. */
	png_set_keep_unknown_chunks(c->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
	png_set_keep_unknown_chunks(c->png, PNG_HANDLE_CHUNK_AS_DEFAULT, keep,
	                            4);
	png_read_info(c->png, c->info);

	png_get_IHDR(c->png, c->info, &w, &h, &depth, &type, NULL, NULL, NULL);
	if (media_check_size(w, h, lim, &c->why) != RK_OK) {
		c->code = c->why.err;
		c->msg = c->why.msg;
		return -1;
	}
	read_colour(c, &out->colour);
	out->orientation = read_orientation(c, c->info);

	/* Everything to 8-bit gray, gray+alpha, RGB or RGBA. */
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(c->png);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(c->png);
	if (png_get_valid(c->png, c->info, PNG_INFO_tRNS) != 0)
		png_set_tRNS_to_alpha(c->png);
	if (depth == 16)
		png_set_scale_16(c->png);
	png_set_interlace_handling(c->png);
	png_read_update_info(c->png, c->info);

	out->w = w;
	out->h = h;
	out->ch = png_get_channels(c->png, c->info);
	if (out->ch < 1 || out->ch > 4 ||
	    png_get_rowbytes(c->png, c->info) != (size_t)w * out->ch)
		png_error(c->png, "unexpected row layout");
	out->px = rk_malloc((size_t)w * h * out->ch);
	rows_for(c, out->px, h, (size_t)w * out->ch);
	png_read_image(c->png, c->rows);
	png_read_end(c->png, c->end);
	if (out->orientation == 1)
		out->orientation = read_orientation(c, c->end);
	return 0;
}

int
media_png_decode(const uint8_t *in, size_t n, const struct media_limits *lim,
                 struct media_pixels *out, struct rk_status *st)
{
	struct pctx c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	c.in = in;
	c.n = n;
	c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error,
	                               on_warning);
	if (c.png != NULL)
		c.info = png_create_info_struct(c.png);
	if (c.info != NULL)
		c.end = png_create_info_struct(c.png);
	if (c.end != NULL)
		rc = decode(&c, lim, out);
	else
		c.code = RK_ERR_INTERNAL, c.msg = media_msg_internal;
	png_destroy_read_struct(&c.png, &c.info, &c.end);
	free(c.rows);
	if (rc != 0) {
		media_pixels_fini(out);
		return rk_fail(st, c.code ? c.code : RK_ERR_INVALID,
		               c.msg ? c.msg : media_msg_damaged, NULL);
	}
	return RK_OK;
}

/* Returns 0, or -1 with c->code/msg set. Calls setjmp: see the top. */
static int
encode(struct pctx *c, const struct media_pixels *p)
{
	static const int types[] = {0, PNG_COLOR_TYPE_GRAY,
	                            PNG_COLOR_TYPE_GRAY_ALPHA,
	                            PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
	const struct media_colour *col = &p->colour;

	if (setjmp(png_jmpbuf(c->png)) != 0)
		return -1;
	png_set_write_fn(c->png, c, on_write, on_flush);
	png_set_IHDR(c->png, c->info, p->w, p->h, 8, types[p->ch],
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
	             PNG_FILTER_TYPE_DEFAULT);
	/* sRGB implies its own gamma and chromaticities; otherwise the
	 * explicit values, as they came. */
	if (col->has_srgb) {
		png_set_sRGB(c->png, c->info, col->srgb_intent);
	} else {
		if (col->has_gama)
			png_set_gAMA_fixed(c->png, c->info, col->gama);
		if (col->has_chrm)
			png_set_cHRM_fixed(
			    c->png, c->info, col->chrm[0], col->chrm[1],
			    col->chrm[2], col->chrm[3], col->chrm[4],
			    col->chrm[5], col->chrm[6], col->chrm[7]);
	}
	png_write_info(c->png, c->info);
	rows_for(c, p->px, p->h, (size_t)p->w * p->ch);
	png_write_image(c->png, c->rows);
	png_write_end(c->png, NULL);
	return 0;
}

int
media_png_encode(const struct media_pixels *p, uint8_t **data, size_t *len,
                 struct rk_status *st)
{
	struct pctx c;
	int rc = -1;

	*data = NULL;
	*len = 0;
	if (p->ch < 1 || p->ch > 4)
		return rk_fail(st, RK_ERR_INTERNAL, media_msg_internal, NULL);
	memset(&c, 0, sizeof(c));
	c.writing = true;
	c.cap = (size_t)p->w * p->h * p->ch / 2 + 4096;
	c.buf = rk_malloc(c.cap);
	c.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error,
	                                on_warning);
	if (c.png != NULL)
		c.info = png_create_info_struct(c.png);
	if (c.info != NULL)
		rc = encode(&c, p);
	png_destroy_write_struct(&c.png, &c.info);
	free(c.rows);
	if (rc != 0) {
		free(c.buf);
		/* Our own pixels failed to encode: a bug, not the user's. */
		return rk_fail(st, RK_ERR_INTERNAL, media_msg_internal, NULL);
	}
	*data = c.buf;
	*len = c.len;
	return RK_OK;
}
