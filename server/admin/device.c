/*
 * `renkei-server device issue | revoke | list`: TLS client certificates
 * for devices, issued by the server's own CA (client_ca, whose key is
 * KEYS/certs/ca.key: the development CA that certs/make-dev-certs.sh
 * makes, or the operator's), recorded in care.db (auth/devcert.c) and in
 * the audit trail in the same transaction.
 *
 * A certificate: a fresh ECDSA P-256 key, subject O=renkei device,
 * OU=DEVICE, CN=LOGIN, 128-bit random serial, valid from five minutes ago
 * for --days (365), CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
 * clientAuth, signed with SHA-256. It is named by the SHA-256 of its DER
 * (the fingerprint the server sees and records as the device).
 *
 * Revoking ends the sessions that logged in with it; the running server
 * closes their connections within a second (api/revoke.c), and the
 * certificate no longer logs in or resumes anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin/admin.h"
#include "admin/trail.h"
#include "auth/auth.h"
#include "util/text.h"

#define DAYS_DEFAULT 365
#define DAYS_MAX     3650

static X509 *
read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = e != NULL && X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

/* Make the certificate of login's device, signed by ca / ca_key. */
static X509 *
make_cert(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *login,
          const char *device, int days, char serial_hex[41])
{
	uint8_t serial[16];
	X509 *x = X509_new();
	X509_NAME *nm;
	X509V3_CTX ctx;
	BIGNUM *bn;
	char *hex;

	if (x == NULL)
		return NULL;
	rk_random(serial, sizeof(serial));
	serial[0] &= 0x7f; /* a positive INTEGER */
	serial[0] |= 0x01;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	if (hex == NULL || X509_set_version(x, 2) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400L) ==
	        NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	snprintf(serial_hex, 41, "%s", hex);
	nm = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	                               (const unsigned char *)"renkei device",
	                               -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_UTF8,
	                               (const unsigned char *)device, -1, -1,
	                               0) != 1 ||
	    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	                               (const unsigned char *)login, -1, -1,
	                               0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1)
		goto fail;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") != 0 ||
	    add_ext(x, &ctx, NID_ext_key_usage, "clientAuth") != 0 ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0 ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid") != 0)
		goto fail;
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
		goto fail;
	OPENSSL_free(hex);
	BN_free(bn);
	return x;
