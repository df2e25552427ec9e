/*
 * `renkei bench`: the command, its options and the dispatch to a
 * scenario, with the signals of a run. The scenarios live in
 * bench_posts.c, bench_conns.c, bench_read.c, bench_upload.c and
 * bench_flood.c, what they all share (the stop flag, clocks, samples,
 * the report) in bench_run.c; see bench.h for the map.
 */
#include "bench.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char bench_help[] =
	"usage: renkei [--server URL] [--ca FILE] [--json] bench SCENARIO [OPTIONS]\n"
	"\n"
	"Load-test a renkei server running on this machine (loopback only) over the\n"
	"real protocol and TLS. Bench accounts (bench-m<M>-u<N>, patients\n"
	"bench-m<M>-p<N>, organisation org-bench) are imported into the server's data\n"
	"folder with renkei-server import the first time they are needed.\n"
	"\n"
	"Scenarios:\n"
	"  setup        create the accounts for --boards x --members (done by the others\n"
	"               when needed)\n"
	"  posts        B boards x M members online; posters post, everyone receives:\n"
	"               durable posts/s, ack latency, deliveries/s, delivery latency\n"
	"  connections  N authenticated idle connections: time to connect, server RSS\n"
	"  reconnect    B x M clients drop, K posts per board are made, all reconnect\n"
	"               with their cursors: time until all have caught up\n"
	"  timeline     reads of the latest page of random boards\n"
	"  upload       photo uploads (UploadBegin/Chunk/Finish): MiB/s\n"
	"  flood        one user reads timelines while, one phase after another: (a) N\n"
	"               connections from this address, (b) pipelined requests from one\n"
	"               session, (c) connections each starting a message they never\n"
	"               finish, (d) wrong passwords: the reader's p50/p99 in each phase\n"
	"               against a quiet baseline, and the server's RSS\n"
	"  login-flood  one user reads timelines while many connections from many\n"
	"               addresses send wrong passwords (half of them for that user's\n"
	"               login); then that user logs in\n"
	"Every run also reports the server's CPU time (from /proc) and its group\n"
	"commits and batch sizes (from GET /metrics).\n"
	"\n"
	"Options:\n"
	"  --data DIR          the server's data folder (default renkei-data)\n"
	"  --server-bin PATH   renkei-server for setup (default: beside renkei)\n"
	"  --server-pid PID    the server's process (default: found by its port)\n"
	"  --no-setup          fail rather than import missing bench accounts\n"
	"  --boards B          boards (patients) (default 100)\n"
	"  --members M         members on each board, all online (default 8)\n"
	"  --duration S        measured seconds (default 10)\n"
	"  --warmup S          seconds before measuring (default 2)\n"
	"  --window N          TLS handshakes in flight at once (default 64)\n"
	"  posts:       --rate R (total posts/s, open loop; default: as fast as acks\n"
	"               come, --inflight N outstanding per poster, default 4),\n"
	"               --posters P per board (default 1), --text-bytes N (default 1024),\n"
	"               --notice-devices: every member first registers an e-mail\n"
	"               address for notices (docs/notice.md), so that each post is\n"
	"               noticed (compare with the server's notice_enabled 0)\n"
	"  connections: --conns N (default 1000), --hold S (default 1)\n"
	"  reconnect:   --posts K per board while away (default 20)\n"
	"  timeline:    --concurrency C (default 32), --limit N page size (default 50),\n"
	"               --fill N posts each board should have first (default 50)\n"
	"  upload:      --concurrency C (default 2), --photo FILE (default: a generated\n"
	"               1600x1200 PNG)\n"
	"  flood:       --duration S quiet baseline (default 5), --read-rate R reader's\n"
	"               reads/s (default 100), --limit N page (default 50), --conns N\n"
	"               for (a) (default 5000), --hold S (default 2), --requests N for\n"
	"               (b) (default 50000), --partial N for (c) (default 500) with\n"
	"               --partial-bytes B announced (default 1048576) and\n"
	"               --partial-sent B sent (default 8000), --attempts N for (d)\n"
	"               (default 1000) from --attackers N connections (default 100);\n"
	"               --boards defaults to 2 (the reader's board, the pipeliner's)\n"
	"  login-flood: the baseline and (d) alone: --attempts N (default 1000) from\n"
	"               --attackers N connections (default 200) spread over --sources N\n"
	"               loopback addresses 127.0.0.2.. (default 50; 0 = one address),\n"
	"               every other one for the reader's own login; then that user\n"
	"               logs in afresh (it must not be locked out)\n"
	"\n"
	"Limits: one process holds as many connections as RLIMIT_NOFILE allows\n"
	"(raised to the hard limit); 'connections' forks worker processes beyond\n"
	"that. The server has its own file limit, and one client address has about\n"
	"28000 ports towards one server port.\n";

