/*
 * `renkei notify`: my devices for notices (docs/notice.md) — Web Push
 * subscriptions (registered by the browser app) and e-mail addresses —
 * their preferences and mine, a test notice.
 *
 *   renkei notify devices
 *   renkei notify add-email ADDRESS [--label L]
 *   renkei notify remove ID
 *   renkei notify prefs [ID] [--urgent-only on|off] [--quiet HH:MM-HH:MM|off]
 *                       [--boards CODE,...|all]
 *   renkei notify test [ID]
 *   renkei notify vapid-key
 *
 * prefs without options shows them; with options it changes only what
 * is given (the rest as the server has it), for my own preferences or
 * device ID's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
parse_id(struct cli *cli, const char *arg, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || v <= 0)
		return cli_usage_error(cli, "device ID must be a positive number, not '%s'",
		                       arg);
	*id = v;
	return CLI_EXIT_OK;
}

static json_t *
prefs_json(const Renkei__V1__NoticePrefs *p)
{
	json_t *b = json_array();

	if (p == NULL)
		return json_null();
	for (size_t i = 0; i < p->n_boards; i++)
		json_array_append_new(b, cli_json_str(p->boards[i]));
	return json_pack("{s:b,s:o,s:o,s:o}", "urgent_only", p->urgent_only,
	                 "quiet_from", cli_json_str(p->quiet_from), "quiet_until",
	                 cli_json_str(p->quiet_until), "boards", b);
}

static void
prefs_text(const Renkei__V1__NoticePrefs *p, char *out, size_t cap)
{
	size_t o = 0;

	if (p == NULL) {
		snprintf(out, cap, "every post");
		return;
	}
	o += (size_t)snprintf(out + o, cap - o, "%s",
	                      p->urgent_only ? "urgent only" : "every post");
	if (p->quiet_from[0] && o < cap)
		o += (size_t)snprintf(out + o, cap - o, ", quiet %s-%s (JST)",
		                      p->quiet_from, p->quiet_until);
	if (p->n_boards > 0 && o < cap) {
		o += (size_t)snprintf(out + o, cap - o, ", boards");
		for (size_t i = 0; i < p->n_boards && o < cap; i++)
			o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : " ",
			                      p->boards[i]);
	}
}

/* Print the state the server answered (devices and my preferences). */
static void
print_devices(struct cli *cli, const Renkei__V1__NoticeDevicesResponse *r)
{
	static const char *const head[] = {"ID", "CHANNEL", "WHERE", "LABEL",
	                                   "SINCE", "PREFERENCES"};
	char p[600];

	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_devices; i++) {
			const Renkei__V1__NoticeDevice *d = r->devices[i];
			json_array_append_new(
			    arr, json_pack("{s:I,s:s,s:o,s:o,s:o,s:I,s:o}", "id",
			                   (json_int_t)d->id, "channel",
			                   d->channel == RENKEI__V1__NOTICE_CHANNEL__EMAIL
			                           ? "email"
			                           : "web_push",
			                   "push_host", cli_json_str(d->push_host), "email",
			                   cli_json_str(d->email), "label",
			                   cli_json_str(d->label), "created_at_ms",
			                   (json_int_t)d->created_at_ms, "prefs",
			                   prefs_json(d->prefs)));
		}
		cli_json_print(cli, json_pack("{s:o,s:o,s:I}", "devices", arr, "prefs",
		                              prefs_json(r->prefs), "added_id",
		                              (json_int_t)r->added_id));
		return;
	}
	struct cli_table *t = cli_table_new(6, head, "rlllll");
	for (size_t i = 0; i < r->n_devices; i++) {
		const Renkei__V1__NoticeDevice *d = r->devices[i];
		char id[24], since[64];
		const char *cells[6];
		snprintf(id, sizeof(id), "%" PRId64, d->id);
		cli_time_local(d->created_at_ms, since, sizeof(since));
		prefs_text(d->prefs, p, sizeof(p));
		cells[0] = id;
		cells[1] = d->channel == RENKEI__V1__NOTICE_CHANNEL__EMAIL ? "e-mail"
		                                                           : "web push";
		cells[2] = d->channel == RENKEI__V1__NOTICE_CHANNEL__EMAIL ? d->email
		                                                           : d->push_host;
		cells[3] = d->label;
		cells[4] = since;
		cells[5] = p;
		cli_table_add(t, cells);
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
	prefs_text(r->prefs, p, sizeof(p));
	printf("%zu device%s. My preferences: %s.\n", r->n_devices,
	       r->n_devices == 1 ? "" : "s", p);
}

