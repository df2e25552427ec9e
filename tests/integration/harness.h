/*
 * harness — what the integration tests share: a real renkei-server on a
 * free port with its own temporary, encrypted data folder, and clients
 * that speak TLS + WebSocket + protobuf to it through rkc.
 *
 * A test file usually starts one server in its cmocka group setup
 * (h_server_up) and stops it in the group teardown (h_server_free), so
 * that every file owns its own port and folder and `ctest -j` is safe.
 *
 * Lifecycle of a server:
 *   h_server_new    makes DIR (mkdtemp under $TMPDIR or /tmp), the key
 *                   folder DIR-keys beside it (the server's default for
 *                   DIR) with keys wrapped under the test process's KEK,
 *                   the databases, the dev certificates (KEYS/certs, where
 *                   the server looks by default), and imports the
 *                   demo ward with cheap argon2 parameters (fast logins:
 *                   the import alone runs with RENKEI_ARGON2_TEST_COST=1,
 *                   never the server under test, see util/conf.h);
 *   h_server_start  picks a free port and runs `renkei-server serve` with
 *                   stderr to DIR/server.log, then waits for /healthz
 *                   (with --totp-required off before the test's own
 *                   settings, so that demo users log in with their
 *                   password alone; 58-totp passes "staff");
 *   h_server_stop   sends a signal and reaps the process;
 *   h_server_restart starts it again on the same data and port;
 *   h_server_free   stops it (SIGTERM) if running, reports whether it
 *                   ended cleanly, and removes DIR unless the environment
 *                   has RENKEI_KEEP_TEST_DATA set.
 *
 * The server child gets PR_SET_PDEATHSIG, so a test that crashes or is
 * killed by ctest's timeout does not leave servers behind.
 *
 * Functions without "assert" in their name never abort the test: they
 * return NULL or -1 and print why on stderr, so that they are safe in
 * group setup. The h_assert_* macros use cmocka and fail the test.
 *
 * Thread rules: single-threaded, like the tests.
 * Environment: RENKEI_KEEP_TEST_DATA (keep DIR), RENKEI_TEST_START_MS
 * (how long to wait for /healthz; default 20000).
 */
#ifndef RENKEI_TEST_HARNESS_H
#define RENKEI_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h> /* SQLCipher's: the databases, read directly */

#include "rkc.h"

/* The password of every demo user in data/demo-ward.json. */
#define H_DEMO_PASSWORD "renkei-demo-1"
/* Default wait for one answer from the server. */
#define H_TIMEOUT_MS 5000
/* Most "--name value" words given to serve. */
#define H_MAX_ARGS 32

struct h_server {
	char dir[256];      /* the data folder (removed by h_server_free) */
	char keys[270];     /* the key folder, DIR-keys (removed too) */
	char ca[300];       /* KEYS/certs/ca.pem, for rkc_opts.ca_file */
	char log_path[300]; /* DIR/server.log: the server's stderr, appended */
	char url[64];       /* wss://127.0.0.1:PORT/ */
	char https[64];     /* https://127.0.0.1:PORT (no trailing slash) */
	int port;
	pid_t pid;       /* 0 while not running */
	int last_status; /* wait status of the last exit, -1 if none yet */
	char *args[H_MAX_ARGS + 1]; /* settings for serve, NULL-terminated */
	/* A device certificate every client of h_opts presents (for a
	 * server with client_cert = required): "" for none. */
	char cert_file[300];
	char key_file[300];
};

/* ------------------------------------------------------------------ server */

/* Make a data folder with certificates, keys, databases and the demo
 * ward. Returns a server that is not running yet, or NULL. */
struct h_server *h_server_new(void);

/* The renkei-server binary under test (for admin commands such as an
 * extra `import` before h_server_start). */
const char *h_server_bin(void);

/* The source tree (for docs/policy.md, data/demo-ward.json...). */
const char *h_source_dir(void);

/* `renkei-server import` of the ward file at `path` into s's data
 * folder (server stopped), with the same cheap argon2 parameters as the
 * demo users so that the file's users log in fast. All of the file or
 * nothing is imported. 0, or -1 with the import's output printed. */
int h_import(const struct h_server *s, const char *path);

/* Start `renkei-server serve --data DIR --port P ARGS...` where args is a
 * NULL-terminated list of words ("--login-max-failures", "3", ...; NULL
 * for none), copied for h_server_restart. Picks a free port (and another
 * one if that was taken meanwhile) and waits until /healthz answers.
 * Returns 0, or -1 (the log tail is printed). */
int h_server_start(struct h_server *s, const char *const *args);

