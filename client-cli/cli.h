/*
 * cli — internals of the `renkei` command-line client, shared by main.c
 * (global options, the command table, help) and one file per command
 * group (session.c: login, logout, whoami; twofa.c: 2fa; password.c:
 * password; secret.c: passwords typed without echo; patients.c: patients,
 * patient;
 * posts.c: board, post, amend, retract, ack, acks; watch.c: watch;
 * attach.c: attachment get; audit.c, audit_file.c: audit; admin.c:
 * admin), with conn.c
 * (talking to the server), output.c (reporting, JSON, tables),
 * post_view.c (how a post looks), config.c (the files), upload.c (photo
 * uploads), progress.c (progress bars), outfile.c (files written whole
 * or not at all), time_arg.c (--since and --until) and scrub.c (server
 * text made safe for a terminal).
 *
 * Calls between these files go one way, down: the commands call conn.c,
 * which calls config.c, output.c, progress.c and scrub.c; config.c and
 * outfile.c call output.c, output.c calls progress.c, progress.c calls
 * scrub.c; scrub.c and time_arg.c call nothing of the CLI. No file calls
 * one that calls it back (bench*.c likewise: see bench.h).
 *
 * Adding a command: write `int cli_cmd_NAME(struct cli *cli, int argc,
 * char **argv)` (argv[0] is the command name; it returns the process exit
 * status; --help answers cli_command_help()), declare it below and add a
 * row to main.c's command table. A
 * command that works as the logged-in user goes:
 *
 *	struct rkc *c;
 *	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp;
 *	Renkei__V1__XRequest x = RENKEI__V1__XREQUEST__INIT;
 *	int rc = cli_open_session(cli, &c);	// cached token, resumed
 *	if (rc != CLI_EXIT_OK)
 *		return rc;			// already reported
 *	req.body_case = RENKEI__V1__ENVELOPE__BODY_X_REQUEST;
 *	req.x_request = &x;
 *	rc = cli_call(cli, c, &req, RENKEI__V1__ENVELOPE__BODY_X_RESPONSE, &resp);
 *	if (rc == CLI_EXIT_OK) {
 *		if (cli->json) cli_json_print(cli, <json object>);
 *		else printf(...);		// cli_scrub() server strings first
 *		renkei__v1__envelope__free_unpacked(resp, NULL);
 *	}
 *	rkc_close(c);
 *	return rc;
 *
 * Reporting: the helpers below print every failure themselves (a message
 * on stderr, or {"error":{...}} on stdout with --json) and return the exit
 * status for it; a command only passes that status on. Exit statuses are
 * the CLI_EXIT_* values, by class.
 *
 * A request that is safe to repeat (a read, an ack, a write carrying a
 * client_id) goes through cli_request() instead, which also retries it
 * on a new connection when the connection fails (see conn.c).
 *
 * Ownership: struct cli lives in main() for the whole run; no other
 * mutable state is global (the exceptions are the signal flags: one used
 * while a password is typed, in secret.c, and the stop flag of watch.c).
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "renkei.pb-c.h"
#include "rkc.h"

#define CLI_DEFAULT_SERVER "wss://localhost:8443"
#define CLI_CALL_TIMEOUT_MS 30000
#define CLI_CONNECT_TIMEOUT_MS 10000
#define CLI_RETRIES 3            /* cli_request: retries after the first try */
#define CLI_RETRY_FIRST_MS 500   /* ... the first pause; it doubles each time */

/* Process exit statuses, by class of failure. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,    /* local failure: no session, files, ... */
	CLI_EXIT_USAGE = 2,   /* bad command line or configuration */
	CLI_EXIT_AUTH = 3,    /* UNAUTHENTICATED: not logged in, session ended */
	CLI_EXIT_DENIED = 4,  /* PERMISSION_DENIED or NOT_FOUND */
	CLI_EXIT_SERVER = 5,  /* any other error the server answered */
	CLI_EXIT_CONNECT = 6, /* cannot connect, TLS failure, connection lost */
};

#define CLI_PATH_MAX 4096
#define CLI_URL_MAX 1024
#define CLI_TOKEN_MAX 1024

