/*
 * How a post looks, for `board`, `watch` and the write commands: a block
 * of text for people and a JSON object for programs.
 *
 * People see posts by their board number (#seq) and programs by their
 * server id; amend, retract and ack take the id, so the text form shows
 * both. Links between posts (amends, amended by, retracts, retracted by)
 * carry ids only; when the linked post is on the same page it is named
 * by its #seq too, and a retraction's reason (the text of the retracting
 * entry) is shown next to the post it retracts. Photos are listed after
 * the text with their ids, for `renkei attachment get`.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "rkc_vitals.h"

#define INDENT "    "

static const char *const kind_texts[] = {
	[RENKEI__V1__POST_KIND__VISIT_NOTE] = "visit_note",
	[RENKEI__V1__POST_KIND__VITALS] = "vitals",
	[RENKEI__V1__POST_KIND__MEDICATION] = "medication",
	[RENKEI__V1__POST_KIND__CARE] = "care",
	[RENKEI__V1__POST_KIND__HANDOFF] = "handoff",
	[RENKEI__V1__POST_KIND__GENERAL] = "general",
};
/* Kinds the server writes by itself may be shown but not asked for. */
#define N_KIND_TEXTS (sizeof kind_texts / sizeof kind_texts[0])

static const char *const visibility_texts[] = {
	[RENKEI__V1__VISIBILITY__VISIBILITY_ALL] = "all",
	[RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL] = "professional",
	[RENKEI__V1__VISIBILITY__VISIBILITY_CLINICAL] = "clinical",
};
#define N_VISIBILITY_TEXTS (sizeof visibility_texts / sizeof visibility_texts[0])

const char *
cli_kind_name(Renkei__V1__PostKind k)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&renkei__v1__post_kind__descriptor, (int)k);

	return v != NULL ? v->name : "POST_KIND_UNKNOWN";
}

const char *
cli_kind_text(Renkei__V1__PostKind k)
{
	unsigned int i = (unsigned int)k;

	if (i < N_KIND_TEXTS && kind_texts[i] != NULL)
		return kind_texts[i];
	/* a kind newer than this table: the proto name says enough */
	return cli_kind_name(k);
}

const char *
cli_visibility_name(Renkei__V1__Visibility v)
{
	const ProtobufCEnumValue *e =
		protobuf_c_enum_descriptor_get_value(&renkei__v1__visibility__descriptor, (int)v);

	return e != NULL ? e->name : "VISIBILITY_UNKNOWN";
}

const char *
cli_visibility_text(Renkei__V1__Visibility v)
{
	unsigned int i = (unsigned int)v;

	if (i < N_VISIBILITY_TEXTS && visibility_texts[i] != NULL)
		return visibility_texts[i];
	return cli_visibility_name(v);
}

int
cli_kind_parse(const char *s, Renkei__V1__PostKind *k)
{
	size_t i;

	for (i = 0; i < N_KIND_TEXTS; i++)
		if (kind_texts[i] != NULL && strcasecmp(s, kind_texts[i]) == 0) {
			*k = (Renkei__V1__PostKind)i;
			return 0;
		}
	return -1;
}

int
cli_visibility_parse(const char *s, Renkei__V1__Visibility *v)
{
	size_t i;

	for (i = 0; i < N_VISIBILITY_TEXTS; i++)
		if (visibility_texts[i] != NULL && strcasecmp(s, visibility_texts[i]) == 0) {
			*v = (Renkei__V1__Visibility)i;
			return 0;
		}
	return -1;
}

/* ---- text */

static const Renkei__V1__Post *
find(const struct cli_post_ctx *ctx, uint64_t id)
{
	size_t i;

	if (ctx == NULL || id == 0)
		return NULL;
	for (i = 0; i < ctx->n; i++)
		if (ctx->posts[i] != NULL && ctx->posts[i]->id == id)
			return ctx->posts[i];
	return NULL;
}

/* "#13 (id 47)" when the post is on the page, else "id 47". */
static void
print_ref(const struct cli_post_ctx *ctx, uint64_t id)
{
	const Renkei__V1__Post *q = find(ctx, id);

	if (q != NULL)
		printf("#%llu (id %llu)", (unsigned long long)q->seq, (unsigned long long)id);
	else
		printf("id %llu", (unsigned long long)id);
}

