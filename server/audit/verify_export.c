/*
 * Offline verification of a JSON Lines export (format in export.c) with
 * nothing but the public key.
 *
 * One pass, line by line, memory independent of the export's size:
 * the header gives the anchor (the hash before the first record); each
 * record must carry the next id, chain onto the hash before it and hash
 * to what it says; each checkpoint must sign the record just before it,
 * with that record's recomputed hash, under this key. The derived "time"
 * fields must match ts_ms (they are not hashed, and a reader trusts
 * them), and no line may carry keys beyond the format's, so that nothing
 * unverified rides along in a verified export.
 *
 * Checkpoints must be signed by the key valid at their place: the
 * trusted public key given, or the key the rotations since named (the
 * rotation lines after the header bring the verifier from the given key
 * to the one that signs the range; a rotation checkpoint inside the
 * range carries its next key). A checkpoint signed by any other key
 * fails, even a key that was valid earlier.
 *
 * What it proves: every record up to the last checkpoint in the file is
 * exactly as the server wrote it, in order, with none missing from the
 * anchor on. Records after the last checkpoint prove nothing (anyone can
 * write a line and its hash), so their presence fails verification.
 * What it cannot prove: that the file was not cut short right after a
 * checkpoint line and given a matching "end" line — compare with the
 * server's own `audit verify`, or with the range that was asked for.
 *
 * Uses OpenSSL, jansson and util/ only: it is part of the library
 * renkei_auditfmt, which the CLI links too (see verify_export.h).
 */
#include "audit/verify_export.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#include "audit/canon.h"
#include "util/err.h"
#include "util/text.h"

struct xv {
	struct audit_keychain kc; /* from the trusted key, through rotations */
	int64_t rots_due;         /* rotation lines the header announced */
	int64_t rots_seen;
	int64_t rot_rec;          /* record of the last rotation line */
	int64_t anchor_id;
	struct audit_hasher h;
	uint8_t prev[32];  /* hash of the last good record (or the anchor) */
	int64_t last_id;   /* the last good record (or the anchor's id) */
	int64_t signed_id; /* the last record a good checkpoint signed */
	long line;
	struct audit_verify_result *res;
};

static void bad(struct xv *v, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
bad(struct xv *v, int64_t id, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* A fault always names a record: first_bad_id 0 means "none", so an
	 * id from the file that names no record (a line with "id": 0 or
	 * below) must not be what is reported, or the verdict would read ok
	 * and the line would ride along unverified. The record expected
	 * next is the first one not proven. */
	v->res->first_bad_id = id >= 1 ? id : v->last_id + 1;
	n = snprintf(v->res->why, sizeof(v->res->why), "line %ld: ", v->line);
	if (n < 0 || (size_t)n >= sizeof(v->res->why))
		return;
	va_start(ap, fmt);
	vsnprintf(v->res->why + n, sizeof(v->res->why) - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool
get_int(json_t *o, const char *key, int64_t *out)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j))
		return false;
	*out = (int64_t)json_integer_value(j);
	return true;
}

static bool
get_hex(json_t *o, const char *key, uint8_t *out, size_t n)
{
	json_t *j = json_object_get(o, key);
	return json_is_string(j) &&
	       rk_hex_decode(json_string_value(j), json_string_length(j), out,
	                     n) == 0;
}

static bool
get_str(json_t *o, const char *key, struct audit_str *s)
{
	json_t *j = json_object_get(o, key);
	if (json_is_null(j)) {
		s->p = NULL;
		s->n = 0;
		return true;
	}
	if (!json_is_string(j))
		return false;
	s->p = json_string_value(j);
	s->n = json_string_length(j);
	return true;
}

static bool
time_ok(json_t *o, int64_t ms)
{
	json_t *j = json_object_get(o, "time");
	char want[40];

	audit_format_time(ms, 0, true, want, sizeof(want));
	return json_is_string(j) && strcmp(json_string_value(j), want) == 0;
}

