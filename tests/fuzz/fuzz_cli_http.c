/*
 * Fuzz target: the CLI's HTTP response parser (client-cli/lib/rkc_http.c)
 * on bytes as a server would answer: what rkc_https_get does with a whole
 * response (rkc_http_complete, rkc_http_response) and what rkc.c does
 * with the answer to its WebSocket upgrade (rkc_http_upgrade_check), and
 * the helpers under them.
 *
 * The upgrade check expects the Sec-WebSocket-Accept of RFC 6455's sample
 * key ("dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
 * once with subprotocol renkei.v1 offered and once with none.
 *
 * ASan does not see a read of an uninitialised local buffer, so the
 * stack is filled with a pattern before each call, and the response is
 * parsed twice, under two patterns ("AAAA..." and "chunked,chunked,..."):
 * the answers must be the same, or something read what was left there.
 *
 * Invariants:
 *  - the head ends at a blank line within the bytes; the status is a
 *    three-digit number; a header value found fits its buffer, has no
 *    blanks at either end, and a larger buffer gives the same value;
 *  - a response accepted has its body inside the bytes, right after the
 *    head, and a status like the head's; one refused says why;
 *  - an upgrade accepted is a 101 that names the expected accept key;
 *  - dechunking never grows the body.
 */
#include <string.h>

#include "fuzz.h"
#include "rkc_http.h"
#include "ws_frame.h"

static char accept_key[RKC_WS_ACCEPT_LEN + 1];

#define DIRT 2048
static char dirt_a[DIRT], dirt_chunked[DIRT];

/* Leave `pattern` (DIRT bytes) where the next call's locals will be. */
static __attribute__((noinline)) void
dirty_stack_with(const char *pattern)
{
	char junk[DIRT];

	memcpy(junk, pattern, DIRT);
	/* Keep the stores: the compiler may not drop them as dead. */
	__asm__ volatile("" : : "r"(junk) : "memory");
}

static void
dirty_stack(void)
{
	dirty_stack_with(dirt_a);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	CHECK(rkc_ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept_key) == 0);
	CHECK(strcmp(accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
	memset(dirt_a, 'A', DIRT);
	for (size_t i = 0; i < DIRT; i++)
		dirt_chunked[i] = "chunked,"[i % 8];
	return 0;
}

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
check_header(const char *head, size_t len, const char *name)
{
	char small[16], big[512];
	int a, b;

	a = rkc_http_header(head, len, name, small, sizeof(small));
	b = rkc_http_header(head, len, name, big, sizeof(big));
	CHECK(a >= -1 && a <= 1 && b >= -1 && b <= 1);
	CHECK((a == 0) == (b == 0));
	if (b == 1) {
		size_t n = strlen(big);
		CHECK(n < sizeof(big));
		CHECK(n == 0 || (!blank(big[0]) && !blank(big[n - 1])));
		if (a == 1)
			CHECK(strcmp(small, big) == 0);
		else
			CHECK(n >= sizeof(small) - 1);
		(void)rkc_http_has_token(big, "chunked");
		(void)rkc_http_has_token(big, "upgrade");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly size bytes, as a socket read leaves them: ASan sees any
	 * read past the end. */
	char *buf = malloc(size ? size : 1);
	size_t head, off = 0, blen = 0;
	char err[256];
	int status, rc;

	CHECK(buf != NULL);
	memcpy(buf, data, size);

	head = rkc_http_head_end(buf, size);
	CHECK(head == 0 || (head >= 4 && head <= size &&
	                    memcmp(buf + head - 4, "\r\n\r\n", 4) == 0));
	status = rkc_http_status(buf, head ? head : size);
	CHECK(status == -1 || (status >= 0 && status <= 999));
	if (head > 0) {
		check_header(buf, head, "Content-Length");
		check_header(buf, head, "Transfer-Encoding");
		check_header(buf, head, "Sec-WebSocket-Accept");
	}
	(void)rkc_http_complete(buf, size);

	/* The upgrade answer, as rkc.c checks it (the head only). */
	if (head > 0) {
		dirty_stack();
		rc = rkc_http_upgrade_check(buf, head, accept_key, "renkei.v1", err,
		                            sizeof(err));
		CHECK(rc == 0 || rc == -1);
		CHECK(rc != 0 || rkc_http_status(buf, head) == 101);
		dirty_stack();
		rc = rkc_http_upgrade_check(buf, head, accept_key, NULL, err,
		                            sizeof(err));
		CHECK(rc != 0 || rkc_http_status(buf, head) == 101);
	}

	/* The whole response, as rkc_https_get takes it (decoded in place),
	 * twice over different stack garbage. */
	dirty_stack();
	err[0] = '\0';
	rc = rkc_http_response(buf, size, &off, &blen, err, sizeof(err));
	if (rc < 0) {
		CHECK(rc == -1 && err[0] != '\0');
	} else {
		CHECK(head > 0 && rc == status && rc <= 999);
		CHECK(off == head && blen <= size - off);
	}
	{
		char err2[256] = "";
		size_t off2 = 0, blen2 = 0;
		int rc2;

		memcpy(buf, data, size);
		dirty_stack_with(dirt_chunked);
		rc2 = rkc_http_response(buf, size, &off2, &blen2, err2, sizeof(err2));
		CHECK(rc2 == rc);
		CHECK(rc < 0 ? strcmp(err2, err) == 0 : off2 == off && blen2 == blen);
	}

	/* The chunked decoder on whatever follows the head. */
	if (head > 0) {
		const char *why = NULL;
		size_t out = 0;
		memcpy(buf, data, size);
		if (rkc_http_dechunk(buf + head, size - head, &out, &why) == 0)
			CHECK(out <= size - head);
		else
			CHECK(why != NULL);
	}
	free(buf);
	return 0;
}
