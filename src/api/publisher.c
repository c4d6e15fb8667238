/*
 * The publisher: the one thread that writes to GitHub.  Webhooks and
 * callbacks only append to the stream github-writes (fields kind
 * plan|create|conclude|start|complete, job, scanner, inst, at; a plan
 * also mode, a conclude conclusion, title and summary); this thread
 * reads it
 * through the consumer group "publisher" and applies each entry, one
 * GitHub write at a time, acknowledging and deleting it once done.  An
 * entry that GitHub answers with a rate limit, a 5xx or nothing stays
 * pending and is retried after a wait; entries of the same installation
 * are applied in stream order, so one check run's updates never overtake
 * each other, while other installations go on.  Only the API holding the
 * lease lock:publisher publishes, so replicas keep that order too, and a
 * restarted API re-reads the pending entries first.
 *
 * checkrun:{job}:{scanner} (a hash: id, started, sent, done) remembers
 * what GitHub already has, so that a repeated entry changes nothing.
 */
#include "api.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "prscan/checkrun.h"
#include "prscan/clock.h"
#include "prscan/diffmap.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/log.h"

#define PUB_GROUP "publisher"
#define PUB_CONSUMER "publisher"
#define PUB_LEASE_KEY "lock:publisher"
#define PUB_LEASE_MS 15000
#define PUB_NEW 200		/* new entries taken per pass */
#define PUB_PENDING 500		/* pending entries walked per pass */
#define PUB_IDLE_MS 500		/* longest wait for new entries */
#define PUB_RATE_LOW 100	/* remaining calls under which writes spread */
#define PUB_MAX_FILES 3000	/* GitHub lists at most 3000 files */
#define PUB_CACHE 8

/* What the publisher knows of one installation. */
struct pub_inst {
	long long id;
	long long last_write_ms;
	long long not_before_ms;
	long failures;		/* in a row, for the backoff */
	long remaining;		/* X-RateLimit-Remaining, -1: unknown */
	long long reset;	/* X-RateLimit-Reset, epoch s */
};

/* Completion bodies kept between the batches of one entry. */
struct pub_cached {
	char entry[48];
	json_t *bodies;
};

struct api_publisher {
	struct api *api;
	struct prs_github *gh;
	pthread_t thread;
	int running;
	_Atomic int stop;
	char lease[33];
	int leader;
	int group_ready;
	struct pub_inst *insts;
	size_t ninsts;
	/*
	 * settled: the last walk over the pending entries moved none, so
	 * walking them again before wake_ms (when the first installation
	 * that held one back may write) repeats it, unless new entries
	 * came for an installation that may write now.  Without this, every
	 * webhook during a GitHub outage re-read PUB_PENDING entries.
	 */
	int settled;
	long long wake_ms;
	struct pub_cached cache[PUB_CACHE];
	size_t next_cache;
};

/* One entry being applied. */
struct pub_entry {
	const char *id;
	const char *kind;
	const char *job_id;
	const char *scanner;
	const char *at;
	const char *mode;	/* plan: paths, full or skip */
	const char *conclusion;	/* conclude: conclusion, title, summary */
	const char *title;
	const char *summary;
	long long inst;
	struct prs_job *job;
	char key[96];		/* checkrun:{job}:{scanner} */
	long long check_id;
	long long sent;
	int creating;		/* a create was sent, maybe made */
	int started;
	int done;
};

/* What applying an entry came to. */
enum pub_outcome {
	PUB_DONE,		/* acknowledge and delete */
	PUB_MORE,		/* a write was made, more to come */
	PUB_WAIT		/* not now: GitHub asked to wait, or spacing */
};

static const struct {
	const char *scanner;
	const char *check;
} check_names[] = {
	{ "kics", "KICS" },
	{ "blackduck", "Black Duck" },
};

const char *
api_check_name(const char *scanner)
{
	const char *named = api_config_check_name(scanner);
	size_t i;

	if (named != NULL)
		return named;
	for (i = 0; i < sizeof(check_names) / sizeof(*check_names); i++)
		if (strcmp(check_names[i].scanner, scanner) == 0)
			return check_names[i].check;
	return scanner;
}

char *
api_scanner_of_check(const struct api *api, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < api->cfg.nscanners; i++)
		if (strcmp(api_check_name(api->cfg.scanners[i]), name) == 0)
			return api->cfg.scanners[i];
	return NULL;
}

void
api_writes_append(redisContext *c, const char *kind, const char *job,
    const char *scanner, long long inst, const char *at)
{
	redisAppendCommand(c, "XADD %s * kind %s job %s scanner %s inst %lld "
	    "at %s", API_WRITES_STREAM, kind, job, scanner, inst, at);
}

void
api_iso_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* -- installations ------------------------------------------------- */

