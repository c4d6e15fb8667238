/*
 * The scan results' retention and the audit trail.
 *
 * When the publisher has completed a check run it calls
 * api_audit_completed, which appends one entry to the stream
 * audit-writes (fields job, scanner, row: the row's JSON, complete in
 * itself, so that neither the job record's nor the result's expiry can
 * lose it).  The stream has no MAXLEN: a cap would drop rows while the
 * database is away; entries are deleted once their row is committed, so
 * it only grows during an outage (audit_writes_backlog shows it).
 *
 * The audit thread reads the stream through the consumer group
 * "auditor" under one consumer name shared by every replica, so that a
 * replica that dies leaves nothing the others cannot see; two replicas
 * writing the same entry are harmless, as the insert ignores a row whose
 * job, scanner and check run are there already.  An entry is
 * acknowledged and deleted only after its row was committed (or refused
 * for good, which is logged).  While PostgreSQL does not answer the
 * thread reconnects with a doubling wait up to AUDIT_RETRY_MAX_MS; the
 * entries wait in Redis.  Each connection first brings the schema up to
 * date (prs_pg_migrate); every AUDIT_PRUNE_INTERVAL the rows older than
 * AUDIT_RETENTION_DAYS are removed.
 */
#include "api.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prscan/clock.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/log.h"
#include "prscan/metrics.h"
#include "prscan/pg.h"

#define AUDIT_GROUP "auditor"
#define AUDIT_CONSUMER "auditor"
#define AUDIT_BATCH 100
#define AUDIT_BLOCK_MS 500
#define AUDIT_RETRY_FIRST_MS 250

struct api_audit {
	struct api *api;
	pthread_t thread;
	int running;
	_Atomic int stop;
	struct prs_pg *pg;
	long wait_ms;			/* the next reconnect's wait */
	long long next_prune_ms;
	int group_ready;
	char where[256];		/* host:port/db, for logs */
};

int
api_audit_config(struct api_config *cfg)
{
	if (prs_env_long("RESULT_TTL", 604800, 0, 315360000L,
	    &cfg->result_ttl) < 0 ||
	    prs_env_long("AUDIT_RETENTION_DAYS", 365, 1, 36500,
	    &cfg->audit_retention_days) < 0 ||
	    prs_env_long("AUDIT_PRUNE_INTERVAL", 86400, 1, 31536000,
	    &cfg->audit_prune_interval) < 0 ||
	    prs_env_long("AUDIT_RETRY_MAX_MS", 30000, AUDIT_RETRY_FIRST_MS,
	    3600000,
	    &cfg->audit_retry_max_ms) < 0)
		return -1;
	return prs_pg_config_load(&cfg->database_url);
}

void
api_audit_keep_result(const struct api *api, redisContext *c,
    const char *job, const char *scanner)
{
	if (api->cfg.result_ttl > 0)
		freeReplyObject(redisCommand(c, "EXPIRE scan_result:%s:%s %ld",
		    job, scanner, api->cfg.result_ttl));
	else
		freeReplyObject(redisCommand(c, "DEL scan_result:%s:%s", job,
		    scanner));
}

/* -- the entry ----------------------------------------------------- */

/* A string reply's JSON, NULL for nil; -1 when Redis failed. */
static int
audit_get(redisContext *c, const char *fmt, const char *job,
    const char *scanner, char **out)
{
	redisReply *r = redisCommand(c, fmt, job, scanner);
	int rc = -1;

	*out = NULL;
	if (r != NULL && (r->type == REDIS_REPLY_STRING ||
	    r->type == REDIS_REPLY_NIL)) {
		rc = 0;
		if (r->type == REDIS_REPLY_STRING)
			*out = strndup(r->str, r->len);
		if (r->type == REDIS_REPLY_STRING && *out == NULL)
			rc = -1;
	}
	freeReplyObject(r);
	return rc;
}

/* The check run's conclusion among the bodies sent, or NULL. */
static const char *
audit_conclusion(const json_t *bodies)
{
	const char *s = NULL;
	json_t *b;
	size_t i;

	json_array_foreach(bodies, i, b)
		if (json_is_string(json_object_get(b, "conclusion")))
			s = json_string_value(json_object_get(b,
			    "conclusion"));
	return s;
}

/* A 2024-05-01T12:00:00Z timestamp, or NULL (an older mark says "1"). */
static const char *
audit_time(const char *s)
{
	return s != NULL && strlen(s) == 20 && s[4] == '-' && s[10] == 'T' &&
	    s[19] == 'Z' ? s : NULL;
}

