/*
 * Photo uploads for `post --photo`: begin → chunks → finish, per photo,
 * resumable (renkei.proto, "attachments").
 *
 * Resuming. Each photo's upload id is a UUID derived from the post's
 * client id and the photo's place on the command line, so the same
 * command run again (same --client-id) names the same uploads, and the
 * server answers its begin with how much it already has. After a lost
 * connection or a timeout the CLI does the same by itself: it connects
 * again, resumes the session, begins again and carries on from the
 * server's `received` — never from what it thinks it sent, since the
 * chunks in flight when the connection died may or may not have been
 * committed. Bytes the server has are never sent twice. A begin for an
 * upload that already finished answers received = size, and the finish
 * then returns the same attachment, so even a lost answer to a finish is
 * safe to retry.
 *
 * Pipelining. Each chunk is a durable write on the server, answered
 * after its commit; waiting for every answer before sending the next
 * chunk would leave the link idle for one round trip and one commit per
 * 256 KiB. A few chunks (WINDOW) are kept in flight instead. The server
 * handles one connection's writes in order, so chunk offsets stay
 * consecutive; if one is refused anyway (wrong offset), the rest in
 * flight are refused too, and the CLI drains their answers and begins
 * again to learn where to go on.
 *
 * Refusals. A photo the server refuses (not a photo, HEIC, damaged, too
 * large) is reported with its file name and ends the command before the
 * post is created: a post never goes out without the photos its author
 * meant to attach.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "rkc_util.h"
#include "rkc_uuid.h"

#define CHUNK (256 * 1024) /* bytes per chunk; the server takes up to 512 KiB */
#define WINDOW 4           /* chunks in flight */

/* Results of the steps below, besides exit statuses (all >= 0). */
enum {
	UP_AGAIN = -1, /* the server lost track of our offset: begin again */
	UP_HOOK = -2,  /* --upload-stop-after cut the connection (reported) */
};

struct photo {
	const char *path;
	const char *name; /* the base name: sent as file_name, shown */
	int fd;
	uint64_t size;
	uint8_t sha[32];
	char id[RKC_UUID_LEN + 1];
};

struct flight {
	uint64_t rid, offset;
	size_t len;
	int answered;
};

struct up {
	struct cli *cli;
	const struct cli_upload *u;
	struct rkc **c;
	struct cli_progress bar;
	uint8_t *buf;       /* one chunk */
	uint64_t hook_sent; /* bytes of the first photo this run sent */
	uint64_t sent;      /* bytes of this photo this run sent */
	char why[1024];     /* the last transport failure */
};

/* The upload id of photo `index` of the post with client_id: a UUID
 * (version 8, RFC 9562's "custom") made of the first 16 bytes of
 * SHA-256 over a domain tag, the client id and the index. The same
 * inputs give the same id on every run and machine, which is all that
 * resuming needs; the tag keeps these ids apart from other UUIDs. */
static int
upload_id(const char *client_id, size_t index, char out[RKC_UUID_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE], *b = md;
	unsigned int mdlen = 0;
	char msg[128];
	int n;

	n = snprintf(msg, sizeof msg, "renkei-upload-v1%c%s%c%zu", '\0', client_id, '\0', index);
	if (n < 0 || (size_t)n >= sizeof msg ||
	    EVP_Digest(msg, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x80);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, RKC_UUID_LEN + 1,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
	         b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	         b[14], b[15]);
	return 0;
}

/* pread exactly len bytes at off. 0, or -1 (errno; EIO if the file got
 * shorter). */
static int
read_at(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Open a photo, take its size and SHA-256. Exit status (reported). */
static int
photo_open(struct cli *cli, struct photo *ph, const char *path, uint8_t *buf)
{
	EVP_MD_CTX *md;
	struct stat st;
	uint64_t off = 0;
	size_t len;
	int rc = CLI_EXIT_OK;

	ph->path = path;
	ph->name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	ph->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ph->fd < 0)
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot read %s: %s", path, strerror(errno));
	if (fstat(ph->fd, &st) != 0)
		return cli_fail(cli, CLI_EXIT_FAIL, "cannot read %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cli_usage_error(cli, "%s is not a file", path);
	if (st.st_size == 0)
		return cli_usage_error(cli, "%s is empty", path);
	ph->size = (uint64_t)st.st_size;
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = cli_fail(cli, CLI_EXIT_FAIL, "cannot compute SHA-256 (OpenSSL)");
		goto out;
	}
	while (off < ph->size) {
		len = ph->size - off < CHUNK ? (size_t)(ph->size - off) : CHUNK;
		if (read_at(ph->fd, buf, len, off) != 0) {
			rc = cli_fail(cli, CLI_EXIT_FAIL, "cannot read %s: %s", path,
			              strerror(errno));
			goto out;
		}
		if (EVP_DigestUpdate(md, buf, len) != 1) {
			rc = cli_fail(cli, CLI_EXIT_FAIL, "cannot compute SHA-256 (OpenSSL)");
			goto out;
		}
		off += len;
	}
	if (EVP_DigestFinal_ex(md, ph->sha, NULL) != 1)
		rc = cli_fail(cli, CLI_EXIT_FAIL, "cannot compute SHA-256 (OpenSSL)");
out:
	EVP_MD_CTX_free(md);
	return rc;
}

