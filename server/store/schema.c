#include "store/schema.h"

#include <string.h>

/*
 * care.db ("main"). Times are ms since the epoch, UTC.
 * Accounts: a login that fails repeatedly is locked in login_failures even
 * when no such user exists, so lockouts do not reveal which logins exist.
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
	    " last_ms INTEGER NOT NULL) WITHOUT ROWID;"},
};

/* audit.db: filled by the audit module (records, checkpoints). */
static const struct schema_migration audit_migrations[] = {
	{1, "CREATE TABLE audit.meta ("
	    " name TEXT PRIMARY KEY,"
	    " value BLOB NOT NULL) WITHOUT ROWID;"},
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
