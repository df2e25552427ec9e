/*
 * rkc_uuid — random UUIDs; see rkc_uuid.h.
 */
#include "rkc_uuid.h"

#include <string.h>

#include <openssl/rand.h>

void
rkc_uuid_v4_format(uint8_t b[16], char out[RKC_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10xx (RFC 4122) */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
}

int
rkc_uuid_v4(char out[RKC_UUID_LEN + 1])
{
	uint8_t b[16];

	out[0] = '\0';
	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	rkc_uuid_v4_format(b, out);
	return 0;
}

int
rkc_client_id_valid(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}
