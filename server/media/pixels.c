/*
 * Pixel operations: applying the EXIF orientation and making thumbnails.
 *
 * EXIF orientation says how the stored rows must be turned for display:
 *   1 as stored       2 mirrored left-right   3 turned 180
 *   4 mirrored top-bottom                     5 transposed (mirror on the
 *   top-left/bottom-right diagonal)           6 turned 90 clockwise
 *   7 transversed (the other diagonal)        8 turned 90 anticlockwise
 * 5..8 swap width and height. We build the displayed image by asking, for
 * each output pixel, which source pixel lands there (map() below); along
 * an output row that source moves by a constant step, so the inner loop is
 * a plain strided copy.
 */
#include "media/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void
media_pixels_fini(struct media_pixels *p)
{
	if (p == NULL)
		return;
	free(p->px);
	memset(p, 0, sizeof(*p));
}

/* The source pixel (sx, sy) of a w x h image shown at output (ox, oy). */
static void
map(unsigned o, uint32_t w, uint32_t h, uint32_t ox, uint32_t oy, uint32_t *sx,
    uint32_t *sy)
{
	switch (o) {
	case 2:
		*sx = w - 1 - ox, *sy = oy;
		break;
	case 3:
		*sx = w - 1 - ox, *sy = h - 1 - oy;
		break;
	case 4:
		*sx = ox, *sy = h - 1 - oy;
		break;
	case 5:
		*sx = oy, *sy = ox;
		break;
	case 6:
		*sx = oy, *sy = h - 1 - ox;
		break;
	case 7:
		*sx = w - 1 - oy, *sy = h - 1 - ox;
		break;
	case 8:
		*sx = w - 1 - oy, *sy = ox;
		break;
	default:
		*sx = ox, *sy = oy;
		break;
	}
}

void
media_pixels_orient(struct media_pixels *p)
{
	unsigned o = p->orientation, ch = p->ch;
	uint32_t ow, oh;
	uint8_t *dst;
	ptrdiff_t step;

	p->orientation = 1;
	if (o < 2 || o > 8 || p->w == 0 || p->h == 0)
		return;
	ow = o >= 5 ? p->h : p->w;
	oh = o >= 5 ? p->w : p->h;
	dst = rk_malloc((size_t)ow * oh * ch);

	/* The source offset step for ox -> ox + 1 is the same on every row. */
	{
		uint32_t x0, y0, x1, y1;

		map(o, p->w, p->h, 0, 0, &x0, &y0);
		map(o, p->w, p->h, ow > 1 ? 1 : 0, 0, &x1, &y1);
		step = ((ptrdiff_t)x1 - (ptrdiff_t)x0 +
		        ((ptrdiff_t)y1 - (ptrdiff_t)y0) * (ptrdiff_t)p->w) *
		       (ptrdiff_t)ch;
	}
	for (uint32_t oy = 0; oy < oh; oy++) {
		uint32_t sx, sy;
		const uint8_t *s;
		uint8_t *d = dst + (size_t)oy * ow * ch;

		map(o, p->w, p->h, 0, oy, &sx, &sy);
		s = p->px + ((size_t)sy * p->w + sx) * ch;
		for (uint32_t ox = 0; ox < ow; ox++) {
			memcpy(d, s, ch);
			d += ch;
			/* Do not form a pointer past the image after the
			 * last pixel of the row. */
			if (ox + 1 < ow)
				s += step;
		}
	}
	free(p->px);
	p->px = dst;
	p->w = ow;
	p->h = oh;
}

/* Integer bounds of the source span for each of the n output cells. */
static uint32_t *
spans(uint32_t src, uint32_t n)
{
	uint32_t *b = rk_malloc(((size_t)n + 1) * sizeof(*b));

	for (uint32_t i = 0; i <= n; i++)
		b[i] = (uint32_t)((uint64_t)i * src / n);
	return b;
}

void
media_pixels_thumb(const struct media_pixels *src, uint32_t max_side,
                   struct media_pixels *dst)
{
	uint32_t w = src->w, h = src->h, tw, th, *xs, *ys;
	unsigned sch = src->ch, dch = sch <= 2 ? 1 : 3;
	bool alpha = sch == 2 || sch == 4;
	uint8_t *out;

	if (max_side == 0)
		max_side = 1;
	if (w <= max_side && h <= max_side) {
		tw = w;
		th = h;
	} else if (w >= h) {
		tw = max_side;
		th = (uint32_t)(((uint64_t)h * max_side + w / 2) / w);
	} else {
		th = max_side;
		tw = (uint32_t)(((uint64_t)w * max_side + h / 2) / h);
	}
	if (tw == 0)
		tw = 1;
	if (th == 0)
		th = 1;

	/* Each output pixel is the plain average of the source pixels whose
	 * centres fall in its cell: a box filter. Because tw <= w and
	 * th <= h, every cell holds at least one source pixel. */
	xs = spans(w, tw);
	ys = spans(h, th);
	out = rk_malloc((size_t)tw * th * dch);
	for (uint32_t ty = 0; ty < th; ty++) {
		for (uint32_t tx = 0; tx < tw; tx++) {
			uint64_t sum[3] = {0, 0, 0}, cnt = 0;

			for (uint32_t y = ys[ty]; y < ys[ty + 1]; y++) {
				const uint8_t *s =
				    src->px + ((size_t)y * w + xs[tx]) * sch;

				/* Composited over white, c*a + 255*(255-a),
				 * and left scaled by 255 until the division. */
				for (uint32_t x = xs[tx]; x < xs[tx + 1];
				     x++, s += sch) {
					unsigned a = alpha ? s[sch - 1] : 255;

					for (unsigned c = 0; c < dch; c++)
						sum[c] += (uint64_t)s[c] * a +
						          255u * (255u - a);
					cnt++;
				}
			}
			for (unsigned c = 0; c < dch; c++)
				out[((size_t)ty * tw + tx) * dch + c] =
				    (uint8_t)((sum[c] + cnt * 255 / 2) /
				              (cnt * 255));
		}
	}
	free(xs);
	free(ys);
	memset(dst, 0, sizeof(*dst));
	dst->px = out;
	dst->w = tw;
	dst->h = th;
	dst->ch = dch;
	dst->orientation = 1;
}
