/*
 * renkei — the command-line client of the renkei care-team messaging
 * server. This file only parses the global options, loads the
 * configuration and dispatches to the command; the commands live one
 * group per file (session.c, ...), the helpers they share in cli.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;   /* arguments, after "renkei NAME" */
	const char *summary; /* one line */
	const char *details; /* more, for 'help NAME' and 'NAME --help'; or NULL */
};

static int cmd_help(struct cli *cli, int argc, char **argv);

/* Add new commands here (and declare them in cli.h). */
static const struct command commands[] = {
	{ "login", cli_cmd_login,
	  "[--password-stdin] [--code CODE | --recovery-code CODE] LOGIN",
	  "log in; the password is asked for (or read from stdin), the session is cached",
	  "An account with a second factor also needs the 6-digit code of its\n"
	  "authenticator app: give it with --code, or type it when asked (with\n"
	  "--password-stdin, it is read from the next line of stdin: \"PASSWORD\\nCODE\").\n"
	  "A recovery code (xxxxx-xxxxx, each works once) signs in in its place:\n"
	  "--recovery-code, or type it when asked. If the account must have a second\n"
	  "factor and has none yet, the session can only enrol: run 'renkei 2fa enroll'.\n"
	  "If the password was a one-time one (from an admin, or a family invitation\n"
	  "code), the server allows nothing until you choose your own: on a terminal\n"
	  "login asks for it right away (twice); with --password-stdin it says to run\n"
	  "'renkei password'." },
	{ "password", cli_cmd_password, "[--password-stdin]",
	  "change my password; my other sessions end, this one stays",
	  "Asks for the current password, then the new one twice, without echo.\n"
	  "--password-stdin reads two lines instead: the current password, then the\n"
	  "new one (for scripts). The new password needs at least 8 characters for an\n"
	  "account with a second factor (by default every professional), 13 without,\n"
	  "and may not be a dictionary word or common password, nor hold your login or\n"
	  "name; the server says which rule it breaks. After a login with a one-time\n"
	  "password, give that one as the current password." },
	{ "logout", cli_cmd_logout, "", "end the cached session on the server and forget it",
	  NULL },
	{ "whoami", cli_cmd_whoami, "", "show who the cached session belongs to, and until when",
	  NULL },
	{ "2fa", cli_cmd_2fa, "enroll [--no-qr] | status",
	  "set up or check my second factor (an authenticator app, TOTP)",
	  "enroll   the server makes a secret; it is shown as a QR code (on a terminal),\n"
	  "         a link and a key to type; scan it with an authenticator app (FreeOTP,\n"
	  "         Google or Microsoft Authenticator, ...) and type the 6-digit code it\n"
	  "         shows (read from stdin when that is not a terminal). Prints ten\n"
	  "         recovery codes, once: keep them safe. Enrolling again needs an\n"
	  "         administrator's reset (renkei-server user reset-2fa LOGIN).\n"
	  "status   enrolled or not, since when, recovery codes left, and whether the\n"
	  "         server requires a second factor of you.\n"
	  "Family members may enrol too; from then on they are asked for a code." },
	{ "sessions", cli_cmd_sessions, "[revoke ID]",
	  "list my open sessions (device, address, last use), or end one",
	  "Each login is a session, bound to the device key of the configuration that\n"
	  "made it (file device-key, mode 0600, beside the cached session). 'revoke ID'\n"
	  "ends that session at once: its connections are closed, and its token no\n"
	  "longer works. Revoking the current one logs this configuration out too." },
	{ "notify", cli_cmd_notify,
	  "devices | add-email ADDRESS [--label L] | remove ID | prefs [ID] "
	  "[--urgent-only on|off] [--quiet HH:MM-HH:MM|off] [--boards CODE,...|all] | "
	  "test [ID] | vapid-key",
	  "my devices for notices (Web Push, e-mail), their preferences, a test notice",
	  "A notice says only that something is waiting (\"renkei: 1 new urgent post\"),\n"
	  "never a patient's name, code or text: open renkei to read it.\n"
	  "devices    my push subscriptions (made by the browser app) and e-mail addresses\n"
	  "add-email  get notices by e-mail at ADDRESS\n"
	  "remove     stop notices to device ID\n"
	  "prefs      show or change my preferences (no ID) or device ID's: urgent posts\n"
	  "           only, quiet hours in Japan time (only urgent ones come through), the\n"
	  "           boards (patient codes) to hear of; options not given stay as they are\n"
	  "test       send a test notice to device ID, or to all my devices\n"
	  "vapid-key  the server's Web Push public key (base64url), for subscribing" },
	{ "patients", cli_cmd_patients, "", "list my patients: the boards I may read", NULL },
	{ "patient", cli_cmd_patient, "PATIENT",
	  "show a patient and their liaison sheet (the care team)", NULL },
	{ "board", cli_cmd_board, "PATIENT [--before SEQ | --after SEQ] [--limit N]",
	  "read a patient's board, newest first",
	  "Posts are numbered #1, #2, ... on each board (SEQ) and have an id across\n"
	  "boards: amend, retract, ack and acks take the id. A page holds 50 posts\n"
	  "(--limit: 1 to 200); --before SEQ pages back, --after SEQ pages forward." },
	{ "post", cli_cmd_post,
	  "PATIENT --text TEXT [--kind KIND] [--visibility VIS] [--urgent] [--vitals LIST] "
	  "[--photo FILE]... [--to LOGIN,...] [--request [--owner LOGIN] [--due TIME]] "
	  "[--client-id ID]",
	  "post on a patient's board",
	  "--text -       read the text from stdin\n"
	  "--kind         visit_note, vitals, medication, care, handoff or general (default)\n"
	  "--visibility   all (family too), professional (default: not family) or clinical\n"
	  "--vitals LIST  e.g. bt=36.8,bp=112/68,p=88,spo2=95,rr=18 (any of them)\n"
	  "--photo FILE   attach a photo (JPEG or PNG; up to 10, in order). The server\n"
	  "               keeps the pixels only: no location or other metadata.\n"
	  "--to LIST      address the post (宛先) to people on the patient's sheet,\n"
	  "               e.g. --to dr.tanaka,ns.kobayashi: they are notified, and it\n"
	  "               is in their inbox until they confirm it (renkei ack)\n"
	  "--request      ask something of them (依頼): the owner (--owner, default\n"
	  "               the first of --to) has it in their inbox until `renkei done`\n"
	  "--due TIME     when the request should be done: +2h, +1d, 2026-12-05 (the\n"
	  "               end of that day) or 2026-12-05T10:00; past it, you are told\n"
	  "--client-id    the post's idempotency key (default: a new random UUID)\n"
	  "A lost connection or a timeout is retried, up to 3 times, with the same\n"
	  "client id: the post is stored once. Photos go first (a progress bar on a\n"
	  "terminal); an upload cut off resumes where the server has it, also when the\n"
	  "same command is run again with the same --client-id. If the server refuses\n"
	  "a photo (not a photo, HEIC, damaged, too large) nothing is posted.\n"
	  "For tests: --upload-stop-after BYTES drops the connection after sending\n"
	  "that many bytes of the first photo, and exits with status 6." },
	{ "amend", cli_cmd_amend, "POST --text TEXT [--vitals LIST] [--urgent] [--client-id ID]",
	  "correct one of my posts: a new version, linked to the old one",
	  "POST is the id of the latest version. The new version replaces the text,\n"
	  "the vitals and the urgent flag: give them all again. Kind and visibility\n"
	  "stay those of the original. Retried like post." },
	{ "retract", cli_cmd_retract, "POST --reason TEXT [--client-id ID]",
	  "retract one of my posts, saying why; the original is kept", NULL },
	{ "ack", cli_cmd_ack, "POST", "confirm (確認) that I have read a post", NULL },
	{ "acks", cli_cmd_acks, "POST", "show who confirmed a post and who has not yet", NULL },
	{ "inbox", cli_cmd_inbox, "[--limit N]",
	  "what is addressed to me, the requests I own, and my requests past due",
	  "Three lists, of boards I may read now: posts addressed to me that I have\n"
	  "not confirmed (renkei ack POST confirms), open requests for me by due time\n"
	  "(renkei done POST closes one), and requests I made that are past their due\n"
	  "time. --limit: posts per list, 1 to 500 (default 100)." },
	{ "done", cli_cmd_done, "POST", "mark a request I own as done", NULL },
	{ "watch", cli_cmd_watch, "[PATIENT...]",
	  "print new posts and confirmations as they come (all my boards if none named)",
	  "Starts with what was posted since the last watch of the same boards (the\n"
	  "first time: everything), then follows live. A lost connection is retried\n"
	  "(every 0.5 s to 10 s) and resumed without losing or repeating a post.\n"
	  "Ctrl-C stops. With --json: one JSON object per line." },
	{ "sheet", cli_cmd_sheet,
	  "PATIENT | add PATIENT LOGIN --role R [--primary] [--from D] [--until D] [--contact C]"
	  " | change PATIENT LOGIN [...] | end PATIENT LOGIN [--reason R] | history PATIENT | callorder PATIENT LOGIN[+LOGIN],...",
	  "show or change a patient's liaison sheet (連携シート)",
	  "Dates are YYYY-MM-DD (Japan); --until is the last valid day. Editors: the\n"
	  "primary physician, the care manager, the community centre, and the\n"
	  "hospital MSW while a hand-off is open. Every change is kept in the history.\n"
	  "callorder PATIENT dr.a,dr.b+ns.c  sets the call order (連絡順) urgent posts\n"
	  "escalate along: commas between slots (first call first), '+' between the\n"
	  "people of one slot; \"\" clears it (docs/oncall.md)." },
	{ "oncall", cli_cmd_oncall,
	  "show ORG | set ORG LOGIN --from TIME (--until TIME | --hours N) | set ORG --remove ID",
	  "an organisation's on-call rota (当番): who is on duty when",
	  "During a shift, the person on duty reads and posts on the boards of the\n"
	  "patients with a member of the organisation on their sheet, and is called\n"
	  "last when an urgent post is not confirmed. TIME: 2026-12-24T18:00, a date,\n"
	  "now, or an age (2h: two hours ago). Set by an administrator or a\n"
	  "physician or nurse of the organisation; shown to its members." },
	{ "handoff", cli_cmd_handoff,
	  "open PATIENT [--discharge D] [--summary T] [--new --name N ...] | propose PATIENT "
	  "LOGIN=ROLE[:primary] ... | conference PATIENT --at TIME | accept PATIENT | show PATIENT",
	  "discharge hand-off (退院連携) from hospital to the home team",
	  "The hospital MSW opens, proposes the home team and records the discharge\n"
	  "conference; the home primary physician or care manager accepts. The\n"
	  "hospital team then reads only, and loses access after the configured time." },
	{ "breakglass", cli_cmd_breakglass, "PATIENT --reason TEXT [--code CODE]",
	  "emergency read-only access to a board you are not on (physicians, nurses)",
	  "The reason (at least 10 characters) is recorded and shown to the team.\n"
	  "The access is read-only and ends after a few hours. With a second factor,\n"
	  "a fresh code of your authenticator app is needed: --code, or typed when\n"
	  "asked." },
	{ "family", cli_cmd_family, "invite PATIENT LOGIN --name NAME --relation REL",
	  "invite a family member (primary physician or care manager)",
	  "A new account gets a one-time invitation code, shown once: hand it over in\n"
	  "person. The family member logs in with their login and the code as the\n"
	  "password, and must then choose their own password (renkei login asks for\n"
	  "it; or renkei password). An existing family account is added as it is." },
	{ "attachment", cli_cmd_attachment, "get ID -o FILE [--thumbnail]",
	  "save a photo attached to a post (its id as 'board' shows it)",
	  "Saved whole or not at all (mode 0600): FILE appears only once every byte\n"
	  "arrived. --thumbnail saves the small JPEG (at most 320 px) instead." },
	{ "audit", cli_cmd_audit,
	  "query [--patient CODE] [--user LOGIN] [--org CODE] [--action NAME] "
	  "[--outcome ok|failed] [--since T] [--until T] [--limit N] [--after ID] [--all] | "
	  "export [--since T] [--until T] [--format jsonl|csv] [--code CODE] -o FILE | "
	  "pubkey [-o FILE] | verify FILE --pubkey KEY",
	  "read the audit trail: who did what to which record, when, from where (auditors)",
	  "query    records oldest first, a page (--limit, default 100, at most 1000) at\n"
	  "         a time; --after ID goes on from a record, --all fetches every page\n"
	  "export   a time range to a file: jsonl (verifiable offline) or csv (Excel);\n"
	  "         with a second factor, a fresh code is needed (--code, or typed)\n"
	  "pubkey   the public key that verifies exports (PEM)\n"
	  "verify   check an export offline, with only the public key: no server, no\n"
	  "         login. Prints 'OK: N records, M checkpoints verified', or names the\n"
	  "         first record that fails (exit 1).\n"
	  "T is a date or time, local unless it has a zone (2026-11-15, 2026-11-15T09:00,\n"
	  "2026-11-15T09:00+09:00), or an age: 7d, 24h, 30m, 2w. A date alone in --until\n"
	  "includes that day. Actions: login, board.read, board.sync, post.create,\n"
	  "attachment.read, audit.query, user.create, user.disable, user.enable,\n"
	  "user.reset_password, user.reset_2fa, user.unlock, org.add, ... e.g. who\n"
	  "opened a board in the last week, and who disabled which account:\n"
	  "  renkei audit query --patient pt-yamada --action board.read --since 7d\n"
	  "  renkei audit query --action user.disable" },
	{ "admin", cli_cmd_admin,
	  "disable|enable|unlock|reset-password|reset-2fa LOGIN --reason WHY | "
	  "add-user LOGIN --name NAME --profession P [--org CODE] --reason WHY | "
	  "add-org CODE NAME [--kind K] [--area A] --reason WHY",
	  "manage accounts (admins): each change is recorded with the reason",
	  "disable         the account can no longer log in; its sessions end now\n"
	  "enable          it can log in again\n"
	  "unlock          forget its failed logins (no more waiting)\n"
	  "reset-password  a new one-time password, printed once; sessions end now\n"
	  "reset-2fa       forget its second factor (enrolled again at next login);\n"
	  "                sessions end now\n"
	  "add-user        a new account with a one-time password, printed once\n"
	  "add-org         a new organisation\n"
	  "Professions: physician, dentist, nurse, pharmacist, rehab, msw,\n"
	  "care_manager, community_center, care_worker, family, auditor, admin.\n"
	  "On the server's host, renkei-server user ... does the same (docs/accounts.md)." },
	{ "bench", cli_cmd_bench, "SCENARIO [OPTIONS]", "load-test a server on this machine (renkei bench --help)", NULL },
	{ "help", cmd_help, "[COMMAND]", "show this help, or the usage of one command", NULL },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
print_help(const struct cli *cli, FILE *f)
{
	size_t i;

	fprintf(f,
	        "usage: %s [--server URL] [--ca FILE] [--json] COMMAND [ARGS]\n"
	        "\n"
	        "renkei is the command-line client of the renkei care-team messaging server.\n"
	        "\n"
	        "Commands:\n",
	        cli->prog);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s%s%s\n      %s\n", commands[i].name, *commands[i].usage ? " " : "",
		        commands[i].usage, commands[i].summary);
	fprintf(f,
	        "\n"
	        "More about one: %s help COMMAND, or %s COMMAND --help.\n"
	        "\n"
	        "Global options (before the command):\n"
	        "  --server URL  server to use (wss://host:port); default: 'server' in the\n"
	        "                config file, else %s. Saved by login.\n"
	        "  --ca FILE     CA certificate(s) (PEM) that the server's certificate must\n"
	        "                chain to; default: 'ca' in the config file. Saved by login.\n"
	        "  --json        print machine-readable JSON on stdout, errors included\n"
	        "  --help        show this help\n"
	        "\n"
	        "Files: in $RENKEI_CONFIG_DIR, else $XDG_CONFIG_HOME/renkei, else\n"
	        "~/.config/renkei: 'config' (INI: server = URL, ca = FILE, and for a\n"
	        "server that asks for device certificates cert = FILE, key = FILE),\n"
	        "'session' (the cached session token, readable by you only),\n"
	        "'device-key' (this device's key, which signs every resume; mode 0600)\n"
	        "and 'cursor' (where 'watch' stopped).\n"
	        "\n"
	        "Exit status: 0 success, 1 failure, 2 usage or configuration error,\n"
	        "3 not logged in or session ended, 4 permission denied or not found,\n"
	        "5 other error from the server, 6 connection or TLS failure.\n",
	        cli->prog, cli->prog, CLI_DEFAULT_SERVER);
}