/* Report a server Error about photo i, naming the file. */
static int
photo_error(struct up *s, size_t i, const Renkei__V1__Error *e)
{
	Renkei__V1__Error named = *e;
	char msg[1024];

	snprintf(msg, sizeof msg, "photo %zu/%zu %s: %s", i + 1, s->u->n, s->u->paths[i],
	         e->message != NULL && *e->message ? e->message : rkc_code_text(e->code));
	named.message = msg;
	return cli_server_error(s->cli, &named);
}

/* Look at an answer about photo i that is not the expected body: an
 * UNAVAILABLE Error is a transport failure (retry), a wrong-offset one
 * means begin again, any other is reported. Frees resp. */
static int
bad_answer(struct up *s, size_t i, Renkei__V1__Envelope *resp, int again_ok)
{
	Renkei__V1__Error *e = resp->error;
	int rc;

	if (resp->body_case != RENKEI__V1__ENVELOPE__BODY_ERROR) {
		rc = cli_fail(s->cli, CLI_EXIT_SERVER, "unexpected answer from the server (body %d)",
		              (int)resp->body_case);
	} else if (e->code == RENKEI__V1__CODE__UNAVAILABLE ||
	           (e->code == RENKEI__V1__CODE__RESOURCE_EXHAUSTED &&
	            (e->field == NULL || *e->field == '\0') && again_ok)) {
		/* shutting down, or busy decoding other photos: later */
		snprintf(s->why, sizeof s->why, "the server is busy: %s", e->message);
		rc = CLI_EXIT_CONNECT;
	} else if (again_ok && (e->code == RENKEI__V1__CODE__FAILED_PRECONDITION ||
	                        e->code == RENKEI__V1__CODE__NOT_FOUND)) {
		rc = UP_AGAIN;
	} else {
		rc = photo_error(s, i, e);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return rc;
}

/* UploadBeginRequest: *received is where the server wants us to go on. */
static int
begin(struct up *s, struct photo *ph, size_t i, uint64_t *received)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__UploadBeginRequest b = RENKEI__V1__UPLOAD_BEGIN_REQUEST__INIT;

	b.upload_id = ph->id;
	b.patient = (char *)s->u->patient;
	b.file_name = (char *)ph->name;
	b.size = ph->size;
	b.sha256.data = ph->sha;
	b.sha256.len = sizeof ph->sha;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_BEGIN_REQUEST;
	req.upload_begin_request = &b;
	if (cli_call_quiet(*s->c, &req, &resp, s->why, sizeof s->why) != CLI_EXIT_OK)
		return CLI_EXIT_CONNECT;
	if (resp->body_case != RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS)
		return bad_answer(s, i, resp, 0);
	*received = resp->upload_status->received;
	renkei__v1__envelope__free_unpacked(resp, NULL);
	if (*received > ph->size)
		return cli_fail(s->cli, CLI_EXIT_SERVER,
		                "photo %zu/%zu %s: the server has more bytes than the file", i + 1,
		                s->u->n, ph->path);
	return CLI_EXIT_OK;
}

/* Send one chunk at off without waiting. Exit status (CONNECT: why). */
static int
send_chunk(struct up *s, struct photo *ph, uint64_t off, size_t len, uint64_t *rid)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadChunkRequest ch = RENKEI__V1__UPLOAD_CHUNK_REQUEST__INIT;

	if (read_at(ph->fd, s->buf, len, off) != 0) {
		return cli_fail(s->cli, CLI_EXIT_FAIL, "cannot read %s: %s", ph->path,
		                errno == EIO ? "it got shorter while being sent" : strerror(errno));
	}
	ch.upload_id = ph->id;
	ch.offset = off;
	ch.data.data = s->buf;
	ch.data.len = len;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_CHUNK_REQUEST;
	req.upload_chunk_request = &ch;
	if (rkc_send_request(*s->c, &req) != 0) {
		cli_transport_reason(*s->c, s->why, sizeof s->why);
		return CLI_EXIT_CONNECT;
	}
	*rid = req.request_id;
	return CLI_EXIT_OK;
}

