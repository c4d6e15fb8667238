/* POST /callback and POST /token: the workers' signed requests. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prscan/checkrun.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/log.h"
#include "prscan/sig.h"

#define LOCK_MS 120000

/* A callback's subject: the job, its scanner and its check run. */
struct subject {
	struct prs_job *job;
	const char *scanner;
	char key[96];			/* checkrun:{job}:{scanner} */
	char lock[104];
	long long check_id;		/* 0: not created yet */
	long long sent;			/* completion bodies accepted */
	int done;
};

static const struct {
	const char *scanner;
	const char *check;
} check_names[] = {
	{ "kics", "KICS" },
	{ "blackduck", "Black Duck" },
};

static const char *
check_name(const char *scanner)
{
	size_t i;

	for (i = 0; i < sizeof(check_names) / sizeof(*check_names); i++)
		if (strcmp(check_names[i].scanner, scanner) == 0)
			return check_names[i].check;
	return scanner;
}

static void
iso_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Verifies the signature and parses the body; NULL after a reply. */
static json_t *
signed_body(struct api *api, const struct api_request *req,
    struct api_reply *reply)
{
	json_error_t jerr;
	json_t *root;

	if (prs_sig_callback_check(api->cfg.callback_secret,
	    api_header(req, "X-Prscan-Timestamp"),
	    api_header(req, "X-Prscan-Signature"), req->body, req->len,
	    (long long)time(NULL), API_CALLBACK_SKEW) < 0) {
		prs_warn("worker request refused", "path=%s reason=\"%s\"",
		    req->path, prs_error_last());
		api_reply_error(reply, 401, "%s", prs_error_last());
		return NULL;
	}
	root = json_loadb(req->body, req->len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		api_reply_error(reply, 400, "malformed JSON: %s", root == NULL ?
		    jerr.text : "not an object");
		json_decref(root);
		return NULL;
	}
	return root;
}

static int
scanner_known(const struct api *api, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < api->cfg.nscanners; i++)
		if (strcmp(api->cfg.scanners[i], s) == 0)
			return 1;
	return 0;
}

/* Loads storage:{id}.  Returns 0, PRS_ENOTFOUND, PRS_EINPUT or -1. */
static int
load_job(struct api *api, const char *id, struct prs_job **out)
{
	redisContext *c = api_redis(api);
	redisReply *r = NULL;
	json_t *j = NULL;
	int rc = -1;

	if (c == NULL)
		return -1;
	r = redisCommand(c, "GET storage:%s", id);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		api_redis_drop();
		goto out;
	}
	if (r->type != REDIS_REPLY_STRING) {
		rc = PRS_ENOTFOUND;
		goto out;
	}
	j = json_loadb(r->str, r->len, 0, NULL);
	rc = j != NULL && prs_job_from_json(j, out) == 0 ? 0 : PRS_EINPUT;
out:
	freeReplyObject(r);
	json_decref(j);
	return rc;
}

/*
 * Reads the request's job and scanner into s.  Returns 0, or -1 after
 * setting the reply.
 */
static int
subject_load(struct api *api, json_t *root, struct subject *s,
    struct api_reply *reply)
{
	const char *id = json_string_value(json_object_get(root, "job_id"));
	int rc;

	s->scanner = json_string_value(json_object_get(root, "scanner"));
	if (id == NULL || !prs_name_valid_job_id(id)) {
		api_reply_error(reply, 400, "job_id: missing or malformed");
		return -1;
	}
	if (!scanner_known(api, s->scanner)) {
		api_reply_error(reply, 400, "scanner: missing or not one of "
		    "SCANNERS");
		return -1;
	}
	rc = load_job(api, id, &s->job);
	if (rc == PRS_ENOTFOUND || rc == PRS_EINPUT) {
		api_reply_error(reply, 404, "job %s: %s", id,
		    rc == PRS_ENOTFOUND ? "unknown or expired" : "unreadable");
		return -1;
	}
	if (rc < 0) {
		api_reply_error(reply, 503, "storage unavailable, retry later");
		return -1;
	}
	snprintf(s->key, sizeof(s->key), "checkrun:%s:%s", id, s->scanner);
	snprintf(s->lock, sizeof(s->lock), "lock:%s", s->key);
	return 0;
}

/* Takes the subject's lock and reads its check run state. */
static int
subject_lock(struct api *api, struct subject *s)
{
	redisContext *c = api_redis(api);
	redisReply *r;
	size_t i;

	if (c == NULL)
		return -1;
	r = redisCommand(c, "SET %s 1 NX PX %d", s->lock, LOCK_MS);
	if (r == NULL || r->type != REDIS_REPLY_STATUS) {
		if (r == NULL)
			api_redis_drop();
		freeReplyObject(r);
		return r == NULL ? -1 : PRS_ERETRY;
	}
	freeReplyObject(r);
	r = redisCommand(c, "HGETALL %s", s->key);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		api_redis_drop();
		return -1;
	}
	for (i = 0; i + 1 < r->elements; i += 2) {
		const char *k = r->element[i]->str, *v = r->element[i + 1]->str;

		if (strcmp(k, "id") == 0)
			s->check_id = strtoll(v, NULL, 10);
		else if (strcmp(k, "sent") == 0)
			s->sent = strtoll(v, NULL, 10);
		else if (strcmp(k, "done") == 0)
			s->done = 1;
	}
	freeReplyObject(r);
	return 0;
}

