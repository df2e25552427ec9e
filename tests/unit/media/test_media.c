/*
 * Unit tests: media/ (sniffing, sanitising, orientation, thumbnails).
 *
 * Every input is built here (tests/fuzz/media_gen.h: libjpeg and libpng plus
 * hand-made EXIF, HEIC and markup bytes), so the tests need nothing
 * outside the repo.
 * Outputs are checked with an independent decode, not with media's own.
 * The shared fixture photos are checked too when ../shared exists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "media/internal.h"
#include "media/media.h"

#include "../../fuzz/media_gen.h"

/* memmem() is a GNU extension; this is enough for tests. */
static int
contains(const uint8_t *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(p + i, needle, k) == 0)
			return 1;
	return 0;
}

/* Nothing in p[0..n) that came from the metadata or markup we plant (or
 * that a phone writes). Used on the non-pixel parts of outputs only:
 * compressed pixels may hold any short string by chance. */
static void
assert_no_metadata(const uint8_t *p, size_t n)
{
	static const char *const needles[] = {
	    "Exif",  "eXIf",        "GPS",  "RK",      "iPhone",
	    "Apple", "ICC_PROFILE", "http", "<script", "<html",
	    "xmp",   "tEXt",        "zTXt", "iTXt",    "tIME"};

	for (size_t i = 0; i < sizeof(needles) / sizeof(*needles); i++)
		if (contains(p, n, needles[i]))
			fail_msg("output holds \"%s\"", needles[i]);
}

/* The offset of the SOF0 segment of a JPEG we made. */
static size_t
find_sof(const struct buf *j)
{
	size_t i = 2;

	while (i + 9 < j->n && !(j->p[i] == 0xff && j->p[i + 1] == 0xc0))
		i++;
	assert_true(i + 9 < j->n);
	return i;
}

/* ---- checking outputs, independently of media's own decoders */

struct tjerr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
};

static void
tj_exit(j_common_ptr c)
{
	longjmp(((struct tjerr *)c->err)->jb, 1);
}

/* Pixels (*comps per pixel), or NULL if m is not a good JPEG. */
static uint8_t *
decode_jpeg(const struct media_image *m, uint32_t *w, uint32_t *h, int *comps)
{
	struct jpeg_decompress_struct ci;
	struct tjerr e;
	uint8_t *volatile px = NULL;

	ci.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = tj_exit;
	if (setjmp(e.jb)) {
		jpeg_destroy_decompress(&ci);
		free(px);
		return NULL;
	}
	jpeg_create_decompress(&ci);
	jpeg_mem_src(&ci, m->data, m->len);
	jpeg_read_header(&ci, TRUE);
	jpeg_start_decompress(&ci);
	*w = ci.output_width, *h = ci.output_height;
	*comps = ci.output_components;
	px = malloc((size_t)*w * *h * *comps);
	while (ci.output_scanline < ci.output_height) {
		JSAMPROW r = px + (size_t)ci.output_scanline * *w * *comps;
		jpeg_read_scanlines(&ci, &r, 1);
	}
	jpeg_finish_decompress(&ci);
	jpeg_destroy_decompress(&ci);
	return px;
}

/* An accepted JPEG output: only the segments a plain encoder writes
 * (JFIF, tables, frame, scan), nothing after the end of the image, and
 * it decodes to its stated size. Returns the pixels, *comps per pixel. */
static uint8_t *
check_clean_jpeg(const struct media_image *m, int *comps)
{
	const uint8_t *d = m->data;
	size_t i = 2;
	uint32_t w, h;
	int c;
	uint8_t *px;

	assert_int_equal(m->type, MEDIA_JPEG);
	assert_string_equal(m->mime, "image/jpeg");
	for (; i + 4 <= m->len && d[i] == 0xff && d[i + 1] != 0xda;
	     i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]))
		assert_non_null(
		    memchr("\xe0\xdb\xc0\xc2\xc4\xdd", d[i + 1], 6));
	assert_true(i + 4 <= m->len && d[i + 1] == 0xda);
	assert_no_metadata(d, i);
	assert_true(d[m->len - 2] == 0xff && d[m->len - 1] == 0xd9);
	px = decode_jpeg(m, &w, &h, comps != NULL ? comps : &c);
	assert_non_null(px);
	assert_true(w == m->width && h == m->height);
	return px;
}

