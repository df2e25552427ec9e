/*
 * Wrapped key files: AES-256-GCM under the KEK, one line of text each
 * (format at the top of keys.h), written so that a crash leaves either
 * the old file, or no file, or the whole new one — never half of one.
 */
#include "keys/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/text.h"

#define IV_LEN 12
#define TAG_LEN 16

static int
aad_of(const char *name, char *aad, size_t cap)
{
	int n = snprintf(aad, cap, "renkei-key 1 %s", name);
	return n > 0 && (size_t)n < cap ? n : -1;
}

/* enc: in -> out (32 bytes), tag out; dec: in -> out, tag checked. */
static int
gcm(int enc, const struct keys_kek *kek, const uint8_t iv[IV_LEN],
    const char *aad, int aadlen, const uint8_t in[KEYS_LEN],
    uint8_t out[KEYS_LEN], uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, kek->bytes, iv, enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &len, (const uint8_t *)aad, aadlen) == 1 &&
	     EVP_CipherUpdate(ctx, out, &len, in, KEYS_LEN) == 1 && len == KEYS_LEN;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
		     EVP_CipherFinal_ex(ctx, out + len, &len) == 1;
	else if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &len) == 1 &&
		     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		OPENSSL_cleanse(out, KEYS_LEN);
	return ok ? 0 : -1;
}

int
keys_wrap(const char *name, const struct keys_kek *kek,
          const uint8_t secret[KEYS_LEN], char line[KEYS_LINE_MAX])
{
	uint8_t iv[IV_LEN], ct[KEYS_LEN], tag[TAG_LEN];
	char aad[64], hiv[2 * IV_LEN + 1], hct[2 * KEYS_LEN + 1],
	    htag[2 * TAG_LEN + 1];
	int aadlen = aad_of(name, aad, sizeof(aad)), n;

	if (aadlen < 0)
		return -1;
	rk_random(iv, sizeof(iv));
	if (gcm(1, kek, iv, aad, aadlen, secret, ct, tag) != 0)
		return -1;
	rk_hex_encode(iv, IV_LEN, hiv);
	rk_hex_encode(ct, KEYS_LEN, hct);
	rk_hex_encode(tag, TAG_LEN, htag);
	n = snprintf(line, KEYS_LINE_MAX, "%s aes-256-gcm %s %s %s\n", aad, hiv,
	             hct, htag);
	return n > 0 && n < KEYS_LINE_MAX ? 0 : -1;
}

/* The word at line[*pos..len) must be exactly w (w NULL: lower-case hex
 * decoding into out[outlen]); words are separated by exactly one space
 * (`sep`: one is expected after this word). Strict on purpose: the
 * format has one spelling. */
static int
word(const char *line, size_t len, size_t *pos, const char *w, uint8_t *out,
     size_t outlen, bool sep)
{
	size_t i = *pos, start = i;
	int rc;

	while (i < len && line[i] != ' ' && line[i] != '\n' && line[i] != '\r')
		i++;
	if (i == start)
		return -1;
	if (w != NULL)
		rc = i - start == strlen(w) && memcmp(line + start, w, i - start) == 0
		         ? 0
		         : -1;
	else
		rc = rk_hex_decode(line + start, i - start, out, outlen);
	if (rc != 0)
		return -1;
	if (sep) {
		if (i >= len || line[i] != ' ')
			return -1;
		i++;
	}
	*pos = i;
	return 0;
}

int
keys_unwrap(const char *line, size_t len, const char *name,
            const struct keys_kek *kek, uint8_t out[KEYS_LEN])
{
	uint8_t iv[IV_LEN], ct[KEYS_LEN], tag[TAG_LEN];
	char aad[64];
	int aadlen = aad_of(name, aad, sizeof(aad));
	size_t pos = 0;

	if (aadlen < 0 || word(line, len, &pos, "renkei-key", NULL, 0, true) != 0 ||
	    word(line, len, &pos, "1", NULL, 0, true) != 0 ||
	    word(line, len, &pos, name, NULL, 0, true) != 0 ||
	    word(line, len, &pos, "aes-256-gcm", NULL, 0, true) != 0 ||
	    word(line, len, &pos, NULL, iv, IV_LEN, true) != 0 ||
	    word(line, len, &pos, NULL, ct, KEYS_LEN, true) != 0 ||
	    word(line, len, &pos, NULL, tag, TAG_LEN, false) != 0)
		return -1;
	while (pos < len && (line[pos] == '\n' || line[pos] == '\r'))
		pos++;
	if (pos != len)
		return -1;
	return gcm(0, kek, iv, aad, aadlen, ct, out, tag) == 0 ? 0 : -2;
}

int
keys_unwrap_file(const char *path, const char *name, const char *data_dir,
                 const struct keys_kek *kek, uint8_t out[KEYS_LEN], char *err,
                 size_t errlen)
{
	char buf[KEYS_LINE_MAX];
	ssize_t n;
	int fd, rc;

	if (keys_file_check(path, data_dir, true, NULL, err, errlen) != 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open key file %s: %s", path,
		         strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read key file %s: %s", path,
		         strerror(errno));
		return -1;
	}
	rc = keys_unwrap(buf, (size_t)n, name, kek, out);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc == -1) {
		snprintf(err, errlen,
		         "key file %s is not a wrapped %s key (renkei-key 1 %s "
		         "aes-256-gcm ...)",
		         path, name, name);
		return -1;
	}
	if (rc == -2) {
		snprintf(err, errlen,
		         "cannot unwrap key file %s: the key-encryption key (%s) is "
		         "wrong, or the file was altered (GCM tag check failed)",
		         path, kek->source);
		return -1;
	}
	return 0;
}

int
keys_sync_dir_of(const char *path)
{
	char copy[4096];
	int fd, rc;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
keys_rename_durable(const char *from, const char *to)
{
	if (rename(from, to) != 0)
		return -1;
	return keys_sync_dir_of(to);
}

int
keys_wrap_file(const char *path, const char *name, const struct keys_kek *kek,
               const uint8_t secret[KEYS_LEN], bool replace, char *err,
               size_t errlen)
{
	char line[KEYS_LINE_MAX], tmp[4096];
	size_t len;
	int fd;

	if (!replace && access(path, F_OK) == 0) {
		snprintf(err, errlen, "key file %s exists: refusing to replace it",
		         path);
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "key path too long: %s", path);
		return -1;
	}
	if (keys_wrap(name, kek, secret, line) != 0) {
		snprintf(err, errlen, "cannot wrap the %s key", name);
		return -1;
	}
	len = strlen(line);
	unlink(tmp); /* left by a crash: never read */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, line, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (keys_rename_durable(tmp, path) != 0) {
		snprintf(err, errlen, "cannot put %s in place: %s", path,
		         strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void
keys_id(const uint8_t secret[KEYS_LEN], char out[17])
{
	static const char tag[] = "renkei-key-id";
	uint8_t buf[sizeof(tag) - 1 + KEYS_LEN], h[32];

	memcpy(buf, tag, sizeof(tag) - 1);
	memcpy(buf + sizeof(tag) - 1, secret, KEYS_LEN);
	rk_sha256(buf, sizeof(buf), h);
	OPENSSL_cleanse(buf, sizeof(buf));
	rk_hex_encode(h, 8, out);
}

void
keys_random_hex(char out[65])
{
	uint8_t raw[KEYS_LEN];

	rk_random(raw, sizeof(raw));
	rk_hex_encode(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
}
