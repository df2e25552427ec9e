/*
 * Fuzz target: the wrapped key file (server/keys/wrap.c): one line
 * "renkei-key 1 NAME aes-256-gcm IV CIPHERTEXT TAG", unwrapped under the
 * key-encryption key, and the checks a key file passes before it is read.
 *
 * Input: byte 0 says which key it is (bit 0: "care", else "audit") and
 * how the file is kept (bit 1: readable by the group, which must be
 * refused); the rest is the file's text.
 *
 * Invariants: unwrapping answers 0 (a key), -1 (not a wrapped key of
 * this name) or -2 (the tag does not verify: a wrong KEK, or altered);
 * a key comes only from a line of exactly the format (the words, then
 * nothing but line ends; one space between words); no text unwraps under
 * both names; a shared file is refused before it is read,
 * with a reason; a private one gives what the text does.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "fuzz.h"
#include "fuzz_store.h"
#include "keys/keys.h"

static char path[200];
/* The KEK every seed of tests/fuzz/corpus/key/ is wrapped under. */
static struct keys_kek kek = {
	.bytes = {0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5,
	          0xb4, 0xc3, 0xd2, 0xe1, 0xf0, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a,
	          0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0},
	.source = "the fuzz KEK",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	snprintf(path, sizeof(path), "%s/care.key", fuzz_scratch("key"));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name, *other;
	uint8_t key[KEYS_LEN], again[KEYS_LEN];
	char err[1024] = "";
	bool shared;
	int rc, fd;

	if (size == 0)
		return 0;
	name = data[0] & 1 ? "care" : "audit";
	other = data[0] & 1 ? "audit" : "care";
	shared = (data[0] & 2) != 0;
	data++, size--;

	/* In memory. */
	rc = keys_unwrap((const char *)data, size, name, &kek, key);
	CHECK(rc == 0 || rc == -1 || rc == -2);
	/* the name is part of the line and of what is authenticated: one
	 * text never unwraps as both */
	CHECK(!(rc == 0 &&
	        keys_unwrap((const char *)data, size, other, &kek, again) == 0));
	if (rc == 0) {
		/* Only the format: the words, then at most line ends. */
		char prefix[64];
		int n = snprintf(prefix, sizeof(prefix), "renkei-key 1 %s aes-256-gcm ",
		                 name);
		size_t words = (size_t)n + 24 + 1 + 64 + 1 + 32;
		CHECK(size >= words && memcmp(data, prefix, (size_t)n) == 0);
		for (size_t i = words; i < size; i++)
			CHECK(data[i] == '\n' || data[i] == '\r');
	}

	/* As a file, kept as byte 0 says. */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK(fchmod(fd, shared ? 0640 : 0600) == 0); /* whatever the umask */
	CHECK(write(fd, data, size) == (ssize_t)size);
	CHECK(close(fd) == 0);
	int frc = keys_unwrap_file(path, name, NULL, &kek, again, err, sizeof(err));
	CHECK(frc == 0 || frc == -1);
	if (shared) {
		CHECK(frc == -1 && strstr(err, "group or others") != NULL);
	} else if (size < KEYS_LINE_MAX) {
		/* what the file holds is what the text gave */
		CHECK((frc == 0) == (rc == 0));
		if (frc == 0)
			CHECK(memcmp(key, again, KEYS_LEN) == 0);
		else
			CHECK(err[0] != '\0');
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(again, sizeof(again));
	return 0;
}
