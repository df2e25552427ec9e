/*
 * auth — accounts (organisations, users), passwords, sessions, login throttling.
 *
 * Everything here runs on a store connection: inside a write op on the
 * writer thread, a read op on a reader thread, or an admin command. None
 * of it knows about connections or the wire format.
 *
 * Passwords are hashed with argon2id (libargon2), the encoded string
 * carrying its own parameters. Session tokens are 256 random bits, handed
 * out once as base64url and stored only as their SHA-256.
 */
#ifndef RK_AUTH_AUTH_H
#define RK_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* Numbered as renkei.v1.Profession on the wire (api/ relies on it). */
enum profession {
	PROF_NONE = 0,
	PROF_PHYSICIAN = 1,
	PROF_DENTIST = 2,
	PROF_NURSE = 3,
	PROF_PHARMACIST = 4,
	PROF_REHAB = 5,
	PROF_MSW = 6,
	PROF_CARE_MANAGER = 7,
	PROF_COMMUNITY_CENTER = 8,
	PROF_CARE_WORKER = 9,
	PROF_FAMILY = 10,
	PROF_AUDITOR = 11,
	PROF_ADMIN = 12,
	PROF__COUNT
};

/* "physician" -> PROF_PHYSICIAN; PROF_NONE if unknown. */
enum profession auth_profession_parse(const char *name);
/* PROF_PHYSICIAN -> "physician"; "unknown" if out of range. */
const char *auth_profession_name(int p);

#define AUTH_LOGIN_MAX 64
#define AUTH_NAME_MAX 160
#define AUTH_TOKEN_LEN 43 /* base64url of 32 bytes, no padding */

struct auth_user {
	int64_t id;
	char login[AUTH_LOGIN_MAX + 1];
	char display_name[AUTH_NAME_MAX + 1];
	int profession;
	bool disabled;
	int64_t org_id; /* 0: none (family) */
	char org_code[AUTH_LOGIN_MAX + 1];
	char org_name[AUTH_NAME_MAX + 1];
	char org_kind[33];
};

/* ---- passwords */

/* argon2id-hash `password` with t passes and m_kib KiB into `out`.
 * Returns RK_OK or RK_ERR_CRYPTO. */
int auth_password_hash(const char *password, int t, int m_kib, char *out,
                       size_t outlen);
/* True if `password` matches `encoded`. Takes argon2's time either way. */
bool auth_password_verify(const char *encoded, const char *password);

/* ---- organisations and users (admin commands, import) */

/* Validate a login: 1..64 of [a-z0-9._-], starting with a letter or digit. */
bool auth_login_valid(const char *login);

int auth_org_add(struct store_conn *sc, const char *code, const char *name,
                 const char *kind, const char *area, struct rk_status *st);

/* org_code may be NULL (family). pw_hash from auth_password_hash. */
int auth_user_add(struct store_conn *sc, const char *login,
                  const char *display_name, enum profession prof,
                  const char *org_code, const char *pw_hash,
                  struct rk_status *st);

/* Disable a user and end their sessions. */
int auth_user_disable(struct store_conn *sc, const char *login, int64_t now_ms,
                      struct rk_status *st);

/* Enable a disabled user again (their ended sessions stay ended). */
int auth_user_enable(struct store_conn *sc, const char *login,
                     struct rk_status *st);

/* End every open session of user_id but keep_session_id (0: none), for
 * `reason` ("account disabled", "password changed", ...). The running
 * server closes their connections with 4001 (api/revoke.c). RK_OK or
 * RK_ERR_STORE. */
int auth_sessions_end_user(struct store_conn *sc, int64_t user_id,
                           int64_t keep_session_id, int64_t now_ms,
                           const char *reason);

/* A one-time password (admin create and reset, family invitation):
 * 20 letters and digits from an alphabet without look-alikes, in groups
 * of four joined by '-' (about 100 bits). */
#define AUTH_ONE_TIME_LEN 24
void auth_one_time_password(char out[AUTH_ONE_TIME_LEN + 1]);

