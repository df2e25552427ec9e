/*
 * The integration test harness; see harness.h.
 *
 * Why fork/exec and not an in-process server: the tests must see what an
 * operator sees — the real binary, its exit status, its log, its memory,
 * its files after a SIGKILL — and a crash in the server must not take the
 * test down with it.
 *
 * Port choice: bind port 0, read the port, close, hand it to the server.
 * Another process may take it in between (ctest -j); the server then
 * fails to listen and says so in its log, and we try another port.
 */
#define _GNU_SOURCE /* memmem, strsignal */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RENKEI_SERVER_BIN
#error "RENKEI_SERVER_BIN must be set by tests/integration/CMakeLists.txt"
#endif
#ifndef RENKEI_SOURCE_DIR
#error "RENKEI_SOURCE_DIR must be set by tests/integration/CMakeLists.txt"
#endif

#define START_TRIES     5    /* ports tried when one was taken meanwhile */
#define RESTART_BIND_MS 5000 /* a restart waits this long for its old port */
#define STOP_TIMEOUT_MS 15000

/* ------------------------------------------------------------------- misc */

int64_t
h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
h_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
h_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
h_free_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

char *
h_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (len != NULL)
		*len = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
h_sh(const char *cmd, char **out)
{
	size_t n = strlen(cmd) + 32, len = 0, cap = 0;
	char *full = malloc(n), *buf = NULL, chunk[4096];
	FILE *p;
	int st;

	if (out != NULL)
		*out = NULL;
	if (full == NULL)
		return -1;
	snprintf(full, n, "( %s ) </dev/null 2>&1", cmd);
	p = popen(full, "r");
	free(full);
	if (p == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *nb = realloc(buf, cap);
			if (nb == NULL)
				break;
			buf = nb;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	st = pclose(p);
	if (buf == NULL)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
grep_file(const char *path, const void *needle, size_t nlen)
{
	size_t len;
	char *buf = h_read_file(path, &len);
	int hit;

	if (buf == NULL)
		return 0; /* vanished meanwhile (e.g. a -journal file) */
	hit = nlen > 0 && memmem(buf, len, needle, nlen) != NULL;
	free(buf);
	return hit;
}

int
h_dir_grep(const char *dir, const void *needle, size_t len, char *found,
           size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char path[1024];
	int hits = 0, r;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			r = h_dir_grep(path, needle, len,
			               hits == 0 ? found : NULL,
			               hits == 0 ? cap : 0);
			if (r > 0)
				hits += r;
		} else if (S_ISREG(st.st_mode) &&
		           grep_file(path, needle, len)) {
			if (hits == 0 && cap > 0)
				snprintf(found, cap, "%s", path);
			hits++;
		}
	}
	closedir(d);
	return hits;
}

static int
rm_tree(const char *path)
{
	struct stat st;
	struct dirent *e;
	char sub[1024];
	DIR *d;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	closedir(d);
	return rmdir(path);
}

/* ------------------------------------------------------------ processes */

/* In a freshly forked child: die with the test process, start from a
 * clean signal state, send output to log_path, read nothing. */
