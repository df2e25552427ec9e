/* Unit tests: api/dispatch (the verb table), checked against the
 * Envelope's own descriptor, so that a request added to
 * proto/renkei.proto without a row (or a response given one) fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/dispatch.h"
#include "renkei.pb-c.h"

/* A body of the Envelope is a request if its message's name says so. */
static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static const ProtobufCMessageDescriptor *
body_message(const ProtobufCFieldDescriptor *f)
{
	return (const ProtobufCMessageDescriptor *)f->descriptor;
}

/* Every field of the Envelope but request_id is a case of its oneof. */
static void
test_envelope_shape(void **state)
{
	const ProtobufCMessageDescriptor *d = &renkei__v1__envelope__descriptor;
	size_t requests = 0, others = 0;

	(void)state;
	assert_string_equal(d->name, "renkei.v1.Envelope");
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->id == 1) {
			assert_string_equal(f->name, "request_id");
			continue;
		}
		assert_true(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
		assert_int_equal(f->type, PROTOBUF_C_TYPE_MESSAGE);
		if (ends_with(body_message(f)->name, "Request"))
			requests++;
		else
			others++;
	}
	/* A sanity floor, so that a broken walk cannot pass the tests below
	 * by finding nothing. */
	assert_true(requests >= 30);
	assert_true(others >= 20);
}

/* Each request body has a row: its own, with a handler, an audit action
 * (or, for the three that write no record of their own, none) and a rate
 * class with a name. */
static void
test_every_request_has_one_row(void **state)
{
	const ProtobufCMessageDescriptor *d = &renkei__v1__envelope__descriptor;
	/* Requests that are not audited by the first record of their own:
	 * whoami and the public key are answered on the service thread and
	 * touch no data; a chunk is recorded by its upload's finish. */
	static const char *const unaudited[] = {
		"renkei.v1.WhoAmIRequest",
		"renkei.v1.AuditPublicKeyRequest",
		"renkei.v1.UploadChunkRequest",
		"renkei.v1.TotpStatusRequest", /* the caller's own state */
		/* a nonce for this connection: discloses nothing; the resume
		 * that signs it is recorded */
		"renkei.v1.ResumeChallengeRequest",
		/* the server's public VAPID key, answered on the spot */
		"renkei.v1.NoticeVapidKeyRequest",
	};
	const struct api_verb *rows[160] = {0};
	const struct api_verb *lo = NULL, *hi = NULL;
	size_t n = 0;

	(void)state;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const ProtobufCMessageDescriptor *m;
		const struct api_verb *v;
		bool quiet = false;

		if (f->id == 1)
			continue;
		m = body_message(f);
		if (!ends_with(m->name, "Request"))
			continue;
		assert_true(f->id < 160); /* api_stats.by_type */
		v = api_verb_of((Renkei__V1__Envelope__BodyCase)f->id);
		if (v == NULL)
			fail_msg("request %s (Envelope.%s = %u) has no row", m->name,
			         f->name, f->id);
		if ((unsigned)v->body != f->id)
			fail_msg("the row for %s is for body %d", m->name, (int)v->body);
		if (v->handle == NULL)
			fail_msg("%s has no handler", m->name);
		if (api_rate_name(v->rate) == NULL || (unsigned)v->rate >= API_RATE_COUNT ||
		    strcmp(api_rate_name(v->rate), "unknown") == 0)
			fail_msg("%s has no rate class", m->name);
		for (size_t k = 0; k < sizeof(unaudited) / sizeof(unaudited[0]); k++)
			quiet |= strcmp(unaudited[k], m->name) == 0;
		if (quiet) {
			if (v->audit != NULL)
				fail_msg("%s: audit action \"%s\" is new: update this test",
				         m->name, v->audit);
		} else {
			if (v->audit == NULL || v->audit[0] == '\0')
				fail_msg("%s has no audit action", m->name);
			/* Action names are lower-case words joined by dots
			 * (digits allowed after the first: user.reset_2fa). */
			for (const char *p = v->audit; *p; p++)
				if (!((*p >= 'a' && *p <= 'z') || *p == '.' || *p == '_' ||
				      (*p >= '0' && *p <= '9' && p != v->audit)))
					fail_msg("%s: audit action \"%s\"", m->name, v->audit);
		}
		/* No two bodies share a row. */
		for (unsigned k = 0; k < 160; k++)
			if (rows[k] == v)
				fail_msg("%s shares its row with body %u", m->name, k);
		rows[f->id] = v;
		if (lo == NULL || v < lo)
			lo = v;
		if (hi == NULL || v > hi)
			hi = v;
		n++;
	}
	/* The rows found are one run of the table with nothing between them
	 * (no row shadowed by an earlier one of the same body). */
	assert_true(n >= 30);
	assert_int_equal((size_t)(hi - lo) + 1, n);
	/* ... and in the order of the proto (by field number). */
	const struct api_verb *prev = NULL;
	for (unsigned k = 0; k < 160; k++) {
		if (rows[k] == NULL)
			continue;
		assert_true(prev == NULL || rows[k] > prev);
		prev = rows[k];
	}
}

/* Responses, events and Error are not requests: no row, so the server
 * refuses them. So are cases that are not in the Envelope. */
