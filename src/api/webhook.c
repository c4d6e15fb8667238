/* POST /webhook: GitHub's deliveries, verified, recorded, fanned out. */
#include "api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"
#include "prscan/log.h"
#include "prscan/redeliver.h"
#include "prscan/sig.h"

#define DELIVERY_MAX 64

/* What the webhook learnt about a delivery, for its answer and log. */
struct delivery {
	const char *id;
	const char *event;
	const char *action;
	char repo[160];
};

static const char *const scan_actions[] = {
	"opened", "synchronize", "reopened", "ready_for_review"
};

/* Follows a dotted path of object keys; NULL when any step is missing. */
static json_t *
jpath(json_t *root, const char *path)
{
	char key[64];
	const char *p = path;

	while (root != NULL && *p != '\0') {
		size_t n = strcspn(p, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		root = json_is_object(root) ? json_object_get(root, key) :
		    NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return root;
}

static const char *
jstr(json_t *root, const char *path)
{
	return json_string_value(jpath(root, path));
}

static int
delivery_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= DELIVERY_MAX &&
	    strspn(s, "0123456789abcdefABCDEF-") == n;
}

static int
signature_ok(const struct api *api, const struct api_request *req)
{
	const char *sig = api_header(req, "X-Hub-Signature-256");
	size_t i;
	int ok = 0;

	/* Every secret is tried so that timing does not tell which. */
	for (i = 0; i < api->cfg.nsecrets; i++)
		ok |= prs_sig_check_github(api->cfg.webhook_secrets[i],
		    req->body, req->len, sig) == 0;
	return ok;
}

static void
reply_ignored(struct api_reply *reply, const struct delivery *d,
    const char *why)
{
	prs_info("delivery ignored", "delivery=%s event=%s action=%s "
	    "repo=%s reason=%s", d->id, d->event, prs_log_q(d->action),
	    d->repo[0] != '\0' ? d->repo : "-", prs_log_q(why));
	api_reply_set(reply, 202, json_pack("{s:s,s:s,s:s}", "status",
	    "ignored", "delivery", d->id, "reason", why));
}

static void
reply_duplicate(struct api_reply *reply, const struct delivery *d)
{
	prs_info("duplicate delivery", "delivery=%s event=%s", d->id,
	    d->event);
	api_reply_set(reply, 200, json_pack("{s:s,s:s}", "status",
	    "duplicate", "delivery", d->id));
}

static void
reply_redis_down(struct api_reply *reply, const struct delivery *d,
    const char *what)
{
	prs_err("delivery not recorded", "delivery=%s event=%s reason=%s",
	    d->id, d->event, prs_log_q(what));
	api_redis_drop();
	api_reply_error(reply, 503, "storage unavailable, retry later");
}

/*
 * Records an ignored delivery's id so that a redelivery is recognised.
 * Returns 1 when it was new, 0 when seen before, -1 when Redis failed.
 */
static int
record_delivery(struct api *api, const char *id, const char *value)
{
	redisContext *c = api_redis(api);
	redisReply *r;
	int rc;

	if (c == NULL)
		return -1;
	r = redisCommand(c, "SET delivery:%s %s NX EX %ld", id, value,
	    API_DEDUP_TTL);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return -1;
	}
	rc = r->type == REDIS_REPLY_STATUS ? 1 : 0;
	freeReplyObject(r);
	return rc;
}

static void
finish_ignored(struct api *api, struct api_reply *reply,
    const struct delivery *d, const char *why)
{
	int rc = record_delivery(api, d->id, "ignored");

	if (rc < 0) {
		reply_redis_down(reply, d, "redis unavailable");
		return;
	}
	if (rc == 0) {
		reply_duplicate(reply, d);
		return;
	}
	reply_ignored(reply, d, why);
}

static int
is_scan_action(const char *action)
{
	size_t i;

	for (i = 0; i < sizeof(scan_actions) / sizeof(*scan_actions); i++)
		if (strcmp(action, scan_actions[i]) == 0)
			return 1;
	return 0;
}

/* A pull request's number: an integer of at least 1. */
static int
pr_number_ok(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 1;
}