static struct pub_inst *
inst_state(struct api_publisher *p, long long id)
{
	struct pub_inst *v;
	size_t i;

	for (i = 0; i < p->ninsts; i++)
		if (p->insts[i].id == id)
			return &p->insts[i];
	v = realloc(p->insts, (p->ninsts + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	p->insts = v;
	v = &p->insts[p->ninsts++];
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->remaining = -1;
	return v;
}

/* The spacing between two writes: the interval, or wider near the limit. */
static long long
inst_interval(const struct api_publisher *p, const struct pub_inst *st)
{
	long long iv = p->api->cfg.write_interval_ms, left, spread;

	if (st->remaining < 0 || st->remaining >= PUB_RATE_LOW ||
	    st->reset <= 0)
		return iv;
	left = ((long long)st->reset - (long long)time(NULL)) * 1000;
	spread = left > 0 ? left / (st->remaining + 1) : 0;
	return spread > iv ? spread : iv;
}

/* When st may write next: its backoff or its spacing, whichever ends last. */
static long long
inst_next_ms(const struct api_publisher *p, const struct pub_inst *st)
{
	long long spaced = st->last_write_ms == 0 ? 0 :
	    st->last_write_ms + inst_interval(p, st);

	return spaced > st->not_before_ms ? spaced : st->not_before_ms;
}

/* 1 when a write to st may go now. */
static int
inst_may_write(const struct api_publisher *p, const struct pub_inst *st)
{
	return prs_clock_ms() >= inst_next_ms(p, st);
}

/* How long to wait after the failure GitHub's answer describes. */
static long long
inst_backoff(const struct api_publisher *p, struct pub_inst *st,
    const struct prs_github_wait *w)
{
	const struct api_config *cfg = &p->api->cfg;
	long long wait = cfg->retry_base_ms, cap = cfg->retry_max_ms;
	long i;

	if (w->rate_limited) {
		if (w->retry_ms >= 0)
			return w->retry_ms + 1000;
		wait = cfg->rate_limit_wait_ms;
		if (cap < wait)
			cap = wait;
	} else if (w->retry_ms >= 0) {
		return w->retry_ms;
	}
	for (i = 1; i < st->failures && wait < cap; i++)
		wait *= 2;
	if (wait > cap)
		wait = cap;
	/* Jitter: up to a quarter more, so that replicas spread out. */
	return wait + (long long)(rand() % (int)(wait / 4 + 1));
}

/* Books a call's answer: 0, PUB_WAIT for a retry, -1 for a refusal. */
static int
inst_after_call(struct api_publisher *p, struct pub_inst *st,
    const struct pub_entry *e, int rc, const char *what)
{
	struct prs_github_wait w;
	long long wait;

	prs_github_last_wait(&w);
	st->last_write_ms = prs_clock_ms();
	if (w.remaining >= 0) {
		st->remaining = w.remaining;
		st->reset = w.reset;
	}
	if (rc == 0) {
		st->failures = 0;
		return 0;
	}
	if (rc != PRS_ERETRY) {
		prs_err("github refused", "job=%s scanner=%s kind=%s call=%s "
		    "status=%ld reason=%s", e->job_id, e->scanner, e->kind,
		    what, w.status, prs_log_q(prs_error_last()));
		return -1;
	}
	st->failures++;
	wait = inst_backoff(p, st, &w);
	st->not_before_ms = prs_clock_ms() + wait;
	prs_warn("github write delayed", "job=%s scanner=%s kind=%s call=%s "
	    "status=%ld rate_limited=%d wait_ms=%lld failures=%ld "
	    "reason=%s", e->job_id, e->scanner, e->kind, what, w.status,
	    w.rate_limited, wait, st->failures,
	    prs_log_q(prs_error_last()));
	return PUB_WAIT;
}

/* -- Redis state --------------------------------------------------- */

static int
entry_field(const redisReply *f, const char *name, const char **out)
{
	size_t i;

	for (i = 0; f != NULL && i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, name) == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING) {
			*out = f->element[i + 1]->str;
			return 0;
		}
	return -1;
}

static int
entry_parse(const redisReply *item, struct pub_entry *e)
{
	const redisReply *f;
	const char *inst = NULL;

	memset(e, 0, sizeof(*e));
	e->id = item->element[0]->str;
	f = item->element[1];
	if (f == NULL || f->type != REDIS_REPLY_ARRAY ||
	    entry_field(f, "kind", &e->kind) < 0 ||
	    entry_field(f, "job", &e->job_id) < 0 ||
	    entry_field(f, "scanner", &e->scanner) < 0 ||
	    entry_field(f, "at", &e->at) < 0 ||
	    entry_field(f, "inst", &inst) < 0)
		return -1;
	e->inst = strtoll(inst, NULL, 10);
	if (entry_field(f, "mode", &e->mode) < 0)
		e->mode = "paths";
	entry_field(f, "conclusion", &e->conclusion);
	entry_field(f, "title", &e->title);
	entry_field(f, "summary", &e->summary);
	snprintf(e->key, sizeof(e->key), "checkrun:%s:%s", e->job_id,
	    e->scanner);
	return prs_name_valid_job_id(e->job_id) ? 0 : -1;
}

/* Loads the job and its check run state; PRS_ENOTFOUND when expired. */
static int
entry_load(struct api_publisher *p, redisContext *c, struct pub_entry *e)
{
	redisReply *r = redisCommand(c, "GET storage:%s", e->job_id);
	json_t *j = NULL;
	size_t i;
	int rc = -1;

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		goto out;
	rc = PRS_ENOTFOUND;
	if (r->type == REDIS_REPLY_STRING)
		j = json_loadb(r->str, r->len, 0, NULL);
	if (j == NULL || prs_job_from_json(j, &e->job) < 0)
		goto out;
	freeReplyObject(r);
	r = redisCommand(c, "HGETALL %s", e->key);
	rc = -1;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		goto out;
	for (i = 0; i + 1 < r->elements; i += 2) {
		const char *k = r->element[i]->str, *v = r->element[i + 1]->str;

		if (strcmp(k, "id") == 0)
			e->check_id = strtoll(v, NULL, 10);
		else if (strcmp(k, "sent") == 0)
			e->sent = strtoll(v, NULL, 10);
		else if (strcmp(k, "started") == 0)
			e->started = 1;
		else if (strcmp(k, "creating") == 0)
			e->creating = 1;
		else if (strcmp(k, "done") == 0)
			e->done = 1;
	}
	rc = 0;
out:
	(void)p;
	freeReplyObject(r);
	json_decref(j);
	return rc;
}

static int
entry_save(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    const char *field, long long value)
{
	redisReply *r;
	int ok;

	r = redisCommand(c, "HSET %s %s %lld", e->key, field, value);
	ok = r != NULL && r->type == REDIS_REPLY_INTEGER;
	freeReplyObject(r);
	if (ok)
		freeReplyObject(redisCommand(c, "EXPIRE %s %ld", e->key,
		    p->api->cfg.storage_ttl));
	return ok ? 0 : -1;
}

/* -- check runs ---------------------------------------------------- */

/*
 * After a create that got no answer: the run it may have made, found by
 * its external_id.  0 (e->check_id set), PRS_ENOTFOUND, PUB_WAIT or
 * PUB_DONE (GitHub refused the lookup).
 */
static int
adopt_created(struct api_publisher *p, struct pub_entry *e,
    struct pub_inst *st)
{
	const struct prs_job *job = e->job;
	int rc = prs_github_checkrun_find(p->gh, job->installation,
	    job->owner, job->repo, job->head_sha, api_check_name(e->scanner),
	    job->id, &e->check_id);

	if (rc == PRS_ENOTFOUND)
		return rc;
	rc = inst_after_call(p, st, e, rc, "find");
	if (rc == 0)
		prs_info("check run found", "job=%s scanner=%s check_run=%lld",
		    job->id, e->scanner, e->check_id);
	return rc == PUB_WAIT ? PUB_WAIT : rc < 0 ? PUB_DONE : 0;
}

/* Creates the check run: queued, or in_progress for a later entry. */
static int
step_create(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    struct pub_inst *st, int in_progress)
{
	const struct prs_job *job = e->job;
	json_t *body;
	int rc;

	if (e->creating) {
		rc = adopt_created(p, e, st);
		if (rc == 0)
			return entry_save(p, c, e, "id", e->check_id) < 0 ? -1 :
			    PUB_MORE;
		if (rc != PRS_ENOTFOUND)
			return rc;
	}
	/* Marked first: a create that gets no answer may still be made. */
	if (entry_save(p, c, e, "creating", 1) < 0)
		return -1;
	body = json_pack("{s:s,s:s,s:s,s:s}", "name",
	    api_check_name(e->scanner), "head_sha", job->head_sha, "status",
	    in_progress ? "in_progress" : "queued", "external_id", job->id);
	if (body != NULL && in_progress)
		json_object_set_new(body, "started_at", json_string(e->at));
	rc = prs_github_checkrun_create(p->gh, job->installation, job->owner,
	    job->repo, body, &e->check_id);
	json_decref(body);
	rc = inst_after_call(p, st, e, rc, "create");
	if (rc == PUB_WAIT)
		return PUB_WAIT;
	if (rc < 0)
		return PUB_DONE;
	prs_info("check run created", "job=%s repo=%s/%s sha=%s scanner=%s "
	    "check_run=%lld status=%s", job->id, job->owner, job->repo,
	    job->head_sha, e->scanner, e->check_id, in_progress ?
	    "in_progress" : "queued");
	if (entry_save(p, c, e, "id", e->check_id) < 0 ||
	    (in_progress && entry_save(p, c, e, "started", 1) < 0))
		return -1;
	return PUB_MORE;
}

static int
step_update(struct api_publisher *p, struct pub_entry *e,
    struct pub_inst *st, const json_t *body, const char *what)
{
	int rc = prs_github_checkrun_update(p->gh, e->job->installation,
	    e->job->owner, e->job->repo, e->check_id, body);

	return inst_after_call(p, st, e, rc, what);
}

static int
step_start(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    struct pub_inst *st)
{
	json_t *body;
	int rc;

	if (e->done || e->started)
		return PUB_DONE;
	if (e->check_id == 0) {
		rc = step_create(p, c, e, st, 1);
		return rc == PUB_MORE ? PUB_DONE : rc;
	}
	body = json_pack("{s:s,s:s}", "status", "in_progress", "started_at",
	    e->at);
	rc = step_update(p, e, st, body, "start");
	json_decref(body);
	if (rc == PUB_WAIT)
		return PUB_WAIT;
	if (rc == 0 && entry_save(p, c, e, "started", 1) < 0)
		return -1;
	return PUB_DONE;
}

/* -- completion bodies --------------------------------------------- */

static json_t *
cancelled_body(const struct pub_entry *e, const char *why)
{
	char title[160], summary[512];

	snprintf(title, sizeof(title), "Cancelled: %.120s", why);
	snprintf(summary, sizeof(summary), "The %s scan of %.40s was "
	    "cancelled: %.300s.", api_check_name(e->scanner),
	    e->job->head_sha, why);
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "status", "completed",
	    "conclusion", "cancelled", "completed_at", e->at, "output",
	    "title", title, "summary", summary);
}

