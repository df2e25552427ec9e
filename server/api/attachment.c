/*
 * Photos out: a download in chunks over the WebSocket, and the collection
 * of abandoned uploads and orphaned photos. A photo is readable exactly
 * when its post is, and one that may not be read is answered exactly like
 * one that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/reply.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define CHUNK_MAX (512 * 1024)

struct get_req {
	struct api_req r;
	struct policy_actor who;
	int64_t id, offset, length, total;
	bool thumbnail;
	struct care_attachment att;
	uint8_t *data;
	size_t len;
};

static void
get_fini(struct api_req *r)
{
	free(((struct get_req *)r)->data);
}

static int
get_run(struct store_conn *sc, struct store_op *op)
{
	struct get_req *q = (struct get_req *)op;
	int rc = care_attachment_read(sc, &q->who, q->id, q->thumbnail, q->offset,
	                              q->length, rk_now_ms(), &q->att, &q->data,
	                              &q->len, &q->total, &q->r.st);
	return api_req_found(&q->r, rc, q->att.patient_code);
}

static void
get_ok(struct api_req *r, struct api_conn *c)
{
	struct get_req *q = (struct get_req *)r;
	Renkei__V1__AttachmentChunk ch = RENKEI__V1__ATTACHMENT_CHUNK__INIT;

	ch.attachment_id = (uint64_t)q->id;
	ch.data.data = q->data;
	ch.data.len = q->len;
	ch.offset = (uint64_t)q->offset;
	ch.total = (uint64_t)q->total;
	ch.mime = q->thumbnail ? (char *)"image/jpeg" : q->att.mime;
	ch.more = q->offset + (int64_t)q->len < q->total;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_CHUNK, &ch);
}

void
api_attachment_get(const struct api_call *call, const void *msg)
{
	const Renkei__V1__AttachmentGetRequest *m = msg;
	struct get_req *q;

	if (!api_id_ok(m->attachment_id) || m->offset > INT64_MAX)
		return api_refuse(call, RK_ERR_INVALID, "bad photo id", "attachment_id");
	q = api_req_new(sizeof(*q), call);
	q->who = api_req_actor(&q->r, call->c);
	q->id = (int64_t)m->attachment_id;
	q->thumbnail = m->thumbnail;
	q->offset = (int64_t)m->offset;
	q->length = m->length == 0 || m->length > CHUNK_MAX ? CHUNK_MAX : m->length;
	api_audit_object_id(q->r.au, m->attachment_id);
	q->r.op.run = get_run;
	q->r.ok = get_ok;
	q->r.fini = get_fini;
	api_req_read(&q->r);
}

/* ---- garbage collection */

struct gc_op {
	struct store_op op;
	int64_t abandon_ms, orphan_ms;
	int uploads, orphans;
};

static int
gc_run(struct store_conn *sc, struct store_op *op)
{
	struct gc_op *g = (struct gc_op *)op;
	return care_media_gc(sc, rk_now_ms(), g->abandon_ms, g->orphan_ms,
	                     &g->uploads, &g->orphans);
}

static void
gc_done(struct store_op *op, int rc)
{
	struct gc_op *g = (struct gc_op *)op;
	if (rc == RK_OK && (g->uploads || g->orphans))
		LOG_I("MEDIA-GC", "abandoned_uploads=%d orphan_photos=%d", g->uploads,
		      g->orphans);
	free(g);
}

void
api_media_gc(struct api *api)
{
	struct gc_op *g = rk_calloc(1, sizeof(*g));

	g->op.run = gc_run;
	g->op.done = gc_done;
	g->abandon_ms = (int64_t)api->conf->upload_abandon_s * 1000;
	g->orphan_ms = (int64_t)api->conf->attachment_orphan_s * 1000;
	if (store_submit_write(api->store, &g->op) != RK_OK)
		free(g);
}
