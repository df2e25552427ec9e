/* Unit tests: api/wirecheck (exact strings checked on the wire bytes).
 * Envelopes are packed from the generated structs, then patched in place
 * (same length) to hold what protobuf-c would never encode itself: a NUL,
 * invalid UTF-8. Every check runs on a heap copy of exactly the bytes, so
 * that ASan sees any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/wirecheck.h"
#include "renkei.pb-c.h"

struct wire {
	uint8_t *p;
	size_t len;
};

static struct wire
pack(const Renkei__V1__Envelope *env)
{
	struct wire w;

	w.len = renkei__v1__envelope__get_packed_size(env);
	w.p = malloc(w.len ? w.len : 1);
	assert_non_null(w.p);
	assert_int_equal(renkei__v1__envelope__pack(env, w.p), w.len);
	return w;
}

/* Replace the one occurrence of `marker` in w with `with` (same length). */
static void
patch(struct wire *w, const char *marker, const char *with, size_t n)
{
	size_t k = strlen(marker);
	uint8_t *hit = NULL;

	assert_int_equal(k, n);
	for (size_t i = 0; i + k <= w->len; i++) {
		if (memcmp(w->p + i, marker, k) == 0) {
			assert_null(hit); /* exactly one */
			hit = w->p + i;
		}
	}
	assert_non_null(hit);
	memcpy(hit, with, n);
}

/* Check exactly data[0..len) from a buffer of that size. */
static void
check(const uint8_t *data, size_t len, struct wirecheck *out)
{
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	if (len)
		memcpy(copy, data, len);
	memset(out, 0x5a, sizeof(*out));
	api_wirecheck(copy, len, out);
	free(copy);
}

static void
check_wire(const struct wire *w, struct wirecheck *out)
{
	check(w->p, w->len, out);
}

/* A clean CreatePostRequest with request id `rid` and the given text. */
static struct wire
create_post(uint64_t rid, const char *patient, const char *client_id,
            const char *text)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	Renkei__V1__Vitals vit = RENKEI__V1__VITALS__INIT;
	uint64_t att[2] = {7, 8};

	cp.patient = (char *)patient;
	cp.client_id = (char *)client_id;
	cp.kind = 1;
	cp.visibility = 1;
	cp.urgent = 1;
	cp.text = (char *)text;
	vit.temperature_dc = 368;
	vit.pulse = 72;
	cp.vitals = &vit;
	cp.n_attachment_ids = 2;
	cp.attachment_ids = att;
	env.request_id = rid;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &cp;
	return pack(&env);
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
expect(const struct wirecheck *w, enum wirecheck_result r, const char *field)
{
	if (w->result != r)
		fail_msg("result %d, expected %d (field \"%s\")", (int)w->result, (int)r,
		         w->field);
	if (field != NULL)
		assert_string_equal(w->field, field);
}

/* ------------------------------------------------------------------ clean */

static void
test_clean_create_post(void **state)
{
	struct wire e = create_post(42, "pt-yamada", "c-0001",
	                            "訪問しました。\n\tバイタル安定\r\n問題なし");
	struct wirecheck w;

	(void)state;
	check_wire(&e, &w);
	expect(&w, WIRECHECK_OK, "");
	assert_int_equal(w.has_request_id, 1);
	assert_int_equal(w.request_id, 42);
	/* The decoder agrees it is an Envelope. */
	Renkei__V1__Envelope *env = renkei__v1__envelope__unpack(NULL, e.len, e.p);
	assert_non_null(env);
	renkei__v1__envelope__free_unpacked(env, NULL);
	free(e.p);

	/* Nothing at all is a valid (empty) Envelope, with no request id. */
	check(NULL, 0, &w);
	expect(&w, WIRECHECK_OK, "");
	assert_int_equal(w.has_request_id, 0);
	assert_int_equal(w.request_id, 0);
}

/* ---------------------------------------------------------------- bad text */