/* The lines the pull request changed; *map NULL when not known. */
static int
changed_lines(struct api_publisher *p, struct pub_entry *e,
    struct pub_inst *st, struct prs_diffmap **map)
{
	json_t *files = NULL;
	int rc;

	*map = NULL;
	if (e->job->pr_number < 1)
		return 0;
	rc = prs_github_pull_files(p->gh, e->job->installation, e->job->owner,
	    e->job->repo, e->job->pr_number, PUB_MAX_FILES, &files);
	rc = inst_after_call(p, st, e, rc, "pull files");
	if (rc == PUB_WAIT)
		return PUB_WAIT;
	if (rc == 0 && prs_diffmap_from_files(files, map) < 0)
		rc = -1;
	if (rc < 0)
		prs_warn("changed lines unknown", "job=%s scanner=%s "
		    "reason=%s", e->job_id, e->scanner,
		    prs_log_q(prs_error_last()));
	json_decref(files);
	return 0;
}

static json_t *
result_bodies(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    json_t *root, const struct prs_diffmap *map)
{
	const struct api_config *cfg = &p->api->cfg;
	struct prs_checkrun_style sty = { api_check_name(e->scanner),
		cfg->fail_on, cfg->error_neutral, e->at, map,
		cfg->annotate_changed, (size_t)cfg->max_annotations, NULL };
	struct prs_scan_result *res = NULL;
	json_t *err = json_object_get(root, "error"), *bodies = NULL;
	char blob[1024];

	snprintf(blob, sizeof(blob), "%s/%s/%s/blob/%s", cfg->server_url,
	    e->job->owner, e->job->repo, e->job->head_sha);
	sty.blob_url = blob;
	/* .github/prscan.yml's fail_on and annotate, through the plan. */
	api_plan_job_style(c, e->job_id, &sty.fail_on, &sty.changed_only);
	if (json_is_string(err) || prs_result_from_json(json_object_get(root,
	    "result"), &res) < 0) {
		bodies = json_array();
		json_array_append_new(bodies, prs_checkrun_scan_error(&sty,
		    json_is_string(err) ? json_string_value(err) :
		    prs_error_last()));
		return bodies;
	}
	bodies = prs_checkrun_completion(&sty, res);
	prs_result_free(res);
	return bodies;
}

