/*
 * totp — the second factor: RFC 6238 time-based one-time passwords and
 * single-use recovery codes (docs/accounts.md, "Second factor").
 *
 * Codes: HMAC-SHA-1, 6 digits, 30 s steps from the Unix epoch, computed
 * by Debian's liboath; a code is accepted for the step before, the step
 * of, and the step after the server's clock (±1 step for clock skew).
 * Replay: each user's row keeps last_step, the newest step accepted; a
 * code whose step is not after it is refused, so a code works once and
 * an older code (of the same window) is refused after a newer one.
 *
 * Secrets: 20 random bytes (160 bits, RFC 4226's recommendation) per user,
 * in the `totp` table of care.db (SQLCipher-encrypted at rest), shown to
 * the user once, as base32 and as an otpauth:// URI, when enrolment
 * begins. Enrolment is confirmed by the first code; until then the
 * factor does not count and begin may be repeated (a new secret each
 * time). Recovery codes: TOTP_RECOVERY_COUNT per confirmed enrolment,
 * shown once and stored only as SHA-256; each works once.
 *
 * Who must enrol: totp_required() below. A user with a confirmed factor
 * is asked for a code at every login whatever the setting.
 *
 * Threads: the pure functions are thread-safe (liboath is initialised
 * once, under pthread_once). The store functions run on a store
 * connection like the rest of auth/; the ones that change rows must run
 * in a write op.
 */
#ifndef RK_AUTH_TOTP_H
#define RK_AUTH_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define TOTP_SECRET_LEN     20
#define TOTP_DIGITS         6
#define TOTP_STEP_S         30
#define TOTP_WINDOW         1
#define TOTP_B32_MAX        40 /* base32 of 20 bytes: 32 characters */
#define TOTP_URI_MAX        256
#define TOTP_RECOVERY_COUNT 10
/* A recovery code: two groups of five from TOTP_RECOVERY_ALPHABET joined
 * by '-' ("k7m2p-x9rtw"; about 50 bits). Typed in either case. */
#define TOTP_RECOVERY_LEN      11
#define TOTP_RECOVERY_ALPHABET "23456789abcdefghjkmnpqrstuvwxyz"

/* The totp_required setting. */
enum totp_mode {
	TOTP_OFF = 0, /* nobody must enrol (the enrolled are still asked) */
	TOTP_STAFF,   /* everyone but family must; family may opt in */
	TOTP_ALL,     /* everyone must, family included */
};

/* "staff", "all", "off" -> the mode; -1 for anything else. */
int totp_mode_parse(const char *s);

/* Must a user of `profession` (enum profession) enrol? opt_in: a user
 * who enrolled once though not required (users.totp_opt_in), who stays
 * required after an admin reset of their factor. */
bool totp_required(enum totp_mode mode, int profession, bool opt_in);

/* ---- pure */

/* Exactly TOTP_DIGITS ASCII digits. */
bool totp_code_format_ok(const char *code);
/* A recovery code in its format (either case); if so and norm is not
 * NULL, its lower-case form goes to norm[TOTP_RECOVERY_LEN + 1]. */
bool totp_recovery_format_ok(const char *code, char *norm);

/* The `digits`-digit code of `secret` at Unix time unix_s (liboath's
 * oath_totp_generate, 30 s steps). out holds digits + 1. RK_OK or
 * RK_ERR_CRYPTO. */
int totp_code_at(const uint8_t *secret, size_t len, int64_t unix_s,
                 unsigned digits, char *out);

/* The step (unix_s / 30) within ±TOTP_WINDOW of now_ms whose code is
 * `code` and which is after `after_step`, the newest such; -1 if none. */
int64_t totp_match(const uint8_t *secret, size_t len, const char *code,
                   int64_t now_ms, int64_t after_step);

/* Base32 (RFC 4648, no padding) of secret into out[TOTP_B32_MAX + 1]. */
int totp_base32(const uint8_t *secret, size_t len, char out[TOTP_B32_MAX + 1]);

/* otpauth://totp/renkei:LOGIN?secret=B32&issuer=renkei&digits=6&period=30
 * (the Key Uri Format that authenticator apps read). */
void totp_uri(const char *login, const char *b32, char out[TOTP_URI_MAX]);

/* ---- stored state */

struct totp_state {
	bool has_secret; /* enrolment begun (confirmed or not) */
	bool confirmed;  /* the factor counts */
	int64_t created_ms, confirmed_ms;
	int64_t last_step;
	int recovery_left; /* unused recovery codes */
	bool opt_in;       /* users.totp_opt_in */
};

/* Load user_id's state (all zero when none). RK_OK or RK_ERR_STORE. */
int totp_state_load(struct store_conn *sc, int64_t user_id,
                    struct totp_state *out);

/* Begin enrolment: a new secret for user_id (replacing one not yet
 * confirmed), its base32 into b32. RK_ERR_PRECONDITION (st says so) if a
 * confirmed factor exists. Write op. */
int totp_enrol_begin(struct store_conn *sc, int64_t user_id, int64_t now_ms,
                     char b32[TOTP_B32_MAX + 1], struct rk_status *st);

/* Confirm enrolment with a code of the begun secret: the factor counts
 * from now, the code's step is used up, TOTP_RECOVERY_COUNT new recovery
 * codes are made (written to codes, shown once; stored hashed), the user
 * is marked opted in, and session_id's row says it passed a code. Every
 * other open session of the user that signed in without a second factor
 * is ended ("second factor enrolled"). RK_ERR_PRECONDITION (nothing
 * begun, or already confirmed), RK_ERR_UNAUTHENTICATED (wrong code),
 * each with st filled; RK_ERR_STORE. Write op. */
int totp_enrol_confirm(struct store_conn *sc, int64_t user_id,
                       int64_t session_id, const char *code, int64_t now_ms,
                       char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_LEN + 1],
                       struct rk_status *st);

/* Check a second factor of user_id, who has a confirmed one: `code`
 * (6 digits) or, if code is "", `recovery` (format checked by the
 * caller). On success the code's step (or the recovery code) is used
 * up and *how is 1 (code) or 2 (recovery code), as sessions.
 * second_factor. RK_ERR_UNAUTHENTICATED with st (field "totp_code" or
 * "recovery_code") for a wrong, old, used or missing one;
 * RK_ERR_PRECONDITION if no factor is confirmed; RK_ERR_STORE.
 * Write op. */
int totp_check(struct store_conn *sc, int64_t user_id, const char *code,
               const char *recovery, int64_t now_ms, int *how,
               struct rk_status *st);

/* Record how session_id signed in (sessions.second_factor: 0, 1, 2). */
int totp_session_factor(struct store_conn *sc, int64_t session_id, int how);

#endif
