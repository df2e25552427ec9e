/*
 * anchor — signed checkpoints kept off the host, and the check of the
 * chain against them.
 *
 * Every checkpoint the server signs is also written out as one line of
 * text, an anchor:
 *
 *   renkei-anchor/1 cp=12 record=12000 hash=<64 hex> signed_ms=1796...
 *     time=2026-11-22T03:51:38.123Z clock_sync=1 key=<64 hex> sig=<128 hex>
 *
 * (one line; clock_sync=- for a checkpoint signed before the clock's
 * state was recorded). It carries the checkpoint's own signature, so an
 * anchor can be checked with the public key alone, and it holds no
 * patient data: it may go to syslog, to a file on another machine's
 * mount, or to a command that ships it elsewhere.
 *
 * Why. audit.db's checkpoints prove the chain to anyone who lacks the
 * signing key. Someone who holds the database key AND the signing key
 * (a copy of the whole host) can rewrite records, hash the chain again
 * and sign new checkpoints: `audit verify` then passes. What such a
 * person cannot reach are the anchors already shipped off the host. The
 * chain must hold, for every anchor, the record it names with the hash
 * it names (audit_verify_anchors): a rewritten record changes the hash
 * of every record from it on, so the first anchor at or after it no
 * longer matches; removed records leave anchors that name records the
 * chain no longer has.
 *
 * The sink. A struct audit_sink (setting checkpoint_sink: file:/PATH,
 * syslog, exec:/PATH) takes anchors from whoever signed a checkpoint, once
 * the transaction that stored it has committed (an anchor of a checkpoint
 * that was rolled back would name records whose ids are given again),
 * and writes them on a thread of its own: a slow disk, syslog or command
 * never holds up a commit. Anchors wait in a bounded queue; should it
 * fill, the newest are dropped and logged (AUDIT-ANCHOR-DROPPED) — a
 * missing anchor weakens the check, it never makes it fail. A failed
 * write is tried three times, a second apart (AUDIT-ANCHOR-FAIL).
 *   file:/PATH  each anchor appended to PATH (created mode 0640) and
 *               flushed with fdatasync;
 *   syslog      syslog(3), facility daemon, level notice, ident
 *               renkei-server (journald keeps it too);
 *   exec:/PATH  PATH run with the anchor line as its one argument and on
 *               its stdin; exit status 0 is success; killed after 10 s.
 *
 * Thread rules: audit_sink_put from any thread; the rest on the owner's
 * thread. No globals (syslog's own state aside: openlog once per sink).
 */
#ifndef RK_AUDIT_ANCHOR_H
#define RK_AUDIT_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* One signed checkpoint, as an anchor carries it. */
struct audit_anchor {
	int64_t cp_id, record_id, signed_ms;
	uint8_t hash[32], key_id[32], sig[64];
	int clock_sync; /* 0, 1, 2 (util/clock.h), -1 not recorded */
};

/* The longest anchor line, NUL included. */
#define AUDIT_ANCHOR_LINE_MAX 512

/* The line for a (no newline). */
void audit_anchor_format(const struct audit_anchor *a,
                         char out[AUDIT_ANCHOR_LINE_MAX]);

/* Find an anchor in `line` (it may have a prefix, such as syslog's):
 * 1 found (in *a), 0 the line holds none, -1 one that is malformed. */
int audit_anchor_parse(const char *line, struct audit_anchor *a);

/* True if a's signature is the key's (pkey: EVP_PKEY *, key_id its id). */
bool audit_anchor_sig_ok(const struct audit_anchor *a, void *pkey,
                         const uint8_t key_id[32]);

/* The newest checkpoint of the chain in schema ("audit" or "main") as an
 * anchor: RK_OK, with a->cp_id 0 when there is none; RK_ERR_STORE. */
int audit_anchor_latest(struct store_conn *sc, const char *schema,
                        struct audit_anchor *a);

/* ---- the sink */

struct audit_sink;

/* A sink for the setting's value (see the top of this file). NULL with
 * err[0] == 0 when spec is NULL or empty (no sink); NULL with a reason
 * in err when it cannot be made. */
struct audit_sink *audit_sink_new(const char *spec, char *err, size_t errlen);

/* Queue an anchor. Any thread; never blocks on the delivery. NULL sink:
 * nothing. */
void audit_sink_put(struct audit_sink *s, const struct audit_anchor *a);

/* Deliver what is queued (each delivery bounded as above), stop the
 * thread, free. NULL is fine. */
void audit_sink_free(struct audit_sink *s);

/* ---- verification against anchors */

struct audit_anchor_result {
	bool ok;
	int64_t anchors;       /* anchor lines read (duplicates included) */
	int64_t matched;       /* distinct anchors the chain matches */
	int64_t newest_record; /* the newest record an anchor names */
	int64_t bad_record;    /* the record named when not ok (0: a line) */
	int64_t bad_line;      /* the anchor file's line at fault, if one */
	char why[400];
};

/* Check the chain in schema against every anchor in the file at
 * anchors_path (lines without an anchor are skipped, so a syslog or
 * journal extract will do), each anchor's signature first with the key
 * valid at its record — the root public key (PEM file) or the one the
 * trail's last rotation before it named (audit/canon.h): a missing tail, a rewritten record, a chain
 * that is itself broken, or a bad anchor line is named in out. In one
 * read transaction (its own unless the caller is in one). RK_OK when
 * the check ran (verdict in *out), else RK_ERR_CONFIG / RK_ERR_IO with a
 * reason in out->why, RK_ERR_STORE, RK_ERR_CRYPTO. */
int audit_verify_anchors(struct store_conn *sc, const char *schema,
                         const char *pubkey_path, const char *anchors_path,
                         struct audit_anchor_result *out);

#endif