/* Give user_id a fresh one-time password (written to one_time, hashed
 * with t / m_kib) that must be changed at next login, and end all their
 * sessions ("password reset"). RK_OK, RK_ERR_NOT_FOUND, RK_ERR_CRYPTO or
 * RK_ERR_STORE. */
int auth_password_reset(struct store_conn *sc, int64_t user_id, int t,
                        int m_kib, int64_t now_ms,
                        char one_time[AUTH_ONE_TIME_LEN + 1]);

/* Forget user_id's second factor (secret and recovery codes) and end all
 * their sessions ("second factor reset"): they enrol again at next
 * login. RK_OK, RK_ERR_NOT_FOUND or RK_ERR_STORE. */
int auth_totp_forget(struct store_conn *sc, int64_t user_id, int64_t now_ms);

/* ---- administration with the hash made beforehand (auth/manage.c):
 * api/admin.c makes the one-time password and its hash on the store's
 * hashers, so that argon2 never holds up the writer. */

/* auth_user_add, then mark the password a one-time password (must be
 * changed at first login); *user_id is the new account's id. Errors as
 * auth_user_add's, in st. */
int auth_user_create_one_time(struct store_conn *sc, const char *login,
                              const char *display_name, enum profession prof,
                              const char *org_code, const char *pw_hash,
                              int64_t *user_id, struct rk_status *st);

/* auth_password_reset with pw_hash (of a one-time password) made by the
 * caller: must_change_password = 1, every session ends ("password
 * reset"). RK_OK, RK_ERR_NOT_FOUND or RK_ERR_STORE. */
int auth_password_reset_hashed(struct store_conn *sc, int64_t user_id,
                               const char *pw_hash, int64_t now_ms);

/* Load a user by login (id 0) or id (login NULL). RK_ERR_NOT_FOUND. */
int auth_user_load(struct store_conn *sc, const char *login, int64_t id,
                   struct auth_user *u);

/* ---- login */

struct auth_limits {
	int max_failures;  /* failures of one login from one address, free */
	int max_failures_address; /* ... of all logins from one address */
	int delay_s;       /* then the first wait; each failure doubles it */
	int delay_max_s;   /* up to this */
	int quiet_s;       /* failures this long ago are forgotten */
	int session_max_s;
	int session_idle_s;
	int argon2_t;     /* the settings new hashes are made with; an */
	int argon2_m_kib; /* unknown login is verified against these too */
};

/* Reader side of a login from `address`: refuse while that login from
 * that address, or that address, must wait (RK_ERR_EXHAUSTED, with
 * st->retry_after_ms) — without checking the password; load the user,
 * verify the password (argon2 runs even for unknown logins, so timing
 * does not tell which logins exist: the stand-in hash is made with lim's
 * argon2 settings). RK_OK fills *u; RK_ERR_UNAUTHENTICATED for a wrong
 * login, password or disabled user. */
int auth_login_check(struct store_conn *sc, const char *login,
                     const char *address, const char *password,
                     int64_t now_ms, const struct auth_limits *lim,
                     struct auth_user *u, struct rk_status *st);

/* The throttle's half of auth_login_check, for other checks that count
 * as login attempts (a second-factor code at step-up): RK_ERR_EXHAUSTED
 * with st->retry_after_ms while that login from that address, or that
 * address, must wait; else RK_OK (or RK_ERR_STORE). */
int auth_login_wait(struct store_conn *sc, const char *login,
                    const char *address, int64_t now_ms, struct rk_status *st);

/* The stand-in hash an unknown login is verified against: made once per
 * (t, m_kib) with exactly those settings, so that it costs what a real
 * user's hash made with them costs. Copies it into out; RK_OK or
 * RK_ERR_CRYPTO. Thread-safe. */
int auth_dummy_hash(int t, int m_kib, char *out, size_t outlen);

/* Writer side of a failed login from `address`: count it for the login
 * from that address and for the address, and set the wait when due.
 * *attack is set when the login has just reached 4 x max_failures (at
 * least 4) recent failures from all addresses together, and each time
 * that doubles. */
int auth_login_failed(struct store_conn *sc, const char *login,
                      const char *address, int64_t now_ms,
                      const struct auth_limits *lim, bool *attack);

