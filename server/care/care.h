/*
 * care — patients, their boards (posts), liaison sheets and
 * acknowledgements, and the SQL that stores them.
 *
 * Knows nothing of connections or protobuf. Every function runs on a
 * store connection (a write op, a read op, or an admin command) and
 * decides access through policy.h — never on its own.
 *
 * Ownership: structs filled here may hold heap strings (post text,
 * patient summary); release them with the matching _fini / _free_array.
 */
#ifndef RK_CARE_CARE_H
#define RK_CARE_CARE_H

#include <stdbool.h>
#include <stdint.h>

#include "care/policy.h"
#include "store/store.h"
#include "util/err.h"

#define CARE_CODE_MAX 64
#define CARE_NAME_MAX 160
#define CARE_TEXT_MAX 16384
#define CARE_REASON_MIN 2

/* Numbered as renkei.v1.PostKind / Visibility on the wire. */
enum post_kind {
	KIND_NONE = 0,
	KIND_VISIT_NOTE = 1,
	KIND_VITALS = 2,
	KIND_MEDICATION = 3,
	KIND_CARE = 4,
	KIND_HANDOFF = 5,
	KIND_GENERAL = 6,
	KIND_BREAK_GLASS = 7,
	KIND_ESCALATION = 8, /* the server's (oncall.h) */
	KIND__COUNT
};

/* "visit_note" -> KIND_VISIT_NOTE; KIND_NONE if unknown. */
enum post_kind care_kind_parse(const char *name);

struct care_vitals {
	uint32_t temperature_dc, bp_systolic, bp_diastolic, pulse, spo2,
		respiration;
};

/* Check each measured (non-zero) vital for its range. */
int care_vitals_check(const struct care_vitals *v, struct rk_status *st);

/* Check a client id: 1..64 printable ASCII, no spaces. */
bool care_client_id_valid(const char *id);

struct care_attachment {
	int64_t id;
	int64_t owner_id, patient_id, post_id;
	char mime[32];
	int64_t size, thumb_size;
	uint8_t sha256[32];
	uint32_t width, height;
	char file_name[CARE_NAME_MAX + 1];
	char patient_code[CARE_CODE_MAX + 1];
};

#define CARE_ATTACH_MAX 10

/* Addressed posts and requests (request.c, docs/requests.md). */
#define CARE_TO_MAX 20                              /* addressees per post */
#define CARE_DUE_MAX_MS (366LL * 24 * 3600 * 1000)  /* how far ahead a due time */

/* Someone a post names (an addressee). */
struct care_person {
	int64_t id;
	char login[CARE_CODE_MAX + 1];
	char name[CARE_NAME_MAX + 1];
	int profession;
};

struct care_post {
	int64_t id;
	int64_t patient_id;
	char patient_code[CARE_CODE_MAX + 1];
	int64_t seq;
	int64_t author_id;
	char author_login[CARE_CODE_MAX + 1];
	char author_name[CARE_NAME_MAX + 1];
	int author_profession;
	int kind;
	int visibility;
	bool urgent;
	char *text; /* owned */
	struct care_vitals vitals;
	char client_id[CARE_CODE_MAX + 1];
	int64_t created_ms;
	int64_t amends_id, amended_by, retracts_id, retracted_by;
	struct care_attachment *att; /* owned */
	size_t natt;
	/* Addressing (request.c): set on the post that was addressed. */
	bool addressed;              /* it has addressees (to, nto loaded) */
	struct care_person *to;      /* owned; in the order given */
	size_t nto;
	bool request;                /* it asks its owner to do something */
	int64_t owner_id;            /* one of to[] */
	int64_t due_ms, done_ms, overdue_ms; /* 0 = none / open / not yet */
};

void care_post_fini(struct care_post *p);
void care_posts_free(struct care_post *posts, size_t n);

/* What a new post says; strings borrowed. */
struct care_post_input {
	const char *client_id;
	int kind;
	int visibility;
	bool urgent;
	const char *text;
	struct care_vitals vitals;
	const int64_t *attachments; /* finished uploads to put on the post */
	size_t nattachments;
	/* Addressees' logins (at most CARE_TO_MAX), and the request. */
	const char *const *to;
	size_t nto;
	bool request;
	const char *owner; /* "" or NULL: the first of to */
	int64_t due_ms;    /* 0: none */
};