/* An accepted PNG output: IHDR, IDAT, IEND and colour chunks only, IEND
 * last, and it decodes (libpng's simplified API) to its stated size.
 * Returns the pixels as RGBA. */
static uint8_t *
check_clean_png(const struct media_image *m)
{
	const uint8_t *d = m->data;
	size_t i = 8, n = 0;
	png_image img = {.version = PNG_IMAGE_VERSION};
	uint8_t *px;

	assert_int_equal(m->type, MEDIA_PNG);
	assert_string_equal(m->mime, "image/png");
	for (; i + 12 <= m->len; i += 12 + n) {
		n = (size_t)d[i] << 24 | d[i + 1] << 16 | d[i + 2] << 8 |
		    d[i + 3];
		assert_non_null(strstr(
		    "IHDR IDAT IEND gAMA cHRM sRGB",
		    (char[5]){d[i + 4], d[i + 5], d[i + 6], d[i + 7], 0}));
		if (memcmp(d + i + 4, "IDAT", 4) != 0)
			assert_no_metadata(d + i, 12 + n);
	}
	assert_true(i == m->len && memcmp(d + i - 8, "IEND", 4) == 0);
	assert_true(png_image_begin_read_from_memory(&img, d, m->len));
	assert_true(img.width == m->width && img.height == m->height);
	img.format = PNG_FORMAT_RGBA;
	px = malloc(PNG_IMAGE_SIZE(img));
	assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
	return px;
}

/* The four quadrant colours (top left, top right, bottom left, bottom
 * right) of an RGB (ch 3) or RGBA (ch 4) output. */
static void
check_quadrants(const uint8_t *px, uint32_t w, uint32_t h, int ch,
                const int q[4])
{
	for (int i = 0; i < 4; i++) {
		uint32_t x = (i & 1) ? 3 * w / 4 : w / 4;
		uint32_t y = (i & 2) ? 3 * h / 4 : h / 4;
		const uint8_t *p = px + ((size_t)y * w + x) * ch;

		for (int c = 0; c < 3; c++)
			assert_in_range(p[c], quad_rgb[q[i]][c] > 0 ? 200 : 0,
			                quad_rgb[q[i]][c] > 0 ? 255 : 60);
	}
}

/* ---- running media_sanitize */

static void
expect_refusal(const uint8_t *p, size_t n, const struct media_limits *lim,
               const char *msg)
{
	struct media_image out, thumb;
	struct rk_status st = {0};

	assert_int_equal(media_sanitize(p, n, lim, &out, &thumb, &st),
	                 RK_ERR_INVALID);
	assert_int_equal(st.err, RK_ERR_INVALID);
	if (st.msg != msg) /* the static string itself */
		fail_msg("got \"%s\"", st.msg ? st.msg : "(null)");
	assert_true(out.data == NULL && thumb.data == NULL);
	media_image_fini(&out), media_image_fini(&thumb);
}

/* Sanitise, expect success, check the thumbnail and that the output
 * sanitises again to the same size. */
static void
accept(const uint8_t *p, size_t n, struct media_image *out,
       struct media_image *thumb)
{
	struct media_image again;
	struct rk_status st = {0};

	assert_int_equal(media_sanitize(p, n, NULL, out, thumb, &st), RK_OK);
	assert_true(out->data != NULL && out->len > 0);
	if (thumb != NULL) {
		free(check_clean_jpeg(thumb, NULL));
		assert_true(thumb->width <= 320 && thumb->height <= 320);
		assert_true(thumb->width >= 1 && thumb->height >= 1);
	}
	assert_int_equal(
	    media_sanitize(out->data, out->len, NULL, &again, NULL, &st),
	    RK_OK);
	assert_true(again.width == out->width && again.height == out->height);
	media_image_fini(&again);
}