/* Forget every failure of `login` (from every address): `renkei-server
 * user unlock`. RK_OK, RK_ERR_NOT_FOUND (no such user) or RK_ERR_STORE. */
int auth_login_unlock(struct store_conn *sc, const char *login);

/* Writer side of a successful login: clear failures, create a session.
 * Writes the token (NUL-terminated) into token[AUTH_TOKEN_LEN + 1]. */
int auth_session_create(struct store_conn *sc, int64_t user_id,
                        const char *device, const char *address,
                        int64_t now_ms, const struct auth_limits *lim,
                        char token[AUTH_TOKEN_LEN + 1], int64_t *session_id,
                        int64_t *expires_ms);
/* The same, for a login throttled under `source` (a known device's, in
 * place of its address): that source's failures of the login are the
 * ones cleared. auth_session_create is this with source = address. */
int auth_session_open(struct store_conn *sc, int64_t user_id,
                      const char *device, const char *address,
                      const char *source, int64_t now_ms,
                      const struct auth_limits *lim,
                      char token[AUTH_TOKEN_LEN + 1], int64_t *session_id,
                      int64_t *expires_ms);

struct auth_session {
	int64_t id;
	int64_t expires_ms;
	int64_t last_seen_ms;
	struct auth_user user;
};

/* Find a live session by token (not ended, not expired, not idle past
 * the limit, user not disabled). RK_ERR_UNAUTHENTICATED otherwise. */
int auth_session_resume(struct store_conn *sc, const char *token,
                        int64_t now_ms, const struct auth_limits *lim,
                        struct auth_session *out);

/* Record use of a session (for the idle timeout across restarts). */
int auth_session_touch(struct store_conn *sc, int64_t session_id,
                       int64_t now_ms);

/* End a session (logout, expiry). Ending an ended session is RK_OK. */
int auth_session_end(struct store_conn *sc, int64_t session_id, int64_t now_ms,
                     const char *reason);

/* RK_OK if the session is user_id's, not ended, and the account is
 * enabled; else RK_ERR_UNAUTHENTICATED (or RK_ERR_STORE). */
int auth_session_live(struct store_conn *sc, int64_t user_id,
                      int64_t session_id);

/* A session that ended, and why (sessions.end_reason: "account disabled",
 * "password reset", "session revoked", ...; "session ended" if none). */
struct auth_ended {
	int64_t id;
	char reason[64];
};

/* The sessions ended at or after since_ms (*out malloc'ed, caller frees;
 * NULL when none). RK_OK or RK_ERR_STORE. */
int auth_sessions_ended_since(struct store_conn *sc, int64_t since_ms,
                              struct auth_ended **out, size_t *n);

/* ---- devices (device.c): sessions bound to a device key */

#define AUTH_DEVICE_KEY_LEN 32 /* raw Ed25519 public key */
#define AUTH_SIGNATURE_LEN 64  /* Ed25519 signature */
#define AUTH_NONCE_LEN 32
#define AUTH_RESUME_MSG_LEN 80 /* "renkei-resume-v1" || nonce || SHA-256(token) */

/* The bytes a resume signs: "renkei-resume-v1" (16 ASCII bytes), the
 * connection's nonce, the SHA-256 of the token's characters. */
void auth_resume_message(const uint8_t nonce[AUTH_NONCE_LEN], const char *token,
                         uint8_t out[AUTH_RESUME_MSG_LEN]);

/* True if sig is key's Ed25519 signature of auth_resume_message(nonce,
 * token). OpenSSL's EVP; about 50 us. Thread-safe. */
bool auth_resume_verify(const uint8_t key[AUTH_DEVICE_KEY_LEN],
                        const uint8_t nonce[AUTH_NONCE_LEN], const char *token,
                        const uint8_t sig[AUTH_SIGNATURE_LEN]);

