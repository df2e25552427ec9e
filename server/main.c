/*
 * renkei-server: options, configuration, and the wiring of the modules.
 * Nothing else lives here.
 *
 *   renkei-server [serve] [--SETTING VALUE ...]
 *   renkei-server init | import FILE | org add ... | user add ... |
 *                 user disable|enable|unlock|reset-password|reset-2fa
 *                 LOGIN --reason WHY | audit ... | rekey care|audit |
 *                 keys check|migrate | kek new
 *   renkei-server backup --to DIR | backup verify DIR | restore --from DIR
 *
 * Settings come from the table in util/conf.c: defaults, then
 * DATA/renkei.conf, then the command line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "admin/admin.h"
#include "admin/backup.h"
#include "api/api.h"
#include "audit/anchor.h"
#include "audit/audit.h"
#include "net/local.h"
#include "auth/pwrule.h"
#include "net/net.h"
#include "notify/notify.h"
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
	struct local *local; /* DATA/admin.sock */
	struct notify *notify; /* the notice thread (docs/notice.md) */
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
	        "  init                  create the data folder, the key folder (keys\n"
	        "                        wrapped under the key-encryption key) and databases\n"
	        "  import FILE           import a ward file (JSON, see data/demo-ward.json)\n"
	        "  org add CODE NAME [--kind K] [--area A] --reason WHY\n"
	        "  user add LOGIN --name NAME --profession P [--org CODE] --reason WHY\n"
	        "                        prints a one-time password, changed at first login\n"
	        "                        ([--password-stdin]: yours instead, offline only)\n"
	        "  user disable LOGIN --reason WHY   ends their sessions at once\n"
	        "  user enable LOGIN --reason WHY\n"
	        "  user reset-password LOGIN --reason WHY  a new one-time password\n"
	        "  user reset-2fa LOGIN --reason WHY       they enrol a second factor again\n"
	        "  user unlock LOGIN --reason WHY  forget the login's failed attempts\n"
	        "                        (account commands go through the running server's\n"
	        "                        DATA/admin.sock when it runs, else --offline; each\n"
	        "                        is audited)\n"
	        "  device issue LOGIN DEVICE [--out DIR] [--days N]\n"
	        "                        a TLS client certificate for one device of a user,\n"
	        "                        from the CA of client_ca (key KEYS/certs/ca.key)\n"
	        "  device revoke FINGERPRINT  revoke it: its sessions end at once\n"
	        "  device list [LOGIN]   the device certificates and their fingerprints\n"
	        "  audit verify [--anchors FILE]\n"
	        "                        check the whole audit chain and its checkpoints,\n"
	        "                        following the signing keys from the root key\n"
	        "                        (and against the anchors shipped off the host)\n"
	        "  audit pubkey [--current]  print the root public key that verifies audit\n"
	        "                        exports (--current: the key signing now)\n"
	        "  audit rotate-key      replace the audit signing key (server stopped)\n"
	        "  rekey care|audit      replace a database key (server stopped; crash-safe)\n"
	        "  keys check            finish or undo an interrupted rekey or rotation and\n"
	        "                        say which key opens each database (server stopped)\n"
	        "  keys migrate          move unwrapped keys from DATA/keys/ into keys_dir\n"
	        "  keys backup-key > FILE  the backup key, for a copy off the machine\n"
	        "  kek new               print a random key-encryption key (64 hex digits)\n"
	        "  verify --content      hash every post, sheet row, hand-off and photo\n"
	        "                        again and compare with the audit trail\n"
	        "  backup --to DIR       an online backup of both databases into a new\n"
	        "                        folder under DIR (backup_keep are kept)\n"
	        "  backup verify DIR     check a backup (or all in DIR) without restoring\n"
	        "  restore --from DIR    restore a backup into the (new) --data folder\n"
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
	if (s->api != NULL) {
		local_service(s->local, s->api);
		api_notice_service(s->api);
	}
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

/* No key, no start: each refusal is one line naming the file and why. */
static int
refuse(const char *event, const char *err)
{
	LOG_E(event, "error=\"%s\"", err);
	fprintf(stderr, "renkei-server: %s\n", err);
	return 1;
}

