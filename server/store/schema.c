#include "store/schema.h"

#include <string.h>

/*
 * care.db ("main"). Times are ms since the epoch, UTC.
 * Accounts: failed logins are counted in login_failures (keys "LOGIN
 * ADDRESS" and " ADDRESS", see auth/session.c) even when no such user
 * exists, so throttling does not reveal which logins exist.
 * Sessions keep only the SHA-256 of their token.
 */
static const struct schema_migration care_migrations[] = {
	{1, "CREATE TABLE orgs ("
	    " id INTEGER PRIMARY KEY,"
	    " code TEXT NOT NULL UNIQUE,"
	    " name TEXT NOT NULL,"
	    " kind TEXT NOT NULL DEFAULT '',"
	    " area TEXT NOT NULL DEFAULT '');"
	    "CREATE TABLE users ("
	    " id INTEGER PRIMARY KEY,"
	    " login TEXT NOT NULL UNIQUE,"
	    " display_name TEXT NOT NULL,"
	    " profession INTEGER NOT NULL,"
	    " org_id INTEGER REFERENCES orgs(id),"
	    " pw_hash TEXT NOT NULL,"
	    " disabled INTEGER NOT NULL DEFAULT 0,"
	    " created_ms INTEGER NOT NULL);"
	    "CREATE TABLE sessions ("
	    " id INTEGER PRIMARY KEY,"
	    " token_hash BLOB NOT NULL UNIQUE,"
	    " user_id INTEGER NOT NULL REFERENCES users(id),"
	    " created_ms INTEGER NOT NULL,"
	    " expires_ms INTEGER NOT NULL,"
	    " last_seen_ms INTEGER NOT NULL,"
	    " ended_ms INTEGER,"
	    " end_reason TEXT,"
	    " device TEXT NOT NULL DEFAULT '',"
	    " address TEXT NOT NULL DEFAULT '');"
	    "CREATE INDEX sessions_user ON sessions(user_id);"
	    "CREATE TABLE login_failures ("
	    " login TEXT PRIMARY KEY,"
	    " failures INTEGER NOT NULL,"
	    " locked_until_ms INTEGER NOT NULL,"
	    " last_ms INTEGER NOT NULL) WITHOUT ROWID;", 0},
	/*
	 * Care boards. A patient's board is its posts; patients.last_seq is
	 * the board's newest sequence number, bumped in the same transaction
	 * as the insert, so sequences have no gaps. posts.id is the global
	 * cursor (one writer: ids grow in commit order). Posts are
	 * append-only, enforced by triggers: corrections and retractions are
	 * new rows pointing at the old one. Sheet validity: ms since the
	 * epoch, from inclusive, until exclusive, 0 = open.
	 */
	{2, "CREATE TABLE patients ("
	    " id INTEGER PRIMARY KEY,"
	    " code TEXT NOT NULL UNIQUE,"
	    " name TEXT NOT NULL,"
	    " kana TEXT NOT NULL DEFAULT '',"
	    " birth_date TEXT NOT NULL DEFAULT '',"
	    " sex TEXT NOT NULL DEFAULT '',"
	    " area TEXT NOT NULL DEFAULT '',"
	    " summary TEXT NOT NULL DEFAULT '',"
	    " wishes TEXT NOT NULL DEFAULT '',"
	    " last_seq INTEGER NOT NULL DEFAULT 0,"
	    " created_ms INTEGER NOT NULL);"
	    "CREATE TABLE sheet_members ("
	    " id INTEGER PRIMARY KEY,"
	    " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	    " user_id INTEGER NOT NULL REFERENCES users(id),"
	    " team_role TEXT NOT NULL,"
	    " is_primary INTEGER NOT NULL DEFAULT 0,"
	    " valid_from_ms INTEGER NOT NULL DEFAULT 0,"
	    " valid_until_ms INTEGER NOT NULL DEFAULT 0,"
	    " added_by INTEGER REFERENCES users(id),"
	    " added_ms INTEGER NOT NULL);"
	    "CREATE INDEX sheet_by_user ON sheet_members(user_id, patient_id);"
	    "CREATE INDEX sheet_by_patient ON sheet_members(patient_id);"
	    "CREATE TABLE posts ("
	    " id INTEGER PRIMARY KEY,"
	    " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	    " seq INTEGER NOT NULL,"
	    " author_id INTEGER NOT NULL REFERENCES users(id),"
	    " client_id TEXT NOT NULL,"
	    " kind INTEGER NOT NULL,"
	    " visibility INTEGER NOT NULL,"
	    " urgent INTEGER NOT NULL DEFAULT 0,"
	    " body TEXT NOT NULL,"
	    " temp_dc INTEGER NOT NULL DEFAULT 0,"
	    " bp_sys INTEGER NOT NULL DEFAULT 0,"
	    " bp_dia INTEGER NOT NULL DEFAULT 0,"
	    " pulse INTEGER NOT NULL DEFAULT 0,"
	    " spo2 INTEGER NOT NULL DEFAULT 0,"
	    " resp INTEGER NOT NULL DEFAULT 0,"
	    " amends_id INTEGER REFERENCES posts(id),"
	    " retracts_id INTEGER REFERENCES posts(id),"
	    " created_ms INTEGER NOT NULL,"
	    " UNIQUE(patient_id, seq),"
	    " UNIQUE(author_id, client_id));"
	    "CREATE INDEX posts_by_board_id ON posts(patient_id, id);"
	    "CREATE INDEX posts_amends ON posts(amends_id) WHERE amends_id IS NOT NULL;"
	    "CREATE INDEX posts_retracts ON posts(retracts_id) WHERE retracts_id IS NOT NULL;"
	    "CREATE TRIGGER posts_no_update BEFORE UPDATE ON posts"
	    " BEGIN SELECT RAISE(ABORT, 'posts are append-only'); END;"
	    "CREATE TRIGGER posts_no_delete BEFORE DELETE ON posts"
	    " BEGIN SELECT RAISE(ABORT, 'posts are append-only'); END;"
	    "CREATE TABLE acks ("
	    " post_id INTEGER NOT NULL REFERENCES posts(id),"
	    " user_id INTEGER NOT NULL REFERENCES users(id),"
	    " acked_ms INTEGER NOT NULL,"
	    " PRIMARY KEY(post_id, user_id)) WITHOUT ROWID;", 0},
	/*
	 * The liaison sheet grows up: read-only members (the hospital after
	 * a hand-off), contacts, the history of every change, hand-offs, and
	 * break-glass grants.
	 */
	{3, "ALTER TABLE sheet_members ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE sheet_members ADD COLUMN contact TEXT NOT NULL DEFAULT '';"
	    "CREATE TABLE sheet_history ("
	    " id INTEGER PRIMARY KEY,"
	    " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	    " at_ms INTEGER NOT NULL,"
	    " by_user_id INTEGER REFERENCES users(id),"
	    " action TEXT NOT NULL,"
	    " member_user_id INTEGER REFERENCES users(id),"
	    " detail TEXT NOT NULL DEFAULT '');"
	    "CREATE INDEX sheet_history_by_patient ON sheet_history(patient_id, id);"
	    "CREATE TRIGGER sheet_history_no_update BEFORE UPDATE ON sheet_history"
	    " BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;"
	    "CREATE TRIGGER sheet_history_no_delete BEFORE DELETE ON sheet_history"
	    " BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;"
	    "CREATE TABLE handoffs ("
	    " patient_id INTEGER PRIMARY KEY REFERENCES patients(id),"
	    " state INTEGER NOT NULL,"
	    " from_org_id INTEGER REFERENCES orgs(id),"
	    " discharge_date TEXT NOT NULL DEFAULT '',"
	    " conference_at TEXT NOT NULL DEFAULT '',"
	    " opened_by INTEGER REFERENCES users(id),"
	    " opened_ms INTEGER NOT NULL,"
	    " accepted_by INTEGER REFERENCES users(id),"
	    " accepted_ms INTEGER NOT NULL DEFAULT 0,"
	    " hospital_until_ms INTEGER NOT NULL DEFAULT 0);"
	    "CREATE TABLE breakglass ("
	    " id INTEGER PRIMARY KEY,"
	    " user_id INTEGER NOT NULL REFERENCES users(id),"
	    " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	    " reason TEXT NOT NULL,"
	    " granted_ms INTEGER NOT NULL,"
	    " expires_ms INTEGER NOT NULL);"
	    "CREATE INDEX breakglass_by_user ON breakglass(user_id, patient_id, expires_ms);", 0},
	/*
	 * Photos. Blobs live here, in SQLCipher, not in files: they are
	 * encrypted with the rest, and a post and its photos commit in one
	 * transaction, so no post can point at a missing or partial blob.
	 * Uploads in progress keep their pieces in upload_parts until
	 * finished (then the sanitised image moves to attachments) or
	 * abandoned (then the pieces are deleted). An attachment not put on a
	 * post within a day is an orphan and is deleted; once on a post it
	 * can no longer change or go.
	 */
	{4, "CREATE TABLE uploads ("
	    " id INTEGER PRIMARY KEY,"
	    " user_id INTEGER NOT NULL REFERENCES users(id),"
	    " upload_key TEXT NOT NULL,"
	    " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	    " file_name TEXT NOT NULL DEFAULT '',"
	    " size INTEGER NOT NULL,"
	    " sha256 BLOB NOT NULL,"
	    " received INTEGER NOT NULL DEFAULT 0,"
	    " created_ms INTEGER NOT NULL,"
	    " updated_ms INTEGER NOT NULL,"
	    " UNIQUE(user_id, upload_key));"
	    "CREATE TABLE upload_parts ("
	    " id INTEGER PRIMARY KEY,"
	    " upload_id INTEGER NOT NULL REFERENCES uploads(id),"
	    " offset INTEGER NOT NULL,"
	    " data BLOB NOT NULL,"
	    " UNIQUE(upload_id, offset));"
	    "CREATE TABLE attachments ("
	    " id INTEGER PRIMARY KEY,"
	    " owner_id INTEGER NOT NULL REFERENCES users(id),"
	    " upload_key TEXT NOT NULL,"
	    " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	    " post_id INTEGER REFERENCES posts(id),"
	    " file_name TEXT NOT NULL DEFAULT '',"
	    " mime TEXT NOT NULL,"
	    " size INTEGER NOT NULL,"
	    " sha256 BLOB NOT NULL,"
	    " width INTEGER NOT NULL,"
	    " height INTEGER NOT NULL,"
	    " data BLOB NOT NULL,"
	    " thumb BLOB NOT NULL,"
	    " created_ms INTEGER NOT NULL,"
	    " UNIQUE(owner_id, upload_key));"
	    "CREATE INDEX attachments_by_post ON attachments(post_id);"
	    "CREATE TRIGGER attachments_fixed BEFORE UPDATE ON attachments"
	    " WHEN OLD.post_id IS NOT NULL"
	    " BEGIN SELECT RAISE(ABORT, 'an attached photo is part of the record'); END;"
	    "CREATE TRIGGER attachments_kept BEFORE DELETE ON attachments"
	    " WHEN OLD.post_id IS NOT NULL"
	    " BEGIN SELECT RAISE(ABORT, 'an attached photo is part of the record'); END;", 0},
	/*
	 * The audit outbox (docs/audit-commit.md). A batch that changes
	 * care.db writes its audit records here, in its own transaction, so
	 * that the records commit with what they record or not at all; the
	 * writer then moves them into audit.db's chain and notes the last id
	 * moved there (audit.meta 'outbox_upto'), and the next batch deletes
	 * the moved rows. After a crash the rows not yet moved are moved at
	 * start. AUTOINCREMENT: an id is never used twice, even once the
	 * table has emptied. Columns as in audit.records; sign_after asks
	 * for a checkpoint once the row is in the chain.
	 */
	{5, "CREATE TABLE audit_outbox ("
	    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " ts_ms INTEGER NOT NULL,"
	    " actor_user_id INTEGER NOT NULL,"
	    " actor_login TEXT,"
	    " actor_profession INTEGER NOT NULL,"
	    " actor_org TEXT,"
	    " session_id INTEGER NOT NULL,"
	    " address TEXT,"
	    " device TEXT,"
	    " action TEXT NOT NULL,"
	    " patient TEXT,"
	    " object TEXT,"
	    " outcome INTEGER NOT NULL,"
	    " error_code TEXT,"
	    " reason TEXT,"
	    " sign_after INTEGER NOT NULL DEFAULT 0);", 0},
	/*
	 * A client id is the author's idempotency key on one board:
	 * (author, patient, client_id) is unique, so the same key on another
	 * board is another post. posts is rebuilt (SQLite cannot drop a
	 * UNIQUE constraint); its indexes and triggers are made again.
	 */
	{6, "CREATE TABLE posts_new ("
	    " id INTEGER PRIMARY KEY,"
	    " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	    " seq INTEGER NOT NULL,"
	    " author_id INTEGER NOT NULL REFERENCES users(id),"
	    " client_id TEXT NOT NULL,"
	    " kind INTEGER NOT NULL,"
	    " visibility INTEGER NOT NULL,"
	    " urgent INTEGER NOT NULL DEFAULT 0,"
	    " body TEXT NOT NULL,"
	    " temp_dc INTEGER NOT NULL DEFAULT 0,"
	    " bp_sys INTEGER NOT NULL DEFAULT 0,"
	    " bp_dia INTEGER NOT NULL DEFAULT 0,"
	    " pulse INTEGER NOT NULL DEFAULT 0,"
	    " spo2 INTEGER NOT NULL DEFAULT 0,"
	    " resp INTEGER NOT NULL DEFAULT 0,"
	    " amends_id INTEGER REFERENCES posts(id),"
	    " retracts_id INTEGER REFERENCES posts(id),"
	    " created_ms INTEGER NOT NULL,"
	    " UNIQUE(patient_id, seq),"
	    " UNIQUE(author_id, patient_id, client_id));"
	    "INSERT INTO posts_new SELECT id, patient_id, seq, author_id, client_id,"
	    " kind, visibility, urgent, body, temp_dc, bp_sys, bp_dia, pulse, spo2,"
	    " resp, amends_id, retracts_id, created_ms FROM posts;"
	    "DROP TABLE posts;"
	    "ALTER TABLE posts_new RENAME TO posts;"
	    "CREATE INDEX posts_by_board_id ON posts(patient_id, id);"
	    "CREATE INDEX posts_amends ON posts(amends_id) WHERE amends_id IS NOT NULL;"
	    "CREATE INDEX posts_retracts ON posts(retracts_id) WHERE retracts_id IS NOT NULL;"
	    "CREATE TRIGGER posts_no_update BEFORE UPDATE ON posts"
	    " BEGIN SELECT RAISE(ABORT, 'posts are append-only'); END;"
	    "CREATE TRIGGER posts_no_delete BEFORE DELETE ON posts"
	    " BEGIN SELECT RAISE(ABORT, 'posts are append-only'); END;",
	 1},
	/* Records staged in the outbox carry their content digest too (see
	 * audit.records below). */
	{7, "ALTER TABLE audit_outbox ADD COLUMN content_sha256 TEXT;", 0},
	/* Sessions ended recently, looked for by the running server so that
	 * one ended by another process (an admin command) closes at once. */
	{8, "CREATE INDEX IF NOT EXISTS sessions_ended ON sessions(ended_ms)"
	    " WHERE ended_ms IS NOT NULL;", 0},
	/* Sign-in and accounts (docs/accounts.md).
	 * users.must_change_password: the password is a one-time one (made
	 * by an admin or a family invitation) and must be replaced before
	 * anything else. users.totp_opt_in: a family member who asked for a
	 * second factor. totp: a user's TOTP secret (in care.db, which
	 * SQLCipher encrypts); confirmed_ms NULL while enrolment waits for
	 * its first code; last_step the newest 30 s step accepted, so that no
	 * code is accepted twice. totp_recovery: ten single-use recovery
	 * codes, as SHA-256. sessions.second_factor: how the session signed
	 * in (0 password only, 1 TOTP code, 2 recovery code).
	 * sessions.device_key: the Ed25519 public key the client registered
	 * at login; a resume must be signed with it. */
	{9, "ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL"
	    " DEFAULT 0;"
	    "ALTER TABLE users ADD COLUMN totp_opt_in INTEGER NOT NULL DEFAULT 0;"
	    "CREATE TABLE totp ("
	    " user_id INTEGER PRIMARY KEY REFERENCES users(id),"
	    " secret BLOB NOT NULL,"
	    " created_ms INTEGER NOT NULL,"
	    " confirmed_ms INTEGER,"
	    " last_step INTEGER NOT NULL DEFAULT 0);"
	    "CREATE TABLE totp_recovery ("
	    " id INTEGER PRIMARY KEY,"
	    " user_id INTEGER NOT NULL REFERENCES users(id),"
	    " code_hash BLOB NOT NULL,"
	    " used_ms INTEGER);"
	    "CREATE INDEX totp_recovery_user ON totp_recovery(user_id);"
	    "ALTER TABLE sessions ADD COLUMN second_factor INTEGER NOT NULL"
	    " DEFAULT 0;"
	    "ALTER TABLE sessions ADD COLUMN device_key BLOB;", 0},
	/* Device certificates (docs/accounts.md, "Device certificates"):
	 * TLS client certificates issued by `renkei-server device issue`,
	 * named by the SHA-256 of their DER (lower-case hex); revoked_ms set
	 * by `device revoke`. sessions.cert_fp: the certificate the session
	 * logged in with; its resumes must present the same one. (The
	 * coordinator may renumber this step at merge.) */
	{10, "CREATE TABLE IF NOT EXISTS device_certs ("
	     " fingerprint TEXT PRIMARY KEY,"
	     " user_id INTEGER NOT NULL REFERENCES users(id),"
	     " device TEXT NOT NULL,"
	     " serial TEXT NOT NULL,"
	     " issued_ms INTEGER NOT NULL,"
	     " expires_ms INTEGER NOT NULL,"
	     " revoked_ms INTEGER) WITHOUT ROWID;"
	     "CREATE INDEX IF NOT EXISTS device_certs_user ON device_certs(user_id);"
	     "ALTER TABLE sessions ADD COLUMN cert_fp TEXT;"
	     "CREATE INDEX IF NOT EXISTS sessions_cert ON sessions(cert_fp)"
	     " WHERE cert_fp IS NOT NULL;", 0},
	/* users.one_time_ms: when the one-time password (or invitation code)
	 * was issued: it is refused at login after one_time_password_days (0:
	 * issued before this step, or not one-time). users.pw_changed_ms:
	 * when the password was last replaced, so that a login whose password
	 * was checked before a change committed opens no session. */
	{11, "ALTER TABLE users ADD COLUMN one_time_ms INTEGER NOT NULL DEFAULT 0;"
	     "ALTER TABLE users ADD COLUMN pw_changed_ms INTEGER NOT NULL DEFAULT 0;",
	 0},
	/* Addressed posts and requests (宛先・依頼, docs/requests.md). post_to:
	 * a post's addressees in the order given (posts stay as they are:
	 * append-only, and a timeline asks post_to only by its key).
	 * requests: the post asks its owner to do something by due_ms (0:
	 * no due time); done_ms when the owner marked it done; overdue_ms
	 * when the server found it past due (and told its author). The
	 * partial indexes are what the inbox and the overdue scan read. */
	{12, "CREATE TABLE IF NOT EXISTS post_to ("
	     " post_id INTEGER NOT NULL REFERENCES posts(id),"
	     " pos INTEGER NOT NULL,"
	     " user_id INTEGER NOT NULL REFERENCES users(id),"
	     " PRIMARY KEY (post_id, pos)) WITHOUT ROWID;"
	     "CREATE INDEX IF NOT EXISTS post_to_user ON post_to(user_id, post_id);"
	     "CREATE TABLE IF NOT EXISTS requests ("
	     " post_id INTEGER PRIMARY KEY REFERENCES posts(id),"
	     " owner_id INTEGER NOT NULL REFERENCES users(id),"
	     " due_ms INTEGER NOT NULL DEFAULT 0,"
	     " done_ms INTEGER,"
	     " done_by INTEGER REFERENCES users(id),"
	     " overdue_ms INTEGER);"
	     "CREATE INDEX IF NOT EXISTS requests_open ON requests(owner_id, due_ms)"
	     " WHERE done_ms IS NULL;"
	     "CREATE INDEX IF NOT EXISTS requests_due ON requests(due_ms)"
	     " WHERE done_ms IS NULL AND overdue_ms IS NULL AND due_ms > 0;",
	 0},
	/* Notices (docs/notice.md, server/notify/): where a user's notices
	 * go — Web Push subscriptions (channel 1: the push service's URL,
	 * the browser's P-256 key and auth secret) and e-mail addresses
	 * (channel 2) — and their preferences, the user's own (device_id 0)
	 * and each device's: urgent only, quiet hours (minutes of a JST day,
	 * -1 none), boards (patient ids, comma-separated; '' every board).
	 * Rerunnable (IF NOT EXISTS). (The coordinator may renumber this
	 * step at merge.) */
	{13, "CREATE TABLE IF NOT EXISTS notice_devices ("
	     " id INTEGER PRIMARY KEY,"
	     " user_id INTEGER NOT NULL REFERENCES users(id),"
	     " channel INTEGER NOT NULL,"
	     " endpoint TEXT NOT NULL,"
	     " p256dh BLOB,"
	     " auth BLOB,"
	     " label TEXT NOT NULL DEFAULT '',"
	     " created_ms INTEGER NOT NULL,"
	     " UNIQUE(user_id, endpoint));"
	     "CREATE INDEX IF NOT EXISTS notice_devices_endpoint"
	     " ON notice_devices(endpoint);"
	     "CREATE TABLE IF NOT EXISTS notice_prefs ("
	     " user_id INTEGER NOT NULL REFERENCES users(id),"
	     " device_id INTEGER NOT NULL,"
	     " urgent_only INTEGER NOT NULL DEFAULT 0,"
	     " quiet_from INTEGER NOT NULL DEFAULT -1,"
	     " quiet_until INTEGER NOT NULL DEFAULT -1,"
	     " boards TEXT NOT NULL DEFAULT '',"
	     " PRIMARY KEY(user_id, device_id)) WITHOUT ROWID;", 0},
	/* On-call and escalation (docs/oncall.md). call_order: a patient's
	 * call order, slot 1 first; several members may share a slot (pos:
	 * their order as given).
	 * oncall_rota: who is on duty for an organisation from start_ms
	 * (inclusive) to end_ms (exclusive); a removed entry keeps its row
	 * (audit records name it) with end_ms cut to when it was removed.
	 * escalations: one row per urgent post being escalated: the slot
	 * last called (step; nslots + 1 = the on-call persons), when the next
	 * step is due, and state 0 running, 1 stopped by a confirmation,
	 * 2 finished (nobody left to call). (Step 14: after the requests'
	 * 12 and the notices' 13 on main; the coordinator may renumber it.) */
	{14, "CREATE TABLE IF NOT EXISTS call_order ("
	     " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	     " slot INTEGER NOT NULL,"
	     " user_id INTEGER NOT NULL REFERENCES users(id),"
	     " pos INTEGER NOT NULL,"
	     " PRIMARY KEY (patient_id, user_id)) WITHOUT ROWID;"
	     "CREATE TABLE IF NOT EXISTS oncall_rota ("
	     " id INTEGER PRIMARY KEY,"
	     " org_id INTEGER NOT NULL REFERENCES orgs(id),"
	     " user_id INTEGER NOT NULL REFERENCES users(id),"
	     " start_ms INTEGER NOT NULL,"
	     " end_ms INTEGER NOT NULL,"
	     " set_by INTEGER NOT NULL DEFAULT 0,"
	     " created_ms INTEGER NOT NULL,"
	     " removed_ms INTEGER NOT NULL DEFAULT 0);"
	     "CREATE INDEX IF NOT EXISTS oncall_by_user ON oncall_rota(user_id, end_ms);"
	     "CREATE INDEX IF NOT EXISTS oncall_by_org ON oncall_rota(org_id, end_ms);"
	     "CREATE TABLE IF NOT EXISTS escalations ("
	     " post_id INTEGER PRIMARY KEY REFERENCES posts(id),"
	     " patient_id INTEGER NOT NULL REFERENCES patients(id),"
	     " step INTEGER NOT NULL,"
	     " due_ms INTEGER NOT NULL,"
	     " state INTEGER NOT NULL DEFAULT 0,"
	     " stopped_by INTEGER NOT NULL DEFAULT 0,"
	     " stopped_ms INTEGER NOT NULL DEFAULT 0);"
	     "CREATE INDEX IF NOT EXISTS escalations_due ON escalations(state, due_ms);",
	 0},
};

