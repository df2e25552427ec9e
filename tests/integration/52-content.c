/*
 * 52-content: the record's content is in the signed chain. Someone with a
 * copy of the data folder and the care key alone changes a clinical post
 * (dropping the no-update trigger, editing, putting it back), a liaison
 * sheet row, or a photo's bytes: `audit verify` still passes (the trail
 * itself is untouched), but `renkei-server verify --content` names what
 * was changed. The untouched copy verifies clean.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "media_gen.h"

struct state {
	struct h_server *s;
	uint64_t post_id, photo_id;
	char copy[600];
};

/* A note, a photo on a post, and a sheet change — through the protocol
 * — then the server stops (cleanly) so the folder can be copied. */
static int
setup(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	struct rkc *ns, *dr;
	struct buf photo;
	uint64_t ids[1];

	st->s = h_server_up(NULL);
	if (st->s == NULL)
		return -1;
	ns = h_connect_login(st->s, "ns.kobayashi", NULL);
	dr = h_connect_login(st->s, "dr.tanaka", NULL);
	if (ns == NULL || dr == NULL)
		return -1;
	e = h_post_env(ns, "pt-yamada", "content-1",
	               RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL,
	               "インスリン 4単位 皮下注");
	if (h_env_code(e) != RENKEI__V1__CODE__OK)
		return -1;
	st->post_id = e->post_response->post->id;
	h_env_free(e);

	photo = make_jpeg(64, 48, 3, 0);
	e = h_upload_env(ns, "pt-yamada", "content-photo", "sore.jpg", photo.p,
	                 photo.n);
	free(photo.p);
	if (h_env_code(e) != RENKEI__V1__CODE__OK)
		return -1;
	st->photo_id = e->upload_finish_response->attachment->id;
	h_env_free(e);
	ids[0] = st->photo_id;
	cp.patient = "pt-yamada";
	cp.client_id = "content-2";
	cp.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	cp.text = "仙骨部 発赤 写真あり";
	cp.n_attachment_ids = 1;
	cp.attachment_ids = ids;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &cp;
	e = h_call(ns, &req);
	if (h_env_code(e) != RENKEI__V1__CODE__OK)
		return -1;
	h_env_free(e);
	e = h_sheet_add_env(dr, "pt-yamada", "ph.watanabe", "薬局", 0, "", "");
	if (h_env_code(e) != RENKEI__V1__CODE__OK)
		return -1;
	h_env_free(e);
	rkc_close(ns);
	rkc_close(dr);
	if (!h_exited_cleanly(h_server_stop(st->s, SIGTERM, 15000)))
		return -1;
	snprintf(st->copy, sizeof(st->copy), "%s-copy", st->s->dir);
	*state = st;
	return 0;
}

static int
teardown(void **state)
{
	struct state *st = *state;
	char cmd[1400];
	int rc;

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s-keys", st->copy, st->copy);
	h_sh(cmd, NULL);
	rc = h_server_free(st->s);
	free(st);
	return rc;
}

/* A fresh copy of the data folder, and of its key folder beside it (as
 * the server finds it for the copy: COPY-keys). */
static void
fresh_copy(struct state *st)
{
	char cmd[3000];
	snprintf(cmd, sizeof(cmd),
	         "rm -rf %s %s-keys && cp -a %s %s && cp -a %s %s-keys", st->copy,
	         st->copy, st->s->dir, st->copy, st->s->keys, st->copy);
	assert_int_equal(h_sh(cmd, NULL), 0);
}

/* Run a renkei-server command on the copy: exit status, output in *out. */
static int
on_copy(struct state *st, const char *what, char **out)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "%s %s --data %s", h_server_bin(), what, st->copy);
	return h_sh(cmd, out);
}

/* Change the copy with the care key only. */
static void
tamper(struct state *st, const char *sql)
{
	sqlite3 *db = h_db_open_care(st->copy);
	char *msg = NULL;

	assert_non_null(db);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("tamper: %s: %s", sql, msg);
	sqlite3_close(db);
}

/* audit verify passes (the trail is whole); verify --content fails and
 * names `needle`. */
