/*
 * The local channel (local.h).
 *
 * The hand-over between the socket thread and the service thread is one
 * slot under a mutex, with a state:
 *   IDLE      nothing in it: the thread may read the next request
 *   QUEUED    a request waits for local_service (the thread woke it)
 *   RUNNING   api has it; the answer comes through on_answer
 *   DONE      the answer is in the slot: the thread writes it out
 *   ABANDONED the thread gave up waiting (timeout, stop): the answer is
 *             dropped when it comes, and the slot is IDLE again
 * The thread takes one request at a time; while the slot is not IDLE it
 * does not accept.
 */
#define _GNU_SOURCE /* accept4, pipe2, struct ucred */
#include "net/local.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/text.h"
#include "util/log.h"
#include "util/mem.h"

#include "renkei.pb-c.h"

enum slot { IDLE, QUEUED, RUNNING, DONE, ABANDONED };

struct local {
	int lfd;
	int stop_pipe[2];
	pthread_t thread;
	bool started;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	void (*wake)(void *arg);
	void *wake_arg;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	enum slot state;
	uint8_t *req;
	size_t req_len;
	struct api_local_peer peer;
	uint8_t *resp;
	size_t resp_len;
};

/* ------------------------------------------------------------ framing */

/* Wait for fd to be ready for `events` until deadline (monotonic ms), or
 * the stop pipe. 1 ready, 0 timeout or stop, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline, int stop_fd)
{
	for (;;) {
		struct pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
		int64_t left = deadline - rk_mono_ms();
		int n;

		if (left <= 0)
			return 0;
		n = poll(p, stop_fd >= 0 ? 2 : 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (stop_fd >= 0 && p[1].revents)
			return 0;
		if (p[0].revents)
			return 1;
	}
}

static int
read_full(int fd, uint8_t *buf, size_t len, int64_t deadline, int stop_fd)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;
		if (wait_fd(fd, POLLIN, deadline, stop_fd) != 1)
			return -1;
		n = read(fd, buf + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int
write_full(int fd, const uint8_t *buf, size_t len, int64_t deadline,
           int stop_fd)
{
	size_t put = 0;

	while (put < len) {
		ssize_t n;
		if (wait_fd(fd, POLLOUT, deadline, stop_fd) != 1)
			return -1;
		n = send(fd, buf + put, len - put, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		put += (size_t)n;
	}
	return 0;
}

static int
write_frame(int fd, const uint8_t *buf, size_t len, int64_t deadline,
            int stop_fd)
{
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
	                  (uint8_t)(len >> 8), (uint8_t)len};

	if (write_full(fd, hdr, 4, deadline, stop_fd) != 0)
		return -1;
	return write_full(fd, buf, len, deadline, stop_fd);
}

/* An Error answer made here (before api sees anything). */
static void
send_error(int fd, int code, const char *msg, const char *field)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__Error e = RENKEI__V1__ERROR__INIT;
	uint8_t buf[512];
	size_t n;

	e.code = (Renkei__V1__Code)code;
	e.message = (char *)msg;
	e.field = (char *)(field ? field : "");
	env.body_case = RENKEI__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	n = renkei__v1__envelope__get_packed_size(&env);
	if (n > sizeof(buf))
		return;
	renkei__v1__envelope__pack(&env, buf);
	write_frame(fd, buf, n, rk_mono_ms() + 1000, -1);
}

/* --------------------------------------------------------- the thread */