/* ---- tests */

static void
test_sniff(void **state)
{
	static const struct {
		const char *b;
		size_t n;
		enum media_type t;
	} c[] = {
	    {"\xff\xd8\xff\xe0", 4, MEDIA_JPEG},
	    {"\xff\xd8", 2, MEDIA_UNKNOWN},
	    {"\x89PNG\r\n\x1a\n", 8, MEDIA_PNG},
	    {"\x89PNG\r\n\x1a", 7, MEDIA_UNKNOWN},
	    {"\0\0\0\030ftypheic\0\0\0\0mif1heic", 24, MEDIA_HEIC},
	    {"\0\0\0\030ftypmp42\0\0\0\0isommsf1", 24, MEDIA_HEIC},
	    /* MP4 video; a brand past the box's end is not read */
	    {"\0\0\0\024ftypisom\0\0\0\0mp41heic", 24, MEDIA_UNKNOWN},
	    {"\xef\xbb\xbf  <svg>", 10, MEDIA_SVG_OR_TEXT},
	    {"hello\r\n", 7, MEDIA_SVG_OR_TEXT},
	    {"GIF89a\1\0", 8, MEDIA_UNKNOWN},
	    {"", 0, MEDIA_UNKNOWN},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++)
		assert_int_equal(media_sniff((const uint8_t *)c[i].b, c[i].n),
		                 c[i].t);
	assert_int_equal(media_sniff(NULL, 0), MEDIA_UNKNOWN);
	assert_string_equal(media_type_mime(MEDIA_JPEG), "image/jpeg");
	assert_string_equal(media_type_mime(MEDIA_PNG), "image/png");
	assert_null(media_type_mime(MEDIA_HEIC));
	assert_null(media_type_mime(MEDIA_SVG_OR_TEXT));
}

static void
test_exif_parser(void **state)
{
	/* Damage to a big-endian TIFF with orientation 6: {offset, byte} */
	static const size_t bad[][2] = {
	    {0, 'X'},             /* not II or MM */
	    {3, 43},              /* not 42 */
	    {7, 0xff},            /* IFD0 past the end */
	    {8 + 2 + 12 + 9, 9},  /* 9 is no orientation */
	    {8 + 2 + 12 + 3, 4}}; /* LONG, not SHORT */
	struct buf be = make_tiff(6, 0), le = make_tiff(8, 1);
	(void)state;
	assert_int_equal(media_exif_orientation(be.p, be.n), 6);
	assert_int_equal(media_exif_orientation(le.p, le.n), 8);
	/* cut inside the entries: the entries still there are read */
	assert_int_equal(media_exif_orientation(be.p, 8 + 2 + 2 * 12), 6);
	assert_int_equal(media_exif_orientation(be.p, 8 + 2 + 12), 1);
	assert_int_equal(media_exif_orientation(be.p, 9), 1);
	assert_int_equal(media_exif_orientation(NULL, 0), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		uint8_t was = be.p[bad[i][0]];

		be.p[bad[i][0]] = (uint8_t)bad[i][1];
		assert_int_equal(media_exif_orientation(be.p, be.n), 1);
		be.p[bad[i][0]] = was;
	}
	free(be.p), free(le.p);
}

/* Orientations 1..8 on JPEGs with GPS, XMP, ICC and markup: turned, and
 * all of it gone. Then gray (stays gray), Adobe CMYK (becomes RGB) and
 * progressive JPEGs. */
