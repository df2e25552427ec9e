/*
 * Where the key-encryption key comes from (the sources are described at
 * the top of keys.h). The KEK itself is never written anywhere by the
 * server: a passphrase is stretched with argon2id each time, under the
 * salt and costs of KEYS_DIR/kek.params (not secret: without the
 * passphrase they give nothing).
 */
#include "keys/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <argon2.h>
#include <openssl/crypto.h>

#include "util/text.h"

#define SALT_LEN 16
#define PASS_MAX 1024
#define PASS_MIN 12

struct params {
	int t, m_kib;
	uint8_t salt[SALT_LEN];
};

/* Trailing newline and spaces off. */
static size_t
trim(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	return n;
}

static int
read_small(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap && (r = read(fd, buf + n, cap - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

/* 64 hex digits (and a newline), or exactly 32 raw bytes. */
static int
parse_kek(struct keys_kek *kek, const char *text, size_t n, bool raw_ok)
{
	if (raw_ok && n == KEYS_LEN) {
		memcpy(kek->bytes, text, KEYS_LEN);
		return 0;
	}
	n = trim(text, n);
	return rk_hex_decode(text, n, kek->bytes, KEYS_LEN);
}

static int
from_credential(struct keys_kek *kek, const char *dir, char *err, size_t errlen)
{
	char path[4096], buf[130];
	size_t n = 0;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, KEYS_CREDENTIAL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen,
		         "no key-encryption key: cannot read the systemd credential "
		         "%s: %s",
		         path, strerror(errno));
		return -1;
	}
	rc = read_small(fd, buf, sizeof(buf), &n);
	close(fd);
	rc = rc == 0 ? parse_kek(kek, buf, n, true) : -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc != 0) {
		snprintf(err, errlen,
		         "the systemd credential %s must hold 64 hex digits or 32 "
		         "bytes",
		         path);
		return -1;
	}
	snprintf(kek->source, sizeof(kek->source), "systemd credential %s",
	         KEYS_CREDENTIAL);
	return 0;
}

static int
from_env(struct keys_kek *kek, char *err, size_t errlen)
{
	char *val = getenv(KEYS_KEK_ENV);
	int rc;

	if (val == NULL || val[0] == '\0') {
		snprintf(err, errlen, "no key-encryption key: %s is not set",
		         KEYS_KEK_ENV);
		return -1;
	}
	rc = parse_kek(kek, val, strlen(val), false);
	/* Not left for /proc/PID/environ or a child to read: the whole
	 * "RENKEI_KEK=..." string, which getenv's answer ends. */
	OPENSSL_cleanse(val - sizeof(KEYS_KEK_ENV), strlen(val) + sizeof(KEYS_KEK_ENV));
	unsetenv(KEYS_KEK_ENV);
	if (rc != 0) {
		snprintf(err, errlen, "%s must hold 64 hex digits", KEYS_KEK_ENV);
		return -1;
	}
	snprintf(kek->source, sizeof(kek->source),
	         "%s, for development only", KEYS_KEK_ENV);
	return 0;
}

/* kek.params: "renkei-kek 1 argon2id t=T m=M p=1 salt=HEX". */
static int
params_read(struct params *p, const char *path, char *err, size_t errlen)
{
	char buf[256], salt[2 * SALT_LEN + 2];
	size_t n = 0;
	bool missing;
	int fd, rc;

	if (keys_file_check(path, NULL, false, &missing, err, errlen) != 0)
		return missing ? 1 : -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || read_small(fd, buf, sizeof(buf) - 1, &n) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	rc = sscanf(buf, "renkei-kek 1 argon2id t=%d m=%d p=1 salt=%33s", &p->t,
	            &p->m_kib, salt);
	if (rc != 3 || p->t < 1 || p->t > 100 || p->m_kib < 8 ||
	    p->m_kib > (4 << 20) ||
	    rk_hex_decode(salt, strlen(salt), p->salt, SALT_LEN) != 0) {
		snprintf(err, errlen,
		         "%s is malformed (want: renkei-kek 1 argon2id t=T m=KIB "
		         "p=1 salt=HEX)",
		         path);
		return -1;
	}
	return 0;
}

static int
params_create(struct params *p, const char *path, int t, int m_kib, char *err,
              size_t errlen)
{
	char line[160], salt[2 * SALT_LEN + 1];
	int fd, n;

	p->t = t > 0 ? t : 3;
	p->m_kib = m_kib > 0 ? m_kib : 65536;
	rk_random(p->salt, SALT_LEN);
	rk_hex_encode(p->salt, SALT_LEN, salt);
	n = snprintf(line, sizeof(line),
	             "renkei-kek 1 argon2id t=%d m=%d p=1 salt=%s\n", p->t,
	             p->m_kib, salt);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return -1;
	}
	close(fd);
	keys_sync_dir_of(path);
	return 0;
}

/* One line from fd (the newline dropped) into buf; its length, or -1. */
static ssize_t
read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char c;
	ssize_t r;

	while (n + 1 < cap) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Ask on the terminal without echo; twice when `confirm`. */