/* Builds the job from a pull_request payload; 400's reason on failure. */
static struct prs_job *
job_from_payload(json_t *root, const char *delivery, char *why, size_t n)
{
	static const char *const need[] = { "repository.owner.login",
		"repository.name", "pull_request.head.sha",
		"pull_request.head.ref", "pull_request.base.ref",
		"repository.clone_url" };
	json_t *rec = NULL;
	struct prs_job *job = NULL;
	char id[33];
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(*need); i++) {
		if (jstr(root, need[i]) == NULL) {
			snprintf(why, n, "payload lacks %s", need[i]);
			return NULL;
		}
	}
	if (!pr_number_ok(jpath(root, "pull_request.number"))) {
		snprintf(why, n, "pull_request.number: missing or not an "
		    "integer of at least 1");
		return NULL;
	}
	if (prs_job_new_id(id) < 0) {
		snprintf(why, n, "cannot make a job id");
		return NULL;
	}
	rec = json_pack("{s:s,s:s,s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:s}",
	    "job_id", id, "delivery_id", delivery,
	    "installation_id", json_integer_value(jpath(root,
	    "installation.id")),
	    "owner", jstr(root, "repository.owner.login"),
	    "repo", jstr(root, "repository.name"),
	    "pr_number", json_integer_value(jpath(root, "pull_request.number")),
	    "head_sha", jstr(root, "pull_request.head.sha"),
	    "head_ref", jstr(root, "pull_request.head.ref"),
	    "base_ref", jstr(root, "pull_request.base.ref"),
	    "clone_url", jstr(root, "repository.clone_url"));
	if (rec == NULL || prs_job_from_json(rec, &job) < 0)
		snprintf(why, n, "invalid pull request: %s", rec == NULL ?
		    "out of memory" : prs_error_last());
	json_decref(rec);
	return job;
}

/* Who and what caused the job, for the audit trail; never refuses it. */
static void
job_set_trigger(struct prs_job *job, json_t *root, const char *event)
{
	if (prs_job_set_trigger(job, jstr(root, "sender.login"), event) != 0)
		prs_info("trigger not recorded", "delivery=%s event=%s "
		    "reason=%s", job->delivery, event,
		    prs_log_q(prs_error_last()));
}

static int
reply_ok(const redisReply *r)
{
	return r != NULL && r->type != REDIS_REPLY_ERROR;
}

/* What a job scans: a plan's mode and scanner ("*": all of SCANNERS). */
struct scan_plan {
	const struct prs_job *job;
	const char *mode;
	const char *only;
	int set_head;
	long long head_at;	/* the event's pull_request.updated_at, or 0 */
};

/*
 * Sets the pull request's latest head (KEYS[1]) to ARGV[1] unless an
 * event updated later (KEYS[2], epoch s) already named one; ARGV[2] 0
 * sets it regardless.  Deliveries arrive out of order and redeliveries
 * late: an old "opened" or "closed" must not undo a newer push.
 */
static const char head_script[] =
    "local at = tonumber(ARGV[2]) "
    "if at > 0 then "
    "local seen = tonumber(redis.call('GET', KEYS[2]) or '0') or 0 "
    "if seen > at then return 0 end "
    "redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) return 1";

/* Pipelines the update of prhead (and prhead_at): one reply. */
static void
append_head(redisContext *c, const struct api *api, const char *owner,
    const char *repo, long long pr, const char *head, long long head_at)
{
	char key[200], at_key[200];

	snprintf(key, sizeof(key), "prhead:%s/%s#%lld", owner, repo, pr);
	snprintf(at_key, sizeof(at_key), "prhead_at:%s/%s#%lld", owner, repo,
	    pr);
	redisAppendCommand(c, "EVAL %s 2 %s %s %s %lld %ld", head_script, key,
	    at_key, head, head_at, api->cfg.storage_ttl);
}

/* The payload's pull_request.updated_at in epoch seconds, or 0. */
static long long
head_updated_at(json_t *root)
{
	time_t t;

	if (prs_redeliver_parse_time(jstr(root, "pull_request.updated_at"),
	    &t) != 0 || t <= 0)
		return 0;
	return (long long)t;
}

/*
 * Queues the commands of one job between MULTI and EXEC; their count.
 * The job gets its record and one "plan" entry in github-writes: the
 * publisher lists the changed files and picks the scanners (plan.c), as
 * that waits on GitHub.  set_head: the pull request's latest head
 * becomes this job's (not for a re-run of an older commit).
 */