static void
child_setup(pid_t parent, const char *log_path)
{
	sigset_t none;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* the test died before prctl took effect */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

/* Run argv to completion with output appended to log_path. Returns the
 * wait status, or -1. */
static int
run_wait(char *const argv[], const char *log_path)
{
	pid_t parent = getpid(), pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		child_setup(parent, log_path);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
		        strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

int
h_exited_cleanly(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
describe_status(int st, char *buf, size_t cap)
{
	if (st == -1)
		snprintf(buf, cap, "not run");
	else if (WIFEXITED(st))
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(st),
		         strsignal(WTERMSIG(st)));
	else
		snprintf(buf, cap, "wait status 0x%x", st);
}

/* ------------------------------------------------------------------ server */

/* Run one setup command; on failure print its output. 0 or -1. */
static int
setup_step(const char *what, char *const argv[], const char *log_path)
{
	char why[96], *log;
	int st = run_wait(argv, log_path);

	if (h_exited_cleanly(st))
		return 0;
	describe_status(st, why, sizeof(why));
	log = h_read_file(log_path, NULL);
	fprintf(stderr, "harness: %s failed (%s):\n%s\n", what, why,
	        log ? log : "(no output)");
	free(log);
	return -1;
}

/* An import with the cheap argon2 costs of the demo users: below OWASP's
 * floor, which renkei-server refuses unless RENKEI_ARGON2_TEST_COST=1
 * (util/conf.h) is in its environment. Set for that child only: the
 * server under test runs at the floor, so that every hash it makes
 * itself (a changed password, an invitation code, the stand-in hash of
 * an unknown login) costs what it costs in production. */
static int
cheap_import_step(char *const argv[], const char *log_path)
{
	int rc;

	setenv("RENKEI_ARGON2_TEST_COST", "1", 1);
	rc = setup_step("renkei-server import", argv, log_path);
	unsetenv("RENKEI_ARGON2_TEST_COST");
	return rc;
}

const char *
h_kek_hex(void)
{
	static char hex[65];
	unsigned char raw[32];
	int fd;

	if (hex[0] != '\0')
		return hex;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
		abort();
	close(fd);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return hex;
}

struct h_server *
h_server_new(void)
{
	const char *tmp = getenv("TMPDIR");
	struct h_server *s = calloc(1, sizeof(*s));
	char setup_log[300], certs[300];

	if (s == NULL)
		return NULL;
	/* Every renkei-server this process runs finds the KEK here. */
	setenv("RENKEI_KEK", h_kek_hex(), 1);
	s->last_status = -1;
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(s->dir, sizeof(s->dir), "%s/renkei-it-XXXXXX", tmp);
	if (mkdtemp(s->dir) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", s->dir,
		        strerror(errno));
		free(s);
		return NULL;
	}
	snprintf(s->keys, sizeof(s->keys), "%s-keys", s->dir);
	snprintf(s->ca, sizeof(s->ca), "%s/certs/ca.pem", s->keys);
	snprintf(s->log_path, sizeof(s->log_path), "%s/server.log", s->dir);
	snprintf(setup_log, sizeof(setup_log), "%s/setup.log", s->dir);
	snprintf(certs, sizeof(certs), "%s/certs", s->keys);

	char *mkcerts[] = {"/bin/sh",
	                   RENKEI_SOURCE_DIR "/certs/make-dev-certs.sh", certs,
	                   NULL};
	char *init[] = {RENKEI_SERVER_BIN, "init", "--data", s->dir, NULL};
	/* Cheap argon2 for the demo users: tests log in often (a test-only
	 * setting: see cheap_import_step). */
	char *import[] = {RENKEI_SERVER_BIN,
	                  "import",
	                  "--data",
	                  s->dir,
	                  "--argon2-t",
	                  "1",
	                  "--argon2-m-kib",
	                  "64",
	                  RENKEI_SOURCE_DIR "/data/demo-ward.json",
	                  NULL};
	if (setup_step("renkei-server init", init, setup_log) != 0 ||
	    setup_step("make-dev-certs.sh", mkcerts, setup_log) != 0 ||
	    cheap_import_step(import, setup_log) != 0) {
		fprintf(stderr, "harness: (data folder %s)\n", s->dir);
		rm_tree(s->dir);
		rm_tree(s->keys);
		free(s);
		return NULL;
	}
	return s;
}

const char *
h_source_dir(void)
{
	return RENKEI_SOURCE_DIR;
}

int
h_import(const struct h_server *s, const char *path)
{
	char setup_log[300];
	char *argv[] = {RENKEI_SERVER_BIN,
	                "import",
	                "--data",
	                (char *)s->dir,
	                "--argon2-t",
	                "1",
	                "--argon2-m-kib",
	                "64",
	                (char *)path,
	                NULL};

	snprintf(setup_log, sizeof(setup_log), "%s/setup.log", s->dir);
	return cheap_import_step(argv, setup_log);
}

static void
free_args(struct h_server *s)
{
	for (int i = 0; s->args[i] != NULL; i++) {
		free(s->args[i]);
		s->args[i] = NULL;
	}
}

static void
set_port(struct h_server *s, int port)
{
	s->port = port;
	snprintf(s->url, sizeof(s->url), "wss://127.0.0.1:%d/", port);
	snprintf(s->https, sizeof(s->https), "https://127.0.0.1:%d", port);
}

static pid_t
spawn(struct h_server *s)
{
	char *argv[H_MAX_ARGS + 10], port[16];
	pid_t parent = getpid(), pid;
	int n = 0;

	snprintf(port, sizeof(port), "%d", s->port);
	argv[n++] = RENKEI_SERVER_BIN;
	argv[n++] = "serve";
	argv[n++] = "--data";
	argv[n++] = s->dir;
	argv[n++] = "--port";
	argv[n++] = port;
	/* The suites log demo users in with their password alone; the
	 * second factor's own test (58-totp) asks for it with
	 * "--totp-required staff", which comes later and wins. */
	argv[n++] = "--totp-required";
	argv[n++] = "off";
	for (int i = 0; s->args[i] != NULL; i++)
		argv[n++] = s->args[i];
	argv[n] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		child_setup(parent, s->log_path);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
		        strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Wait for /healthz. 0 ready; -1 the process ended (status kept);
 * -2 timeout (the process is left running for the caller to kill). */
static int
wait_ready(struct h_server *s, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;
	struct rkc_opts o;
	char err[256];
	int st;

	h_opts(s, &o);
	o.timeout_ms = 1000;
	while (h_mono_ms() < end) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid) {
			s->pid = 0;
			s->last_status = st;
			return -1;
		}
		if (rkc_https_get(&o, "/healthz", NULL, NULL, NULL, err,
		                  sizeof(err)) == 200)
			return 0;
		h_sleep_ms(20);
	}
	return -2;
}

