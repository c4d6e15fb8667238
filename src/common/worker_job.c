/*
 * One stream entry, one scan: read the job, tell the API it started, get
 * a token, clone, scan, report, acknowledge.
 *
 * The entry is acknowledged (XACK + XDEL) only once the API took the
 * completed callback, or when it can never be processed (dead letter).
 * While the API is unreachable the callback is retried with a backoff and
 * the entry stays in hand, its claim refreshed by the heartbeat; after the
 * second signal, or when a peer took the entry over, it is left pending.
 *
 * The heartbeat (worker_beat.c) may cancel a job whose pull request moved
 * on; the scanner is then stopped and the job reported as cancelled.
 */
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prscan/apiclient.h"
#include "prscan/clock.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/gitclone.h"
#include "prscan/log.h"

#define PRS_WJOB_BACKOFF_MIN_MS 500
#define PRS_WJOB_BACKOFF_MAX_MS 30000
#define PRS_WJOB_CLONE_TRIES 3
#define PRS_WJOB_REASON_SIZE 1024

/* One job in hand. */
struct prs_wjob {
	struct prs_wslot *s;
	struct prs_worker *w;
	const char *entry;		/* stream entry id */
	const struct prs_job *job;
	const redisReply *raw;		/* the entry's job field */
	const char *logf;		/* job= repo= sha= scanner= */
	struct prs_workspace ws;
	struct prs_scan_result *result;
	char reason[PRS_WJOB_REASON_SIZE];	/* scan error, or empty */
	const char *outcome;		/* for the metrics; NULL: by result */
};

/* The value of a field of the entry, or NULL. */
static const redisReply *
prs_wjob_field(const redisReply *fields, const char *name)
{
	size_t i;

	if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];
		const redisReply *v = fields->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && v->type ==
		    REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
			return v;
	}
	return NULL;
}

/* Reads the entry's job; *why says what is wrong when it cannot. */
static int
prs_wjob_parse(const redisReply *fields, struct prs_job **out, char *why,
    size_t n)
{
	const redisReply *id = prs_wjob_field(fields, "job_id");
	const redisReply *raw = prs_wjob_field(fields, "job");
	json_error_t jerr;
	json_t *j = NULL;
	int rc = -1;

	*out = NULL;
	if (id == NULL || raw == NULL) {
		snprintf(why, n, "entry lacks the job_id or job field");
		goto out;
	}
	j = json_loadb(raw->str, raw->len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		snprintf(why, n, "job is not JSON: %s", jerr.text);
		goto out;
	}
	if (prs_job_from_json(j, out) < 0) {
		snprintf(why, n, "invalid job: %s", prs_error_last());
		goto out;
	}
	if (strcmp((*out)->id, id->str) != 0) {
		snprintf(why, n, "job_id field does not match the job");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		prs_job_free(*out);
		*out = NULL;
	}
	json_decref(j);
	return rc;
}

static json_t *
prs_wjob_body(const struct prs_wjob *jb, const char *state)
{
	json_t *b = json_pack("{s:s, s:s}", "job_id", jb->job->id,
	    "scanner", jb->w->scanner->name);

	if (b != NULL && state != NULL &&
	    json_object_set_new(b, "state", json_string(state)) < 0) {
		json_decref(b);
		b = NULL;
	}
	return b;
}

/* A completed body with key set to the string value. */
static json_t *
prs_wjob_body_with(const struct prs_wjob *jb, const char *key,
    const char *value)
{
	json_t *b = prs_wjob_body(jb, "completed");

	if (b != NULL && json_object_set_new(b, key, json_string(value)) < 0) {
		json_decref(b);
		b = NULL;
	}
	return b;
}

/* Whether a failing POST should be tried again after delay ms. */
static int
prs_wjob_retry(const struct prs_wjob *jb, long long deadline, long delay,
    const char *path)
{
	char q[512];

	prs_log_quote(prs_error_last(), q, sizeof(q));
	if (deadline > 0 && prs_clock_ms() + delay > deadline) {
		prs_err("API unreachable, giving up", "%s path=%s error=%s",
		    jb->logf, path, q);
		return 0;
	}
	prs_warn("API unreachable, retrying", "%s path=%s error=%s "
	    "retry_ms=%ld", jb->logf, path, q, delay);
	return 1;
}

/*
 * POSTs body to path, retrying on no answer or 5xx with a backoff from
 * 0.5 s doubling to 30 s: for ever, or for CALLBACK_RETRY_FOR seconds
 * when that is set, and until *abort_flag.  Returns 0 on 2xx, -1 on
 * another status (*status), PRS_ERETRY when it gave up or was aborted.
 */
