/*
 * Fuzz target: media_sanitize() on arbitrary bytes.
 *
 * Invariants checked (abort on violation, whatever NDEBUG says):
 *  - a refusal carries its code in st, one of media's static messages,
 *    and leaves no output behind;
 *  - an accepted photo is within the limits, its thumbnail is a JPEG no
 *    larger than thumb_side, and both sanitise again, unchanged in type
 *    and size (our own output must always be acceptable input).
 * Limits are small so that each run is quick; the pixel-count check is
 * what keeps libjpeg and libpng from spending seconds on one input.
 *
 * Built with -DRENKEI_FUZZ=ON (tests/fuzz/CMakeLists.txt); run it with
 *
 *   scripts/fuzz media 60
 *
 * (libjpeg and libpng are the system's, not instrumented: coverage guides
 * through our code only, and ASan sees memory errors inside them only
 * where they call libc, e.g. memcpy.)
 *
 * Seed corpus: tests/fuzz/corpus/media/, three small photos full of
 * metadata, written by gen_media_corpus.c (see there to remake them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "media/internal.h"
#include "media/media.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
			        __FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

static int
static_message(const char *m)
{
	return m == media_msg_damaged || m == media_msg_type ||
	       m == media_msg_heic || m == media_msg_empty ||
	       m == media_msg_bytes || m == media_msg_pixels ||
	       m == media_msg_internal;
}

static void
check_again(const struct media_image *img, const struct media_limits *lim)
{
	struct media_limits again = *lim;
	struct media_image out;
	struct rk_status st = {0};
	int rc;

	/* A re-encoded image may be larger than the input it came from. */
	again.max_bytes = (size_t)-1;
	rc = media_sanitize(img->data, img->len, &again, &out, NULL, &st);
	if (rc != RK_OK)
		fprintf(stderr, "re-sanitize failed: %s\n", st.msg);
	CHECK(rc == RK_OK);
	CHECK(out.type == img->type);
	CHECK(out.width == img->width && out.height == img->height);
	media_image_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct media_limits lim;
	struct media_image out, thumb;
	struct rk_status st = {0};
	int rc;

	media_limits_init(&lim);
	lim.max_bytes = 1 << 20;
	lim.max_pixels = 512 * 512;
	lim.max_side = 2048;
	lim.thumb_side = 48;

	rc = media_sanitize(data, size, &lim, &out, &thumb, &st);
	if (rc != RK_OK) {
		CHECK(st.err == rc);
		CHECK(rc == RK_ERR_INVALID);
		CHECK(static_message(st.msg));
		CHECK(out.data == NULL && out.len == 0);
		CHECK(thumb.data == NULL && thumb.len == 0);
		return 0;
	}
	CHECK(out.data != NULL && out.len > 0);
	CHECK(out.type == media_sniff(data, size));
	CHECK(out.width >= 1 && out.height >= 1);
	CHECK(out.width <= lim.max_side && out.height <= lim.max_side);
	CHECK((uint64_t)out.width * out.height <= lim.max_pixels);
	CHECK(thumb.type == MEDIA_JPEG && thumb.data != NULL);
	CHECK(thumb.width <= lim.thumb_side && thumb.height <= lim.thumb_side);
	CHECK(thumb.width >= 1 && thumb.height >= 1);
	check_again(&out, &lim);
	check_again(&thumb, &lim);
	media_image_fini(&out);
	media_image_fini(&thumb);
	return 0;
}
