/*
 * The anchor sink: a thread of its own that ships each anchor line to a
 * file, syslog or a command (audit/anchor.h), so that whoever signed the
 * checkpoint — the store's writer above all — only queues a line.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np */
#include "audit/anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

extern char **environ;

#define SINK_QUEUE 1024
#define SINK_TRIES 3
#define SINK_EXEC_MS 10000

enum sink_kind { SINK_FILE, SINK_SYSLOG, SINK_EXEC };

struct audit_sink {
	enum sink_kind kind;
	char *path;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char (*q)[AUDIT_ANCHOR_LINE_MAX]; /* ring of SINK_QUEUE lines */
	int head, len;
	bool closing;
};

static const char *
kind_name(const struct audit_sink *s)
{
	return s->kind == SINK_FILE ? "file" : s->kind == SINK_SYSLOG ? "syslog" : "exec";
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Appended and flushed: the line is on that disk when this returns. The
 * file is opened each time, so that it may be rotated or remounted. */
static int
to_file(const struct audit_sink *s, const char *line, char *why, size_t whylen)
{
	int fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	int rc = -1;

	if (fd < 0) {
		snprintf(why, whylen, "open: %s", strerror(errno));
		return -1;
	}
	if (write_all(fd, line, strlen(line)) != 0 || write_all(fd, "\n", 1) != 0)
		snprintf(why, whylen, "write: %s", strerror(errno));
	else if (fdatasync(fd) != 0)
		snprintf(why, whylen, "fdatasync: %s", strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* CMD LINE, with LINE on stdin too; exit 0 within SINK_EXEC_MS. */
static int
to_exec(const struct audit_sink *s, const char *line, char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	char *argv[3] = {s->path, (char *)line, NULL};
	int fds[2], status = 0, rc;
	pid_t pid;
	int64_t until;

	if (pipe(fds) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	/* The server's sockets and files are none of the command's. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	rc = posix_spawn(&pid, s->path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		snprintf(why, whylen, "cannot run %s: %s", s->path, strerror(rc));
		return -1;
	}
	/* A command that does not read its stdin must not hang us: the
	 * line is far smaller than a pipe's buffer. SIGPIPE is ignored by
	 * the server; EPIPE is no failure of the command. */
	if (write_all(fds[1], line, strlen(line)) != 0 && errno != EPIPE)
		snprintf(why, whylen, "write: %s", strerror(errno));
	else
		write_all(fds[1], "\n", 1);
	close(fds[1]);
	until = rk_mono_ms() + SINK_EXEC_MS;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return -1;
		}
		if (rk_mono_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, whylen, "%s took more than %d ms and was killed",
			         s->path, SINK_EXEC_MS);
			return -1;
		}
		usleep(5000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, whylen, "%s exited with status %d", s->path,
		         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -1;
	}
	return 0;
}

static int
deliver(const struct audit_sink *s, const char *line, char *why, size_t whylen)
{
	switch (s->kind) {
	case SINK_FILE:
		return to_file(s, line, why, whylen);
	case SINK_EXEC:
		return to_exec(s, line, why, whylen);
	case SINK_SYSLOG:
		audit_syslog_line(line);
		return 0;
	}
	return -1;
}

static void *
sink_main(void *arg)
{
	struct audit_sink *s = arg;
	char line[AUDIT_ANCHOR_LINE_MAX], why[300];

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->len == 0 && !s->closing)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->len == 0)
			break; /* closing, all delivered */
		memcpy(line, s->q[s->head], sizeof(line));
		s->head = (s->head + 1) % SINK_QUEUE;
		s->len--;
		pthread_mutex_unlock(&s->mu);
		for (int t = 1; t <= SINK_TRIES; t++) {
			why[0] = '\0';
			if (deliver(s, line, why, sizeof(why)) == 0)
				break;
			LOG_E("AUDIT-ANCHOR-FAIL", "sink=%s try=%d error=\"%s\"",
			      kind_name(s), t, why);
			if (t < SINK_TRIES)
				sleep(1);
		}
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct audit_sink *
audit_sink_new(const char *spec, char *err, size_t errlen)
{
	struct audit_sink *s;

	err[0] = '\0';
	if (spec == NULL || spec[0] == '\0')
		return NULL;
	s = rk_calloc(1, sizeof(*s));
	if (strcmp(spec, "syslog") == 0) {
		s->kind = SINK_SYSLOG;
		audit_syslog_open();
	} else if (strncmp(spec, "file:/", 6) == 0) {
		s->kind = SINK_FILE;
		s->path = rk_strdup(spec + 5);
	} else if (strncmp(spec, "exec:/", 6) == 0) {
		s->kind = SINK_EXEC;
		s->path = rk_strdup(spec + 5);
		if (access(s->path, X_OK) != 0) {
			snprintf(err, errlen, "checkpoint_sink: cannot run %s: %s",
			         s->path, strerror(errno));
			free(s->path);
			free(s);
			return NULL;
		}
	} else {
		snprintf(err, errlen, "checkpoint_sink: expected file:/PATH, syslog "
		                      "or exec:/PATH");
		free(s);
		return NULL;
	}
	s->q = rk_calloc(SINK_QUEUE, sizeof(*s->q));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, sink_main, s) != 0) {
		snprintf(err, errlen, "checkpoint_sink: cannot start its thread");
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s->q);
		free(s->path);
		free(s);
		return NULL;
	}
	return s;
}

void
audit_sink_put(struct audit_sink *s, const struct audit_anchor *a)
{
	char line[AUDIT_ANCHOR_LINE_MAX];

	if (s == NULL)
		return;
	audit_anchor_format(a, line);
	pthread_mutex_lock(&s->mu);
	if (s->len == SINK_QUEUE || s->closing) {
		pthread_mutex_unlock(&s->mu);
		LOG_E("AUDIT-ANCHOR-DROPPED", "sink=%s cp=%lld record=%lld",
		      kind_name(s), (long long)a->cp_id, (long long)a->record_id);
		return;
	}
	memcpy(s->q[(s->head + s->len) % SINK_QUEUE], line, sizeof(line));
	s->len++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void
audit_sink_free(struct audit_sink *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	if (s->kind == SINK_SYSLOG)
		audit_syslog_close();
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->q);
	free(s->path);
	free(s);
}
