/*
 * Database keys: 256 random bits, kept as 64 hex digits in a file that
 * only the server's user may read, or in an environment variable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "store/store.h"
#include "util/text.h"

static int
parse_key(struct store_key *key, const char *text, size_t n)
{
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
	                 text[n - 1] == ' '))
		n--;
	return rk_hex_decode(text, n, key->bytes, sizeof(key->bytes));
}

int
store_key_load(struct store_key *key, const char *env, const char *path,
               char *err, size_t errlen)
{
	const char *val = env ? getenv(env) : NULL;
	char buf[130];
	struct stat st;
	ssize_t n;
	int fd, rc;

	if (val != NULL && val[0] != '\0') {
		if (parse_key(key, val, strlen(val)) != 0) {
			snprintf(err, errlen, "%s must hold 64 hex digits", env);
			return -1;
		}
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "no database key: cannot open %s (%s)%s%s", path,
		         strerror(errno), env ? " and " : "", env ? env : "");
		if (env)
			snprintf(err + strlen(err), errlen - strlen(err), " is not set");
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		         "%s is readable by others (mode %04o): refusing to use it; "
		         "chmod 600 it",
		         path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	rc = parse_key(key, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc != 0) {
		snprintf(err, errlen, "%s must hold 64 hex digits", path);
		return -1;
	}
	return 0;
}

int
store_key_create(const char *path, char *err, size_t errlen)
{
	uint8_t raw[32];
	char hex[66];
	int fd;
	ssize_t n;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	rk_random(raw, sizeof(raw));
	rk_hex_encode(raw, sizeof(raw), hex);
	hex[64] = '\n';
	n = write(fd, hex, 65);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(hex, sizeof(hex));
	if (n != 65 || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}