/* Send photo i from offset `from` to its end, WINDOW chunks in flight,
 * until every chunk is answered. Exit status, UP_AGAIN or UP_HOOK. */
static int
send_chunks(struct up *s, struct photo *ph, size_t i, uint64_t from)
{
	struct flight fl[WINDOW];
	Renkei__V1__Envelope *env, *refused = NULL;
	uint64_t next = from, rid = 0, left;
	size_t head = 0, nfl = 0, k, len;
	int stop = 0, hook = 0, rc = CLI_EXIT_OK;

	for (;;) {
		while (!stop && nfl < WINDOW && next < ph->size) {
			len = ph->size - next < CHUNK ? (size_t)(ph->size - next) : CHUNK;
			if (i == 0 && s->u->stop_after > 0) {
				left = s->u->stop_after - s->hook_sent;
				if (left == 0) {
					hook = stop = 1;
					break;
				}
				if (len > left)
					len = (size_t)left;
			}
			if ((rc = send_chunk(s, ph, next, len, &rid)) != CLI_EXIT_OK)
				goto out;
			k = (head + nfl++) % WINDOW;
			fl[k].rid = rid;
			fl[k].offset = next;
			fl[k].len = len;
			fl[k].answered = 0;
			next += len;
			s->sent += len;
			if (i == 0)
				s->hook_sent += len;
		}
		if (nfl == 0)
			break;
		if (rkc_recv(*s->c, CLI_CALL_TIMEOUT_MS, &env) != 0) {
			cli_transport_reason(*s->c, s->why, sizeof s->why);
			rc = CLI_EXIT_CONNECT;
			goto out;
		}
		for (k = 0; k < nfl; k++)
			if (fl[(head + k) % WINDOW].rid == env->request_id)
				break;
		if (env->request_id == 0 || k == nfl) {
			/* an event, or a late answer nobody waits for */
			renkei__v1__envelope__free_unpacked(env, NULL);
			continue;
		}
		k = (head + k) % WINDOW;
		fl[k].answered = 1;
		if (env->body_case == RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS &&
		    env->upload_status->received == fl[k].offset + fl[k].len) {
			cli_progress_update(&s->bar, env->upload_status->received);
			renkei__v1__envelope__free_unpacked(env, NULL);
		} else if (refused == NULL) {
			/* keep the first refusal; the rest in flight will be
			 * refused too, and are only drained */
			refused = env;
			stop = 1;
		} else {
			renkei__v1__envelope__free_unpacked(env, NULL);
		}
		while (nfl > 0 && fl[head].answered) {
			head = (head + 1) % WINDOW;
			nfl--;
		}
	}
	if (refused != NULL) {
		if (refused->body_case == RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS) {
			/* acknowledged at another offset: ask where we are */
			renkei__v1__envelope__free_unpacked(refused, NULL);
			rc = UP_AGAIN;
		} else {
			rc = bad_answer(s, i, refused, 1);
		}
		refused = NULL;
	} else if (hook) {
		/* everything sent is committed: cut the connection now, as a
		 * network failure would, without a close handshake */
		rkc_abort(*s->c);
		*s->c = NULL;
		cli_progress_break(s->cli);
		fprintf(stderr,
		        "%s: photo 1/%zu %s: connection dropped after %llu bytes "
		        "(--upload-stop-after)\n",
		        s->cli->prog, s->u->n, ph->path, (unsigned long long)s->hook_sent);
		rc = UP_HOOK;
	}
out:
	if (refused != NULL)
		renkei__v1__envelope__free_unpacked(refused, NULL);
	return rc;
}

/* UploadFinishRequest: the attachment's id. */
static int
finish(struct up *s, struct photo *ph, size_t i, uint64_t *att_id)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__UploadFinishRequest f = RENKEI__V1__UPLOAD_FINISH_REQUEST__INIT;
	Renkei__V1__UploadFinishResponse *r;

	f.upload_id = ph->id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_REQUEST;
	req.upload_finish_request = &f;
	if (cli_call_quiet(*s->c, &req, &resp, s->why, sizeof s->why) != CLI_EXIT_OK)
		return CLI_EXIT_CONNECT;
	if (resp->body_case != RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_RESPONSE)
		return bad_answer(s, i, resp, 1);
	r = resp->upload_finish_response;
	*att_id = r->attachment != NULL ? r->attachment->id : 0;
	renkei__v1__envelope__free_unpacked(resp, NULL);
	if (*att_id == 0)
		return cli_fail(s->cli, CLI_EXIT_SERVER, "the server answered without the photo");
	return CLI_EXIT_OK;
}