/* Adds the Re-scan button to the body that completes the run. */
static void
add_rescan_action(json_t *bodies)
{
	json_t *first = json_array_get(bodies, 0);

	if (first != NULL)
		json_object_set_new(first, "actions", json_pack("[{s:s,s:s,"
		    "s:s}]", "label", "Re-scan", "description", "Scan this "
		    "commit again", "identifier", API_RESCAN_ACTION));
}

/* The stored result of a completed callback; PRS_ENOTFOUND if expired. */
static int
load_result(redisContext *c, const struct pub_entry *e, json_t **out)
{
	redisReply *r = redisCommand(c, "GET scan_result:%s:%s", e->job_id,
	    e->scanner);
	int rc = -1;

	*out = NULL;
	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		*out = json_loadb(r->str, r->len, 0, NULL);
		rc = *out != NULL ? 0 : PRS_ENOTFOUND;
	} else if (r != NULL && r->type == REDIS_REPLY_NIL) {
		rc = PRS_ENOTFOUND;
	}
	freeReplyObject(r);
	return rc;
}

static json_t *
cache_get(struct api_publisher *p, const char *entry)
{
	size_t i;

	for (i = 0; i < PUB_CACHE; i++)
		if (p->cache[i].bodies != NULL &&
		    strcmp(p->cache[i].entry, entry) == 0)
			return p->cache[i].bodies;
	return NULL;
}

static void
cache_put(struct api_publisher *p, const char *entry, json_t *bodies)
{
	struct pub_cached *slot = &p->cache[p->next_cache++ % PUB_CACHE];

	json_decref(slot->bodies);
	snprintf(slot->entry, sizeof(slot->entry), "%s", entry);
	slot->bodies = bodies;
}

static void
cache_drop(struct api_publisher *p, const char *entry)
{
	size_t i;

	for (i = 0; i < PUB_CACHE; i++)
		if (p->cache[i].bodies != NULL &&
		    strcmp(p->cache[i].entry, entry) == 0) {
			json_decref(p->cache[i].bodies);
			p->cache[i].bodies = NULL;
		}
}

/* The entry's completion bodies, built once; PUB_WAIT or PUB_DONE. */
static int
bodies_of(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    struct pub_inst *st, json_t **out)
{
	struct prs_diffmap *map = NULL;
	json_t *root = NULL;
	int rc;

	*out = cache_get(p, e->id);
	if (*out != NULL)
		return 0;
	rc = load_result(c, e, &root);
	if (rc == PRS_ENOTFOUND)
		prs_err("scan result expired", "job=%s scanner=%s", e->job_id,
		    e->scanner);
	if (rc < 0)
		return rc == PRS_ENOTFOUND ? PUB_DONE : -1;
	if (json_is_string(json_object_get(root, "cancelled"))) {
		*out = json_array();
		json_array_append_new(*out, cancelled_body(e,
		    json_string_value(json_object_get(root, "cancelled"))));
	} else if (changed_lines(p, e, st, &map) == PUB_WAIT) {
		json_decref(root);
		return PUB_WAIT;
	} else {
		*out = result_bodies(p, c, e, root, map);
	}
	prs_diffmap_free(map);
	json_decref(root);
	if (*out == NULL) {
		prs_err("check run bodies not built", "job=%s scanner=%s "
		    "reason=\"out of memory\"", e->job_id, e->scanner);
		return PUB_DONE;
	}
	add_rescan_action(*out);
	cache_put(p, e->id, *out);
	return 0;
}

