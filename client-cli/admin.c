/*
 * The administrators' commands (renkei.proto, "administration"; admins
 * only: the server refuses anyone else, exit 4):
 *
 *   renkei admin disable|enable|unlock|reset-password|reset-2fa LOGIN
 *                --reason WHY
 *   renkei admin add-user LOGIN --name NAME --profession P [--org CODE]
 *                --reason WHY
 *   renkei admin add-org CODE NAME [--kind K] [--area A] --reason WHY
 *
 * The server records each with the admin, the target and the reason; a
 * one-time password (add-user, reset-password) is printed once, to hand
 * over in person.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define B(name) RENKEI__V1__ENVELOPE__BODY_##name

static const struct {
	const char *word;
	Renkei__V1__Envelope__BodyCase body;
	const char *done; /* after "user LOGIN" */
} user_ops[] = {
	{"disable", B(ADMIN_DISABLE_USER_REQUEST),
	 " disabled; their sessions are ended"},
	{"enable", B(ADMIN_ENABLE_USER_REQUEST), " enabled"},
	{"unlock", B(ADMIN_UNLOCK_USER_REQUEST),
	 ": failed logins forgotten (from every address)"},
	{"reset-password", B(ADMIN_RESET_PASSWORD_REQUEST),
	 ": their sessions are ended; new one-time password (shown once, to "
	 "be changed at next login):"},
	{"reset-2fa", B(ADMIN_RESET_SECOND_FACTOR_REQUEST),
	 ": second factor forgotten (they enrol again at next login); their "
	 "sessions are ended"},
};

static const char *const profs[] = {
	"", "physician", "dentist", "nurse", "pharmacist", "rehab", "msw",
	"care_manager", "community_center", "care_worker", "family", "auditor",
	"admin",
};

static int
profession_of(const char *name)
{
	for (size_t i = 1; i < sizeof(profs) / sizeof(profs[0]); i++)
		if (strcmp(profs[i], name) == 0)
			return (int)i;
	return 0;
}

/* Send, print the answer: "WHAT TARGET" then `done`. */
static int
send_op(struct cli *cli, Renkei__V1__Envelope *req, const char *what,
        const char *target, const char *done)
{
	Renkei__V1__Envelope *resp = NULL;
	struct rkc *c;
	int rc = cli_open_session(cli, &c);

	if (rc != CLI_EXIT_OK)
		return rc;
	/* Not retried on a new connection: a reset made twice would hand
	 * out two passwords, the first never seen. */
	rc = cli_call(cli, c, req, B(ADMIN_RESPONSE), &resp);
	rkc_close(c);
	if (rc != CLI_EXIT_OK)
		return rc;
	const Renkei__V1__AdminResponse *r = resp->admin_response;
	if (cli->json) {
		json_t *doc = json_object();
		json_object_set_new(doc, "target", cli_json_str(r->target));
		json_object_set_new(doc, "one_time_password",
		                    cli_json_str(r->one_time_password));
		json_object_set_new(doc, "sessions_closed",
		                    json_integer(r->sessions_closed));
		cli_json_print(cli, doc);
	} else {
		printf("%s %s%s", what, target, done);
		if (r->one_time_password[0] != '\0')
			printf(" %s", r->one_time_password);
		printf("\n");
		if (r->sessions_closed > 0)
			printf("%u open session%s closed now\n", r->sessions_closed,
			       r->sessions_closed == 1 ? "" : "s");
	}
	renkei__v1__envelope__free_unpacked(resp, NULL);
	return CLI_EXIT_OK;
}

int
cli_cmd_admin(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"name", required_argument, NULL, 'n'},
		{"profession", required_argument, NULL, 'p'},
		{"org", required_argument, NULL, 'o'},
		{"kind", required_argument, NULL, 'k'},
		{"area", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__AdminUserRequest ur = RENKEI__V1__ADMIN_USER_REQUEST__INIT;
	Renkei__V1__AdminCreateUserRequest cu =
		RENKEI__V1__ADMIN_CREATE_USER_REQUEST__INIT;
	Renkei__V1__AdminOrgAddRequest oa = RENKEI__V1__ADMIN_ORG_ADD_REQUEST__INIT;
	const char *reason = NULL, *name = NULL, *prof = NULL, *org = "",
	           *kind = "", *area = "", *op;
	int ch;

	if (argc < 2 || strcmp(argv[1], "--help") == 0)
		return argc >= 2 ? cli_command_help(cli)
		                 : cli_usage_error(cli, "which admin command?");
	op = argv[1];
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': reason = optarg; break;
		case 'n': name = optarg; break;
		case 'p': prof = optarg; break;
		case 'o': org = optarg; break;
		case 'k': kind = optarg; break;
		case 'a': area = optarg; break;
		case 'h': return cli_command_help(cli);
		default: return cli_unknown_option(cli, argv[optind - 1]);
		}
	}
	if (reason == NULL)
		return cli_usage_error(cli, "give a reason (--reason WHY): it goes "
		                            "into the audit trail");
	for (size_t i = 0; i < sizeof(user_ops) / sizeof(user_ops[0]); i++) {
		if (strcmp(op, user_ops[i].word) != 0)
			continue;
		if (argc - optind != 1)
			return cli_usage_error(cli, "give one LOGIN");
		ur.login = argv[optind];
		ur.reason = (char *)reason;
		req.body_case = user_ops[i].body;
		req.admin_disable_user_request = &ur; /* one offset for all */
		return send_op(cli, &req, "user", ur.login, user_ops[i].done);
	}
	if (strcmp(op, "add-user") == 0) {
		if (argc - optind != 1 || name == NULL || prof == NULL)
			return cli_usage_error(cli, "give LOGIN, --name and --profession");
		cu.profession = (Renkei__V1__Profession)profession_of(prof);
		if (cu.profession == 0)
			return cli_usage_error(cli, "unknown profession \"%s\"", prof);
		cu.login = argv[optind];
		cu.display_name = (char *)name;
		cu.org = (char *)org;
		cu.reason = (char *)reason;
		req.body_case = B(ADMIN_CREATE_USER_REQUEST);
		req.admin_create_user_request = &cu;
		return send_op(cli, &req, "user", cu.login,
		               " added; one-time password (shown once, to be changed "
		               "at first login):");
	}
	if (strcmp(op, "add-org") == 0) {
		if (argc - optind != 2)
			return cli_usage_error(cli, "give CODE and NAME");
		oa.code = argv[optind];
		oa.name = argv[optind + 1];
		oa.kind = (char *)kind;
		oa.area = (char *)area;
		oa.reason = (char *)reason;
		req.body_case = B(ADMIN_ORG_ADD_REQUEST);
		req.admin_org_add_request = &oa;
		return send_op(cli, &req, "organisation", oa.code, " added");
	}
	return cli_usage_error(cli, "unknown admin command \"%s\"", op);
}