static void
assert_named(struct state *st, const char *needle)
{
	char *out = NULL;
	int rc = on_copy(st, "audit verify", &out);

	if (rc != 0)
		fail_msg("audit verify should still pass: %s", out);
	free(out);
	rc = on_copy(st, "verify --content", &out);
	if (rc != 1 || strstr(out, needle) == NULL || strstr(out, "FAILED") == NULL)
		fail_msg("verify --content (exit %d) should name \"%s\": %s", rc,
		         needle, out);
	print_message("%s", out);
	free(out);
}

static void
test_untouched_copy_is_clean(void **state)
{
	struct state *st = *state;
	char *out = NULL;
	int rc;

	fresh_copy(st);
	rc = on_copy(st, "verify --content", &out);
	if (rc != 0 || strstr(out, "OK:") == NULL || strstr(out, "; 0 differ") == NULL)
		fail_msg("untouched copy (exit %d): %s", rc, out);
	/* Every kind was checked: the demo ward's and ours. */
	assert_null(strstr(out, " 0 posts"));
	assert_null(strstr(out, " 0 sheet rows"));
	assert_null(strstr(out, " 0 photos"));
	free(out);
}

static void
test_changed_post_is_named(void **state)
{
	struct state *st = *state;
	char sql[600], needle[64];

	fresh_copy(st);
	snprintf(sql, sizeof(sql),
	         "DROP TRIGGER posts_no_update;"
	         "UPDATE posts SET body = 'インスリン 40単位 皮下注' WHERE id = %llu;"
	         "CREATE TRIGGER posts_no_update BEFORE UPDATE ON posts"
	         " BEGIN SELECT RAISE(ABORT, 'posts are append-only'); END;",
	         (unsigned long long)st->post_id);
	tamper(st, sql);
	snprintf(needle, sizeof(needle), "post %llu (patient pt-yamada",
	         (unsigned long long)st->post_id);
	assert_named(st, needle);
}

static void
test_changed_sheet_row_is_named(void **state)
{
	struct state *st = *state;

	fresh_copy(st);
	/* The new pharmacist made primary physician, with a date moved. */
	tamper(st, "UPDATE sheet_members SET is_primary = 1, valid_from_ms = 0"
	           " WHERE user_id = (SELECT id FROM users WHERE login = 'ph.watanabe')"
	           " AND patient_id = (SELECT id FROM patients WHERE code = 'pt-yamada')");
	assert_named(st, "(patient pt-yamada, member ph.watanabe)");
}

static void
test_changed_photo_is_named(void **state)
{
	struct state *st = *state;
	char sql[600], needle[64];

	fresh_copy(st);
	/* Bytes and their stored SHA-256 changed together. */
	snprintf(sql, sizeof(sql),
	         "DROP TRIGGER attachments_fixed;"
	         "UPDATE attachments SET data = zeroblob(length(data)),"
	         " sha256 = zeroblob(32) WHERE id = %llu;",
	         (unsigned long long)st->photo_id);
	tamper(st, sql);
	snprintf(needle, sizeof(needle), "photo %llu (patient pt-yamada)",
	         (unsigned long long)st->photo_id);
	assert_named(st, needle);
}

static void
test_removed_post_is_named(void **state)
{
	struct state *st = *state;
	char sql[600], needle[64];

	fresh_copy(st);
	snprintf(sql, sizeof(sql),
	         "PRAGMA foreign_keys = OFF; DROP TRIGGER posts_no_delete;"
	         "DELETE FROM posts WHERE id = %llu;",
	         (unsigned long long)st->post_id);
	tamper(st, sql);
	snprintf(needle, sizeof(needle), "post:%llu: recorded by audit record",
	         (unsigned long long)st->post_id);
	assert_named(st, needle);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_untouched_copy_is_clean),
	    cmocka_unit_test(test_changed_post_is_named),
	    cmocka_unit_test(test_changed_sheet_row_is_named),
	    cmocka_unit_test(test_changed_photo_is_named),
	    cmocka_unit_test(test_removed_post_is_named),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
