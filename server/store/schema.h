/*
 * schema — the numbered, forward-only migrations of both databases.
 *
 * Migration N takes a database from user_version N-1 to N; each runs in
 * its own transaction at open. Never edit a migration that has shipped:
 * add the next one.
 */
#ifndef RK_STORE_SCHEMA_H
#define RK_STORE_SCHEMA_H

struct schema_migration {
	int version;
	const char *sql;
	/* The step rebuilds a table others refer to (CREATE new, copy, DROP
	 * old, RENAME): it runs with foreign keys off, and PRAGMA
	 * foreign_key_check must find nothing before it commits. */
	int rebuild;
};

/* For the schema named `db` ("main" or "audit"); *count is set. */
const struct schema_migration *schema_migrations(const char *db, int *count);

#endif