static int
prs_wjob_post(struct prs_wjob *jb, const char *path, const json_t *body,
    long *status, json_t **resp, const volatile sig_atomic_t *abort_flag)
{
	const struct prs_worker *w = jb->w;
	long long deadline = w->callback_retry_for > 0 ?
	    prs_clock_ms() + w->callback_retry_for * 1000 : 0;
	long delay = PRS_WJOB_BACKOFF_MIN_MS;
	int rc;

	for (;;) {
		if (resp != NULL) {
			json_decref(*resp);
			*resp = NULL;
		}
		rc = prs_api_post(w->api_url, path, w->secret, body, status,
		    resp);
		if (strcmp(path, "/callback") == 0)
			prs_worker_count_callback(rc == 0);
		if (rc != PRS_ERETRY)
			return rc;
		if (!prs_wjob_retry(jb, deadline, delay, path))
			return PRS_ERETRY;
		if (prs_worker_sleep_ms(delay, abort_flag) < 0)
			return PRS_ERETRY;
		delay = delay * 2 > PRS_WJOB_BACKOFF_MAX_MS ?
		    PRS_WJOB_BACKOFF_MAX_MS : delay * 2;
	}
}

/*
 * The API refused a callback for good.  Unless it does not know the job,
 * the check run is completed as failed with the reason, so that it does
 * not stay in progress; the entry, its job whole, goes to the dead
 * letters where prscanctl can replay it.
 */
static void
prs_wjob_reject(struct prs_wjob *jb, const char *what, long status)
{
	char reason[512], q[600];
	json_t *body;
	long st = 0;

	snprintf(reason, sizeof(reason), "API rejected the %s callback: %s",
	    what, prs_error_last());
	jb->outcome = "rejected";
	prs_err("job rejected by the API", "%s entry=%s status=%ld error=%s",
	    jb->logf, jb->entry, status, prs_log_quote(reason, q, sizeof(q)));
	if (status != 404 && (body = prs_wjob_body_with(jb, "error",
	    reason)) != NULL) {
		if (prs_wjob_post(jb, "/callback", body, &st, NULL,
		    &jb->s->abandon) != 0)
			prs_err("check run not failed", "%s entry=%s "
			    "status=%ld", jb->logf, jb->entry, st);
		json_decref(body);
	}
	prs_worker_redis_dead_letter(&jb->s->conn, jb->entry, reason,
	    jb->raw != NULL ? jb->raw->str : NULL,
	    jb->raw != NULL ? jb->raw->len : 0, 1);
}

/*
 * Sends a completed callback and acknowledges.  Returns 0, or -1 when the
 * entry is left pending (the worker is cancelled or lost the entry, or
 * CALLBACK_RETRY_FOR ran out).
 */
static int
prs_wjob_finish(struct prs_wjob *jb, json_t *body)
{
	long status = 0;
	int rc;

	if (body == NULL) {
		prs_err("out of memory building the callback", "%s", jb->logf);
		return -1;
	}
	rc = prs_wjob_post(jb, "/callback", body, &status, NULL,
	    &jb->s->abandon);
	json_decref(body);
	if (rc == PRS_ERETRY) {
		prs_err("completion not delivered, entry left pending",
		    "%s entry=%s", jb->logf, jb->entry);
		return -1;
	}
	if (rc < 0) {
		prs_wjob_reject(jb, "completed", status);
		return 0;
	}
	return prs_worker_redis_ack(&jb->s->conn, jb->entry);
}

/* Reports a superseded job as cancelled and acknowledges it. */
static int
prs_wjob_cancelled(struct prs_wjob *jb)
{
	char why[PRS_WORKER_WHY_SIZE], q[PRS_WORKER_WHY_SIZE + 8];

	pthread_mutex_lock(&jb->w->lock);
	snprintf(why, sizeof(why), "%s", jb->s->why);
	pthread_mutex_unlock(&jb->w->lock);
	prs_info("job cancelled", "%s entry=%s reason=%s", jb->logf,
	    jb->entry, prs_log_quote(why, q, sizeof(q)));
	jb->outcome = "cancelled";
	return prs_wjob_finish(jb, prs_wjob_body_with(jb, "cancelled", why));
}