static int
header(struct xv *v, json_t *o)
{
	int64_t version, anchor_id, x;
	static const uint8_t zero[32];

	/* version 1: before keys could rotate; 2 adds "rotations" */
	if (!get_int(o, "renkei_audit_export", &version) ||
	    (version != 1 && version != 2) ||
	    !get_int(o, "anchor_id", &anchor_id) || anchor_id < 0 ||
	    !get_hex(o, "anchor_hash", v->prev, 32) ||
	    !get_int(o, "since_ms", &x) || !get_int(o, "until_ms", &x) ||
	    !get_int(o, "first_id", &x) || !get_int(o, "last_id", &x) ||
	    (version == 2 && (!get_int(o, "rotations", &v->rots_due) ||
	                      v->rots_due < 0)) ||
	    json_object_size(o) != (version == 1 ? 7u : 8u) ||
	    (anchor_id == 0 && memcmp(v->prev, zero, 32) != 0)) {
		bad(v, 1, "not the header of a renkei audit export (JSON Lines)");
		return -1;
	}
	v->last_id = anchor_id;
	v->signed_id = anchor_id;
	v->anchor_id = anchor_id;
	return 0;
}

/* A rotation before the range: the key valid now introduces the next. */
static int
rotation(struct xv *v, json_t *o)
{
	int64_t id = 0, rec, signed_ms;
	uint8_t hash[32], key_id[32], next[32], sig[64];
	const char *why;

	if (!json_is_object(o) || !get_int(o, "checkpoint_id", &id) ||
	    !get_int(o, "record_id", &rec) ||
	    !get_int(o, "signed_ms", &signed_ms) ||
	    !get_hex(o, "record_hash", hash, 32) ||
	    !get_hex(o, "key_id", key_id, 32) ||
	    !get_hex(o, "next_key", next, 32) || !get_hex(o, "sig", sig, 64) ||
	    json_object_size(o) != 7)
		why = "is malformed";
	else if (rec <= v->rot_rec || rec > v->anchor_id)
		why = "is out of place (rotation lines precede the range, oldest "
		      "first)";
	else if ((why = audit_keychain_key_fault(&v->kc, key_id)) == NULL)
		why = audit_keychain_rotate(&v->kc, rec, hash, signed_ms, next, sig,
		                            sizeof(sig));
	if (why != NULL) {
		v->res->bad_checkpoint_id = id;
		bad(v, v->anchor_id + 1,
		    "the rotation at checkpoint %lld %s; no record of the export "
		    "is proven",
		    (long long)id, why);
		return -1;
	}
	v->rot_rec = rec;
	v->rots_seen++;
	return 0;
}

static int
record(struct xv *v, json_t *o)
{
	struct audit_canon r;
	uint8_t prev[32], hash[32], got[32];
	size_t keys = 18;
	json_t *ctx = json_object_get(o, "context");
	/* Exports made before content digests have no such key. */
	bool has_content = json_object_get(o, "content_sha256") != NULL;
	bool ok;

	if (ctx != NULL) {
		if (!json_is_true(ctx)) {
			bad(v, v->last_id + 1, "malformed record");
			return -1;
		}
		keys++;
	}
	keys += has_content;
	ok = get_int(o, "id", &r.id) && get_int(o, "ts_ms", &r.ts_ms) &&
	     get_int(o, "actor_user_id", &r.user_id) &&
	     get_int(o, "actor_profession", &r.profession) &&
	     get_int(o, "session_id", &r.session_id) &&
	     get_int(o, "outcome", &r.outcome) &&
	     get_hex(o, "prev_hash", prev, 32) && get_hex(o, "hash", hash, 32) &&
	     json_object_size(o) == keys;
	r.s[AF_CONTENT].p = NULL;
	r.s[AF_CONTENT].n = 0;
	for (int i = 0; ok && i < AF__COUNT; i++)
		if (i != AF_CONTENT || has_content)
			ok = get_str(o, audit_field_names[i], &r.s[i]);
	if (!ok) {
		bad(v, v->last_id + 1, "malformed record");
		return -1;
	}
	if (r.id > v->last_id + 1) {
		bad(v, v->last_id + 1,
		    "record %lld is missing (the next record is %lld)",
		    (long long)v->last_id + 1, (long long)r.id);
		return -1;
	}
	if (r.id <= v->last_id) {
		bad(v, r.id, "record %lld is out of place (expected record %lld)",
		    (long long)r.id, (long long)v->last_id + 1);
		return -1;
	}
	if (memcmp(prev, v->prev, 32) != 0) {
		bad(v, r.id,
		    "record %lld does not follow record %lld (prev_hash differs)",
		    (long long)r.id, (long long)v->last_id);
		return -1;
	}
	if (audit_hash_record(&v->h, v->prev, &r, got) != RK_OK ||
	    memcmp(got, hash, 32) != 0) {
		bad(v, r.id,
		    "record %lld was altered: its contents do not hash to its hash",
		    (long long)r.id);
		return -1;
	}
	if (!time_ok(o, r.ts_ms)) {
		bad(v, r.id, "record %lld: \"time\" does not match ts_ms",
		    (long long)r.id);
		return -1;
	}
	memcpy(v->prev, got, 32);
	v->last_id = r.id;
	v->res->records++;
	return 0;
}

