/*
 * The patient part of a ward file. Posts are written through the same
 * care functions as over the network, so that an imported board obeys
 * the same rules (the author must be on the sheet, the visibility must
 * suit their profession).
 */
#include "admin/ward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "care/care.h"
#include "care/oncall.h"
#include "util/text.h"

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
vis_parse(const char *s)
{
	if (s == NULL || strcmp(s, "professional") == 0)
		return VIS_PROFESSIONAL;
	if (strcmp(s, "all") == 0)
		return VIS_ALL;
	if (strcmp(s, "clinical") == 0)
		return VIS_CLINICAL;
	return VIS_NONE;
}

/* What the import made goes into the trail with its content digest
 * (docs/audit-content.md): staged in care.db's outbox inside the
 * import's own transaction, moved into the chain at the server's next
 * start. 0 or -1. */
static int
record(struct store_conn *sc, const char *action, const char *code,
       const char *object, const char *hex)
{
	struct audit_event ev = {
		.action = action, .patient = code, .object = object,
		.content = hex, .device = "renkei-server import",
		.reason = "ward import",
	};

	if (audit_stage(sc, &ev) == RK_OK)
		return 0;
	fprintf(stderr, "%s %s: the audit record could not be written\n",
	        code != NULL ? "patient" : "import", code != NULL ? code : action);
	return -1;
}

struct rows_arg {
	struct store_conn *sc;
	const char *code;
};

static int
record_row(void *arg, const char *login, const char *hex)
{
	struct rows_arg *a = arg;
	return record(a->sc, "sheet.row", a->code, login, hex) == 0 ? RK_OK
	                                                           : RK_ERR_STORE;
}

/* The sheet's rows in force and the hand-off, as imported. */
static int
record_sheet(struct store_conn *sc, const char *code, int64_t pid, bool handoff)
{
	struct rows_arg a = {sc, code};
	char hex[CARE_DIGEST_HEX];

	if (care_sheet_digests(sc, pid, record_row, &a) != RK_OK)
		return -1;
	if (handoff && (care_handoff_digest(sc, pid, hex) != RK_OK ||
	                record(sc, "handoff.import", code, NULL, hex) != 0))
		return -1;
	return 0;
}

static int
import_sheet(struct store_conn *sc, const char *code, int64_t pid,
             json_t *sheet, int64_t now)
{
	size_t i;
	json_t *m;
	struct rk_status st = {0};

	json_array_foreach(sheet, i, m) {
		const char *login = jstr(m, "login"), *role = jstr(m, "team_role");
		const char *from = jstr(m, "from"), *until = jstr(m, "until");
		int64_t from_ms = 0, until_ms = 0;

		if (login == NULL || role == NULL) {
			fprintf(stderr, "patient %s sheet[%zu]: needs login and team_role\n",
			        code, i);
			return -1;
		}
		if (from != NULL && (from_ms = care_date_to_ms(from, false)) == INT64_MIN) {
			fprintf(stderr, "patient %s sheet[%zu]: \"from\" must be YYYY-MM-DD\n",
			        code, i);
			return -1;
		}
		if (until != NULL &&
		    (until_ms = care_date_to_ms(until, true)) == INT64_MIN) {
			fprintf(stderr, "patient %s sheet[%zu]: \"until\" must be YYYY-MM-DD\n",
			        code, i);
			return -1;
		}
		if (care_sheet_add(sc, pid, login, role,
		                   json_is_true(json_object_get(m, "primary")), from_ms,
		                   until_ms, 0, now, &st) != RK_OK) {
			fprintf(stderr, "patient %s sheet[%zu] (%s): %s\n", code, i, login,
			        st.msg);
			return -1;
		}
	}
	return 0;
}