static void
test_nul_in_text(void **state)
{
	struct wire e = create_post(9, "pt-1", "c-1", "before#after");
	struct wirecheck w;

	(void)state;
	patch(&e, "#", "\0", 1);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_BAD_TEXT, "text");
	/* The id is known, so the Error can carry it. */
	assert_int_equal(w.has_request_id, 1);
	assert_int_equal(w.request_id, 9);
	/* protobuf-c itself would have cut the string at the NUL. */
	Renkei__V1__Envelope *env = renkei__v1__envelope__unpack(NULL, e.len, e.p);
	assert_non_null(env);
	assert_string_equal(env->create_post_request->text, "before");
	renkei__v1__envelope__free_unpacked(env, NULL);
	free(e.p);
}

static void
test_bad_text_kinds(void **state)
{
	static const struct {
		const char *bytes; /* 4 bytes replacing "@@@@" in the text */
		enum wirecheck_result r;
	} cases[] = {
		{"ab\xff" "c", WIRECHECK_BAD_TEXT},          /* not UTF-8 at all */
		{"a\xc0\xaf" "b", WIRECHECK_BAD_TEXT},       /* overlong '/' */
		{"\xed\xa0\x80" "a", WIRECHECK_BAD_TEXT},    /* a surrogate */
		{"\xf4\x90\x80\x80", WIRECHECK_BAD_TEXT},    /* above U+10FFFF */
		{"ab\xe3\x81", WIRECHECK_BAD_TEXT},          /* cut short */
		{"a\x1b" "bc", WIRECHECK_BAD_TEXT},          /* ESC */
		{"a\x01" "bc", WIRECHECK_BAD_TEXT},
		{"\x7f" "abc", WIRECHECK_BAD_TEXT},          /* DEL is a control too */
		{"a\tb\n", WIRECHECK_OK},
		{"\r\n\r\n", WIRECHECK_OK},
		{"\xe3\x81\x82" "a", WIRECHECK_OK},          /* あ */
		{"\xf0\x9f\x98\x80", WIRECHECK_OK},          /* an emoji */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wire e = create_post(3, "pt-1", "c-1", "x@@@@y");
		struct wirecheck w;

		patch(&e, "@@@@", cases[i].bytes, 4);
		check_wire(&e, &w);
		if (w.result != cases[i].r)
			fail_msg("case %zu: result %d, expected %d", i, (int)w.result,
			         (int)cases[i].r);
		if (cases[i].r == WIRECHECK_BAD_TEXT)
			assert_string_equal(w.field, "text");
		assert_int_equal(w.request_id, 3);
		free(e.p);
	}
}

/* Any string field, not just text; the first bad one is named. */
static void
test_bad_text_other_fields(void **state)
{
	struct wire e = create_post(4, "pt-#", "c-#1", "ok");
	struct wirecheck w;

	(void)state;
	patch(&e, "c-#1", "c-\x02" "1", 4);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_BAD_TEXT, "client_id");
	patch(&e, "pt-#", "pt-\0", 4);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_BAD_TEXT, "patient"); /* field 1 comes first */
	free(e.p);
}

/* ------------------------------------------------------------------ length */

static void
test_client_id_max(void **state)
{
	char *id64 = repeat('c', 64), *id65 = repeat('c', 65);
	struct wire ok = create_post(5, "pt-1", id64, "t");
	struct wire bad = create_post(5, "pt-1", id65, "t");
	struct wirecheck w;

	(void)state;
	check_wire(&ok, &w);
	expect(&w, WIRECHECK_OK, "");
	check_wire(&bad, &w);
	expect(&w, WIRECHECK_TOO_LONG, "client_id");
	assert_int_equal(w.max, 64);
	assert_int_equal(w.request_id, 5);
	free(ok.p);
	free(bad.p);
	free(id64);
	free(id65);
}

/* The text limit is in bytes: 16384 bytes of mostly three-byte
 * characters pass, one byte more does not. */
