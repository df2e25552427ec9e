/*
 * Fuzz target: the two readers of a received message, side by side:
 * api_wirecheck (server/api/wirecheck.c, a hand-written walk over the
 * protobuf encoding that checks every string before anything is decoded)
 * and protobuf-c's decoder of the Envelope. No store: this is the fast
 * companion of fuzz_envelope, for the parsing alone.
 *
 * The server dispatches only what wirecheck let through (OK), and trusts
 * that it decodes into strings that are valid UTF-8, hold no NUL or
 * control character and are within their limits. (What wirecheck calls
 * malformed may still decode: protobuf-c skips a field numbered 0, where
 * the walk stops. Dispatch refuses it: that is what this target found,
 * corpus/wirecheck/crash-field-zero; fuzz_envelope checks the refusal.)
 * So:
 *  - if the Envelope decodes and wirecheck said OK, every string in it,
 *    at any depth and in every repeated field, is valid UTF-8 (no NUL:
 *    its C length is its wire length) and no longer than
 *    api_string_max for its field; and the request id wirecheck read is
 *    the decoder's;
 *  - a refusal names its field, and TOO_LONG its maximum.
 */
#include <string.h>

#include "api/wirecheck.h"
#include "fuzz.h"
#include "renkei.pb-c.h"
#include "util/text.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_keep_stderr();
	return 0;
}

static void
check_string(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
             const char *s)
{
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	CHECK(rk_utf8_valid(s, n));
	CHECK(n <= api_string_max(d, f));
}

/* Every string of m, at any depth. */
static void
walk(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;

	CHECK(depth < 32);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *at = base + f->offset;
		size_t n = 1;

		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			at = *(void *const *)at;
		}
		for (size_t k = 0; k < n; k++) {
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				const char *s = f->label == PROTOBUF_C_LABEL_REPEATED
				                        ? ((char *const *)at)[k]
				                        : *(char *const *)at;
				check_string(d, f, s);
			} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const ProtobufCMessage *sub =
					f->label == PROTOBUF_C_LABEL_REPEATED
						? ((ProtobufCMessage *const *)at)[k]
						: *(ProtobufCMessage *const *)at;
				if (sub != NULL)
					walk(sub, depth + 1);
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Renkei__V1__Envelope *env;
	struct wirecheck w;

	api_wirecheck(data, size, &w);
	CHECK(w.result >= WIRECHECK_OK && w.result <= WIRECHECK_MALFORMED);
	if (w.result == WIRECHECK_BAD_TEXT || w.result == WIRECHECK_TOO_LONG)
		CHECK(w.field[0] != '\0');
	if (w.result == WIRECHECK_TOO_LONG)
		CHECK(w.max > 0);
	CHECK(memchr(w.field, '\0', sizeof(w.field)) != NULL);

	env = renkei__v1__envelope__unpack(NULL, size, data);
	if (env != NULL && w.result == WIRECHECK_OK) {
		walk(&env->base, 0);
		CHECK(w.has_request_id ? w.request_id == env->request_id
		                       : env->request_id == 0);
	}
	if (env != NULL)
		renkei__v1__envelope__free_unpacked(env, NULL);
	return 0;
}