/* Who is asking, from the kernel's word: false if not allowed. */
static bool
peer_of(int fd, struct api_local_peer *peer)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    len != sizeof(cr))
		return false;
	peer->uid = (unsigned)cr.uid;
	peer->pid = (int)cr.pid;
	if (getpwuid_r(cr.uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(peer->user, sizeof(peer->user), "%s", pw.pw_name);
	else
		snprintf(peer->user, sizeof(peer->user), "uid=%u", peer->uid);
	return cr.uid == 0 || cr.uid == geteuid();
}

/* Wait until the slot is `want` (or stopping): true if it is. */
static bool
slot_wait(struct local *l, enum slot want, int64_t deadline)
{
	while (l->state != want && !l->stopping) {
		struct timespec ts;
		int64_t left = deadline - rk_mono_ms();

		if (left <= 0)
			return false;
		clock_gettime(CLOCK_MONOTONIC, &ts); /* the cv's clock */
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	return l->state == want;
}

/* One connection: check, read, hand over, answer. */
static void
serve_one(struct local *l, int fd)
{
	struct api_local_peer peer = {0};
	int64_t deadline = rk_mono_ms() + LOCAL_READ_MS;
	uint8_t hdr[4], *req, *resp = NULL;
	size_t len, resp_len = 0;

	if (!peer_of(fd, &peer)) {
		LOG_W("LOCAL-REFUSED", "uid=%u pid=%d", peer.uid, peer.pid);
		send_error(fd, RENKEI__V1__CODE__PERMISSION_DENIED,
		           "the local channel is for root and the server's own user",
		           NULL);
		return;
	}
	if (read_full(fd, hdr, 4, deadline, l->stop_pipe[0]) != 0) {
		LOG_I("LOCAL-DROPPED", "uid=%u pid=%d why=\"no request in time\"",
		      peer.uid, peer.pid);
		return;
	}
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 |
	      (size_t)hdr[3];
	if (len == 0 || len > LOCAL_MAX_BYTES) {
		LOG_W("LOCAL-TOO-LONG", "uid=%u pid=%d bytes=%zu", peer.uid, peer.pid,
		      len);
		send_error(fd, RENKEI__V1__CODE__INVALID_ARGUMENT,
		           len == 0 ? "the request is empty"
		                    : "the request is longer than 65536 bytes",
		           NULL);
		return;
	}
	req = rk_malloc(len);
	if (read_full(fd, req, len, deadline, l->stop_pipe[0]) != 0) {
		LOG_I("LOCAL-DROPPED", "uid=%u pid=%d why=\"request cut short\"",
		      peer.uid, peer.pid);
		free(req);
		return;
	}

	pthread_mutex_lock(&l->mu);
	if (l->stopping) {
		pthread_mutex_unlock(&l->mu);
		free(req);
		send_error(fd, RENKEI__V1__CODE__UNAVAILABLE,
		           "the server is shutting down; try again shortly", NULL);
		return;
	}
	l->req = req;
	l->req_len = len;
	l->peer = peer;
	l->state = QUEUED;
	pthread_mutex_unlock(&l->mu);
	l->wake(l->wake_arg);

	pthread_mutex_lock(&l->mu);
	if (slot_wait(l, DONE, rk_mono_ms() + LOCAL_ANSWER_MS)) {
		resp = l->resp;
		resp_len = l->resp_len;
		l->resp = NULL;
		l->state = IDLE;
	} else if (l->state == QUEUED) {
		/* Never taken (stopping): nothing was done. */
		free(l->req);
		l->req = NULL;
		l->state = IDLE;
	} else {
		l->state = ABANDONED; /* api answers later; dropped then */
	}
	pthread_mutex_unlock(&l->mu);
	if (resp != NULL) {
		/* Written even while stopping: the change was made. */
		write_frame(fd, resp, resp_len, rk_mono_ms() + LOCAL_READ_MS, -1);
		free(resp);
	} else {
		send_error(fd, RENKEI__V1__CODE__UNAVAILABLE,
		           "no answer from the server in time: the change may or may "
		           "not have been made; look in the audit trail",
		           NULL);
	}
}

static void *
thread_main(void *arg)
{
	struct local *l = arg;

	for (;;) {
		struct pollfd p[2] = {{l->lfd, POLLIN, 0}, {l->stop_pipe[0], POLLIN, 0}};
		int fd;
		bool idle;

		/* One at a time: an abandoned request must be answered (and
		 * dropped) before the next is read. */
		pthread_mutex_lock(&l->mu);
		idle = slot_wait(l, IDLE, rk_mono_ms() + 3600 * 1000);
		pthread_mutex_unlock(&l->mu);
		if (l->stopping)
			break;
		if (!idle)
			continue;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(l, fd);
		close(fd);
	}
	return NULL;
}

/* ------------------------------------------------------ service thread */

static void
on_answer(void *arg, uint8_t *bytes, size_t len)
{
	struct local *l = arg;

	pthread_mutex_lock(&l->mu);
	if (l->state == RUNNING) {
		l->resp = bytes;
		l->resp_len = len;
		l->state = DONE;
		bytes = NULL;
	} else if (l->state == ABANDONED) {
		l->state = IDLE;
	}
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	free(bytes);
}

void
local_service(struct local *l, struct api *api)
{
	uint8_t *req;
	size_t len;
	struct api_local_peer peer;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	if (l->state != QUEUED) {
		pthread_mutex_unlock(&l->mu);
		return;
	}
	req = l->req;
	len = l->req_len;
	peer = l->peer;
	l->req = NULL;
	l->state = RUNNING;
	pthread_mutex_unlock(&l->mu);
	api_local_request(api, req, len, &peer, on_answer, l);
	free(req);
}

/* -------------------------------------------------------- life cycle */

static int
sock_path(const char *data_dir, struct sockaddr_un *sa, char *err,
          size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", data_dir,
	                     LOCAL_SOCKET) >= sizeof(sa->sun_path)) {
		snprintf(err, errlen,
		         "the data folder's path is too long for a Unix socket "
		         "(%s/%s: at most %zu bytes)",
		         data_dir, LOCAL_SOCKET, sizeof(sa->sun_path) - 1);
		return -1;
	}
	return 0;
}