static size_t
append_scans(redisContext *c, const struct api *api,
    const struct scan_plan *sp, const char *rec)
{
	const struct prs_job *job = sp->job;
	char now[32];
	size_t n = 3;

	api_iso_now(now);
	redisAppendCommand(c, "SET storage:%s %s EX %ld", job->id, rec,
	    api->cfg.storage_ttl);
	/* The commit was scanned: check_suite "requested" skips it. */
	redisAppendCommand(c, "SET scanned:%s/%s@%s %s EX %ld", job->owner,
	    job->repo, job->head_sha, job->id, api->cfg.storage_ttl);
	/* The latest head: workers drop scans of older ones. */
	if (sp->set_head && job->pr_number > 0) {
		append_head(c, api, job->owner, job->repo, job->pr_number,
		    job->head_sha, sp->head_at);
		n++;
	}
	api_plan_writes_append(c, job, sp->mode, sp->only, now);
	return n;
}

/* Reads n replies; the last one stays in *last.  0 or -1. */
static int
read_replies(redisContext *c, size_t n, redisReply **last)
{
	size_t i;

	for (i = 0; i < n; i++) {
		freeReplyObject(*last);
		*last = NULL;
		if (redisGetReply(c, (void **)last) != REDIS_OK ||
		    !reply_ok(*last))
			return -1;
	}
	return 0;
}

/*
 * Runs one transaction for a delivery: the delivery mark (value mark)
 * and the commands that append() queues, watching the delivery key so
 * that two copies of one delivery racing each other write once.  Returns
 * 1 when written, 0 for a duplicate, -1 when Redis failed (nothing
 * written; the connection is then unusable and dropped by the caller).
 */