static int
import_posts(struct store_conn *sc, const char *code, json_t *posts, int64_t now)
{
	size_t i, n = json_array_size(posts);
	json_t *p;

	json_array_foreach(posts, i, p) {
		const char *login = jstr(p, "author");
		struct care_post_input in;
		struct care_post out;
		struct auth_user u;
		struct rk_status st = {0};
		char client_id[CARE_CODE_MAX + 1];

		if (login == NULL || auth_user_load(sc, login, 0, &u) != RK_OK) {
			fprintf(stderr, "patient %s posts[%zu]: unknown author\n", code, i);
			return -1;
		}
		memset(&in, 0, sizeof(in));
		snprintf(client_id, sizeof(client_id), "import-%s-%zu", code, i);
		in.client_id = client_id;
		in.kind = care_kind_parse(jstr(p, "kind") ? jstr(p, "kind") : "general");
		in.visibility = vis_parse(jstr(p, "visibility"));
		in.urgent = json_is_true(json_object_get(p, "urgent"));
		in.text = jstr(p, "text") ? jstr(p, "text") : "";
		if (care_post_input_check(&in, &st) != RK_OK) {
			fprintf(stderr, "patient %s posts[%zu]: %s (%s)\n", code, i, st.msg,
			        st.field ? st.field : "");
			return -1;
		}
		/* A ward file is trusted admin input: no access check. Space
		 * the posts out over the last hours, oldest first. */
		if (care_post_import(sc, u.id, code, &in,
		                     now - (int64_t)(n - i) * 3600 * 1000, &out,
		                     &st) != RK_OK) {
			fprintf(stderr, "patient %s posts[%zu] (%s): %s\n", code, i, login,
			        st.msg);
			return -1;
		}
		char hex[CARE_DIGEST_HEX], obj[24];
		snprintf(obj, sizeof(obj), "%lld", (long long)out.id);
		int bad = care_post_digest(&out, hex) != RK_OK ||
		          record(sc, "post.import", code, obj, hex) != 0;
		care_post_fini(&out);
		if (bad)
			return -1;
	}
	return 0;
}

/* "call_order": [["dr.a"], ["ns.b", "pt.c"]] — slots of logins, the first
 * call first (docs/oncall.md); checked as SetCallOrderRequest is. */
static int
import_callorder(struct store_conn *sc, const char *code, json_t *order,
                 int64_t now)
{
	const char *logins[CARE_CALL_SLOTS_MAX * CARE_CALL_SLOT_PEOPLE_MAX];
	size_t per[CARE_CALL_SLOTS_MAX], nslots = 0, k = 0, i, j;
	struct rk_status st = {0};
	struct care_call *out;
	json_t *slot, *l;
	size_t n;
	int64_t pid;

	if (order == NULL)
		return 0;
	if (!json_is_array(order) || json_array_size(order) > CARE_CALL_SLOTS_MAX) {
		fprintf(stderr, "patient %s call_order: at most 8 slots, each an array "
		                "of logins\n", code);
		return -1;
	}
	json_array_foreach(order, i, slot) {
		if (!json_is_array(slot) || json_array_size(slot) == 0 ||
		    json_array_size(slot) > CARE_CALL_SLOT_PEOPLE_MAX) {
			fprintf(stderr, "patient %s call_order[%zu]: 1 to 8 logins\n", code, i);
			return -1;
		}
		per[nslots++] = json_array_size(slot);
		json_array_foreach(slot, j, l) {
			if (!json_is_string(l)) {
				fprintf(stderr, "patient %s call_order[%zu]: logins are strings\n",
				        code, i);
				return -1;
			}
			logins[k++] = json_string_value(l);
		}
	}
	if (care_callorder_set(sc, NULL, code, per, nslots, logins, now, &out, &n, &pid,
	                       &st) != RK_OK) {
		fprintf(stderr, "patient %s call_order: %s\n", code, st.msg);
		return -1;
	}
	free(out);
	return record(sc, "callorder.set", code, NULL, NULL);
}