struct cli {
	const char *prog;        /* "renkei" */
	const char *cmd;         /* the command running, or NULL */
	const char *cmd_usage;   /* its usage line, for usage errors */
	const char *cmd_summary; /* what it does, one line */
	const char *cmd_details; /* more about it, or NULL */
	const char *opt_server;  /* --server, or NULL */
	const char *opt_ca;      /* --ca, or NULL */
	int json;                /* --json */
	int ndjson;              /* JSON documents one per line (watch) */
	char dir[CLI_PATH_MAX];  /* the configuration folder */
	char *cfg_server;        /* `server` from the config file, or NULL */
	char *cfg_ca;            /* `ca` from the config file, or NULL */
	char *cfg_cert;          /* `cert`: a device certificate (PEM), or NULL */
	char *cfg_key;           /* `key`: its private key (PEM), or NULL */
	char session_server[CLI_URL_MAX]; /* set by cli_open_session */
	int progress_line;       /* a progress bar holds stderr's current line */
};

/* The cached session: file `session` in the configuration folder. */
struct cli_session {
	char server[CLI_URL_MAX];
	char token[CLI_TOKEN_MAX]; /* secret: cli_session_wipe() when done */
};

/* ---- commands (session.c) */
int cli_cmd_login(struct cli *cli, int argc, char **argv);
int cli_cmd_logout(struct cli *cli, int argc, char **argv);
int cli_cmd_whoami(struct cli *cli, int argc, char **argv);
/* ---- commands (devices.c): sessions, sessions revoke */
int cli_cmd_sessions(struct cli *cli, int argc, char **argv);
/* notify.c: my devices for notices, their preferences, a test notice */
int cli_cmd_notify(struct cli *cli, int argc, char **argv);
/* One line of stdin with read(2), no stdio (for secrets): its length,
 * -1 at end of input before anything, -2 if longer than len - 1. The
 * newline (and a CR before it) is not kept. */
int cli_read_line(char *buf, size_t len);

/* ---- commands (twofa.c): 2fa enroll, 2fa status */
int cli_cmd_2fa(struct cli *cli, int argc, char **argv);
/* The step-up code for break-glass and audit export: `given` (--code)
 * if not NULL; else, if the user has a second factor, asked for on the
 * terminal (a usage error without one); else "". Into buf. Reports
 * failures. */
int cli_step_up_code(struct cli *cli, const char *given, char *buf, size_t len);
/* Draw `text` as a QR code on f with Unicode half blocks (two modules
 * per character cell, white on black whatever the terminal's colours).
 * 0, or -1 if it does not encode. */
int cli_qr_print(FILE *f, const char *text);

/* ---- commands (password.c): password */
int cli_cmd_password(struct cli *cli, int argc, char **argv);
/* After a login whose session has CHANGE_PASSWORD pending (a one-time
 * password or invitation code, `one_time`): tell the user, and on a
 * terminal ask for their own password (twice) and change it on c, up to
 * three tries; otherwise say to run `renkei password`. Returns an exit
 * status (reported). */
int cli_password_first(struct cli *cli, struct rkc *c, int from_stdin, const char *one_time);

/* ---- secrets typed by the user (secret.c) */

/* Read a secret (a password) into buf[len]: on a terminal without echo
 * after `prompt` (on stderr), else one line of stdin (also when
 * from_stdin). `what` names it in errors ("password", "new password").
 * Returns CLI_EXIT_OK, or an exit status (reported; buf wiped). */
int cli_read_secret(struct cli *cli, int from_stdin, const char *prompt, const char *what,
                    char *buf, size_t len);
/* True if cli_read_secret would prompt on a terminal. */
int cli_secret_tty(int from_stdin);

/* ---- commands (patients.c) */
int cli_cmd_patients(struct cli *cli, int argc, char **argv);
int cli_cmd_patient(struct cli *cli, int argc, char **argv);

/* ---- commands (posts.c) */
int cli_cmd_board(struct cli *cli, int argc, char **argv);
int cli_cmd_post(struct cli *cli, int argc, char **argv);
int cli_cmd_amend(struct cli *cli, int argc, char **argv);
int cli_cmd_retract(struct cli *cli, int argc, char **argv);
int cli_cmd_ack(struct cli *cli, int argc, char **argv);
/* ---- commands (inbox.c): addressed posts and requests */
int cli_cmd_inbox(struct cli *cli, int argc, char **argv);
int cli_cmd_done(struct cli *cli, int argc, char **argv);
int cli_cmd_acks(struct cli *cli, int argc, char **argv);

/* ---- commands (sheet.c) */
int cli_cmd_sheet(struct cli *cli, int argc, char **argv);

