/*
 * bench — `renkei bench`: load generation against a renkei server over
 * the real protocol on real TLS, from one process (or a few, when the
 * file-descriptor limit requires it).
 *
 * Files:
 *   bench.c          the command: options, dispatch, signals
 *   bench_run.c      what the scenarios share: the stop flag, clocks,
 *                    samples, the report
 *   bench_target.c   where to connect (loopback only) and the TLS context
 *   bench_net.c      an event loop of many client connections (epoll,
 *                    non-blocking sockets and OpenSSL)
 *   bench_ws.c       ... and what they say: the WebSocket upgrade, frames,
 *                    login (bench_loop.h: what the two share)
 *   bench_setup.c    bench users, patients and sheets (a ward file
 *                    imported with renkei-server import), logging them in
 *   bench_server.c   the server seen from outside: PID, CPU, RSS, /metrics
 *   bench_posts.c    scenario posts
 *   bench_conns.c    scenarios connections and reconnect
 *   bench_read.c     scenario timeline
 *   bench_upload.c   scenario upload
 *   bench_flood.c    scenario flood (its reader: bench_flood_reader.c)
 *
 * Calls go one way: bench.c calls the scenarios, which call
 * bench_setup.c, bench_server.c and bench_net.c; bench_setup.c calls
 * bench_target.c; bench_run.c is called by all but bench_target.c and
 * calls none of them.
 *
 * Why a separate client stack rather than rkc: rkc is blocking, one
 * connection per call site, and the scenarios need thousands of
 * connections in flight at once. The pure parts are shared (ws_frame.h,
 * rkc_http.h, rkc_url.h).
 *
 * Safety: the bench only ever connects to a loopback address (the server
 * URL's host must resolve to 127.0.0.0/8 or ::1), every loop is bounded
 * in time and count, and the accounts it creates are its own
 * ("bench-m<M>-u<NNNNN>", organisation "org-bench").
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "cli.h"

#define BENCH_DEFAULT_DATA "renkei-data"
#define BENCH_DEFAULT_CA "renkei-keys/certs/ca.pem"
#define BENCH_ORG "org-bench"
#define BENCH_CONNECT_TIMEOUT_MS 20000 /* TCP + TLS + upgrade + resume */
#define BENCH_MAX_MESSAGE ((size_t)64 << 20)

/* ---- options (bench.c) */

struct bench_opts {
	struct cli *cli;
	const char *scenario;
	const char *url;
	const char *ca;
	const char *data;        /* the server's data folder (setup, state) */
	const char *server_bin;  /* renkei-server for setup; NULL = beside us */
	int server_pid;          /* 0: look for it */
	int boards, members;
	double duration_s, warmup_s;
	double rate;             /* posts: total posts/s; 0 = as fast as acks come */
	int inflight;            /* posts: posts outstanding per poster */
	int posters;             /* posts: posters per board */
	int text_bytes;          /* posts: size of each note */
	int conns;               /* connections: how many */
	double hold_s;           /* connections: how long to keep them */
	int posts_per_board;     /* reconnect: posts made while away */
	int concurrency;         /* timeline, upload: requests in flight */
	int fill;                /* timeline: posts each board should have */
	int limit;               /* timeline: page size */
	const char *photo;       /* upload: a file to send; NULL = generated */
	int window;              /* handshakes in flight at once */
	int requests;            /* flood: pipelined requests */
	int partial;             /* flood: connections with a partial message */
	int partial_bytes;       /* flood: ... the size it announces */
	int partial_sent;        /* flood: ... the bytes of it sent */
	int attempts;            /* flood: wrong passwords in all */
	int attackers;           /* flood: ... from this many connections */
	int sources;             /* login-flood: ... from this many loopback
	                          * addresses (127.0.0.2..) */
	double read_rate;        /* flood: the reader's timeline reads/s */
	int no_setup;            /* do not run setup by ourselves */
	int notice_devices;      /* posts: members register an e-mail device */
};

/* ---- the stop flag, time and samples (bench_run.c) */

/* The SIGINT/SIGTERM handler of a run (bench.c installs it): sets the
 * flag that bench_stopping() reads. */
void bench_on_stop(int sig);
/* Set by SIGINT/SIGTERM during a run: every loop stops soon after. */
int bench_stopping(void);

int64_t bench_now_ns(void);
/* CPU time this process has used (user + system), in seconds. */
double bench_self_cpu_s(void);

/* A growing array of latency samples (ns), capped at BENCH_SAMPLES_MAX
 * (later samples are counted in `dropped`, never stored). */
#define BENCH_SAMPLES_MAX ((size_t)32 << 20)
struct bench_samples {
	int64_t *v;
	size_t n, cap;
	uint64_t dropped;
};
void bench_samples_add(struct bench_samples *s, int64_t ns);
/* Sort the samples (once) and return quantile q (0..1) in ns; 0 if none. */
int64_t bench_samples_q(struct bench_samples *s, double q);
void bench_samples_free(struct bench_samples *s);

/* ---- the report: one table for people, one JSON object for --json (bench_run.c) */

