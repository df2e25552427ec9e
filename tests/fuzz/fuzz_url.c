/*
 * Fuzz target: the server URL the CLI is given (client-cli/lib/rkc_url.c:
 * --server, the config file, the cached session), and the Host header
 * made from it.
 *
 * Invariants of an accepted URL:
 *  - the host is not empty and holds nothing that could end a header
 *    line (no control, space, '@' or non-ASCII byte: a parsed URL must
 *    never inject headers); the port is 1..65535 in decimal; the path
 *    starts with '/' and holds no control, space, '#' or non-ASCII byte;
 *  - wss://HOSTHEADER/PATH, made from the parts, parses to the same parts
 *    (nothing is lost or read differently on a second look).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rkc_url.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	return 0;
}

static int
clean(const char *s, const char *forbidden)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr(forbidden, *s) != NULL)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	static struct rkc_url u, again;
	char host[RKC_URL_HOST_MAX + 16], url[RKC_URL_HOST_MAX + RKC_URL_PATH_MAX + 32];
	const char *why = NULL;
	long port;

	if (rkc_url_parse(s, &u, &why) != 0) {
		CHECK(why != NULL);
		free(s);
		return 0;
	}
	CHECK(u.host[0] != '\0' && clean(u.host, "@/?#"));
	port = strtol(u.port, NULL, 10);
	CHECK(port >= 1 && port <= 65535);
	CHECK(u.path[0] == '/' && clean(u.path, "#"));
	CHECK(u.host_is_ip == 0 || u.host_is_ip == 4 || u.host_is_ip == 6);

	CHECK(rkc_url_host_header(&u, host, sizeof(host)) == 0);
	CHECK(clean(host, "@/?#"));
	snprintf(url, sizeof(url), "wss://%s%s", host, u.path);
	CHECK(rkc_url_parse(url, &again, &why) == 0);
	CHECK(strcmp(again.host, u.host) == 0 && strcmp(again.port, u.port) == 0);
	CHECK(strcmp(again.path, u.path) == 0 && again.host_is_ip == u.host_is_ip);
	free(s);
	return 0;
}