static void
test_jpeg(void **state)
{
	static const int expect[9][4] = {
	    {0},          {0, 1, 2, 3}, {1, 0, 3, 2},
	    {3, 2, 1, 0}, {2, 3, 0, 1}, {0, 2, 1, 3},
	    {2, 0, 3, 1}, {3, 1, 2, 0}, {1, 3, 0, 2}};
	(void)state;
	for (unsigned o = 1; o <= 11; o++) {
		struct buf in = o <= 8 ? make_tagged_jpeg(64, 32, o, o % 2)
		                       : make_jpeg(64, 32,
		                                   o == 9    ? 1
		                                   : o == 10 ? 4
		                                             : 3,
		                                   o == 11);
		struct media_image out, thumb;
		int comps;
		uint8_t *px;

		accept(in.p, in.n, &out, &thumb);
		assert_int_equal(out.width, o >= 5 && o <= 8 ? 32 : 64);
		assert_int_equal(out.height, o >= 5 && o <= 8 ? 64 : 32);
		assert_int_equal(thumb.width, out.width); /* not enlarged */
		px = check_clean_jpeg(&out, &comps);
		assert_int_equal(comps, o == 9 ? 1 : 3);
		if (o != 9)
			check_quadrants(px, out.width, out.height, 3,
			                expect[o <= 8 ? o : 1]);
		free(px), free(in.p);
		media_image_fini(&out), media_image_fini(&thumb);
	}
}

/* PNG: eXIf orientation applied; text, time and eXIf gone; palettes,
 * 16 bits, interlacing and transparency handled. */
static void
test_png(void **state)
{
	static const struct {
		int type, depth, interlace;
		unsigned orientation;
	} k[] = {{PNG_COLOR_TYPE_RGB, 8, 0, 6},
	         {PNG_COLOR_TYPE_PALETTE, 8, 0, 0},
	         {PNG_COLOR_TYPE_RGB, 16, 0, 3},
	         {PNG_COLOR_TYPE_RGBA, 8, 1, 0},
	         {PNG_COLOR_TYPE_GRAY, 8, 0, 0}};
	(void)state;
	for (size_t i = 0; i < sizeof(k) / sizeof(*k); i++) {
		struct buf in = make_png(64, 32, k[i].type, k[i].depth,
		                         k[i].orientation, k[i].interlace);
		struct media_image out, thumb;
		uint8_t *px;

		assert_true(contains(in.p, in.n, "tEXt"));
		accept(in.p, in.n, &out, &thumb);
		assert_int_equal(out.width, k[i].orientation == 6 ? 32 : 64);
		px = check_clean_png(&out);
		assert_true(contains(out.data, out.len, "gAMA"));
		if (k[i].type == PNG_COLOR_TYPE_RGB)
			check_quadrants(px, out.width, out.height, 4,
			                k[i].orientation == 6
			                    ? (const int[]){2, 0, 3, 1}
			                    : (const int[]){3, 2, 1, 0});
		free(px);
		/* transparent pixels come out white in the thumbnail */
		px = check_clean_jpeg(&thumb, NULL);
		if (k[i].type == PNG_COLOR_TYPE_RGBA) /* top left */
			assert_in_range(px[(3 * 64 + 3) * 3], 240, 255);
		if (k[i].type == PNG_COLOR_TYPE_PALETTE) /* bottom left */
			assert_in_range(px[(28 * 64 + 3) * 3], 240, 255);
		free(px), free(in.p);
		media_image_fini(&out), media_image_fini(&thumb);
	}
}

