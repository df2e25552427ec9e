/*
 * Photos end to end against the real server, with fixtures made here
 * (libjpeg, libpng and the builders of tests/fuzz/media_gen.h; nothing
 * from outside the repository):
 *
 *  - what a phone or an attacker sends gets the right answer: a JPEG with
 *    Exif (GPS IFD, Orientation 6, XMP, ICC, a comment with markup), a
 *    PNG with an eXIf chunk carrying GPS and a JPEG followed by HTML are
 *    accepted; a truncated JPEG, a text file named .jpg, an SVG with a
 *    script and a HEIC header are refused (INVALID_ARGUMENT, a message
 *    that says why) and nothing of them is kept;
 *  - what comes back decodes, holds no Exif, GPS or text, and the
 *    Orientation 6 photo is the right way up (width and height swapped);
 *  - a 10 MiB upload cut at about half by a dropped connection resumes
 *    with only the rest, and the stored digest is that of what downloads
 *    (the upload's throughput is printed);
 *  - a photo on a post one may not read is NOT_FOUND exactly as an id
 *    that does not exist, over the WebSocket and over HTTPS, where a
 *    readable one comes with nosniff / attachment / no-store;
 *  - the size and uploads-in-flight limits;
 *  - no image byte in the clear on disk.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"
#include "media_gen.h"

#define INVALID      RENKEI__V1__CODE__INVALID_ARGUMENT
#define NOT_FOUND    RENKEI__V1__CODE__NOT_FOUND
#define EXHAUSTED    RENKEI__V1__CODE__RESOURCE_EXHAUSTED
#define MAX_PER_USER 3
#define MIB          (1024.0 * 1024.0)

static struct h_server *srv;
static struct rkc *ns; /* ns.kobayashi, on pt-yamada's sheet */
static char *ns_token;

enum {
	F_EXIF_JPEG,
	F_EXIF_PNG,
	F_POLYGLOT,
	F_TRUNCATED,
	F_TEXT,
	F_SVG,
	F_HEIC,
	F_N
};

struct fixture {
	const char *name, *file_name;
	struct buf b;
	int code;          /* the answer to finish */
	const char *says;  /* in a refusal's message */
	uint64_t att;      /* accepted: the attachment */
	struct buf stored; /* accepted: what downloads */
};
static struct fixture fx[F_N];
static struct buf big, big_stored; /* the 10 MiB photo */

/* ------------------------------------------------------------ fixtures */

static struct buf
text_buf(const char *s)
{
	struct buf b = {0};
	put(&b, s, strlen(s));
	return b;
}