/* A body GitHub refused with 422 is replaced by a short failure. */
static int
send_refused(struct api_publisher *p, struct pub_entry *e,
    struct pub_inst *st)
{
	struct prs_checkrun_style sty = { api_check_name(e->scanner),
		p->api->cfg.fail_on, 0, e->at, NULL, 0, 0, NULL };
	char why[300];
	json_t *body;
	int rc;

	snprintf(why, sizeof(why), "GitHub refused the results: %.200s",
	    prs_error_last());
	body = prs_checkrun_scan_error(&sty, why);
	rc = step_update(p, e, st, body, "complete refused");
	json_decref(body);
	return rc;
}

static int
step_complete(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    struct pub_inst *st)
{
	json_t *bodies;
	size_t n;
	int rc;

	if (e->done)
		return PUB_DONE;
	if (e->check_id == 0)
		return step_create(p, c, e, st, 1);
	rc = bodies_of(p, c, e, st, &bodies);
	if (rc != 0)
		return rc;
	n = json_array_size(bodies);
	if ((size_t)e->sent < n) {
		if (!inst_may_write(p, st))
			return PUB_WAIT;
		rc = step_update(p, e, st, json_array_get(bodies,
		    (size_t)e->sent), "complete");
		if (rc == PUB_WAIT)
			return PUB_WAIT;
		if (rc < 0 && e->sent == 0 &&
		    send_refused(p, e, st) == PUB_WAIT)
			return PUB_WAIT;
		if (entry_save(p, c, e, "sent", ++e->sent) < 0)
			return -1;
	}
	if ((size_t)e->sent < n)
		return PUB_MORE;
	if (api_audit_completed(p->api, c, e->job, e->scanner, e->check_id,
	    e->at, bodies) < 0 || entry_save(p, c, e, "done", 1) < 0)
		return -1;
	api_audit_keep_result(p->api, c, e->job_id, e->scanner);
	cache_drop(p, e->id);
	prs_info("check run completed", "job=%s repo=%s/%s sha=%s scanner=%s "
	    "check_run=%lld batches=%zu", e->job_id, e->job->owner,
	    e->job->repo, e->job->head_sha, e->scanner, e->check_id, n);
	return PUB_DONE;
}

/* -- plans and conclusions ---------------------------------------- */

/* .github/prscan.yml at the base branch into in; 0 or PUB_WAIT. */
static int
plan_read_config(struct api_publisher *p, struct pub_entry *e,
    struct pub_inst *st, struct api_plan_input *in)
{
	const struct prs_job *job = e->job;
	int rc = prs_github_file_get(p->gh, job->installation, job->owner,
	    job->repo, ".github/prscan.yml", job->base_ref,
	    PRS_REPOCONFIG_MAX_BYTES, &in->yaml, &in->len);

	if (rc == PRS_ENOTFOUND || rc == PRS_EINPUT) {
		if (rc == PRS_EINPUT)
			snprintf(in->config_error, sizeof(in->config_error),
			    "line 1: %s", prs_error_last());
		inst_after_call(p, st, e, 0, "config");
		return 0;
	}
	rc = inst_after_call(p, st, e, rc, "config");
	if (rc == PUB_WAIT)
		return PUB_WAIT;
	if (rc < 0)
		snprintf(in->config_error, sizeof(in->config_error),
		    "line 1: cannot be read: %.300s", prs_error_last());
	return 0;
}

/* The pull request's changed files into in (NULL: unknown). */
static int
plan_read_files(struct api_publisher *p, struct pub_entry *e,
    struct pub_inst *st, struct api_plan_input *in)
{
	const struct prs_job *job = e->job;
	int rc;

	if (job->pr_number < 1 || strcmp(e->mode, "paths") != 0 ||
	    in->config_error[0] != '\0')
		return 0;
	rc = prs_github_pull_files(p->gh, job->installation, job->owner,
	    job->repo, job->pr_number, PUB_MAX_FILES, &in->files);
	rc = inst_after_call(p, st, e, rc, "pull files");
	if (rc == PUB_WAIT)
		return PUB_WAIT;
	if (rc < 0)
		prs_warn("changed files unknown: every scanner runs", "job=%s "
		    "reason=%s", e->job_id, prs_log_q(prs_error_last()));
	/* GitHub lists 3000 at most: the rest could match anything. */
	if (rc == 0 && json_array_size(in->files) >= PUB_MAX_FILES) {
		prs_warn("changed files cut at 3000: every scanner runs",
		    "job=%s", e->job_id);
		json_decref(in->files);
		in->files = NULL;
	}
	return 0;
}

static int
plan_done(redisContext *c, const char *job)
{
	redisReply *r = redisCommand(c, "EXISTS plan:%s", job);
	int rc = r != NULL && r->type == REDIS_REPLY_INTEGER ?
	    r->integer != 0 : -1;

	freeReplyObject(r);
	return rc;
}