static void
test_text_multibyte_max(void **state)
{
	char *text = malloc(16400);
	struct wire e;
	struct wirecheck w;
	size_t n = 0;

	(void)state;
	while (n + 3 <= 16384) {
		memcpy(text + n, "\xe3\x81\x82", 3); /* あ */
		n += 3;
	}
	while (n < 16384)
		text[n++] = 'a';
	text[n] = '\0';
	assert_int_equal(strlen(text), 16384);
	e = create_post(6, "pt-1", "c-1", text);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_OK, "");
	free(e.p);

	text[16384] = 'b';
	text[16385] = '\0';
	e = create_post(6, "pt-1", "c-1", text);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_TOO_LONG, "text");
	assert_int_equal(w.max, 16384);
	free(e.p);

	/* A character cut by the limit is still a length problem, not text:
	 * 16383 bytes of 'a' then あ. */
	memset(text, 'a', 16383);
	memcpy(text + 16383, "\xe3\x81\x82", 4);
	e = create_post(6, "pt-1", "c-1", text);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_TOO_LONG, "text");
	free(e.p);
	free(text);
}

/* Strings inside nested and repeated messages are named by their path. */
static void
test_nested_names(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncRequest sr = RENKEI__V1__SYNC_REQUEST__INIT;
	Renkei__V1__BoardCursor b0 = RENKEI__V1__BOARD_CURSOR__INIT;
	Renkei__V1__BoardCursor b1 = RENKEI__V1__BOARD_CURSOR__INIT;
	Renkei__V1__BoardCursor *boards[2] = {&b0, &b1};
	char *pats[2] = {"pt-1", "pt-2"};
	char *p64 = repeat('p', 64), *p65 = repeat('p', 65);
	struct wire e;
	struct wirecheck w;

	(void)state;
	b0.patient = "pt-1";
	b0.since_seq = 10;
	b1.patient = p65;
	b1.since_seq = 20;
	sr.n_patients = 2;
	sr.patients = pats;
	sr.n_boards = 2;
	sr.boards = boards;
	env.request_id = 11;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	env.sync_request = &sr;

	e = pack(&env);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_TOO_LONG, "boards.patient");
	assert_int_equal(w.max, 64);
	assert_int_equal(w.request_id, 11);
	free(e.p);

	b1.patient = p64;
	e = pack(&env);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_OK, "");
	free(e.p);

	b1.patient = "pt-#";
	e = pack(&env);
	patch(&e, "pt-#", "pt\xc3\x28", 4);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_BAD_TEXT, "boards.patient");
	free(e.p);

	/* A repeated string of the body itself. */
	b1.patient = "pt-2";
	pats[1] = p65;
	e = pack(&env);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_TOO_LONG, "patients");
	assert_int_equal(w.max, 64);
	free(e.p);
	free(p64);
	free(p65);
}

/* Two levels: HandoffOpenRequest.new_patient (a Patient), whose fields
 * have their own maxima. */
static void
test_nested_patient(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__HandoffOpenRequest ho = RENKEI__V1__HANDOFF_OPEN_REQUEST__INIT;
	Renkei__V1__Patient p = RENKEI__V1__PATIENT__INIT;
	char *n160 = repeat('n', 160), *n161 = repeat('n', 161);
	char *s16k = repeat('s', 16384);
	struct wire e;
	struct wirecheck w;

	(void)state;
	p.code = "pt-new";
	p.name = n160;
	p.summary = s16k;
	ho.new_patient = &p;
	ho.summary = "退院サマリー";
	ho.client_id = "c-1";
	env.request_id = 12;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_OPEN_REQUEST;
	env.handoff_open_request = &ho;
	e = pack(&env);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_OK, "");
	free(e.p);

	p.name = n161;
	e = pack(&env);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_TOO_LONG, "new_patient.name");
	assert_int_equal(w.max, API_STRING_MAX);
	free(e.p);

	p.name = "name";
	p.code = "pt-\x01";
	e = pack(&env);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_BAD_TEXT, "new_patient.code");
	free(e.p);
	free(n160);
	free(n161);
	free(s16k);
}

