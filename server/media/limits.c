/*
 * The limits every stage checks and the messages a user sees: one file
 * that the pipeline (media.c) and the codecs (jpeg.c, png.c) both use.
 */
#include "media/internal.h"

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
void
media_limits_fix(const struct media_limits *in, struct media_limits *lim)
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
