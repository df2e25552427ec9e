/*
 * media_sanitize(): the pipeline of internal.h, its limits and the
 * messages a user sees.
 */
#include "media/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

const char media_msg_damaged[] = "the photo is damaged or incomplete";
const char media_msg_type[] = "only JPEG and PNG photos are accepted";
const char media_msg_heic[] =
    "HEIC photos are not accepted: set the camera to JPEG (Most "
    "Compatible) or share as JPEG";
const char media_msg_empty[] = "the photo is empty";
const char media_msg_bytes[] = "the photo file is too large";
const char media_msg_pixels[] = "the photo has too many pixels";
const char media_msg_internal[] = "the photo could not be processed";

void
media_limits_init(struct media_limits *lim)
{
	lim->max_bytes = MEDIA_DEFAULT_MAX_BYTES;
	lim->max_pixels = MEDIA_DEFAULT_MAX_PIXELS;
	lim->max_side = MEDIA_DEFAULT_MAX_SIDE;
	lim->thumb_side = MEDIA_DEFAULT_THUMB_SIDE;
	lim->jpeg_quality = MEDIA_DEFAULT_QUALITY;
}

/* A copy of *in (or the defaults) with every unusable setting replaced by
 * its default, so that the rest never sees a zero or an overflow. The
 * side is capped below libjpeg's and libpng's own hard maxima. */
static void
limits_fix(const struct media_limits *in, struct media_limits *lim)
{
	struct media_limits def;

	media_limits_init(&def);
	*lim = in != NULL ? *in : def;
	if (lim->max_bytes == 0)
		lim->max_bytes = def.max_bytes;
	if (lim->max_pixels == 0)
		lim->max_pixels = def.max_pixels;
	if (lim->max_side == 0 || lim->max_side > 65500)
		lim->max_side = lim->max_side == 0 ? def.max_side : 65500;
	if (lim->thumb_side == 0)
		lim->thumb_side = def.thumb_side;
	if (lim->jpeg_quality < 1 || lim->jpeg_quality > 100)
		lim->jpeg_quality = def.jpeg_quality;
}

int
media_check_size(uint32_t w, uint32_t h, const struct media_limits *lim,
                 struct rk_status *st)
{
	if (w == 0 || h == 0)
		return rk_fail(st, RK_ERR_INVALID, media_msg_damaged, NULL);
	if (w > lim->max_side || h > lim->max_side ||
	    (uint64_t)w * h > lim->max_pixels) {
		LOG_D("MEDIA-REJECT", "reason=size width=%u height=%u",
		      (unsigned)w, (unsigned)h);
		return rk_fail(st, RK_ERR_INVALID, media_msg_pixels, NULL);
	}
	return RK_OK;
}

void
media_image_fini(struct media_image *m)
{
	if (m == NULL)
		return;
	free(m->data);
	memset(m, 0, sizeof(*m));
}

static int
encode_into(const struct media_pixels *p, enum media_type type, int quality,
            struct media_image *img, struct rk_status *st)
{
	int rc = type == MEDIA_PNG
	             ? media_png_encode(p, &img->data, &img->len, st)
	             : media_jpeg_encode(p, quality, &img->data, &img->len, st);

	if (rc != RK_OK)
		return rc;
	img->type = type;
	img->width = p->w;
	img->height = p->h;
	img->mime = media_type_mime(type);
	return RK_OK;
}

int
media_sanitize(const uint8_t *in, size_t n, const struct media_limits *limits,
               struct media_image *out, struct media_image *thumb,
               struct rk_status *st)
{
	struct media_limits lim;
	struct media_pixels px, small;
	enum media_type type;
	int rc;

	memset(out, 0, sizeof(*out));
	if (thumb != NULL)
		memset(thumb, 0, sizeof(*thumb));
	memset(&px, 0, sizeof(px));
	memset(&small, 0, sizeof(small));
	limits_fix(limits, &lim);

	if (in == NULL || n == 0)
		return rk_fail(st, RK_ERR_INVALID, media_msg_empty, NULL);
	if (n > lim.max_bytes)
		return rk_fail(st, RK_ERR_INVALID, media_msg_bytes, NULL);

	type = media_sniff(in, n);
	switch (type) {
	case MEDIA_JPEG:
		rc = media_jpeg_decode(in, n, &lim, &px, st);
		break;
	case MEDIA_PNG:
		rc = media_png_decode(in, n, &lim, &px, st);
		break;
	case MEDIA_HEIC:
		LOG_D("MEDIA-REJECT", "reason=heic");
		return rk_fail(st, RK_ERR_INVALID, media_msg_heic, NULL);
	case MEDIA_SVG_OR_TEXT:
	case MEDIA_UNKNOWN:
	default:
		LOG_D("MEDIA-REJECT", "reason=type sniffed=%d", (int)type);
		return rk_fail(st, RK_ERR_INVALID, media_msg_type, NULL);
	}
	if (rc != RK_OK)
		return rc;

	media_pixels_orient(&px);
	rc = encode_into(&px, type, lim.jpeg_quality, out, st);
	if (rc == RK_OK && thumb != NULL) {
		media_pixels_thumb(&px, lim.thumb_side, &small);
		rc = encode_into(&small, MEDIA_JPEG, lim.jpeg_quality, thumb,
		                 st);
	}
	media_pixels_fini(&small);
	media_pixels_fini(&px);
	if (rc != RK_OK) {
		media_image_fini(out);
		media_image_fini(thumb);
	}
	return rc;
}
