/*
 * The audit trail in PostgreSQL.  Schema versions live in
 * schema_migrations (version, applied_at); version 1 made scan_audit,
 * one row per completed scan and check run:
 *
 *   job_id, scanner, check_run_id	the key (a re-run is a new check run)
 *   delivery_id, sender, event		what caused it
 *   installation_id, owner, repo, pr_number, head_sha
 *   scanner_version, started_at, completed_at
 *   status				success | scan_error | cancelled
 *   conclusion				the check run's
 *   error				why a scan could not run, or NULL
 *   findings, finding_count		JSONB array of the findings
 *   recorded_at			when the row was written
 */
#include "prscan/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/http.h"

/* pg_advisory_lock key of the migrations: "prsc" as a number. */
#define PRS_PG_LOCK "1886548835"
#define PRS_PG_NPARAMS 19

struct prs_pg {
	PGconn *conn;
};

static const char *const prs_pg_migrations[] = {
	/* 1 */
	"CREATE TABLE scan_audit ("
	" job_id text NOT NULL,"
	" scanner text NOT NULL,"
	" check_run_id bigint NOT NULL,"
	" delivery_id text,"
	" sender text,"
	" event text,"
	" installation_id bigint NOT NULL,"
	" owner text NOT NULL,"
	" repo text NOT NULL,"
	" pr_number bigint NOT NULL,"
	" head_sha text NOT NULL,"
	" scanner_version text,"
	" started_at timestamptz,"
	" completed_at timestamptz NOT NULL,"
	" status text NOT NULL,"
	" conclusion text,"
	" error text,"
	" findings jsonb NOT NULL,"
	" finding_count integer NOT NULL,"
	" recorded_at timestamptz NOT NULL DEFAULT now(),"
	" PRIMARY KEY (job_id, scanner, check_run_id));"
	"CREATE INDEX scan_audit_completed ON scan_audit (completed_at);"
	"CREATE INDEX scan_audit_repo ON scan_audit"
	" (lower(owner), lower(repo));"
	"CREATE INDEX scan_audit_sender ON scan_audit (lower(sender));",
};

#define PRS_PG_NMIGRATIONS \
	(sizeof(prs_pg_migrations) / sizeof(prs_pg_migrations[0]))

int
prs_pg_schema_version(void)
{
	return (int)PRS_PG_NMIGRATIONS;
}

/* Records libpq's message, on one line and scrubbed; returns -1. */
static int
prs_pg_fail(const struct prs_pg *pg, const PGresult *res, const char *what)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : "";
	char *s, *p;

	if (*m == '\0' && pg != NULL && pg->conn != NULL)
		m = PQerrorMessage(pg->conn);
	s = prs_scrub(*m != '\0' ? m : "no answer");
	for (p = s; p != NULL && *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '"')
			*p = *p == '"' ? '\'' : ' ';
	for (p = s != NULL ? s + strlen(s) : NULL; p != NULL && p > s &&
	    p[-1] == ' '; p--)
		p[-1] = '\0';
	prs_error_set("%s: %s", what, s != NULL ? s : "out of memory");
	free(s);
	return -1;
}

/* 1 when res failed with SQLSTATE class cls ("22") or code (5 chars). */
static int
prs_pg_state_is(const PGresult *res, const char *want)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return st != NULL && strncmp(st, want, strlen(want)) == 0;
}

int
prs_pg_config_load(char **out)
{
	PQconninfoOption *opts;
	char *err = NULL;

	if (prs_env_secret("DATABASE_URL", out) < 0)
		return -1;
	if (*out == NULL)
		return 0;
	opts = PQconninfoParse(*out, &err);
	/* err may quote the value: it is not shown. */
	PQfreemem(err);
	if (opts == NULL) {
		prs_secret_free(*out);
		*out = NULL;
		return prs_error_set("DATABASE_URL: not a PostgreSQL "
		    "connection string (postgresql://USER:PASSWORD@HOST:PORT/"
		    "DB or key=value ...)");
	}
	PQconninfoFree(opts);
	return 0;
}

void
prs_pg_where(const char *conninfo, char *buf, size_t n)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL), *o;
	const char *host = NULL, *port = NULL, *db = NULL;

	for (o = opts; o != NULL && o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	snprintf(buf, n, "%s:%s/%s", host != NULL ? host : "(default)",
	    port != NULL ? port : "5432", db != NULL ? db : "(default)");
	PQconninfoFree(opts);
}

