/*
 * Fuzz target: the call order syntax of `renkei sheet callorder`
 * (client-cli/oncall.c, cli_callorder_parse): commas between slots, '+'
 * between the people of one slot.
 *
 * Invariants of an accepted order: at most 8 slots of 1..8 non-empty
 * logins each, pointing into the input; joined back with the same
 * separators it is the input, byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *copy = strdup(s), *back;
	char *logins[8][8];
	size_t per[8], n, len = strlen(s), at = 0;

	CHECK(copy != NULL);
	if (cli_callorder_parse(s, logins, per, &n) != 0)
		goto out;
	CHECK(n <= 8);
	back = calloc(len + 2, 1);
	CHECK(back != NULL);
	for (size_t i = 0; i < n; i++) {
		CHECK(per[i] >= 1 && per[i] <= 8);
		for (size_t k = 0; k < per[i]; k++) {
			size_t l = strlen(logins[i][k]);
			CHECK(l > 0 && logins[i][k] >= s && logins[i][k] + l <= s + len);
			CHECK(strchr(logins[i][k], ',') == NULL &&
			      strchr(logins[i][k], '+') == NULL);
			if (k > 0)
				back[at++] = '+';
			memcpy(back + at, logins[i][k], l);
			at += l;
		}
		if (i + 1 < n)
			back[at++] = ',';
	}
	CHECK(at == len && memcmp(back, copy, len) == 0);
	free(back);
out:
	free(copy);
	free(s);
	return 0;
}
