/*
 * 13-exact-strings: what is stored is byte for byte what was sent, or
 * nothing is. A string with an embedded NUL (which protobuf-c would cut
 * at the NUL), one longer than its stated maximum (which a fixed buffer
 * would cut), or one that is not UTF-8 is refused with INVALID_ARGUMENT
 * naming the field, and nothing changes. At the maximum, with multi-byte
 * characters up to the last byte, the post comes back exactly as sent.
 * A request numbered 0 (the number of events) is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TEXT_MAX 16384

struct state {
	struct h_server *s;
	struct rkc *ns; /* ns.kobayashi, on pt-yamada's sheet */
};

static int
setup(void **state)
{
	struct state *st = calloc(1, sizeof(*st));

	if (st == NULL || (st->s = h_server_up(NULL)) == NULL)
		goto fail;
	if ((st->ns = h_connect_login(st->s, "ns.kobayashi", NULL)) == NULL)
		goto fail;
	*state = st;
	return 0;
fail:
	if (st != NULL)
		h_server_free(st->s);
	free(st);
	return -1;
}

static int
teardown(void **state)
{
	struct state *st = *state;
	int rc;

	rkc_close(st->ns);
	rc = h_server_free(st->s);
	free(st);
	return rc;
}

/* Pack env with request id `rid`, turn the first '@' of the encoding into
 * a NUL byte (protobuf-c packs strings with strlen, so a NUL cannot be
 * written otherwise), send it and return the answer. */
static Renkei__V1__Envelope *
send_with_nul(struct rkc *c, Renkei__V1__Envelope *env, uint64_t rid)
{
	size_t n;
	uint8_t *buf, *at;
	Renkei__V1__Envelope *r = NULL;

	env->request_id = rid;
	n = renkei__v1__envelope__get_packed_size(env);
	buf = malloc(n);
	assert_non_null(buf);
	renkei__v1__envelope__pack(env, buf);
	if (rid != 0) {
		at = memchr(buf, '@', n);
		assert_non_null(at);
		*at = 0;
	}
	if (rkc_send_frame(c, RKC_OP_BINARY, buf, n, 1) != 0)
		fail_msg("send: %s", rkc_last_error(c));
	free(buf);
	if (rkc_recv(c, H_TIMEOUT_MS, &r) != 0)
		fail_msg("no answer: %s", rkc_last_error(c));
	assert_int_equal(r->request_id, rid);
	return r;
}

static void
assert_refused(Renkei__V1__Envelope *r, const char *field)
{
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, field);
	h_env_free(r);
}

/* The number of posts on pt-yamada's board whose text is `text`. */
static int
posts_with_text(struct rkc *c, const char *text, size_t len)
{
	Renkei__V1__Envelope *r = h_timeline_env(c, "pt-yamada");
	int n = 0;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	for (size_t i = 0; i < r->timeline_response->n_posts; i++) {
		const char *t = r->timeline_response->posts[i]->text;
		if (strlen(t) == len && memcmp(t, text, len) == 0)
			n++;
	}
	h_env_free(r);
	return n;
}

static void
test_nul_is_refused_not_cut(void **state)
{
	struct state *st = *state;
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	Renkei__V1__AmendPostRequest am = RENKEI__V1__AMEND_POST_REQUEST__INIT;
	Renkei__V1__RetractPostRequest rt = RENKEI__V1__RETRACT_POST_REQUEST__INIT;
	Renkei__V1__Envelope *r;
	uint64_t post_id;

	/* A post's text: "dose 5mg" + NUL + " NOT 50mg" must never be
	 * stored as "dose 5mg". */
	cp.patient = "pt-yamada";
	cp.client_id = "exact-nul-1";
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_ALL;
	cp.text = "dose 5mg@ NOT 50mg";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &cp;
	assert_refused(send_with_nul(st->ns, &env, 901), "text");
	assert_int_equal(posts_with_text(st->ns, "dose 5mg", 8), 0);

	/* A NUL in the client id must not make a "duplicate" of another. */
	cp.text = "a note";
	cp.client_id = "exact@nul";
	assert_refused(send_with_nul(st->ns, &env, 902), "client_id");

	/* Amendments and retraction reasons alike. */
	r = h_post_env(st->ns, "pt-yamada", "exact-base-1",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "the original");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	post_id = r->post_response->post->id;
	h_env_free(r);
	am.post_id = post_id;
	am.client_id = "exact-amend-1";
	am.text = "dose 5mg@ NOT 50mg";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_AMEND_POST_REQUEST;
	env.amend_post_request = &am;
	assert_refused(send_with_nul(st->ns, &env, 903), "text");
	rt.post_id = post_id;
	rt.client_id = "exact-retract-1";
	rt.reason = "wrong patient@ (not really)";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_RETRACT_POST_REQUEST;
	env.retract_post_request = &rt;
	assert_refused(send_with_nul(st->ns, &env, 904), "reason");
	/* Nor is a reason of spaces only a reason. */
	rt.reason = " \u3000 \t ";
	r = h_call(st->ns, &env);
	assert_refused(r, "reason");
	/* The original stands, unamended and unretracted. */
	assert_int_equal(posts_with_text(st->ns, "the original", 12), 1);
}