/* audit.db: filled by the audit module (records, checkpoints). */
static const struct schema_migration audit_migrations[] = {
	{1, "CREATE TABLE audit.meta ("
	    " name TEXT PRIMARY KEY,"
	    " value BLOB NOT NULL) WITHOUT ROWID;", 0},
	/*
	 * The audit trail (see server/audit/audit.h for the hash chain and
	 * the checkpoints). Absent text fields are NULL, never ''. Record
	 * ids are 1, 2, 3, ... with no gap: the insert trigger refuses any
	 * other id, which also stops INSERT OR REPLACE from overwriting a
	 * record (REPLACE deletes without firing delete triggers). The
	 * triggers stop the normal code and accidents; a person holding the
	 * key can drop them, which is what the chain and the signed
	 * checkpoints are for. Triggers of an attached database name their
	 * table unqualified: it is the one in their own schema.
	 */
	{2, "CREATE TABLE audit.records ("
	    " id INTEGER PRIMARY KEY,"
	    " ts_ms INTEGER NOT NULL,"
	    " actor_user_id INTEGER NOT NULL,"
	    " actor_login TEXT,"
	    " actor_profession INTEGER NOT NULL,"
	    " actor_org TEXT,"
	    " session_id INTEGER NOT NULL,"
	    " address TEXT,"
	    " device TEXT,"
	    " action TEXT NOT NULL,"
	    " patient TEXT,"
	    " object TEXT,"
	    " outcome INTEGER NOT NULL,"
	    " error_code TEXT,"
	    " reason TEXT,"
	    " prev_hash BLOB NOT NULL,"
	    " hash BLOB NOT NULL);"
	    "CREATE INDEX audit.records_patient ON records(patient);"
	    "CREATE INDEX audit.records_login ON records(actor_login);"
	    "CREATE INDEX audit.records_org ON records(actor_org);"
	    "CREATE INDEX audit.records_action ON records(action);"
	    "CREATE INDEX audit.records_ts ON records(ts_ms);"
	    "CREATE TABLE audit.checkpoints ("
	    " id INTEGER PRIMARY KEY,"
	    " record_id INTEGER NOT NULL UNIQUE,"
	    " record_hash BLOB NOT NULL,"
	    " signed_ms INTEGER NOT NULL,"
	    " key_id BLOB NOT NULL,"
	    " sig BLOB NOT NULL);"
	    "CREATE TRIGGER audit.records_append_only BEFORE INSERT ON records"
	    " WHEN NEW.id IS NOT (SELECT coalesce(max(id), 0) + 1 FROM records)"
	    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
	    "CREATE TRIGGER audit.records_no_update BEFORE UPDATE ON records"
	    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
	    "CREATE TRIGGER audit.records_no_delete BEFORE DELETE ON records"
	    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
	    "CREATE TRIGGER audit.checkpoints_append_only BEFORE INSERT ON checkpoints"
	    " WHEN NEW.record_id <= (SELECT coalesce(max(record_id), 0) FROM checkpoints)"
	    " OR EXISTS (SELECT 1 FROM checkpoints WHERE id = NEW.id)"
	    " BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;"
	    "CREATE TRIGGER audit.checkpoints_no_update BEFORE UPDATE ON checkpoints"
	    " BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;"
	    "CREATE TRIGGER audit.checkpoints_no_delete BEFORE DELETE ON checkpoints"
	    " BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;", 0},
	/*
	 * The SHA-256 (lower-case hex) of the canonical content of what a
	 * record's action created or changed: a post, a sheet row, a
	 * hand-off, a photo (server/care/digest.c). NULL for the rest, and
	 * for every record written before. Part of the hash chain (the
	 * record's encoding version 2, server/audit/canon.c), so the stored
	 * data can be held against a trail that only the signing key could
	 * rewrite: `renkei-server verify --content`.
	 */
	{3, "ALTER TABLE audit.records ADD COLUMN content_sha256 TEXT;", 0},
	/*
	 * Trusted time: a checkpoint says whether the wall clock that gave
	 * its signed_ms was synchronised (adjtimex: 0 no, 1 yes, 2 could
	 * not tell), and its signature covers that (message version 2,
	 * audit/canon.h). Checkpoints signed before this step keep NULL and
	 * their version 1 signature.
	 */
	{4, "ALTER TABLE audit.checkpoints ADD COLUMN clock_sync INTEGER;", 0},
	/*
	 * Signing-key rotation (audit/canon.h, "the chain of signing keys"):
	 * a rotation checkpoint names the next public key (32 raw bytes) and
	 * carries the old key's signature of the rotation statement. NULL
	 * on every other checkpoint.
	 */
	{5, "ALTER TABLE audit.checkpoints ADD COLUMN next_key BLOB;"
	    "ALTER TABLE audit.checkpoints ADD COLUMN rotate_sig BLOB;", 0},
};

const struct schema_migration *
schema_migrations(const char *db, int *count)
{
	if (strcmp(db, "audit") == 0) {
		*count = (int)(sizeof(audit_migrations) / sizeof(audit_migrations[0]));
		return audit_migrations;
	}
	*count = (int)(sizeof(care_migrations) / sizeof(care_migrations[0]));
	return care_migrations;
}