static int
write_delivery(struct api *api, const char *delivery, const char *mark,
    size_t (*append)(redisContext *, const struct api *, const void *,
    const char *), const void *arg, const char *text)
{
	redisContext *c = api_redis(api);
	redisReply *r = NULL;
	size_t n;
	int rc = -1;

	if (c == NULL)
		return -1;
	redisAppendCommand(c, "WATCH delivery:%s", delivery);
	redisAppendCommand(c, "EXISTS delivery:%s", delivery);
	if (read_replies(c, 2, &r) < 0)
		goto out;
	if (r->integer != 0) {
		freeReplyObject(r);
		r = redisCommand(c, "UNWATCH");
		rc = reply_ok(r) ? 0 : -1;
		goto out;
	}
	redisAppendCommand(c, "MULTI");
	redisAppendCommand(c, "SET delivery:%s %s EX %ld", delivery, mark,
	    API_DEDUP_TTL);
	n = append(c, api, arg, text);
	redisAppendCommand(c, "EXEC");
	if (read_replies(c, n + 3, &r) < 0)
		goto out;
	/* A nil EXEC: the watched key changed, a copy got there first. */
	if (r->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (r->type == REDIS_REPLY_ARRAY && r->elements == n + 1)
		rc = 1;
out:
	if (rc < 0)
		prs_error_set("%s", c->err != 0 ? c->errstr : r != NULL &&
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
	return rc;
}

static size_t
append_plan_cb(redisContext *c, const struct api *api, const void *sp,
    const char *rec)
{
	return append_scans(c, api, sp, rec);
}

int
api_enqueue_mode(struct api *api, const struct prs_job *job,
    const char *mode, long long head_at)
{
	struct scan_plan sp = { job, mode, "*", 1, head_at };
	json_t *j = prs_job_to_json(job);
	char *rec = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc = -1;

	if (rec == NULL)
		prs_error_set("out of memory");
	else
		rc = write_delivery(api, job->delivery, job->id, append_plan_cb,
		    &sp, rec);
	free(rec);
	json_decref(j);
	return rc;
}

int
api_enqueue(struct api *api, const struct prs_job *job)
{
	return api_enqueue_mode(api, job, "paths", 0);
}

/* A closed pull request: owner, repository, number and updated_at. */
struct closed_pr {
	const char *owner;
	const char *repo;
	long long pr;
	long long at;
};

static size_t
append_closed(redisContext *c, const struct api *api, const void *arg,
    const char *unused)
{
	const struct closed_pr *cp = arg;

	(void)unused;
	append_head(c, api, cp->owner, cp->repo, cp->pr, "closed", cp->at);
	return 1;
}

/* Marks a pull request closed, once per delivery: as api_enqueue(). */
static int
mark_closed(struct api *api, const char *delivery,
    const struct closed_pr *cp)
{
	return write_delivery(api, delivery, "closed", append_closed, cp,
	    NULL);
}

#define LABEL_SKIP "prscan:skip"
#define LABEL_FULL "prscan:full"

/* 1 when the pull request carries the label name. */
static int
has_label(json_t *root, const char *name)
{
	json_t *l;
	size_t i;

	json_array_foreach(jpath(root, "pull_request.labels"), i, l) {
		const char *s = json_string_value(json_object_get(l, "name"));

		if (s != NULL && strcmp(s, name) == 0)
			return 1;
	}
	return 0;
}

/* The plan's mode its labels give a pull request. */
static const char *
label_mode(json_t *root)
{
	if (has_label(root, LABEL_SKIP))
		return "skip";
	return has_label(root, LABEL_FULL) ? "full" : "paths";
}

/*
 * labeled and unlabeled: adding prscan:full scans again, everything;
 * removing prscan:skip scans what the labels left call for.  Any other
 * label changes nothing (NULL with *why set).
 */
static const char *
label_action(json_t *root, const char *action)
{
	const char *label = jstr(root, "label.name");
	const char *state = jstr(root, "pull_request.state");

	if (label == NULL || (state != NULL && strcmp(state, "open") != 0))
		return NULL;
	if (strcmp(action, "labeled") == 0 && strcmp(label, LABEL_FULL) == 0)
		return label_mode(root);
	if (strcmp(action, "unlabeled") == 0 &&
	    strcmp(label, LABEL_SKIP) == 0)
		return label_mode(root);
	return NULL;
}

static void
queue_scan(struct api *api, struct api_reply *reply, struct delivery *d,
    json_t *root, const char *mode)
{
	struct prs_job *job = NULL;
	json_t *names;
	char why[256];
	size_t i;
	int rc;

	job = job_from_payload(root, d->id, why, sizeof(why));
	if (job == NULL) {
		prs_info("delivery rejected", "delivery=%s event=%s "
		    "reason=%s", d->id, d->event, prs_log_q(why));
		api_reply_error(reply, 400, "%s", why);
		return;
	}
	job_set_trigger(job, root, d->event);
	rc = api_enqueue_mode(api, job, mode, head_updated_at(root));
	if (rc < 0) {
		reply_redis_down(reply, d, prs_error_last());
	} else if (rc == 0) {
		reply_duplicate(reply, d);
	} else {
		prs_info("scan queued", "delivery=%s event=%s action=%s "
		    "job=%s repo=%s/%s sha=%s pr=%ld mode=%s", d->id,
		    d->event, prs_log_q(d->action), job->id, job->owner,
		    job->repo, job->head_sha, job->pr_number, mode);
		names = json_array();
		for (i = 0; i < api->cfg.nscanners; i++)
			json_array_append_new(names,
			    json_string(api->cfg.scanners[i]));
		api_reply_set(reply, 202, json_pack("{s:s,s:s,s:s,s:o,s:s}",
		    "status", "queued", "delivery", d->id, "job_id", job->id,
		    "scanners", names, "mode", mode));
	}
	prs_job_free(job);
}

/*
 * A closed pull request: marks its head as closed so that workers cancel
 * its queued and running scans.
 */
static void
record_closed(struct api *api, struct api_reply *reply, struct delivery *d,
    json_t *root)
{
	const char *owner = jstr(root, "repository.owner.login");
	const char *repo = jstr(root, "repository.name");
	json_t *num = jpath(root, "pull_request.number");
	struct closed_pr cp;
	int rc;

	if (owner == NULL || repo == NULL || !pr_number_ok(num) ||
	    !prs_name_valid_owner(owner) || !prs_name_valid_repo(repo)) {
		api_reply_error(reply, 400, "payload lacks a valid "
		    "repository.owner.login, repository.name or "
		    "pull_request.number");
		return;
	}
	cp.owner = owner;
	cp.repo = repo;
	cp.pr = (long long)json_integer_value(num);
	cp.at = head_updated_at(root);
	rc = mark_closed(api, d->id, &cp);
	if (rc < 0) {
		reply_redis_down(reply, d, prs_error_last());
		return;
	}
	if (rc == 0) {
		reply_duplicate(reply, d);
		return;
	}
	reply_ignored(reply, d, "pull request closed: its scans are "
	    "cancelled");
}

static void
handle_pull_request(struct api *api, struct api_reply *reply,
    struct delivery *d, json_t *root)
{
	char why[128];
	const char *mode;
	json_t *draft;

	d->action = jstr(root, "action");
	if (d->action == NULL || !json_is_object(jpath(root, "pull_request"))) {
		api_reply_error(reply, 400, "payload lacks %s",
		    d->action == NULL ? "action" : "pull_request");
		return;
	}
	if (strcmp(d->action, "closed") == 0) {
		record_closed(api, reply, d, root);
		return;
	}
	mode = is_scan_action(d->action) ? label_mode(root) :
	    label_action(root, d->action);
	if (mode == NULL) {
		if (strcmp(d->action, "labeled") == 0 ||
		    strcmp(d->action, "unlabeled") == 0)
			snprintf(why, sizeof(why), "action %s of a label other "
			    "than %s, or %s not removed: nothing to scan",
			    d->action, LABEL_FULL, LABEL_SKIP);
		else
			snprintf(why, sizeof(why), "action %.64s is not "
			    "scanned", d->action);
		finish_ignored(api, reply, d, why);
		return;
	}
	draft = jpath(root, "pull_request.draft");
	if (json_is_true(draft)) {
		finish_ignored(api, reply, d, "draft pull request");
		return;
	}
	if (!json_is_integer(jpath(root, "installation.id")) ||
	    json_integer_value(jpath(root, "installation.id")) < 1) {
		finish_ignored(api, reply, d, "no installation.id: the "
		    "delivery did not come to a GitHub App installation");
		return;
	}
	queue_scan(api, reply, d, root, mode);
}

/* -- re-runs: check_run and check_suite ------------------------------ */

/* What a re-run scans: a job and the scanners to run on it. */
struct rerun {
	struct prs_job *job;
	char *scanners[API_MAX_SCANNERS];
	size_t n;
	const char *mode;	/* the plan's: full for one scanner */
	const char *only;
};

static size_t
append_rerun(redisContext *c, const struct api *api, const void *arg,
    const char *rec)
{
	const struct rerun *rr = arg;
	struct scan_plan sp = { rr->job, rr->mode, rr->only, 0, 0 };

	return append_scans(c, api, &sp, rec);
}

/*
 * The job of a re-run from the repository, the commit and the first
 * pull request listed (none for a branch without one: pr_number 0, and
 * head_ref the branch).  NULL with why filled on failure.
 */
static struct prs_job *
job_from_rerun(json_t *root, const char *delivery, const char *suite,
    char *why, size_t n)
{
	char path[64];
	json_t *s = jpath(root, suite), *pr, *rec;
	struct prs_job *job = NULL;
	const char *branch, *base = jstr(root, "repository.default_branch");
	char id[33];

	snprintf(path, sizeof(path), "%s.check_suite.head_branch", suite);
	branch = strcmp(suite, "check_run") == 0 ? jstr(root, path) :
	    json_string_value(json_object_get(s, "head_branch"));
	pr = json_array_get(json_object_get(s, "pull_requests"), 0);
	if (prs_job_new_id(id) < 0) {
		snprintf(why, n, "cannot make a job id");
		return NULL;
	}
	if (pr != NULL && !pr_number_ok(json_object_get(pr, "number"))) {
		snprintf(why, n, "%s.pull_requests[0].number: missing or not "
		    "an integer of at least 1", suite);
		return NULL;
	}
	if (pr != NULL) {
		branch = jstr(pr, "head.ref");
		base = jstr(pr, "base.ref");
	}
	rec = json_pack("{s:s,s:s,s:I,s:s?,s:s?,s:I,s:s?,s:s?,s:s?,s:s?}",
	    "job_id", id, "delivery_id", delivery, "installation_id",
	    json_integer_value(jpath(root, "installation.id")), "owner",
	    jstr(root, "repository.owner.login"), "repo",
	    jstr(root, "repository.name"), "pr_number",
	    json_integer_value(json_object_get(pr, "number")), "head_sha",
	    json_string_value(json_object_get(s, "head_sha")), "head_ref",
	    branch != NULL ? branch : base, "base_ref", base, "clone_url",
	    jstr(root, "repository.clone_url"));
	if (rec == NULL || prs_job_from_json(rec, &job) < 0)
		snprintf(why, n, "invalid %s payload: %s", suite, rec == NULL ?
		    "a field is missing" : prs_error_last());
	json_decref(rec);
	return job;
}

/* 1 when the commit was scanned already, 0 if not, -1 on failure. */
static int
already_scanned(struct api *api, const struct prs_job *job)
{
	redisContext *c = api_redis(api);
	redisReply *r = c != NULL ? redisCommand(c, "EXISTS scanned:%s/%s@%s",
	    job->owner, job->repo, job->head_sha) : NULL;
	int rc = r != NULL && r->type == REDIS_REPLY_INTEGER ?
	    r->integer != 0 : -1;

	freeReplyObject(r);
	return rc;
}

static void
queue_rerun(struct api *api, struct api_reply *reply, struct delivery *d,
    struct rerun *rr)
{
	json_t *names = json_array();
	json_t *j = prs_job_to_json(rr->job);
	char *rec = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t i;
	int rc = rec == NULL ? prs_error_set("out of memory") :
	    write_delivery(api, d->id, rr->job->id, append_rerun, rr, rec);

	if (rc < 0) {
		reply_redis_down(reply, d, prs_error_last());
	} else if (rc == 0) {
		reply_duplicate(reply, d);
	} else {
		for (i = 0; i < rr->n; i++)
			json_array_append_new(names, json_string(
			    rr->scanners[i]));
		prs_info("re-run queued", "delivery=%s event=%s action=%s "
		    "job=%s repo=%s/%s sha=%s pr=%ld scanners=%zu", d->id,
		    d->event, prs_log_q(d->action), rr->job->id, rr->job->owner,
		    rr->job->repo, rr->job->head_sha, rr->job->pr_number,
		    rr->n);
		api_reply_set(reply, 202, json_pack("{s:s,s:s,s:s,s:O}",
		    "status", "queued", "delivery", d->id, "job_id",
		    rr->job->id, "scanners", names));
	}
	json_decref(names);
	free(rec);
	json_decref(j);
}

/* The one scanner a check_run event names, or NULL after a reply. */
static char *
rerun_scanner(struct api *api, struct api_reply *reply, struct delivery *d,
    json_t *root)
{
	const char *ident;
	char *scanner;
	json_t *app = jpath(root, "check_run.app.id");
	char own[32];

	snprintf(own, sizeof(own), "%lld", (long long)json_integer_value(app));
	if (json_is_integer(app) && strcmp(own, api->cfg.app_id) != 0) {
		finish_ignored(api, reply, d, "another App's check run");
		return NULL;
	}
	ident = jstr(root, "requested_action.identifier");
	if (strcmp(d->action, "requested_action") == 0 && (ident == NULL ||
	    strcmp(ident, API_RESCAN_ACTION) != 0)) {
		finish_ignored(api, reply, d, "not the Re-scan action");
		return NULL;
	}
	scanner = api_scanner_of_check(api, jstr(root, "check_run.name"));
	if (scanner == NULL)
		finish_ignored(api, reply, d, "not a check run of SCANNERS");
	return scanner;
}

/*
 * 1 when a check_suite (suite) or check_run action asks for a scan:
 * requested and rerequested suites; rerequested runs and their Re-scan
 * button (requested_action).
 */
static int
rerun_action_scanned(int suite, const char *action)
{
	if (action == NULL)
		return 0;
	if (strcmp(action, "rerequested") == 0)
		return 1;
	return strcmp(action, suite ? "requested" : "requested_action") == 0;
}

/* check_run rerequested and requested_action, check_suite re-runs. */
static void
handle_rerun(struct api *api, struct api_reply *reply, struct delivery *d,
    json_t *root)
{
	int suite = strcmp(d->event, "check_suite") == 0;
	struct rerun rr = { NULL, { NULL }, 0, "paths", "*" };
	char *one = NULL;
	char why[256];
	int seen;

	d->action = jstr(root, "action");
	if (!rerun_action_scanned(suite, d->action)) {
		snprintf(why, sizeof(why), "action %.64s is not scanned",
		    d->action != NULL ? d->action : "(none)");
		finish_ignored(api, reply, d, why);
		return;
	}
	if (!json_is_integer(jpath(root, "installation.id")) ||
	    json_integer_value(jpath(root, "installation.id")) < 1) {
		finish_ignored(api, reply, d, "no installation.id: the "
		    "delivery did not come to a GitHub App installation");
		return;
	}
	if (suite && strcmp(d->action, "requested") == 0 &&
	    json_array_size(jpath(root, "check_suite.pull_requests")) > 0) {
		finish_ignored(api, reply, d, "a pull request's suite: its "
		    "pull_request event scans it");
		return;
	}
	if (!suite && (one = rerun_scanner(api, reply, d, root)) == NULL)
		return;
	rr.job = job_from_rerun(root, d->id, suite ? "check_suite" :
	    "check_run", why, sizeof(why));
	if (rr.job == NULL) {
		prs_info("delivery rejected", "delivery=%s event=%s "
		    "reason=%s", d->id, d->event, prs_log_q(why));
		api_reply_error(reply, 400, "%s", why);
		return;
	}
	job_set_trigger(rr.job, root, d->event);
	seen = suite && strcmp(d->action, "requested") == 0 ?
	    already_scanned(api, rr.job) : 0;
	if (seen != 0) {
		if (seen < 0)
			reply_redis_down(reply, d, "redis unavailable");
		else
			finish_ignored(api, reply, d, "commit already scanned");
		prs_job_free(rr.job);
		return;
	}
	/* Re-running one check scans it whatever the paths say. */
	if (one != NULL) {
		rr.scanners[rr.n++] = one;
		rr.mode = "full";
		rr.only = one;
	} else
		for (; rr.n < api->cfg.nscanners; rr.n++)
			rr.scanners[rr.n] = api->cfg.scanners[rr.n];
	queue_rerun(api, reply, d, &rr);
	prs_job_free(rr.job);
}

static void
describe_repo(struct delivery *d, json_t *root)
{
	const char *full = jstr(root, "repository.full_name");

	snprintf(d->repo, sizeof(d->repo), "%.150s", full != NULL &&
	    strspn(full, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_./") == strlen(full) ? full : "");
}

void
api_webhook(struct api *api, const struct api_request *req,
    struct api_reply *reply)
{
	struct delivery d = { api_header(req, "X-GitHub-Delivery"),
		api_header(req, "X-GitHub-Event"), NULL, "" };
	json_error_t jerr;
	json_t *root = NULL;
	char why[128], quoted[80], id[DELIVERY_MAX + 1];
	size_t i;

	if (!signature_ok(api, req)) {
		prs_warn("signature mismatch", "delivery=%s",
		    prs_log_quote(d.id, quoted, sizeof(quoted)));
		api_reply_error(reply, 401, "signature does not match");
		return;
	}
	if (!delivery_id_ok(d.id) || strlen(d.event) > 64 ||
	    strspn(d.event, "abcdefghijklmnopqrstuvwxyz_") != strlen(d.event)) {
		api_reply_error(reply, 400, "malformed X-GitHub-Delivery or "
		    "X-GitHub-Event header");
		return;
	}
	/* GitHub's ids are lowercase UUIDs: one id, whatever its case. */
	for (i = 0; d.id[i] != '\0'; i++)
		id[i] = (char)tolower((unsigned char)d.id[i]);
	id[i] = '\0';
	d.id = id;
	root = json_loadb(req->body, req->len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		prs_info("malformed payload", "delivery=%s event=%s", d.id,
		    d.event);
		api_reply_error(reply, 400, "malformed JSON: %s (line %d)",
		    root == NULL ? jerr.text : "not an object",
		    root == NULL ? jerr.line : 1);
		goto out;
	}
	describe_repo(&d, root);
	api_observe_webhook(d.event, jstr(root, "action"));
	if (strcmp(d.event, "ping") == 0) {
		prs_info("ping", "delivery=%s", d.id);
		api_reply_set(reply, 200, json_pack("{s:s}", "status", "pong"));
	} else if (strcmp(d.event, "pull_request") == 0) {
		handle_pull_request(api, reply, &d, root);
	} else if (strcmp(d.event, "check_run") == 0 ||
	    strcmp(d.event, "check_suite") == 0) {
		handle_rerun(api, reply, &d, root);
	} else {
		snprintf(why, sizeof(why), "event %s is not handled", d.event);
		finish_ignored(api, reply, &d, why);
	}
out:
	json_decref(root);
}