int
ward_import_oncall(struct store_conn *sc, json_t *entries)
{
	int64_t now = rk_now_ms();
	size_t i;
	json_t *e;

	if (entries == NULL)
		return 0;
	if (!json_is_array(entries)) {
		fprintf(stderr, "oncall: an array of entries\n");
		return -1;
	}
	json_array_foreach(entries, i, e) {
		const char *org = jstr(e, "org"), *login = jstr(e, "login");
		json_t *h = json_object_get(e, "hours"), *f = json_object_get(e, "from_hours");
		struct care_rota_entry out;
		struct rk_status st = {0};
		json_int_t hours = json_is_integer(h) ? json_integer_value(h) : 0;
		json_int_t from = json_is_integer(f) ? json_integer_value(f) : 0;
		char obj[24];

		if (org == NULL || login == NULL || hours < 1 || hours > 168 ||
		    (f != NULL && !json_is_integer(f)) || from < 0 || from > 168) {
			fprintf(stderr, "oncall[%zu]: needs \"org\", \"login\" and \"hours\" "
			                "(1..168), and \"from_hours\" 0..168 if given\n", i);
			return -1;
		}
		if (care_rota_set(sc, NULL, org, login, now + from * 3600000,
		                  now + (from + hours) * 3600000, 0, now, &out,
		                  &st) != RK_OK) {
			fprintf(stderr, "oncall[%zu] (%s): %s\n", i, login, st.msg);
			return -1;
		}
		snprintf(obj, sizeof(obj), "%lld", (long long)out.id);
		if (record(sc, "oncall.rota.set", NULL, obj, NULL) != 0)
			return -1;
	}
	return (int)i;
}

/* A hand-off in progress, if the file gives its "state"; without one the
 * hand-off data is left for the team to enter (as the demo does). */
static int
import_handoff(struct store_conn *sc, const char *code, int64_t pid, json_t *h,
               int64_t now)
{
	static const char *const states[] = {"", "open", "proposed", "conference"};
	const char *state = jstr(h, "state");
	struct rk_status st = {0};
	int s = 0;

	if (h == NULL || state == NULL)
		return 0;
	for (int i = 1; i < 4; i++)
		if (strcmp(state, states[i]) == 0)
			s = i;
	if (care_handoff_import(sc, pid, s, jstr(h, "opened_by"),
	                        jstr(h, "discharge_date"), jstr(h, "conference"), now,
	                        &st) != RK_OK) {
		fprintf(stderr, "patient %s handoff: %s\n", code, st.msg);
		return -1;
	}
	return 0;
}

int
ward_import_patients(struct store_conn *sc, json_t *patients)
{
	int64_t now = rk_now_ms();
	size_t i;
	json_t *p;

	json_array_foreach(patients, i, p) {
		struct care_patient_input in = {
			.code = jstr(p, "id"),
			.name = jstr(p, "name"),
			.kana = jstr(p, "kana"),
			.birth_date = jstr(p, "birth"),
			.sex = jstr(p, "sex"),
			.area = jstr(p, "area"),
			.summary = jstr(p, "summary"),
			.wishes = jstr(p, "wishes"),
		};
		struct rk_status st = {0};
		int64_t pid;

		if (in.code == NULL || in.name == NULL) {
			fprintf(stderr, "patients[%zu]: needs \"id\" and \"name\"\n", i);
			return -1;
		}
		if (care_patient_add(sc, &in, now, &pid, &st) != RK_OK) {
			fprintf(stderr, "patients[%zu] (%s): %s\n", i, in.code, st.msg);
			return -1;
		}
		json_t *h = json_object_get(p, "handoff");
		if (import_sheet(sc, in.code, pid, json_object_get(p, "sheet"), now) != 0 ||
		    import_handoff(sc, in.code, pid, h, now) != 0 ||
		    record_sheet(sc, in.code, pid, h != NULL && jstr(h, "state") != NULL) != 0 ||
		    import_callorder(sc, in.code, json_object_get(p, "call_order"), now) != 0 ||
		    import_posts(sc, in.code, json_object_get(p, "posts"), now) != 0)
			return -1;
	}
	return (int)i;
}
