/*
 * The liaison sheet, discharge hand-off, break-glass and family commands:
 *
 *   renkei sheet PATIENT                      the patient and the sheet
 *   renkei sheet add PATIENT LOGIN --role R [--primary] [--from D] [--until D] [--contact C]
 *   renkei sheet change PATIENT LOGIN [--role R] [--primary|--not-primary] [--from D] [--until D] [--contact C]
 *   renkei sheet end PATIENT LOGIN [--reason R]
 *   renkei sheet history PATIENT
 *   renkei sheet callorder PATIENT LOGIN[+LOGIN...],...   (oncall.c)
 *   renkei handoff open PATIENT [--discharge D] [--summary TEXT] [--new --name N [--kana K --birth D --sex S --area A]]
 *   renkei handoff propose PATIENT LOGIN=ROLE[:primary] ...
 *   renkei handoff conference PATIENT --at 2026-11-21T14:00:00+09:00
 *   renkei handoff accept PATIENT
 *   renkei handoff show PATIENT
 *   renkei breakglass PATIENT --reason TEXT
 *   renkei family invite PATIENT LOGIN --name NAME --relation REL
 *
 * These change who may see a patient's records, so they are never
 * retried behind the user's back: a failure is reported and the user
 * decides (most would answer ALREADY_EXISTS or FAILED_PRECONDITION on a
 * second try anyway).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "cli.h"

/* Open the session, call, close. Reports failures. */
static int
call_once(struct cli *cli, Renkei__V1__Envelope *req,
          Renkei__V1__Envelope__BodyCase want, Renkei__V1__Envelope **resp)
{
	struct rkc *c;
	int rc = cli_open_session(cli, &c);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_call(cli, c, req, want, resp);
	rkc_close(c);
	return rc;
}

static const char *const handoff_states[] = {"none", "open", "proposed",
                                             "conference set", "accepted"};