/* Check an input's own fields (not access). */
int care_post_input_check(const struct care_post_input *in,
                          struct rk_status *st);

/* ---- writes (writer thread) */

/* Post on the board of patient `code`. If this author already used this
 * client id, *out is that first post and *duplicate is set. */
int care_post_create(struct store_conn *sc, const struct policy_actor *who,
                     const char *code, const struct care_post_input *in,
                     int64_t now_ms, struct care_post *out, bool *duplicate,
                     struct rk_status *st);

/* Amend my post `post_id` (the latest version only): a new post with
 * the original's kind and visibility, linked to it. */
int care_post_amend(struct store_conn *sc, const struct policy_actor *who,
                    int64_t post_id, const struct care_post_input *in,
                    int64_t now_ms, struct care_post *out, bool *duplicate,
                    struct rk_status *st);

/* Retract my post `post_id`, keeping it: a new entry whose text is the
 * reason. */
int care_post_retract(struct store_conn *sc, const struct policy_actor *who,
                      int64_t post_id, const char *client_id,
                      const char *reason, int64_t now_ms,
                      struct care_post *out, bool *duplicate,
                      struct rk_status *st);

/* Confirm a post as read. Confirming twice keeps the first time (*fresh
 * tells whether this call confirmed it). *post is the post confirmed (for
 * the event). */
int care_ack(struct store_conn *sc, const struct policy_actor *who,
             int64_t post_id, int64_t now_ms, int64_t *acked_ms, bool *fresh,
             struct care_post *post, struct rk_status *st);

/* Mark request `post_id` done (its owner only). Done twice keeps the
 * first time (*fresh false). *post is the request (for the event). */
int care_request_done(struct store_conn *sc, const struct policy_actor *who,
                      int64_t post_id, int64_t now_ms, int64_t *done_ms,
                      bool *fresh, struct care_post *post,
                      struct rk_status *st);

/* Open requests past their due time at now_ms that were not found so
 * yet: mark them overdue and return them (at most max; *more if there
 * are others). *next_due_ms: the earliest due time still ahead (0: none).
 * Retracted requests are marked but not returned. */
int care_requests_overdue(struct store_conn *sc, int64_t now_ms, size_t max,
                          struct care_post **out, size_t *n, bool *more,
                          int64_t *next_due_ms);

/* The inbox of `who` (a reader): posts addressed to them not yet
 * confirmed, open requests they own, and open requests they made that
 * are overdue; each list at most limit, only posts they may read now. */
struct care_inbox {
	struct care_post *addressed, *requests, *overdue;
	size_t naddressed, nrequests, noverdue;
	bool more;
};
int care_inbox(struct store_conn *sc, const struct policy_actor *who,
               int64_t now_ms, int limit, struct care_inbox *out,
               struct rk_status *st);
void care_inbox_fini(struct care_inbox *in);

/* ---- content digests (digest.c, docs/audit-content.md)
 *
 * The SHA-256 of a record's canonical content, as 64 lower-case hex
 * digits and a NUL: what the audit record of the action that made or
 * changed it carries (content_sha256), and what `renkei-server verify
 * --content` recomputes from what is stored. Each returns RK_OK,
 * RK_ERR_NOT_FOUND, RK_ERR_STORE or RK_ERR_CRYPTO. */
#define CARE_DIGEST_HEX 65
/* A post as loaded: id, patient, seq, author, kind, visibility, urgency,
 * text, vitals, client id, time, the post it amends or retracts, and its
 * photos (id and stored SHA-256). Not what later posts say of it. */
int care_post_digest(const struct care_post *p, char out[CARE_DIGEST_HEX]);
/* A liaison-sheet row as stored, by id; or the newest row of (patient,
 * user), the one in force. */
int care_sheet_row_digest(struct store_conn *sc, int64_t row_id,
                          char out[CARE_DIGEST_HEX]);