static void
subject_unlock(struct api *api, struct subject *s)
{
	redisContext *c = api_redis(api);

	if (c != NULL)
		freeReplyObject(redisCommand(c, "DEL %s", s->lock));
}

static int
subject_save(struct api *api, struct subject *s, const char *field,
    long long value)
{
	redisContext *c = api_redis(api);
	redisReply *r;
	int ok;

	if (c == NULL)
		return -1;
	r = redisCommand(c, "HSET %s %s %lld", s->key, field, value);
	ok = r != NULL && r->type == REDIS_REPLY_INTEGER;
	freeReplyObject(r);
	if (ok) {
		r = redisCommand(c, "EXPIRE %s %ld", s->key,
		    api->cfg.storage_ttl);
		freeReplyObject(r);
	}
	if (!ok)
		api_redis_drop();
	return ok ? 0 : -1;
}

/* Creates the check run in_progress when it does not exist yet. */
static int
ensure_check_run(struct api *api, struct subject *s)
{
	const struct prs_job *job = s->job;
	char now[32];
	json_t *body;
	int rc;

	if (s->check_id != 0)
		return 0;
	iso_now(now);
	body = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name",
	    check_name(s->scanner), "head_sha", job->head_sha, "status",
	    "in_progress", "started_at", now, "external_id", job->id);
	rc = prs_github_checkrun_create(api->gh, job->installation,
	    job->owner, job->repo, body, &s->check_id);
	json_decref(body);
	if (rc < 0) {
		prs_err("check run not created", "job=%s repo=%s/%s sha=%s "
		    "scanner=%s reason=\"%s\"", job->id, job->owner, job->repo,
		    job->head_sha, s->scanner, prs_error_last());
		return rc;
	}
	prs_info("check run created", "job=%s repo=%s/%s sha=%s scanner=%s "
	    "check_run=%lld", job->id, job->owner, job->repo, job->head_sha,
	    s->scanner, s->check_id);
	return subject_save(api, s, "id", s->check_id);
}

/* The body that completes a superseded or closed pull request's run. */
static json_t *
cancelled_body(const struct subject *s, const char *why, const char *now)
{
	char title[160], summary[512];

	snprintf(title, sizeof(title), "Cancelled: %.120s", why);
	snprintf(summary, sizeof(summary), "The %s scan of %.40s was "
	    "cancelled: %.300s.", check_name(s->scanner), s->job->head_sha,
	    why);
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "status", "completed",
	    "conclusion", "cancelled", "completed_at", now, "output",
	    "title", title, "summary", summary);
}

static json_t *
completion_bodies(struct api *api, const struct subject *s, json_t *root)
{
	struct prs_checkrun_style st = { check_name(s->scanner),
		api->cfg.fail_on, api->cfg.error_neutral, NULL };
	struct prs_scan_result *res = NULL;
	json_t *err = json_object_get(root, "error");
	json_t *cancelled = json_object_get(root, "cancelled");
	json_t *bodies, *one;
	char now[32];

	iso_now(now);
	st.completed_at = now;
	if (json_is_string(cancelled)) {
		bodies = json_array();
		json_array_append_new(bodies, cancelled_body(s,
		    json_string_value(cancelled), now));
		return bodies;
	}
	if (json_is_string(err) || prs_result_from_json(json_object_get(root,
	    "result"), &res) < 0) {
		one = prs_checkrun_scan_error(&st, json_is_string(err) ?
		    json_string_value(err) : prs_error_last());
		bodies = json_array();
		json_array_append_new(bodies, one);
		return bodies;
	}
	bodies = prs_checkrun_completion(&st, res);
	prs_result_free(res);
	return bodies;
}

/* A body GitHub refused with 422 is replaced by a short failure. */
static int
publish_refused(struct api *api, struct subject *s)
{
	struct prs_checkrun_style st = { check_name(s->scanner),
		api->cfg.fail_on, 0, NULL };
	char now[32], why[300];
	json_t *body;
	int rc;

	iso_now(now);
	st.completed_at = now;
	snprintf(why, sizeof(why), "GitHub refused the results: %.200s",
	    prs_error_last());
	body = prs_checkrun_scan_error(&st, why);
	rc = prs_github_checkrun_update(api->gh, s->job->installation,
	    s->job->owner, s->job->repo, s->check_id, body);
	json_decref(body);
	return rc;
}