/* Reads what the plan needs from GitHub, then lets plan.c decide. */
static int
step_plan(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    struct pub_inst *st)
{
	struct api_plan_input in;
	int rc = plan_done(c, e->job_id);

	memset(&in, 0, sizeof(in));
	if (rc != 0)
		return rc < 0 ? -1 : PUB_DONE;
	if (strcmp(e->mode, "skip") != 0) {
		if (!inst_may_write(p, st))
			return PUB_WAIT;
		if (plan_read_config(p, e, st, &in) == PUB_WAIT ||
		    plan_read_files(p, e, st, &in) == PUB_WAIT) {
			api_plan_input_dispose(&in);
			return PUB_WAIT;
		}
	}
	rc = api_plan_commit(p->api, c, e->job, e->mode, e->scanner, &in);
	api_plan_input_dispose(&in);
	return rc < 0 ? -1 : PUB_DONE;
}

/* Creates a check run completed at once: skipped, or a bad config. */
static int
step_conclude(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    struct pub_inst *st)
{
	const struct prs_job *job = e->job;
	json_t *body, *one;
	int rc;

	if (e->check_id != 0 || e->done)
		return PUB_DONE;
	if (!inst_may_write(p, st))
		return PUB_WAIT;
	if (e->creating) {
		rc = adopt_created(p, e, st);
		if (rc == 0)
			return entry_save(p, c, e, "id", e->check_id) < 0 ? -1 :
			    PUB_DONE;
		if (rc != PRS_ENOTFOUND)
			return rc;
	}
	if (entry_save(p, c, e, "creating", 1) < 0)
		return -1;
	body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s}}", "name",
	    api_check_name(e->scanner), "head_sha", job->head_sha,
	    "external_id", job->id, "status", "completed", "conclusion",
	    e->conclusion, "completed_at", e->at, "output", "title",
	    e->title, "summary", e->summary);
	one = body != NULL ? json_pack("[O]", body) : NULL;
	add_rescan_action(one);
	json_decref(one);
	rc = prs_github_checkrun_create(p->gh, job->installation, job->owner,
	    job->repo, body, &e->check_id);
	json_decref(body);
	rc = inst_after_call(p, st, e, rc, "conclude");
	if (rc != 0)
		return rc == PUB_WAIT ? PUB_WAIT : PUB_DONE;
	prs_info("check run concluded", "job=%s repo=%s/%s sha=%s scanner=%s "
	    "check_run=%lld conclusion=%s", job->id, job->owner, job->repo,
	    job->head_sha, e->scanner, e->check_id, e->conclusion);
	if (entry_save(p, c, e, "id", e->check_id) < 0 ||
	    entry_save(p, c, e, "done", 1) < 0)
		return -1;
	return PUB_DONE;
}

/* Applies at most one GitHub write of e.  -1 when Redis failed. */
static int
entry_step(struct api_publisher *p, redisContext *c, struct pub_entry *e,
    struct pub_inst *st)
{
	int rc = entry_load(p, c, e);

	if (rc == PRS_ENOTFOUND) {
		prs_warn("write dropped: job expired", "job=%s scanner=%s "
		    "kind=%s", e->job_id, e->scanner, e->kind);
		return PUB_DONE;
	}
	if (rc < 0)
		return -1;
	if (strcmp(e->kind, "plan") == 0)
		return step_plan(p, c, e, st);
	if (strcmp(e->kind, "conclude") == 0)
		return e->conclusion != NULL && e->title != NULL &&
		    e->summary != NULL ? step_conclude(p, c, e, st) : PUB_DONE;
	if (strcmp(e->kind, "create") == 0) {
		if (e->check_id != 0)
			return PUB_DONE;
		if (!inst_may_write(p, st))
			return PUB_WAIT;
		rc = step_create(p, c, e, st, 0);
		return rc == PUB_MORE ? PUB_DONE : rc;
	}
	if (strcmp(e->kind, "start") == 0) {
		if (!e->done && !e->started && !inst_may_write(p, st))
			return PUB_WAIT;
		return step_start(p, c, e, st);
	}
	if (strcmp(e->kind, "complete") == 0) {
		if (!e->done && e->check_id == 0 && !inst_may_write(p, st))
			return PUB_WAIT;
		return step_complete(p, c, e, st);
	}
	prs_warn("write dropped: unknown kind", "entry=%s kind=%s", e->id,
	    e->kind);
	return PUB_DONE;
}

/* -- the loop ------------------------------------------------------ */

static int
entry_ack(redisContext *c, const char *id)
{
	redisReply *r;
	int ok;

	redisAppendCommand(c, "XACK %s %s %s", API_WRITES_STREAM, PUB_GROUP,
	    id);
	redisAppendCommand(c, "XDEL %s %s", API_WRITES_STREAM, id);
	ok = redisGetReply(c, (void **)&r) == REDIS_OK;
	freeReplyObject(ok ? r : NULL);
	ok = ok && redisGetReply(c, (void **)&r) == REDIS_OK;
	freeReplyObject(ok ? r : NULL);
	return ok ? 0 : -1;
}

/* Installations skipped for the rest of a pass, to keep their order. */
struct pub_busy {
	long long v[PUB_PENDING];
	size_t n;
};

static int
busy_has(const struct pub_busy *b, long long inst)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->v[i] == inst)
			return 1;
	return 0;
}

/* Notes after a walk whether the next may wait (see settled). */
static void
settle(struct api_publisher *p, const struct pub_busy *busy, int steps)
{
	long long next, wake = LLONG_MAX;
	size_t i;

	for (i = 0; i < busy->n; i++) {
		next = inst_next_ms(p, inst_state(p, busy->v[i]));
		if (next < wake)
			wake = next;
	}
	p->settled = steps == 0;
	p->wake_ms = wake;
}