/* Noise compresses badly: ~3 bytes a pixel at quality 98, 4:4:4. */
static struct buf
make_noisy_jpeg(uint32_t w, uint32_t h)
{
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL;
	unsigned long outlen = 0;
	uint8_t *row = malloc((size_t)w * 3);
	uint32_t s = 12345;
	struct buf b = {0};

	assert_non_null(row);
	ci.err = jpeg_std_error(&err);
	jpeg_create_compress(&ci);
	jpeg_mem_dest(&ci, &out, &outlen);
	ci.image_width = w, ci.image_height = h, ci.input_components = 3;
	ci.in_color_space = JCS_RGB;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, 98, TRUE);
	ci.comp_info[0].h_samp_factor = ci.comp_info[0].v_samp_factor = 1;
	jpeg_start_compress(&ci, TRUE);
	for (uint32_t y = 0; y < h; y++) {
		for (size_t x = 0; x < (size_t)w * 3; x++) {
			s = s * 1103515245u + 12345u;
			row[x] = (uint8_t)(s >> 24);
		}
		jpeg_write_scanlines(&ci, &row, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	put(&b, out, outlen);
	free(out), free(row);
	return b;
}

static void
fixture(int i, const char *name, const char *file_name, struct buf b, int code,
        const char *says)
{
	memset(&fx[i], 0, sizeof(fx[i]));
	fx[i].name = name;
	fx[i].file_name = file_name;
	fx[i].b = b;
	fx[i].code = code;
	fx[i].says = says;
}

static void
make_fixtures(void)
{
	static const uint8_t heic[] = {0,   0,   0,   0x18, 'f', 't', 'y', 'p',
	                               'h', 'e', 'i', 'c',  0,   0,   0,   0,
	                               'm', 'i', 'f', '1',  'h', 'e', 'i', 'c',
	                               0,   0,   0,   0x10, 'm', 'e', 't', 'a',
	                               0,   0,   0,   0,    0,   0,   0,   0};
	static const char html[] =
	    "<html><body><script>alert('RKPOLY')</script></body></html>\n";
	struct buf j = make_jpeg(64, 64, 3, 0), b = {0};

	fixture(F_EXIF_JPEG, "JPEG with Exif GPS, orientation 6",
	        "IMG_0001.JPG", make_tagged_jpeg(64, 32, 6, 1), 0, NULL);
	fixture(F_EXIF_PNG, "PNG with eXIf GPS", "screen.png",
	        make_png(40, 24, PNG_COLOR_TYPE_RGB, 8, 1, 0), 0, NULL);
	b = make_jpeg(32, 32, 3, 0);
	put(&b, html, sizeof(html) - 1);
	fixture(F_POLYGLOT, "JPEG + HTML polyglot", "poly.jpg", b, 0, NULL);
	b = (struct buf){0};
	put(&b, j.p, j.n * 6 / 10);
	fixture(F_TRUNCATED, "truncated JPEG", "cut.jpg", b, INVALID,
	        "damaged");
	fixture(F_TEXT, "text named .jpg", "photo.jpg",
	        text_buf("This is not a photo. It is a plain text file that "
	                 "someone renamed to photo.jpg before sending it.\n"),
	        INVALID, "JPEG and PNG");
	fixture(F_SVG, "SVG with a script", "drawing.svg",
	        text_buf("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3."
	                 "org/2000/svg\" width=\"10\" height=\"10\"><script>"
	                 "alert(document.cookie)</script><rect width=\"10\" "
	                 "height=\"10\"/></svg>\n"),
	        INVALID, "JPEG and PNG");
	/* ... and some image data, so that it has a middle to look for. */
	b = (struct buf){0};
	put(&b, heic, sizeof(heic));
	putn(&b, 8 + 96, 4, 0);
	put(&b, "mdat", 4);
	for (int k = 0; k < 96; k++)
		putn(&b, (uint32_t)(k * 37 + 11) & 0xff, 1, 0);
	fixture(F_HEIC, "HEIC header", "IMG_0002.HEIC", b, INVALID, "HEIC");
	free(j.p);
}

/* ------------------------------------------------------------- checking */

struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
};

static void
jerr_exit(j_common_ptr ci)
{
	longjmp(((struct jerr *)ci->err)->jb, 1);
}

/* Decode all of a JPEG: 0 with its size (and, if rgb, its pixels), or -1. */
static int
decode_jpeg(const struct buf *b, uint32_t *w, uint32_t *h, uint8_t **rgb)
{
	struct jpeg_decompress_struct ci;
	struct jerr je;
	uint8_t *px = NULL;

	ci.err = jpeg_std_error(&je.pub);
	je.pub.error_exit = jerr_exit;
	if (setjmp(je.jb)) {
		jpeg_destroy_decompress(&ci);
		free(px);
		return -1;
	}
	jpeg_create_decompress(&ci);
	jpeg_mem_src(&ci, b->p, b->n);
	jpeg_read_header(&ci, TRUE);
	ci.out_color_space = JCS_RGB;
	jpeg_start_decompress(&ci);
	*w = ci.output_width, *h = ci.output_height;
	px = malloc((size_t)*w * *h * 3);
	assert_non_null(px);
	while (ci.output_scanline < ci.output_height) {
		JSAMPROW row = px + (size_t)ci.output_scanline * *w * 3;
		jpeg_read_scanlines(&ci, &row, 1);
	}
	jpeg_finish_decompress(&ci);
	jpeg_destroy_decompress(&ci);
	if (rgb != NULL)
		*rgb = px;
	else
		free(px);
	return 0;
}