int care_sheet_member_digest(struct store_conn *sc, int64_t patient_id,
                             int64_t user_id, char out[CARE_DIGEST_HEX]);
/* Each row in force of a patient's sheet (the newest per member), in
 * row order: each(arg, member login, digest); a non-zero return stops. */
int care_sheet_digests(struct store_conn *sc, int64_t patient_id,
                       int (*each)(void *arg, const char *login,
                                   const char *hex),
                       void *arg);
/* A patient's hand-off as stored. */
int care_handoff_digest(struct store_conn *sc, int64_t patient_id,
                        char out[CARE_DIGEST_HEX]);
/* A photo as stored, its picture and thumbnail bytes hashed afresh. */
int care_attachment_digest(struct store_conn *sc, int64_t attachment_id,
                           char out[CARE_DIGEST_HEX]);

/* ---- reads */

int care_post_load(struct store_conn *sc, int64_t post_id,
                   struct care_post *out);

struct care_page {
	struct care_post *posts;
	size_t n;
	bool more;
	int64_t last_seq;
};
void care_page_fini(struct care_page *pg);

/* A page of a board, newest first (see TimelineRequest). */
int care_timeline(struct store_conn *sc, const struct policy_actor *who,
                  const char *code, int64_t before_seq, int64_t after_seq,
                  int limit, int64_t now_ms, struct care_page *out,
                  struct rk_status *st);

/* One board of a sync, as resolved by care_sync_boards. */
struct care_board {
	int64_t patient_id;
	char code[CARE_CODE_MAX + 1];
	int64_t since_seq;
	int max_visibility;     /* highest mark the actor may see */
	int64_t valid_until_ms; /* the membership's end, 0 = open */
};

/* Resolve the boards of a SyncRequest: `codes` (n) or, if n == 0, every
 * board the actor may read now. Refuses the whole request if any named
 * board is not readable. *boards is malloc'ed. */
int care_sync_boards(struct store_conn *sc, const struct policy_actor *who,
                     const char *const *codes, size_t n, int64_t now_ms,
                     struct care_board **boards, size_t *nboards,
                     struct rk_status *st);

/* Posts on `boards` with id > cursor and seq > the board's since_seq,
 * that the board's max_visibility allows, in id order, at most limit.
 * out->more tells whether more remain. */
int care_sync_page(struct store_conn *sc, const struct care_board *boards,
                   size_t nboards, int64_t cursor, int limit,
                   struct care_page *out);

struct care_patient {
	int64_t id;
	char code[CARE_CODE_MAX + 1];
	char name[CARE_NAME_MAX + 1];
	char kana[CARE_NAME_MAX + 1];
	char birth_date[11];
	char sex[4];
	char area[CARE_NAME_MAX + 1];
	char *summary; /* owned */
	char *wishes;  /* owned */
	int64_t last_seq;
	char my_role[CARE_NAME_MAX + 1];
	int64_t unconfirmed; /* care_patients_mine: see Patient.unconfirmed */
};
void care_patients_free(struct care_patient *p, size_t n);

/* The patients whose boards the actor may read now. */
int care_patients_mine(struct store_conn *sc, const struct policy_actor *who,
                       int64_t now_ms, struct care_patient **out, size_t *n);

struct care_member {
	int64_t user_id;
	bool read_only;
	char contact[CARE_NAME_MAX + 1];
	char login[CARE_CODE_MAX + 1];
	char display_name[CARE_NAME_MAX + 1];
	int profession;
	char org_code[CARE_CODE_MAX + 1];
	char org_name[CARE_NAME_MAX + 1];
	char team_role[CARE_NAME_MAX + 1];
	bool primary;
	int64_t valid_from_ms, valid_until_ms;
	/* Filled by callers that ask (oncall.h), else 0 / false: the slot in
	 * the call order (1 = first), on duty now in the org's rota. */
	int call_slot;
	bool on_call;
};

/* One patient and their liaison sheet, if the actor may view it. */
int care_patient_get(struct store_conn *sc, const struct policy_actor *who,
                     const char *code, int64_t now_ms,
                     struct care_patient *out, struct care_member **sheet,
                     size_t *nsheet, struct rk_status *st);