/* Send req, expect NoticeDevicesResponse, print it. */
static int
devices_call(struct cli *cli, Renkei__V1__Envelope *req, int retries)
{
	Renkei__V1__Envelope *resp = NULL;
	int rc = cli_request(cli, req,
	                     RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE, &resp,
	                     retries);
	if (rc != CLI_EXIT_OK)
		return rc;
	print_devices(cli, resp->notice_devices_response);
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static int
notify_devices(struct cli *cli)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticeListRequest m = RENKEI__V1__NOTICE_LIST_REQUEST__INIT;

	req.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_LIST_REQUEST;
	req.notice_list_request = &m;
	return devices_call(cli, &req, CLI_RETRIES);
}

static int
notify_add_email(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticeDeviceAddRequest m = RENKEI__V1__NOTICE_DEVICE_ADD_REQUEST__INIT;
	const char *addr = NULL, *label = "";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (argv[i][0] == '-')
			return cli_unknown_option(cli, argv[i]);
		else if (addr == NULL)
			addr = argv[i];
		else
			return cli_usage_error(cli, "one address at a time");
	}
	if (addr == NULL)
		return cli_usage_error(cli, "give the e-mail address");
	m.email = (char *)addr;
	m.label = (char *)label;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICE_ADD_REQUEST;
	req.notice_device_add_request = &m;
	/* The same address twice is the same device: safe to retry. */
	return devices_call(cli, &req, CLI_RETRIES);
}

static int
notify_remove(struct cli *cli, const char *arg)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__NoticeDeviceRemoveRequest m =
	    RENKEI__V1__NOTICE_DEVICE_REMOVE_REQUEST__INIT;
	int rc = parse_id(cli, arg, &m.device_id);

	if (rc != CLI_EXIT_OK)
		return rc;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICE_REMOVE_REQUEST;
	req.notice_device_remove_request = &m;
	/* Not retried: a second try after a lost answer would say NOT_FOUND. */
	return devices_call(cli, &req, 0);
}

/* "on" / "off" */
static int
on_off(const char *s)
{
	return strcmp(s, "on") == 0 ? 1 : strcmp(s, "off") == 0 ? 0 : -1;
}

static int
notify_prefs(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__NoticeListRequest lm = RENKEI__V1__NOTICE_LIST_REQUEST__INIT;
	Renkei__V1__NoticePrefsRequest m = RENKEI__V1__NOTICE_PREFS_REQUEST__INIT;
	Renkei__V1__NoticePrefs p = RENKEI__V1__NOTICE_PREFS__INIT;
	const Renkei__V1__NoticePrefs *now = NULL;
	const char *urgent = NULL, *quiet = NULL, *boards = NULL;
	char from[8] = "", until[8] = "", *bl = NULL, *codes[64];
	int64_t id = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--urgent-only") == 0 && i + 1 < argc)
			urgent = argv[++i];
		else if (strcmp(argv[i], "--quiet") == 0 && i + 1 < argc)
			quiet = argv[++i];
		else if (strcmp(argv[i], "--boards") == 0 && i + 1 < argc)
			boards = argv[++i];
		else if (argv[i][0] == '-')
			return cli_unknown_option(cli, argv[i]);
		else if (id == 0) {
			if ((rc = parse_id(cli, argv[i], &id)) != CLI_EXIT_OK)
				return rc;
		} else
			return cli_usage_error(cli, "one device at a time");
	}
	if (urgent != NULL && on_off(urgent) < 0)
		return cli_usage_error(cli, "--urgent-only takes on or off");
	if (quiet != NULL && strcmp(quiet, "off") != 0 &&
	    (strlen(quiet) != 11 || quiet[5] != '-'))
		return cli_usage_error(cli, "--quiet takes HH:MM-HH:MM (JST) or off");
	/* What the server has now, to change only what was given. */
	req.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_LIST_REQUEST;
	req.notice_list_request = &lm;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_NOTICE_DEVICES_RESPONSE,
	                 &resp, CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	const Renkei__V1__NoticeDevicesResponse *r = resp->notice_devices_response;
	if (id == 0)
		now = r->prefs;
	for (size_t i = 0; id != 0 && i < r->n_devices; i++)
		if (r->devices[i]->id == id)
			now = r->devices[i]->prefs;
	if (id != 0 && now == NULL) {
		renkei__v1__envelope__free_unpacked(resp, NULL);
		return cli_fail(cli, CLI_EXIT_DENIED, "no such notice device of yours: %"
		                PRId64, id);
	}
	if (urgent == NULL && quiet == NULL && boards == NULL) {
		char t[600];
		if (cli->json)
			cli_json_print(cli, prefs_json(now));
		else {
			prefs_text(now, t, sizeof(t));
			printf("%s\n", t);
		}
		renkei__v1__envelope__free_unpacked(resp, NULL);
		return CLI_EXIT_OK;
	}
	if (now != NULL) {
		p.urgent_only = now->urgent_only;
		snprintf(from, sizeof(from), "%s", now->quiet_from);
		snprintf(until, sizeof(until), "%s", now->quiet_until);
		p.n_boards = now->n_boards < 64 ? now->n_boards : 64;
		for (size_t i = 0; i < p.n_boards; i++)
			codes[i] = now->boards[i];
	}
	if (urgent != NULL)
		p.urgent_only = on_off(urgent);
	if (quiet != NULL && strcmp(quiet, "off") == 0)
		from[0] = until[0] = '\0';
	else if (quiet != NULL) {
		memcpy(from, quiet, 5);
		from[5] = '\0';
		memcpy(until, quiet + 6, 5);
		until[5] = '\0';
	}
	if (boards != NULL) {
		p.n_boards = 0;
		if (strcmp(boards, "all") != 0) {
			bl = strdup(boards);
			for (char *s = strtok(bl, ","); s && p.n_boards < 64;
			     s = strtok(NULL, ","))
				codes[p.n_boards++] = s;
		}
	}
	p.quiet_from = from;
	p.quiet_until = until;
	p.boards = codes;
	m.device_id = id;
	m.prefs = &p;
	Renkei__V1__Envelope set = RENKEI__V1__ENVELOPE__INIT;
	set.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_PREFS_REQUEST;
	set.notice_prefs_request = &m;
	rc = devices_call(cli, &set, CLI_RETRIES); /* a replacement: repeatable */
	free(bl);
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return rc;
}