static int
decode_png(const struct buf *b, uint32_t *w, uint32_t *h)
{
	png_image im;
	void *px;
	int ok;

	memset(&im, 0, sizeof(im));
	im.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&im, b->p, b->n))
		return -1;
	im.format = PNG_FORMAT_RGB;
	px = malloc(PNG_IMAGE_SIZE(im));
	assert_non_null(px);
	ok = png_image_finish_read(&im, NULL, px, 0, NULL);
	free(px);
	*w = im.width, *h = im.height;
	return ok ? 0 : -1;
}

static int
has(const struct buf *b, const void *needle, size_t n)
{
	return memmem(b->p, b->n, needle, n) != NULL;
}

/* A clean copy: none of the planted metadata, no Exif, and no APP1
 * segment (JPEG) or eXIf / text / time chunk (PNG) at all. */
static void
assert_clean(const struct fixture *f, const struct buf *b)
{
	static const char *const planted[] = {
	    "RKGPS",  "RKCAMERA", "RKXMP",  "RKICC",   "RKTEXT",
	    "RKZTXT", "RKITXT",   "RKPOLY", "<script", "<html"};

	for (size_t i = 0; i < sizeof(planted) / sizeof(*planted); i++)
		if (has(b, planted[i], strlen(planted[i])))
			fail_msg("%s: the stored copy holds \"%s\"", f->name,
			         planted[i]);
	if (has(b, "Exif\0\0", 6))
		fail_msg("%s: the stored copy holds Exif", f->name);
	if (b->n > 8 && memcmp(b->p, "\x89PNG", 4) == 0) {
		for (size_t at = 8; at + 12 <= b->n;) {
			uint32_t len = (uint32_t)b->p[at] << 24 |
			               (uint32_t)b->p[at + 1] << 16 |
			               (uint32_t)b->p[at + 2] << 8 |
			               b->p[at + 3];
			const char *type = (const char *)b->p + at + 4;
			if (memcmp(type, "eXIf", 4) == 0 ||
			    memcmp(type, "tEXt", 4) == 0 ||
			    memcmp(type, "zTXt", 4) == 0 ||
			    memcmp(type, "iTXt", 4) == 0 ||
			    memcmp(type, "tIME", 4) == 0)
				fail_msg("%s: PNG chunk %.4s kept", f->name,
				         type);
			at += 12 + (size_t)len;
		}
		return;
	}
	/* JPEG: the segments before the scan. */
	for (size_t at = 2; at + 4 <= b->n && b->p[at] == 0xff;) {
		int m = b->p[at + 1];
		size_t len = (size_t)b->p[at + 2] << 8 | b->p[at + 3];
		if (m == 0xda)
			break;
		if (m == 0xe1) {
			struct buf seg = {b->p + at, len + 2};
			fail_msg("%s: APP1 segment kept (%s)", f->name,
			         has(&seg, "\x88\x25", 2) ||
			                 has(&seg, "\x25\x88", 2)
			             ? "with a GPS tag"
			             : "no GPS tag");
		}
		at += 2 + len;
	}
}

/* Download over the WebSocket; the Attachment's digest and size must be
 * those of what comes. */
static struct buf
download(struct rkc *c, const Renkei__V1__Attachment *a, int thumb)
{
	struct buf b = {0};
	char msg[128], hex[65];
	int code =
	    h_attachment_get(c, a->id, thumb, &b.p, &b.n, msg, sizeof(msg));

	if (code != 0)
		fail_msg("download %llu: %s %s", (unsigned long long)a->id,
		         code < 0 ? "(no answer)" : rkc_code_name(code), msg);
	assert_string_equal(msg, thumb ? "image/jpeg" : a->mime);
	if (!thumb) {
		h_sha256_hex(b.p, b.n, hex);
		assert_string_equal(hex, a->sha256);
		assert_int_equal(b.n, a->size);
	} else {
		assert_int_equal(b.n, a->thumbnail_size);
	}
	return b;
}

/* ----------------------------------------------------------------- setup */