/* Known devices and the login throttle. A login may prove that it comes
 * from a device key (LoginRequest.device_signature: the key's signature
 * over "renkei-login-v1\0" || the connection's nonce || SHA-256(login),
 * the same 80-byte layout as a resume's). A device is known for a login
 * when a session of that login signed in with a second factor from it
 * (sessions.device_key, second_factor > 0). A known device's attempts are
 * throttled under a source of their own (auth_device_source) in place of
 * the network address: failures from others at that address, however
 * many, never make it wait; its own failures still do. */
bool auth_login_verify(const uint8_t key[AUTH_DEVICE_KEY_LEN],
                       const uint8_t nonce[AUTH_NONCE_LEN], const char *login,
                       const uint8_t sig[AUTH_SIGNATURE_LEN]);
/* *known as above. RK_OK or RK_ERR_STORE. */
int auth_device_known(struct store_conn *sc, const char *login,
                      const uint8_t key[AUTH_DEVICE_KEY_LEN], bool *known);
/* The throttle source of a known device: "device:" and 32 hex digits of
 * the key's SHA-256. */
void auth_device_source(const uint8_t key[AUTH_DEVICE_KEY_LEN], char out[64]);

/* Bind session_id to a device key (in the login's write op, after
 * auth_session_create). RK_OK or RK_ERR_STORE. */
int auth_session_set_device_key(struct store_conn *sc, int64_t session_id,
                                const uint8_t key[AUTH_DEVICE_KEY_LEN]);

/* The device key of session_id: *has false when it has none. RK_OK or
 * RK_ERR_STORE. */
int auth_session_device_key(struct store_conn *sc, int64_t session_id,
                            uint8_t key[AUTH_DEVICE_KEY_LEN], bool *has);

/* A session as its user sees it in a list: never its token. */
struct auth_session_info {
	int64_t id;
	char device[129];
	char address[64];
	int64_t created_ms;
	int64_t last_seen_ms;
	bool has_device_key;
};

/* user_id's open sessions (not ended, expired or idle past lim's
 * timeout), newest first, at most max, into out[0..*n). RK_OK or
 * RK_ERR_STORE. */
int auth_sessions_list(struct store_conn *sc, int64_t user_id, int64_t now_ms,
                       const struct auth_limits *lim,
                       struct auth_session_info *out, size_t max, size_t *n);

/* End session_id if it is user_id's and open ("session revoked"): RK_OK;
 * RK_ERR_NOT_FOUND if it is another user's, unknown or ended (one answer
 * for all three); RK_ERR_STORE. The running server closes its
 * connections (api/revoke.c), or the caller kills them at once. */
int auth_session_revoke(struct store_conn *sc, int64_t user_id,
                        int64_t session_id, int64_t now_ms);

/* ---- device certificates (devcert.c): TLS client certificates */

#define AUTH_CERT_FP_LEN 64      /* SHA-256 of the DER, lower-case hex */
#define AUTH_CERT_DEVICE_MAX 64

struct auth_cert {
	char fingerprint[AUTH_CERT_FP_LEN + 1];
	char login[AUTH_LOGIN_MAX + 1];
	char device[AUTH_CERT_DEVICE_MAX + 1];
	char serial[41];         /* hex */
	int64_t issued_ms, expires_ms;
	int64_t revoked_ms;      /* 0: in force */
	int sessions_ended;      /* auth_cert_revoke: sessions it ended */
};

/* A device name for a certificate: 1..64 of [A-Za-z0-9._-]. */
bool auth_cert_device_valid(const char *device);
/* Record a certificate issued to user_id's `device`. RK_OK or
 * RK_ERR_STORE (a fingerprint already known included). */
int auth_cert_register(struct store_conn *sc, int64_t user_id,
                       const char *device, const char *fp, const char *serial,
                       int64_t issued_ms, int64_t expires_ms);
/* RK_OK if fp is a certificate of user_id's, not revoked nor expired;
 * RK_ERR_UNAUTHENTICATED otherwise (unknown, another user's, revoked);
 * RK_ERR_STORE. */
int auth_cert_check(struct store_conn *sc, const char *fp, int64_t user_id,
                    int64_t now_ms);
/* Revoke fp and end every open session bound to it ("device certificate
 * revoked"); *out (may be NULL) says whose it was and how many sessions
 * ended. RK_OK, RK_ERR_NOT_FOUND (unknown or already revoked) or
 * RK_ERR_STORE. */
