/*
 * Photo uploads and downloads for the harness; see harness.h. The
 * protocol's resumable upload (begin, chunks from the offset the server
 * reports, finish) and chunked download, so that tests read like what
 * they check and not like paging loops.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int
h_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok = f != NULL && fwrite(data, 1, len, f) == len;

	if (f != NULL && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

void
h_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		abort();
}

void
h_sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t d[32];

	h_sha256(data, len, d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

Renkei__V1__Envelope *
h_upload_begin_env(struct rkc *c, const char *patient, const char *upload_id,
                   const char *file_name, uint64_t size,
                   const uint8_t sha256[32])
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadBeginRequest b =
	    RENKEI__V1__UPLOAD_BEGIN_REQUEST__INIT;

	b.upload_id = (char *)upload_id;
	b.patient = (char *)patient;
	b.file_name = (char *)(file_name != NULL ? file_name : "");
	b.size = size;
	b.sha256.data = (uint8_t *)sha256;
	b.sha256.len = 32;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_BEGIN_REQUEST;
	req.upload_begin_request = &b;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_upload_chunk_env(struct rkc *c, const char *upload_id, uint64_t offset,
                   const void *data, size_t len)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadChunkRequest k =
	    RENKEI__V1__UPLOAD_CHUNK_REQUEST__INIT;

	k.upload_id = (char *)upload_id;
	k.offset = offset;
	k.data.data = (uint8_t *)data;
	k.data.len = len;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_CHUNK_REQUEST;
	req.upload_chunk_request = &k;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_upload_finish_env(struct rkc *c, const char *upload_id)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadFinishRequest f =
	    RENKEI__V1__UPLOAD_FINISH_REQUEST__INIT;

	f.upload_id = (char *)upload_id;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_REQUEST;
	req.upload_finish_request = &f;
	return h_call(c, &req);
}

Renkei__V1__Envelope *
h_upload_rest_env(struct rkc *c, const char *upload_id, const void *data,
                  size_t len, uint64_t from, uint64_t stop_at, uint64_t *sent)
{
	const uint8_t *p = data;
	uint64_t at = from;

	if (sent != NULL)
		*sent = 0;
	while (at < len && at < stop_at) {
		size_t n = len - at < H_CHUNK ? len - at : H_CHUNK;
		Renkei__V1__Envelope *r;

		if (stop_at < len && n > stop_at - at)
			n = (size_t)(stop_at - at);
		r = h_upload_chunk_env(c, upload_id, at, p + at, n);
		if (r == NULL ||
		    r->body_case != RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS)
			return r; /* an Error, or no answer */
		if (sent != NULL)
			*sent += n;
		if (r->upload_status->received <= at) {
			/* The caller's finish then names what is missing. */
			fprintf(stderr, "harness: upload %s stuck at %llu\n",
			        upload_id, (unsigned long long)at);
			h_env_free(r);
			return NULL;
		}
		at = r->upload_status->received;
		h_env_free(r);
	}
	return NULL;
}

Renkei__V1__Envelope *
h_upload_env(struct rkc *c, const char *patient, const char *upload_id,
             const char *file_name, const void *data, size_t len)
{
	Renkei__V1__Envelope *r;
	uint8_t sha[32];
	uint64_t from;

	h_sha256(data, len, sha);
	r = h_upload_begin_env(c, patient, upload_id, file_name, len, sha);
	if (r == NULL ||
	    r->body_case != RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS)
		return r;
	from = r->upload_status->received;
	h_env_free(r);
	r = h_upload_rest_env(c, upload_id, data, len, from, UINT64_MAX, NULL);
	if (r != NULL)
		return r;
	return h_upload_finish_env(c, upload_id);
}

int
h_attachment_get(struct rkc *c, uint64_t id, int thumbnail, uint8_t **data,
                 size_t *len, char *msg, size_t msgcap)
{
	uint8_t *buf = NULL;
	size_t have = 0;
	int code = 0;

	*data = NULL;
	*len = 0;
	if (msgcap > 0)
		msg[0] = '\0';
	for (;;) {
		Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *r;
		Renkei__V1__AttachmentGetRequest g =
		    RENKEI__V1__ATTACHMENT_GET_REQUEST__INIT;
		Renkei__V1__AttachmentChunk *ch;
		int more;

		g.attachment_id = id;
		g.thumbnail = thumbnail != 0;
		g.offset = have;
		req.body_case =
		    RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_GET_REQUEST;
		req.attachment_get_request = &g;
		r = h_call(c, &req);
		if (r == NULL) {
			code = -1;
			break;
		}
		if (r->body_case !=
		    RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_CHUNK) {
			code = h_env_code(r);
			if (r->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR &&
			    msgcap > 0)
				snprintf(msg, msgcap, "%s", r->error->message);
			if (code == RENKEI__V1__CODE__OK)
				code = -1; /* some other body */
			h_env_free(r);
			break;
		}
		ch = r->attachment_chunk;
		if (ch->offset != have || have + ch->data.len > ch->total) {
			fprintf(stderr,
			        "harness: attachment %llu: chunk at %llu "
			        "(want %zu), total %llu\n",
			        (unsigned long long)id,
			        (unsigned long long)ch->offset, have,
			        (unsigned long long)ch->total);
			h_env_free(r);
			code = -1;
			break;
		}
		buf = realloc(buf, have + ch->data.len + 1);
		if (buf == NULL)
			abort();
		memcpy(buf + have, ch->data.data, ch->data.len);
		have += ch->data.len;
		if (msgcap > 0)
			snprintf(msg, msgcap, "%s", ch->mime);
		/* An empty chunk that claims more would loop forever. */
		more = ch->more && ch->data.len > 0;
		h_env_free(r);
		if (!more)
			break;
	}
	if (code != 0) {
		free(buf);
		return code;
	}
	*data = buf;
	*len = have;
	return RENKEI__V1__CODE__OK;
}