static int
print_handoff(struct cli *cli, Renkei__V1__Envelope *resp)
{
	const Renkei__V1__Handoff *h = resp->handoff_response->handoff;
	int st = h != NULL && h->state >= 0 && h->state <= 4 ? (int)h->state : 0;
	char when[64] = "";

	if (cli->json) {
		json_t *doc = json_object();
		json_object_set_new(doc, "patient", cli_json_str(h ? h->patient : ""));
		json_object_set_new(doc, "state", json_string(handoff_states[st]));
		if (h != NULL) {
			json_object_set_new(doc, "from_org", cli_json_str(h->from_org));
			json_object_set_new(doc, "discharge_date", cli_json_str(h->discharge_date));
			json_object_set_new(doc, "conference_at", cli_json_str(h->conference_at));
			if (h->opened_by)
				json_object_set_new(doc, "opened_by", cli_json_user(h->opened_by));
			if (h->accepted_by)
				json_object_set_new(doc, "accepted_by", cli_json_user(h->accepted_by));
			json_object_set_new(doc, "hospital_until_ms",
			                    json_integer(h->hospital_until_ms));
		}
		cli_json_print(cli, doc);
	} else if (h != NULL) {
		printf("hand-off of ");
		cli_print_scrubbed(stdout, h->patient);
		printf(": %s\n", handoff_states[st]);
		if (*h->discharge_date) {
			printf("  discharge:   ");
			cli_print_scrubbed(stdout, h->discharge_date);
			putchar('\n');
		}
		if (*h->conference_at) {
			printf("  conference:  ");
			cli_print_scrubbed(stdout, h->conference_at);
			putchar('\n');
		}
		if (h->opened_by) {
			printf("  opened by:   ");
			cli_print_scrubbed(stdout, h->opened_by->display_name);
			printf(" (%s)\n", h->opened_by->login);
		}
		if (h->accepted_by) {
			printf("  accepted by: ");
			cli_print_scrubbed(stdout, h->accepted_by->display_name);
			printf(" (%s)\n", h->accepted_by->login);
			cli_time_local(h->hospital_until_ms, when, sizeof(when));
			printf("  the hospital team may read (not post) until %s\n", when);
		}
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static int
sheet_done(struct cli *cli, Renkei__V1__Envelope *resp, const char *what)
{
	if (cli->json) {
		json_t *doc = json_object();
		json_object_set_new(doc, "done", json_string(what));
		json_object_set_new(doc, "members",
		                    json_integer((json_int_t)resp->sheet_response->n_sheet));
		cli_json_print(cli, doc);
	} else {
		printf("%s; the sheet now has %zu rows (renkei sheet PATIENT shows it)\n",
		       what, resp->sheet_response->n_sheet);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static int
sheet_add_change(struct cli *cli, int argc, char **argv, int add)
{
	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'},
		{"primary", no_argument, NULL, 'p'},
		{"not-primary", no_argument, NULL, 'n'},
		{"from", required_argument, NULL, 'f'},
		{"until", required_argument, NULL, 'u'},
		{"contact", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__SheetAddRequest a = RENKEI__V1__SHEET_ADD_REQUEST__INIT;
	Renkei__V1__SheetChangeRequest m = RENKEI__V1__SHEET_CHANGE_REQUEST__INIT;
	const char *role = "", *from = "", *until = "", *contact = "";
	int primary = -1, ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': role = optarg; break;
		case 'p': primary = 1; break;
		case 'n': primary = 0; break;
		case 'f': from = optarg; break;
		case 'u': until = optarg; break;
		case 'c': contact = optarg; break;
		default: return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(cli, "give PATIENT and LOGIN");
	if (add && *role == '\0')
		return cli_usage_error(cli, "--role is required (their role on the team)");
	if (add) {
		a.patient = argv[optind];
		a.login = argv[optind + 1];
		a.team_role = (char *)role;
		a.primary = primary == 1;
		a.valid_from = (char *)from;
		a.valid_until = (char *)until;
		a.contact = (char *)contact;
		req.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_ADD_REQUEST;
		req.sheet_add_request = &a;
	} else {
		m.patient = argv[optind];
		m.login = argv[optind + 1];
		m.team_role = (char *)role;
		m.set_primary = primary >= 0;
		m.primary = primary == 1;
		m.valid_from = (char *)from;
		m.valid_until = (char *)until;
		m.contact = (char *)contact;
		req.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_CHANGE_REQUEST;
		req.sheet_change_request = &m;
	}
	rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	return sheet_done(cli, resp, add ? "added" : "changed");
}

static int
sheet_end(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__SheetEndRequest e = RENKEI__V1__SHEET_END_REQUEST__INIT;
	const char *reason = "";
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return cli_unknown_option(cli, argv[optind - 1]);
		reason = optarg;
	}
	if (argc - optind != 2)
		return cli_usage_error(cli, "give PATIENT and LOGIN");
	e.patient = argv[optind];
	e.login = argv[optind + 1];
	e.reason = (char *)reason;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_END_REQUEST;
	req.sheet_end_request = &e;
	rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_SHEET_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	return sheet_done(cli, resp, "ended");
}

static int
sheet_history(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__SheetHistoryRequest h = RENKEI__V1__SHEET_HISTORY_REQUEST__INIT;
	static const char *const heads[] = {"WHEN", "BY", "ACTION", "MEMBER", "DETAIL"};
	struct cli_table *t;
	int rc;

	if (argc != 2)
		return cli_usage_error(cli, "give PATIENT");
	h.patient = argv[1];
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_REQUEST;
	req.sheet_history_request = &h;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_SHEET_HISTORY_RESPONSE,
	                 &resp, CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	const Renkei__V1__SheetHistoryResponse *r = resp->sheet_history_response;
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_changes; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "at_ms", json_integer(r->changes[i]->at_ms));
			json_object_set_new(o, "action", cli_json_str(r->changes[i]->action));
			json_object_set_new(o, "detail", cli_json_str(r->changes[i]->detail));
			if (r->changes[i]->by)
				json_object_set_new(o, "by", cli_json_user(r->changes[i]->by));
			if (r->changes[i]->member)
				json_object_set_new(o, "member", cli_json_user(r->changes[i]->member));
			json_array_append_new(arr, o);
		}
		cli_json_print(cli, arr);
	} else {
		t = cli_table_new(5, heads, NULL);
		for (size_t i = 0; i < r->n_changes; i++) {
			const Renkei__V1__SheetChange *c = r->changes[i];
			char when[64];
			const char *cells[5];
			cli_time_short(c->at_ms, when, sizeof(when));
			cells[0] = when;
			cells[1] = c->by ? c->by->login : "(admin)";
			cells[2] = c->action;
			cells[3] = c->member ? c->member->login : "";
			cells[4] = c->detail;
			cli_table_add(t, cells);
		}
		cli_table_print(t, stdout, "");
		cli_table_free(t);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

int
cli_cmd_sheet(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		return cli_command_help(cli);
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return sheet_add_change(cli, argc - 1, argv + 1, 1);
	if (argc >= 2 && strcmp(argv[1], "change") == 0)
		return sheet_add_change(cli, argc - 1, argv + 1, 0);
	if (argc >= 2 && strcmp(argv[1], "end") == 0)
		return sheet_end(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "history") == 0)
		return sheet_history(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "callorder") == 0)
		return cli_sheet_callorder(cli, argc - 1, argv + 1);
	if (argc == 2)
		return cli_cmd_patient(cli, argc, argv);
	return cli_usage_error(cli, "expected PATIENT, or add|change|end|history|callorder");
}

/* ------------------------------------------------------------ hand-off */

static void
new_client_id(char out[40])
{
	unsigned char r[16];
	static const char hex[] = "0123456789abcdef";

	if (RAND_bytes(r, sizeof(r)) != 1)
		abort();
	memcpy(out, "handoff-", 8);
	for (int i = 0; i < 12; i++) {
		out[8 + 2 * i] = hex[r[i] >> 4];
		out[9 + 2 * i] = hex[r[i] & 15];
	}
	out[32] = '\0';
}

static int
handoff_open(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"discharge", required_argument, NULL, 'd'},
		{"summary", required_argument, NULL, 's'},
		{"new", no_argument, NULL, 'N'},
		{"name", required_argument, NULL, 'n'},
		{"kana", required_argument, NULL, 'k'},
		{"birth", required_argument, NULL, 'b'},
		{"sex", required_argument, NULL, 'x'},
		{"area", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__HandoffOpenRequest o = RENKEI__V1__HANDOFF_OPEN_REQUEST__INIT;
	Renkei__V1__Patient np = RENKEI__V1__PATIENT__INIT;
	char cid[40];
	int is_new = 0, ch, rc;

	o.discharge_date = "";
	o.summary = "";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': o.discharge_date = optarg; break;
		case 's': o.summary = optarg; break;
		case 'N': is_new = 1; break;
		case 'n': np.name = optarg; break;
		case 'k': np.kana = optarg; break;
		case 'b': np.birth_date = optarg; break;
		case 'x': np.sex = optarg; break;
		case 'a': np.area = optarg; break;
		default: return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "give PATIENT");
	if (is_new && (np.name == NULL || *np.name == '\0'))
		return cli_usage_error(cli, "a new patient needs --name");
	o.patient = argv[optind];
	if (is_new)
		o.new_patient = &np;
	new_client_id(cid);
	o.client_id = cid;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_OPEN_REQUEST;
	req.handoff_open_request = &o;
	rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE, &resp);
	return rc != CLI_EXIT_OK ? rc : print_handoff(cli, resp);
}