static int
group_setup(void **state)
{
	char n[16];
	const char *args[] = {"--upload-max-per-user", n, NULL};

	(void)state;
	snprintf(n, sizeof(n), "%d", MAX_PER_USER);
	make_fixtures();
	big = make_noisy_jpeg(2048, 1600);
	srv = h_server_up(args);
	if (srv == NULL)
		return -1;
	ns = h_connect_login(srv, "ns.kobayashi", &ns_token);
	return ns != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	rkc_close(ns);
	free(ns_token);
	for (int i = 0; i < F_N; i++)
		free(fx[i].b.p), free(fx[i].stored.p);
	free(big.p);
	free(big_stored.p);
	return h_server_free(srv);
}

/* ----------------------------------------------------------------- tests */

static void
test_each_fixture_gets_the_right_answer(void **state)
{
	(void)state;
	for (int i = 0; i < F_N; i++) {
		struct fixture *f = &fx[i];
		char id[32];
		Renkei__V1__Envelope *r;

		snprintf(id, sizeof(id), "fixture-%d", i);
		r = h_upload_env(ns, "pt-yamada", id, f->file_name, f->b.p,
		                 f->b.n);
		if (h_env_code(r) != f->code)
			fail_msg("%s: got %s \"%s\", want %s", f->name,
			         h_env_outcome(r),
			         r && r->error ? r->error->message : "",
			         rkc_code_name(f->code));
		if (f->code != 0) {
			/* Refused, saying why; and nothing of it is kept. */
			print_message("%-36s refused: %s\n", f->name,
			              r->error->message);
			if (strstr(r->error->message, f->says) == NULL)
				fail_msg(
				    "%s: message \"%s\" does not say \"%s\"",
				    f->name, r->error->message, f->says);
			h_env_free(r);
			h_assert_error((r = h_upload_finish_env(ns, id)),
			               NOT_FOUND);
			h_env_free(r);
			continue;
		}
		const Renkei__V1__Attachment *a =
		    r->upload_finish_response->attachment;
		uint32_t w = 0, h = 0;
		uint8_t *px = NULL;

		f->att = a->id;
		f->stored = download(ns, a, 0);
		assert_string_equal(a->file_name, f->file_name);
		assert_clean(f, &f->stored);
		if (strcmp(a->mime, "image/png") == 0) {
			assert_int_equal(decode_png(&f->stored, &w, &h), 0);
		} else {
			assert_string_equal(a->mime, "image/jpeg");
			assert_int_equal(decode_jpeg(&f->stored, &w, &h, &px),
			                 0);
		}
		assert_int_equal(w, a->width);
		assert_int_equal(h, a->height);
		if (i == F_EXIF_JPEG) {
			/* Sent 64 x 32 with Orientation 6 (turn 90° clockwise
			 * to show): stored 32 x 64, and the top left is what
			 * was the bottom left quadrant, blue. */
			assert_int_equal(w, 32);
			assert_int_equal(h, 64);
			if (px[2] < 200 || px[0] > 60 || px[1] > 60)
				fail_msg("top left is %d,%d,%d, not blue",
				         px[0], px[1], px[2]);
		}
		free(px);
		struct buf t = download(ns, a, 1);
		assert_int_equal(decode_jpeg(&t, &w, &h, NULL), 0);
		assert_true(w <= 320 && h <= 320);
		assert_clean(f, &t);
		free(t.p);
		print_message("%-36s accepted: %s %ux%u, %llu bytes\n", f->name,
		              a->mime, a->width, a->height,
		              (unsigned long long)a->size);
		h_env_free(r);
	}

	/* A refused upload's id starts from nothing again. */
	uint8_t sha[32];
	Renkei__V1__Envelope *r;
	const struct buf *t = &fx[F_TRUNCATED].b;
	h_sha256(t->p, t->n, sha);
	r = h_upload_begin_env(ns, "pt-yamada", "fixture-3", "cut.jpg", t->n,
	                       sha);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS);
	assert_int_equal(r->upload_status->received, 0);
	h_env_free(r);
	r = h_upload_env(ns, "pt-yamada", "fixture-3", "cut.jpg", t->p, t->n);
	h_assert_error(r, INVALID); /* and it is gone again */
	h_env_free(r);
}