/* Walks the pending entries once; the steps taken, or -1. */
static int
walk(struct api_publisher *p, redisContext *c, const redisReply *list)
{
	struct pub_busy busy = { { 0 }, 0 };
	struct pub_entry e;
	struct pub_inst *st;
	size_t i;
	int rc, steps = 0;

	for (i = 0; i < list->elements && !p->stop; i++) {
		if (entry_parse(list->element[i], &e) < 0) {
			if (entry_ack(c, list->element[i]->element[0]->str) < 0)
				return -1;
			continue;
		}
		st = inst_state(p, e.inst);
		if (st == NULL || busy_has(&busy, e.inst))
			continue;
		rc = entry_step(p, c, &e, st);
		prs_job_free(e.job);
		if (rc < 0)
			return -1;
		if (rc != PUB_DONE && busy.n < PUB_PENDING)
			busy.v[busy.n++] = e.inst;
		if (rc == PUB_DONE && entry_ack(c, e.id) < 0)
			return -1;
		steps += rc != PUB_WAIT;
	}
	settle(p, &busy, steps);
	return steps;
}

/*
 * 1 when an entry of this installation might be written now; else 0, and
 * the next walk is due no later than when it may (wake_ms).
 */
static int
inst_ready(struct api_publisher *p, const char *inst)
{
	long long id = inst != NULL ? strtoll(inst, NULL, 10) : 0, next;
	size_t i;

	for (i = 0; i < p->ninsts; i++) {
		if (p->insts[i].id != id)
			continue;
		next = inst_next_ms(p, &p->insts[i]);
		if (prs_clock_ms() >= next)
			return 1;
		if (next < p->wake_ms)
			p->wake_ms = next;
		return 0;
	}
	return 1;
}

/* How many of XREADGROUP's new entries r an installation may write now. */
static int
count_ready(struct api_publisher *p, const redisReply *r)
{
	const redisReply *list;
	const char *inst;
	size_t i;
	int n = 0;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->elements != 2)
		return 0;
	list = r->element[0]->element[1];
	for (i = 0; i < list->elements; i++) {
		inst = NULL;
		if (list->element[i]->elements == 2)
			entry_field(list->element[i]->element[1], "inst",
			    &inst);
		n += inst_ready(p, inst);
	}
	return n;
}

/*
 * Takes new entries into the pending list, waiting up to block_ms; how
 * many of them an installation may write now, or -1.
 */
static int
take_new(struct api_publisher *p, redisContext *c, long block_ms)
{
	redisReply *r;
	int ready = -1;

	if (block_ms > 0)
		r = redisCommand(c, "XREADGROUP GROUP %s %s COUNT %d BLOCK %ld "
		    "STREAMS %s >", PUB_GROUP, PUB_CONSUMER, PUB_NEW, block_ms,
		    API_WRITES_STREAM);
	else
		r = redisCommand(c, "XREADGROUP GROUP %s %s COUNT %d STREAMS "
		    "%s >", PUB_GROUP, PUB_CONSUMER, PUB_NEW,
		    API_WRITES_STREAM);
	if (r != NULL && r->type != REDIS_REPLY_ERROR)
		ready = count_ready(p, r);
	freeReplyObject(r);
	return ready;
}

static int
pass(struct api_publisher *p, redisContext *c, long block_ms)
{
	redisReply *r;
	int steps = -1, ready = take_new(p, c, block_ms);

	if (ready < 0)
		return -1;
	if (ready == 0 && p->settled && prs_clock_ms() < p->wake_ms)
		return 0;
	r = redisCommand(c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s 0",
	    PUB_GROUP, PUB_CONSUMER, PUB_PENDING, API_WRITES_STREAM);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->elements == 2)
		steps = walk(p, c, r->element[0]->element[1]);
	freeReplyObject(r);
	return steps;
}

static int
ensure_group(struct api_publisher *p, redisContext *c)
{
	redisReply *r;
	int ok;

	if (p->group_ready)
		return 0;
	r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM",
	    API_WRITES_STREAM, PUB_GROUP);
	ok = r != NULL && (r->type == REDIS_REPLY_STATUS ||
	    (r->type == REDIS_REPLY_ERROR && strstr(r->str, "BUSYGROUP")));
	freeReplyObject(r);
	p->group_ready = ok;
	return ok ? 0 : -1;
}