fail:
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* The certificate's fingerprint: SHA-256 of its DER, lower-case hex. */
static int
fingerprint(X509 *x, char fp[AUTH_CERT_FP_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		snprintf(fp + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Write PEM text to a new file of `mode` (never over an existing one). */
static int
write_new(const char *path, int mode, X509 *x, EVP_PKEY *k)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0) {
		fprintf(stderr, "renkei-server: cannot create %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(path);
		return -1;
	}
	ok = x != NULL
	         ? PEM_write_X509(f, x) == 1
	         : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		fprintf(stderr, "renkei-server: cannot write %s\n", path);
		unlink(path);
		return -1;
	}
	return 0;
}

/* The command's record, staged in care.db's outbox inside the caller's
 * transaction (so that it commits with the change: audit.db and care.db
 * are not one atomic unit in WAL mode, docs/audit-commit.md); forwarded
 * and signed by admin_forward_sign after the commit. 0 or -1. */
static int
stage(struct store_conn *sc, const char *command, const char *action,
      const char *object, const char *reason)
{
	struct audit_event ev = {0};
	char login[64], device[64];

	admin_trail_actor(&ev, command, login, device);
	ev.action = action;
	ev.object = object;
	ev.reason = reason;
	return audit_stage(sc, &ev) == RK_OK ? 0 : -1;
}

/* Register and record in one transaction. 0, or -1 (printed). */
static int
register_cert(struct admin *a, const char *login, const char *device,
              const char *fp, const char *serial, int days)
{
	struct store_conn *sc;
	struct auth_user u;
	char reason[200];
	int64_t now = rk_now_ms();
	int rc = -1;

	if (admin_open(a, &sc) != 0)
		return -1;
	if (auth_user_load(sc, login, 0, &u) != RK_OK || u.disabled) {
		fprintf(stderr,
		        "renkei-server: device issue: no enabled user %s\n",
		        login);
		goto out;
	}
	snprintf(reason, sizeof(reason),
	         "issued to %s for device %s, serial %s", login, device,
	         serial);
	if (store_exec(sc, "BEGIN IMMEDIATE") != RK_OK)
		goto out;
	if (auth_cert_register(sc, u.id, device, fp, serial, now,
	                       now + (int64_t)days * 86400000) != RK_OK ||
	    stage(sc, "device issue", "device.issue", fp, reason) != 0) {
		store_conn_release(sc);
		store_exec(sc, "ROLLBACK");
		fprintf(stderr,
		        "renkei-server: device issue: database error\n");
		goto out;
	}
	store_conn_release(sc);
	if (store_exec(sc, "COMMIT") != RK_OK) {
		store_exec(sc, "ROLLBACK");
		fprintf(stderr,
		        "renkei-server: device issue: database error\n");
		goto out;
	}
	/* In the chain and signed now (else at the server's next start). */
	admin_forward_sign(a, sc);
	rc = 0;
out:
	store_conn_close(sc);
	return rc;
}

static int
device_issue(struct admin *a, int argc, char **argv)
{
	const char *login = NULL, *device = NULL, *out = ".",
	           *ca_key_path = NULL;
	char kpath[4096], cpath[4096], keyfile[4200], certfile[4200];
	char fp[AUTH_CERT_FP_LEN + 1], serial[41];
	int days = DAYS_DEFAULT, rc = 1;
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *ca_key = NULL, *key = NULL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc)
			days = atoi(argv[++i]);
		else if (strcmp(argv[i], "--ca-key") == 0 && i + 1 < argc)
			ca_key_path = argv[++i];
		else if (login == NULL)
			login = argv[i];
		else if (device == NULL)
			device = argv[i];
		else
			goto usage;
	}
	if (login == NULL || device == NULL || days < 1 || days > DAYS_MAX)
		goto usage;
	if (!auth_login_valid(login) || !auth_cert_device_valid(device)) {
		fprintf(stderr,
		        "renkei-server: device issue: LOGIN is a login, DEVICE "
		        "1 to 64 of A-Z a-z 0-9 . _ -\n");
		return 2;
	}
	snprintf(cpath, sizeof(cpath), "%s", a->conf->client_ca);
	if (ca_key_path != NULL)
		snprintf(kpath, sizeof(kpath), "%s", ca_key_path);
	else
		admin_key_path(a, "certs/ca.key", kpath, sizeof(kpath));
	ca = read_cert(cpath);
	ca_key = read_key(kpath);
	if (ca == NULL || ca_key == NULL ||
	    X509_check_private_key(ca, ca_key) != 1) {
		fprintf(
		    stderr,
		    "renkei-server: device issue: cannot read the CA "
		    "certificate %s and its key %s (or they do not match)\n",
		    cpath, kpath);
		goto done;
	}
	key = EVP_EC_gen("P-256");
	x = key != NULL
	        ? make_cert(ca, ca_key, key, login, device, days, serial)
	        : NULL;
	if (x == NULL || fingerprint(x, fp) != 0) {
		fprintf(stderr, "renkei-server: device issue: cannot make the "
		                "certificate\n");
		goto done;
	}
	snprintf(keyfile, sizeof(keyfile), "%s/%s-%s.key", out, login, device);
	snprintf(certfile, sizeof(certfile), "%s/%s-%s.pem", out, login,
	         device);
	if (write_new(keyfile, 0600, NULL, key) != 0)
		goto done;
	if (write_new(certfile, 0644, x, NULL) != 0) {
		unlink(keyfile);
		goto done;
	}
	if (register_cert(a, login, device, fp, serial, days) != 0) {
		unlink(keyfile);
		unlink(certfile);
		goto done;
	}
	printf(
	    "device certificate for %s on %s, valid %d days\n"
	    "  certificate  %s\n  key          %s (mode 0600: give it to that "
	    "device only)\n  fingerprint  %s\n",
	    login, device, days, certfile, keyfile, fp);
	rc = 0;