/* Bytes fields are not text; unknown fields are skipped as the decoder
 * skips them. */
static void
test_bytes_and_unknown_fields(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadChunkRequest uc = RENKEI__V1__UPLOAD_CHUNK_REQUEST__INIT;
	uint8_t data[300];
	struct wire e;
	struct wirecheck w;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7); /* NULs, controls, 0xff */
	uc.upload_id = "u-1";
	uc.offset = 0;
	uc.data.len = sizeof(data);
	uc.data.data = data;
	env.request_id = 13;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_CHUNK_REQUEST;
	env.upload_chunk_request = &uc;
	e = pack(&env);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_OK, "");
	assert_int_equal(w.request_id, 13);
	free(e.p);

	/* Envelope field 1 = 14, then an unknown field 500 holding a NUL, an
	 * unknown fixed64 and fixed32 (numbers far beyond the body
	 * families), then a LoginRequest whose login has an unknown field 9
	 * beside it. */
	static const uint8_t raw[] = {
		0x08, 14,                                     /* request_id */
		0xa2, 0x1f, 3, 'a', 0, 'b',                   /* 500: "a\0b" */
		0xa9, 0x1f, 1, 2, 3, 4, 5, 6, 7, 8,           /* 501: fixed64 */
		0xb5, 0x1f, 1, 2, 3, 4,                       /* 502: fixed32 */
		0x52, 9, 0x0a, 2, 'd', 'r', 0x4a, 3, 'x', 0, 'y', /* 10 */
	};
	check(raw, sizeof(raw), &w);
	expect(&w, WIRECHECK_OK, "");
	assert_int_equal(w.has_request_id, 1);
	assert_int_equal(w.request_id, 14);
	Renkei__V1__Envelope *dec = renkei__v1__envelope__unpack(NULL, sizeof(raw), raw);
	assert_non_null(dec);
	assert_int_equal(dec->body_case, RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST);
	assert_string_equal(dec->login_request->login, "dr");
	renkei__v1__envelope__free_unpacked(dec, NULL);
}

/* ---------------------------------------------------------- the request id */

static void
test_request_id(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AckRequest ack = RENKEI__V1__ACK_REQUEST__INIT;
	struct wire e;
	struct wirecheck w;

	(void)state;
	/* A field 1 of the body is not the request id. */
	ack.post_id = 999;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_ACK_REQUEST;
	env.ack_request = &ack;
	e = pack(&env);
	check_wire(&e, &w);
	expect(&w, WIRECHECK_OK, "");
	assert_int_equal(w.has_request_id, 0);
	assert_int_equal(w.request_id, 0);
	free(e.p);

	env.request_id = UINT64_MAX;
	e = pack(&env);
	check_wire(&e, &w);
	assert_int_equal(w.has_request_id, 1);
	assert_true(w.request_id == UINT64_MAX);
	free(e.p);

	/* The id comes first on the wire, so a body that breaks later still
	 * leaves it known. */
	static const uint8_t cut[] = {0x08, 0x96, 0x01, 0x52, 50, 0x0a, 2, 'd'};
	check(cut, sizeof(cut), &w);
	expect(&w, WIRECHECK_MALFORMED, NULL);
	assert_int_equal(w.has_request_id, 1);
	assert_int_equal(w.request_id, 150);
	/* ... and a bad string after it too. */
	static const uint8_t nul[] = {0x08, 0x07, 0x52, 4, 0x0a, 2, 'd', 0};
	check(nul, sizeof(nul), &w);
	expect(&w, WIRECHECK_BAD_TEXT, "login");
	assert_int_equal(w.request_id, 7);
	/* An id cut short is no id. */
	static const uint8_t half[] = {0x08, 0x96};
	check(half, sizeof(half), &w);
	expect(&w, WIRECHECK_MALFORMED, NULL);
	assert_int_equal(w.has_request_id, 0);
}