static int
handoff_propose(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__HandoffProposeRequest p = RENKEI__V1__HANDOFF_PROPOSE_REQUEST__INIT;
	Renkei__V1__ProposedMember *m;
	Renkei__V1__ProposedMember **mp;
	char **copies;
	int n = argc - 2, rc;

	if (n < 1)
		return cli_usage_error(cli, "give PATIENT and LOGIN=ROLE[:primary] ...");
	m = calloc((size_t)n, sizeof(*m));
	mp = calloc((size_t)n, sizeof(*mp));
	copies = calloc((size_t)n, sizeof(*copies));
	if (m == NULL || mp == NULL || copies == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		char *eq, *prim;
		copies[i] = strdup(argv[2 + i]);
		if (copies[i] == NULL)
			abort();
		renkei__v1__proposed_member__init(&m[i]);
		eq = strchr(copies[i], '=');
		if (eq == NULL || eq == copies[i] || eq[1] == '\0') {
			rc = cli_usage_error(cli, "\"%s\": write LOGIN=ROLE[:primary]",
			                     argv[2 + i]);
			goto out;
		}
		*eq = '\0';
		prim = strrchr(eq + 1, ':');
		if (prim != NULL && strcmp(prim, ":primary") == 0) {
			*prim = '\0';
			m[i].primary = 1;
		}
		m[i].login = copies[i];
		m[i].team_role = eq + 1;
		mp[i] = &m[i];
	}
	p.patient = argv[1];
	p.n_members = (size_t)n;
	p.members = mp;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_PROPOSE_REQUEST;
	req.handoff_propose_request = &p;
	rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE, &resp);
	if (rc == CLI_EXIT_OK)
		rc = print_handoff(cli, resp);
out:
	for (int i = 0; i < n; i++)
		free(copies[i]);
	free(copies);
	free(m);
	free(mp);
	return rc;
}

