/*
 * conf — the server's settings: one table of {name, type, default, min,
 * max, help}, validated once at start (Redis's standardConfig).
 *
 * Sources, later ones winning: the defaults in the table, the file
 * DATA/renkei.conf if it exists (INI "name = value", parsed by inih), then
 * command-line options "--name value". The same table prints --help.
 * A struct conf is plain data: fill it on the main thread, then treat it
 * as read-only (every thread may read it).
 */
#ifndef RK_UTIL_CONF_H
#define RK_UTIL_CONF_H

#include <stdio.h>

struct conf {
	char *data_dir;
	char *listen;
	int port;
	char *tls_cert;
	char *tls_key;
	char *client_cert; /* off, optional, required */
	char *client_ca;
	char *keys_dir;
	char *kek_source;
	int kek_passphrase_fd;
	int kek_argon2_t;
	int kek_argon2_m_kib;
	int max_message_bytes;
	int out_queue_frames;
	int out_queue_bytes;
	int ping_interval_s;
	int ping_hangup_s;
	int close_grace_s;
	int login_timeout_s;
	int prelogin_max_requests;
	int resume_nonce_s;
	int one_time_password_days;
	int prelogin_max_message_bytes;
	int max_inflight;
	int rate_read_per_s;
	int rate_write_per_s;
	int rate_bulk_per_s;
	int max_connections;
	int max_connections_per_address;
	int session_idle_s;
	int session_max_s;
	int login_max_failures;
	int login_max_failures_per_address;
	int login_delay_s;
	int login_delay_max_s;
	int login_quiet_s;
	int argon2_t;
	int argon2_m_kib;
	int store_readers;
	int store_hashers;
	int login_queue_max;
	int store_max_batch;
	int store_queue_max;
	int store_disk_reserve_mb;
	int store_cache_mb;
	int shutdown_grace_s;
	int handoff_readonly_s;
	int audit_checkpoint_records;
	int audit_checkpoint_s;
	char *checkpoint_sink;
	int clock_jump_ms;
	char *backup_key_file;
	int backup_keep;
	int backup_max_mb_s;
	int breakglass_s;
	int escalate_after_s;
	char *log_level;
	char *metrics_access;
	int upload_max_bytes;
	int upload_max_per_user;
	int upload_quota_mb;
	int upload_max_total_mb;
	int upload_abandon_s;
	int export_max_mb;
	int export_max_per_user;
	int export_max_concurrent;
	int export_idle_s;
	int attachment_orphan_s;
	char *totp_required; /* staff, all or off (auth/totp.h) */
	/* Notices (docs/notice.md, server/notify/). */
	int notice_enabled;
	int notice_batch_ms;
	int notice_user_interval_ms;
	int notice_retries;
	int notice_retry_ms;
	int notice_timeout_ms;
	int notice_queue_max;
	int notice_max_devices;
	int notice_ttl_s;
	char *notice_link;
	char *vapid_subject;
	char *push_ca;
	int push_allow_private;
	char *smtp_url;
	char *smtp_from;
	char *smtp_ca;
	char *web_dir;       /* the web client's files (net/webapp.h) */
};

/* Fill *c with the table's defaults. Free with conf_fini. */
void conf_init(struct conf *c);
void conf_fini(struct conf *c);

/* Set one setting from text. Returns 0, or -1 with a reason in err
 * (unknown name, not a number, out of range). Names may use '-' or '_'. */
int conf_set(struct conf *c, const char *name, const char *value, char *err,
             size_t errlen);

/* True if `name` is a setting (so "--name" takes a value). */
int conf_known(const char *name);

/* Load an INI file of settings (root section only). A missing file is not
 * an error. Returns 0, or -1 with the line and reason in err. */
int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen);
/* The same from an open stream (read to its end, not closed); `name`
 * names it in err. */
int conf_load_stream(struct conf *c, FILE *f, const char *name, char *err,
                     size_t errlen);

/* Fill settings that default to a place derived from data_dir: keys_dir
 * beside it, the TLS certificate and key under keys_dir. Call once after
 * all sources are applied. */
void conf_resolve_paths(struct conf *c);

/* Password hashing costs have a floor, OWASP's for argon2id (argon2_t
 * >= 2, argon2_m_kib >= 19456): lower values are refused with a clear
 * error, also in imported hashes (admin import). The one exception is a
 * test run: with RENKEI_ARGON2_TEST_COST=1 in the environment, lower
 * costs (down to t 1, m 8 KiB) are accepted so that a test suite that
 * makes and checks hundreds of hashes stays fast. Never set it in
 * production: the server logs ARGON2-TEST-COST as a warning at start
 * when it is set. conf_argon2_test_cost: it is set.
 * conf_argon2_below_floor: c's costs are under the floor (only possible
 * when it is set). */
int conf_argon2_test_cost(void);
int conf_argon2_below_floor(const struct conf *c);

/* Print every setting with its default, range and help. */
void conf_print_help(FILE *out);

#endif
