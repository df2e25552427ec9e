/*
 * verify_export — check an audit export offline, with nothing but the
 * public key (verify_export.c; what it proves and what it cannot is
 * described at the top of that file).
 *
 * Part of the library renkei_auditfmt (see CMakeLists.txt), with
 * canon.h: the server's tests and the CLI's `renkei audit verify` call
 * this very function. It needs OpenSSL, jansson and util/ only — no
 * SQLite — so this header includes nothing of the store; audit.h
 * includes it for the verdict type that audit_verify_db shares. No
 * globals; safe from any thread.
 */
#ifndef RK_AUDIT_VERIFY_EXPORT_H
#define RK_AUDIT_VERIFY_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

/* The verdict of a verification (of a database or of an export). */
struct audit_verify_result {
	bool ok;
	int64_t records;           /* records found good */
	int64_t checkpoints;       /* checkpoints found good */
	int64_t first_bad_id;      /* 0 if ok: the first record that is
	                           * missing, altered, out of place, or not
	                           * proven by a valid checkpoint */
	int64_t bad_checkpoint_id; /* the checkpoint at fault, if one is */
	int64_t last_signed_id;    /* newest record a good checkpoint signs */
	int64_t last_signed_ms;    /* and when it was signed */
	int64_t unsigned_tail;     /* good records after last_signed_id */
	int64_t unsynced_checkpoints; /* good checkpoints whose clock was not
	                              * known to be synchronised */
	char why[200];             /* what was wrong, for people */
};

/* Check an export file (JSON Lines, as written by audit_export) offline
 * with only the root public key (PEM file), following the signing keys'
 * rotations the export carries (docs/audit-export.md): always strict (a record after the
 * export's last checkpoint fails, since anyone could have written it).
 * Returns RK_OK when the check ran (verdict in *out), else RK_ERR_CONFIG,
 * RK_ERR_IO or RK_ERR_CRYPTO with a reason in out->why. */
int audit_verify_export(const char *export_path, const char *pubkey_path,
                        struct audit_verify_result *out);

/* The same check of an export already open as f (read to its end; not
 * closed), with the root public key and its id already loaded
 * (audit_pubkey_load in canon.h; borrowed). Returns RK_OK when the check
 * ran, RK_ERR_IO (reading f failed) or RK_ERR_CRYPTO, with a reason in
 * out->why. What the fuzz target calls, on an export in memory. */
int audit_verify_export_stream(FILE *f, EVP_PKEY *pkey, const uint8_t key_id[32],
                               struct audit_verify_result *out);

#endif