/* Status, error and findings of a stored result (root may be NULL). */
static void
audit_outcome(const json_t *root, const char **status, const char **error,
    json_t **findings)
{
	const json_t *res = json_object_get(root, "result");

	*error = json_string_value(json_object_get(root, "error"));
	*findings = json_object_get(res, "findings");
	if (json_is_string(json_object_get(root, "cancelled")))
		*status = "cancelled";
	else if (*error != NULL || !json_is_object(res))
		*status = "scan_error";
	else
		*status = "success";
	if (*error == NULL && !json_is_object(res) &&
	    strcmp(*status, "cancelled") != 0)
		*error = "the stored result was gone";
	*findings = json_is_array(*findings) ? json_incref(*findings) :
	    json_array();
}

static json_t *
audit_row(const struct prs_job *job, const char *scanner,
    long long check_id, const char *at, const char *started,
    const json_t *root, const json_t *bodies)
{
	const char *status, *error;
	json_t *findings;

	audit_outcome(root, &status, &error, &findings);
	return json_pack("{s:s,s:s,s:I,s:s*,s:s*,s:s*,s:I,s:s,s:s,s:I,s:s,"
	    "s:s*,s:s*,s:s,s:s,s:s*,s:s*,s:o}",
	    "job_id", job->id, "scanner", scanner,
	    "check_run_id", (json_int_t)check_id,
	    "delivery_id", job->delivery, "sender", job->sender,
	    "event", job->event,
	    "installation_id", (json_int_t)job->installation,
	    "owner", job->owner, "repo", job->repo,
	    "pr_number", (json_int_t)job->pr_number,
	    "head_sha", job->head_sha,
	    "scanner_version", json_string_value(json_object_get(
	    json_object_get(root, "result"), "scanner_version")),
	    "started_at", audit_time(started), "completed_at", at,
	    "status", status, "conclusion", audit_conclusion(bodies),
	    "error", error, "findings", findings);
}

int
api_audit_completed(struct api *api, redisContext *c,
    const struct prs_job *job, const char *scanner, long long check_id,
    const char *at, const json_t *bodies)
{
	char *result = NULL, *started = NULL, *text = NULL;
	json_t *root = NULL, *row = NULL;
	redisReply *r = NULL;
	int rc = -1;

	if (api->cfg.database_url == NULL)
		return 0;
	if (audit_get(c, "GET scan_result:%s:%s", job->id, scanner,
	    &result) < 0 || audit_get(c, "GET cb:start:%s:%s", job->id,
	    scanner, &started) < 0)
		goto out;
	root = result != NULL ? json_loads(result, 0, NULL) : NULL;
	row = audit_row(job, scanner, check_id, at, started, root, bodies);
	text = row != NULL ? json_dumps(row, JSON_COMPACT) : NULL;
	if (text == NULL) {
		/* Not Redis's fault: retrying would not help. */
		prs_err("audit row not queued", "job=%s scanner=%s "
		    "reason=\"out of memory\"", job->id, scanner);
		rc = 0;
		goto out;
	}
	r = redisCommand(c, "XADD %s * job %s scanner %s row %s",
	    API_AUDIT_STREAM, job->id, scanner, text);
	rc = r != NULL && r->type == REDIS_REPLY_STRING ? 0 : -1;
	if (rc == 0)
		prs_debug("audit row queued", "job=%s scanner=%s entry=%s",
		    job->id, scanner, r->str);
out:
	freeReplyObject(r);
	free(text);
	json_decref(row);
	json_decref(root);
	free(result);
	free(started);
	return rc;
}

/* -- the thread ---------------------------------------------------- */


/* Sleeps ms in short steps, returning early when asked to stop. */
static void
audit_sleep(struct api_audit *a, long ms)
{
	struct timespec ts = { 0, 50 * 1000000L };

	for (; ms > 0 && !a->stop; ms -= 50)
		nanosleep(&ts, NULL);
}

static void
audit_db_lost(struct api_audit *a, const char *what)
{
	prs_warn("audit database unavailable", "where=%s step=%s wait_ms=%ld "
	    "reason=%s", a->where, what, a->wait_ms,
	    prs_log_q(prs_error_last()));
	prs_metrics_counter_add("audit_write_failures_total",
	    (const char *[]){ "reason", "database", NULL }, 1);
	prs_pg_free(a->pg);
	a->pg = NULL;
	audit_sleep(a, a->wait_ms);
	a->wait_ms = a->wait_ms * 2 > a->api->cfg.audit_retry_max_ms ?
	    a->api->cfg.audit_retry_max_ms : a->wait_ms * 2;
}

