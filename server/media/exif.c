/*
 * The one EXIF value we use: Orientation (tag 0x0112) in IFD0.
 *
 * Why not libexif: it would parse the whole untrusted EXIF blob - every
 * IFD and the vendors' maker notes, where most of its past memory-safety
 * bugs were - to hand us one 16-bit number that sits at a fixed place.
 * Reading that number needs the 8-byte TIFF header and one IFD; every
 * read below is checked against n, and fuzz_media exercises it.
 *
 * TIFF layout: "II" (little-endian) or "MM" (big-endian), the number 42,
 * the offset of IFD0. An IFD is a 16-bit entry count, then 12-byte
 * entries {tag u16, type u16, count u32, value-or-offset u32}. A single
 * SHORT (type 3) sits in the first two bytes of the value field.
 */
#include "media/internal.h"

#define TAG_ORIENTATION 0x0112
#define TYPE_SHORT      3

static uint16_t
rd16(const uint8_t *p, bool le)
{
	return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p, bool le)
{
	if (le)
		return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

unsigned
media_exif_orientation(const uint8_t *t, size_t n)
{
	bool le;
	uint32_t ifd;
	size_t count, p;

	if (t == NULL || n < 8)
		return 1;
	if (t[0] == 'I' && t[1] == 'I')
		le = true;
	else if (t[0] == 'M' && t[1] == 'M')
		le = false;
	else
		return 1;
	if (rd16(t + 2, le) != 42)
		return 1;
	ifd = rd32(t + 4, le);
	if (ifd < 8 || ifd >= n || n - ifd < 2)
		return 1;
	count = rd16(t + ifd, le);
	p = (size_t)ifd + 2;
	/* Only the entries that are really there; a count that runs past
	 * the end is cut, not trusted. */
	if (count > (n - p) / 12)
		count = (n - p) / 12;
	for (size_t i = 0; i < count; i++, p += 12) {
		unsigned v;

		if (rd16(t + p, le) != TAG_ORIENTATION)
			continue;
		if (rd16(t + p + 2, le) != TYPE_SHORT ||
		    rd32(t + p + 4, le) != 1)
			return 1;
		v = rd16(t + p + 8, le);
		return v >= 1 && v <= 8 ? v : 1;
	}
	return 1;
}
