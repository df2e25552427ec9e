/*
 * Exact strings on the wire (wirecheck.h): a walk over the protobuf
 * encoding itself, guided by the generated descriptors. Only what the
 * walk needs of the format is read: tags, varints, lengths; fields it
 * does not know are skipped as the decoder would skip them.
 */
#include <stdio.h>
#include <string.h>

#include "api/wirecheck.h"
#include "util/text.h"

#define DEPTH_MAX 16

/* Limits other than API_STRING_MAX, by field name in any request; a
 * message-qualified entry wins over a bare one. Keep in step with the
 * comments in proto/renkei.proto. */
static const struct {
	const char *message; /* NULL: any message */
	const char *field;
	size_t max;
} limits[] = {
	{NULL, "patient", 64},
	{NULL, "patients", 64},
	{NULL, "code", 64},
	{NULL, "client_id", 64},
	{NULL, "upload_id", 64},
	{NULL, "login", 64},
	{NULL, "user", 64},
	{NULL, "org", 64},
	{NULL, "token", 64},
	{NULL, "device", 128},
	{NULL, "password", 1024},
	{NULL, "old_password", 1024},
	{NULL, "new_password", 1024},
	{NULL, "text", 16384},
	{NULL, "summary", 16384},
	{NULL, "wishes", 16384},
	{NULL, "reason", 2000},
	{"renkei.v1.RetractPostRequest", "reason", 16384},
	{"renkei.v1.WebPushSubscription", "endpoint", 1024},
	{"renkei.v1.NoticeDeviceAddRequest", "email", 254},
	{"renkei.v1.NoticeDeviceAddRequest", "label", 64},
	{"renkei.v1.NoticePrefs", "boards", 64},
};

size_t
api_string_max(const ProtobufCMessageDescriptor *m,
               const ProtobufCFieldDescriptor *f)
{
	size_t max = API_STRING_MAX;

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (strcmp(limits[i].field, f->name) != 0)
			continue;
		if (limits[i].message == NULL)
			max = limits[i].max;
		else if (strcmp(limits[i].message, m->name) == 0)
			return limits[i].max;
	}
	return max;
}

struct cursor {
	const uint8_t *p, *end;
};

/* A varint; false if it runs past the end or past 10 bytes. */
static int
varint(struct cursor *c, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 70 && c->p < c->end; shift += 7) {
		uint8_t b = *c->p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v = x;
			return 1;
		}
	}
	return 0;
}

static void
set_field(struct wirecheck *w, const char *prefix, const char *name)
{
	if (prefix[0] != '\0')
		snprintf(w->field, sizeof(w->field), "%s.%s", prefix, name);
	else
		snprintf(w->field, sizeof(w->field), "%s", name);
}

/* Walk one message's bytes. prefix: the dotted path to it ("" at the
 * body). Returns 0 to stop (w->result says why). */
static int
walk(const ProtobufCMessageDescriptor *d, struct cursor c, const char *prefix,
     int depth, int top, struct wirecheck *w)
{
	while (c.p < c.end) {
		uint64_t tag, v, len;
		const ProtobufCFieldDescriptor *f;

		if (!varint(&c, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
			goto malformed;
		f = protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
		switch (tag & 7) {
		case 0:
			if (!varint(&c, &v))
				goto malformed;
			if (top && (tag >> 3) == 1) {
				w->request_id = v;
				w->has_request_id = 1;
			}
			continue;
		case 1:
		case 5:
			if ((size_t)(c.end - c.p) < ((tag & 7) == 1 ? 8u : 4u))
				goto malformed;
			c.p += (tag & 7) == 1 ? 8 : 4;
			continue;
		case 2:
			break;
		default:
			goto malformed; /* groups are not proto3 */
		}
		if (!varint(&c, &len) || len > (uint64_t)(c.end - c.p))
			goto malformed;
		if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING) {
			size_t max = api_string_max(d, f);
			if (!rk_utf8_valid((const char *)c.p, (size_t)len)) {
				w->result = WIRECHECK_BAD_TEXT;
				set_field(w, prefix, f->name);
				return 0;
			}
			if (len > max) {
				w->result = WIRECHECK_TOO_LONG;
				w->max = max;
				set_field(w, prefix, f->name);
				return 0;
			}
		} else if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
			struct cursor sub = {c.p, c.p + len};
			char path[96];

			if (depth >= DEPTH_MAX)
				goto malformed;
			/* The body's own fields are named without the body. */
			if (top)
				path[0] = '\0';
			else if (prefix[0] != '\0')
				snprintf(path, sizeof(path), "%s.%s", prefix, f->name);
			else
				snprintf(path, sizeof(path), "%s", f->name);
			if (!walk((const ProtobufCMessageDescriptor *)f->descriptor, sub,
			          path, depth + 1, 0, w))
				return 0;
		}
		c.p += len;
	}
	return 1;
malformed:
	w->result = WIRECHECK_MALFORMED;
	return 0;
}

void
api_wirecheck(const uint8_t *data, size_t len, struct wirecheck *out)
{
	struct cursor c = {data, data + len};

	memset(out, 0, sizeof(*out));
	walk(&renkei__v1__envelope__descriptor, c, "", 0, 1, out);
}