static int
checkpoint(struct xv *v, json_t *o)
{
	int64_t id, rec, signed_ms, clock = -1;
	uint8_t hash[32], key_id[32], sig[64], msg[AUDIT_CP_MSG_MAX];
	uint8_t next[32], rsig[64];
	size_t msglen;
	const char *why = NULL;
	bool has_clock = json_is_object(o) && json_object_get(o, "clock_sync") != NULL;
	bool rot = json_is_object(o) && json_object_get(o, "next_key") != NULL;

	if (!json_is_object(o) || !get_int(o, "id", &id) ||
	    !get_int(o, "record_id", &rec) ||
	    !get_int(o, "signed_ms", &signed_ms) ||
	    !get_hex(o, "record_hash", hash, 32) ||
	    !get_hex(o, "key_id", key_id, 32) || !get_hex(o, "sig", sig, 64) ||
	    (has_clock && (!get_int(o, "clock_sync", &clock) || clock < 0 ||
	                   clock > 2)) ||
	    (rot && (!get_hex(o, "next_key", next, 32) ||
	             !get_hex(o, "rotate_sig", rsig, 64))) ||
	    json_object_size(o) != 7u + (has_clock ? 1u : 0u) + (rot ? 2u : 0u) ||
	    !time_ok(o, signed_ms)) {
		id = 0;
		why = "is malformed";
	} else if (rec > v->last_id) {
		bad(v, v->last_id + 1,
		    "record %lld is missing (checkpoint %lld signs record %lld)",
		    (long long)v->last_id + 1, (long long)id, (long long)rec);
		return -1;
	} else if (rec != v->last_id || rec <= v->signed_id) {
		why = "does not follow the record it signs";
	} else if (memcmp(hash, v->prev, 32) != 0) {
		why = "signs another hash than the records give";
	} else {
		msglen = audit_cp_message_for(msg, rec, hash, signed_ms, (int)clock);
		why = audit_keychain_check(&v->kc, key_id, msg, msglen, sig,
		                           sizeof(sig));
		if (why == NULL && rot)
			why = audit_keychain_rotate(&v->kc, rec, hash, signed_ms,
			                            next, rsig, sizeof(rsig));
	}
	if (why != NULL) {
		v->res->bad_checkpoint_id = id;
		bad(v, v->signed_id + 1,
		    "checkpoint %lld %s; records from %lld on are not proven",
		    (long long)id, why, (long long)v->signed_id + 1);
		return -1;
	}
	v->signed_id = rec;
	v->res->checkpoints++;
	v->res->last_signed_id = rec;
	v->res->last_signed_ms = signed_ms;
	if (clock == 0 || clock == 2) /* not synchronised, or unknown */
		v->res->unsynced_checkpoints++;
	return 0;
}

