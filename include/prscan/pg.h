/*
 * The audit trail in PostgreSQL (libpq): the connection from
 * DATABASE_URL, the versioned schema, and the scan_audit rows written,
 * pruned and purged.  Every statement is parameterised.
 */
#ifndef PRSCAN_PG_H
#define PRSCAN_PG_H

#include <stddef.h>
#include <jansson.h>

struct prs_pg;

/*
 * Reads DATABASE_URL or DATABASE_URL_FILE (a libpq URI or key=value
 * string, which may hold a password) into *out (free with
 * prs_secret_free); NULL when neither is set.  Returns 0, or -1 when
 * both are set, the file is unreadable or libpq cannot parse the value
 * (the message never holds it).
 */
int prs_pg_config_load(char **out);

/*
 * Writes "host:port/dbname" of conninfo into buf (n bytes): what logs
 * may say about the database; never the user or the password.
 */
void prs_pg_where(const char *conninfo, char *buf, size_t n);

/*
 * Connects as application name app into *out (free with prs_pg_free),
 * with connect_timeout 5 s and tcp_user_timeout 30 s unless conninfo
 * says otherwise.  Returns 0, or -1 with prs_error_last() holding
 * libpq's scrubbed message.
 */
int prs_pg_connect(const char *conninfo, const char *app,
    struct prs_pg **out);

/* 1 while the connection is usable. */
int prs_pg_ok(const struct prs_pg *pg);

/* Closes the connection; accepts NULL. */
void prs_pg_free(struct prs_pg *pg);

/*
 * Brings the schema to the newest version: under the advisory lock
 * PRS_PG_LOCK (so that replicas starting together take turns), each
 * migration not yet in schema_migrations runs in its own transaction
 * with the row that records it.  *applied (may be NULL) counts those
 * run now.  Returns 0 or -1.
 */
int prs_pg_migrate(struct prs_pg *pg, int *applied);

/* The newest schema version this build knows. */
int prs_pg_schema_version(void);

/*
 * Inserts one scan_audit row from its JSON form (keys as the columns;
 * findings an array).  A row with the same job_id, scanner and
 * check_run_id is left as it is.  Returns 1 when inserted, 0 when it
 * was there, PRS_EINPUT when the row is malformed (it will never go
 * in), -1 when the database failed (try again).
 */
int prs_pg_audit_insert(struct prs_pg *pg, const json_t *row);

/*
 * Removes the rows completed more than days days ago; *removed (may be
 * NULL) their count.  Returns 0 or -1.
 */
int prs_pg_audit_prune(struct prs_pg *pg, long days, long long *removed);

/*
 * Removes (count_only: counts) the rows of repository owner/repo
 * (case-insensitive); *n their count.  A database without the table has
 * none.  Returns 0 or -1.
 */
int prs_pg_audit_purge_repo(struct prs_pg *pg, const char *owner,
    const char *repo, int count_only, long long *n);

/* The same for the rows whose sender or owner is login. */
int prs_pg_audit_purge_user(struct prs_pg *pg, const char *login,
    int count_only, long long *n);

#endif