done:
	X509_free(ca);
	X509_free(x);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	return rc;
usage:
	fprintf(stderr,
	        "usage: renkei-server device issue LOGIN DEVICE [--out DIR] "
	        "[--days N (1-3650, default 365)] [--ca-key FILE]\n");
	return 2;
}

static int
device_revoke(struct admin *a, int argc, char **argv)
{
	struct store_conn *sc;
	struct auth_cert c;
	char reason[300];
	int rc;

	if (argc != 1 || strlen(argv[0]) != AUTH_CERT_FP_LEN) {
		fprintf(stderr,
		        "usage: renkei-server device revoke FINGERPRINT "
		        "(64 hex digits, from `device list`)\n");
		return 2;
	}
	if (admin_open(a, &sc) != 0)
		return 1;
	if (store_exec(sc, "BEGIN IMMEDIATE") != RK_OK) {
		store_conn_close(sc);
		return 1;
	}
	rc = auth_cert_revoke(sc, argv[0], rk_now_ms(), &c);
	if (rc == RK_OK) {
		snprintf(reason, sizeof(reason),
		         "issued to %s for device %s; %d session(s) ended",
		         c.login, c.device, c.sessions_ended);
		if (stage(sc, "device revoke", "device.revoke", argv[0], reason) != 0)
			rc = RK_ERR_STORE;
	}
	store_conn_release(sc);
	if (rc != RK_OK || store_exec(sc, "COMMIT") != RK_OK) {
		store_exec(sc, "ROLLBACK");
		store_conn_close(sc);
		fprintf(stderr, "renkei-server: device revoke: %s\n",
		        rc == RK_ERR_NOT_FOUND ? "no such certificate in force"
		                               : "database error");
		return 1;
	}
	admin_forward_sign(a, sc);
	store_conn_close(sc);
	printf(
	    "device certificate %s (%s on %s) revoked; %d session(s) ended\n",
	    argv[0], c.login, c.device, c.sessions_ended);
	return 0;
}

static int
print_cert(void *arg, const struct auth_cert *c)
{
	char issued[32], until[32];
	time_t t;

	(void)arg;
	t = (time_t)(c->issued_ms / 1000);
	strftime(issued, sizeof(issued), "%Y-%m-%d", gmtime(&t));
	t = (time_t)(c->expires_ms / 1000);
	strftime(until, sizeof(until), "%Y-%m-%d", gmtime(&t));
	printf("%s  %-20s %-20s %s..%s%s\n", c->fingerprint, c->login,
	       c->device, issued, until, c->revoked_ms ? "  revoked" : "");
	return 0;
}

static int
device_list(struct admin *a, int argc, char **argv)
{
	struct store_conn *sc;
	int rc;

	if (argc > 1) {
		fprintf(stderr, "usage: renkei-server device list [LOGIN]\n");
		return 2;
	}
	if (admin_open(a, &sc) != 0)
		return 1;
	rc = auth_cert_list(sc, argc == 1 ? argv[0] : NULL, print_cert, NULL);
	store_conn_close(sc);
	return rc == RK_OK ? 0 : 1;
}

int
admin_device(struct admin *a, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "issue") == 0)
		return device_issue(a, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "revoke") == 0)
		return device_revoke(a, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return device_list(a, argc - 1, argv + 1);
	fprintf(stderr,
	        "usage: renkei-server device issue LOGIN DEVICE | revoke "
	        "FINGERPRINT | list [LOGIN]\n");
	return 2;
}
