/*
 * admin — the offline subcommands of renkei-server: init, import, org add,
 * user add, user disable. They open the databases directly (no network,
 * no server needed; SQLite's locking makes them safe beside a running
 * server) and print what they did. Each returns a process exit code:
 * 0 done, 1 refused (with a message on stderr), 2 usage.
 */
#ifndef RK_ADMIN_ADMIN_H
#define RK_ADMIN_ADMIN_H

#include "store/store.h"
#include "util/conf.h"

/* Load both keys named by conf (or the environment) into cfg and fill
 * the database paths. Returns 0, or -1 with a reason in err. */
int admin_store_config(const struct conf *conf, struct store_config *cfg,
                       char *err, size_t errlen);

/* Open the databases for an admin command (keys as admin_store_config,
 * schemas migrated). 0, or -1 after printing why. */
int admin_open(const struct conf *conf, struct store_conn **sc);

/* Create the data folder (mode 0700), fresh random keys where none exist,
 * and the databases at the newest schema. Safe to run twice. */
int admin_init(const struct conf *conf);

/* Import a ward file (the JSON shape of data/demo-ward.json): its
 * organisations, users (passwords hashed with the configured argon2
 * cost), patients, liaison sheets and posts, all in one transaction. */
int admin_import(const struct conf *conf, const char *path);

int admin_org_add(const struct conf *conf, int argc, char **argv);
int admin_user_add(const struct conf *conf, int argc, char **argv);
int admin_user_disable(const struct conf *conf, int argc, char **argv);
/* Forget a login's failed attempts from every address (it waits no
 * more). */
int admin_user_unlock(const struct conf *conf, int argc, char **argv);

/* Verify the whole audit chain and every checkpoint against the public
 * key; name the first record that fails. 0 clean, 1 tampered/failed. */
int admin_audit_verify(const struct conf *conf);
/* Measure verification: fill a NEW, empty data folder with `records`
 * synthetic audit records (signed checkpoints every 1000), then verify
 * them all and print records/s. Refuses a folder that holds real data. */
int admin_audit_bench(const struct conf *conf, long records);
/* Print the audit public key (PEM) to stdout. */
int admin_audit_pubkey(const struct conf *conf);

/* Hash every post, sheet row, hand-off and photo again and compare each
 * with the digest its latest audit record holds (verify_content.c);
 * print each one that differs or has none. 0 clean, 1 otherwise. */
int admin_verify_content(const struct conf *conf);

#endif