static int
serve(struct server *s, struct admin *adm)
{
	struct store_config scfg;
	struct net_hooks hooks = {on_wake, on_tick, s};
	struct sigaction sa;
	struct store_conn *check;
	char err[ADMIN_ERR];
	uint8_t vapid[WEBPUSH_PRIV_LEN];
	int lock;

	/* New passwords are judged against cracklib's dictionary: without
	 * it every change would be refused. */
	if (!pwrule_ready(err, sizeof(err)))
		return refuse("SERVER-NO-DICTIONARY", err);
	/* One server per data folder, and never beside a rekey. */
	lock = store_lock_data(s->conf.data_dir, "renkei-server serve", err,
	                       sizeof(err));
	if (lock < 0)
		return refuse("SERVER-LOCKED", err);
	if (admin_store_config(adm, &scfg, err, sizeof(err)) != 0 ||
	    keys_outside_data(s->conf.tls_key, s->conf.data_dir, err,
	                      sizeof(err)) != 0) {
		OPENSSL_cleanse(&scfg, sizeof(scfg));
		store_unlock_data(lock);
		return refuse("SERVER-NO-KEY", err);
	}
	scfg.wake = server_wake;
	scfg.wake_arg = s;
	/* Every access is recorded: no signing key, no start. */
	s->journal.signer = admin_signer(adm, err, sizeof(err));
	/* Web Push notices are signed with the VAPID key (made at the first
	 * start of a key folder older than notices). */
	if (s->journal.signer != NULL &&
	    admin_vapid_key(adm, vapid, err, sizeof(err)) != 0) {
		audit_signer_free(s->journal.signer);
		s->journal.signer = NULL;
	}
	/* The KEK has done its work: nothing more is unwrapped. */
	admin_end(adm);
	if (s->journal.signer == NULL) {
		OPENSSL_cleanse(vapid, sizeof(vapid));
		OPENSSL_cleanse(&scfg, sizeof(scfg));
		store_unlock_data(lock);
		return refuse("SERVER-NO-KEY", err);
	}
	/* Checkpoints anchored off the host, if a sink is set. */
	s->journal.sink = audit_sink_new(s->conf.checkpoint_sink, err, sizeof(err));
	if (s->journal.sink == NULL && err[0] != '\0') {
		OPENSSL_cleanse(&scfg, sizeof(scfg));
		audit_signer_free(s->journal.signer);
		store_unlock_data(lock);
		fprintf(stderr, "renkei-server: %s\n", err);
		OPENSSL_cleanse(vapid, sizeof(vapid));
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
		store_unlock_data(lock);
		fprintf(stderr, "renkei-server: %s\n", err);
		OPENSSL_cleanse(vapid, sizeof(vapid));
		return 1;
	}
	int rc = store_open(&s->store, &scfg, err, sizeof(err));
	/* What the server signs must verify from the root key. */
	if (rc == 0 && store_conn_open(&check, &scfg, 1, err, sizeof(err)) != 0)
		rc = -1;
	else if (rc == 0) {
		if (admin_signer_matches(adm, check, s->journal.signer, err,
		                         sizeof(err)) != 0)
			rc = -1;
		store_conn_close(check);
	}
	OPENSSL_cleanse(&scfg, sizeof(scfg));
	if (rc != 0) {
		LOG_E("SERVER-NO-KEY", "error=\"%s\"", err);
		fprintf(stderr, "renkei-server: %s\n", err);
		store_close(s->store, NULL, NULL);
		s->store = NULL;
		net_free(s->net);
		audit_sink_free(s->journal.sink);
		audit_signer_free(s->journal.signer);
		store_unlock_data(lock);
		OPENSSL_cleanse(vapid, sizeof(vapid));
		return 1;
	}
	struct api_transport tr = net_transport(s->net);
	s->api = api_new(&s->conf, s->store, &tr);
	api_set_audit_counter(s->api, &s->journal.appended);
	net_set_api(s->net, s->api);
	/* Notices on a thread of their own; it wakes us for subscriptions
	 * the push services dropped. */
	s->notify = notify_new(&s->conf, vapid, server_wake, s, err, sizeof(err));
	OPENSSL_cleanse(vapid, sizeof(vapid));
	if (s->notify == NULL)
		LOG_E("SERVER-NOTIFY", "error=\"%s\"", err);
	api_set_notify(s->api, s->notify);
	/* Administration from the host (renkei-server user disable ...),
	 * taking effect live. */
	s->local = local_new(s->conf.data_dir, server_wake, s, err, sizeof(err));
	if (s->local == NULL) {
		LOG_E("SERVER-LOCAL", "error=\"%s\"", err);
		fprintf(stderr, "renkei-server: %s\n", err);
		notify_free(s->notify);
		s->notify = NULL;
		store_close(s->store, audit_journal_close, &s->journal);
		s->store = NULL;
		api_free(s->api);
		s->api = NULL;
		net_free(s->net);
		s->net = NULL;
		audit_sink_free(s->journal.sink);
		audit_signer_free(s->journal.signer);
		store_unlock_data(lock);
		return 1;
	}

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
	local_stop(s->local); /* no new requests; the socket is removed */
	net_run_until(s->net, store_idle, s, s->conf.shutdown_grace_s * 1000);
	net_close_all(s->net, 1001, "server shutting down");
	net_run_until(s->net, no_connections, s, 2000);
	/* Notices waiting are dropped (the posts are on the board); before
	 * net goes, as the thread wakes it. */
	api_set_notify(s->api, NULL);
	notify_free(s->notify);
	s->notify = NULL;
	net_free(s->net); /* closes stragglers: api sees each close */
	s->net = NULL;
	/* Commits what is left (done()s find no connections), then signs a
	 * checkpoint over the last records. */
	store_close(s->store, audit_journal_close, &s->journal);
	s->store = NULL;
	api_free(s->api);
	local_free(s->local); /* nothing can answer through it any more */
	s->local = NULL;
	/* The last checkpoint's anchor goes out before we do. */
	audit_sink_free(s->journal.sink);
	audit_signer_free(s->journal.signer);
	LOG_I("SERVER-STOPPED", "clean=1");
	store_unlock_data(lock);
	return 0;
}