/* Connected and migrated: 0, or -1 after waiting. */
static int
audit_db(struct api_audit *a)
{
	int applied = 0;

	if (prs_pg_ok(a->pg))
		return 0;
	prs_pg_free(a->pg);
	a->pg = NULL;
	if (prs_pg_connect(a->api->cfg.database_url, "prscan-api",
	    &a->pg) < 0) {
		audit_db_lost(a, "connect");
		return -1;
	}
	if (prs_pg_migrate(a->pg, &applied) < 0) {
		audit_db_lost(a, "migrate");
		return -1;
	}
	a->wait_ms = AUDIT_RETRY_FIRST_MS;
	prs_info("audit database connected", "where=%s schema=%d applied=%d",
	    a->where, prs_pg_schema_version(), applied);
	return 0;
}

static void
audit_prune(struct api_audit *a)
{
	long long removed = 0;

	if (prs_clock_ms() < a->next_prune_ms)
		return;
	if (prs_pg_audit_prune(a->pg, a->api->cfg.audit_retention_days,
	    &removed) < 0) {
		prs_err("audit rows not pruned", "where=%s reason=%s",
		    a->where, prs_log_q(prs_error_last()));
		return;
	}
	a->next_prune_ms = prs_clock_ms() +
	    a->api->cfg.audit_prune_interval * 1000LL;
	prs_log(removed > 0 ? PRS_LOG_INFO : PRS_LOG_DEBUG,
	    "audit rows pruned", "removed=%lld retention_days=%ld", removed,
	    a->api->cfg.audit_retention_days);
}

static int
audit_group(struct api_audit *a, redisContext *c)
{
	redisReply *r;

	if (a->group_ready)
		return 0;
	r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM",
	    API_AUDIT_STREAM, AUDIT_GROUP);
	a->group_ready = r != NULL && (r->type == REDIS_REPLY_STATUS ||
	    (r->type == REDIS_REPLY_ERROR && strstr(r->str, "BUSYGROUP")));
	freeReplyObject(r);
	return a->group_ready ? 0 : -1;
}

static int
audit_ack(redisContext *c, const char *id)
{
	redisReply *r = redisCommand(c, "XACK %s %s %s", API_AUDIT_STREAM,
	    AUDIT_GROUP, id);
	int ok = r != NULL && r->type == REDIS_REPLY_INTEGER;

	freeReplyObject(r);
	r = ok ? redisCommand(c, "XDEL %s %s", API_AUDIT_STREAM, id) : NULL;
	ok = r != NULL && r->type == REDIS_REPLY_INTEGER;
	freeReplyObject(r);
	return ok ? 0 : -1;
}

static const char *
audit_field(const redisReply *f, const char *name)
{
	size_t i;

	for (i = 0; f != NULL && i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, name) == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING)
			return f->element[i + 1]->str;
	return NULL;
}

/* Writes one entry's row: 0 (acknowledge), -1 database, PRS_EINPUT. */
static int
audit_write(struct api_audit *a, const char *id, const redisReply *f)
{
	const char *text = audit_field(f, "row");
	json_t *row = text != NULL ? json_loads(text, 0, NULL) : NULL;
	int rc;

	if (row == NULL) {
		prs_error_set("the entry holds no row's JSON");
		rc = PRS_EINPUT;
	} else {
		rc = prs_pg_audit_insert(a->pg, row);
	}
	json_decref(row);
	if (rc >= 0) {
		prs_debug("audit row written", "entry=%s job=%s scanner=%s "
		    "new=%d", id, audit_field(f, "job"),
		    audit_field(f, "scanner"), rc);
		prs_metrics_counter_add("audit_rows_written_total", NULL,
		    rc == 1 ? 1 : 0);
		return 0;
	}
	if (rc == PRS_EINPUT) {
		prs_err("audit row refused", "entry=%s job=%s scanner=%s "
		    "reason=%s", id, audit_field(f, "job"),
		    audit_field(f, "scanner"), prs_log_q(prs_error_last()));
		prs_metrics_counter_add("audit_write_failures_total",
		    (const char *[]){ "reason", "refused", NULL }, 1);
	}
	return rc;
}

/* The entries of one XREADGROUP reply, or NULL. */
static const redisReply *
audit_entries(const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->elements != 2)
		return NULL;
	return r->element[0]->element[1];
}

