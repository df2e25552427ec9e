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
 *   h_server_new    makes DIR (mkdtemp under $TMPDIR or /tmp), the dev
 *                   certificates, keys and databases, and imports the
 *                   demo ward with cheap argon2 parameters (fast logins);
 *   h_server_start  picks a free port and runs `renkei-server serve` with
 *                   stderr to DIR/server.log, then waits for /healthz;
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

#include "rkc.h"

/* The password of every demo user in data/demo-ward.json. */
#define H_DEMO_PASSWORD "renkei-demo-1"
/* Default wait for one answer from the server. */
#define H_TIMEOUT_MS 5000
/* Most "--name value" words given to serve. */
#define H_MAX_ARGS 32

struct h_server {
	char dir[256];      /* the data folder (removed by h_server_free) */
	char ca[300];       /* DIR/certs/ca.pem, for rkc_opts.ca_file */
	char log_path[300]; /* DIR/server.log: the server's stderr, appended */
	char url[64];       /* wss://127.0.0.1:PORT/ */
	char https[64];     /* https://127.0.0.1:PORT (no trailing slash) */
	int port;
	pid_t pid;       /* 0 while not running */
	int last_status; /* wait status of the last exit, -1 if none yet */
	char *args[H_MAX_ARGS + 1]; /* settings for serve, NULL-terminated */
};

/* ------------------------------------------------------------------ server */

/* Make a data folder with certificates, keys, databases and the demo
 * ward. Returns a server that is not running yet, or NULL. */
struct h_server *h_server_new(void);

/* The renkei-server binary under test (for admin commands such as an
 * extra `import` before h_server_start). */
const char *h_server_bin(void);

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

/* Wait until the log holds `needle`: 0, or -1 on timeout. */
int h_server_wait_log(const struct h_server *s, const char *needle,
                      int timeout_ms);

/* Print the last `lines` lines of the server log on stderr. */
void h_server_dump_log(const struct h_server *s, int lines);

/* Fill opts for this server (url and CA; everything else zero). */
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

/* rkc_call with H_TIMEOUT_MS; the response (free with h_env_free), or
 * NULL with the reason printed. */
Renkei__V1__Envelope *h_call(struct rkc *c, Renkei__V1__Envelope *req);

/* Requests. Each returns the response envelope (which may be an Error)
 * or NULL; free with h_env_free. device may be NULL. */
Renkei__V1__Envelope *h_login_env(struct rkc *c, const char *login,
                                  const char *password, const char *device);
Renkei__V1__Envelope *h_resume_env(struct rkc *c, const char *token);
Renkei__V1__Envelope *h_whoami_env(struct rkc *c);
Renkei__V1__Envelope *h_logout_env(struct rkc *c);

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