/* Key material must not reach a core file, and no other process of the
 * same user may read this one's memory (ptrace, /proc/PID/mem). */
static void
no_core_dumps(void)
{
	struct rlimit none = {0, 0};

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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
	struct admin adm;
	char **words = calloc((size_t)argc + 1, sizeof(char *));
	char path[4096], err[512];
	int nwords = 0, help = 0, rc;

	no_core_dumps();
	/* Databases, WAL files and keys are for the server's user only. */
	umask(077);
	memset(&s, 0, sizeof(s));
	conf_init(&s.conf);
	/* Command line once to learn the data folder, then the file, then the
	 * command line again so that it wins. */
	if (words == NULL ||
	    parse_args(&s.conf, argc, argv, words, &nwords, &help) != 0) {
		/* (freed so that a sanitizer build exits with our status) */
		free(words);
		conf_fini(&s.conf);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/renkei.conf", s.conf.data_dir);
	if (conf_load_file(&s.conf, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		free(words);
		conf_fini(&s.conf);
		return 2;
	}
	parse_args(&s.conf, argc, argv, words, &nwords, &help);
	conf_resolve_paths(&s.conf);
	log_threshold = log_level_parse(s.conf.log_level);
	if (conf_argon2_test_cost())
		LOG_W("ARGON2-TEST-COST",
		      "argon2_t=%d argon2_m_kib=%d note=\"RENKEI_ARGON2_TEST_COST=1 "
		      "is set: password hashes cheaper than OWASP's floor (argon2id "
		      "t=2, m=19456 KiB) are accepted; for test suites only, never "
		      "for production\"",
		      s.conf.argon2_t, s.conf.argon2_m_kib);

	if (help) {
		usage(stdout);
		return 0;
	}
	const char *cmd = nwords > 0 ? words[0] : "serve";
	const char *sub = nwords > 1 ? words[1] : "";
	admin_begin(&adm, &s.conf);
	if (strcmp(cmd, "serve") == 0 && nwords <= 1)
		rc = serve(&s, &adm);
	else if (strcmp(cmd, "init") == 0 && nwords == 1)
		rc = admin_init(&adm);
	else if (strcmp(cmd, "import") == 0 && nwords == 2)
		rc = admin_import(&adm, words[1]);
	else if (strcmp(cmd, "org") == 0 && strcmp(sub, "add") == 0)
		rc = admin_org_add(&adm, nwords - 2, words + 2);
	else if (strcmp(cmd, "user") == 0 && strcmp(sub, "add") == 0)
		rc = admin_user_add(&adm, nwords - 2, words + 2);
	else if (strcmp(cmd, "user") == 0 && strcmp(sub, "disable") == 0)
		rc = admin_user_disable(&adm, nwords - 2, words + 2);
	else if (strcmp(cmd, "audit") == 0 && nwords == 2 &&
	         strcmp(sub, "verify") == 0)
		rc = admin_audit_verify(&adm);
	else if (strcmp(cmd, "audit") == 0 && nwords == 4 &&
	         strcmp(sub, "verify") == 0 && strcmp(words[2], "--anchors") == 0) {
		rc = admin_audit_verify(&adm);
		if (admin_audit_anchors(&adm, words[3]) != 0)
			rc = 1;
	} else if (strcmp(cmd, "audit") == 0 && strcmp(sub, "pubkey") == 0 &&
	           (nwords == 2 ||
	            (nwords == 3 && strcmp(words[2], "--current") == 0)))
		rc = admin_audit_pubkey(&adm, nwords == 3);
	else if (strcmp(cmd, "device") == 0)
		rc = admin_device(&adm, nwords - 1, words + 1);
	else if (strcmp(cmd, "user") == 0 && strcmp(sub, "unlock") == 0)
		rc = admin_user_unlock(&adm, nwords - 2, words + 2);
	else if (strcmp(cmd, "user") == 0 && strcmp(sub, "enable") == 0)
		rc = admin_user_enable(&adm, nwords - 2, words + 2);
	else if (strcmp(cmd, "user") == 0 && strcmp(sub, "reset-password") == 0)
		rc = admin_user_reset_password(&adm, nwords - 2, words + 2);
	else if (strcmp(cmd, "user") == 0 && strcmp(sub, "reset-2fa") == 0)
		rc = admin_user_reset_2fa(&adm, nwords - 2, words + 2);
	else if (strcmp(cmd, "backup") == 0 && nwords == 3 &&
	         strcmp(sub, "--to") == 0)
		rc = admin_backup(&adm, words[2]);
	else if (strcmp(cmd, "backup") == 0 && nwords == 3 &&
	         strcmp(sub, "verify") == 0)
		rc = admin_backup_verify(&adm, words[2]);
	else if (strcmp(cmd, "restore") == 0 && nwords == 3 &&
	         strcmp(sub, "--from") == 0)
		rc = admin_restore(&adm, words[2]);
	else if (strcmp(cmd, "verify") == 0 && nwords == 2 &&
	         strcmp(sub, "--content") == 0)
		rc = admin_verify_content(&adm);
	else if (strcmp(cmd, "audit") == 0 && nwords == 2 &&
	         strcmp(sub, "rotate-key") == 0)
		rc = admin_audit_rotate_key(&adm);
	else if (strcmp(cmd, "audit") == 0 && nwords == 4 &&
	         strcmp(sub, "bench") == 0 && strcmp(words[2], "--records") == 0)
		rc = admin_audit_bench(&adm, strtol(words[3], NULL, 10));
	else if (strcmp(cmd, "rekey") == 0 && nwords == 2)
		rc = admin_rekey(&adm, sub);
	else if (strcmp(cmd, "keys") == 0 && nwords == 2 &&
	         strcmp(sub, "check") == 0)
		rc = admin_keys_check(&adm);
	else if (strcmp(cmd, "keys") == 0 && nwords == 2 &&
	         strcmp(sub, "migrate") == 0)
		rc = admin_keys_migrate(&adm);
	else if (strcmp(cmd, "keys") == 0 && nwords == 2 &&
	         strcmp(sub, "backup-key") == 0)
		rc = admin_keys_backup_key(&adm);
	else if (strcmp(cmd, "kek") == 0 && nwords == 2 && strcmp(sub, "new") == 0)
		rc = admin_kek_new();
	else {
		usage(stderr);
		rc = 2;
	}
	admin_end(&adm);
	conf_fini(&s.conf);
	free(words);
	return rc;
}