/* h_server_new + h_server_start; NULL on failure (nothing left behind). */
struct h_server *h_server_up(const char *const *args);

/* Send `sig` and wait up to timeout_ms for the process to end (then
 * SIGKILL it). Returns its wait status (also kept in s->last_status), or
 * -1 if it was not running. */
int h_server_stop(struct h_server *s, int sig, int timeout_ms);

/* Start again on the same data, port and settings. 0 or -1. */
int h_server_restart(struct h_server *s);

/* True (1) if a wait status means "exited with status 0". */
int h_exited_cleanly(int status);

/* Stop (SIGTERM) if running, then remove the folder (unless
 * RENKEI_KEEP_TEST_DATA is set). Returns 0 if the server's last exit was
 * clean and its log holds no sanitizer report, else -1 after printing the
 * log tail: a group teardown can return this. NULL is fine (returns 0). */
int h_server_free(struct h_server *s);

/* The server's resident set size in KiB (VmRSS), or -1. */
long h_server_rss_kib(const struct h_server *s);

/* 1 if the server log holds `needle`, 0 if not, -1 if unreadable. */
int h_server_log_has(const struct h_server *s, const char *needle);

/* The time (UTC ms, from the line's ts=) of the first log line holding
 * `needle`, or -1 if none. */
int64_t h_server_log_time_ms(const struct h_server *s, const char *needle);

/* Wait until the log holds `needle`: 0, or -1 on timeout. */
int h_server_wait_log(const struct h_server *s, const char *needle,
                      int timeout_ms);

/* Print the last `lines` lines of the server log on stderr. */
void h_server_dump_log(const struct h_server *s, int lines);

/* Fill opts for this server (url, CA, and s->cert_file / key_file if
 * set; everything else zero). */
void h_opts(const struct h_server *s, struct rkc_opts *opts);

/* GET path over HTTPS. Returns the HTTP status or -1; *body (may be
 * NULL) is malloc'ed and NUL-terminated. */
int h_https_get(const struct h_server *s, const char *path, char **body);

/* Open a raw TLS connection (verifying the server), write `request`
 * as is, and read the answer until the end of the HTTP head, EOF or
 * timeout_ms. Returns the bytes read (NUL-terminated in buf), or -1 if
 * TLS could not be set up. For requests rkc would never send. */
long h_tls_exchange(const struct h_server *s, const char *request, char *buf,
                    size_t cap, int timeout_ms);
/* The same, reading everything until the server closes the connection
 * (*closed = 1) or timeout_ms passes (*closed = 0). */
long h_tls_exchange_eof(const struct h_server *s, const char *request,
                        char *buf, size_t cap, int timeout_ms, int *closed);

/* ------------------------------------------------------------ raw clients */

/* A TLS connection upgraded to WebSocket by hand, for bytes rkc would
 * never send: several frames in one TLS record, unmasked frames, bad
 * opcodes. Upgrades with `subprotocol` (NULL: none offered) and fails
 * unless the answer is 101. NULL on failure (reason printed). */
struct h_raw;
struct h_raw *h_raw_connect(const struct h_server *s, const char *subprotocol,
                            int timeout_ms);

/* Write all of data[0..len) (one SSL_write when it fits a record run).
 * 0 or -1. */
int h_raw_write(struct h_raw *r, const void *data, size_t len);

/* Receive one frame from the server. Returns its opcode and *payload
 * (malloc'ed, NUL-terminated; caller frees), or -1 on timeout, EOF or a
 * masked frame. */
int h_raw_recv_frame(struct h_raw *r, int timeout_ms, uint8_t **payload,
                     size_t *len);

int h_raw_fd(const struct h_raw *r);
/* Free; no close frame is sent. NULL ok. */
void h_raw_close(struct h_raw *r);

/* Build one frame into out[cap] (masked with a fixed key when `masked`).
 * Returns its length, or 0 if cap is too small. */
size_t h_ws_frame(uint8_t *out, size_t cap, int fin, int opcode, int masked,
                  const void *payload, size_t len);

/* ----------------------------------------------------------------- clients */

/* Connect a client with subprotocol renkei.v1; NULL (reason printed). */
struct rkc *h_connect(const struct h_server *s);
/* The same, from the local address `source` (e.g. "127.0.0.2": the
 * server sees another client address; all of 127/8 is loopback). */
struct rkc *h_connect_from(const struct h_server *s, const char *source);

/* rkc_call with H_TIMEOUT_MS; the response (free with h_env_free), or
 * NULL with the reason printed. */
Renkei__V1__Envelope *h_call(struct rkc *c, Renkei__V1__Envelope *req);