/* --------------------------------------------------------------- malformed */

/* Every prefix of a real Envelope: the walk says MALFORMED exactly when
 * the decoder refuses it, and never reads past the end (ASan). */
static void
test_every_prefix(void **state)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncRequest sr = RENKEI__V1__SYNC_REQUEST__INIT;
	Renkei__V1__BoardCursor b0 = RENKEI__V1__BOARD_CURSOR__INIT;
	Renkei__V1__BoardCursor *boards[1] = {&b0};
	char *pats[2] = {"pt-あいう", "pt-2"};
	struct wire e;
	struct wirecheck w;
	size_t malformed = 0;

	(void)state;
	b0.patient = "pt-1";
	b0.since_seq = 123456789;
	sr.n_patients = 2;
	sr.patients = pats;
	sr.cursor = 1ull << 40;
	sr.n_boards = 1;
	sr.boards = boards;
	sr.limit = 300;
	env.request_id = 300;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	env.sync_request = &sr;
	e = pack(&env);
	for (size_t n = 0; n <= e.len; n++) {
		Renkei__V1__Envelope *dec;

		check(e.p, n, &w);
		dec = renkei__v1__envelope__unpack(NULL, n, e.p);
		if ((w.result == WIRECHECK_MALFORMED) != (dec == NULL))
			fail_msg("prefix %zu of %zu: wirecheck %d, decoder %s", n, e.len,
			         (int)w.result, dec ? "ok" : "refused");
		assert_true(w.result == WIRECHECK_OK || w.result == WIRECHECK_MALFORMED);
		if (n >= 3) /* 0x08 0xac 0x02 */
			assert_int_equal(w.request_id, 300);
		malformed += w.result == WIRECHECK_MALFORMED;
		if (dec)
			renkei__v1__envelope__free_unpacked(dec, NULL);
	}
	assert_true(malformed > e.len / 2);
	free(e.p);
}

static void
test_malformed_shapes(void **state)
{
	static const struct {
		const char *what;
		uint8_t b[16];
		size_t n;
	} cases[] = {
		{"field number 0", {0x00, 0x01}, 2},
		{"a group", {0x0b, 0x0c}, 2},
		{"wire type 7", {0x0f}, 1},
		{"a varint of 11 bytes",
		 {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12},
		{"a tag cut short", {0x80}, 1},
		{"a length past the end", {0x52, 0x05, 0x0a, 0x01}, 4},
		{"a huge length", {0x52, 0xff, 0xff, 0xff, 0xff, 0x0f}, 6},
		{"a fixed64 cut short", {0x09, 1, 2, 3}, 4},
		{"a fixed32 cut short", {0x0d, 1, 2}, 3},
		{"a sub-message that is not one", {0x52, 0x02, 0x0a, 0x09}, 4},
		{"a field number past 2^32",
		 {0x82, 0x80, 0x80, 0x80, 0x80, 0x02, 0x00}, 7},
	};
	struct wirecheck w;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check(cases[i].b, cases[i].n, &w);
		if (w.result != WIRECHECK_MALFORMED)
			fail_msg("%s: result %d", cases[i].what, (int)w.result);
	}
}

/* An unknown length-delimited field is skipped whole: its bytes (here
 * 0xff, a NUL and a group tag) are neither text nor walked into. */
static void
test_unknown_field_not_walked(void **state)
{
	/* Envelope field 255, length-delimited: no such field. */
	static const uint8_t raw[] = {0x08, 0x01, 0xfa, 0x0f, 3, 0xff, 0x00, 0x0b};
	struct wirecheck w;

	(void)state;
	check(raw, sizeof(raw), &w);
	expect(&w, WIRECHECK_OK, "");
	assert_int_equal(w.request_id, 1);
}

/* ----------------------------------------------------------- string maxima */