enum {
	O_DATA = 256, O_BIN, O_PID, O_NOSETUP, O_BOARDS, O_MEMBERS, O_DURATION, O_WARMUP,
	O_WINDOW, O_RATE, O_INFLIGHT, O_POSTERS, O_TEXT, O_CONNS, O_HOLD, O_POSTS, O_CONC,
	O_LIMIT, O_FILL, O_PHOTO, O_REQUESTS, O_PARTIAL, O_PBYTES, O_PSENT, O_ATTEMPTS,
	O_ATTACKERS, O_READRATE, O_SOURCES, O_NOTICE
};

static int
num(struct cli *cli, const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
		return cli_usage_error(cli, "--%s: '%s' is not a number from %g to %g", opt, s,
		                       lo, hi);
	*out = v;
	return CLI_EXIT_OK;
}

static int
parse(struct bench_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, O_DATA},
		{"server-bin", required_argument, NULL, O_BIN},
		{"server-pid", required_argument, NULL, O_PID},
		{"no-setup", no_argument, NULL, O_NOSETUP},
		{"notice-devices", no_argument, NULL, O_NOTICE},
		{"boards", required_argument, NULL, O_BOARDS},
		{"members", required_argument, NULL, O_MEMBERS},
		{"duration", required_argument, NULL, O_DURATION},
		{"warmup", required_argument, NULL, O_WARMUP},
		{"window", required_argument, NULL, O_WINDOW},
		{"rate", required_argument, NULL, O_RATE},
		{"inflight", required_argument, NULL, O_INFLIGHT},
		{"posters", required_argument, NULL, O_POSTERS},
		{"text-bytes", required_argument, NULL, O_TEXT},
		{"conns", required_argument, NULL, O_CONNS},
		{"hold", required_argument, NULL, O_HOLD},
		{"posts", required_argument, NULL, O_POSTS},
		{"concurrency", required_argument, NULL, O_CONC},
		{"limit", required_argument, NULL, O_LIMIT},
		{"fill", required_argument, NULL, O_FILL},
		{"photo", required_argument, NULL, O_PHOTO},
		{"requests", required_argument, NULL, O_REQUESTS},
		{"partial", required_argument, NULL, O_PARTIAL},
		{"partial-bytes", required_argument, NULL, O_PBYTES},
		{"partial-sent", required_argument, NULL, O_PSENT},
		{"attempts", required_argument, NULL, O_ATTEMPTS},
		{"attackers", required_argument, NULL, O_ATTACKERS},
		{"sources", required_argument, NULL, O_SOURCES},
		{"read-rate", required_argument, NULL, O_READRATE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const struct {
		int id;
		double lo, hi;
		int *i;
		double *d;
	} nums[] = {
		{O_PID, 1, 1 << 30, &o->server_pid, NULL},
		{O_BOARDS, 1, 9999, &o->boards, NULL},
		{O_MEMBERS, 1, 99, &o->members, NULL},
		{O_DURATION, 0.1, 3600, NULL, &o->duration_s},
		{O_WARMUP, 0, 600, NULL, &o->warmup_s},
		{O_WINDOW, 1, 10000, &o->window, NULL},
		{O_RATE, 0.1, 1e7, NULL, &o->rate},
		{O_INFLIGHT, 1, 1000, &o->inflight, NULL},
		{O_POSTERS, 1, 99, &o->posters, NULL},
		{O_TEXT, 1, 16384, &o->text_bytes, NULL},
		{O_CONNS, 1, 1000000, &o->conns, NULL},
		{O_HOLD, 0, 3600, NULL, &o->hold_s},
		{O_POSTS, 1, 100000, &o->posts_per_board, NULL},
		{O_CONC, 1, 10000, &o->concurrency, NULL},
		{O_LIMIT, 1, 1000, &o->limit, NULL},
		{O_FILL, 0, 100000, &o->fill, NULL},
		{O_REQUESTS, 1, 10000000, &o->requests, NULL},
		{O_PARTIAL, 1, 100000, &o->partial, NULL},
		{O_PBYTES, 2, 1 << 30, &o->partial_bytes, NULL},
		{O_PSENT, 0, 64 << 20, &o->partial_sent, NULL},
		{O_ATTEMPTS, 1, 1000000, &o->attempts, NULL},
		{O_ATTACKERS, 1, 100000, &o->attackers, NULL},
		{O_SOURCES, 0, 250, &o->sources, NULL},
		{O_READRATE, 0.1, 100000, NULL, &o->read_rate},
	};
	double v = 0;
	size_t j, k;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(bench_help, stdout);
			return CLI_EXIT_OK;
		case O_DATA:
			o->data = optarg;
			continue;
		case O_BIN:
			o->server_bin = optarg;
			continue;
		case O_PHOTO:
			o->photo = optarg;
			continue;
		case O_NOTICE:
			o->notice_devices = 1;
			continue;
		case O_NOSETUP:
			o->no_setup = 1;
			continue;
		case ':':
			return cli_usage_error(o->cli, "%s needs a value", argv[optind - 1]);
		case '?':
			return cli_unknown_option(o->cli, argv[optind - 1]);
		default:
			break;
		}
		for (k = 0; k < sizeof nums / sizeof nums[0] && nums[k].id != ch; k++)
			;
		if (k == sizeof nums / sizeof nums[0])
			return cli_unknown_option(o->cli, argv[optind - 1]);
		for (j = 0; opts[j].name != NULL && opts[j].val != ch; j++)
			;
		rc = num(o->cli, opts[j].name, optarg, nums[k].lo, nums[k].hi, &v);
		if (rc != CLI_EXIT_OK)
			return rc;
		if (nums[k].i != NULL)
			*nums[k].i = (int)v;
		else
			*nums[k].d = v;
	}
	if (argc - optind > 0)
		return cli_usage_error(o->cli, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* As many descriptors as the hard limit allows: every connection is one. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
cli_cmd_bench(struct cli *cli, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct bench_opts *o);
	} scenarios[] = {
		{"setup", bench_cmd_setup},         {"posts", bench_cmd_posts},
		{"connections", bench_cmd_connections}, {"reconnect", bench_cmd_reconnect},
		{"timeline", bench_cmd_timeline},   {"upload", bench_cmd_upload},
		{"flood", bench_cmd_flood},         {"login-flood", bench_cmd_flood},
	};
	struct sigaction sa, old_int, old_term, old_pipe;
	struct bench_opts o;
	size_t i;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc < 2)
			return cli_usage_error(cli, "which scenario? (renkei bench --help)");
		fputs(bench_help, stdout);
		return CLI_EXIT_OK;
	}
	memset(&o, 0, sizeof o);
	o.cli = cli;
	o.scenario = argv[1];
	o.url = cli_server_url(cli);
	o.ca = cli_ca_file(cli) ? cli_ca_file(cli) : BENCH_DEFAULT_CA;
	o.data = BENCH_DEFAULT_DATA;
	o.boards = 100;
	o.members = 8;
	o.duration_s = 10;
	o.warmup_s = 2;
	o.inflight = 4;
	o.posters = 1;
	o.text_bytes = 1024;
	o.conns = 1000;
	o.hold_s = 1;
	o.posts_per_board = 20;
	o.limit = 50;
	o.fill = 50;
	o.window = 64;
	o.requests = 50000;
	o.partial = 500;
	o.partial_bytes = 1 << 20;
	o.partial_sent = 8000;
	o.attempts = 1000;
	o.attackers = 100;
	o.read_rate = 100;
	o.sources = 50;
	if (strcmp(o.scenario, "login-flood") == 0) {
		o.boards = 1;
		o.attackers = 200;
		o.duration_s = 5;
	}
	if (strcmp(o.scenario, "flood") == 0) {
		o.boards = 2;
		o.conns = 5000;
		o.hold_s = 2;
		o.duration_s = 5;
	}
	if ((rc = parse(&o, argc - 1, argv + 1)) != -1)
		return rc;
	if (o.partial_sent >= o.partial_bytes)
		return cli_usage_error(cli, "--partial-sent must be less than --partial-bytes");
	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (strcmp(scenarios[i].name, o.scenario) == 0)
			break;
	if (i == sizeof scenarios / sizeof scenarios[0])
		return cli_usage_error(cli, "no scenario '%s' (renkei bench --help)", o.scenario);
	if (o.posters > o.members)
		return cli_usage_error(cli, "--posters cannot exceed --members");

	raise_nofile();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = bench_on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* a server that resets a connection must not kill the bench */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	rc = scenarios[i].run(&o);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}