/*
 * Writes a batch, pending entries first (then new ones, waiting for
 * them a while).  Returns the entries written, -1 (Redis), -2 (database).
 */
static int
audit_pass(struct api_audit *a, redisContext *c)
{
	redisReply *r;
	const redisReply *list, *e;
	size_t i;
	int rc, n = 0;

	r = redisCommand(c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s 0",
	    AUDIT_GROUP, AUDIT_CONSUMER, AUDIT_BATCH, API_AUDIT_STREAM);
	list = audit_entries(r);
	if (list != NULL && list->elements == 0) {
		freeReplyObject(r);
		r = redisCommand(c, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d "
		    "STREAMS %s >", AUDIT_GROUP, AUDIT_CONSUMER, AUDIT_BATCH,
		    AUDIT_BLOCK_MS, API_AUDIT_STREAM);
		list = r != NULL && r->type == REDIS_REPLY_NIL ? NULL :
		    audit_entries(r);
		if (r != NULL && r->type == REDIS_REPLY_NIL) {
			freeReplyObject(r);
			return 0;
		}
	}
	rc = list != NULL ? 0 : -1;
	for (i = 0; list != NULL && i < list->elements && !a->stop; i++) {
		e = list->element[i];
		/* Deleted meanwhile (by a peer or purge): nothing to write. */
		rc = e->element[1]->type != REDIS_REPLY_ARRAY ? 0 :
		    audit_write(a, e->element[0]->str, e->element[1]);
		if (rc == -1) {
			rc = -2;
			break;
		}
		rc = audit_ack(c, e->element[0]->str);
		if (rc < 0)
			break;
		n++;
	}
	freeReplyObject(r);
	return rc < 0 ? rc : n;
}

static void
audit_backlog(redisContext *c)
{
	redisReply *r = redisCommand(c, "XLEN %s", API_AUDIT_STREAM);

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		prs_metrics_gauge_set("audit_writes_backlog", NULL,
		    (double)r->integer);
	freeReplyObject(r);
}

static void *
audit_main(void *arg)
{
	struct api_audit *a = arg;
	redisContext *c;
	int rc;

	while (!a->stop) {
		c = api_redis(a->api);
		if (c != NULL)
			audit_backlog(c);
		if (audit_db(a) < 0)
			continue;
		audit_prune(a);
		rc = c != NULL && audit_group(a, c) == 0 ? audit_pass(a, c) :
		    -1;
		if (rc == -2) {
			audit_db_lost(a, "insert");
		} else if (rc == -1) {
			a->group_ready = 0;
			if (c != NULL && c->err != 0)
				api_redis_drop();
			audit_sleep(a, 200);
		}
	}
	prs_pg_free(a->pg);
	api_redis_release();
	return NULL;
}

static void
audit_describe(void)
{
	prs_metrics_describe("audit_rows_written_total", "counter",
	    "Audit rows committed to PostgreSQL (a redelivered entry whose "
	    "row was there already is not counted).");
	prs_metrics_describe("audit_write_failures_total", "counter",
	    "Audit writes that failed, by reason: database (unreachable or "
	    "failing; retried) or refused (a malformed row, dropped).");
	prs_metrics_describe("audit_writes_backlog", "gauge",
	    "Entries of the audit-writes stream not yet written to "
	    "PostgreSQL.");
}

int
api_audit_start(struct api *api)
{
	struct api_audit *a;
	sigset_t all, old;
	int started;

	if (api->cfg.database_url == NULL)
		return 0;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return prs_error_set("out of memory");
	a->api = api;
	a->wait_ms = AUDIT_RETRY_FIRST_MS;
	prs_pg_where(api->cfg.database_url, a->where, sizeof(a->where));
	audit_describe();
	/* The thread blocks every signal: the main thread sigwaits. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	started = pthread_create(&a->thread, NULL, audit_main, a) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started) {
		free(a);
		return prs_error_set("audit: cannot start its thread");
	}
	a->running = 1;
	api->audit = a;
	prs_info("audit trail enabled", "where=%s retention_days=%ld",
	    a->where, api->cfg.audit_retention_days);
	return 0;
}

void
api_audit_stop(struct api *api)
{
	struct api_audit *a = api->audit;

	if (a == NULL)
		return;
	a->stop = 1;
	if (a->running)
		pthread_join(a->thread, NULL);
	free(a);
	api->audit = NULL;
}
