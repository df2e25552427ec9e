/*
 * renkei-server: options, configuration, and the wiring of the modules.
 * Nothing else lives here.
 *
 *   renkei-server [serve] [--SETTING VALUE ...]
 *   renkei-server init | import FILE | org add ... | user add ... | user disable LOGIN
 *   renkei-server backup --to DIR | backup verify DIR | restore --from DIR
 *
 * Settings come from the table in util/conf.c: defaults, then
 * DATA/renkei.conf, then the command line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "admin/admin.h"
#include "admin/backup.h"
#include "api/api.h"
#include "audit/anchor.h"
#include "audit/audit.h"
#include "net/net.h"
#include "store/store.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/text.h"

/* The one mutable global: set by the signal handler, read by the loop. */
static volatile sig_atomic_t stop_requested;

struct server {
	struct conf conf;
	struct net *net;
	struct store *store;
	struct api *api;
	struct audit_journal journal;
};

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: renkei-server [COMMAND] [--SETTING VALUE ...]\n"
	        "\n"
	        "commands:\n"
	        "  serve                 run the server (the default)\n"
	        "  init                  create the data folder, keys and databases\n"
	        "  import FILE           import a ward file (JSON, see data/demo-ward.json)\n"
	        "  org add CODE NAME [--kind K] [--area A]\n"
	        "  user add LOGIN --name NAME --profession P [--org CODE] [--password-stdin]\n"
	        "  user disable LOGIN\n"
	        "  user unlock LOGIN     forget the login's failed attempts (it waits no more)\n"
	        "  audit verify [--anchors FILE]\n"
	        "                        check the whole audit chain and its checkpoints\n"
	        "                        (and against the anchors shipped off the host)\n"
	        "  verify --content      hash every post, sheet row, hand-off and photo\n"
	        "                        again and compare with the audit trail\n"
	        "  backup --to DIR       an online backup of both databases into a new\n"
	        "                        folder under DIR (backup_keep are kept)\n"
	        "  backup verify DIR     check a backup (or all in DIR) without restoring\n"
	        "  restore --from DIR    restore a backup into the (new) --data folder\n"
	        "  audit pubkey          print the public key that verifies audit exports\n"
	        "  audit bench --records N   measure verification on N synthetic records\n"
	        "                        (in a new, empty data folder)\n"
	        "\n"
	        "settings (also read from DATA/renkei.conf as \"name = value\"):\n"
	        "  --data DIR                    same as --data-dir\n");
	conf_print_help(out);
}

static void
server_wake(void *arg)
{
	struct server *s = arg;
	if (s->net != NULL)
		net_wake(s->net);
}

static void
on_wake(void *arg)
{
	struct server *s = arg;
	if (s->store != NULL)
		store_complete(s->store);
}

static void
on_tick(void *arg)
{
	struct server *s = arg;
	if (s->api != NULL)
		api_tick(s->api, rk_now_ms());
}

static int
store_idle(void *arg)
{
	struct server *s = arg;
	return store_pending(s->store) == 0;
}

static int
no_connections(void *arg)
{
	struct server *s = arg;
	return net_connections(s->net) == 0;
}