static void
print_author(const Renkei__V1__User *u)
{
	if (u == NULL) {
		fputs("(unknown author)", stdout);
		return;
	}
	cli_print_scrubbed(stdout, u->display_name != NULL && *u->display_name != '\0'
	                                   ? u->display_name
	                                   : u->login);
	printf(" (%s)", cli_profession_text(u->profession));
}

void
cli_post_print(const Renkei__V1__Post *p, const struct cli_post_ctx *ctx)
{
	const Renkei__V1__Post *q;
	char when[64], vitals[160];

	if (ctx != NULL && ctx->show_patient) {
		cli_print_scrubbed(stdout, p->patient);
		fputc(' ', stdout);
	}
	cli_time_short(p->created_at_ms, when, sizeof when);
	printf("#%llu  id %llu  %s  ", (unsigned long long)p->seq, (unsigned long long)p->id,
	       when);
	print_author(p->author);
	printf("  %s  [%s]", cli_kind_text(p->kind), cli_visibility_text(p->visibility));
	if (p->urgent)
		fputs(" [URGENT]", stdout);
	if (p->retracted_by_post_id != 0)
		fputs(" [RETRACTED]", stdout);
	else if (p->amended_by_post_id != 0)
		fputs(" [amended]", stdout);
	fputc('\n', stdout);

	if (p->retracted_by_post_id != 0) {
		fputs(INDENT "✗ RETRACTED by ", stdout);
		print_ref(ctx, p->retracted_by_post_id);
		q = find(ctx, p->retracted_by_post_id);
		if (q != NULL && q->text != NULL) {
			fputs(": ", stdout);
			cli_print_scrubbed(stdout, q->text);
		}
		fputc('\n', stdout);
	}
	if (p->amended_by_post_id != 0) {
		fputs(INDENT "→ amended by ", stdout);
		print_ref(ctx, p->amended_by_post_id);
		fputs(" (this version is out of date)\n", stdout);
	}
	if (p->amends_post_id != 0) {
		fputs(INDENT "↳ corrects ", stdout);
		print_ref(ctx, p->amends_post_id);
		fputc('\n', stdout);
	}
	if (p->retracts_post_id != 0) {
		fputs(INDENT "↳ retracts ", stdout);
		print_ref(ctx, p->retracts_post_id);
		fputs("; the reason:\n", stdout);
	}
	if (p->n_to > 0) {
		fputs(INDENT, stdout);
		fputs(p->request ? "→ request for " : "→ to ", stdout);
		for (size_t i = 0; i < p->n_to; i++) {
			if (i > 0)
				fputs(", ", stdout);
			cli_print_scrubbed(stdout, p->to[i] != NULL ? p->to[i]->login : "?");
			if (p->request && p->owner != NULL && p->to[i] != NULL &&
			    strcmp(p->owner->login, p->to[i]->login) == 0 && p->n_to > 1)
				fputs(" (owner)", stdout);
		}
		if (p->request && p->due_at_ms != 0) {
			cli_time_short(p->due_at_ms, when, sizeof when);
			printf("  due %s", when);
		}
		if (p->request)
			fputs(p->done_at_ms != 0 ? "  [DONE]" : p->overdue ? "  [OVERDUE]" : "  [open]",
			      stdout);
		fputc('\n', stdout);
	}
	if (rkc_vitals_format(p->vitals, vitals, sizeof vitals) > 0)
		printf(INDENT "%s\n", vitals);
	cli_print_block(stdout, p->text != NULL ? p->text : "", INDENT);
	cli_attachments_print(p, INDENT);
}

void
cli_size_text(uint64_t n, char *buf, size_t len)
{
	if (n < 1024)
		snprintf(buf, len, "%llu bytes", (unsigned long long)n);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024.0));
}

/* The photos after the text, one a line, with what `attachment get`
 * needs (the id) and what tells them apart (type, pixels, size, name). */
void
cli_attachments_print(const Renkei__V1__Post *p, const char *indent)
{
	const Renkei__V1__Attachment *a;
	char size[32];
	size_t i;

	for (i = 0; i < p->n_attachments; i++) {
		a = p->attachments[i];
		if (a == NULL)
			continue;
		cli_size_text(a->size, size, sizeof size);
		printf("%sphoto id %llu  ", indent, (unsigned long long)a->id);
		cli_print_scrubbed(stdout, a->mime);
		printf("  %u×%u  %s", a->width, a->height, size);
		if (a->file_name != NULL && *a->file_name != '\0') {
			fputs("  ", stdout);
			cli_print_scrubbed(stdout, a->file_name);
		}
		fputc('\n', stdout);
	}
}

