/* Unit test: the QR code `renkei 2fa enroll` draws (client-cli/twofa.c).
 * The drawing is read back — each character cell two modules, upper and
 * lower half — and must be exactly libqrencode's symbol inside a light
 * margin: a phone can only scan what is drawn right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <qrencode.h>

#include "cli.h"

#define URI "otpauth://totp/renkei:dr.tanaka?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" \
            "&issuer=renkei&digits=6&period=30"

static void
test_qr_reads_back(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	QRcode *qr = QRcode_encodeString(URI, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	const char *p, *pre = "\x1b[97;40m", *post = "\x1b[0m\n";
	int w, size, rows = 0;
	unsigned char *light;

	(void)state;
	assert_non_null(f);
	assert_non_null(qr);
	assert_int_equal(cli_qr_print(f, URI), 0);
	fclose(f);
	w = qr->width;
	size = w + 4; /* two modules of margin each side */
	light = calloc((size_t)size * (size_t)(size + 1), 1);
	assert_non_null(light);
	for (p = out; *p != '\0'; rows++) {
		assert_memory_equal(p, pre, strlen(pre));
		p += strlen(pre);
		for (int x = 0; x < size; x++) {
			int top = 0, bot = 0;
			if (strncmp(p, "\u2588", 3) == 0)
				top = bot = 1, p += 3;
			else if (strncmp(p, "\u2580", 3) == 0)
				top = 1, bot = 0, p += 3;
			else if (strncmp(p, "\u2584", 3) == 0)
				top = 0, bot = 1, p += 3;
			else if (*p == ' ')
				top = bot = 0, p++;
			else
				fail_msg("row %d column %d: unexpected byte 0x%02x", rows, x,
				         (unsigned char)*p);
			light[(2 * rows) * size + x] = (unsigned char)top;
			light[(2 * rows + 1) * size + x] = (unsigned char)bot;
		}
		assert_memory_equal(p, post, strlen(post));
		p += strlen(post);
	}
	assert_int_equal(rows, (size + 1) / 2);
	for (int y = 0; y < size; y++)
		for (int x = 0; x < size; x++) {
			int mx = x - 2, my = y - 2;
			int dark = mx >= 0 && mx < w && my >= 0 && my < w && (qr->data[my * w + mx] & 1);
			if (light[y * size + x] != !dark)
				fail_msg("module (%d, %d) drawn %s", x, y, dark ? "light" : "dark");
		}
	free(light);
	free(out);
	QRcode_free(qr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qr_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