static const ProtobufCFieldDescriptor *
field(const ProtobufCMessageDescriptor *m, const char *name)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m, name);
	assert_non_null(f);
	assert_int_equal(f->type, PROTOBUF_C_TYPE_STRING);
	return f;
}

static void
test_string_max(void **state)
{
	static const struct {
		const ProtobufCMessageDescriptor *m;
		const char *field;
		size_t max;
	} cases[] = {
		{&renkei__v1__create_post_request__descriptor, "text", 16384},
		{&renkei__v1__create_post_request__descriptor, "patient", 64},
		{&renkei__v1__create_post_request__descriptor, "client_id", 64},
		{&renkei__v1__login_request__descriptor, "login", 64},
		{&renkei__v1__login_request__descriptor, "password", 1024},
		{&renkei__v1__login_request__descriptor, "device", 128},
		{&renkei__v1__resume_request__descriptor, "token", 64},
		{&renkei__v1__sync_request__descriptor, "patients", 64},
		{&renkei__v1__board_cursor__descriptor, "patient", 64},
		{&renkei__v1__retract_post_request__descriptor, "reason", 16384},
		{&renkei__v1__break_glass_request__descriptor, "reason", 2000},
		{&renkei__v1__patient__descriptor, "code", 64},
		{&renkei__v1__patient__descriptor, "name", API_STRING_MAX},
		{&renkei__v1__patient__descriptor, "summary", 16384},
		{&renkei__v1__patient__descriptor, "wishes", 16384},
		{&renkei__v1__handoff_open_request__descriptor, "discharge_date",
		 API_STRING_MAX},
		{&renkei__v1__family_invite_request__descriptor, "display_name",
		 API_STRING_MAX},
		{&renkei__v1__family_invite_request__descriptor, "relation", API_STRING_MAX},
		{&renkei__v1__upload_chunk_request__descriptor, "upload_id", 64},
	};

	(void)state;
	assert_int_equal(API_STRING_MAX, 160);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = api_string_max(cases[i].m, field(cases[i].m, cases[i].field));
		if (got != cases[i].max)
			fail_msg("%s.%s: max %zu, expected %zu", cases[i].m->name,
			         cases[i].field, got, cases[i].max);
	}
}

/* The maxima are enforced as stated, at the boundary, for a field with
 * each limit. */
static void
test_login_boundaries(void **state)
{
	static const struct {
		const char *field;
		size_t max;
	} cases[] = {{"login", 64}, {"password", 1024}, {"device", 128}};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t extra = 0; extra <= 1; extra++) {
			Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
			Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
			char *s = repeat('z', cases[i].max + extra);
			struct wire e;
			struct wirecheck w;

			lr.login = "dr";
			lr.password = "pw";
			lr.device = "dev";
			if (strcmp(cases[i].field, "login") == 0)
				lr.login = s;
			else if (strcmp(cases[i].field, "password") == 0)
				lr.password = s;
			else
				lr.device = s;
			env.request_id = 1;
			env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
			env.login_request = &lr;
			e = pack(&env);
			check_wire(&e, &w);
			if (extra) {
				expect(&w, WIRECHECK_TOO_LONG, cases[i].field);
				assert_int_equal(w.max, cases[i].max);
			} else {
				expect(&w, WIRECHECK_OK, "");
			}
			free(e.p);
			free(s);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_create_post),
		cmocka_unit_test(test_nul_in_text),
		cmocka_unit_test(test_bad_text_kinds),
		cmocka_unit_test(test_bad_text_other_fields),
		cmocka_unit_test(test_client_id_max),
		cmocka_unit_test(test_text_multibyte_max),
		cmocka_unit_test(test_nested_names),
		cmocka_unit_test(test_nested_patient),
		cmocka_unit_test(test_bytes_and_unknown_fields),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_malformed_shapes),
		cmocka_unit_test(test_unknown_field_not_walked),
		cmocka_unit_test(test_string_max),
		cmocka_unit_test(test_login_boundaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