/* ---- on-call (oncall.c, docs/oncall.md) */
int cli_cmd_oncall(struct cli *cli, int argc, char **argv);
/* renkei sheet callorder PATIENT SPEC */
int cli_sheet_callorder(struct cli *cli, int argc, char **argv);
/* Split a call order "a+b,c" in place: slots by ',', people of a slot by
 * '+'; "" is no slots. 0, or -1 (an empty slot or login, more than 8
 * slots or 8 people in one). Pure (tests/unit/client). */
int cli_callorder_parse(char *spec, char *logins[8][8], size_t per_slot[8],
                        size_t *nslots);
/* The call order and who is on call, after the sheet (renkei patient). */
void cli_print_callorder(const Renkei__V1__GetPatientResponse *g);
json_t *cli_json_callorder(Renkei__V1__CallSlot **slots, size_t n);
int cli_cmd_handoff(struct cli *cli, int argc, char **argv);
int cli_cmd_breakglass(struct cli *cli, int argc, char **argv);
int cli_cmd_family(struct cli *cli, int argc, char **argv);

/* ---- commands (watch.c) */
int cli_cmd_watch(struct cli *cli, int argc, char **argv);
int cli_cmd_bench(struct cli *cli, int argc, char **argv); /* bench*.c, bench.h */

/* ---- commands (attach.c): attachment get */
int cli_cmd_attachment(struct cli *cli, int argc, char **argv);

/* ---- commands (audit.c, audit_file.c): audit query, export, pubkey, verify */
int cli_cmd_audit(struct cli *cli, int argc, char **argv);
int cli_audit_export(struct cli *cli, int argc, char **argv);
int cli_audit_pubkey(struct cli *cli, int argc, char **argv);
int cli_audit_verify(struct cli *cli, int argc, char **argv);

/* ---- commands (admin.c): account administration (admins) */
int cli_cmd_admin(struct cli *cli, int argc, char **argv);

/* ---- the time syntax of --since and --until (time_arg.c) */

/* Parse a --since / --until value: an ISO date or time ("2026-11-15",
 * "2026-11-15T09:00[:00]", with "Z" or "+09:00" or without a zone: local
 * time), "now", or an age ("7d", "24h", "30m", "2w": that long before
 * now_ms). A date alone means its start, or with end_of_day its end (the
 * start of the next day), so that --until 2026-11-30 includes that day.
 * 0 with *ms (UTC milliseconds), or -1. */
int cli_time_parse(const char *s, int end_of_day, int64_t now_ms, int64_t *ms);
/* Parse a --due value: a time ahead ("+2h", "+1d", "+30m", "+1w"), or an
 * ISO date or time as above (a date alone: the end of that day). Not
 * "now" or a bare age (which would be in the past). 0 with *ms, or -1. */
int cli_due_parse(const char *s, int64_t now_ms, int64_t *ms);

/* ---- photos (upload.c) */

#define CLI_PHOTOS_MAX 10 /* per post (renkei.proto) */
#define CLI_TO_MAX 20     /* addressees per post (renkei.proto) */

struct cli_upload {
	const char *patient;
	const char *client_id;    /* the post's: the upload ids derive from it */
	const char *const *paths; /* the files, in order */
	size_t n;
	uint64_t stop_after;      /* test hook: drop the connection after this
	                           * many bytes of the first photo; 0 = off */
};
/* Upload the photos for a post, one after the other, each resumed where
 * the server has it (after a lost connection, or by an earlier run with
 * the same client id), with a progress bar on a terminal. ids[i] gets
 * photo i's attachment id. *c is the connection to use (NULL: one is
 * opened) and is left open for the post (rkc_close it). Returns an exit
 * status (reported; a refused photo is named). */
int cli_upload_photos(struct cli *cli, const struct cli_upload *u, struct rkc **c,
                      uint64_t *ids);

/* ---- progress bar on stderr, only when it is a terminal (progress.c) */
struct cli_progress {
	struct cli *cli;
	int on;          /* stderr is a terminal */
	int ended;
	char label[200];
	uint64_t total, base, done; /* base: where this run started */
	int64_t start_ms, last_ms, moved_ms; /* moved: when done last grew */
};
/* Start a bar for total bytes of which `done` are there already. */
void cli_progress_start(struct cli *cli, struct cli_progress *p, const char *label,
                        uint64_t total, uint64_t done);
/* Set the bytes done; redrawn at most 10 times a second. */
void cli_progress_update(struct cli_progress *p, uint64_t done);
/* Draw the final state and end the line. */
void cli_progress_end(struct cli_progress *p);
/* End a bar's line early, before a message on stderr (the reporting
 * helpers of output.c and cli_retry_wait do it themselves). */