/* Did the last start fail because the port was taken? */
static int
port_taken(const struct h_server *s)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "port %d", s->port);
	return h_server_log_has(s, "cannot listen") == 1 &&
	       h_server_log_has(s, needle) == 1;
}

static int
start_timeout_ms(void)
{
	const char *v = getenv("RENKEI_TEST_START_MS");
	int ms = v != NULL ? atoi(v) : 0;

	return ms > 0 ? ms : 20000;
}

/* Start on s->port if keep_port, else on fresh free ports. */
static int
start(struct h_server *s, int keep_port)
{
	int64_t end = h_mono_ms() + RESTART_BIND_MS;
	char why[96];
	int r;

	for (int tries = 0;; tries++) {
		if (!keep_port) {
			int port = h_free_port();
			if (port < 0) {
				fprintf(stderr, "harness: no free port: %s\n",
				        strerror(errno));
				return -1;
			}
			set_port(s, port);
		}
		s->pid = spawn(s);
		if (s->pid < 0) {
			s->pid = 0;
			fprintf(stderr, "harness: fork: %s\n", strerror(errno));
			return -1;
		}
		r = wait_ready(s, start_timeout_ms());
		if (r == 0)
			return 0;
		if (r == -2) {
			fprintf(stderr,
			        "harness: server not ready after %d ms on port "
			        "%d\n",
			        start_timeout_ms(), s->port);
			h_server_stop(s, SIGKILL, 5000);
			h_server_dump_log(s, 30);
			return -1;
		}
		/* It exited. A port taken meanwhile is worth another try. */
		if (port_taken(s) &&
		    (keep_port ? h_mono_ms() < end : tries + 1 < START_TRIES)) {
			h_sleep_ms(keep_port ? 200 : 10);
			continue;
		}
		describe_status(s->last_status, why, sizeof(why));
		fprintf(stderr,
		        "harness: server on port %d ended at start (%s)\n",
		        s->port, why);
		h_server_dump_log(s, 30);
		return -1;
	}
}

int
h_server_start(struct h_server *s, const char *const *args)
{
	int n = 0;

	if (s->pid != 0) {
		fprintf(stderr, "harness: server already running\n");
		return -1;
	}
	free_args(s);
	for (; args != NULL && args[n] != NULL; n++) {
		if (n == H_MAX_ARGS) {
			fprintf(stderr,
			        "harness: more than %d server arguments\n",
			        H_MAX_ARGS);
			free_args(s);
			return -1;
		}
		s->args[n] = strdup(args[n]);
	}
	s->args[n] = NULL;
	return start(s, 0);
}

struct h_server *
h_server_up(const char *const *args)
{
	struct h_server *s = h_server_new();

	if (s == NULL)
		return NULL;
	if (h_server_start(s, args) != 0) {
		h_server_free(s);
		return NULL;
	}
	return s;
}

int
h_server_restart(struct h_server *s)
{
	if (s->pid != 0) {
		fprintf(stderr, "harness: restart of a running server\n");
		return -1;
	}
	return start(s, 1);
}

int
h_server_stop(struct h_server *s, int sig, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;
	int st, hung = 0;

	if (s->pid == 0)
		return -1;
	kill(s->pid, sig);
	for (;;) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid)
			break;
		if (r < 0 && errno != EINTR) {
			st = -1;
			break;
		}
		if (h_mono_ms() >= end) {
			fprintf(stderr,
			        "harness: server did not stop within %d ms of "
			        "signal %d; "
			        "killing it\n",
			        timeout_ms, sig);
			kill(s->pid, SIGKILL);
			while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
				;
			hung = 1;
			break;
		}
		h_sleep_ms(5);
	}
	s->pid = 0;
	/* A server killed on purpose with SIGKILL did nothing wrong; one
	 * that had to be killed because it hung did. */
	s->last_status = (!hung && sig == SIGKILL && st != -1 &&
	                  WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
	                     ? -1
	                     : st;
	return st;
}