static void
test_big_photo_resumes_after_a_cut(void **state)
{
	const size_t chunks = (big.n + H_CHUNK - 1) / H_CHUNK;
	const uint64_t half = (uint64_t)(chunks / 2) * H_CHUNK;
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__UploadChunkRequest k =
	    RENKEI__V1__UPLOAD_CHUNK_REQUEST__INIT;
	char *token = NULL;
	struct rkc *c = h_connect_login(srv, "dr.tanaka", &token);
	uint64_t received, sent = 0;
	int64_t t0, t_first, t1, t2;
	uint8_t sha[32];

	(void)state;
	assert_non_null(c);
	h_sha256(big.p, big.n, sha);
	t0 = h_mono_ms();
	r = h_upload_begin_env(c, "pt-yamada", "big-1", "noise.jpg", big.n,
	                       sha);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS);
	h_env_free(r);
	/* Up to just before half, acknowledged; then one more chunk sent
	 * and the connection dropped before its answer. */
	r = h_upload_rest_env(c, "big-1", big.p, big.n, 0, half - H_CHUNK,
	                      NULL);
	assert_null(r);
	t_first = h_mono_ms() - t0;
	k.upload_id = "big-1";
	k.offset = half - H_CHUNK;
	k.data.data = big.p + k.offset;
	k.data.len = H_CHUNK;
	req.request_id = 999;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_CHUNK_REQUEST;
	req.upload_chunk_request = &k;
	assert_int_equal(rkc_send(c, &req), 0);
	rkc_abort(c);

	c = h_connect(srv);
	assert_non_null(c);
	h_assert_body((r = h_resume_env(c, token)),
	              RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	t1 = h_mono_ms();
	r = h_upload_begin_env(c, "pt-yamada", "big-1", "noise.jpg", big.n,
	                       sha);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS);
	received = r->upload_status->received;
	h_env_free(r);
	print_message("%zu bytes; the server had %llu after the cut\n", big.n,
	              (unsigned long long)received);
	assert_true(received == half - H_CHUNK || received == half);
	r = h_upload_rest_env(c, "big-1", big.p, big.n, received, UINT64_MAX,
	                      &sent);
	assert_null(r);
	assert_int_equal(sent, big.n - received); /* only the rest */
	t2 = h_mono_ms();
	r = h_upload_finish_env(c, "big-1");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_RESPONSE);
	print_message("upload throughput: %.1f MiB/s (%.1f MiB in %lld ms of "
	              "chunks); finish (decode, re-encode, store) %lld ms\n",
	              (double)big.n / MIB /
	                  ((double)(t_first + (t2 - t1)) / 1000.0),
	              (double)big.n / MIB, (long long)(t_first + (t2 - t1)),
	              (long long)(h_mono_ms() - t2));
	big_stored = download(c, r->upload_finish_response->attachment, 0);
	h_env_free(r);
	free(token);
	rkc_close(c);
}

/* An HTTPS GET of /attachments/ID: the status, the head (lower case)
 * into head[], the body (rkc) into *body. */
static int
https_get(uint64_t id, const char *token, char *head, size_t cap,
          struct buf *body)
{
	struct rkc_opts o;
	char req[512], hdr[128] = "", path[64], err[200], *got = NULL;
	long n;
	int st;

	snprintf(path, sizeof(path), "/attachments/%llu",
	         (unsigned long long)id);
	if (token != NULL)
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n",
		         token);
	snprintf(
	    req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n",
	    path, hdr);
	n = h_tls_exchange(srv, req, head, cap, H_TIMEOUT_MS);
	assert_true(n > 12);
	for (long i = 0; i < n; i++)
		head[i] = (char)tolower((unsigned char)head[i]);
	h_opts(srv, &o);
	memset(body, 0, sizeof(*body));
	st = rkc_https_get(&o, path, token ? hdr : NULL, &got, &body->n, err,
	                   sizeof(err));
	body->p = (uint8_t *)got;
	assert_int_equal(st, atoi(head + 9));
	return st;
}