struct care_ack_entry {
	struct care_member who; /* team_role etc. filled where known */
	int64_t acked_ms;
};

/* Who confirmed post_id, and which current team members who may see it
 * have not yet. Both arrays malloc'ed. The post's patient code goes to
 * patient[patient_cap] when the post is readable. */
int care_ack_list(struct store_conn *sc, const struct policy_actor *who,
                  int64_t post_id, int64_t now_ms,
                  struct care_ack_entry **acked, size_t *nacked,
                  struct care_member **pending, size_t *npending,
                  struct rk_status *st, char *patient, size_t patient_cap);

/* ---- photos (attach.c) */

/* What a new upload must fit in (resuming one checks none of these). */
struct care_upload_limits {
	int64_t max_bytes;       /* one photo's declared size */
	int max_per_user;        /* uploads in progress per user */
	int64_t quota_bytes;     /* per user: in progress (declared size) plus
	                          * finished photos on no post yet */
	int64_t max_total_bytes; /* every user's uploads in progress */
};

/* Which of them refused a begin (RESOURCE_EXHAUSTED). */
enum care_upload_limit {
	CARE_UPLOAD_OK = 0,
	CARE_UPLOAD_TOO_BIG,     /* max_bytes */
	CARE_UPLOAD_CONCURRENT,  /* max_per_user */
	CARE_UPLOAD_QUOTA,       /* quota_bytes */
	CARE_UPLOAD_SERVER_FULL, /* max_total_bytes */
};

/* Begin or resume an upload for a post on patient `code` (the actor must
 * be allowed to post there). *received: how much the server has; if the
 * upload was finished already, *received == size. A new upload past one
 * of `lim` is refused RK_ERR_EXHAUSTED with *hit saying which (else
 * *hit = CARE_UPLOAD_OK). */
int care_upload_begin(struct store_conn *sc, const struct policy_actor *who,
                      const char *code, const char *upload_key,
                      const char *file_name, int64_t size,
                      const uint8_t sha256[32],
                      const struct care_upload_limits *lim, int64_t now_ms,
                      int64_t *received, enum care_upload_limit *hit,
                      struct rk_status *st);

/* Append a piece at `offset` (which must equal what was received). */
int care_upload_chunk(struct store_conn *sc, const struct policy_actor *who,
                      const char *upload_key, int64_t offset,
                      const uint8_t *data, size_t len, int64_t now_ms,
                      int64_t *received, struct rk_status *st);

/* Reader side of finishing: the whole file (malloc'ed), checked against
 * the declared size and digest. If the upload was finished already,
 * *done is set and *att describes the stored attachment instead. */
int care_upload_load(struct store_conn *sc, const struct policy_actor *who,
                     const char *upload_key, uint8_t **bytes, size_t *len,
                     bool *done, struct care_attachment *att,
                     struct rk_status *st);

/* Writer side: store the sanitised image and thumbnail as an attachment
 * and drop the upload's pieces. Idempotent per (owner, upload_key). */
int care_upload_store(struct store_conn *sc, const struct policy_actor *who,
                      const char *upload_key, const char *mime,
                      uint32_t width, uint32_t height, const uint8_t *data,
                      size_t len, const uint8_t *thumb, size_t thumb_len,
                      int64_t now_ms, struct care_attachment *out,
                      struct rk_status *st);

/* Read (part of) an attachment or its thumbnail if the actor may read
 * its post (an unattached one: only its owner). Otherwise NOT_FOUND, as
 * for an id that does not exist. *data malloc'ed; *total = full size. */
int care_attachment_read(struct store_conn *sc, const struct policy_actor *who,
                         int64_t id, bool thumbnail, int64_t offset,
                         int64_t length, int64_t now_ms,
                         struct care_attachment *meta, uint8_t **data,
                         size_t *len, int64_t *total, struct rk_status *st);

/* Delete uploads untouched for abandon_ms and attachments on no post
 * after orphan_ms. Returns RK_OK; counts what went. */
int care_media_gc(struct store_conn *sc, int64_t now_ms, int64_t abandon_ms,
                  int64_t orphan_ms, int *uploads, int *orphans);