void cli_progress_break(struct cli *cli);

/* ---- files written whole or not at all (outfile.c) */
struct cli_outfile {
	char path[CLI_PATH_MAX];
	char tmp[CLI_PATH_MAX + 16];
	int fd;            /* -1 when not open */
	uint64_t written;
};
/* Create a temporary file beside path (mode 0600). Exit status (reported). */
int cli_outfile_open(struct cli *cli, struct cli_outfile *f, const char *path);
/* Append n bytes. Exit status (reported). */
int cli_outfile_write(struct cli *cli, struct cli_outfile *f, const void *p, size_t n);
/* Start again from an empty file (a transfer restarted). Exit status. */
int cli_outfile_rewind(struct cli *cli, struct cli_outfile *f);
/* Sync, set the mode and rename over path. Exit status (reported). */
int cli_outfile_commit(struct cli *cli, struct cli_outfile *f, unsigned int mode);
/* Remove the temporary file if it is still there. Safe to repeat. */
void cli_outfile_abort(struct cli_outfile *f);

/* ---- configuration and the session cache (config.c) */

/* Find the configuration folder ($RENKEI_CONFIG_DIR, else
 * $XDG_CONFIG_HOME/renkei, else ~/.config/renkei) and read its `config`
 * file if there is one. Returns an exit status (reported). */
int cli_config_load(struct cli *cli);
/* Free what cli_config_load allocated. */
void cli_config_free(struct cli *cli);
/* The server URL to use: --server, else config, else the default. */
const char *cli_server_url(const struct cli *cli);
/* The CA file to use: --ca, else config, else NULL. */
const char *cli_ca_file(const struct cli *cli);
/* Set `server` and/or `ca` (NULL: leave as is) in the config file,
 * keeping its other lines. Returns an exit status (reported). */
int cli_config_save(struct cli *cli, const char *server, const char *ca);

/* Read the cached session into *s. Returns CLI_EXIT_OK, -1 when there is
 * none (nothing reported), or another exit status (reported). */
int cli_session_load(struct cli *cli, struct cli_session *s);
/* Replace the cached session atomically; the file is created mode 0600
 * and is never readable by others. Returns an exit status (reported). */
int cli_session_save(struct cli *cli, const char *server, const char *token);
/* This configuration's device key (file `device-key`, mode 0600): read
 * it, or when there is none and `create` is set, make and save one. A key
 * file anyone else may read or change is refused. *out: rkc_device_free.
 * Returns an exit status (reported). */
int cli_device_key(struct cli *cli, int create, struct rkc_device **out);
/* Delete the cached session. Returns CLI_EXIT_OK, -1 when there was
 * none, or another exit status (reported). */
int cli_session_remove(struct cli *cli);
/* Wipe a session struct (the token) from memory. */
void cli_session_wipe(struct cli_session *s);

/* The watch cursors: file `cursor` in the configuration folder (mode
 * 0600), one "CURSOR KEY" line per key (the server, the login and the
 * boards watched; no line breaks, at most 2048 bytes). Neither reports:
 * they return 0, or -1 with the reason in why, and watch goes on.
 * Load: *cursor is 0 when the key has none. Save: replaces the key's
 * line, atomically. */
int cli_cursor_load(struct cli *cli, const char *key, uint64_t *cursor, char *why,
                    size_t whylen);
int cli_cursor_save(struct cli *cli, const char *key, uint64_t cursor, char *why,
                    size_t whylen);

/* ---- talking to the server (conn.c) */

/* Check, without connecting, that url parses and that the CA file of
 * cli_ca_file() is readable. Returns an exit status (reported). */
int cli_check_server(struct cli *cli, const char *url);
/* Connect to url with the CA of cli_ca_file(). Returns an exit status
 * (reported); *out on success (rkc_close it). */
int cli_connect(struct cli *cli, const char *url, struct rkc **out);
/* Send ResumeRequest with token on c. Returns CLI_EXIT_OK with *resp (the
 * LoginResponse or an Error: caller frees), or CLI_EXIT_CONNECT
 * (reported). */
int cli_resume(struct cli *cli, struct rkc *c, const char *token,
               Renkei__V1__Envelope **resp);
/* Load the cached session, connect to its server and resume it. Sets
 * cli->session_server. Returns an exit status (reported); *out on
 * success (rkc_close it). */
