/*
 * HTTPS for web clients: GET /attachments/ID[?thumb=1] with
 * "Authorization: Bearer TOKEN", taken only while TOKEN's session has a
 * WebSocket open from the same address (devices.h). The same policy, the
 * same audit record and the same "not found" as the WebSocket path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/devices.h"
#include "api/req.h"
#include "api/record.h"
#include "util/mem.h"
#include "util/text.h"

struct http_req {
	struct api_req r;
	uint64_t http_id;
	char token[AUTH_TOKEN_LEN + 1];
	char peer[64];
	int64_t id;
	bool thumbnail;
	struct auth_session s;
	struct care_attachment att;
	uint8_t *data;
	size_t len;
	int64_t total;
};

/* A plain-text answer other than the photo. */
static void
http_plain(struct api *api, uint64_t http_id, int status)
{
	const char *body = status == 401   ? "log in first\n"
	                   : status == 404 ? "not found\n"
	                                   : "try again\n";

	api->tr.http_reply(api->tr.ctx, http_id, status, "text/plain",
	                   status == 401 ? "www-authenticate: Bearer\n" : NULL,
	                   (const uint8_t *)body, strlen(body));
}

static void
http_fini(struct api_req *r)
{
	struct http_req *q = (struct http_req *)r;
	OPENSSL_cleanse(q->token, sizeof(q->token));
	free(q->data);
}

static int
http_get_run(struct store_conn *sc, struct store_op *op)
{
	struct http_req *q = (struct http_req *)op;
	struct policy_actor who;
	struct audit_event ev = {0};
	struct audit_entry *e;
	char obj[24];
	int rc;

	rc = auth_session_resume(sc, q->token, rk_now_ms(), &q->r.api->limits, &q->s);
	OPENSSL_cleanse(q->token, sizeof(q->token));
	if (rc != RK_OK)
		return rc;
	who.user_id = q->s.user.id;
	who.profession = q->s.user.profession;
	rc = care_attachment_read(sc, &who, q->id, q->thumbnail, 0, 0, rk_now_ms(),
	                          &q->att, &q->data, &q->len, &q->total, &q->r.st);
	/* The record: this thread knows the actor only now. */
	snprintf(obj, sizeof(obj), "%lld", (long long)q->id);
	ev.actor_user_id = q->s.user.id;
	ev.actor_login = q->s.user.login;
	ev.actor_profession = q->s.user.profession;
	ev.actor_org = q->s.user.org_code[0] ? q->s.user.org_code : NULL;
	ev.session_id = q->s.id;
	ev.address = q->peer;
	ev.device = "https";
	ev.action = "attachment.read";
	ev.patient = rc == RK_OK ? q->att.patient_code : NULL;
	ev.object = obj;
	e = audit_entry_new(&ev);
	e->outcome_from_op = true;
	audit_entries_append((struct audit_entry **)&q->r.op.journal, e);
	return rc;
}

static void
http_get_reply(struct api_req *r, int rc)
{
	struct http_req *q = (struct http_req *)r;
	struct api *api = q->r.api;
	char extra[200];

	if (rc == RK_ERR_UNAUTHENTICATED) {
		http_plain(api, q->http_id, 401);
	} else if (rc == RK_ERR_NOT_FOUND || rc == RK_ERR_INVALID) {
		http_plain(api, q->http_id, 404);
	} else if (rc != RK_OK) {
		http_plain(api, q->http_id, 503);
	} else {
		/* A name of our own making: never the client's file name in a
		 * header. */
		snprintf(extra, sizeof(extra),
		         "content-disposition: attachment; filename=\"photo-%lld%s.%s\"\n",
		         (long long)q->id, q->thumbnail ? "-thumb" : "",
		         q->thumbnail || strcmp(q->att.mime, "image/jpeg") == 0 ? "jpg"
		                                                                : "png");
		api->tr.http_reply(api->tr.ctx, q->http_id, 200,
		                   q->thumbnail ? "image/jpeg" : q->att.mime, extra, q->data,
		                   q->len);
	}
	api_req_release(&q->r);
}

/* Nothing is sent before its record is durable. */
static void
http_get_done(struct store_op *op, int rc)
{
	api_audit_then((struct api_req *)op, rc, http_get_reply);
}

int
api_http_parse(const char *path, const char *query, const char *auth,
               struct api_http_target *t)
{
	const char *num = path + strlen("/attachments/");
	char *end;
	long long id;

	if (strncmp(path, "/attachments/", 13) != 0)
		return 404;
	id = strtoll(num, &end, 10);
	if (*num == '\0' || *end != '\0' || id <= 0)
		return 404;
	if (strncmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) != AUTH_TOKEN_LEN)
		return 401;
	t->id = id;
	t->thumbnail = strstr(query, "thumb=1") != NULL;
	memcpy(t->token, auth + 7, AUTH_TOKEN_LEN);
	t->token[AUTH_TOKEN_LEN] = '\0';
	return 0;
}

void
api_http_get(struct api *api, uint64_t http_id, const char *path,
             const char *query, const char *auth, const char *peer)
{
	struct api_http_target t;
	struct http_req *q;
	int status = api_http_parse(path, query, auth, &t);

	if (status != 0)
		return http_plain(api, http_id, status);
	/* A bearer token alone is not enough: its session must be open now
	 * on a WebSocket from this address, which proved the device key at
	 * its login or resume. A copied token is refused like a wrong one. */
	if (!api_session_here(api, t.token, peer)) {
		OPENSSL_cleanse(t.token, sizeof(t.token));
		return http_plain(api, http_id, 401);
	}
	q = rk_calloc(1, sizeof(*q));
	q->r.api = api;
	q->r.fini = http_fini;
	q->http_id = http_id;
	memcpy(q->token, t.token, AUTH_TOKEN_LEN);
	OPENSSL_cleanse(t.token, sizeof(t.token));
	snprintf(q->peer, sizeof(q->peer), "%s", peer);
	q->id = t.id;
	q->thumbnail = t.thumbnail;
	q->r.op.run = http_get_run;
	q->r.op.done = http_get_done;
	if (store_submit_read(api->store, &q->r.op) != RK_OK) {
		http_plain(api, http_id, 503);
		api_req_release(&q->r);
	}
}
