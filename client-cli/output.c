/*
 * How the renkei CLI speaks: failures (text on stderr, or JSON on stdout
 * with --json) and their exit statuses, JSON documents, times,
 * professions, help and tables. Every printer here that takes server
 * text scrubs it first (scrub.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "rkc_text.h"

/* The code name in a JSON error for a local failure, from its class:
 * one vocabulary (the gRPC names) for server and client errors alike. */
static const char *
local_code_name(int exit_code)
{
	switch (exit_code) {
	case CLI_EXIT_USAGE:
		return "INVALID_ARGUMENT";
	case CLI_EXIT_AUTH:
		return "UNAUTHENTICATED";
	case CLI_EXIT_DENIED:
		return "PERMISSION_DENIED";
	case CLI_EXIT_SERVER:
		return "INTERNAL";
	case CLI_EXIT_CONNECT:
		return "UNAVAILABLE";
	default:
		return "FAILED_PRECONDITION";
	}
}

int
cli_exit_for_code(Renkei__V1__Code code)
{
	switch (code) {
	case RENKEI__V1__CODE__OK:
		return CLI_EXIT_OK;
	case RENKEI__V1__CODE__UNAUTHENTICATED:
		return CLI_EXIT_AUTH;
	case RENKEI__V1__CODE__PERMISSION_DENIED:
	case RENKEI__V1__CODE__NOT_FOUND:
		return CLI_EXIT_DENIED;
	default:
		return CLI_EXIT_SERVER;
	}
}

static void
json_error(struct cli *cli, const char *code, const char *message, const char *field)
{
	json_t *err = json_object();

	json_object_set_new(err, "code", json_string(code));
	json_object_set_new(err, "message", cli_json_str(message));
	if (field != NULL && *field != '\0')
		json_object_set_new(err, "field", cli_json_str(field));
	cli_json_print(cli, json_pack("{s:o}", "error", err));
}

int
cli_fail(struct cli *cli, int exit_code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cli_progress_break(cli);
	if (cli->json)
		json_error(cli, local_code_name(exit_code), msg, NULL);
	else
		fprintf(stderr, "%s: %s\n", cli->prog, msg);
	return exit_code;
}

int
cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (cli->json) {
		json_error(cli, "INVALID_ARGUMENT", msg, NULL);
	} else {
		fprintf(stderr, "%s: %s\n", cli->prog, msg);
		if (cli->cmd != NULL && cli->cmd_usage != NULL)
			fprintf(stderr, "usage: %s %s%s%s\n", cli->prog, cli->cmd,
			        *cli->cmd_usage ? " " : "", cli->cmd_usage);
		else
			fprintf(stderr, "Try '%s help'.\n", cli->prog);
	}
	return CLI_EXIT_USAGE;
}

int
cli_unknown_option(struct cli *cli, const char *arg)
{
	static const char *globals[] = { "--json", "--server", "--ca" };
	size_t i, n;

	for (i = 0; i < sizeof globals / sizeof globals[0]; i++) {
		n = strlen(globals[i]);
		if (strncmp(arg, globals[i], n) == 0 && (arg[n] == '\0' || arg[n] == '='))
			return cli_usage_error(cli, "%s goes before the command: %s %s %s ...",
			                       globals[i], cli->prog, globals[i],
			                       cli->cmd != NULL ? cli->cmd : "COMMAND");
	}
	return cli_usage_error(cli, "unknown option '%s'", arg);
}

int
cli_server_error(struct cli *cli, const Renkei__V1__Error *e)
{
	const char *name = rkc_code_name(e->code);
	const char *msg = e->message != NULL && *e->message ? e->message
	                                                     : rkc_code_text(e->code);
	int rc = cli_exit_for_code(e->code);
	char *m, *f = NULL;

	cli_progress_break(cli);
	if (cli->json) {
		json_error(cli, name, msg, e->field);
		return rc;
	}
	m = strdup(msg);
	if (e->field != NULL && *e->field != '\0')
		f = strdup(e->field);
	if (m == NULL || (e->field != NULL && *e->field != '\0' && f == NULL))
		abort();
	cli_scrub(m);
	cli_scrub(f);
	if (f != NULL)
		fprintf(stderr, "%s: %s (%s, field '%s')\n", cli->prog, m, name, f);
	else
		fprintf(stderr, "%s: %s (%s)\n", cli->prog, m, name);
	/* A wrong current password (renkei password) is not a lost session. */
	if (e->code == RENKEI__V1__CODE__UNAUTHENTICATED &&
	    (cli->cmd == NULL || strcmp(cli->cmd, "login") != 0) &&
	    (f == NULL || (strcmp(f, "totp_code") != 0 && strcmp(f, "code") != 0 &&
	                   strcmp(f, "old_password") != 0)))
		fprintf(stderr, "%s: log in again with '%s login LOGIN'\n", cli->prog, cli->prog);
	/* A session signed in with the password alone that must enrol. */
	if (e->code == RENKEI__V1__CODE__FAILED_PRECONDITION && f != NULL &&
	    strcmp(f, "totp") == 0)
		fprintf(stderr, "%s: set up your second factor with '%s 2fa enroll'\n",
		        cli->prog, cli->prog);
	if (e->code == RENKEI__V1__CODE__FAILED_PRECONDITION && f != NULL &&
	    strcmp(f, "password") == 0)
		fprintf(stderr, "%s: choose your own password first with '%s password'\n",
		        cli->prog, cli->prog);
	free(m);
	free(f);
	return rc;
}