static int
end(struct xv *v, json_t *o)
{
	int64_t records, cps, last;

	/* Unsigned records first: that is the fault to name, not the count
	 * of lines that a removed checkpoint line also upsets. */
	if (v->last_id > v->signed_id) {
		v->res->unsigned_tail = v->last_id - v->signed_id;
		bad(v, v->signed_id + 1,
		    "records %lld..%lld are not covered by any checkpoint in the "
		    "export",
		    (long long)v->signed_id + 1, (long long)v->last_id);
		return -1;
	}
	if (!json_is_object(o) || !get_int(o, "records", &records) ||
	    !get_int(o, "checkpoints", &cps) || !get_int(o, "last_id", &last) ||
	    records != v->res->records || cps != v->res->checkpoints ||
	    last != (records ? v->last_id : 0)) {
		bad(v, v->last_id + 1,
		    "the end line does not match the lines before it (lines "
		    "missing)");
		return -1;
	}
	return 0;
}

int
audit_verify_export_stream(FILE *f, EVP_PKEY *pkey, const uint8_t key_id[32],
                           struct audit_verify_result *out)
{
	struct xv v = {.res = out};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool ended = false;
	int rc = RK_OK;

	memset(out, 0, sizeof(*out));
	/* The keychain holds a reference of its own to the trusted key. */
	if (EVP_PKEY_up_ref(pkey) != 1)
		return RK_ERR_CRYPTO;
	audit_keychain_init(&v.kc, pkey, key_id);
	if (audit_hasher_init(&v.h) != RK_OK) {
		audit_keychain_fini(&v.kc);
		return RK_ERR_CRYPTO;
	}

	while (out->first_bad_id == 0 && (len = getline(&line, &cap, f)) >= 0) {
		json_error_t jerr;
		json_t *o, *sub;

		v.line++;
		if (ended) {
			bad(&v, v.last_id + 1, "lines after the end line");
			break;
		}
		o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(o)) {
			bad(&v, v.line == 1 ? 1 : v.last_id + 1, "not valid JSON");
			json_decref(o);
			break;
		}
		/* each step records its own fault in *out; the loop stops */
		if (v.line == 1) {
			header(&v, o);
		} else if (v.rots_seen < v.rots_due) {
			sub = json_object_get(o, "rotation");
			if (sub == NULL || json_object_size(o) != 1)
				bad(&v, v.anchor_id + 1,
				    "the header announces %lld rotation lines; "
				    "found %lld",
				    (long long)v.rots_due, (long long)v.rots_seen);
			else
				rotation(&v, sub);
		} else if (json_object_get(o, "rotation") != NULL) {
			bad(&v, v.anchor_id + 1,
			    "more rotation lines than the header announces");
		} else if ((sub = json_object_get(o, "checkpoint")) != NULL) {
			checkpoint(&v, json_object_size(o) == 1 ? sub : NULL);
		} else if ((sub = json_object_get(o, "end")) != NULL) {
			end(&v, json_object_size(o) == 1 ? sub : NULL);
			ended = true;
		} else {
			record(&v, o);
		}
		json_decref(o);
	}
	if (ferror(f)) {
		snprintf(out->why, sizeof(out->why), "cannot read the export");
		rc = RK_ERR_IO;
	} else if (out->first_bad_id == 0 && v.line == 0) {
		bad(&v, 1, "the export is empty");
	} else if (out->first_bad_id == 0 && !ended) {
		bad(&v, v.signed_id + 1, "the export is cut short (no end line)");
	}
	out->ok = rc == RK_OK && out->first_bad_id == 0;
	free(line);
	audit_hasher_fini(&v.h);
	audit_keychain_fini(&v.kc);
	return rc;
}

int
audit_verify_export(const char *export_path, const char *pubkey_path,
                    struct audit_verify_result *out)
{
	uint8_t key_id[32];
	EVP_PKEY *pkey;
	FILE *f;
	int rc;

	memset(out, 0, sizeof(*out));
	pkey = audit_pubkey_load(pubkey_path, key_id, out->why, sizeof(out->why));
	if (pkey == NULL)
		return RK_ERR_CONFIG;
	f = fopen(export_path, "r");
	if (f == NULL) {
		snprintf(out->why, sizeof(out->why), "cannot read %s", export_path);
		EVP_PKEY_free(pkey);
		return RK_ERR_IO;
	}
	rc = audit_verify_export_stream(f, pkey, key_id, out);
	if (rc == RK_ERR_IO)
		snprintf(out->why, sizeof(out->why), "cannot read %s", export_path);
	fclose(f);
	EVP_PKEY_free(pkey);
	return rc;
}
