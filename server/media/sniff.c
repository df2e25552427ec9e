/*
 * Type sniffing from the leading bytes. Only the decision "which decoder
 * gets to look at it, or which message does the user get" is made here:
 * a file that starts like a JPEG is only a JPEG once libjpeg has decoded
 * all of it.
 */
#include "media/internal.h"

#include <string.h>

#include "util/text.h"

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool
heif_brand(const uint8_t *b)
{
	/* HEVC-coded HEIF (heic, heix, heim, heis, hevc, hevx) and the
	 * generic image/sequence brands (mif1, msf1) that any HEIF, AVIF
	 * included, may list; none of them can be decoded here. */
	static const char brands[][4] = {"heic", "heix", "heim", "heis",
	                                 "hevc", "hevx", "mif1", "msf1"};
	for (size_t i = 0; i < sizeof(brands) / sizeof(*brands); i++)
		if (memcmp(b, brands[i], 4) == 0)
			return true;
	return false;
}

/* An ISO-BMFF file starts with a box: 32-bit size, "ftyp", the major
 * brand, a minor version, then compatible brands up to the box's end. */
static bool
is_heif(const uint8_t *b, size_t n)
{
	size_t end;

	if (n < 16 || memcmp(b + 4, "ftyp", 4) != 0)
		return false;
	if (heif_brand(b + 8))
		return true;
	end = be32(b);
	if (end > n)
		end = n;
	for (size_t off = 16; off + 4 <= end; off += 4)
		if (heif_brand(b + off))
			return true;
	return false;
}

/* Markup (after an optional UTF-8 byte order mark and white space), or
 * text: the first 512 bytes are UTF-8 with no control bytes but white
 * space. Only used to choose the message; the answer is "no" either way. */
static bool
is_text(const uint8_t *b, size_t n)
{
	size_t i = 0, lim = n < 512 ? n : 512;

	if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		i = 3;
	while (i < n &&
	       (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	if (i < n && b[i] == '<')
		return true;
	/* Do not cut the sample inside a character. */
	for (int k = 0; k < 3 && lim < n && lim > 0 && (b[lim] & 0xc0) == 0x80;
	     k++)
		lim--;
	return lim > 0 && rk_utf8_valid((const char *)b, lim);
}

enum media_type
media_sniff(const uint8_t *b, size_t n)
{
	if (b == NULL || n == 0)
		return MEDIA_UNKNOWN;
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return MEDIA_JPEG;
	if (n >= sizeof(png_sig) && memcmp(b, png_sig, sizeof(png_sig)) == 0)
		return MEDIA_PNG;
	if (is_heif(b, n))
		return MEDIA_HEIC;
	if (is_text(b, n))
		return MEDIA_SVG_OR_TEXT;
	return MEDIA_UNKNOWN;
}

const char *
media_type_mime(enum media_type t)
{
	switch (t) {
	case MEDIA_JPEG:
		return "image/jpeg";
	case MEDIA_PNG:
		return "image/png";
	case MEDIA_UNKNOWN:
	case MEDIA_HEIC:
	case MEDIA_SVG_OR_TEXT:
		break;
	}
	return NULL;
}