static int
publish(struct api *api, struct subject *s, json_t *bodies)
{
	const struct prs_job *job = s->job;
	size_t i, n = json_array_size(bodies);
	int rc;

	for (i = (size_t)s->sent; i < n; i++) {
		rc = prs_github_checkrun_update(api->gh, job->installation,
		    job->owner, job->repo, s->check_id,
		    json_array_get(bodies, i));
		if (rc == PRS_ERETRY)
			return rc;
		if (rc < 0) {
			prs_err("check run update refused", "job=%s repo=%s/%s "
			    "sha=%s scanner=%s batch=%zu reason=\"%s\"",
			    job->id, job->owner, job->repo, job->head_sha,
			    s->scanner, i, prs_error_last());
			if (i == 0 && publish_refused(api, s) == PRS_ERETRY)
				return PRS_ERETRY;
		}
		if (subject_save(api, s, "sent", (long long)i + 1) < 0)
			return -1;
	}
	return subject_save(api, s, "done", 1);
}

static int
on_completed(struct api *api, struct subject *s, json_t *root)
{
	json_t *bodies;
	int rc;

	if (ensure_check_run(api, s) < 0)
		return PRS_ERETRY;
	bodies = completion_bodies(api, s, root);
	if (bodies == NULL)
		return -1;
	rc = publish(api, s, bodies);
	if (rc == 0)
		prs_info("check run completed", "job=%s repo=%s/%s sha=%s "
		    "scanner=%s check_run=%lld batches=%zu", s->job->id,
		    s->job->owner, s->job->repo, s->job->head_sha, s->scanner,
		    s->check_id, json_array_size(bodies));
	json_decref(bodies);
	return rc;
}

static void
handle_state(struct api *api, struct subject *s, json_t *root,
    const char *state, struct api_reply *reply)
{
	int rc = subject_lock(api, s);

	if (rc < 0) {
		api_reply_error(reply, 503, rc == PRS_ERETRY ? "busy with "
		    "the same check run, retry" : "storage unavailable");
		return;
	}
	if (s->done) {
		rc = 0;
	} else if (strcmp(state, "started") == 0) {
		rc = ensure_check_run(api, s) < 0 ? PRS_ERETRY : 0;
	} else {
		rc = on_completed(api, s, root);
	}
	subject_unlock(api, s);
	if (rc < 0) {
		api_reply_error(reply, 503, "could not update the check run, "
		    "retry later");
		return;
	}
	api_reply_set(reply, 200, json_pack("{s:s,s:I,s:b}", "status", "ok",
	    "check_run_id", s->check_id, "already_completed", s->done));
}

void
api_callback(struct api *api, const struct api_request *req,
    struct api_reply *reply)
{
	struct subject s;
	json_t *root = signed_body(api, req, reply);
	const char *state;

	memset(&s, 0, sizeof(s));
	if (root == NULL)
		return;
	state = json_string_value(json_object_get(root, "state"));
	if (state == NULL || (strcmp(state, "started") != 0 &&
	    strcmp(state, "completed") != 0)) {
		api_reply_error(reply, 400, "state: must be started or "
		    "completed");
		goto out;
	}
	if (strcmp(state, "completed") == 0 &&
	    !json_is_string(json_object_get(root, "error")) &&
	    !json_is_string(json_object_get(root, "cancelled")) &&
	    !json_is_object(json_object_get(root, "result"))) {
		api_reply_error(reply, 400, "completed needs result, error or "
		    "cancelled");
		goto out;
	}
	if (subject_load(api, root, &s, reply) < 0)
		goto out;
	handle_state(api, &s, root, state, reply);
out:
	prs_job_free(s.job);
	json_decref(root);
}

void
api_token(struct api *api, const struct api_request *req,
    struct api_reply *reply)
{
	struct subject s;
	json_t *root = signed_body(api, req, reply);
	char *token = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	if (root == NULL || subject_load(api, root, &s, reply) < 0)
		goto out;
	rc = prs_github_repo_token(api->gh, s.job->installation, s.job->repo,
	    &token);
	if (rc < 0) {
		prs_err("token refused", "job=%s repo=%s/%s reason=\"%s\"",
		    s.job->id, s.job->owner, s.job->repo, prs_error_last());
		/* A refusal is final: the worker reports it as the scan's. */
		api_reply_error(reply, rc == PRS_ENOTFOUND ? 404 :
		    rc == PRS_ERETRY ? 503 : 403, "no token for %s/%s: %s",
		    s.job->owner, s.job->repo, rc == PRS_ENOTFOUND ?
		    "installation or repository not found" : prs_error_last());
		goto out;
	}
	api_reply_set(reply, 200, json_pack("{s:s}", "token", token));
	reply->no_store = 1;
	prs_debug("token issued", "job=%s repo=%s/%s", s.job->id,
	    s.job->owner, s.job->repo);
out:
	prs_secret_free(token);
	prs_job_free(s.job);
	json_decref(root);
}