static int
notify_test(struct cli *cli, int argc, char **argv)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__NoticeTestRequest m = RENKEI__V1__NOTICE_TEST_REQUEST__INIT;
	int rc;

	if (argc > 2)
		return cli_usage_error(cli, "one device at a time");
	if (argc == 2 && (rc = parse_id(cli, argv[1], &m.device_id)) != CLI_EXIT_OK)
		return rc;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_TEST_REQUEST;
	req.notice_test_request = &m;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_NOTICE_TEST_RESPONSE,
	                 &resp, 0);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		cli_json_print(cli, json_pack("{s:i}", "queued",
		                              (int)resp->notice_test_response->queued));
	else
		printf("A test notice is on its way to %u device%s.\n",
		       resp->notice_test_response->queued,
		       resp->notice_test_response->queued == 1 ? "" : "s");
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

static int
notify_vapid_key(struct cli *cli)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT, *resp = NULL;
	Renkei__V1__NoticeVapidKeyRequest m = RENKEI__V1__NOTICE_VAPID_KEY_REQUEST__INIT;
	int rc;

	req.body_case = RENKEI__V1__ENVELOPE__BODY_NOTICE_VAPID_KEY_REQUEST;
	req.notice_vapid_key_request = &m;
	rc = cli_request(cli, &req, RENKEI__V1__ENVELOPE__BODY_NOTICE_VAPID_KEY_RESPONSE,
	                 &resp, CLI_RETRIES);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		cli_json_print(cli, json_pack("{s:o}", "public_key",
		                              cli_json_str(resp->notice_vapid_key_response
		                                                   ->public_key_b64url)));
	else
		printf("%s\n", resp->notice_vapid_key_response->public_key_b64url);
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

int
cli_cmd_notify(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(cli, "say what: devices, add-email, remove, prefs, "
		                            "test or vapid-key");
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return cli_command_help(cli);
	if (strcmp(sub, "devices") == 0 && argc == 2)
		return notify_devices(cli);
	if (strcmp(sub, "add-email") == 0)
		return notify_add_email(cli, argc - 1, argv + 1);
	if (strcmp(sub, "remove") == 0 && argc == 3)
		return notify_remove(cli, argv[2]);
	if (strcmp(sub, "prefs") == 0)
		return notify_prefs(cli, argc - 1, argv + 1);
	if (strcmp(sub, "test") == 0)
		return notify_test(cli, argc - 1, argv + 1);
	if (strcmp(sub, "vapid-key") == 0 && argc == 2)
		return notify_vapid_key(cli);
	return cli_usage_error(cli, "unknown or incomplete: notify %s", sub);
}