struct bench_report {
	json_t *json;            /* the scenario's object */
	struct cli_table *table; /* metric, value, unit */
};
void bench_report_init(struct bench_report *r, const char *scenario);
/* A row "label  value  unit" and json[key] = value (key NULL: table only). */
void bench_row(struct bench_report *r, const char *label, const char *key, double value,
               int decimals, const char *unit);
/* A text row; json[key] = text when key is not NULL. */
void bench_row_text(struct bench_report *r, const char *label, const char *key,
                    const char *text);
/* Rows for p50/p99/p99.9 (ms) and json[key] = {p50_ms,p99_ms,p999_ms,n}. */
void bench_row_latency(struct bench_report *r, const char *label, const char *key,
                       struct bench_samples *s);
/* What was run, in one line: the table's title, json.description. */
void bench_describe(struct bench_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print (table or JSON) and free. */
void bench_report_print(struct bench_opts *o, struct bench_report *r);

/* ---- connections (bench_target.c, bench_net.c) */

/* Where to connect: resolved once, a loopback address only. */
struct bench_target {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[256];
	char host_header[300];
	char path[2048];
	char url[CLI_URL_MAX];
	char ca[CLI_PATH_MAX];
	int host_is_ip;
	SSL_CTX *ctx; /* shared by every connection: the CA is loaded once */
	/* The bench's device key: its logins send it, its resumes are signed
	 * with it (every token it holds comes from its own logins). */
	struct rkc_device *device;
};
int bench_target_init(struct bench_target *t, const char *url, const char *ca, char *err,
                      size_t errlen);
void bench_target_fini(struct bench_target *t);

enum bconn_state {
	BC_IDLE,      /* not started, or dropped */
	BC_QUEUED,    /* waiting for a handshake slot */
	BC_TCP,
	BC_TLS,
	BC_UPGRADE,
	BC_AUTH,      /* ResumeRequest or LoginRequest sent */
	BC_READY,
	BC_CLOSED,    /* failed or closed by the server */
};

struct bench_loop;

struct bconn {
	void *user;            /* the scenario's */
	int tag;               /* the scenario's */
	/* the scenario's, set before the connection starts: the local
	 * address to connect from (sourcelen 0: any) */
	struct sockaddr_storage source;
	socklen_t sourcelen;
	enum bconn_state state;
	int64_t t_begin;       /* handshake started (ns) */
	int64_t t_ready;       /* ready (ns) */
	char why[160];         /* why it closed */
	/* private to bench_net.c and bench_ws.c */
	struct bench_loop *loop;
	uint32_t idx, gen;
	int hs;                /* counted as handshaking */
	int fd;
	SSL *ssl;
	uint32_t events;
	const char *token;     /* resume with this (not owned) */
	const char *login, *password; /* or log in with these (not owned) */
	char *login_token;     /* the token LoginResponse gave (malloc'ed) */
	int challenged;        /* resuming: the nonce was asked for */
	char ws_key[32];
	uint64_t next_rid;
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	uint8_t *msg;
	size_t msg_len, msg_cap;
	int msg_open;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	int close_sent;
};

struct bench_cbs {
	/* Connected, upgraded and (with a token or login) authenticated. */
	void (*ready)(struct bconn *c, void *arg);
	/* An Envelope on a ready connection; the loop frees it afterwards. */
	void (*message)(struct bconn *c, Renkei__V1__Envelope *env, int64_t now, void *arg);
	/* The connection failed or the server closed it (c->why says why);
	 * not called for bl_drop. */
	void (*closed)(struct bconn *c, void *arg);
	void *arg;
};

struct bench_loop *bl_new(struct bench_target *t, const struct bench_cbs *cbs, int window);
void bl_free(struct bench_loop *l);
/* A new connection (queued; started when a handshake slot is free). With
 * token it resumes that session; with login/password it logs in (the
 * token is then in c->login_token); with neither it is ready after the
 * upgrade. The strings must outlive the handshake. */
struct bconn *bl_open(struct bench_loop *l, const char *token, void *user);
struct bconn *bl_open_login(struct bench_loop *l, const char *login, const char *password,
                            void *user);
/* Start a dropped or closed connection again, resuming with token. */
void bl_reopen(struct bconn *c, const char *token);
/* Close: graceful sends a WebSocket close and TLS close_notify first
 * (without waiting); otherwise the socket just goes, as when a phone
 * loses its network. c stays valid (BC_IDLE) until bl_free. */
void bl_drop(struct bconn *c, int graceful);
/* Send env with the connection's next request id (written into env);
 * returns the id, or 0 if the connection is not usable. */
uint64_t bl_send(struct bconn *c, Renkei__V1__Envelope *env);
/* The same, queued only: many go out in one write with bl_kick (0, or -1
 * if the connection failed). */
uint64_t bl_queue(struct bconn *c, Renkei__V1__Envelope *env);
int bl_kick(struct bconn *c);
/* Start one binary message announcing `declared` bytes and send only
 * `sent` (< declared) of them; nothing more can be sent on c after it.
 * For the flood scenario. 0, or -1. */
int bl_send_partial(struct bconn *c, uint64_t declared, size_t sent);
/* Wait up to timeout_ms for events and handle them. Returns -1 on an
 * epoll failure, else 0. */
int bl_poll(struct bench_loop *l, int timeout_ms);
/* Connections being set up (queued or handshaking). */
size_t bl_pending(const struct bench_loop *l);
/* Bytes waiting to be written on c. */
size_t bl_out_pending(const struct bconn *c);

/* ---- setup (bench_setup.c) */

/* bench-m8-u00012 (member m of board b, both from 0) / bench-m8-p0003. */
void bench_user_name(char *buf, size_t len, int members, int board, int member);
void bench_patient_code(char *buf, size_t len, int members, int board);
/* Make sure boards x members bench accounts exist (import what is
 * missing, unless --no-setup), and give the password. Returns an exit
 * status (reported). */
int bench_setup_ensure(struct bench_opts *o, int boards, int members, char *password,
                       size_t pwlen);
/* Log in every member of boards x members once; tokens[board * members
 * + member] (malloc'ed; free with bench_tokens_free). Returns an exit
 * status (reported). */
int bench_login_all(struct bench_opts *o, struct bench_target *t, int boards, int members,
                    const char *password, char ***tokens);
void bench_tokens_free(char **tokens, size_t n);
/* Everything a scenario needs before it starts: setup, target, tokens. */
struct bench_env {
	struct bench_target target;
	char **tokens;
	size_t ntokens;
	char password[64]; /* the bench accounts' (cleansed at close) */
};
int bench_env_open(struct bench_opts *o, struct bench_env *e);
void bench_env_close(struct bench_env *e);
int bench_cmd_setup(struct bench_opts *o);

/* ---- the server (bench_server.c) */

#define BENCH_HIST_BUCKETS 7
struct bench_metrics {
	int ok;
	double posts, deliveries, commits, ops, commit_s, requests, errors, connections;
	double hist[BENCH_HIST_BUCKETS]; /* cumulative, le 1 3 15 63 255 1023 +Inf */
};

#define BENCH_THREADS_MAX 64
struct bench_snapshot {
	int64_t wall_ns;
	int pid;
	int cpu_ok;
	double cpu_s;       /* utime + stime of the whole process */
	int nthreads;
	int tids[BENCH_THREADS_MAX];
	double tcpu_s[BENCH_THREADS_MAX];
	char tname[BENCH_THREADS_MAX][16]; /* comm, if the server names its threads */
	long rss_kib;       /* VmRSS, or -1 */
	struct bench_metrics m;
	char metrics_why[160]; /* why m.ok is 0 */
};

/* Find the server's PID (--server-pid, else a renkei-server listening on
 * the target's port). 0 if not found (why says so). */
int bench_server_pid(struct bench_opts *o, const struct bench_target *t, char *why,
                     size_t whylen);
void bench_snapshot_take(struct bench_opts *o, const struct bench_target *t, int pid,
                         struct bench_snapshot *s);
/* The same on a thread, so that the event loop is not held up. */
struct bench_snap_async;
struct bench_snap_async *bench_snapshot_start(struct bench_opts *o,
                                              const struct bench_target *t, int pid,
                                              struct bench_snapshot *s);
void bench_snapshot_wait(struct bench_snap_async *a);
long bench_rss_kib(int pid);
/* Rows for what the server did between a and b: CPU (per post and per
 * delivery), threads, commits and batch sizes. */
void bench_server_rows(struct bench_report *r, const struct bench_snapshot *a,
                       const struct bench_snapshot *b, const char *pid_note);

/* ---- the flood scenario's reader (bench_flood_reader.c) */

#define FLOOD_PHASES 5
struct flood_reader;
/* Connect with token in a process of its own, fill `board` up to --fill
 * posts, then read its latest page at --read-rate. Returns once it
 * reads, or NULL with why. */
struct flood_reader *flood_reader_start(struct bench_opts *o, struct bench_target *t,
                                        const char *token, const char *board, char *why,
                                        size_t whylen);
/* Reads due from now on count for `phase` (0..FLOOD_PHASES-1; -1: none). */
void flood_reader_phase(struct flood_reader *r, int phase);
/* Stop reading and collect the samples (before flood_reader_samples). */
void flood_reader_stop(struct flood_reader *r);
struct bench_samples *flood_reader_samples(struct flood_reader *r, int phase,
                                           uint64_t *errors);
/* Why it stopped early or what went wrong first; "" if nothing. */
const char *flood_reader_why(const struct flood_reader *r);
void flood_reader_free(struct flood_reader *r);

/* ---- scenarios */
int bench_cmd_posts(struct bench_opts *o);
int bench_cmd_connections(struct bench_opts *o);
int bench_cmd_reconnect(struct bench_opts *o);
int bench_cmd_timeline(struct bench_opts *o);
int bench_cmd_upload(struct bench_opts *o);
int bench_cmd_flood(struct bench_opts *o);

#endif