static void
test_nested_and_repeated_fields_are_named(void **state)
{
	struct state *st = *state;
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__SyncRequest sr = RENKEI__V1__SYNC_REQUEST__INIT;
	Renkei__V1__BoardCursor bc = RENKEI__V1__BOARD_CURSOR__INIT;
	Renkei__V1__BoardCursor *bcp = &bc;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	struct rkc *a = h_connect(st->s);

	bc.patient = "pt-yamada@";
	sr.n_boards = 1;
	sr.boards = &bcp;
	sr.live_only = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_SYNC_REQUEST;
	env.sync_request = &sr;
	assert_refused(send_with_nul(st->ns, &env, 911), "boards.patient");

	/* A login with a NUL is not the login before it. */
	assert_non_null(a);
	lr.login = "dr.tanaka@x";
	lr.password = H_DEMO_PASSWORD;
	lr.device = "t";
	memset(&env, 0, sizeof(env));
	renkei__v1__envelope__init(&env);
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	assert_refused(send_with_nul(a, &env, 912), "login");
	rkc_close(a);
}

static void
test_over_long_is_refused_not_cut(void **state)
{
	struct state *st = *state;
	char id65[66], id64[65];
	Renkei__V1__Envelope *r;
	uint64_t first;

	/* 64 characters: the maximum. */
	memset(id64, 'k', 64);
	id64[64] = '\0';
	r = h_post_env(st->ns, "pt-yamada", id64, RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	               "first of two ids");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	first = r->post_response->post->id;
	assert_string_equal(r->post_response->post->client_id, id64);
	h_env_free(r);
	/* 65 characters sharing the first 64: refused, never "duplicate of
	 * the first". */
	memcpy(id65, id64, 64);
	id65[64] = 'X';
	id65[65] = '\0';
	r = h_post_env(st->ns, "pt-yamada", id65, RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	               "second of two ids");
	assert_refused(r, "client_id");
	assert_int_equal(posts_with_text(st->ns, "second of two ids", 17), 0);
	assert_true(first > 0);
}

static void
test_text_at_the_maximum_is_exact(void **state)
{
	struct state *st = *state;
	/* 5,461 × "あ" (3 bytes) + "a" = 16,384 bytes: the last character
	 * ends on the last allowed byte. */
	char *text = malloc(TEXT_MAX + 2);
	Renkei__V1__Envelope *r;
	size_t n = 0;

	assert_non_null(text);
	while (n + 3 <= TEXT_MAX - 1) {
		memcpy(text + n, "\xe3\x81\x82", 3);
		n += 3;
	}
	text[n++] = 'a';
	assert_int_equal(n, TEXT_MAX);
	text[n] = '\0';
	r = h_post_env(st->ns, "pt-yamada", "exact-max-1",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, text);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_int_equal(strlen(r->post_response->post->text), TEXT_MAX);
	assert_memory_equal(r->post_response->post->text, text, TEXT_MAX);
	h_env_free(r);
	/* Read back from the store, not only from the answer. */
	assert_int_equal(posts_with_text(st->ns, text, TEXT_MAX), 1);

	/* One more byte is refused. */
	text[n++] = 'b';
	text[n] = '\0';
	r = h_post_env(st->ns, "pt-yamada", "exact-max-2",
	               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, text);
	assert_refused(r, "text");
	free(text);
}

static void
test_request_id_zero_is_refused(void **state)
{
	struct state *st = *state;
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;

	cp.patient = "pt-yamada";
	cp.client_id = "exact-rid-0";
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_ALL;
	cp.text = "numbered zero";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	env.create_post_request = &cp;
	assert_refused(send_with_nul(st->ns, &env, 0), "request_id");
	assert_int_equal(posts_with_text(st->ns, "numbered zero", 13), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nul_is_refused_not_cut),
		cmocka_unit_test(test_nested_and_repeated_fields_are_named),
		cmocka_unit_test(test_over_long_is_refused_not_cut),
		cmocka_unit_test(test_text_at_the_maximum_is_exact),
		cmocka_unit_test(test_request_id_zero_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
