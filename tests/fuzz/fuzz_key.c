/*
 * Fuzz target: the database key loader (server/store/key.c): 64 hex
 * digits from RENKEI_CARE_KEY, or from a key file that only the server's
 * user may read.
 *
 * Input: byte 0 says where the key comes from (bit 0: the environment,
 * else a file), and for a file its mode (bit 1: readable by the group,
 * which must be refused); the rest is the text.
 *
 * Invariants: a key is taken exactly when the text (up to its first NUL
 * for the environment; its first 129 bytes for a file, which is all the
 * loader reads) is 64 hex digits followed by nothing but newlines,
 * carriage returns and spaces, and the file, if any, is private; the key
 * is those digits; a refusal says why.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "fuzz_store.h"
#include "store/store.h"

static char path[200];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	unsetenv("RENKEI_CARE_KEY");
	snprintf(path, sizeof(path), "%s/care.key", fuzz_scratch("key"));
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The key the text holds, as the loader is documented to read it. */
static bool
expected(const char *t, size_t n, uint8_t out[32])
{
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
		n--;
	if (n != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(t[2 * i]), lo = hexval(t[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_key key;
	uint8_t want[32];
	char err[512] = "";
	bool from_env, shared, ok;
	int rc;

	if (size == 0)
		return 0;
	from_env = data[0] & 1;
	shared = (data[0] & 2) != 0;
	data++, size--;
	memset(&key, 0, sizeof(key));
	unlink(path);
	if (from_env) {
		char *text = fuzz_cstr(data, size);
		setenv("RENKEI_CARE_KEY", text, 1);
		ok = text[0] != '\0' && expected(text, strlen(text), want);
		rc = store_key_load(&key, "RENKEI_CARE_KEY", path, err, sizeof(err));
		unsetenv("RENKEI_CARE_KEY");
		/* an empty variable is not set: the file (absent) is read */
		free(text);
	} else {
		int fd;

		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, shared ? 0640 : 0600);
		CHECK(fd >= 0);
		CHECK(fchmod(fd, shared ? 0640 : 0600) == 0); /* whatever the umask */
		CHECK(write(fd, data, size) == (ssize_t)size);
		CHECK(close(fd) == 0);
		ok = !shared && expected((const char *)data, size < 129 ? size : 129, want);
		rc = store_key_load(&key, "RENKEI_CARE_KEY", path, err, sizeof(err));
	}
	CHECK(rc == 0 || rc == -1);
	CHECK((rc == 0) == ok);
	if (rc == 0)
		CHECK(memcmp(key.bytes, want, 32) == 0);
	else
		CHECK(err[0] != '\0');
	return 0;
}
