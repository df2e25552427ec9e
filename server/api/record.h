/*
 * Audit records for requests: who (from the connection's session), from
 * where, what, which patient, and the outcome. Writes carry their records
 * on their own op and commit with it; reads, which run on reader threads,
 * commit theirs through an audit-only write op before the answer leaves
 * (api_audit_then): nothing is disclosed before its record is durable.
 */
#ifndef RK_API_RECORD_H
#define RK_API_RECORD_H

#include "api/req.h"
#include "care/care.h"

/* A record for a request from c (actor, session, address, device from c;
 * before login the actor is `login` as typed), appended to *journal. Its
 * outcome is the op's that carries it. Returns the entry so that the op
 * can fill in the patient or object once it knows them. */
struct audit_entry *api_audit_to(void **journal, const struct api_conn *c,
                                 const char *action, const char *patient,
                                 const char *object, const char *login);
/* The same on r's own journal. */
struct audit_entry *api_audit(struct api_req *r, const struct api_conn *c,
                              const char *action, const char *patient,
                              const char *object);

/* After a read: commit r's audit records (an audit-only write op whose
 * outcome is rc), then call reply(r, rc) — or reply(r,
 * RK_ERR_UNAVAILABLE) if they could not be written (fail closed). */
void api_audit_then(struct api_req *r, int rc,
                    void (*reply)(struct api_req *r, int rc));

/* Commit `entries` on their own (takes them; nobody waits). */
void api_audit_fire(struct api *api, struct audit_entry *entries);

/* ---- content digests (docs/audit-content.md)
 *
 * On the writer thread, inside the op's run, once it has made its
 * change: put the digest of what it made or changed on the record. Each
 * returns RK_OK, or an error the op must fail with (no change commits
 * without its digest). */
int api_content_post(struct audit_entry *e, const struct care_post *p);
int api_content_member(struct store_conn *sc, struct audit_entry *e,
                       const struct care_access_change *ch);
int api_content_handoff(struct store_conn *sc, struct audit_entry *e,
                        int64_t patient_id);
int api_content_photo(struct store_conn *sc, struct audit_entry *e,
                      int64_t attachment_id);
/* After an op that changed several rows of a patient's sheet: one more
 * record (actor and session as r's own), action "sheet.row", object the
 * member's login, for each row in force, with its digest. */
int api_content_sheet_rows(struct store_conn *sc, struct api_req *r,
                           int64_t patient_id);
/* A post an op made beside its own action (a hand-off's summary): one
 * more record "post.create" for it, with its digest. */
int api_content_extra_post(struct api_req *r, const struct care_post *p);

#endif