static int
cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd;
	struct cli about;
	json_t *list;
	size_t i;

	if (argc > 2)
		return cli_usage_error(cli, "too many arguments");
	if (argc == 2) {
		cmd = find_command(argv[1]);
		if (cmd == NULL)
			return cli_usage_error(cli, "no command '%s'", argv[1]);
		if (cli->json) {
			cli_json_print(cli, json_pack("{s:s,s:s,s:s,s:s?}", "name", cmd->name,
			                              "usage", cmd->usage, "summary", cmd->summary,
			                              "details", cmd->details));
			return CLI_EXIT_OK;
		}
		/* as if `renkei NAME --help` */
		about = *cli;
		about.cmd = cmd->name;
		about.cmd_usage = cmd->usage;
		about.cmd_summary = cmd->summary;
		about.cmd_details = cmd->details;
		return cli_command_help(&about);
	}
	if (cli->json) {
		list = json_array();
		for (i = 0; i < N_COMMANDS; i++)
			json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s?}", "name",
			                                      commands[i].name, "usage",
			                                      commands[i].usage, "summary",
			                                      commands[i].summary, "details",
			                                      commands[i].details));
		cli_json_print(cli, json_pack("{s:o}", "commands", list));
		return CLI_EXIT_OK;
	}
	print_help(cli, stdout);
	return CLI_EXIT_OK;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *val if it is
 * option `name`, 0 if it is another, -1 if its value is missing. */