static void
test_unreadable_is_not_found(void **state)
{
	const Renkei__V1__Visibility prof =
	    RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__CreatePostRequest p = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	uint64_t ids[1] = {fx[F_EXIF_JPEG].att}, missing = 987654;
	char *out_token = NULL, *fam_token = NULL, head[4096], m1[128], m2[128];
	struct rkc *out = h_connect_login(srv, "dr.outsider", &out_token);
	struct rkc *fam = h_connect_login(srv, "family.yamada", &fam_token);
	struct buf b1, b2, body;
	uint8_t *d;
	size_t n;

	(void)state;
	assert_non_null(out);
	assert_non_null(fam);
	assert_true(ids[0] != 0);
	/* The photo goes on a post for professionals. */
	p.patient = "pt-yamada";
	p.client_id = "photo-post-1";
	p.kind = RENKEI__V1__POST_KIND__CARE;
	p.visibility = prof;
	p.text = "褥瘡の写真";
	p.attachment_ids = ids;
	p.n_attachment_ids = 1;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &p;
	r = h_call(ns, &req);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_int_equal(r->post_response->post->n_attachments, 1);
	assert_int_equal(r->post_response->post->attachments[0]->id, ids[0]);
	h_env_free(r);

	/* WebSocket: the stranger and the family get what a missing id gets. */
	struct rkc *who[2] = {out, fam};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    h_attachment_get(who[i], ids[0], 0, &d, &n, m1, sizeof(m1)),
		    NOT_FOUND);
		assert_int_equal(h_attachment_get(who[i], missing, 0, &d, &n,
		                                  m2, sizeof(m2)),
		                 NOT_FOUND);
		assert_string_equal(m1, m2);
		assert_int_equal(
		    h_attachment_get(who[i], ids[0], 1, &d, &n, m1, sizeof(m1)),
		    NOT_FOUND);
		assert_string_equal(m1, m2);
	}
	/* A team member reads it. */
	assert_int_equal(
	    h_attachment_get(ns, ids[0], 0, &d, &n, m1, sizeof(m1)), 0);
	free(d);

	/* HTTPS: 200 with the safe headers and the same bytes. */
	assert_int_equal(https_get(ids[0], ns_token, head, sizeof(head), &body),
	                 200);
	assert_non_null(strstr(head, "\r\ncontent-type: image/jpeg"));
	assert_non_null(strstr(head, "\r\nx-content-type-options: nosniff"));
	assert_non_null(strstr(head, "\r\ncontent-disposition: attachment"));
	assert_non_null(strstr(head, "\r\ncache-control: no-store"));
	assert_int_equal(body.n, fx[F_EXIF_JPEG].stored.n);
	assert_memory_equal(body.p, fx[F_EXIF_JPEG].stored.p, body.n);
	free(body.p);
	/* No token: 401. */
	assert_int_equal(https_get(ids[0], NULL, head, sizeof(head), &body),
	                 401);
	free(body.p);
	/* Not allowed, or no such photo: the same 404. */
	assert_int_equal(https_get(missing, ns_token, head, sizeof(head), &b1),
	                 404);
	assert_int_equal(https_get(ids[0], out_token, head, sizeof(head), &b2),
	                 404);
	assert_int_equal(b1.n, b2.n);
	assert_memory_equal(b1.p, b2.p, b1.n);
	free(b2.p);
	assert_int_equal(https_get(ids[0], fam_token, head, sizeof(head), &b2),
	                 404);
	assert_int_equal(b1.n, b2.n);
	assert_memory_equal(b1.p, b2.p, b1.n);
	free(b1.p);
	free(b2.p);

	/* Control: a photo on a post for everyone is the family's too. */
	ids[0] = fx[F_EXIF_PNG].att;
	p.client_id = "photo-post-2";
	p.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_ALL;
	h_assert_body((r = h_call(ns, &req)),
	              RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(r);
	assert_int_equal(
	    h_attachment_get(fam, ids[0], 0, &d, &n, m1, sizeof(m1)), 0);
	free(d);
	rkc_close(out);
	rkc_close(fam);
	free(out_token);
	free(fam_token);
}