/* Checks the pull request's head now; 1 when the job is superseded. */
static int
prs_wjob_head_moved(struct prs_wjob *jb)
{
	struct prs_wslot *s = jb->s;
	char why[PRS_WORKER_WHY_SIZE];

	if (s->superseded)
		return 1;
	if (prs_worker_head_moved(&s->conn, s->key, jb->job->head_sha, why,
	    sizeof(why)) != 1)
		return 0;
	prs_worker_slot_cancel(s, jb->entry, why);
	return 1;
}

/*
 * Asks the API for a token to clone with.  Returns 0 with *token (free
 * with prs_secret_free), -1 with the reason set, PRS_ERETRY when the API
 * stayed unreachable or the job was cancelled.
 */
static int
prs_wjob_token(struct prs_wjob *jb, char **token)
{
	json_t *body = prs_wjob_body(jb, NULL);
	json_t *resp = NULL;
	const char *t;
	long status = 0;
	int rc = -1;

	*token = NULL;
	if (body == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	rc = prs_wjob_post(jb, "/token", body, &status, &resp,
	    &jb->s->cancel);
	if (rc < 0)
		goto out;
	t = json_string_value(json_object_get(resp, "token"));
	if (t == NULL || *t == '\0') {
		rc = prs_error_set("the API's /token answer holds no token");
		goto out;
	}
	*token = strdup(t);
	rc = *token != NULL ? 0 : prs_error_set("out of memory");
out:
	json_decref(resp);
	json_decref(body);
	return rc;
}

static char *
prs_wjob_clone_url(const struct prs_wjob *jb)
{
	const char *base = jb->w->server_url;
	size_t len = strlen(base) + strlen(jb->job->owner) +
	    strlen(jb->job->repo) + 8;
	char *url = malloc(len);

	if (url != NULL)
		snprintf(url, len, "%s/%s/%s.git", base, jb->job->owner,
		    jb->job->repo);
	return url;
}

/* Clones the head, retrying network trouble a few times. */
static int
prs_wjob_clone(struct prs_wjob *jb, const char *token)
{
	char *url = prs_wjob_clone_url(jb);
	long delay = 2000;
	char q[512];
	int i, rc = -1;

	if (url == NULL)
		return prs_error_set("out of memory");
	for (i = 1; i <= PRS_WJOB_CLONE_TRIES; i++) {
		rc = prs_git_fetch_checkout(url, token, jb->ws.src,
		    jb->job->head_sha, jb->job->pr_number,
		    jb->job->head_ref, jb->w->clone_timeout);
		if (rc != PRS_ERETRY || i == PRS_WJOB_CLONE_TRIES)
			break;
		prs_warn("clone failed, retrying", "%s attempt=%d error=%s",
		    jb->logf, i, prs_log_quote(prs_error_last(), q,
		    sizeof(q)));
		prs_workspace_remove_tree(jb->ws.src);
		if (prs_worker_sleep_ms(delay, &jb->s->cancel) < 0)
			break;
		delay *= 2;
	}
	free(url);
	return rc;
}

/*
 * Token and clone.  Returns 0 (with jb->reason set when it failed, which
 * is reported as the scan's error), or PRS_ERETRY when the job stops
 * here: the API stayed unreachable, or it was cancelled.
 */
static int
prs_wjob_fetch(struct prs_wjob *jb)
{
	char *token = NULL;
	int rc;

	rc = prs_wjob_token(jb, &token);
	if (rc == PRS_ERETRY || jb->s->cancel || prs_wjob_head_moved(jb)) {
		prs_secret_free(token);
		return PRS_ERETRY;
	}
	if (rc == 0) {
		prs_info("token received", "%s", jb->logf);
		rc = prs_wjob_clone(jb, token);
		prs_secret_free(token);
		if (rc == 0)
			prs_info("clone completed", "%s", jb->logf);
	}
	if (jb->s->cancel)
		return PRS_ERETRY;
	if (rc < 0)
		snprintf(jb->reason, sizeof(jb->reason), "could not fetch the "
		    "pull request's head: %s", prs_error_last());
	return 0;
}

/* Runs the scanner; a failure becomes jb->reason. */
static void
prs_wjob_scan(struct prs_wjob *jb)
{
	const struct prs_worker *w = jb->w;
	struct prs_scan_ctx ctx = {
		jb->job, jb->ws.src, jb->ws.out, w->scan_timeout,
		&jb->s->cancel, w->scanner_max_memory, w->scanner_max_output,
		w->scanner_max_files
	};
	long long t0 = prs_clock_ms();
	int rc = w->scanner->scan(w->state, &ctx, &jb->result);

	prs_worker_observe_scan(w, (double)(prs_clock_ms() - t0) / 1000);
	if (rc < 0) {
		prs_result_free(jb->result);
		jb->result = NULL;
		snprintf(jb->reason, sizeof(jb->reason), "%s",
		    prs_error_last());
		return;
	}
	if (jb->result == NULL) {
		snprintf(jb->reason, sizeof(jb->reason), "%s gave no result",
		    w->scanner->name);
		return;
	}
	if (jb->result->duration_ms < 0)
		jb->result->duration_ms = (long)(prs_clock_ms() - t0);
}

/*
 * Workspace, token, clone, scan.  Returns 0 with jb->result or jb->reason
 * set, or PRS_ERETRY when the job was cancelled on the way.
 */
static int
prs_wjob_work(struct prs_wjob *jb)
{
	int rc = 0;

	if (prs_workspace_create(jb->w->work_dir, &jb->ws) < 0) {
		snprintf(jb->reason, sizeof(jb->reason), "could not make a "
		    "workspace: %s", prs_error_last());
		prs_err("workspace failed", "%s", jb->logf);
		return 0;
	}
	rc = prs_wjob_fetch(jb);
	if (rc == 0 && jb->reason[0] == '\0')
		prs_wjob_scan(jb);
	if (jb->s->cancel)
		rc = PRS_ERETRY;
	if (prs_workspace_remove_tree(jb->ws.root) < 0)
		prs_err("workspace not removed", "%s dir=%s", jb->logf,
		    jb->ws.root);
	prs_workspace_dispose(&jb->ws);
	return rc;
}

/*
 * Keeps the result under CALLBACK_MAX_BYTES, the most severe findings
 * first.  Returns 0, or -1 with jb->reason set when even that fails.
 */
static int
prs_wjob_fit(struct prs_wjob *jb)
{
	size_t total = jb->result->nfindings;
	size_t max = (size_t)jb->w->callback_max_bytes;

	if (prs_result_fit(jb->result, max) < 0) {
		snprintf(jb->reason, sizeof(jb->reason), "the scan's %zu "
		    "findings are too large to report (CALLBACK_MAX_BYTES=%zu):"
		    " %s", total, max, prs_error_last());
		return -1;
	}
	if (jb->result->omitted > 0)
		prs_warn("findings left out of the callback", "%s found=%zu "
		    "sent=%zu omitted=%ld max_bytes=%zu", jb->logf, total,
		    jb->result->nfindings, jb->result->omitted, max);
	return 0;
}

static json_t *
prs_wjob_completed(struct prs_wjob *jb)
{
	json_t *b;
	json_t *v;

	if (jb->result == NULL)
		return prs_wjob_body_with(jb, "error", jb->reason);
	if (prs_wjob_fit(jb) < 0)
		return prs_wjob_body_with(jb, "error", jb->reason);
	b = prs_wjob_body(jb, "completed");
	if (b == NULL)
		return NULL;
	v = prs_result_to_json(jb->result);
	if (v == NULL || json_object_set_new(b, "result", v) < 0) {
		json_decref(b);
		return NULL;
	}
	return b;
}

static void
prs_wjob_log_outcome(const struct prs_wjob *jb)
{
	char q[PRS_WJOB_REASON_SIZE + 8];

	if (jb->result != NULL)
		prs_info("scan completed", "%s findings=%zu duration_ms=%ld",
		    jb->logf, jb->result->nfindings,
		    jb->result->duration_ms);
	else
		prs_warn("scan failed", "%s error=%s", jb->logf,
		    prs_log_quote(jb->reason, q, sizeof(q)));
}

/* After the first callback or the scan stopped: pending or cancelled. */
static int
prs_wjob_stopped(struct prs_wjob *jb, const char *what)
{
	if (jb->s->superseded && !jb->s->abandon)
		return prs_wjob_cancelled(jb);
	prs_warn(what, "%s entry=%s", jb->logf, jb->entry);
	return -1;
}

static int
prs_wjob_run(struct prs_wjob *jb)
{
	json_t *body;
	long status = 0;
	int rc;

	if (prs_wjob_head_moved(jb))
		return prs_wjob_cancelled(jb);
	prs_info("scan started", "%s entry=%s", jb->logf, jb->entry);
	body = prs_wjob_body(jb, "started");
	if (body == NULL)
		return -1;
	rc = prs_wjob_post(jb, "/callback", body, &status, NULL,
	    &jb->s->cancel);
	json_decref(body);
	if (rc == PRS_ERETRY)
		return prs_wjob_stopped(jb, "start not delivered, entry left "
		    "pending");
	if (rc < 0) {
		prs_wjob_reject(jb, "started", status);
		return 0;
	}
	if (prs_wjob_work(jb) == PRS_ERETRY)
		return prs_wjob_stopped(jb, "scan abandoned, entry left "
		    "pending");
	prs_wjob_log_outcome(jb);
	return prs_wjob_finish(jb, prs_wjob_completed(jb));
}

/*
 * An entry delivered too often (its worker died each time): the check run
 * fails with the reason, the entry moves to the dead letters.
 */
static int
prs_wjob_dead(struct prs_wjob *jb, const redisReply *raw, long deliveries)
{
	char why[512], err[700];
	json_t *body;
	long status = 0;
	int rc;

	snprintf(why, sizeof(why), "the job was delivered %ld times without "
	    "finishing (see %s:dead)", deliveries, jb->w->stream);
	snprintf(err, sizeof(err), "the scan could not be completed: %s",
	    why);
	prs_err("job dead-lettered", "%s entry=%s deliveries=%ld", jb->logf,
	    jb->entry, deliveries);
	jb->outcome = "dead_letter";
	body = prs_wjob_body_with(jb, "error", err);
	if (body == NULL)
		return -1;
	rc = prs_wjob_post(jb, "/callback", body, &status, NULL,
	    &jb->s->abandon);
	json_decref(body);
	if (rc == PRS_ERETRY) {
		prs_err("completion not delivered, entry left pending",
		    "%s entry=%s", jb->logf, jb->entry);
		return -1;
	}
	return prs_worker_redis_dead_letter(&jb->s->conn, jb->entry, why,
	    raw->str, raw->len, deliveries);
}

/* An entry whose job cannot be read goes to the dead letters. */
static int
prs_wjob_unreadable(struct prs_wslot *s, const char *id,
    const redisReply *raw, const char *why, long deliveries)
{
	char q[600];

	prs_err("unreadable stream entry", "stream=%s entry=%s reason=%s",
	    s->w->stream, id, prs_log_quote(why, q, sizeof(q)));
	prs_worker_count(s->w, "dead_letter");
	return prs_worker_redis_dead_letter(&s->conn, id, why,
	    raw != NULL ? raw->str : NULL, raw != NULL ? raw->len : 0,
	    deliveries);
}

/* Fills in the job's log fields and tells the heartbeat about it. */
static void
prs_wjob_describe(struct prs_wjob *jb, char *logf, size_t n)
{
	const struct prs_job *job = jb->job;
	char key[PRS_WORKER_KEY_SIZE];

	snprintf(logf, n, "job=%s repo=%s/%s sha=%s scanner=%s", job->id,
	    job->owner, job->repo, job->head_sha, jb->w->scanner->name);
	snprintf(key, sizeof(key), "prhead:%s/%s#%ld", job->owner,
	    job->repo, job->pr_number);
	prs_worker_slot_describe(jb->s, logf, key, job->head_sha);
	jb->logf = logf;
}

int
prs_worker_process_entry(struct prs_wslot *s, const char *id,
    const redisReply *fields, long deliveries)
{
	const redisReply *raw = prs_wjob_field(fields, "job");
	struct prs_job *job = NULL;
	struct prs_wjob jb;
	char why[512], logf[PRS_WORKER_LOGF_SIZE];
	int rc;

	if (prs_wjob_parse(fields, &job, why, sizeof(why)) < 0)
		return prs_wjob_unreadable(s, id, raw, why, deliveries);

	memset(&jb, 0, sizeof(jb));
	jb.s = s;
	jb.w = s->w;
	jb.entry = id;
	jb.job = job;
	jb.raw = raw;
	prs_wjob_describe(&jb, logf, sizeof(logf));
	if (deliveries > 1)
		prs_info("entry reclaimed", "%s entry=%s deliveries=%ld", logf,
		    id, deliveries);
	if (deliveries > s->w->max_deliveries)
		rc = prs_wjob_dead(&jb, raw, deliveries);
	else
		rc = prs_wjob_run(&jb);
	if (rc < 0)
		jb.outcome = "abandoned";
	else if (jb.outcome == NULL)
		jb.outcome = jb.result != NULL ? "success" : "scan_error";
	prs_worker_count(s->w, jb.outcome);
	prs_result_free(jb.result);
	prs_job_free(job);
	return rc;
}