/* ---- JSON */

static json_t *
id_or_null(uint64_t id)
{
	return id != 0 ? json_integer((json_int_t)id) : json_null();
}

static json_t *
reading(uint32_t v)
{
	return v != 0 ? json_integer(v) : json_null();
}

json_t *
cli_json_vitals(const Renkei__V1__Vitals *v)
{
	json_t *o;

	if (v == NULL)
		return json_null();
	o = json_object();
	json_object_set_new(o, "temperature_dc", reading(v->temperature_dc));
	json_object_set_new(o, "bp_systolic", reading(v->bp_systolic));
	json_object_set_new(o, "bp_diastolic", reading(v->bp_diastolic));
	json_object_set_new(o, "pulse", reading(v->pulse));
	json_object_set_new(o, "spo2", reading(v->spo2));
	json_object_set_new(o, "respiration", reading(v->respiration));
	return o;
}

json_t *
cli_json_attachment(const Renkei__V1__Attachment *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer((json_int_t)a->id));
	json_object_set_new(o, "mime", cli_json_str(a->mime));
	json_object_set_new(o, "size", json_integer((json_int_t)a->size));
	json_object_set_new(o, "sha256", cli_json_str(a->sha256));
	json_object_set_new(o, "width", json_integer(a->width));
	json_object_set_new(o, "height", json_integer(a->height));
	json_object_set_new(o, "file_name", cli_json_str(a->file_name));
	json_object_set_new(o, "thumbnail_size", json_integer((json_int_t)a->thumbnail_size));
	return o;
}

json_t *
cli_json_post(const Renkei__V1__Post *p)
{
	json_t *o = json_object(), *atts = json_array();
	char when[64];
	size_t i;

	cli_time_utc(p->created_at_ms, when, sizeof when);
	json_object_set_new(o, "id", json_integer((json_int_t)p->id));
	json_object_set_new(o, "patient", cli_json_str(p->patient));
	json_object_set_new(o, "seq", json_integer((json_int_t)p->seq));
	json_object_set_new(o, "author", cli_json_user(p->author));
	json_object_set_new(o, "kind", json_string(cli_kind_name(p->kind)));
	json_object_set_new(o, "visibility", json_string(cli_visibility_name(p->visibility)));
	json_object_set_new(o, "urgent", json_boolean(p->urgent));
	json_object_set_new(o, "text", cli_json_str(p->text));
	json_object_set_new(o, "vitals", cli_json_vitals(p->vitals));
	json_object_set_new(o, "client_id", cli_json_str(p->client_id));
	json_object_set_new(o, "created_at", json_string(when));
	json_object_set_new(o, "created_at_ms", json_integer(p->created_at_ms));
	json_object_set_new(o, "amends_post_id", id_or_null(p->amends_post_id));
	json_object_set_new(o, "amended_by_post_id", id_or_null(p->amended_by_post_id));
	json_object_set_new(o, "retracts_post_id", id_or_null(p->retracts_post_id));
	json_object_set_new(o, "retracted_by_post_id", id_or_null(p->retracted_by_post_id));
	for (i = 0; i < p->n_attachments; i++)
		if (p->attachments[i] != NULL)
			json_array_append_new(atts, cli_json_attachment(p->attachments[i]));
	json_object_set_new(o, "attachments", atts);
	if (p->n_to > 0) {
		json_t *to = json_array();
		for (i = 0; i < p->n_to; i++)
			json_array_append_new(to, cli_json_user(p->to[i]));
		json_object_set_new(o, "to", to);
		json_object_set_new(o, "request", json_boolean(p->request));
		if (p->request) {
			json_object_set_new(o, "owner", cli_json_user(p->owner));
			json_object_set_new(o, "due_at_ms", p->due_at_ms
			                                        ? json_integer(p->due_at_ms)
			                                        : json_null());
			json_object_set_new(o, "done_at_ms", p->done_at_ms
			                                         ? json_integer(p->done_at_ms)
			                                         : json_null());
			json_object_set_new(o, "overdue", json_boolean(p->overdue));
		}
	}
	return o;
}