int auth_cert_revoke(struct store_conn *sc, const char *fp, int64_t now_ms,
                     struct auth_cert *out);
/* Call each(arg, cert) for every certificate (of `login`, or all when
 * NULL), oldest first; a non-zero return stops. RK_OK or RK_ERR_STORE. */
int auth_cert_list(struct store_conn *sc, const char *login,
                   int (*each)(void *arg, const struct auth_cert *c), void *arg);
/* Bind session_id to the certificate it logged in with. */
int auth_session_set_cert(struct store_conn *sc, int64_t session_id,
                          const char *fp);
/* The certificate session_id is bound to into fp ("" if none). RK_OK or
 * RK_ERR_STORE. */
int auth_session_cert(struct store_conn *sc, int64_t session_id,
                      char fp[AUTH_CERT_FP_LEN + 1]);
/* ---- the password lifecycle (password.c; rules in pwrule.h)
 *
 * OWASP's floor for argon2id password hashes: every hash this server
 * makes (the argon2_t / argon2_m_kib settings refuse less) and every hash
 * it imports is at least this costly. */
#define AUTH_ARGON2_T_MIN 2
#define AUTH_ARGON2_M_KIB_MIN 19456

/* Read t and m (KiB) from an encoded argon2id hash
 * ("$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH"). RK_OK, or RK_ERR_INVALID
 * for anything else (another variant or version, a malformed string). */
int auth_hash_params(const char *encoded, int *t, int *m_kib);

/* True if user u has a confirmed second factor (a TOTP secret confirmed)
 * or must have one under totp_mode (an enum totp_mode of auth/totp.h, the
 * totp_required setting: staff = every professional, auditor and admin,
 * and a family member who opted in; all = everyone; off = nobody). Decides
 * the shortest password allowed (pwrule.h). A database error answers
 * false: the stricter rule. */
bool auth_account_has_second_factor(struct store_conn *sc,
                                    const struct auth_user *u, int totp_mode);

/* *must: user_id's password is a one-time one (admin create or reset,
 * family invitation) that must be changed before anything else. RK_OK,
 * RK_ERR_NOT_FOUND or RK_ERR_STORE. */
int auth_must_change_password(struct store_conn *sc, int64_t user_id,
                              bool *must);
/* The stamp of a user's password (users.pw_changed_ms: when it was last
 * replaced by a change, a reset or a new one-time password; 0 if never),
 * by login (user_id ignored) or, with login NULL, by id. A login reads it
 * before its password check and again in its write: if it differs, the
 * password checked was replaced meanwhile and opens nothing. Compared for
 * equality only, so a clock step changes nothing. RK_OK,
 * RK_ERR_NOT_FOUND or RK_ERR_STORE. */
int auth_password_stamp(struct store_conn *sc, const char *login,
                        int64_t user_id, int64_t *stamp);
/* *expired: user_id's password is a one-time one issued more than
 * max_age_ms before now_ms (users.one_time_ms; one issued before that
 * column existed never expires). RK_OK, RK_ERR_NOT_FOUND or RK_ERR_STORE. */
int auth_one_time_expired(struct store_conn *sc, int64_t user_id, int64_t now_ms,
                          int64_t max_age_ms, bool *expired);
/* Mark user_id's password as one to change at next login (issued now).
 * RK_OK, RK_ERR_NOT_FOUND or RK_ERR_STORE. */
int auth_password_must_change(struct store_conn *sc, int64_t user_id);

/* Replace user_id's password with pw_hash (from auth_password_hash), no
 * longer one-time, and end every other open session of theirs
 * ("password changed"), keeping keep_session_id. The ids ended go to
 * *ended (malloc'ed, caller frees; NULL when none) and *nended. RK_OK,
 * RK_ERR_NOT_FOUND or RK_ERR_STORE (then *ended is NULL). */
int auth_password_set(struct store_conn *sc, int64_t user_id,
                      const char *pw_hash, int64_t keep_session_id,
                      int64_t now_ms, int64_t **ended, size_t *nended);

#endif
