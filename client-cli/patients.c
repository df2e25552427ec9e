/*
 * Patient commands: patients (the boards I may read), patient (one
 * patient and their liaison sheet, 連携シート).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* Whole years from birth ("YYYY-MM-DD") to today (local date), or -1 if
 * the date is not one. */
static int
age_years(const char *birth)
{
	struct tm tm;
	time_t now = time(NULL);
	int y, m, d, age;
	char tail;

	if (birth == NULL || sscanf(birth, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
	    m < 1 || m > 12 || d < 1 || d > 31 || localtime_r(&now, &tm) == NULL)
		return -1;
	age = tm.tm_year + 1900 - y;
	if (tm.tm_mon + 1 < m || (tm.tm_mon + 1 == m && tm.tm_mday < d))
		age--;
	return age >= 0 ? age : -1;
}

static json_t *
json_patient(const Renkei__V1__Patient *p)
{
	int age = age_years(p->birth_date);

	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o}", "code",
	                 cli_json_str(p->code), "name", cli_json_str(p->name), "kana",
	                 cli_json_str(p->kana), "birth_date", cli_json_str(p->birth_date), "age",
	                 age >= 0 ? json_integer(age) : json_null(), "sex", cli_json_str(p->sex),
	                 "area", cli_json_str(p->area), "summary", cli_json_str(p->summary),
	                 "wishes", cli_json_str(p->wishes), "last_seq", (json_int_t)p->last_seq,
	                 "my_role", cli_json_str(p->my_role));
}

/* Options: only --help; between min_args and max_args arguments, which
 * start at argv[optind]. Returns -1 to go on, or an exit status. */
static int
args_only(struct cli *cli, int argc, char **argv, int min_args, int max_args)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h') {
			return cli_command_help(cli);
		}
		return cli_unknown_option(cli, argv[optind - 1]);
	}
	if (argc - optind < min_args)
		return cli_usage_error(cli, "missing PATIENT");
	if (argc - optind > max_args)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind + max_args]);
	return -1;
}