static int
log_has_sanitizer_report(const struct h_server *s)
{
	return h_server_log_has(s, "AddressSanitizer") == 1 ||
	       h_server_log_has(s, "LeakSanitizer") == 1 ||
	       h_server_log_has(s, "runtime error:") == 1;
}

int
h_server_free(struct h_server *s)
{
	char why[96];
	int ok = 1;

	if (s == NULL)
		return 0;
	if (s->pid != 0)
		h_server_stop(s, SIGTERM, STOP_TIMEOUT_MS);
	if (s->last_status != -1 && !h_exited_cleanly(s->last_status)) {
		describe_status(s->last_status, why, sizeof(why));
		fprintf(stderr,
		        "harness: the server's last exit was not clean: %s\n",
		        why);
		ok = 0;
	}
	if (log_has_sanitizer_report(s)) {
		fprintf(stderr,
		        "harness: the server log holds a sanitizer report\n");
		ok = 0;
	}
	if (!ok)
		h_server_dump_log(s, 60);
	if (getenv("RENKEI_KEEP_TEST_DATA") != NULL)
		fprintf(stderr, "harness: kept test data in %s and %s (KEK %s)\n",
		        s->dir, s->keys, h_kek_hex());
	else if (rm_tree(s->dir) != 0 || rm_tree(s->keys) != 0)
		fprintf(stderr, "harness: could not remove %s or %s\n", s->dir,
		        s->keys);
	free_args(s);
	free(s);
	return ok ? 0 : -1;
}

long
h_server_rss_kib(const struct h_server *s)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (s->pid == 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int
h_server_log_has(const struct h_server *s, const char *needle)
{
	size_t len;
	char *log = h_read_file(s->log_path, &len);
	int hit;

	if (log == NULL)
		return -1;
	hit = memmem(log, len, needle, strlen(needle)) != NULL;
	free(log);
	return hit;
}

int64_t
h_server_log_time_ms(const struct h_server *s, const char *needle)
{
	size_t len;
	char *log = h_read_file(s->log_path, &len), *hit, *line;
	struct tm tm;
	int ms = 0;
	int64_t t = -1;

	if (log == NULL)
		return -1;
	hit = memmem(log, len, needle, strlen(needle));
	if (hit != NULL) {
		for (line = hit; line > log && line[-1] != '\n'; line--)
			;
		/* 2026-12-03T08:38:40.689Z level=... */
		memset(&tm, 0, sizeof(tm));
		if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year,
		           &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		           &tm.tm_sec, &ms) == 7) {
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			t = (int64_t)timegm(&tm) * 1000 + ms;
		}
	}
	free(log);
	return t;
}

int
h_server_wait_log(const struct h_server *s, const char *needle, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;

	do {
		if (h_server_log_has(s, needle) == 1)
			return 0;
		h_sleep_ms(20);
	} while (h_mono_ms() < end);
	return -1;
}

void
h_server_dump_log(const struct h_server *s, int lines)
{
	size_t len;
	char *log = h_read_file(s->log_path, &len);
	size_t from = len;
	int seen = 0;

	if (log == NULL) {
		fprintf(stderr, "harness: no server log at %s\n", s->log_path);
		return;
	}
	while (from > 0 && seen <= lines)
		if (log[--from] == '\n')
			seen++;
	if (seen > lines)
		from++;
	fprintf(stderr, "---- %s (last %d lines)\n%s---- end of log\n",
	        s->log_path, lines, log + from);
	free(log);
}

void
h_opts(const struct h_server *s, struct rkc_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->url = s->url;
	opts->ca_file = s->ca;
	opts->timeout_ms = 10000;
	if (s->cert_file[0] != '\0') {
		opts->cert_file = s->cert_file;
		opts->key_file = s->key_file[0] ? s->key_file : NULL;
	}
}

int
h_https_get(const struct h_server *s, const char *path, char **body)
{
	struct rkc_opts o;
	char err[256];
	int st;

	h_opts(s, &o);
	st = rkc_https_get(&o, path, NULL, body, NULL, err, sizeof(err));
	if (st < 0)
		fprintf(stderr, "harness: GET %s: %s\n", path, err);
	return st;
}

const char *
h_server_bin(void)
{
	return RENKEI_SERVER_BIN;
}