/* ---- the liaison sheet (sheet.c) */

/* A change of someone's access to a board, for the caller to apply to
 * live subscriptions: max_visibility VIS_NONE means "no access now". */
struct care_access_change {
	int64_t user_id;
	int64_t patient_id;
	int max_visibility;
	int64_t until_ms;
};

struct care_sheet_input {
	const char *login;
	const char *team_role; /* NULL/"" = keep (change) */
	bool set_primary, primary;
	const char *valid_from, *valid_until; /* YYYY-MM-DD; NULL/"" = keep/open */
	const char *contact;
};

/* Add, change or end a member (policy: POLICY_SHEET_EDIT). Each change
 * is written to the sheet's history. *change tells the caller what the
 * member may now see. */
int care_sheet_member_add(struct store_conn *sc, const struct policy_actor *who,
                          const char *code, const struct care_sheet_input *in,
                          int64_t now_ms, struct care_access_change *change,
                          struct rk_status *st);
int care_sheet_member_change(struct store_conn *sc,
                             const struct policy_actor *who, const char *code,
                             const struct care_sheet_input *in, int64_t now_ms,
                             struct care_access_change *change,
                             struct rk_status *st);
int care_sheet_member_end(struct store_conn *sc, const struct policy_actor *who,
                          const char *code, const char *login,
                          const char *reason, int64_t now_ms,
                          struct care_access_change *change,
                          struct rk_status *st);

/* *on: user_id has a place on some liaison sheet now or from a later
 * date (valid_until open or after now_ms). RK_OK or RK_ERR_STORE. */
int care_user_on_a_sheet(struct store_conn *sc, int64_t user_id,
                         int64_t now_ms, bool *on);

/* The current sheet (every row, past and future included). */
int care_sheet_list(struct store_conn *sc, int64_t patient_id,
                    struct care_member **out, size_t *n);

struct care_history_entry {
	int64_t at_ms;
	struct care_member by;     /* user_id 0: an administrator */
	struct care_member member;
	char action[16];
	char detail[256];
};
int care_sheet_history(struct store_conn *sc, const struct policy_actor *who,
                       const char *code, int64_t now_ms,
                       struct care_history_entry **out, size_t *n,
                       struct rk_status *st);

/* Record a history entry (also used by hand-off and break-glass). */
int care_history_add(struct store_conn *sc, int64_t patient_id,
                     int64_t by_user_id, const char *action,
                     int64_t member_user_id, const char *detail,
                     int64_t now_ms);

/* Break the glass: a read-only grant for breakglass_ms, and a post on the
 * board so that the team sees it. *post is that post. */
int care_breakglass(struct store_conn *sc, const struct policy_actor *who,
                    const char *code, const char *reason, int64_t now_ms,
                    int64_t breakglass_ms, int64_t *expires_ms,
                    struct care_post *post, struct rk_status *st);

/* Invite a family member (creating the account with pw_hash if it does
 * not exist; *created tells) and put them on the sheet. */
int care_family_invite(struct store_conn *sc, const struct policy_actor *who,
                       const char *code, const char *login,
                       const char *display_name, const char *relation,
                       const char *pw_hash, int64_t now_ms, bool *created,
                       struct care_access_change *change, struct rk_status *st);

/* ---- hand-off (handoff.c) */

struct care_handoff {
	int64_t patient_id;
	char patient_code[CARE_CODE_MAX + 1];
	int state;
	char from_org[CARE_CODE_MAX + 1];
	char discharge_date[11];
	char conference_at[40];
	struct care_member opened_by, accepted_by;
	int64_t accepted_ms, hospital_until_ms;
};

struct care_patient_input {
	const char *code, *name, *kana, *birth_date, *sex, *area, *summary,
		*wishes;
};

struct care_new_patient {
	bool present;
	struct care_patient_input in;
};

/* Open a hand-off (MSW). For a new patient (np->present) the patient and
 * board are created with the MSW on the sheet. The discharge summary, if
 * any, is posted (kind HANDOFF, clinical) as *post (post->id 0 if none). */
