/*
 * Exact strings, checked on the wire bytes before anything is decoded
 * into C strings (protobuf-c hands strings over NUL-terminated, so an
 * embedded NUL would silently cut them, and a fixed buffer would cut an
 * over-long value).
 *
 * Every string field of a request, at any depth, must be valid UTF-8
 * with no NUL or other control character (tab, LF and CR are allowed)
 * and at most its stated maximum length in bytes (proto/renkei.proto
 * states each: 160 unless its comment says otherwise).
 */
#ifndef RK_API_WIRECHECK_H
#define RK_API_WIRECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "renkei.pb-c.h"

/* The default maximum of a string field, in bytes. */
#define API_STRING_MAX 160

enum wirecheck_result {
	WIRECHECK_OK,
	WIRECHECK_BAD_TEXT,  /* not UTF-8, or a NUL / control character */
	WIRECHECK_TOO_LONG,  /* longer than its maximum */
	WIRECHECK_MALFORMED, /* not protobuf at all (the decoder says so too) */
};

struct wirecheck {
	enum wirecheck_result result;
	char field[96];        /* the field at fault: "text", "new_patient.name" */
	size_t max;            /* its maximum, for WIRECHECK_TOO_LONG */
	uint64_t request_id;   /* the Envelope's field 1, if it could be read */
	int has_request_id;
};

/* Check an encoded Envelope's strings (as above) and read its request
 * id, without decoding it. Never reads outside data[0..len). */
void api_wirecheck(const uint8_t *data, size_t len, struct wirecheck *out);

/* The maximum length of a string field of message m. */
size_t api_string_max(const ProtobufCMessageDescriptor *m,
                      const ProtobufCFieldDescriptor *f);

#endif
