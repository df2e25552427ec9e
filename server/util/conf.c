#include "util/conf.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "util/log.h"
#include "util/mem.h"

enum conf_type { CONF_INT, CONF_STR };

struct conf_entry {
	const char *name;
	enum conf_type type;
	const char *def;
	long min, max;
	size_t offset;
	const char *help;
	long test_min; /* the minimum under RENKEI_ARGON2_TEST_COST=1; 0: min */
};

#define INT_ENTRY(n, d, lo, hi, h)                                             \
	{ #n, CONF_INT, d, lo, hi, offsetof(struct conf, n), h, 0 }
#define STR_ENTRY(n, d, h)                                                     \
	{ #n, CONF_STR, d, 0, 0, offsetof(struct conf, n), h, 0 }
/* A cost with a security floor (lo) that only a test run may go under,
 * down to test_lo (conf_argon2_test_cost). */
#define FLOOR_ENTRY(n, d, lo, test_lo, hi, h)                                  \
	{ #n, CONF_INT, d, lo, hi, offsetof(struct conf, n), h, test_lo }

static const struct conf_entry conf_table[] = {
	STR_ENTRY(data_dir, "renkei-data",
	          "folder holding the databases (never a key: see keys_dir)"),
	STR_ENTRY(listen, "127.0.0.1",
	          "address to listen on (\"*\" for every interface)"),
	INT_ENTRY(port, "8443", 1, 65535, "TCP port for wss:// and https://"),
	STR_ENTRY(tls_cert, "", "server certificate (PEM); default KEYS/certs/server.pem"),
	STR_ENTRY(client_cert, "off",
	          "TLS client certificates of devices: off, optional (checked when "
	          "sent) or required (no connection without one); issued by "
	          "`renkei-server device issue`"),
	STR_ENTRY(client_ca, "",
	          "CA that issues device certificates (PEM); default "
	          "KEYS/certs/ca.pem (its key KEYS/certs/ca.key signs them)"),
	STR_ENTRY(tls_key, "",
	          "server private key (PEM); default KEYS/certs/server.key (never "
	          "inside the data folder)"),
	STR_ENTRY(keys_dir, "",
	          "key folder (wrapped database keys, audit signing key), kept "
	          "apart from the data folder; default: beside the data folder, "
	          "named after it with -data replaced by (or else followed by) "
	          "-keys: renkei-data -> renkei-keys; a system install uses "
	          "/etc/renkei/keys"),
	STR_ENTRY(kek_source, "auto",
	          "where the key-encryption key comes from: credential (systemd "
	          "$CREDENTIALS_DIRECTORY/renkei-kek), passphrase (asked at "
	          "start, or --kek-passphrase-fd), env (RENKEI_KEK, development "
	          "only), or auto (the first of these that is there)"),
	INT_ENTRY(kek_passphrase_fd, "-1", -1, 65535,
	          "read the key-encryption passphrase from this file descriptor "
	          "(one line) instead of the terminal; -1 = none"),
	INT_ENTRY(kek_argon2_t, "3", 1, 100,
	          "argon2id passes that stretch a new key-encryption passphrase "
	          "(init; kept in KEYS/kek.params)"),
	INT_ENTRY(kek_argon2_m_kib, "65536", 8, 4 << 20,
	          "argon2id memory (KiB) for a new key-encryption passphrase "
	          "(init)"),
	INT_ENTRY(max_message_bytes, "1048576", 4096, 64 << 20,
	          "largest WebSocket message accepted; larger closes with 1009"),
	INT_ENTRY(out_queue_frames, "512", 8, 1 << 20,
	          "frames queued to one client before it is disconnected"),
	INT_ENTRY(out_queue_bytes, "8388608", 65536, 1 << 30,
	          "bytes queued to one client before it is disconnected"),
	INT_ENTRY(ping_interval_s, "30", 5, 3600,
	          "send a WebSocket ping after this long without traffic"),
	INT_ENTRY(ping_hangup_s, "75", 10, 7200,
	          "close a connection silent for this long"),
	INT_ENTRY(close_grace_s, "2", 1, 60,
	          "a connection the server closes (culled, too large, timed out, "
	          "session ended) that has not taken its close frame by then is "
	          "reset"),
	INT_ENTRY(login_timeout_s, "30", 1, 3600,
	          "close a connection that has not logged in by then"),
	INT_ENTRY(prelogin_max_requests, "10", 1, 1000,
	          "requests allowed on a connection before it logs in"),
	INT_ENTRY(one_time_password_days, "7", 1, 90,
	          "a one-time password or invitation code unused for this long is refused"),
	INT_ENTRY(resume_nonce_s, "60", 1, 600,
	          "a ResumeChallengeResponse nonce is good for this long"),
	INT_ENTRY(max_connections, "10000", 1, 1000000,
	          "open sockets in all; more are closed at accept"),
	INT_ENTRY(max_connections_per_address, "256", 1, 1000000,
	          "open sockets from one peer address; more are closed at accept"),
	INT_ENTRY(rate_read_per_s, "10000", 1, 1000000,
	          "read requests per second per session (burst: 2 s worth); "
	          "more get RESOURCE_EXHAUSTED with a retry hint"),
	INT_ENTRY(rate_write_per_s, "2000", 1, 1000000,
	          "write requests (posts, acks, sheet changes) per second per "
	          "session (burst: 2 s worth)"),
	INT_ENTRY(rate_bulk_per_s, "200", 1, 100000,
	          "photo and export requests per second per session (burst: 2 s "
	          "worth)"),
	INT_ENTRY(max_inflight, "64", 1, 100000,
	          "requests one connection may have in flight; at this many its "
	          "socket is not read until half are answered"),
	INT_ENTRY(prelogin_max_message_bytes, "8192", 1024, 1 << 20,
	          "largest WebSocket message before login (a login is ~1.5 KB); "
	          "larger closes with 1009"),
	INT_ENTRY(session_idle_s, "1800", 10, 30 * 86400,
	          "a session unused for this long ends"),
	INT_ENTRY(session_max_s, "43200", 60, 90 * 86400,
	          "a session ends this long after login, used or not"),
	INT_ENTRY(login_max_failures, "5", 0, 1000,
	          "failed logins of one login from one address before each "
	          "further one must wait; a login is never locked out"),
	INT_ENTRY(login_max_failures_per_address, "20", 1, 100000,
	          "failed logins from one address, for all logins together, "
	          "before each further one must wait"),
	INT_ENTRY(login_delay_s, "1", 1, 3600,
	          "the first wait; each further failure doubles it"),
	INT_ENTRY(login_delay_max_s, "300", 1, 86400, "the longest wait"),
	INT_ENTRY(login_quiet_s, "900", 1, 30 * 86400,
	          "failures older than this are forgotten"),
	/* OWASP's floor for argon2id (auth.h AUTH_ARGON2_*_MIN). */
	FLOOR_ENTRY(argon2_t, "2", 2, 1, 100,
	            "argon2id passes for new password hashes (at least 2, "
	            "OWASP's floor)"),
	FLOOR_ENTRY(argon2_m_kib, "19456", 19456, 8, 4 << 20,
	            "argon2id memory (KiB) for new password hashes (at least "
	            "19456, OWASP's floor)"),
	INT_ENTRY(store_readers, "2", 1, 64, "database reader threads"),
	INT_ENTRY(store_hashers, "1", 1, 64,
	          "threads that check passwords (argon2), apart from the readers "
	          "so that a flood of logins does not slow reads"),
	INT_ENTRY(login_queue_max, "64", 1, 100000,
	          "most logins waiting for a password check: beyond it a login is "
	          "answered RESOURCE_EXHAUSTED at once (retry after 1 s)"),
	INT_ENTRY(store_max_batch, "1000", 1, 100000,
	          "most operations committed in one transaction"),
	INT_ENTRY(store_queue_max, "20000", 16, 10000000,
	          "most operations waiting for the writer (and for the readers) "
	          "before new requests are answered UNAVAILABLE"),
	INT_ENTRY(store_disk_reserve_mb, "64", 0, 1 << 20,
	          "free space (MiB) kept on each database's filesystem: below it, "
	          "changes are refused (RESOURCE_EXHAUSTED) while reads and their "
	          "audit records go on; 0 = none"),
	INT_ENTRY(store_cache_mb, "64", 2, 65536,
	          "page cache per database connection (MiB): every page read "
	          "from disk is decrypted, so size it for the working set"),
	INT_ENTRY(shutdown_grace_s, "10", 0, 600,
	          "on SIGTERM, time allowed to finish accepted work"),
	INT_ENTRY(handoff_readonly_s, "604800", 1, 366 * 86400,
	          "after a hand-off is accepted, hospital members may read (not "
	          "post) for this long"),
	INT_ENTRY(audit_checkpoint_records, "1000", 1, 10000000,
	          "sign an audit checkpoint after this many records"),
	INT_ENTRY(audit_checkpoint_s, "60", 1, 86400,
	          "... or when the oldest unsigned record is this old"),
	STR_ENTRY(checkpoint_sink, "",
	          "where each signed audit checkpoint is also handed, to anchor "
	          "the chain off the host: file:/PATH (appended, on another "
	          "mount), syslog, or exec:/PATH (run with the anchor line on "
	          "stdin); empty = none"),
	INT_ENTRY(clock_jump_ms, "2000", 100, 86400000,
	          "a backward step of the wall clock larger than this is logged "
	          "(CLOCK-JUMP) and recorded in the audit trail"),
	STR_ENTRY(backup_key_file, "",
	          "key of the backups (64 hex digits, mode 0600), apart from the "
	          "live keys; default DATA/keys/backup.key; env RENKEI_BACKUP_KEY "
	          "wins"),
	INT_ENTRY(backup_keep, "7", 1, 1000,
	          "backups kept in the folder given to backup --to; older ones "
	          "are removed"),
	INT_ENTRY(backup_max_mb_s, "0", 0, 100000,
	          "a backup copies at most this many MiB/s, to leave the disk and "
	          "the CPU (every page is decrypted and encrypted again) to the "
	          "running server; 0 = as fast as it can"),
	INT_ENTRY(breakglass_s, "14400", 1, 86400,
	          "how long a break-glass grant lasts"),
	INT_ENTRY(escalate_after_s, "600", 1, 86400,
	          "an urgent post that no one in the call slot it has reached "
	          "confirms within this many seconds is escalated to the next slot "
	          "of the patient's call order, then to the organisations' on-call "
	          "persons (docs/oncall.md)"),
	INT_ENTRY(upload_max_bytes, "20971520", 1024, 256 << 20,
	          "largest photo accepted (bytes); a larger one is refused "
	          "RESOURCE_EXHAUSTED"),
	INT_ENTRY(upload_max_per_user, "4", 1, 1000,
	          "uploads one user may have in progress (begun, not finished); "
	          "one more is refused RESOURCE_EXHAUSTED"),
	INT_ENTRY(upload_quota_mb, "256", 1, 65536,
	          "photo bytes (MiB) one user may hold that are on no post yet: "
	          "uploads in progress at their declared size plus finished photos "
	          "not yet on a post; a new upload past it is refused "
	          "RESOURCE_EXHAUSTED"),
	INT_ENTRY(upload_max_total_mb, "512", 1, 65536,
	          "bytes (MiB) of every user's uploads in progress together; past "
	          "it a new upload is refused RESOURCE_EXHAUSTED"),
	INT_ENTRY(upload_abandon_s, "3600", 10, 30 * 86400,
	          "an upload untouched this long is abandoned and deleted"),
	INT_ENTRY(attachment_orphan_s, "86400", 10, 365 * 86400,
	          "a finished photo on no post after this long is deleted"),
	INT_ENTRY(export_max_mb, "256", 1, 4096,
	          "largest audit export (MiB); a larger range is refused "
	          "RESOURCE_EXHAUSTED (choose a shorter one)"),
	INT_ENTRY(export_max_per_user, "1", 1, 64,
	          "audit exports one user may have being made or not yet fetched "
	          "to the end; one more is refused RESOURCE_EXHAUSTED"),
	INT_ENTRY(export_max_concurrent, "2", 1, 64,
	          "audit exports being made or not yet fetched to the end, in all "
	          "(each holds up to export_max_mb of memory); one more is refused "
	          "RESOURCE_EXHAUSTED"),
	INT_ENTRY(export_idle_s, "600", 10, 86400,
	          "an audit export not fetched from for this long is dropped"),
	STR_ENTRY(log_level, "info", "error, warn, info or debug"),
	STR_ENTRY(metrics_access, "loopback",
	          "who may GET /metrics: loopback, any or off"),
	STR_ENTRY(web_dir, "",
	          "folder of the built web client, served under /app/ (read once "
	          "at start): empty = the folder web beside the server binary "
	          "(build/web from scripts/build.sh); off = no web client"),
	STR_ENTRY(totp_required, "staff",
	          "who must enrol a second factor (TOTP) before doing anything: "
	          "staff (every professional, auditor and admin; family may opt "
	          "in), all (family too) or off; whoever has enrolled is asked "
	          "for a code at every login whatever this says"),
	/* Notices (docs/notice.md): content-free, on a thread of their own. */
	INT_ENTRY(notice_enabled, "1", 0, 1,
	          "send notices (Web Push, e-mail) of new posts: 1 on, 0 off "
	          "(devices can still be registered)"),
	INT_ENTRY(notice_batch_ms, "2000", 0, 600000,
	          "what reaches one device within this many ms of the first is "
	          "one notice (a burst of posts is one notice)"),
	INT_ENTRY(notice_user_interval_ms, "30000", 0, 3600000,
	          "non-urgent notices to one user at least this far apart "
	          "(what comes meanwhile joins the next one); urgent ones only "
	          "wait for notice_batch_ms"),
	INT_ENTRY(notice_retries, "4", 0, 10,
	          "a delivery that failed for a reason that may pass (5xx, 429, "
	          "timeout, no connection) is tried again this many times"),
	INT_ENTRY(notice_retry_ms, "2000", 10, 600000,
	          "wait before the first retry, doubled for each next one"),
	INT_ENTRY(notice_timeout_ms, "10000", 100, 120000,
	          "the longest one delivery may take (connect and answer)"),
	INT_ENTRY(notice_queue_max, "10000", 1, 1000000,
	          "devices with a notice waiting, at most; beyond it new ones "
	          "are dropped and counted"),
	INT_ENTRY(notice_max_devices, "10", 1, 100,
	          "notice devices (push subscriptions and e-mail addresses) one "
	          "user may register"),
	INT_ENTRY(notice_ttl_s, "86400", 0, 2419200,
	          "how long a push service keeps a notice for a device that is "
	          "offline (the TTL header)"),
	STR_ENTRY(notice_link, "",
	          "the app's address, put in every notice as its link (https://, "
	          "e.g. https://renkei.example.jp/): never a patient or a post"),
	STR_ENTRY(vapid_subject, "",
	          "VAPID contact for push services (RFC 8292 sub): mailto:... or "
	          "https://...; empty: none"),
	STR_ENTRY(push_ca, "",
	          "CA certificates (PEM) to trust for push services; empty: the "
	          "system's"),
	INT_ENTRY(push_allow_private, "0", 0, 1,
	          "1: push endpoints may be private or loopback addresses (tests, "
	          "an in-house push service); 0: refused at registration and at "
	          "connect"),
	STR_ENTRY(smtp_url, "",
	          "the mail relay for e-mail notices: smtp://host:port (STARTTLS "
	          "is required) or smtps://host:port; empty: no e-mail notices"),
	STR_ENTRY(smtp_from, "", "the From address of e-mail notices"),
	STR_ENTRY(smtp_ca, "",
	          "CA certificates (PEM) to trust for the mail relay; empty: the "
	          "system's"),
};

#define CONF_COUNT (sizeof(conf_table) / sizeof(conf_table[0]))

static const struct conf_entry *
find(const char *name)
{
	char norm[64];
	size_t i;

	for (i = 0; name[i] != '\0' && i < sizeof(norm) - 1; i++)
		norm[i] = name[i] == '-' ? '_' : name[i];
	norm[i] = '\0';
	for (i = 0; i < CONF_COUNT; i++)
		if (strcmp(conf_table[i].name, norm) == 0)
			return &conf_table[i];
	return NULL;
}

static int
apply(struct conf *c, const struct conf_entry *e, const char *value, char *err,
      size_t errlen)
{
	void *field = (char *)c + e->offset;

	if (e->type == CONF_STR) {
		char **s = field;
		free(*s);
		*s = rk_strdup(value);
		if (strcmp(e->name, "metrics_access") == 0 &&
		    strcmp(value, "loopback") != 0 && strcmp(value, "any") != 0 &&
		    strcmp(value, "off") != 0) {
			snprintf(err, errlen, "%s: expected loopback, any or off", e->name);
			return -1;
		}
		if (strcmp(e->name, "totp_required") == 0 &&
		    strcmp(value, "staff") != 0 && strcmp(value, "all") != 0 &&
		    strcmp(value, "off") != 0) {
			snprintf(err, errlen, "%s: expected staff, all or off", e->name);
			return -1;
		}
		if (strcmp(e->name, "kek_source") == 0 &&
		    strcmp(value, "auto") != 0 && strcmp(value, "credential") != 0 &&
		    strcmp(value, "passphrase") != 0 && strcmp(value, "env") != 0) {
			snprintf(err, errlen,
			         "%s: expected auto, credential, passphrase or env",
			         e->name);
			return -1;
		}
		if (strcmp(e->name, "checkpoint_sink") == 0 && value[0] != '\0' &&
		    strcmp(value, "syslog") != 0 &&
		    strncmp(value, "file:/", 6) != 0 &&
		    strncmp(value, "exec:/", 6) != 0) {
			snprintf(err, errlen, "%s: expected file:/PATH, syslog or "
			         "exec:/PATH (an absolute path)", e->name);
			return -1;
		}
		if (strcmp(e->name, "client_cert") == 0 && strcmp(value, "off") != 0 &&
		    strcmp(value, "optional") != 0 && strcmp(value, "required") != 0) {
			snprintf(err, errlen, "%s: expected off, optional or required",
			         e->name);
			return -1;
		}
		/* Put into notices and e-mail headers as they are: plain
		 * ASCII without quotes, backslashes, spaces or angle brackets. */
		if ((strcmp(e->name, "notice_link") == 0 ||
		     strcmp(e->name, "vapid_subject") == 0 ||
		     strcmp(e->name, "smtp_from") == 0) &&
		    value[0] != '\0') {
			bool bad = strlen(value) > 200;
			for (const char *p = value; *p && !bad; p++)
				bad = *p <= 0x20 || *p >= 0x7f || *p == '"' ||
				      *p == '\\' || *p == '<' || *p == '>';
			if (!bad && strcmp(e->name, "notice_link") == 0)
				bad = strncmp(value, "https://", 8) != 0;
			if (!bad && strcmp(e->name, "vapid_subject") == 0)
				bad = strncmp(value, "mailto:", 7) != 0 &&
				      strncmp(value, "https://", 8) != 0;
			if (!bad && strcmp(e->name, "smtp_from") == 0)
				bad = strchr(value, '@') == NULL;
			if (bad) {
				snprintf(err, errlen,
				         "%s: expected %s, at most 200 characters, without "
				         "spaces, quotes, backslashes or angle brackets",
				         e->name,
				         strcmp(e->name, "notice_link") == 0 ? "an https:// URL"
				         : strcmp(e->name, "smtp_from") == 0
				                 ? "an e-mail address"
				                 : "mailto:ADDRESS or an https:// URL");
				return -1;
			}
		}
		if (strcmp(e->name, "smtp_url") == 0 && value[0] != '\0' &&
		    strncmp(value, "smtp://", 7) != 0 &&
		    strncmp(value, "smtps://", 8) != 0) {
			snprintf(err, errlen, "%s: expected smtp://HOST:PORT or "
			         "smtps://HOST:PORT", e->name);
			return -1;
		}
		if (strcmp(e->name, "log_level") == 0 && log_level_parse(value) < 0) {
			snprintf(err, errlen, "%s: expected error, warn, info or debug",
			         e->name);
			return -1;
		}
		return 0;
	}

	char *end;
	long v;
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0') {
		snprintf(err, errlen, "%s: \"%s\" is not a whole number", e->name, value);
		return -1;
	}
	if (e->test_min != 0 && v < e->min && v >= e->test_min &&
	    conf_argon2_test_cost()) {
		*(int *)field = (int)v; /* a test run: loudly (main.c) */
		return 0;
	}
	if (v < e->min && e->test_min != 0) {
		snprintf(err, errlen,
		         "%s: %ld is below %ld, OWASP's floor for argon2id password "
		         "hashes", e->name, v, e->min);
		return -1;
	}
	if (v < e->min || v > e->max) {
		snprintf(err, errlen, "%s: %ld is out of range [%ld, %ld]", e->name, v,
		         e->min, e->max);
		return -1;
	}
	*(int *)field = (int)v;
	return 0;
}

int
conf_argon2_test_cost(void)
{
	const char *v = getenv("RENKEI_ARGON2_TEST_COST");
	return v != NULL && strcmp(v, "1") == 0;
}

int
conf_argon2_below_floor(const struct conf *c)
{
	for (size_t i = 0; i < CONF_COUNT; i++) {
		const struct conf_entry *e = &conf_table[i];
		if (e->test_min != 0 &&
		    *(const int *)((const char *)c + e->offset) < e->min)
			return 1;
	}
	return 0;
}

void
conf_init(struct conf *c)
{
	char err[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CONF_COUNT; i++)
		if (apply(c, &conf_table[i], conf_table[i].def, err, sizeof(err)) != 0)
			abort(); /* a default outside its own range is a bug */
}

void
conf_fini(struct conf *c)
{
	for (size_t i = 0; i < CONF_COUNT; i++) {
		if (conf_table[i].type == CONF_STR) {
			char **s = (char **)((char *)c + conf_table[i].offset);
			free(*s);
			*s = NULL;
		}
	}
}

int
conf_known(const char *name)
{
	return find(name) != NULL;
}

int
conf_set(struct conf *c, const char *name, const char *value, char *err,
         size_t errlen)
{
	const struct conf_entry *e = find(name);

	if (e == NULL) {
		snprintf(err, errlen, "unknown setting \"%s\"", name);
		return -1;
	}
	return apply(c, e, value, err, errlen);
}

struct ini_ctx {
	struct conf *c;
	char *err;
	size_t errlen;
	int failed;
};

static int
conf_ini_line(void *user, const char *section, const char *name,
            const char *value)
{
	struct ini_ctx *x = user;

	if (x->failed)
		return 0;
	if (section[0] != '\0') {
		snprintf(x->err, x->errlen, "unexpected section [%s]", section);
		x->failed = 1;
		return 0;
	}
	if (conf_set(x->c, name, value, x->err, x->errlen) != 0) {
		x->failed = 1;
		return 0;
	}
	return 1;
}

int
conf_load_stream(struct conf *c, FILE *f, const char *name, char *err,
                 size_t errlen)
{
	struct ini_ctx x = {c, err, errlen, 0};
	char inner[160] = "";
	int r;

	x.err = inner;
	x.errlen = sizeof(inner);
	r = ini_parse_file(f, conf_ini_line, &x);
	if (r != 0) {
		snprintf(err, errlen, "%s:%d: %s", name, r,
		         inner[0] ? inner : "malformed line");
		return -1;
	}
	return 0;
}

int
conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int r;

	if (f == NULL)
		return 0; /* no file: defaults stand */
	r = conf_load_stream(c, f, path, err, errlen);
	fclose(f);
	return r;
}

static void
default_path(char **field, const char *dir, const char *rel)
{
	size_t n;

	if (*field != NULL && (*field)[0] != '\0')
		return;
	free(*field);
	n = strlen(dir) + strlen(rel) + 2;
	*field = rk_malloc(n);
	snprintf(*field, n, "%s/%s", dir, rel);
}

/* Beside the data folder: DIR/NAME-data -> DIR/NAME-keys, DIR/NAME ->
 * DIR/NAME-keys (trailing slashes ignored). */
static void
default_keys_dir(struct conf *c)
{
	const char *d = c->data_dir;
	size_t n = strlen(d), cap;

	if (c->keys_dir != NULL && c->keys_dir[0] != '\0')
		return;
	while (n > 1 && d[n - 1] == '/')
		n--;
	if (n > 5 && memcmp(d + n - 5, "-data", 5) == 0 && d[n - 6] != '/')
		n -= 5;
	cap = n + sizeof("-keys");
	free(c->keys_dir);
	c->keys_dir = rk_malloc(cap);
	snprintf(c->keys_dir, cap, "%.*s-keys", (int)n, d);
}

void
conf_resolve_paths(struct conf *c)
{
	/* The TLS private key is a key too: beside the others, never in the
	 * data folder, whose copy must reveal nothing. */
	default_keys_dir(c);
	default_path(&c->tls_cert, c->keys_dir, "certs/server.pem");
	default_path(&c->tls_key, c->keys_dir, "certs/server.key");
	default_path(&c->client_ca, c->keys_dir, "certs/ca.pem");
	default_path(&c->backup_key_file, c->keys_dir, "backup.key");
}

void
conf_print_help(FILE *out)
{
	for (size_t i = 0; i < CONF_COUNT; i++) {
		const struct conf_entry *e = &conf_table[i];
		char name[64];
		size_t j;

		for (j = 0; e->name[j] != '\0' && j < sizeof(name) - 1; j++)
			name[j] = e->name[j] == '_' ? '-' : e->name[j];
		name[j] = '\0';
		if (e->type == CONF_INT)
			fprintf(out, "  --%-27s %s [default %s, %ld..%ld]\n", name,
			        e->help, e->def, e->min, e->max);
		else
			fprintf(out, "  --%-27s %s%s%s%s\n", name, e->help,
			        e->def[0] ? " [default " : "", e->def,
			        e->def[0] ? "]" : "");
	}
}