void
cli_json_print(struct cli *cli, json_t *doc)
{
	if (doc == NULL)
		abort(); /* jansson only fails this way when out of memory */
	/* no JSON_ENSURE_ASCII: Japanese text stays readable UTF-8 */
	if (json_dumpf(doc, stdout, cli->ndjson ? JSON_COMPACT : JSON_INDENT(2)) != 0)
		fprintf(stderr, "renkei: cannot write JSON output\n");
	fputc('\n', stdout);
	json_decref(doc);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0; /* overlong, or a surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0; /* overlong, or beyond U+10FFFF */
		return 4;
	}
	return 0;
}

json_t *
cli_json_str(const char *s)
{
	const unsigned char *p;
	json_t *j;
	char *fixed;
	size_t n, o = 0;

	if (s == NULL)
		s = "";
	j = json_string(s);
	if (j != NULL)
		return j;
	/* invalid UTF-8: each bad byte becomes U+FFFD (3 bytes) */
	fixed = malloc(strlen(s) * 3 + 1);
	if (fixed == NULL)
		abort();
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = utf8_seq(p);
		if (n == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(fixed + o, p, n);
			o += n;
		}
	}
	fixed[o] = '\0';
	j = json_string(fixed);
	free(fixed);
	if (j == NULL)
		abort();
	return j;
}

static const struct {
	const char *name;
	const char *text;
} professions[] = {
	[RENKEI__V1__PROFESSION__PROFESSION_UNSPECIFIED] = { "PROFESSION_UNSPECIFIED", "unspecified" },
	[RENKEI__V1__PROFESSION__PHYSICIAN] = { "PHYSICIAN", "physician" },
	[RENKEI__V1__PROFESSION__DENTIST] = { "DENTIST", "dentist" },
	[RENKEI__V1__PROFESSION__NURSE] = { "NURSE", "nurse" },
	[RENKEI__V1__PROFESSION__PHARMACIST] = { "PHARMACIST", "pharmacist" },
	[RENKEI__V1__PROFESSION__REHAB] = { "REHAB", "rehab therapist" },
	[RENKEI__V1__PROFESSION__MSW] = { "MSW", "hospital discharge team" },
	[RENKEI__V1__PROFESSION__CARE_MANAGER] = { "CARE_MANAGER", "care manager" },
	[RENKEI__V1__PROFESSION__COMMUNITY_CENTER] = { "COMMUNITY_CENTER", "community support centre" },
	[RENKEI__V1__PROFESSION__CARE_WORKER] = { "CARE_WORKER", "care worker" },
	[RENKEI__V1__PROFESSION__FAMILY] = { "FAMILY", "family" },
	[RENKEI__V1__PROFESSION__AUDITOR] = { "AUDITOR", "auditor" },
	[RENKEI__V1__PROFESSION__ADMIN] = { "ADMIN", "administrator" },
};

const char *
cli_profession_text(Renkei__V1__Profession p)
{
	unsigned int i = (unsigned int)p;

	if (i >= sizeof professions / sizeof professions[0] || professions[i].text == NULL)
		return "unknown profession";
	return professions[i].text;
}

const char *
cli_profession_name(Renkei__V1__Profession p)
{
	unsigned int i = (unsigned int)p;

	if (i >= sizeof professions / sizeof professions[0] || professions[i].name == NULL)
		return "PROFESSION_UNKNOWN";
	return professions[i].name;
}

void
cli_time_local(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(buf, len, "%lld ms after the epoch", (long long)ms);
}

void
cli_time_utc(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)ms);
}

