/*
 * On-call (docs/oncall.md): a patient's call order and an organisation's
 * on-call rota.
 *
 *   renkei sheet callorder PATIENT LOGIN[+LOGIN...][,LOGIN...]...
 *       commas separate the slots (the first call first), '+' joins the
 *       people of one slot (neither can be in a login); "" clears it
 *   renkei oncall show ORG
 *   renkei oncall set ORG LOGIN --from TIME (--until TIME | --hours N)
 *   renkei oncall set ORG --remove ID
 *
 * TIME is the --since syntax of `renkei audit` (time_arg.c). Like the
 * sheet commands these change who may read a board: never retried behind
 * the user's back.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define SLOTS_MAX 8
#define PEOPLE_MAX 8
#define SPEC_MAX 2048

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

int
cli_callorder_parse(char *spec, char *logins[SLOTS_MAX][PEOPLE_MAX],
                    size_t per_slot[SLOTS_MAX], size_t *nslots)
{
	char *p = spec;

	*nslots = 0;
	if (*spec == '\0')
		return 0; /* clear */
	for (;;) {
		char *slot_end = strchr(p, ',');
		size_t n = 0;

		if (*nslots == SLOTS_MAX)
			return -1;
		if (slot_end != NULL)
			*slot_end = '\0';
		for (char *q = p;;) {
			char *plus = strchr(q, '+');
			if (plus != NULL)
				*plus = '\0';
			if (*q == '\0' || n == PEOPLE_MAX)
				return -1;
			logins[*nslots][n++] = q;
			if (plus == NULL)
				break;
			q = plus + 1;
		}
		per_slot[(*nslots)++] = n;
		if (slot_end == NULL)
			return 0;
		p = slot_end + 1;
	}
}

static void
print_slots(Renkei__V1__CallSlot **slots, size_t n)
{
	if (n == 0) {
		printf("  (no call order)\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		printf("  %u. ", slots[i]->slot);
		for (size_t k = 0; k < slots[i]->n_members; k++) {
			const Renkei__V1__User *u = slots[i]->members[k];
			printf("%s", k ? ", " : "");
			cli_print_scrubbed(stdout, u->display_name);
			printf(" (%s)", u->login);
		}
		putchar('\n');
	}
}

json_t *
cli_json_callorder(Renkei__V1__CallSlot **slots, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *people = json_array();
		for (size_t k = 0; k < slots[i]->n_members; k++)
			json_array_append_new(people, cli_json_user(slots[i]->members[k]));
		json_array_append_new(arr, json_pack("{s:i,s:o}", "slot",
		                                     (int)slots[i]->slot, "members",
		                                     people));
	}
	return arr;
}

void
cli_print_callorder(const Renkei__V1__GetPatientResponse *g)
{
	printf("\nCall order (連絡順):\n");
	print_slots(g->call_order, g->n_call_order);
	for (size_t i = 0; i < g->n_on_call; i++) {
		const Renkei__V1__OnCallEntry *e = g->on_call[i];
		char until[64];
		cli_time_local(e->end_at_ms, until, sizeof(until));
		printf("  on call now: ");
		if (e->user != NULL) {
			cli_print_scrubbed(stdout, e->user->display_name);
			printf(" (%s)", e->user->login);
		}
		printf(" for %s until %s\n", e->org, until);
	}
}