static const char lease_script[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false then "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "return 1 end return 0";

static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

/* Takes or keeps the lease: 1 when this API publishes, 0, -1. */
static int
lease(struct api_publisher *p, redisContext *c)
{
	redisReply *r = redisCommand(c, "EVAL %s 1 %s %s %d", lease_script,
	    PUB_LEASE_KEY, p->lease, PUB_LEASE_MS);
	int rc = r != NULL && r->type == REDIS_REPLY_INTEGER ?
	    (int)r->integer : -1;

	freeReplyObject(r);
	if (rc == 1 && !p->leader) {
		prs_info("publishing to GitHub", "stream=%s",
		    API_WRITES_STREAM);
		p->group_ready = 0;
		p->settled = 0;
	}
	p->leader = rc == 1;
	return rc;
}

/*
 * How long a pass in which nothing could go may wait for new entries: up
 * to the moment the first installation may write again, so that spacing
 * writes GITHUB_WRITE_INTERVAL_MS apart does not stretch to PUB_IDLE_MS.
 */
static long
idle_wait(const struct api_publisher *p)
{
	long long now = prs_clock_ms(), soonest = now + PUB_IDLE_MS, next;
	size_t i;

	for (i = 0; i < p->ninsts; i++) {
		next = inst_next_ms(p, &p->insts[i]);
		if (next > now && next < soonest)
			soonest = next;
	}
	return soonest - now > 10 ? (long)(soonest - now) : 10;
}

static void *
pub_main(void *arg)
{
	struct api_publisher *p = arg;
	redisContext *c;
	int steps = 1, held;

	while (!p->stop) {
		c = api_redis(p->api);
		held = c != NULL ? lease(p, c) : -1;
		if (held == 1 && ensure_group(p, c) == 0)
			steps = pass(p, c, steps > 0 ? 0 : idle_wait(p));
		else
			steps = -1;
		/* The stream may be gone (a Redis without persistence). */
		if (steps < 0) {
			p->group_ready = 0;
			p->settled = 0;
		}
		if (steps < 0 && c != NULL && c->err != 0)
			api_redis_drop();
		if (held != 1 || steps < 0)
			sleep_ms(held == 0 ? 1000 : 200);
	}
	c = api_redis(p->api);
	if (c != NULL && p->leader)
		freeReplyObject(redisCommand(c, "EVAL %s 1 %s %s",
		    release_script, PUB_LEASE_KEY, p->lease));
	api_redis_release();
	return NULL;
}

int
api_publisher_start(struct api *api)
{
	struct api_publisher *p = calloc(1, sizeof(*p));
	unsigned char raw[16];
	sigset_t all, old;
	size_t i;
	int started;

	if (p == NULL)
		return prs_error_set("out of memory");
	p->api = api;
	if (RAND_bytes(raw, sizeof(raw)) != 1 ||
	    prs_github_new(api->cfg.api_url, api->cfg.app_id,
	    api->cfg.private_key, api->cfg.private_key_len, &p->gh) < 0) {
		free(p);
		return prs_error_set("publisher: %s", prs_error_last());
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(p->lease + 2 * i, 3, "%02x", raw[i]);
	srand((unsigned int)raw[0] << 8 | raw[1]);
	prs_github_set_timeout(p->gh, api->cfg.github_timeout_ms);
	/* The thread blocks every signal: the main thread sigwaits. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	started = pthread_create(&p->thread, NULL, pub_main, p) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started) {
		prs_github_free(p->gh);
		free(p);
		return prs_error_set("publisher: cannot start its thread");
	}
	p->running = 1;
	api->publisher = p;
	return 0;
}

void
api_publisher_stop(struct api *api)
{
	struct api_publisher *p = api->publisher;
	size_t i;

	if (p == NULL)
		return;
	p->stop = 1;
	if (p->running)
		pthread_join(p->thread, NULL);
	for (i = 0; i < PUB_CACHE; i++)
		json_decref(p->cache[i].bodies);
	prs_github_free(p->gh);
	free(p->insts);
	free(p);
	api->publisher = NULL;
}

/* GITHUB_SERVER_URL, else derived from GITHUB_API_URL. */
static int
server_url_load(struct api_config *cfg)
{
	const char *api = cfg->api_url;
	size_t n = strlen(api);

	prs_env_string("GITHUB_SERVER_URL", NULL, &cfg->server_url);
	if (cfg->server_url == NULL) {
		if (strcmp(api, "https://api.github.com") == 0)
			cfg->server_url = strdup("https://github.com");
		else if (n > 7 && strcmp(api + n - 7, "/api/v3") == 0)
			cfg->server_url = strndup(api, n - 7);
		else
			cfg->server_url = strdup(api);
	}
	if (cfg->server_url == NULL)
		return prs_error_set("out of memory");
	n = strlen(cfg->server_url);
	while (n > 0 && cfg->server_url[n - 1] == '/')
		cfg->server_url[--n] = '\0';
	if (strncmp(cfg->server_url, "https://", 8) != 0 &&
	    strncmp(cfg->server_url, "http://", 7) != 0)
		return prs_error_set("GITHUB_SERVER_URL: must be an http(s) "
		    "URL");
	return 0;
}

int
api_publisher_config(struct api_config *cfg)
{
	char *v = NULL;
	int rc = -1;

	if (prs_env_long("GITHUB_WRITE_INTERVAL_MS", 1000, 0, 600000,
	    &cfg->write_interval_ms) < 0 ||
	    prs_env_long("GITHUB_RETRY_BASE_MS", 1000, 1, 3600000,
	    &cfg->retry_base_ms) < 0 ||
	    prs_env_long("GITHUB_RETRY_MAX_MS", 300000, 1, 86400000,
	    &cfg->retry_max_ms) < 0 ||
	    prs_env_long("GITHUB_RATE_LIMIT_WAIT_MS", 60000, 1, 86400000,
	    &cfg->rate_limit_wait_ms) < 0 ||
	    prs_env_long("GITHUB_TIMEOUT_MS", 30000, 100, 600000,
	    &cfg->github_timeout_ms) < 0 ||
	    prs_env_long("MAX_ANNOTATIONS", 1000, 1, 1000000,
	    &cfg->max_annotations) < 0 || server_url_load(cfg) < 0)
		return -1;
	prs_env_string("ANNOTATE", "all", &v);
	if (v == NULL || (strcmp(v, "all") != 0 && strcmp(v, "changed") != 0))
		prs_error_set("ANNOTATE: must be all or changed");
	else
		rc = 0;
	cfg->annotate_changed = v != NULL && strcmp(v, "changed") == 0;
	free(v);
	return rc;
}
