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

/*
 * A callback is recorded once: its mark cb:{state}:{job}:{scanner} (the
 * time it came, which the audit trail reads) is set only when absent, and
 * with it the result (scan_result:{job}:{scanner}, which the publisher
 * keeps for RESULT_TTL once GitHub has it) and the github-writes entry,
 * in one script, so a repeated callback adds nothing.
 */
static const char record_script[] =
    "if redis.call('SET', KEYS[1], ARGV[7], 'NX', 'EX', ARGV[2]) then "
    "if ARGV[1] ~= '' then "
    "redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2]) end "
    "redis.call('XADD', KEYS[2], '*', 'kind', ARGV[3], 'job', ARGV[4], "
    "'scanner', ARGV[5], 'inst', ARGV[6], 'at', ARGV[7]) return 1 end "
    "return 0";

/* A callback's subject: the job and its scanner. */
struct subject {
	struct prs_job *job;
	const char *scanner;
};

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
		prs_warn("worker request refused", "path=%s reason=%s",
		    req->path, prs_log_q(prs_error_last()));
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
	return 0;
}

/* What a completed callback reports, as the publisher reads it. */
static char *
result_text(json_t *root)
{
	json_t *keep = json_object();
	const char *keys[] = { "result", "error", "cancelled" };
	char *text;
	size_t i;

	if (keep == NULL)
		return NULL;
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (json_object_get(root, keys[i]) != NULL)
			json_object_set(keep, keys[i],
			    json_object_get(root, keys[i]));
	text = json_dumps(keep, JSON_COMPACT);
	json_decref(keep);
	return text;
}

/*
 * Records the callback and queues its GitHub write.  Returns 1 when
 * recorded, 0 when it was recorded before, -1 when Redis failed.
 */
static int
record(struct api *api, const struct subject *s, const char *kind,
    const char *value)
{
	redisContext *c = api_redis(api);
	redisReply *r;
	char mark[128], key[128], inst[32], now[32];
	int rc;

	if (c == NULL)
		return -1;
	snprintf(mark, sizeof(mark), "cb:%s:%s:%s", kind, s->job->id,
	    s->scanner);
	snprintf(key, sizeof(key), "scan_result:%s:%s", s->job->id,
	    s->scanner);
	snprintf(inst, sizeof(inst), "%lld", s->job->installation);
	api_iso_now(now);
	r = redisCommand(c, "EVAL %s 3 %s %s %s %s %ld %s %s %s %s %s",
	    record_script, mark, API_WRITES_STREAM, key, value,
	    api->cfg.storage_ttl, kind, s->job->id, s->scanner, inst, now);
	rc = r != NULL && r->type == REDIS_REPLY_INTEGER ?
	    (int)r->integer : -1;
	if (rc < 0)
		api_redis_drop();
	freeReplyObject(r);
	return rc;
}

static void
handle_state(struct api *api, struct subject *s, json_t *root,
    const char *state, struct api_reply *reply)
{
	int started = strcmp(state, "started") == 0;
	char *value = started ? strdup("") : result_text(root);
	int rc = value != NULL ? record(api, s, started ? "start" :
	    "complete", value) : -1;

	free(value);
	if (rc < 0) {
		api_reply_error(reply, 503, "storage unavailable, retry later");
		return;
	}
	prs_info(rc == 1 ? "callback queued" : "callback repeated",
	    "job=%s repo=%s/%s sha=%s scanner=%s state=%s", s->job->id,
	    s->job->owner, s->job->repo, s->job->head_sha, s->scanner,
	    state);
	api_reply_set(reply, rc == 1 ? 202 : 200, json_pack("{s:s,s:b}",
	    "status", rc == 1 ? "queued" : "duplicate", "already_completed",
	    !started && rc == 0));
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

/*
 * A token request names its job and scanner and nothing else, so that a
 * signed callback (it has a state) replayed to /token within the skew
 * is not one.  Returns 0, or -1 after setting the reply.
 */
static int
token_body_ok(json_t *root, struct api_reply *reply)
{
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v) {
		if (strcmp(key, "job_id") != 0 && strcmp(key, "scanner") != 0) {
			api_reply_error(reply, 400, "a token request has only "
			    "job_id and scanner, not %.40s", key);
			return -1;
		}
	}
	return 0;
}

/*
 * A scan whose completion is recorded needs no token any more.  Returns
 * 0 when it is not completed, -1 after setting the reply.
 */
static int
token_scan_open(struct api *api, const struct subject *s,
    struct api_reply *reply)
{
	redisContext *c = api_redis(api);
	redisReply *r = c != NULL ? redisCommand(c, "EXISTS cb:complete:%s:%s",
	    s->job->id, s->scanner) : NULL;
	int rc = 0;

	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		api_redis_drop();
		api_reply_error(reply, 503, "storage unavailable, retry later");
		rc = -1;
	} else if (r->integer != 0) {
		prs_warn("token refused", "job=%s scanner=%s reason=%s",
		    s->job->id, s->scanner, prs_log_q("scan already "
		    "completed"));
		api_reply_error(reply, 409, "the %s scan of job %s is already "
		    "completed", s->scanner, s->job->id);
		rc = -1;
	}
	freeReplyObject(r);
	return rc;
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
	if (root == NULL || token_body_ok(root, reply) < 0 ||
	    subject_load(api, root, &s, reply) < 0 ||
	    token_scan_open(api, &s, reply) < 0)
		goto out;
	rc = prs_github_repo_token(api->gh, s.job->installation, s.job->repo,
	    &token);
	if (rc < 0) {
		prs_err("token refused", "job=%s repo=%s/%s reason=%s",
		    s.job->id, s.job->owner, s.job->repo,
		    prs_log_q(prs_error_last()));
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