static int
option_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* Flush stdout and report a failure to write it (a full disk, a closed
 * pipe): a command must not claim success for output nobody got. */
static int
finish(struct cli *cli, int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write the output\n", cli->prog);
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_FAIL;
	}
	cli_config_free(cli);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	const struct command *cmd;
	const char *val = NULL;
	int i, r, rc;

	memset(&cli, 0, sizeof cli);
	cli.prog = "renkei";

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--json") == 0) {
			cli.json = 1;
			continue;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_help(&cli, stdout);
			return finish(&cli, CLI_EXIT_OK);
		}
		if ((r = option_value(argc, argv, &i, "--server", &val)) != 0) {
			if (r < 0)
				return finish(&cli, cli_usage_error(&cli, "--server needs a URL"));
			cli.opt_server = val;
			continue;
		}
		if ((r = option_value(argc, argv, &i, "--ca", &val)) != 0) {
			if (r < 0)
				return finish(&cli, cli_usage_error(&cli, "--ca needs a file"));
			cli.opt_ca = val;
			continue;
		}
		return finish(&cli, cli_usage_error(&cli, "unknown option '%s'", argv[i]));
	}
	if (i >= argc) {
		if (cli.json)
			return finish(&cli, cli_usage_error(&cli, "missing command"));
		print_help(&cli, stderr);
		return finish(&cli, CLI_EXIT_USAGE);
	}
	cmd = find_command(argv[i]);
	if (cmd == NULL)
		return finish(&cli, cli_usage_error(&cli, "unknown command '%s'", argv[i]));
	cli.cmd = cmd->name;
	cli.cmd_usage = cmd->usage;
	cli.cmd_summary = cmd->summary;
	cli.cmd_details = cmd->details;

	rc = cli_config_load(&cli);
	if (rc == CLI_EXIT_OK)
		rc = cmd->run(&cli, argc - i, argv + i);
	return finish(&cli, rc);
}