static void
test_thumbnail(void **state)
{
	struct media_limits lim;
	struct buf in = make_jpeg(300, 200, 3, 0);
	struct media_image out, thumb;
	(void)state;
	for (int i = 0; i < 3; i++) {
		struct buf b =
		    i == 2 ? make_tagged_jpeg(640, 480, 6, 0)
		           : make_jpeg(i ? 1000 : 100, i ? 500 : 50, 3, 0);
		uint8_t *px;

		accept(b.p, b.n, &out, &thumb);
		assert_int_equal(thumb.width, i == 0   ? 100
		                              : i == 1 ? 320
		                                       : 240);
		assert_int_equal(thumb.height, i == 0   ? 50
		                               : i == 1 ? 160
		                                        : 320);
		px = check_clean_jpeg(&thumb, NULL);
		check_quadrants(px, thumb.width, thumb.height, 3,
		                i == 2 ? (const int[]){2, 0, 3, 1}
		                       : (const int[]){0, 1, 2, 3});
		free(px), free(b.p);
		media_image_fini(&out), media_image_fini(&thumb);
	}
	/* a configured side, and no thumbnail asked for */
	media_limits_init(&lim);
	lim.thumb_side = 64;
	assert_int_equal(media_sanitize(in.p, in.n, &lim, &out, &thumb, NULL),
	                 RK_OK);
	assert_true(thumb.width == 64 && thumb.height == 43);
	media_image_fini(&out), media_image_fini(&thumb);
	assert_int_equal(media_sanitize(in.p, in.n, &lim, &out, NULL, NULL),
	                 RK_OK);
	media_image_fini(&out), media_image_fini(NULL);
	free(in.p);
}

static void
test_damaged(void **state)
{
	struct buf j = make_jpeg(64, 64, 3, 0), pj = make_jpeg(64, 64, 3, 1);
	struct buf p = make_png(64, 64, PNG_COLOR_TYPE_RGB, 8, 0, 0);
	(void)state;
	/* truncated anywhere, even just the end-of-image marker or IEND */
	for (size_t cut = 3; cut < j.n; cut += j.n / 7 + 1)
		expect_refusal(j.p, cut, NULL, media_msg_damaged);
	expect_refusal(j.p, j.n - 2, NULL, media_msg_damaged);
	expect_refusal(pj.p, pj.n * 2 / 3, NULL, media_msg_damaged);
	for (size_t cut = 9; cut < p.n; cut += p.n / 7 + 1)
		expect_refusal(p.p, cut, NULL, media_msg_damaged);
	expect_refusal(p.p, p.n - 12, NULL, media_msg_damaged);
	/* a bad CRC on IHDR; a frame of height 0; a JPEG start, then markup */
	p.p[29] ^= 0xff;
	expect_refusal(p.p, p.n, NULL, media_msg_damaged);
	j.p[find_sof(&j) + 5] = j.p[find_sof(&j) + 6] = 0;
	expect_refusal(j.p, j.n, NULL, media_msg_damaged);
	expect_refusal((const uint8_t *)"\xff\xd8\xff\xe0<html><script>x"
	                                "</script></html>",
	               36, NULL, media_msg_damaged);
	free(j.p), free(pj.p), free(p.p);
}

static void
test_polyglot(void **state)
{
	static const char html[] = "<html><body><script>alert(1)</script>";
	struct buf j = make_jpeg(64, 64, 3, 0),
	           p = make_png(64, 64, 2, 8, 0, 0);
	struct buf cut = {0};
	struct media_image out, thumb;
	(void)state;
	/* Whole images with markup after their end: the image is kept, the
	 * markup is not (check_clean_* insist the output ends at EOI/IEND). */
	put(&j, html, sizeof(html) - 1);
	put(&p, html, sizeof(html) - 1);
	accept(j.p, j.n, &out, &thumb);
	free(check_clean_jpeg(&out, NULL));
	media_image_fini(&out), media_image_fini(&thumb);
	accept(p.p, p.n, &out, &thumb);
	free(check_clean_png(&out));
	media_image_fini(&out), media_image_fini(&thumb);
	/* markup in place of the image's end: refused */
	put(&cut, j.p, j.n / 2);
	put(&cut, html, sizeof(html) - 1);
	expect_refusal(cut.p, cut.n, NULL, media_msg_damaged);
	free(j.p), free(p.p), free(cut.p);
}