int care_handoff_open(struct store_conn *sc, const struct policy_actor *who,
                      const char *code, const struct care_new_patient *np,
                      const char *discharge_date, const char *summary,
                      const char *client_id, int64_t now_ms,
                      struct care_handoff *out, struct care_post *post,
                      struct rk_status *st);

struct care_proposed {
	const char *login, *team_role;
	bool primary;
};
/* Propose the home team; changes[] (n entries, caller-allocated) say
 * whose access changed. */
int care_handoff_propose(struct store_conn *sc, const struct policy_actor *who,
                         const char *code, const struct care_proposed *members,
                         size_t n, int64_t now_ms, struct care_handoff *out,
                         struct care_access_change *changes,
                         struct rk_status *st);
int care_handoff_conference(struct store_conn *sc,
                            const struct policy_actor *who, const char *code,
                            const char *conference_at, int64_t now_ms,
                            struct care_handoff *out, struct rk_status *st);
/* Accept: hospital members (of the hand-off's organisation) become
 * read-only until now + readonly_ms. *changes is malloc'ed. */
int care_handoff_accept(struct store_conn *sc, const struct policy_actor *who,
                        const char *code, int64_t now_ms, int64_t readonly_ms,
                        struct care_handoff *out,
                        struct care_access_change **changes, size_t *nchanges,
                        struct rk_status *st);
int care_handoff_get(struct store_conn *sc, const struct policy_actor *who,
                     const char *code, int64_t now_ms, struct care_handoff *out,
                     struct rk_status *st);

/* ---- import (admin) */

int care_patient_add(struct store_conn *sc, const struct care_patient_input *in,
                     int64_t now_ms, int64_t *patient_id, struct rk_status *st);
/* Post without an access check (trusted ward files only). */
int care_post_import(struct store_conn *sc, int64_t author_id, const char *code,
                     const struct care_post_input *in, int64_t now_ms,
                     struct care_post *out, struct rk_status *st);
/* Set a patient's hand-off state directly (trusted ward files only). */
int care_handoff_import(struct store_conn *sc, int64_t patient_id, int state,
                        const char *opened_by, const char *discharge_date,
                        const char *conference_at, int64_t now_ms,
                        struct rk_status *st);
int care_sheet_add(struct store_conn *sc, int64_t patient_id,
                   const char *login, const char *team_role, bool primary,
                   int64_t valid_from_ms, int64_t valid_until_ms,
                   int64_t added_by, int64_t now_ms, struct rk_status *st);

/* Dates on the sheet are Japanese calendar days (JST, UTC+9).
 * "2026-12-31" -> the first ms of that day (end_of_day false) or of the
 * next day (end_of_day true: an exclusive end). INT64_MIN if malformed. */
int64_t care_date_to_ms(const char *ymd, bool end_of_day);
/* Inverse: the JST day of ms into out[11]; for an exclusive end pass
 * ms - 1. "" for 0. */
void care_ms_to_date(int64_t ms, char out[11]);

/* ---- who hears of a post (readers.c; notices, docs/notice.md) */

/* The users who may read a post of patient_id marked `visibility` now:
 * members of the sheet valid at now_ms whose profession may see that
 * mark (policy_max_visibility: family only posts marked all), without
 * `author_id` and without duplicates. Disabled accounts may be among
 * them (they are on the sheet): notify_targets leaves them out, in the
 * query that finds the devices. *users malloc'ed. Any store thread. */
int care_post_readers(struct store_conn *sc, int64_t patient_id,
                      int visibility, int64_t author_id, int64_t now_ms,
                      int64_t **users, size_t *n);

/* The board `code` if the actor may read it now (policy_check
 * POLICY_READ): RK_OK with its id; RK_ERR_DENIED when not, and for a
 * code of no patient (the same answer). */
int care_board_readable(struct store_conn *sc, const struct policy_actor *who,
                        const char *code, int64_t now_ms, int64_t *patient_id);

/* Patient patient_id's code into out[cap] ("" if none). */
int care_patient_code(struct store_conn *sc, int64_t patient_id, char *out,
                      size_t cap);

#endif