/* Requests. Each returns the response envelope (which may be an Error)
 * or NULL; free with h_env_free. device may be NULL. */
Renkei__V1__Envelope *h_login_env(struct rkc *c, const char *login,
                                  const char *password, const char *device);
/* Resume as a well-behaved client does: a nonce (ResumeChallengeRequest),
 * then ResumeRequest signed with h_device(). */
Renkei__V1__Envelope *h_resume_env(struct rkc *c, const char *token);
/* The same, signed with `dev` (NULL: no signature). */
Renkei__V1__Envelope *h_resume_with(struct rkc *c, const char *token,
                                    const struct rkc_device *dev);
/* The device key of this test process: every h_login_env sends its
 * public half (so every token it gets is bound to it), h_resume_env signs
 * with it. Made at first use; never freed. */
const struct rkc_device *h_device(void);
Renkei__V1__Envelope *h_whoami_env(struct rkc *c);
Renkei__V1__Envelope *h_logout_env(struct rkc *c);
/* PasswordChangeRequest (api/password.c). */
Renkei__V1__Envelope *h_password_change_env(struct rkc *c,
                                            const char *old_password,
                                            const char *new_password);

/* Log in as `login` with the demo password. Returns the token
 * (malloc'ed; free it), or NULL with the answer printed. */
char *h_login(struct rkc *c, const char *login);

/* Connect and log in; NULL on failure. *token (if not NULL) gets the
 * token, malloc'ed. */
struct rkc *h_connect_login(const struct h_server *s, const char *login,
                            char **token);

/* Read and drop whatever arrives until the server ends the connection.
 * Returns the close code it sent (0: ended without a close frame), or -1
 * if still open after timeout_ms. *dropped (if not NULL) counts the
 * envelopes read meanwhile. */
int h_wait_close(struct rkc *c, int timeout_ms, long *dropped);

/* NULL-safe renkei__v1__envelope__free_unpacked. */
void h_env_free(Renkei__V1__Envelope *env);

/* "error", "login_response", ... for messages. */
const char *h_body_name(Renkei__V1__Envelope__BodyCase b);

/* ------------------------------------------------------- care requests */

/* One request each (harness_care.c), sent with h_call: the response
 * envelope (the success body or an Error), or NULL if none came; free
 * with h_env_free. Strings are not copied; "" or NULL where the proto
 * field is optional. They make what the integration tests ask most;
 * anything unusual is built by hand. */
Renkei__V1__Envelope *h_post_env(struct rkc *c, const char *patient,
                                 const char *client_id,
                                 Renkei__V1__Visibility vis, const char *text);
Renkei__V1__Envelope *h_amend_env(struct rkc *c, uint64_t post_id,
                                  const char *client_id, const char *text);
Renkei__V1__Envelope *h_ack_env(struct rkc *c, uint64_t post_id);
/* The newest page (default limit) of a board. */
Renkei__V1__Envelope *h_timeline_env(struct rkc *c, const char *patient);
/* SyncRequest for patients[0..n) (n = 0: every board I may read) from
 * `cursor`, live_only as given, default page size. */
Renkei__V1__Envelope *h_sync_env(struct rkc *c, const char *const *patients,
                                 size_t n, uint64_t cursor, int live_only);
Renkei__V1__Envelope *h_get_patient_env(struct rkc *c, const char *patient);
/* valid_from / valid_until: "YYYY-MM-DD" or "" (today / open). */
Renkei__V1__Envelope *h_sheet_add_env(struct rkc *c, const char *patient,
                                      const char *login, const char *team_role,
                                      int primary, const char *valid_from,
                                      const char *valid_until);
/* SheetChangeRequest that changes only the member's last valid day. */
Renkei__V1__Envelope *h_sheet_until_env(struct rkc *c, const char *patient,
                                        const char *login,
                                        const char *valid_until);
Renkei__V1__Envelope *h_sheet_end_env(struct rkc *c, const char *patient,
                                      const char *login, const char *reason);
Renkei__V1__Envelope *h_sheet_history_env(struct rkc *c, const char *patient);
/* new_patient may be NULL (an existing patient). */
Renkei__V1__Envelope *h_handoff_open_env(struct rkc *c, const char *patient,
                                         Renkei__V1__Patient *new_patient,
                                         const char *discharge_date,
                                         const char *summary,
                                         const char *client_id);
/* members[0..n): login, team_role, primary of each proposed member. */
Renkei__V1__Envelope *
h_handoff_propose_env(struct rkc *c, const char *patient,
                      const Renkei__V1__ProposedMember *members, size_t n);