static void
test_not_photos(void **state)
{
	static const char *types[] = {
	    "This is a plain text file with a .jpg name.\n",
	    "<?xml version=\"1.0\"?>\n<svg><script>alert(1)</script></svg>",
	    "<!DOCTYPE html><html><script>alert(1)</script></html>",
	    "GIF89a\x01\x00\x01\x00\x80\x00\x00", "\x00\x01\x02\x03\x04"};
	/* what an iPhone sends: an ftyp box, brands heic, mif1, miaf */
	static const uint8_t heic[] = "\0\0\0\034ftypheic\0\0\0\0mif1heic"
	                              "miaf\0\0\0\0";
	struct rk_status st = {0};
	struct media_image out;
	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
		expect_refusal((const uint8_t *)types[i],
		               i == 4 ? 5 : strlen(types[i]), NULL,
		               media_msg_type);
	expect_refusal(heic, sizeof(heic) - 1, NULL, media_msg_heic);
	assert_string_equal(media_msg_heic,
	                    "HEIC photos are not accepted: set the camera to "
	                    "JPEG (Most Compatible) or share as JPEG");
	assert_int_equal(media_sanitize(NULL, 0, NULL, &out, NULL, &st),
	                 RK_ERR_INVALID);
	assert_ptr_equal(st.msg, media_msg_empty);
}

static uint32_t
crc32_png(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;

	for (size_t i = 0; i < n * 8; i++)
		c = (c ^ (p[i / 8] >> i % 8)) & 1 ? 0xedb88320 ^ (c >> 1)
		                                  : c >> 1;
	return c ^ 0xffffffff;
}

static void
test_limits(void **state)
{
	struct buf j = make_jpeg(64, 32, 3, 0),
	           p = make_png(64, 32, 2, 8, 0, 0);
	struct media_limits lim;
	size_t sof;
	uint32_t crc;
	(void)state;
	media_limits_init(&lim);
	lim.max_bytes = j.n - 1;
	expect_refusal(j.p, j.n, &lim, media_msg_bytes);
	media_limits_init(&lim);
	lim.max_pixels = 64 * 32 - 1;
	expect_refusal(j.p, j.n, &lim, media_msg_pixels);
	expect_refusal(p.p, p.n, &lim, media_msg_pixels);
	lim.max_pixels = 64 * 32;
	lim.max_side = 63;
	expect_refusal(j.p, j.n, &lim, media_msg_pixels);
	expect_refusal(p.p, p.n, &lim, media_msg_pixels);
	/* CPU bombs: a progressive JPEG in hundreds of scans */
	free(j.p);
	j = make_jpeg(64, 32, 3, 2);
	expect_refusal(j.p, j.n, NULL, media_msg_damaged);
	free(j.p);
	j = make_jpeg(64, 32, 3, 0);
	/* memory bombs: headers that claim 60000 x 60000, refused before any
	 * allocation (the pixel buffer would be 10 GB) */
	sof = find_sof(&j);
	j.p[sof + 5] = j.p[sof + 7] = 0xea, j.p[sof + 6] = j.p[sof + 8] = 0x60;
	expect_refusal(j.p, j.n, NULL, media_msg_pixels);
	memcpy(p.p + 16, "\0\0\xea\x60\0\0\xea\x60", 8);
	crc = crc32_png(p.p + 12, 17);
	p.p[29] = crc >> 24, p.p[30] = crc >> 16, p.p[31] = crc >> 8,
	p.p[32] = crc;
	expect_refusal(p.p, p.n, NULL, media_msg_pixels);
	free(j.p), free(p.p);
}

/* ---- the shared fixture photos, when ../shared is there */

static const struct {
	const char *file;
	const char *msg; /* NULL: accepted */
	uint32_t w, h;
} fixtures[] = {
    {"wound-gps.jpg", NULL, 1200, 1600}, /* orientation 6 applied */
    {"no-exif.jpg", NULL, 800, 600},
    {"medication-tray.png", NULL, 640, 480},
    {"lotion.heic", media_msg_heic, 0, 0},
    {"truncated.jpg", media_msg_damaged, 0, 0},
    {"not-a-photo.jpg", media_msg_type, 0, 0},
    {"polyglot.jpg", media_msg_damaged, 0, 0}, /* HTML where the scan ends */
    {"script.svg", media_msg_type, 0, 0},
};

