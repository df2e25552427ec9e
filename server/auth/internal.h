/*
 * Shared between auth's own files; not part of its API.
 */
#ifndef RK_AUTH_INTERNAL_H
#define RK_AUTH_INTERNAL_H

#include "auth/auth.h"

/* The columns auth_user_row() reads, for "SELECT " AUTH_USER_COLS "WHERE". */
#define AUTH_USER_COLS                                                         \
	"u.id, u.login, u.display_name, u.profession, u.disabled, "            \
	"coalesce(o.id, 0), coalesce(o.code, ''), coalesce(o.name, ''), "      \
	"coalesce(o.kind, '') FROM users u LEFT JOIN orgs o ON o.id = u.org_id "
#define AUTH_USER_NCOLS 9

/* Fill *u from a row selected with AUTH_USER_COLS starting at column c. */
void auth_user_row(sqlite3_stmt *q, int c, struct auth_user *u);

#endif