static int
ask_tty(char *pass, size_t cap, bool confirm, char *err, size_t errlen)
{
	char again[PASS_MAX];
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0) {
		snprintf(err, errlen,
		         "no key-encryption key: no terminal to ask the passphrase "
		         "on (give --kek-passphrase-fd N, or a systemd credential)");
		return -1;
	}
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		snprintf(err, errlen, "cannot switch off echo on the terminal");
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ICANON;
	dprintf(fd, "renkei key-encryption passphrase: ");
	tcsetattr(fd, TCSAFLUSH, &quiet);
	if (read_line(fd, pass, cap) < 0)
		rc = -1;
	dprintf(fd, "\n");
	if (rc == 0 && confirm) {
		dprintf(fd, "again: ");
		if (read_line(fd, again, sizeof(again)) < 0 ||
		    strcmp(again, pass) != 0) {
			snprintf(err, errlen, "the two passphrases differ");
			rc = -2;
		}
		dprintf(fd, "\n");
	}
	tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	OPENSSL_cleanse(again, sizeof(again));
	if (rc == -1)
		snprintf(err, errlen, "cannot read the passphrase from the terminal");
	return rc == 0 ? 0 : -1;
}

static int
from_passphrase(struct keys_kek *kek, const struct keys_kek_opts *o, char *err,
                size_t errlen)
{
	char path[4096], pass[PASS_MAX] = "";
	struct params p;
	bool made = false;
	size_t n;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", o->keys_dir, KEYS_PARAMS);
	rc = params_read(&p, path, err, errlen);
	if (rc == 1 && o->create) {
		if (params_create(&p, path, o->argon2_t, o->argon2_m_kib, err,
		                  errlen) != 0)
			return -1;
		made = true;
	} else if (rc == 1) {
		snprintf(err, errlen,
		         "no key-encryption key: a passphrase needs %s (made by "
		         "renkei-server init with a passphrase), and there is none",
		         path);
		return -1;
	} else if (rc != 0) {
		return -1;
	}
	rc = 0;
	if (o->passphrase_fd >= 0) {
		if (read_line(o->passphrase_fd, pass, sizeof(pass)) < 0) {
			snprintf(err, errlen, "cannot read the passphrase from fd %d",
			         o->passphrase_fd);
			rc = -1;
		}
	} else {
		rc = ask_tty(pass, sizeof(pass), made, err, errlen);
	}
	n = strlen(pass);
	if (rc == 0 && n < PASS_MIN) {
		snprintf(err, errlen,
		         "the key-encryption passphrase must be at least %d "
		         "characters",
		         PASS_MIN);
		rc = -1;
	}
	if (rc == 0 &&
	    argon2id_hash_raw((uint32_t)p.t, (uint32_t)p.m_kib, 1, pass, n, p.salt,
	                      SALT_LEN, kek->bytes, KEYS_LEN) != ARGON2_OK) {
		snprintf(err, errlen, "argon2id failed on the passphrase");
		rc = -1;
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	if (rc != 0) {
		if (made)
			unlink(path); /* nothing was wrapped under it yet */
		return -1;
	}
	snprintf(kek->source, sizeof(kek->source), "passphrase, argon2id under %s",
	         KEYS_PARAMS);
	return 0;
}

int
keys_kek_load(struct keys_kek *kek, const struct keys_kek_opts *o, char *err,
              size_t errlen)
{
	const char *src = o->source != NULL && o->source[0] ? o->source : "auto";
	const char *cred = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];
	int rc;

	memset(kek, 0, sizeof(*kek));
	if (strcmp(src, "credential") == 0) {
		if (cred == NULL || cred[0] == '\0') {
			snprintf(err, errlen,
			         "no key-encryption key: kek_source is credential but "
			         "$CREDENTIALS_DIRECTORY is not set (LoadCredentialEncrypted="
			         "%s:... in the unit)",
			         KEYS_CREDENTIAL);
			return -1;
		}
		rc = from_credential(kek, cred, err, errlen);
	} else if (strcmp(src, "env") == 0) {
		rc = from_env(kek, err, errlen);
	} else if (strcmp(src, "passphrase") == 0) {
		rc = from_passphrase(kek, o, err, errlen);
	} else if (strcmp(src, "auto") != 0) {
		snprintf(err, errlen,
		         "kek_source: expected auto, credential, passphrase or env");
		return -1;
	} else if (o->passphrase_fd >= 0) {
		rc = from_passphrase(kek, o, err, errlen);
	} else if (cred != NULL && cred[0] != '\0' &&
	           snprintf(path, sizeof(path), "%s/%s", cred, KEYS_CREDENTIAL) > 0 &&
	           access(path, F_OK) == 0) {
		rc = from_credential(kek, cred, err, errlen);
	} else if (getenv(KEYS_KEK_ENV) != NULL) {
		rc = from_env(kek, err, errlen);
	} else {
		snprintf(path, sizeof(path), "%s/%s", o->keys_dir, KEYS_PARAMS);
		if (access(path, F_OK) != 0 && !o->create) {
			snprintf(err, errlen,
			         "no key-encryption key: give the systemd credential "
			         "%s, --kek-passphrase-fd N, or for development %s "
			         "(64 hex digits)",
			         KEYS_CREDENTIAL, KEYS_KEK_ENV);
			return -1;
		}
		rc = from_passphrase(kek, o, err, errlen);
	}
	if (rc != 0)
		keys_kek_wipe(kek);
	return rc;
}

void
keys_kek_wipe(struct keys_kek *kek)
{
	OPENSSL_cleanse(kek, sizeof(*kek));
}
