/*
 * Writes the seed corpus of fuzz_media (tests/fuzz/corpus/media/), so
 * that it can be made again rather than trusted as opaque files (built
 * with the fuzz targets, -DRENKEI_FUZZ=ON):
 *
 *   build-fuzz/tests/fuzz/gen_media_corpus tests/fuzz/corpus/media
 *
 * The seeds are small on purpose (each fuzz run starts from them):
 *  - exif-gps-orient6.jpg: 16x8 JPEG with Exif (GPS IFD, orientation 6),
 *    XMP, ICC and a comment holding markup;
 *  - palette-trns-exif.png: 8x8 palette PNG with tRNS, eXIf (orientation
 *    6), gAMA, tEXt, zTXt, iTXt and tIME;
 *  - progressive-gray-html.jpg: 16x16 progressive grayscale JPEG followed
 *    by HTML.
 */
#include "media_gen.h"

static int
write_seed(const char *dir, const char *name, struct buf b)
{
	char path[4096];
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f != NULL) {
		rc = fwrite(b.p, 1, b.n, f) == b.n ? 0 : -1;
		if (fclose(f) != 0)
			rc = -1;
	}
	if (rc != 0)
		perror(path);
	free(b.p);
	return rc;
}

int
main(int argc, char **argv)
{
	struct buf j;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	rc |= write_seed(argv[1], "exif-gps-orient6.jpg",
	                 make_tagged_jpeg(16, 8, 6, 0));
	rc |= write_seed(argv[1], "palette-trns-exif.png",
	                 make_png(8, 8, PNG_COLOR_TYPE_PALETTE, 8, 6, 0));
	j = make_jpeg(16, 16, 1, 1);
	put(&j, "<html><script>alert(1)</script></html>", 39);
	rc |= write_seed(argv[1], "progressive-gray-html.jpg", j);
	return rc != 0;
}