int
cli_cmd_patients(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "CODE", "NAME", "KANA", "AGE", "AREA", "MY ROLE",
		                            "LAST" };
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__ListPatientsRequest lr = RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	Renkei__V1__ListPatientsResponse *r;
	Renkei__V1__Patient *p;
	struct cli_table *t;
	const char *row[7];
	char age[16], last[32];
	json_t *list;
	size_t i;
	int rc, a;

	if ((rc = args_only(cli, argc, argv, 0, 0)) != -1)
		return rc;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST;
	req.list_patients_request = &lr;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_RESPONSE, &resp,
	                 CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	r = resp->list_patients_response;
	if (cli->json) {
		list = json_array();
		for (i = 0; i < r->n_patients; i++)
			json_array_append_new(list, json_patient(r->patients[i]));
		cli_json_print(cli, json_pack("{s:o}", "patients", list));
		goto out;
	}
	if (r->n_patients == 0) {
		printf("No patients: you are on no patient's liaison sheet.\n");
		goto out;
	}
	t = cli_table_new(7, head, "lllrllr");
	for (i = 0; i < r->n_patients; i++) {
		p = r->patients[i];
		a = age_years(p->birth_date);
		if (a >= 0)
			snprintf(age, sizeof age, "%d", a);
		else
			snprintf(age, sizeof age, "?");
		snprintf(last, sizeof last, "#%llu", (unsigned long long)p->last_seq);
		row[0] = p->code;
		row[1] = p->name;
		row[2] = p->kana;
		row[3] = age;
		row[4] = p->area;
		row[5] = p->my_role;
		row[6] = last;
		cli_table_add(t, row);
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
out:
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static json_t *
json_member(const Renkei__V1__SheetMember *m)
{
	return json_pack("{s:o,s:o,s:b,s:o,s:o,s:b,s:o}", "user", cli_json_user(m->user),
	                 "team_role", cli_json_str(m->team_role), "primary", m->primary,
	                 "valid_from", cli_json_str(m->valid_from), "valid_until",
	                 cli_json_str(m->valid_until), "read_only", m->read_only, "contact",
	                 cli_json_str(m->contact));
}

/* "label:  text" with the text scrubbed, skipped when empty. */
static void
field(const char *label, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	printf("  %-9s ", label);
	cli_print_scrubbed(stdout, text);
	fputc('\n', stdout);
}

static void
print_sheet(const Renkei__V1__GetPatientResponse *g)
{
	static const char *const head[] = { "NAME",      "LOGIN",   "PROFESSION",
		                            "ORGANISATION", "TEAM ROLE", "PRIMARY",
		                            "VALID FROM", "VALID UNTIL", "CONTACT" };
	const Renkei__V1__SheetMember *m;
	const Renkei__V1__User *u;
	char role[512];
	const char *row[9];
	struct cli_table *t;
	size_t i, ncols = 8;

	for (i = 0; i < g->n_sheet; i++)
		if (g->sheet[i]->contact != NULL && *g->sheet[i]->contact != '\0')
			ncols = 9; /* only when someone left a contact */
	printf("\nLiaison sheet (連携シート):\n");
	if (g->n_sheet == 0) {
		printf("  (nobody)\n");
		return;
	}
	t = cli_table_new(ncols, head, NULL);
	for (i = 0; i < g->n_sheet; i++) {
		m = g->sheet[i];
		u = m->user;
		snprintf(role, sizeof role, "%s%s", m->team_role, m->read_only ? " (read-only)" : "");
		row[0] = u != NULL ? u->display_name : "?";
		row[1] = u != NULL ? u->login : "?";
		row[2] = u != NULL ? cli_profession_text(u->profession) : "";
		row[3] = u != NULL && u->organisation != NULL ? u->organisation->name : "-";
		row[4] = role;
		row[5] = m->primary ? "★" : "";
		row[6] = m->valid_from != NULL && *m->valid_from ? m->valid_from : "-";
		row[7] = m->valid_until != NULL && *m->valid_until ? m->valid_until : "-";
		row[8] = m->contact;
		cli_table_add(t, row);
	}
	cli_table_print(t, stdout, "  ");
	cli_table_free(t);
}

int
cli_cmd_patient(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__GetPatientRequest gr = RENKEI__V1__GET_PATIENT_REQUEST__INIT;
	Renkei__V1__GetPatientResponse *g;
	Renkei__V1__Patient *p;
	json_t *sheet, *doc;
	char born[96], board[64];
	size_t i;
	int rc, a;

	if ((rc = args_only(cli, argc, argv, 1, 1)) != -1)
		return rc;
	if (*argv[optind] == '\0')
		return cli_usage_error(cli, "empty PATIENT");
	gr.patient = argv[optind];
	req.body_case = RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_REQUEST;
	req.get_patient_request = &gr;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_GET_PATIENT_RESPONSE, &resp,
	                 CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	g = resp->get_patient_response;
	p = g->patient;
	if (p == NULL) {
		renkei__v1__envelope__free_unpacked(resp, NULL);
		return cli_fail(cli, CLI_EXIT_SERVER, "the server sent no patient");
	}
	if (cli->json) {
		sheet = json_array();
		for (i = 0; i < g->n_sheet; i++)
			json_array_append_new(sheet, json_member(g->sheet[i]));
		doc = json_patient(p);
		json_object_set_new(doc, "sheet", sheet);
		json_object_set_new(doc, "call_order",
		                    cli_json_callorder(g->call_order, g->n_call_order));
		cli_json_print(cli, doc);
		goto out;
	}
	cli_print_scrubbed(stdout, p->name);
	if (p->kana != NULL && *p->kana != '\0') {
		fputs(" (", stdout);
		cli_print_scrubbed(stdout, p->kana);
		fputc(')', stdout);
	}
	fputs("  ", stdout);
	cli_print_scrubbed(stdout, p->code);
	fputc('\n', stdout);
	a = age_years(p->birth_date);
	if (a >= 0)
		snprintf(born, sizeof born, "%.16s (%d)%s%.4s", p->birth_date, a,
		         *p->sex ? ", " : "", p->sex);
	else
		snprintf(born, sizeof born, "%.16s%s%.4s", p->birth_date, *p->sex ? ", " : "",
		         p->sex);
	field("born:", born);
	field("area:", p->area);
	field("my role:", p->my_role);
	snprintf(board, sizeof board, "last post #%llu", (unsigned long long)p->last_seq);
	field("board:", board);
	field("summary:", p->summary);
	field("wishes:", p->wishes);
	print_sheet(g);
	cli_print_callorder(g);
out:
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}