#define NFIX (sizeof(fixtures) / sizeof(*fixtures))

/* The whole file, plus a NUL. */
static struct buf
read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[65536];

	assert_non_null(f);
	for (size_t n; (n = fread(chunk, 1, sizeof(chunk), f)) > 0;)
		put(&b, chunk, n);
	fclose(f);
	put(&b, "", 1), b.n--;
	return b;
}

/* The folder: $RENKEI_FIXTURES/photos, else ../shared next to the repo
 * this file is in, else ../shared from the working directory. */
static const char *
photos_dir(char *dir, size_t cap)
{
	const char *env = getenv("RENKEI_FIXTURES"), *src = __FILE__;
	const char *tail = strstr(src, "tests/unit/media/test_media.c");
	struct stat sb;

	if (env != NULL)
		snprintf(dir, cap, "%s/photos", env);
	else if (src[0] == '/' && tail != NULL)
		snprintf(dir, cap, "%.*s../shared/fixtures/photos",
		         (int)(tail - src), src);
	else
		snprintf(dir, cap, "../shared/fixtures/photos");
	return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? dir : NULL;
}

static void
test_shared_fixtures(void **state)
{
	char dir[4096], path[4200];
	struct buf readme;
	int rows = 0;
	(void)state;
	if (photos_dir(dir, sizeof(dir)) == NULL) {
		printf("note: no shared fixture photos; skipped\n");
		skip();
	}
	/* Every photo in the README's table must be one we know, and our
	 * outcome one that its last column allows. */
	snprintf(path, sizeof(path), "%s/../README.md", dir);
	readme = read_all(path);
	for (char *l = strtok((char *)readme.p, "\n"); l != NULL;
	     l = strtok(NULL, "\n")) {
		char name[128], *act = strrchr(l, '|');
		size_t i = 0;

		if (sscanf(l, "| `%127[^`]` |", name) != 1 || act == NULL)
			continue;
		*act = '\0', act = strrchr(l, '|') + 2;
		while (i < NFIX && strcmp(fixtures[i].file, name) != 0)
			i++;
		assert_true(i < NFIX);
		if (strncmp(act, "accept or reject", 16) != 0 &&
		    strncmp(act, "reject, or", 10) != 0)
			assert_int_equal(
			    strncmp(act, fixtures[i].msg ? "reject" : "accept",
			            6),
			    0);
		rows++;
	}
	assert_int_equal(rows, (int)NFIX);
	free(readme.p);

	for (size_t i = 0; i < NFIX; i++) {
		struct buf in;
		struct media_image out, thumb;

		snprintf(path, sizeof(path), "%s/%s", dir, fixtures[i].file);
		in = read_all(path);
		if (fixtures[i].msg != NULL) {
			expect_refusal(in.p, in.n, NULL, fixtures[i].msg);
		} else {
			accept(in.p, in.n, &out, &thumb);
			assert_int_equal(out.width, fixtures[i].w);
			assert_int_equal(out.height, fixtures[i].h);
			free(out.type == MEDIA_PNG
			         ? check_clean_png(&out)
			         : check_clean_jpeg(&out, NULL));
			media_image_fini(&out), media_image_fini(&thumb);
		}
		printf("fixture %-20s %s\n", fixtures[i].file,
		       fixtures[i].msg ? fixtures[i].msg
		                       : "accepted, re-encoded");
		free(in.p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sniff),
	    cmocka_unit_test(test_exif_parser),
	    cmocka_unit_test(test_jpeg),
	    cmocka_unit_test(test_png),
	    cmocka_unit_test(test_thumbnail),
	    cmocka_unit_test(test_damaged),
	    cmocka_unit_test(test_polyglot),
	    cmocka_unit_test(test_not_photos),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_shared_fixtures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