Renkei__V1__Envelope *h_handoff_conference_env(struct rkc *c,
                                               const char *patient,
                                               const char *conference_at);
Renkei__V1__Envelope *h_handoff_accept_env(struct rkc *c, const char *patient);
Renkei__V1__Envelope *h_handoff_get_env(struct rkc *c, const char *patient);
Renkei__V1__Envelope *h_breakglass_env(struct rkc *c, const char *patient,
                                       const char *reason);
Renkei__V1__Envelope *h_family_invite_env(struct rkc *c, const char *patient,
                                          const char *login,
                                          const char *display_name,
                                          const char *relation);

/* On-call (65-oncall, 66-escalation). spec: the call order's slots split
 * by ',', the people of one slot by '+' ("dr.a,ns.b+pt.c"); "" clears. */
Renkei__V1__Envelope *h_callorder_env(struct rkc *c, const char *patient,
                                      const char *spec);
/* remove_id 0: add an entry for login from start_ms to end_ms. */
Renkei__V1__Envelope *h_oncall_set_env(struct rkc *c, const char *org,
                                       const char *login, int64_t start_ms,
                                       int64_t end_ms, uint64_t remove_id);
Renkei__V1__Envelope *h_oncall_show_env(struct rkc *c, const char *org);
/* An urgent VITALS post. */
Renkei__V1__Envelope *h_urgent_post_env(struct rkc *c, const char *patient,
                                        const char *client_id,
                                        Renkei__V1__Visibility vis,
                                        const char *text);

/* Pieces of a ward file for h_import (the JSON shape of
 * data/demo-ward.json), each a new reference for json_array_append_new.
 * A user's password is H_DEMO_PASSWORD; org NULL (family) for none.
 * from / until: "YYYY-MM-DD" (JST days; until is the last valid day) or
 * NULL for open. visibility: "all", "professional" or "clinical". */
json_t *h_ward_user(const char *login, const char *profession, const char *org);
json_t *h_ward_member(const char *login, const char *team_role, int primary,
                      const char *from, const char *until);
json_t *h_ward_post(const char *author, const char *visibility,
                    const char *text);

/* The outcome of an answer as a code: RENKEI__V1__CODE__OK for any
 * body that is not an Error, the Error's code otherwise, -1 for NULL. */
int h_env_code(const Renkei__V1__Envelope *env);

/* "ok" for a non-Error body, the Error's code name ("PERMISSION_DENIED")
 * otherwise, "(no answer)" for NULL. */
const char *h_env_outcome(const Renkei__V1__Envelope *env);

/* The next PostEvent on c within timeout_ms (other events are dropped),
 * or NULL. */
Renkei__V1__Envelope *h_next_post_event(struct rkc *c, int timeout_ms);

/* Read c until the server closes it, for up to timeout_ms: the close
 * code, or -1 if it stayed open. *ended: a SessionEnded came (its reason
 * into why[whylen] when why is not NULL); *leaked: a PostEvent came whose
 * post id is first_forbidden or later (0: none is forbidden) — the posts
 * made after the change that ended the session. */
int h_until_closed(struct rkc *c, int timeout_ms, uint64_t first_forbidden,
                   int *ended, int *leaked, char *why, size_t whylen);

/* The calendar day `days` from today in Japan (JST, UTC+9; the server's
 * sheet dates are JST days) as "YYYY-MM-DD" into out. */
void h_jst_date(int days, char out[11]);

/* Milliseconds until the next JST midnight (the day sheet dates roll). */
int64_t h_ms_to_jst_midnight(void);

/* ------------------------------------------------------------------ photos */

/* Photo uploads and downloads over the WebSocket (harness_media.c). */

/* Upload chunk size: the protocol's largest. */
#define H_CHUNK (512 * 1024)

/* SHA-256 of data[0..len), raw and as lower-case hex. */
void h_sha256(const void *data, size_t len, uint8_t out[32]);
void h_sha256_hex(const void *data, size_t len, char out[65]);

/* One request each; the answer (UploadStatus, UploadFinishResponse or an
 * Error) or NULL. file_name may be NULL. */
Renkei__V1__Envelope *h_upload_begin_env(struct rkc *c, const char *patient,
                                         const char *upload_id,
                                         const char *file_name, uint64_t size,
                                         const uint8_t sha256[32]);
Renkei__V1__Envelope *h_upload_chunk_env(struct rkc *c, const char *upload_id,
                                         uint64_t offset, const void *data,
                                         size_t len);
Renkei__V1__Envelope *h_upload_finish_env(struct rkc *c, const char *upload_id);