int cli_open_session(struct cli *cli, struct rkc **out);
/* The same, for callers that retry: a transport failure (cannot connect,
 * timeout, connection lost) or an UNAVAILABLE answer (the server is
 * shutting down) is not reported but described in why, and returns
 * CLI_EXIT_CONNECT; every other failure is reported. On success the
 * login of the session's user goes to login (if not NULL). */
int cli_open_session_quiet(struct cli *cli, struct rkc **out, char *login,
                           size_t login_len, char *why, size_t whylen);
/* Call req on c and expect a `want` body. Returns CLI_EXIT_OK with *resp
 * (caller frees with renkei__v1__envelope__free_unpacked), or an exit
 * status (reported: the server's Error, a wrong body, or the transport
 * failure). */
int cli_call(struct cli *cli, struct rkc *c, Renkei__V1__Envelope *req,
             Renkei__V1__Envelope__BodyCase want, Renkei__V1__Envelope **resp);
/* rkc_call with the CLI's timeout. Returns CLI_EXIT_OK with *resp (any
 * body: the caller checks; caller frees), or CLI_EXIT_CONNECT with the
 * reason in why (not reported). */
int cli_call_quiet(struct rkc *c, Renkei__V1__Envelope *req, Renkei__V1__Envelope **resp,
                   char *why, size_t whylen);
/* Check that *resp has body `want`: CLI_EXIT_OK, or report the Error or
 * the wrong body, free *resp, NULL it and return the exit status. */
int cli_check_answer(struct cli *cli, Renkei__V1__Envelope__BodyCase want,
                     Renkei__V1__Envelope **resp);
/* For requests that are safe to repeat: open the session, call req,
 * close. A transport failure or an UNAVAILABLE answer is retried up to
 * `retries` times on a new connection after a pause that doubles from
 * CLI_RETRY_FIRST_MS (each retry is announced on stderr); only the last
 * failure is reported. Returns like cli_call; *resp is caller's. */
int cli_request(struct cli *cli, Renkei__V1__Envelope *req, Renkei__V1__Envelope__BodyCase want,
                Renkei__V1__Envelope **resp, int retries);
/* The same on a connection kept for further calls: *c is NULL at first
 * (or a connection from an earlier call); a failed connection is
 * replaced. The caller rkc_closes *c at the end (NULL ok). */
int cli_request_on(struct cli *cli, struct rkc **c, Renkei__V1__Envelope *req,
                   Renkei__V1__Envelope__BodyCase want, Renkei__V1__Envelope **resp,
                   int retries);
/* After a transport failure described in why (attempt 0 = the first
 * try): if attempt < retries, announce the retry on stderr, sleep
 * *pause_ms (then double it) and return CLI_EXIT_OK; else report why and
 * return CLI_EXIT_CONNECT. why is scrubbed in place. */
int cli_retry_wait(struct cli *cli, char *why, int attempt, int retries, int *pause_ms);
/* Sleep ms milliseconds (a signal may cut it short). */
void cli_sleep_ms(int ms);
/* Describe why a call on c failed at the transport level, for why. */
void cli_transport_reason(struct rkc *c, char *why, size_t whylen);
/* "renkei-cli/<hostname>", the device named at login and resume. */
void cli_device(char *buf, size_t len);

/* ---- server text on its way to a terminal (scrub.c) */

/* Replace terminal control characters (C0, DEL, C1) in s with '?', in
 * place, so that text from the server cannot drive the terminal. UTF-8
 * text (Japanese included) is left as is. NULL ok. */
void cli_scrub(char *s);
/* Print server text s on f through cli_scrub (s is not changed); line
 * breaks become spaces. NULL prints nothing. */
void cli_print_scrubbed(FILE *f, const char *s);
/* Print multi-line server text s on f, each line after `indent` and
 * through cli_scrub (s is not changed). */
void cli_print_block(FILE *f, const char *s, const char *indent);

/* ---- output (output.c) */

/* THE place that turns a server Error into a message for the user
 * (stderr, or {"error":{"code","message","field"}} on stdout with --json)
 * and an exit status (cli_exit_for_code). */
int cli_server_error(struct cli *cli, const Renkei__V1__Error *e);
/* The exit status for a server status code. */
int cli_exit_for_code(Renkei__V1__Code code);

/* Report a local failure (message on stderr, or JSON error on stdout)
 * and return exit_code. */