/* Upload photo i, resuming and retrying. Exit status or UP_HOOK. */
static int
upload_photo(struct up *s, struct photo *ph, size_t i, uint64_t *att_id)
{
	uint64_t received = 0, mark = 0, resumed_at = 0;
	int attempt = 0, again = 0, started = 0, pause_ms = CLI_RETRY_FIRST_MS, rc;
	char label[sizeof s->bar.label];

	snprintf(label, sizeof label, "photo %zu/%zu %s", i + 1, s->u->n, ph->name);
	s->sent = 0;
	for (;;) {
		rc = CLI_EXIT_OK;
		if (*s->c == NULL)
			rc = cli_open_session_quiet(s->cli, s->c, NULL, 0, s->why, sizeof s->why);
		if (rc == CLI_EXIT_OK)
			rc = begin(s, ph, i, &received);
		if (rc == CLI_EXIT_OK) {
			if (!started)
				cli_progress_start(s->cli, &s->bar, label, ph->size, received);
			started = 1;
			cli_progress_update(&s->bar, received);
			if (received > 0)
				resumed_at = received;
			if (received > mark) {
				/* progress since the last failure: a fresh set of retries */
				mark = received;
				attempt = 0;
				pause_ms = CLI_RETRY_FIRST_MS;
			}
			rc = send_chunks(s, ph, i, received);
		}
		if (rc == CLI_EXIT_OK)
			rc = finish(s, ph, i, att_id);
		if (rc == UP_AGAIN && again++ < CLI_RETRIES)
			continue;
		if (rc == UP_AGAIN)
			rc = cli_fail(s->cli, CLI_EXIT_SERVER,
			              "photo %zu/%zu %s: the server keeps losing track of the upload",
			              i + 1, s->u->n, ph->path);
		if (rc != CLI_EXIT_CONNECT)
			break;
		rkc_abort(*s->c);
		*s->c = NULL;
		rc = cli_retry_wait(s->cli, s->why, attempt++, CLI_RETRIES, &pause_ms);
		if (rc != CLI_EXIT_OK)
			break;
	}
	if (rc != CLI_EXIT_OK)
		return rc;
	cli_progress_end(&s->bar);
	/* tests look for "resumed at": only the rest was sent */
	if (resumed_at > 0)
		fprintf(stderr, "%s: photo %zu/%zu %s: resumed at %llu of %llu bytes (this run sent %llu)\n",
		        s->cli->prog, i + 1, s->u->n, ph->path, (unsigned long long)resumed_at,
		        (unsigned long long)ph->size, (unsigned long long)s->sent);
	return CLI_EXIT_OK;
}

int
cli_upload_photos(struct cli *cli, const struct cli_upload *u, struct rkc **c, uint64_t *ids)
{
	struct photo ph[CLI_PHOTOS_MAX];
	struct up s;
	size_t i, n = 0;
	int rc = CLI_EXIT_OK;

	if (u->n > CLI_PHOTOS_MAX)
		return cli_usage_error(cli, "at most %d photos per post", CLI_PHOTOS_MAX);
	memset(&s, 0, sizeof s);
	s.cli = cli;
	s.u = u;
	s.c = c;
	s.buf = rkc_xmalloc(CHUNK);
	/* every file is read and hashed before anything is sent: a typo in
	 * the last name should not cost an upload of the first */
	for (i = 0; i < u->n && rc == CLI_EXIT_OK; i++, n++) {
		memset(&ph[i], 0, sizeof ph[i]);
		rc = photo_open(cli, &ph[i], u->paths[i], s.buf);
		if (rc == CLI_EXIT_OK && upload_id(u->client_id, i, ph[i].id) != 0)
			rc = cli_fail(cli, CLI_EXIT_FAIL, "cannot make an upload id");
	}
	for (i = 0; i < u->n && rc == CLI_EXIT_OK; i++)
		rc = upload_photo(&s, &ph[i], i, &ids[i]);
	if (rc == UP_HOOK)
		rc = CLI_EXIT_CONNECT;
	for (i = 0; i < n; i++)
		if (ph[i].fd >= 0)
			close(ph[i].fd);
	free(s.buf);
	return rc;
}
