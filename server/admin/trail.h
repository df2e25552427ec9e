/*
 * admin/trail — how an offline admin command writes its own audit
 * record, beside a running server or not (docs/audit-commit.md).
 *
 * A command that changes nothing in care.db (a backup) has no care.db
 * commit to agree with: its record goes straight into the chain, as a
 * read's does, on a connection to audit.db alone, in a transaction that
 * takes audit.db's write lock first (BEGIN IMMEDIATE: it waits for the
 * server's journal like any writer, and the server's journal waits for
 * it, audit/journal.c), and a checkpoint is signed over it at once with
 * the audit signing key, so that the record is proven from the moment
 * it exists; once committed, the checkpoint goes to the anchor sink.
 * (A command that changes care.db stages its record in care.db's outbox
 * in the transaction of its change, as restore does: admin/restore.c.)
 *
 * Thread rules: the command's one thread.
 */
#ifndef RK_ADMIN_TRAIL_H
#define RK_ADMIN_TRAIL_H

#include <stddef.h>

#include "audit/audit.h"
#include "store/store.h"
#include "util/conf.h"

/* ev's actor fields for the operator running this command: the system
 * user's name (login[64] holds it), no renkei user, no session, the
 * device "renkei-server COMMAND". */
void admin_trail_actor(struct audit_event *ev, const char *command,
                       char login[64], char device[64]);

/* Append ev to the chain of cfg->audit_path (key cfg->audit_key) and
 * sign a checkpoint over it (the audit signing key, admin_signer), then
 * hand that checkpoint to the checkpoint_sink. 0, or -1 with a reason in
 * err: then nothing was appended. */
struct admin;
int admin_trail_append(struct admin *adm, const struct store_config *cfg,
                       const struct audit_event *ev, char *err, size_t errlen);

#endif