struct local *
local_new(const char *data_dir, void (*wake)(void *arg), void *wake_arg,
          char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct local *l;
	struct stat st;
	int fd;

	if (sock_path(data_dir, &sa, err, errlen) != 0)
		return NULL;
	if (lstat(sa.sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket: remove it",
			         sa.sun_path);
			return NULL;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			snprintf(err, errlen,
			         "another server is listening on %s: one server per data "
			         "folder",
			         sa.sun_path);
			return NULL;
		}
		if (fd >= 0)
			close(fd);
		unlink(sa.sun_path); /* stale: its server is gone */
	}
	l = rk_calloc(1, sizeof(*l));
	l->lfd = -1;
	l->stop_pipe[0] = l->stop_pipe[1] = -1;
	l->wake = wake;
	l->wake_arg = wake_arg;
	snprintf(l->path, sizeof(l->path), "%s", sa.sun_path);
	pthread_mutex_init(&l->mu, NULL);
	{
		/* Waits are timed on the monotonic clock: a wall-clock step
		 * neither cuts a wait short nor makes it endless. */
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	l->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->lfd < 0 || bind(l->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(sa.sun_path, 0600) != 0 || listen(l->lfd, 8) != 0 ||
	    pipe2(l->stop_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", sa.sun_path,
		         strerror(errno));
		goto fail;
	}
	{
		/* Signals are for the service thread (its poll wakes on
		 * SIGTERM): the new thread starts with every one blocked. */
		sigset_t all, old;
		int prc;

		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		prc = pthread_create(&l->thread, NULL, thread_main, l);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (prc != 0) {
			snprintf(err, errlen, "cannot start the local channel's thread");
			goto fail;
		}
	}
	l->started = true;
	LOG_I("LOCAL-READY", "socket=%s", l->path);
	return l;
fail:
	local_stop(l);
	local_free(l);
	return NULL;
}

void
local_stop(struct local *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (l->stop_pipe[1] >= 0 && write(l->stop_pipe[1], "x", 1) < 0)
		LOG_W("LOCAL-STOP", "error=\"%s\"", strerror(errno));
	if (l->started) {
		pthread_join(l->thread, NULL);
		l->started = false;
	}
	if (l->lfd >= 0) {
		close(l->lfd);
		l->lfd = -1;
		unlink(l->path);
	}
}

void
local_free(struct local *l)
{
	if (l == NULL)
		return;
	local_stop(l);
	for (int i = 0; i < 2; i++)
		if (l->stop_pipe[i] >= 0)
			close(l->stop_pipe[i]);
	free(l->req);
	free(l->resp);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

/* ------------------------------------------------------------- client */

int
local_call(const char *data_dir, const uint8_t *req, size_t len, uint8_t **resp,
           size_t *resp_len, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	uint8_t hdr[4];
	size_t n;
	int fd, rc = -1;

	*resp = NULL;
	*resp_len = 0;
	if (sock_path(data_dir, &sa, err, errlen) != 0)
		return 1; /* no server could listen there either */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return 1;
		snprintf(err, errlen, "cannot reach the server on %s: %s", sa.sun_path,
		         strerror(e));
		return -1;
	}
	/* A request the server refuses unread (too long) fails to write:
	 * its answer is read all the same. */
	(void)write_frame(fd, req, len, rk_mono_ms() + LOCAL_READ_MS, -1);
	if (read_full(fd, hdr, 4, rk_mono_ms() + LOCAL_ANSWER_MS + 5000, -1) != 0) {
		snprintf(err, errlen, "the server on %s did not answer", sa.sun_path);
		goto out;
	}
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 |
	    (size_t)hdr[3];
	if (n == 0 || n > LOCAL_MAX_BYTES) {
		snprintf(err, errlen, "the server on %s answered nonsense", sa.sun_path);
		goto out;
	}
	*resp = rk_malloc(n);
	if (read_full(fd, *resp, n, rk_mono_ms() + LOCAL_READ_MS, -1) != 0) {
		free(*resp);
		*resp = NULL;
		snprintf(err, errlen, "the server's answer on %s was cut short",
		         sa.sun_path);
		goto out;
	}
	*resp_len = n;
	rc = 0;
out:
	close(fd);
	return rc;
}