static int
serve(struct server *s)
{
	struct store_config scfg;
	struct net_hooks hooks = {on_wake, on_tick, s};
	struct sigaction sa;
	char err[512];

	if (admin_store_config(&s->conf, &scfg, err, sizeof(err)) != 0) {
		LOG_E("SERVER-NO-KEY", "error=\"%s\"", err);
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	scfg.wake = server_wake;
	scfg.wake_arg = s;
	/* Every access is recorded: no signing key, no start. */
	s->journal.signer = audit_signer_load(s->conf.audit_signing_key, err,
	                                      sizeof(err));
	if (s->journal.signer == NULL) {
		OPENSSL_cleanse(&scfg, sizeof(scfg));
		fprintf(stderr, "renkei-server: %s (run renkei-server init)\n", err);
		return 1;
	}
	/* Checkpoints anchored off the host, if a sink is set. */
	s->journal.sink = audit_sink_new(s->conf.checkpoint_sink, err, sizeof(err));
	if (s->journal.sink == NULL && err[0] != '\0') {
		OPENSSL_cleanse(&scfg, sizeof(scfg));
		audit_signer_free(s->journal.signer);
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	s->journal.every_records = s->conf.audit_checkpoint_records;
	s->journal.every_ms = (int64_t)s->conf.audit_checkpoint_s * 1000;
	scfg.journal = &audit_store_journal;
	scfg.journal_arg = &s->journal;

	s->net = net_new(&s->conf, &hooks, err, sizeof(err));
	if (s->net == NULL) {
		OPENSSL_cleanse(&scfg, sizeof(scfg));
		audit_sink_free(s->journal.sink);
		audit_signer_free(s->journal.signer);
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	int rc = store_open(&s->store, &scfg, err, sizeof(err));
	OPENSSL_cleanse(&scfg, sizeof(scfg));
	if (rc != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		net_free(s->net);
		audit_sink_free(s->journal.sink);
		audit_signer_free(s->journal.signer);
		return 1;
	}
	struct api_transport tr = net_transport(s->net);
	s->api = api_new(&s->conf, s->store, &tr);
	api_set_audit_counter(s->api, &s->journal.appended);
	net_set_api(s->net, s->api);

	/* Every connection is a descriptor: take all the system allows. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	LOG_I("SERVER-READY", "listen=%s port=%d data=%s", s->conf.listen,
	      s->conf.port, s->conf.data_dir);
	net_run(s->net, &stop_requested);

	/* Graceful stop: refuse new requests, let accepted work commit and
	 * its answers go out, then close every connection with a reason. */
	LOG_I("SERVER-STOPPING", "pending=%d connections=%d",
	      store_pending(s->store), net_connections(s->net));
	api_shutdown(s->api);
	net_run_until(s->net, store_idle, s, s->conf.shutdown_grace_s * 1000);
	net_close_all(s->net, 1001, "server shutting down");
	net_run_until(s->net, no_connections, s, 2000);
	net_free(s->net); /* closes stragglers: api sees each close */
	s->net = NULL;
	/* Commits what is left (done()s find no connections), then signs a
	 * checkpoint over the last records. */
	store_close(s->store, audit_journal_close, &s->journal);
	s->store = NULL;
	api_free(s->api);
	/* The last checkpoint's anchor goes out before we do. */
	audit_sink_free(s->journal.sink);
	audit_signer_free(s->journal.signer);
	LOG_I("SERVER-STOPPED", "clean=1");
	return 0;
}

/* Apply "--name value" settings; other words are collected in words[]. */
static int
parse_args(struct conf *c, int argc, char **argv, char **words, int *nwords,
           int *help)
{
	char err[256];

	*nwords = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = 1;
			continue;
		}
		if (strncmp(a, "--", 2) == 0 &&
		    (conf_known(a + 2) || strcmp(a, "--data") == 0)) {
			const char *name = strcmp(a, "--data") == 0 ? "data_dir" : a + 2;
			if (i + 1 >= argc) {
				fprintf(stderr, "renkei-server: %s needs a value\n", a);
				return -1;
			}
			if (conf_set(c, name, argv[++i], err, sizeof(err)) != 0) {
				fprintf(stderr, "renkei-server: %s\n", err);
				return -1;
			}
			continue;
		}
		words[(*nwords)++] = argv[i];
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct server s;
	char **words = calloc((size_t)argc + 1, sizeof(char *));
	char path[4096], err[512];
	int nwords = 0, help = 0, rc;

	/* Databases, WAL files and keys are for the server's user only. */
	umask(077);
	memset(&s, 0, sizeof(s));
	conf_init(&s.conf);
	/* Command line once to learn the data folder, then the file, then the
	 * command line again so that it wins. */
	if (words == NULL ||
	    parse_args(&s.conf, argc, argv, words, &nwords, &help) != 0)
		return 2;
	snprintf(path, sizeof(path), "%s/renkei.conf", s.conf.data_dir);
	if (conf_load_file(&s.conf, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 2;
	}
	parse_args(&s.conf, argc, argv, words, &nwords, &help);
	conf_resolve_paths(&s.conf);
	log_threshold = log_level_parse(s.conf.log_level);

	if (help) {
		usage(stdout);
		return 0;
	}
	const char *cmd = nwords > 0 ? words[0] : "serve";
	if (strcmp(cmd, "serve") == 0 && nwords <= 1)
		rc = serve(&s);
	else if (strcmp(cmd, "init") == 0 && nwords == 1)
		rc = admin_init(&s.conf);
	else if (strcmp(cmd, "import") == 0 && nwords == 2)
		rc = admin_import(&s.conf, words[1]);
	else if (strcmp(cmd, "org") == 0 && nwords >= 2 && strcmp(words[1], "add") == 0)
		rc = admin_org_add(&s.conf, nwords - 2, words + 2);
	else if (strcmp(cmd, "user") == 0 && nwords >= 2 &&
	         strcmp(words[1], "add") == 0)
		rc = admin_user_add(&s.conf, nwords - 2, words + 2);
	else if (strcmp(cmd, "user") == 0 && nwords >= 2 &&
	         strcmp(words[1], "disable") == 0)
		rc = admin_user_disable(&s.conf, nwords - 2, words + 2);
	else if (strcmp(cmd, "user") == 0 && nwords >= 2 &&
	         strcmp(words[1], "unlock") == 0)
		rc = admin_user_unlock(&s.conf, nwords - 2, words + 2);
	else if (strcmp(cmd, "audit") == 0 && nwords == 2 &&
	         strcmp(words[1], "verify") == 0)
		rc = admin_audit_verify(&s.conf);
	else if (strcmp(cmd, "audit") == 0 && nwords == 4 &&
	         strcmp(words[1], "verify") == 0 &&
	         strcmp(words[2], "--anchors") == 0) {
		rc = admin_audit_verify(&s.conf);
		if (admin_audit_anchors(&s.conf, words[3]) != 0)
			rc = 1;
	} else if (strcmp(cmd, "backup") == 0 && nwords == 3 &&
	           strcmp(words[1], "--to") == 0)
		rc = admin_backup(&s.conf, words[2]);
	else if (strcmp(cmd, "backup") == 0 && nwords == 3 &&
	         strcmp(words[1], "verify") == 0)
		rc = admin_backup_verify(&s.conf, words[2]);
	else if (strcmp(cmd, "restore") == 0 && nwords == 3 &&
	         strcmp(words[1], "--from") == 0)
		rc = admin_restore(&s.conf, words[2]);
	else if (strcmp(cmd, "verify") == 0 && nwords == 2 &&
	         strcmp(words[1], "--content") == 0)
		rc = admin_verify_content(&s.conf);
	else if (strcmp(cmd, "audit") == 0 && nwords == 2 &&
	         strcmp(words[1], "pubkey") == 0)
		rc = admin_audit_pubkey(&s.conf);
	else if (strcmp(cmd, "audit") == 0 && nwords == 4 &&
	         strcmp(words[1], "bench") == 0 && strcmp(words[2], "--records") == 0)
		rc = admin_audit_bench(&s.conf, strtol(words[3], NULL, 10));
	else {
		usage(stderr);
		rc = 2;
	}
	conf_fini(&s.conf);
	free(words);
	return rc;
}