int cli_fail(struct cli *cli, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Report a usage error followed by the command's usage; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Report an option the command does not know (argv element `arg`),
 * pointing out global options given after the command; returns
 * CLI_EXIT_USAGE. */
int cli_unknown_option(struct cli *cli, const char *arg);
/* Print a JSON document (takes the reference) on stdout: indented, or
 * on one line when cli->ndjson. */
void cli_json_print(struct cli *cli, json_t *doc);
/* A JSON string for s (NULL gives ""), with invalid UTF-8 replaced by
 * U+FFFD so that a bad byte never loses the whole answer. */
json_t *cli_json_str(const char *s);
/* {"login","display_name","profession","organisation":{...}} */
json_t *cli_json_user(const Renkei__V1__User *u);
/* A JSON object for a session: user, expiry (ISO and ms), idle timeout. */
json_t *cli_json_session(const Renkei__V1__User *u, int64_t expires_at_ms,
                         uint32_t idle_timeout_s);
/* "nurse", "care manager", ... for people. */
const char *cli_profession_text(Renkei__V1__Profession p);
/* "NURSE", "CARE_MANAGER", ... for JSON. */
const char *cli_profession_name(Renkei__V1__Profession p);
/* Local time "2025-06-01 18:00 JST" / UTC "2025-06-01T09:00:00Z". */
void cli_time_local(int64_t ms, char *buf, size_t len);
void cli_time_utc(int64_t ms, char *buf, size_t len);
/* Local time without the zone, "2025-06-01 18:00". */
void cli_time_short(int64_t ms, char *buf, size_t len);
/* Print "usage: renkei CMD USAGE" for the running command on f. */
void cli_print_usage(const struct cli *cli, FILE *f);
/* Answer `renkei CMD --help` on stdout: the usage, the summary and the
 * details. Returns CLI_EXIT_OK. */
int cli_command_help(const struct cli *cli);

/* A table for people: columns padded to their widest cell (in terminal
 * columns, Japanese counted double), two spaces apart. Cells are copied
 * and scrubbed when added. Out of memory aborts. */
struct cli_table;
/* ncols headers; align: one 'l' or 'r' per column, or NULL (all left). */
struct cli_table *cli_table_new(size_t ncols, const char *const *headers, const char *align);
/* Add a row of ncols cells (NULL cells print as ""). */
void cli_table_add(struct cli_table *t, const char *const *cells);
/* Print the header and the rows on f, each line after indent. */
void cli_table_print(const struct cli_table *t, FILE *f, const char *indent);
void cli_table_free(struct cli_table *t);

/* ---- posts as people and programs see them (post_view.c) */

/* Post kinds and visibilities: "visit_note", "professional" for people
 * and options; "VISIT_NOTE", "VISIBILITY_PROFESSIONAL" (the proto names)
 * for JSON. Never NULL. */
const char *cli_kind_text(Renkei__V1__PostKind k);
const char *cli_kind_name(Renkei__V1__PostKind k);
const char *cli_visibility_text(Renkei__V1__Visibility v);
const char *cli_visibility_name(Renkei__V1__Visibility v);
/* Parse a --kind / --visibility value (the people's names). 0, or -1. */
int cli_kind_parse(const char *s, Renkei__V1__PostKind *k);
int cli_visibility_parse(const char *s, Renkei__V1__Visibility *v);

/* What else is known when a post is printed: the page it is on (to name
 * linked posts by #seq and show a retraction's reason), or nothing. */
struct cli_post_ctx {
	Renkei__V1__Post *const *posts;
	size_t n;
	int show_patient;   /* start the header with the patient code */
};
/* Print p for people on stdout: the header line "#seq  id N  time
 * author (profession)  kind  [visibility] [URGENT]", markers for
 * amendments and retractions, vitals, then the text, indented. ctx may
 * be NULL. Server text is scrubbed; p is not changed. */
void cli_post_print(const Renkei__V1__Post *p, const struct cli_post_ctx *ctx);
/* Print one line per attachment of p ("photo id 7  image/jpeg  1200×1600
 * 245.3 KiB  wound.jpg") after indent. */
void cli_attachments_print(const Renkei__V1__Post *p, const char *indent);
/* An attachment as a JSON object; a new reference. */
json_t *cli_json_attachment(const Renkei__V1__Attachment *a);
/* "812 bytes", "245.3 KiB", "10.0 MiB". */
void cli_size_text(uint64_t n, char *buf, size_t len);
/* p as a JSON object with every field; a new reference. */
json_t *cli_json_post(const Renkei__V1__Post *p);
/* The readings of v as a JSON object, or JSON null for none. */
json_t *cli_json_vitals(const Renkei__V1__Vitals *v);

#endif