int
cli_cmd_handoff(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0)
		return argc < 2 ? cli_usage_error(cli, "expected a step")
		                : cli_command_help(cli);
	if (strcmp(argv[1], "open") == 0)
		return handoff_open(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "propose") == 0)
		return handoff_propose(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "conference") == 0) {
		Renkei__V1__HandoffConferenceRequest c =
			RENKEI__V1__HANDOFF_CONFERENCE_REQUEST__INIT;
		if (argc != 5 || strcmp(argv[3], "--at") != 0)
			return cli_usage_error(cli, "handoff conference PATIENT --at TIME");
		c.patient = argv[2];
		c.conference_at = argv[4];
		req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_CONFERENCE_REQUEST;
		req.handoff_conference_request = &c;
		rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE, &resp);
		return rc != CLI_EXIT_OK ? rc : print_handoff(cli, resp);
	}
	if (strcmp(argv[1], "accept") == 0 || strcmp(argv[1], "show") == 0) {
		Renkei__V1__HandoffAcceptRequest a = RENKEI__V1__HANDOFF_ACCEPT_REQUEST__INIT;
		Renkei__V1__HandoffGetRequest g = RENKEI__V1__HANDOFF_GET_REQUEST__INIT;
		if (argc != 3)
			return cli_usage_error(cli, "give PATIENT");
		if (argv[1][0] == 'a') {
			a.patient = argv[2];
			req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_ACCEPT_REQUEST;
			req.handoff_accept_request = &a;
		} else {
			g.patient = argv[2];
			req.body_case = RENKEI__V1__ENVELOPE__BODY_HANDOFF_GET_REQUEST;
			req.handoff_get_request = &g;
		}
		rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_HANDOFF_RESPONSE, &resp);
		return rc != CLI_EXIT_OK ? rc : print_handoff(cli, resp);
	}
	return cli_usage_error(cli, "unknown step \"%s\": open, propose, conference, "
	                            "accept or show",
	                       argv[1]);
}

/* ---------------------------------------------------- break-glass, family */

int
cli_cmd_breakglass(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__BreakGlassRequest b = RENKEI__V1__BREAK_GLASS_REQUEST__INIT;
	char when[64], code[64];
	int rc;

	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return cli_command_help(cli);
	if ((argc != 4 && argc != 6) || strcmp(argv[2], "--reason") != 0 ||
	    (argc == 6 && strcmp(argv[4], "--code") != 0))
		return cli_usage_error(cli, "breakglass PATIENT --reason TEXT [--code CODE]");
	b.patient = argv[1];
	b.reason = argv[3];
	/* A fresh second-factor code, if I have a factor (step-up). */
	rc = cli_step_up_code(cli, argc == 6 ? argv[5] : NULL, code, sizeof code);
	if (rc != CLI_EXIT_OK)
		return rc;
	b.totp_code = code;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_REQUEST;
	req.break_glass_request = &b;
	rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_BREAK_GLASS_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	cli_time_local(resp->break_glass_response->expires_at_ms, when, sizeof(when));
	if (cli->json) {
		json_t *doc = json_object();
		json_object_set_new(doc, "expires_at_ms",
		                    json_integer(resp->break_glass_response->expires_at_ms));
		cli_json_print(cli, doc);
	} else {
		printf("emergency read-only access until %s; the team has been told and "
		       "the access is recorded\n",
		       when);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

int
cli_cmd_family(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"relation", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__FamilyInviteRequest f = RENKEI__V1__FAMILY_INVITE_REQUEST__INIT;
	int ch, rc;

	if (argc < 2 || strcmp(argv[1], "invite") != 0)
		return argc >= 2 && strcmp(argv[1], "--help") == 0
		               ? cli_command_help(cli)
		               : cli_usage_error(cli, "family invite PATIENT LOGIN --name N "
		                                      "--relation R");
	argc--;
	argv++;
	f.display_name = "";
	f.relation = "";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': f.display_name = optarg; break;
		case 'r': f.relation = optarg; break;
		default: return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(cli, "give PATIENT and LOGIN");
	f.patient = argv[optind];
	f.login = argv[optind + 1];
	req.body_case = RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_REQUEST;
	req.family_invite_request = &f;
	rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	const Renkei__V1__FamilyInviteResponse *r = resp->family_invite_response;
	if (cli->json) {
		json_t *doc = json_object();
		json_object_set_new(doc, "login", cli_json_str(r->login));
		json_object_set_new(doc, "invitation_code", cli_json_str(r->invitation_code));
		cli_json_print(cli, doc);
	} else if (*r->invitation_code) {
		cli_scrub(r->login);
		cli_scrub(r->invitation_code);
		printf("invited %s; invitation code (hand it over in person, shown once): %s\n"
		       "They log in with it as the password (renkei login %s) and then choose\n"
		       "their own password, which nobody else learns.\n",
		       r->login, r->invitation_code, r->login);
	} else {
		printf("invited %s (existing account)\n", r->login);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}