/* Notices ("already exists, skipping") are not ours to print. */
static void
prs_pg_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int
prs_pg_connect(const char *conninfo, const char *app, struct prs_pg **out)
{
	/* Defaults first: what the connection string names overrides them. */
	const char *const keys[] = { "connect_timeout", "tcp_user_timeout",
		"application_name", "dbname", NULL };
	const char *const vals[] = { "5", "30000", app, conninfo, NULL };
	struct prs_pg *pg = calloc(1, sizeof(*pg));

	*out = NULL;
	if (pg == NULL)
		return prs_error_set("out of memory");
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		prs_pg_fail(pg, NULL, "cannot connect");
		prs_pg_free(pg);
		return -1;
	}
	PQsetNoticeProcessor(pg->conn, prs_pg_notice, NULL);
	*out = pg;
	return 0;
}

int
prs_pg_ok(const struct prs_pg *pg)
{
	return pg != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

void
prs_pg_free(struct prs_pg *pg)
{
	if (pg == NULL)
		return;
	PQfinish(pg->conn);
	free(pg);
}

/* Runs a statement without parameters; 0 or -1. */
static int
prs_pg_exec(struct prs_pg *pg, const char *sql, const char *what)
{
	PGresult *res = PQexec(pg->conn, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = prs_pg_fail(pg, res, what);
	PQclear(res);
	return rc;
}

/* Runs one parameterised statement: its result, or NULL after failing. */
static PGresult *
prs_pg_params(struct prs_pg *pg, const char *sql, int n,
    const char *const *v, const char *what)
{
	PGresult *res = PQexecParams(pg->conn, sql, n, NULL, v, NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	prs_pg_fail(pg, res, what);
	PQclear(res);
	return NULL;
}

/* 1 when version is recorded, 0 when not, -1. */
static int
prs_pg_applied(struct prs_pg *pg, const char *version)
{
	PGresult *res = prs_pg_params(pg, "SELECT 1 FROM schema_migrations "
	    "WHERE version = $1::integer", 1, &version, "migrations");
	int rc = res != NULL ? PQntuples(res) > 0 : -1;

	PQclear(res);
	return rc;
}

/* Migration i (0-based) in one transaction; 1 run, 0 already there, -1. */
static int
prs_pg_migrate_one(struct prs_pg *pg, size_t i)
{
	char version[16], what[48];
	const char *v = version;
	PGresult *res = NULL;
	int done;

	snprintf(version, sizeof(version), "%zu", i + 1);
	snprintf(what, sizeof(what), "migration %zu", i + 1);
	if (prs_pg_exec(pg, "BEGIN", what) < 0)
		return -1;
	done = prs_pg_applied(pg, version);
	if (done == 1)
		return prs_pg_exec(pg, "ROLLBACK", what) < 0 ? -1 : 0;
	if (done == 0 && prs_pg_exec(pg, prs_pg_migrations[i], what) == 0)
		res = prs_pg_params(pg, "INSERT INTO schema_migrations "
		    "(version) VALUES ($1::integer)", 1, &v, what);
	if (res == NULL) {
		PQclear(PQexec(pg->conn, "ROLLBACK"));
		return -1;
	}
	PQclear(res);
	return prs_pg_exec(pg, "COMMIT", what) < 0 ? -1 : 1;
}

int
prs_pg_migrate(struct prs_pg *pg, int *applied)
{
	size_t i;
	int rc = -1, n = 0, one;

	if (prs_pg_exec(pg, "SELECT pg_advisory_lock(" PRS_PG_LOCK ")",
	    "migration lock") < 0)
		return -1;
	if (prs_pg_exec(pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, applied_at timestamptz NOT NULL "
	    "DEFAULT now())", "schema_migrations") < 0)
		goto out;
	for (i = 0; i < PRS_PG_NMIGRATIONS; i++) {
		one = prs_pg_migrate_one(pg, i);
		if (one < 0)
			goto out;
		n += one;
	}
	rc = 0;
out:
	PQclear(PQexec(pg->conn, "SELECT pg_advisory_unlock(" PRS_PG_LOCK
	    ")"));
	if (applied != NULL)
		*applied = n;
	return rc;
}

/* The row's columns in the order of the INSERT; r: required. */
static const struct {
	const char *key;
	int integer;
	int required;
} prs_pg_columns[] = {
	{ "job_id", 0, 1 }, { "scanner", 0, 1 }, { "check_run_id", 1, 1 },
	{ "delivery_id", 0, 0 }, { "sender", 0, 0 }, { "event", 0, 0 },
	{ "installation_id", 1, 1 }, { "owner", 0, 1 }, { "repo", 0, 1 },
	{ "pr_number", 1, 1 }, { "head_sha", 0, 1 },
	{ "scanner_version", 0, 0 }, { "started_at", 0, 0 },
	{ "completed_at", 0, 1 }, { "status", 0, 1 }, { "conclusion", 0, 0 },
	{ "error", 0, 0 },
};

#define PRS_PG_NCOLUMNS (sizeof(prs_pg_columns) / sizeof(prs_pg_columns[0]))

static const char prs_pg_insert_sql[] =
    "INSERT INTO scan_audit (job_id, scanner, check_run_id, delivery_id, "
    "sender, event, installation_id, owner, repo, pr_number, head_sha, "
    "scanner_version, started_at, completed_at, status, conclusion, error, "
    "findings, finding_count) VALUES ($1, $2, $3::bigint, $4, $5, $6, "
    "$7::bigint, $8, $9, $10::bigint, $11, $12, $13::timestamptz, "
    "$14::timestamptz, $15, $16, $17, $18::jsonb, $19::integer) "
    "ON CONFLICT (job_id, scanner, check_run_id) DO NOTHING";

/* Text parameters from the row: nums holds the integers' digits. */
static int
prs_pg_row_params(const json_t *row, const char **v, char nums[][24])
{
	const json_t *x;
	size_t i;

	for (i = 0; i < PRS_PG_NCOLUMNS; i++) {
		x = json_object_get(row, prs_pg_columns[i].key);
		v[i] = NULL;
		if (prs_pg_columns[i].integer && json_is_integer(x)) {
			snprintf(nums[i], 24, "%lld",
			    (long long)json_integer_value(x));
			v[i] = nums[i];
		} else if (!prs_pg_columns[i].integer && json_is_string(x)) {
			v[i] = json_string_value(x);
		}
		if (v[i] == NULL && prs_pg_columns[i].required)
			return prs_error_set("audit row: %s: missing or of the "
			    "wrong type", prs_pg_columns[i].key);
	}
	return 0;
}

int
prs_pg_audit_insert(struct prs_pg *pg, const json_t *row)
{
	const char *v[PRS_PG_NPARAMS];
	char nums[PRS_PG_NCOLUMNS][24], count[24];
	const json_t *findings = json_object_get(row, "findings");
	char *text = NULL;
	PGresult *res;
	int rc = PRS_EINPUT;

	if (!json_is_array(findings)) {
		prs_error_set("audit row: findings: missing or not an array");
		goto out;
	}
	if (prs_pg_row_params(row, v, nums) < 0)
		goto out;
	text = json_dumps(findings, JSON_COMPACT);
	if (text == NULL) {
		rc = prs_error_set("audit row: out of memory");
		goto out;
	}
	snprintf(count, sizeof(count), "%zu", json_array_size(findings));
	v[PRS_PG_NCOLUMNS] = text;
	v[PRS_PG_NCOLUMNS + 1] = count;
	res = PQexecParams(pg->conn, prs_pg_insert_sql, PRS_PG_NPARAMS, NULL,
	    v, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		rc = strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0;
	} else {
		prs_pg_fail(pg, res, "audit insert");
		/* Data (22) and constraint (23) errors repeat forever. */
		rc = prs_pg_state_is(res, "22") || prs_pg_state_is(res, "23") ?
		    PRS_EINPUT : -1;
	}
	PQclear(res);
out:
	free(text);
	return rc;
}

int
prs_pg_audit_prune(struct prs_pg *pg, long days, long long *removed)
{
	char d[24];
	const char *v = d;
	PGresult *res;

	snprintf(d, sizeof(d), "%ld", days);
	res = prs_pg_params(pg, "DELETE FROM scan_audit WHERE completed_at < "
	    "now() - make_interval(days => $1::integer)", 1, &v,
	    "audit prune");
	if (res == NULL)
		return -1;
	if (removed != NULL)
		*removed = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* Runs a purge's DELETE or count; a missing table counts 0. */
static int
prs_pg_purge(struct prs_pg *pg, const char *where, int nv,
    const char *const *v, int count_only, long long *n)
{
	char sql[256];
	PGresult *res;
	int rc = 0;

	snprintf(sql, sizeof(sql), "%s FROM scan_audit WHERE %s", count_only ?
	    "SELECT count(*)" : "DELETE", where);
	*n = 0;
	res = PQexecParams(pg->conn, sql, nv, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		*n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (PQresultStatus(res) == PGRES_COMMAND_OK)
		*n = strtoll(PQcmdTuples(res), NULL, 10);
	else if (!prs_pg_state_is(res, "42P01"))
		rc = prs_pg_fail(pg, res, "audit purge");
	PQclear(res);
	return rc;
}

int
prs_pg_audit_purge_repo(struct prs_pg *pg, const char *owner,
    const char *repo, int count_only, long long *n)
{
	const char *const v[] = { owner, repo };

	return prs_pg_purge(pg, "lower(owner) = lower($1) AND "
	    "lower(repo) = lower($2)", 2, v, count_only, n);
}

int
prs_pg_audit_purge_user(struct prs_pg *pg, const char *login,
    int count_only, long long *n)
{
	return prs_pg_purge(pg, "lower(sender) = lower($1) OR "
	    "lower(owner) = lower($1)", 1, &login, count_only, n);
}