static void
test_limits(void **state)
{
	struct rkc *c = h_connect_login(srv, "pt.ito", NULL);
	uint8_t sha[32] = {1};
	Renkei__V1__Envelope *r;
	char id[32];

	(void)state;
	assert_non_null(c);
	/* The default limit is 20 MiB. */
	r = h_upload_begin_env(c, "pt-sato", "too-big", "x.jpg",
	                       20 * 1048576 + 1, sha);
	h_assert_error(r, EXHAUSTED);
	assert_string_equal(r->error->field, "size");
	h_env_free(r);
	for (int i = 0; i <= MAX_PER_USER; i++) {
		snprintf(id, sizeof(id), "inflight-%d", i);
		r = h_upload_begin_env(c, "pt-sato", id, "x.jpg", 1000, sha);
		if (i < MAX_PER_USER)
			h_assert_body(r,
			              RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS);
		else
			h_assert_error(r, EXHAUSTED);
		h_env_free(r);
	}
	rkc_close(c);
}

/* Is there a JPEG or PNG signature at `at`? */
static int
sig_at(const uint8_t *d, size_t n, size_t at)
{
	return (at + 3 <= n && memcmp(d + at, "\xff\xd8\xff", 3) == 0) ||
	       (at + 4 <= n && memcmp(d + at, "\x89PNG", 4) == 0);
}

/* Hits of image bytes in the clear in one file (or buffer). A 3-byte
 * signature turns up by chance in ciphertext about once per 16 MiB, so
 * signatures are looked for only where a stored file would begin: at
 * the file's start, at every 4096-byte page, and for a SQLite WAL at
 * every frame's page (32-byte header, then 24-byte frame headers before
 * each page). The 64-byte runs from each photo are searched everywhere:
 * by chance they never match. */
static int
scan(const char *name, const uint8_t *d, size_t n, const struct buf *runs,
     int nruns)
{
	size_t l = strlen(name);
	int hits = 0, wal = l > 4 && strcmp(name + l - 4, "-wal") == 0;

	for (size_t at = 0; at < n; at += 4096)
		hits += sig_at(d, n, at);
	for (size_t at = 32 + 24; wal && at < n; at += 24 + 4096)
		hits += sig_at(d, n, at);
	for (int i = 0; i < nruns; i++)
		if (runs[i].n >= 64 &&
		    memmem(d, n, runs[i].p + runs[i].n / 2 - 32, 64) != NULL)
			hits++;
	return hits;
}

static int
scan_dir(const char *dir, const struct buf *runs, int nruns, int *files)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	int hits = 0;

	assert_non_null(dh);
	while ((e = readdir(dh)) != NULL) {
		char path[1024];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			hits += scan_dir(path, runs, nruns, files);
		} else if (S_ISREG(st.st_mode)) {
			size_t n;
			uint8_t *d = (uint8_t *)h_read_file(path, &n);
			int h = d ? scan(path, d, n, runs, nruns) : 0;
			if (h > 0)
				print_message("image bytes in the clear: %s\n",
				              path);
			hits += h;
			(*files)++;
			free(d);
		}
	}
	closedir(dh);
	return hits;
}

static void
test_no_image_byte_in_the_clear_on_disk(void **state)
{
	struct buf runs[2 * F_N + 2];
	int nruns = 0, files = 0, control = 0;

	(void)state;
	for (int i = 0; i < F_N; i++) {
		runs[nruns++] = fx[i].b;
		if (fx[i].stored.n > 0)
			runs[nruns++] = fx[i].stored;
	}
	runs[nruns++] = big;
	runs[nruns++] = big_stored;
	/* Control: the scanner finds a photo that is there. */
	for (int i = 0; i < nruns; i++)
		control +=
		    scan("control", runs[i].p, runs[i].n, &runs[i], 1) > 0;
	assert_int_equal(control, nruns);
	/* While it runs (the WAL files still hold the newest pages), and
	 * after a clean stop (everything in the databases). */
	assert_int_equal(scan_dir(srv->dir, runs, nruns, &files), 0);
	rkc_close(ns);
	ns = NULL;
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 15000)));
	assert_int_equal(scan_dir(srv->dir, runs, nruns, &files), 0);
	print_message("no image bytes in the clear in %d files, running and "
	              "stopped (%d photos and stored copies)\n",
	              files, nruns);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_fixture_gets_the_right_answer),
	    cmocka_unit_test(test_big_photo_resumes_after_a_cut),
	    cmocka_unit_test(test_unreadable_is_not_found),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_no_image_byte_in_the_clear_on_disk),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
