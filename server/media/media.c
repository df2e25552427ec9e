/*
 * media_sanitize(): the pipeline of internal.h, strung together.
 */
#include "media/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

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
	media_limits_fix(limits, &lim);

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