json_t *
cli_json_user(const Renkei__V1__User *u)
{
	json_t *o, *org;

	if (u == NULL)
		return json_null();
	o = json_object();
	json_object_set_new(o, "login", cli_json_str(u->login));
	json_object_set_new(o, "display_name", cli_json_str(u->display_name));
	json_object_set_new(o, "profession", json_string(cli_profession_name(u->profession)));
	if (u->organisation != NULL) {
		org = json_object();
		json_object_set_new(org, "code", cli_json_str(u->organisation->code));
		json_object_set_new(org, "name", cli_json_str(u->organisation->name));
		json_object_set_new(org, "kind", cli_json_str(u->organisation->kind));
		json_object_set_new(o, "organisation", org);
	} else {
		json_object_set_new(o, "organisation", json_null());
	}
	return o;
}

json_t *
cli_json_session(const Renkei__V1__User *u, int64_t expires_at_ms, uint32_t idle_timeout_s)
{
	char when[64];
	json_t *o = json_object();

	cli_time_utc(expires_at_ms, when, sizeof when);
	json_object_set_new(o, "user", cli_json_user(u));
	json_object_set_new(o, "expires_at", json_string(when));
	json_object_set_new(o, "expires_at_ms", json_integer(expires_at_ms));
	json_object_set_new(o, "idle_timeout_s", json_integer(idle_timeout_s));
	return o;
}

void
cli_time_short(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)ms);
}

void
cli_print_usage(const struct cli *cli, FILE *f)
{
	fprintf(f, "usage: %s %s%s%s\n", cli->prog, cli->cmd != NULL ? cli->cmd : "COMMAND",
	        cli->cmd_usage != NULL && *cli->cmd_usage ? " " : "",
	        cli->cmd_usage != NULL ? cli->cmd_usage : "");
}

int
cli_command_help(const struct cli *cli)
{
	const char *line, *nl;

	cli_print_usage(cli, stdout);
	if (cli->cmd_summary != NULL)
		printf("  %s\n", cli->cmd_summary);
	if (cli->cmd_details == NULL)
		return CLI_EXIT_OK;
	fputc('\n', stdout);
	for (line = cli->cmd_details; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL) {
			printf("  %s\n", line);
			break;
		}
		printf("  %.*s\n", (int)(nl - line), line);
	}
	return CLI_EXIT_OK;
}

/* ---- tables */

struct cli_table {
	size_t ncols, nrows, cap;
	char **cells;   /* (nrows + 1) * ncols, the header row first; room for cap rows */
	char *align;
	size_t *width;
};

/* Copy and scrub cells into row r (0 = the header), widening columns. */
static void
table_put(struct cli_table *t, size_t r, const char *const *cells)
{
	size_t i, w;
	char *c;

	for (i = 0; i < t->ncols; i++) {
		c = strdup(cells[i] != NULL ? cells[i] : "");
		if (c == NULL)
			abort();
		cli_scrub(c);
		w = rkc_text_width(c);
		if (w > t->width[i])
			t->width[i] = w;
		t->cells[r * t->ncols + i] = c;
	}
}

struct cli_table *
cli_table_new(size_t ncols, const char *const *headers, const char *align)
{
	struct cli_table *t = calloc(1, sizeof *t);
	size_t i;

	if (t == NULL)
		abort();
	t->ncols = ncols;
	t->cap = 16;
	t->cells = calloc(t->cap * ncols, sizeof *t->cells);
	t->width = calloc(ncols, sizeof *t->width);
	t->align = calloc(ncols + 1, 1);
	if (t->cells == NULL || t->width == NULL || t->align == NULL)
		abort();
	for (i = 0; i < ncols; i++)
		t->align[i] = align != NULL && align[i] == 'r' ? 'r' : 'l';
	table_put(t, 0, headers);
	return t;
}

void
cli_table_add(struct cli_table *t, const char *const *cells)
{
	if (t->nrows + 2 > t->cap) {
		t->cap *= 2;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
		if (t->cells == NULL)
			abort();
	}
	table_put(t, t->nrows + 1, cells);
	t->nrows++;
}

void
cli_table_print(const struct cli_table *t, FILE *f, const char *indent)
{
	size_t r, i, w;
	const char *c;

	for (r = 0; r <= t->nrows; r++) {
		fputs(indent, f);
		for (i = 0; i < t->ncols; i++) {
			c = t->cells[r * t->ncols + i];
			w = rkc_text_width(c);
			if (t->align[i] == 'r')
				fprintf(f, "%*s", (int)(t->width[i] - w), "");
			fputs(c, f);
			if (i + 1 < t->ncols) {
				if (t->align[i] != 'r')
					fprintf(f, "%*s", (int)(t->width[i] - w), "");
				fputs("  ", f);
			}
		}
		fputc('\n', f);
	}
}

void
cli_table_free(struct cli_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < (t->nrows + 1) * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t->align);
	free(t);
}