/* Send data[from..min(len, stop_at)) in H_CHUNK pieces, each from the
 * offset the server last reported. NULL when all of it was acknowledged
 * (*sent, if not NULL, counts the bytes sent), else the Error that
 * stopped it (free with h_env_free). */
Renkei__V1__Envelope *h_upload_rest_env(struct rkc *c, const char *upload_id,
                                        const void *data, size_t len,
                                        uint64_t from, uint64_t stop_at,
                                        uint64_t *sent);

/* The whole upload: begin with the data's size and SHA-256, send what the
 * server lacks, finish. The finish answer (UploadFinishResponse), or the
 * first Error (of begin, a chunk or finish), or NULL. */
Renkei__V1__Envelope *h_upload_env(struct rkc *c, const char *patient,
                                   const char *upload_id, const char *file_name,
                                   const void *data, size_t len);

/* Download a whole attachment (or its thumbnail) in chunks. Returns
 * RENKEI__V1__CODE__OK with *data (malloc'ed; free it) and *len, and the
 * mime type in msg; or the Error's code with its message in msg; or -1
 * (no answer, or chunks that do not fit together). */
int h_attachment_get(struct rkc *c, uint64_t id, int thumbnail, uint8_t **data,
                     size_t *len, char *msg, size_t msgcap);

/* ------------------------------------------------------------------- misc */

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int h_free_port(void);

/* Wall-clock and monotonic milliseconds; sleep. */
int64_t h_now_ms(void);
int64_t h_mono_ms(void);
void h_sleep_ms(int ms);

/* Run `cmd` with sh -c, stdin from /dev/null, stderr merged into
 * stdout. Returns its exit status (or 128 + signal; -1 if it could not
 * run) and the output in *out (malloc'ed, NUL-terminated; may be NULL). */
int h_sh(const char *cmd, char **out);

/* Search every regular file under `dir` for the bytes needle[0..len).
 * Returns how many files hold them; the first one's path goes to
 * found[cap] (if cap > 0). -1 if the folder could not be walked. */
int h_dir_grep(const char *dir, const void *needle, size_t len, char *found,
               size_t cap);

/* Read a whole file (malloc'ed, NUL-terminated). NULL on failure. */
char *h_read_file(const char *path, size_t *len);

/* Write data[0..len) to a new file at path (harness_media.c). 0 or -1. */
int h_write_file(const char *path, const void *data, size_t len);

/* --------------------------------------------------------------- databases */

/* The test process's key-encryption key, 64 hex digits (also in the
 * environment as RENKEI_KEK once a server was made). */
const char *h_kek_hex(void);

/* Unwrap the key file `file` of s's key folder ("care.key",
 * "audit.key", "care.key.new", ...) with the test KEK, as the server
 * does: 64 hex digits into hex[65]. 0, or -1 (reason printed). */
int h_key_hex(const struct h_server *s, const char *file, char hex[65]);

/* The server's care.db, keyed as the server keys it, with audit.db
 * attached as "audit" (harness_db.c). Safe while the server runs (WAL);
 * close with sqlite3_close. NULL (reason printed) on failure. */
sqlite3 *h_db_open(const struct h_server *s);

/* DIR/care.db alone, with the care key of DIR-keys/care.key (the key
 * folder beside DIR, as the server finds it), unwrapped with the test
 * KEK: what someone holding only the care key could open and change.
 * NULL (reason printed). */
sqlite3 *h_db_open_care(const char *dir);

/* The first column of the first row of sql, or -1 (error printed). */
int64_t h_db_int(sqlite3 *db, const char *sql);

/* 1 if PRAGMA schema.integrity_check says "ok", else 0 (what it said is
 * printed). */
int h_db_integrity_ok(sqlite3 *db, const char *schema);

/* Audit records with result ok of a post being created, amended or
 * retracted whose post id, author and patient are not those of the post
 * stored under that id: 0 is the only right answer; -1 on error. */
int64_t h_db_false_post_records(sqlite3 *db);

/* -------------------------------------------------------------- asserting */

/* Fail the test unless env is an Error with this code. */
#define h_assert_error(env, code)                                              \
	h_check_error((env), (code), __FILE__, __LINE__)
/* Fail the test unless env's body is `bodycase`
 * (RENKEI__V1__ENVELOPE__BODY_...). An Error is printed. */
#define h_assert_body(env, bodycase)                                           \
	h_check_body((env), (bodycase), __FILE__, __LINE__)

void h_check_error(const Renkei__V1__Envelope *env, Renkei__V1__Code code,
                   const char *file, int line);
void h_check_body(const Renkei__V1__Envelope *env,
                  Renkei__V1__Envelope__BodyCase b, const char *file, int line);

#endif
