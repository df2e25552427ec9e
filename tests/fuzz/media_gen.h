/*
 * Builders of test photos, shared by tests/unit/test_media.c and
 * gen_media_corpus.c (which writes the seed corpus for fuzz_media): JPEGs
 * and PNGs made with libjpeg and libpng, with the metadata a phone (or an
 * attacker) adds spliced in by hand - EXIF with a GPS IFD and an
 * orientation, XMP, ICC, comments with markup, PNG text and time chunks.
 *
 * Every marker string we plant starts with "RK" so a test can look for
 * it in an output. Images are four quadrants: red, green / blue, white.
 * Header-only (static inline) so that both single-file programs can use
 * it; allocation failure aborts; buffers are malloc'd, free(b.p).
 */
#ifndef RK_TESTS_MEDIA_GEN_H
#define RK_TESTS_MEDIA_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

struct buf {
	uint8_t *p;
	size_t n;
};

static inline void
put(struct buf *b, const void *d, size_t n)
{
	b->p = realloc(b->p, b->n + n);
	if (b->p == NULL)
		abort();
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

/* An unsigned of `size` bytes, little- or big-endian. */
static inline void
putn(struct buf *b, uint32_t v, int size, int le)
{
	for (int i = 0; i < size; i++) {
		uint8_t x = (uint8_t)(v >> 8 * (le ? i : size - 1 - i));
		put(b, &x, 1);
	}
}

static const uint8_t quad_rgb[4][3] = {
    {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

static inline int
quadrant(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	return (y >= h / 2) * 2 + (x >= w / 2);
}

#define MANY_SCANS (2 + 2 * 3 * 63)

/* A legal but absurd progressive script for 3 components: every AC
 * coefficient of every component in a scan of its own, twice (a first
 * scan and a refinement). */
static inline void
many_scans(jpeg_scan_info *s)
{
	for (int pass = 0, n = 0; pass < 2; pass++) {
		s[n++] = (jpeg_scan_info){3, {0, 1, 2, 0}, 0, 0, pass, !pass};
		for (int c = 0; c < 3; c++)
			for (int k = 1; k < 64; k++)
				s[n++] = (jpeg_scan_info){
				    1, {c, 0, 0, 0}, k, k, pass, !pass};
	}
}

/* comps 1 (gray), 3 (RGB) or 4 (CMYK); progressive 0 (baseline), 1
 * (libjpeg's usual script) or 2 (MANY_SCANS scans, comps 3 only). */
static inline struct buf
make_jpeg(uint32_t w, uint32_t h, int comps, int progressive)
{
	static jpeg_scan_info scans[MANY_SCANS];
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL;
	unsigned long outlen = 0;
	uint8_t *row = malloc((size_t)w * comps);
	struct buf b = {0};

	ci.err = jpeg_std_error(&err);
	jpeg_create_compress(&ci);
	jpeg_mem_dest(&ci, &out, &outlen);
	ci.image_width = w, ci.image_height = h, ci.input_components = comps;
	ci.in_color_space = comps == 1   ? JCS_GRAYSCALE
	                    : comps == 3 ? JCS_RGB
	                                 : JCS_CMYK;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, 95, TRUE);
	if (progressive == 1)
		jpeg_simple_progression(&ci);
	if (progressive == 2) {
		many_scans(scans);
		ci.scan_info = scans, ci.num_scans = MANY_SCANS;
	}
	jpeg_start_compress(&ci, TRUE);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			int q = quadrant(x, y, w, h);
			/* CMYK as Adobe stores it, inverted: C, M, Y are R, G,
			 * B and K = 0 is 255. */
			uint8_t v[4] = {quad_rgb[q][0], quad_rgb[q][1],
			                quad_rgb[q][2], 255};

			if (comps == 1)
				v[0] = (uint8_t)(q * 85);
			memcpy(row + (size_t)x * comps, v, (size_t)comps);
		}
		jpeg_write_scanlines(&ci, &row, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	put(&b, out, outlen);
	free(out), free(row);
	return b;
}

/* One IFD entry; a SHORT value sits in the value field's first bytes. */
static inline void
ifd_entry(struct buf *t, unsigned tag, unsigned type, uint32_t count,
          uint32_t value, int le)
{
	putn(t, tag, 2, le), putn(t, type, 2, le), putn(t, count, 4, le);
	putn(t, type == 3 && !le ? value << 16 : value, 4, le);
}

/* A TIFF (EXIF) body: IFD0 {Make, Orientation, GPS IFD pointer}, then a
 * GPS IFD {LatitudeRef, Latitude, AreaInformation}, then their data. */
static inline struct buf
make_tiff(unsigned orientation, int le)
{
	struct buf t = {0};
	const uint32_t gps = 8 + 2 + 3 * 12 + 4, data = gps + 2 + 3 * 12 + 4;

	put(&t, le ? "II" : "MM", 2);
	putn(&t, 42, 2, le), putn(&t, 8, 4, le);
	putn(&t, 3, 2, le);
	ifd_entry(&t, 0x010f, 2, 10, data + 24, le);
	ifd_entry(&t, 0x0112, 3, 1, orientation, le);
	ifd_entry(&t, 0x8825, 4, 1, gps, le);
	putn(&t, 0, 4, le);
	putn(&t, 3, 2, le);
	ifd_entry(&t, 0x0001, 2, 2, le ? 'N' : (uint32_t)'N' << 24, le);
	ifd_entry(&t, 0x0002, 5, 3, data, le);
	ifd_entry(&t, 0x001c, 7, 16, data + 34, le);
	putn(&t, 0, 4, le);
	for (int i = 0; i < 3; i++) /* 35/1 41/1 0/1 */
		putn(&t,
		     i == 0   ? 35
		     : i == 1 ? 41
		              : 0,
		     4, le),
		    putn(&t, 1, 4, le);
	put(&t, "RKCAMERA1\0", 10);
	put(&t, "RKGPS139.6522E\0\0", 16);
	return t;
}

/* Append a JPEG marker segment: FF m, length, prefix, body. */
static inline void
put_segment(struct buf *b, int marker, const char *prefix, size_t plen,
            const struct buf *body)
{
	putn(b, 0xff00u | (unsigned)marker, 2, 0);
	putn(b, (uint32_t)(2 + plen + (body ? body->n : 0)), 2, 0);
	put(b, prefix, plen);
	if (body != NULL)
		put(b, body->p, body->n);
}

/* A JPEG carrying Exif (GPS, orientation), XMP, ICC and a comment with
 * markup, as a phone or an attacker would send. */
static inline struct buf
make_tagged_jpeg(uint32_t w, uint32_t h, unsigned orientation, int le)
{
	struct buf img = make_jpeg(w, h, 3, 0),
	           tiff = make_tiff(orientation, le);
	struct buf xmp = {0}, out = {0};

	put(&out, img.p, 2); /* SOI, then what a phone would put there */
	put(&xmp, "<x:xmpmeta>RKXMP</x:xmpmeta>", 28);
	put_segment(&out, 0xe1, "Exif\0", 6, &tiff);
	put_segment(&out, 0xe1, "http://ns.adobe.com/xap/1.0/", 29, &xmp);
	put_segment(&out, 0xe2, "ICC_PROFILE\0\1\1RKICC", 19, NULL);
	put_segment(&out, 0xfe, "<html><script>alert(1)</script>", 31, NULL);
	put(&out, img.p + 2, img.n - 2);
	free(img.p), free(tiff.p), free(xmp.p);
	return out;
}

static inline void
png_put(png_structp png, png_bytep d, size_t n)
{
	put(png_get_io_ptr(png), d, n);
}

/* A w x h PNG: RGB (quadrants, 8 or 16 bit), RGBA (left half
 * transparent), gray or palette with tRNS (bottom left transparent);
 * eXIf with an orientation unless 0, and always gAMA plus text and time
 * chunks that must not survive. */
static inline struct buf
make_png(uint32_t w, uint32_t h, int type, int depth, unsigned orientation,
         int interlace)
{
	png_structp png =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	size_t bps = depth / 8, ch = type == PNG_COLOR_TYPE_RGB    ? 3
	                             : type == PNG_COLOR_TYPE_RGBA ? 4
	                                                           : 1;
	uint8_t *px = calloc((size_t)w * h, ch * bps);
	png_bytep *rows = malloc(h * sizeof(*rows));
	png_text text[3] = {
	    {PNG_TEXT_COMPRESSION_NONE, "Comment", "RKTEXT <script>", 0, 0,
	     NULL, NULL},
	    {PNG_TEXT_COMPRESSION_zTXt, "Location", "RKZTXT", 0, 0, NULL, NULL},
	    {PNG_ITXT_COMPRESSION_NONE, "XML:com.adobe.xmp", "RKITXT", 0, 0, "",
	     ""}};
	png_time t = {2026, 11, 22, 3, 51, 38};
	png_color pal[4] = {
	    {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
	png_byte alpha[4] = {255, 255, 0, 255};
	struct buf b = {0}, tiff = make_tiff(orientation, 0);

	for (uint32_t y = 0; y < h; y++) {
		rows[y] = px + (size_t)y * w * ch * bps;
		for (uint32_t x = 0; x < w; x++) {
			int q = quadrant(x, y, w, h);
			uint8_t *p = rows[y] + (size_t)x * ch * bps;

			for (size_t c = 0; c < ch * bps; c++)
				p[c] = ch == 1       ? (uint8_t)q
				       : c / bps < 3 ? quad_rgb[q][c / bps]
				                     : (x < w / 2 ? 0 : 255);
		}
	}
	png_set_write_fn(png, &b, png_put, NULL);
	png_set_IHDR(png, info, w, h, depth, type,
	             interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (type == PNG_COLOR_TYPE_PALETTE) {
		png_set_PLTE(png, info, pal, 4);
		png_set_tRNS(png, info, alpha, 4, NULL);
	}
	png_set_gAMA(png, info, 0.45455);
	png_set_text(png, info, text, 3);
	png_set_tIME(png, info, &t);
	if (orientation != 0)
		png_set_eXIf_1(png, info, (png_uint_32)tiff.n, tiff.p);
	png_write_info(png, info);
	png_write_image(png, rows);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(px), free(rows), free(tiff.p);
	return b;
}

#endif