static void
test_non_requests_have_no_row(void **state)
{
	const ProtobufCMessageDescriptor *d = &renkei__v1__envelope__descriptor;
	size_t n = 0;

	(void)state;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->id == 1 || ends_with(body_message(f)->name, "Request"))
			continue;
		if (api_verb_of((Renkei__V1__Envelope__BodyCase)f->id) != NULL)
			fail_msg("%s (Envelope.%s) is not a request but has a row",
			         body_message(f)->name, f->name);
		n++;
	}
	assert_true(n >= 20);
	assert_null(api_verb_of(RENKEI__V1__ENVELOPE__BODY_ERROR));
	assert_null(api_verb_of(RENKEI__V1__ENVELOPE__BODY_EVENT));
	assert_null(api_verb_of(RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE));
	assert_null(api_verb_of(RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS));
	assert_null(api_verb_of(RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_CHUNK));
	assert_null(api_verb_of(RENKEI__V1__ENVELOPE__BODY__NOT_SET));
	/* Field numbers the Envelope does not use. */
	for (unsigned id = 0; id < 200; id++)
		if (protobuf_c_message_descriptor_get_field(d, id) == NULL)
			assert_null(api_verb_of((Renkei__V1__Envelope__BodyCase)id));
}

/* Only login and resume may come before a session. */
static void
test_before_login(void **state)
{
	const ProtobufCMessageDescriptor *d = &renkei__v1__envelope__descriptor;
	size_t allowed = 0;

	(void)state;
	assert_non_null(api_verb_of(RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST));
	assert_non_null(api_verb_of(RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST));
	assert_true(api_verb_of(RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST)->before_login);
	assert_true(api_verb_of(RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST)->before_login);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const struct api_verb *v =
			api_verb_of((Renkei__V1__Envelope__BodyCase)d->fields[i].id);
		if (v == NULL || !v->before_login)
			continue;
		allowed++;
		if (v->body != RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST &&
		    v->body != RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST &&
		    v->body != RENKEI__V1__ENVELOPE__BODY_RESUME_CHALLENGE_REQUEST)
			fail_msg("Envelope.%s is allowed before login", d->fields[i].name);
	}
	assert_int_equal(allowed, 3);
	assert_false(api_verb_of(RENKEI__V1__ENVELOPE__BODY_LIST_SESSIONS_REQUEST)->before_login);
	assert_false(api_verb_of(RENKEI__V1__ENVELOPE__BODY_REVOKE_SESSION_REQUEST)->before_login);
	assert_false(api_verb_of(RENKEI__V1__ENVELOPE__BODY_LOGOUT_REQUEST)->before_login);
	assert_false(api_verb_of(RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST)->before_login);
	assert_false(api_verb_of(RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST)->before_login);
	assert_false(api_verb_of(RENKEI__V1__ENVELOPE__BODY_AUDIT_EXPORT_REQUEST)->before_login);
	assert_false(api_verb_of(RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_REQUEST)->before_login);
}

/* A few rows, by what they say. */
static void
test_some_rows(void **state)
{
	const struct api_verb *v;

	(void)state;
	v = api_verb_of(RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST);
	assert_non_null(v);
	assert_ptr_equal(v->handle, api_login);
	assert_string_equal(v->audit, "login");
	assert_int_equal(v->rate, API_RATE_AUTH);
	v = api_verb_of(RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST);
	assert_non_null(v);
	assert_ptr_equal(v->handle, api_create_post);
	assert_string_equal(v->audit, "post.create");
	assert_int_equal(v->rate, API_RATE_WRITE);
	v = api_verb_of(RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST);
	assert_non_null(v);
	assert_ptr_equal(v->handle, api_sync);
	assert_int_equal(v->rate, API_RATE_READ);
	v = api_verb_of(RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_GET_REQUEST);
	assert_non_null(v);
	assert_ptr_equal(v->handle, api_attachment_get);
	assert_int_equal(v->rate, API_RATE_BULK);
	v = api_verb_of(RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST);
	assert_non_null(v);
	assert_ptr_equal(v->handle, api_whoami);
	assert_int_equal(v->rate, API_RATE_LOCAL);
}

static void
test_rate_names(void **state)
{
	(void)state;
	assert_string_equal(api_rate_name(API_RATE_AUTH), "auth");
	assert_string_equal(api_rate_name(API_RATE_READ), "read");
	assert_string_equal(api_rate_name(API_RATE_WRITE), "write");
	assert_string_equal(api_rate_name(API_RATE_BULK), "bulk");
	assert_string_equal(api_rate_name(API_RATE_LOCAL), "local");
	assert_string_equal(api_rate_name(API_RATE_COUNT), "unknown");
	assert_string_equal(api_rate_name((enum api_rate)-1), "unknown");
	/* Every class has its own name (they label /metrics). */
	for (int i = 0; i < API_RATE_COUNT; i++)
		for (int j = i + 1; j < API_RATE_COUNT; j++)
			assert_string_not_equal(api_rate_name((enum api_rate)i),
			                        api_rate_name((enum api_rate)j));
	/* struct api_stats.by_rate has room for every class. */
	struct api_stats st;
	assert_true(API_RATE_COUNT <= (int)(sizeof(st.by_rate) / sizeof(st.by_rate[0])));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_shape),
		cmocka_unit_test(test_every_request_has_one_row),
		cmocka_unit_test(test_non_requests_have_no_row),
		cmocka_unit_test(test_before_login),
		cmocka_unit_test(test_some_rows),
		cmocka_unit_test(test_rate_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