int
cli_sheet_callorder(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__SetCallOrderRequest m = RENKEI__V1__SET_CALL_ORDER_REQUEST__INIT;
	Renkei__V1__CallSlotInput slots[SLOTS_MAX], *sp[SLOTS_MAX];
	char *logins[SLOTS_MAX][PEOPLE_MAX];
	size_t per[SLOTS_MAX], n;
	char spec[SPEC_MAX];
	int rc;

	if (argc != 3)
		return cli_usage_error(cli, "give PATIENT and the call order "
		                            "(LOGIN+LOGIN,LOGIN,...; \"\" clears it)");
	if (strlen(argv[2]) >= sizeof(spec))
		return cli_usage_error(cli, "the call order is too long");
	snprintf(spec, sizeof(spec), "%s", argv[2]);
	if (cli_callorder_parse(spec, logins, per, &n) != 0)
		return cli_usage_error(cli, "a call order is at most 8 slots of 1 to 8 "
		                            "logins: commas between slots, '+' between "
		                            "the people of one slot");
	for (size_t i = 0; i < n; i++) {
		renkei__v1__call_slot_input__init(&slots[i]);
		slots[i].n_logins = per[i];
		slots[i].logins = logins[i];
		sp[i] = &slots[i];
	}
	m.patient = argv[1];
	m.n_slots = n;
	m.slots = sp;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_SET_CALL_ORDER_REQUEST;
	req.set_call_order_request = &m;
	rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_SET_CALL_ORDER_RESPONSE,
	               &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		cli_json_print(cli, json_pack("{s:o}", "call_order",
		                              cli_json_callorder(
		                                  resp->set_call_order_response->call_order,
		                                  resp->set_call_order_response
		                                      ->n_call_order)));
	} else {
		printf("call order set:\n");
		print_slots(resp->set_call_order_response->call_order,
		            resp->set_call_order_response->n_call_order);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ rota */

static json_t *
json_entry(const Renkei__V1__OnCallEntry *e)
{
	return json_pack("{s:I,s:o,s:o,s:I,s:I,s:o,s:I}", "id", (json_int_t)e->id,
	                 "org", cli_json_str(e->org), "user",
	                 e->user ? cli_json_user(e->user) : json_null(), "start_at_ms",
	                 (json_int_t)e->start_at_ms, "end_at_ms",
	                 (json_int_t)e->end_at_ms, "set_by", cli_json_str(e->set_by),
	                 "removed_at_ms", (json_int_t)e->removed_at_ms);
}

static void
print_entries(Renkei__V1__OnCallEntry **es, size_t n)
{
	static const char *const head[] = {"ID", "LOGIN", "NAME", "FROM", "UNTIL",
	                                   "SET BY", "NOTE"};
	struct cli_table *t = cli_table_new(7, head, NULL);

	for (size_t i = 0; i < n; i++) {
		char id[24], from[64], until[64];
		const char *row[7];
		snprintf(id, sizeof(id), "%llu", (unsigned long long)es[i]->id);
		cli_time_short(es[i]->start_at_ms, from, sizeof(from));
		cli_time_short(es[i]->end_at_ms, until, sizeof(until));
		row[0] = id;
		row[1] = es[i]->user ? es[i]->user->login : "?";
		row[2] = es[i]->user ? es[i]->user->display_name : "";
		row[3] = from;
		row[4] = until;
		row[5] = *es[i]->set_by ? es[i]->set_by : "(import)";
		row[6] = es[i]->removed_at_ms ? "removed" : "";
		cli_table_add(t, row);
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
}

static int
oncall_show(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__OnCallShowRequest m = RENKEI__V1__ON_CALL_SHOW_REQUEST__INIT;
	int rc;

	if (argc != 2)
		return cli_usage_error(cli, "give ORG");
	m.org = argv[1];
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ON_CALL_SHOW_REQUEST;
	req.on_call_show_request = &m;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SHOW_RESPONSE,
	                 &resp, CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < resp->on_call_show_response->n_entries; i++)
			json_array_append_new(arr,
			                      json_entry(resp->on_call_show_response->entries[i]));
		cli_json_print(cli, arr);
	} else if (resp->on_call_show_response->n_entries == 0) {
		printf("no one on call from now on for %s\n", argv[1]);
	} else {
		print_entries(resp->on_call_show_response->entries,
		              resp->on_call_show_response->n_entries);
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static int
oncall_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'},
		{"until", required_argument, NULL, 'u'},
		{"hours", required_argument, NULL, 'h'},
		{"remove", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__OnCallSetRequest m = RENKEI__V1__ON_CALL_SET_REQUEST__INIT;
	const char *from = NULL, *until = NULL, *hours = NULL, *remove = NULL;
	struct timespec ts;
	int64_t now;
	int ch, rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': from = optarg; break;
		case 'u': until = optarg; break;
		case 'h': hours = optarg; break;
		case 'r': remove = optarg; break;
		default: return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	m.org = "";
	m.login = "";
	if (remove != NULL) {
		char *end;
		unsigned long long id;
		if (argc - optind != 1 || from || until || hours)
			return cli_usage_error(cli, "give ORG and --remove ID only");
		errno = 0;
		id = strtoull(remove, &end, 10);
		if (errno != 0 || *end != '\0' || id == 0 || *remove == '-')
			return cli_usage_error(cli, "--remove takes an entry id (see "
			                            "renkei oncall show ORG)");
		m.remove_id = id;
	} else {
		if (argc - optind != 2)
			return cli_usage_error(cli, "give ORG and LOGIN");
		if (from == NULL || (until == NULL) == (hours == NULL))
			return cli_usage_error(cli, "give --from and one of --until or --hours");
		if (cli_time_parse(from, 0, now, &m.start_at_ms) != 0)
			return cli_usage_error(cli, "--from: a date, a date and time, now, or "
			                            "an age such as 2h");
		if (until != NULL && cli_time_parse(until, 1, now, &m.end_at_ms) != 0)
			return cli_usage_error(cli, "--until: a date, a date and time, or now");
		if (hours != NULL) {
			char *end;
			long h;
			errno = 0;
			h = strtol(hours, &end, 10);
			if (errno != 0 || *end != '\0' || h < 1 || h > 168)
				return cli_usage_error(cli, "--hours: 1 to 168");
			m.end_at_ms = m.start_at_ms + (int64_t)h * 3600 * 1000;
		}
		m.login = argv[optind + 1];
	}
	m.org = argv[optind];
	req.body_case = RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_REQUEST;
	req.on_call_set_request = &m;
	rc = call_once(cli, &req, RENKEI__V1__ENVELOPE__BODY_ON_CALL_SET_RESPONSE, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (resp->on_call_set_response->entry == NULL) {
		renkei__v1__envelope__free_unpacked(resp, NULL);
		return cli_fail(cli, CLI_EXIT_SERVER, "the server sent no entry");
	}
	if (cli->json)
		cli_json_print(cli, json_entry(resp->on_call_set_response->entry));
	else
		print_entries(&resp->on_call_set_response->entry, 1);
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

int
cli_cmd_oncall(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		return cli_command_help(cli);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return oncall_show(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "set") == 0)
		return oncall_set(cli, argc - 1, argv + 1);
	return cli_usage_error(cli, "expected show ORG, or set ORG ...");
}
