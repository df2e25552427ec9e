/*
 * Encoding and sending: answers, errors, closes.
 */
#include <stdio.h>

#include "api/reply.h"
#include "util/frame.h"

/* The one mapping lives in util/err.c; the wire enum is numbered as the
 * gRPC codes it names. */
Renkei__V1__Code
api_code_of(int err)
{
	if (err <= 0)
		return RENKEI__V1__CODE__INTERNAL; /* an "error" of OK is a bug */
	return (Renkei__V1__Code)rk_err_grpc_code(err);
}

void
api_send(struct api *api, struct api_conn *c, const Renkei__V1__Envelope *env)
{
	size_t n = renkei__v1__envelope__get_packed_size(env);
	struct frame *f = frame_new(n);

	renkei__v1__envelope__pack(env, frame_payload(f));
	if (api->tr.send(c->handle, f) != 0)
		c->closing = true; /* the transport is culling it */
	frame_unref(&f);
}

void
api_reply(struct api *api, struct api_conn *c, uint64_t rid,
          Renkei__V1__Envelope__BodyCase body, const void *msg)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
		&renkei__v1__envelope__descriptor, (unsigned)body);

	/* Every body is a message member of the oneof: set the pointer at
	 * the field's offset, as protobuf-c's own code does. */
	env.request_id = rid;
	env.body_case = body;
	*(const void **)((char *)&env + f->offset) = msg;
	api_send(api, c, &env);
}

static void
reply_error(struct api *api, struct api_conn *c, uint64_t rid, int err,
            const char *msg, const char *field, uint32_t retry_after_ms)
{
	Renkei__V1__Error e = RENKEI__V1__ERROR__INIT;

	e.code = api_code_of(err);
	api->stats.by_code[e.code < 17 ? e.code : 13]++;
	e.message = (char *)(msg ? msg : rk_strerror(err));
	e.field = (char *)(field ? field : "");
	e.retry_after_ms = retry_after_ms;
	api->stats.errors++;
	api_reply(api, c, rid, RENKEI__V1__ENVELOPE__BODY_ERROR, &e);
}

void
api_reply_error(struct api *api, struct api_conn *c, uint64_t rid, int err,
                const char *msg, const char *field)
{
	reply_error(api, c, rid, err, msg, field, 0);
}

void
api_reply_error_retry(struct api *api, struct api_conn *c, uint64_t rid,
                      int err, const char *msg, uint32_t retry_after_ms)
{
	reply_error(api, c, rid, err, msg, NULL, retry_after_ms);
}

void
api_reply_status(struct api *api, struct api_conn *c, uint64_t rid,
                 const struct rk_status *st, int rc)
{
	/* No status: the op itself went well but was not kept — its batch
	 * did not commit, the audit record could not be written, or the disk
	 * is full. Nothing was done. */
	if (st->err == RK_OK && rc == RK_ERR_EXHAUSTED)
		return reply_error(api, c, rid, RK_ERR_EXHAUSTED, API_MSG_DISK_FULL,
		                   NULL, API_RETRY_DISK_MS);
	if (st->err == RK_OK)
		return api_reply_error(api, c, rid, RK_ERR_UNAVAILABLE,
		                       "could not be saved; nothing was done; try "
		                       "again",
		                       NULL);
	reply_error(api, c, rid, st->err, st->msg, st->field, st->retry_after_ms);
}

void
api_conn_close(struct api *api, struct api_conn *c, int code,
               const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	api->tr.close(c->handle, code, reason);
}
