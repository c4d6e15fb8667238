/*
 * Selective scanning.  A webhook (or /fanout, or a re-run) records its
 * job and one "plan" entry in github-writes (fields mode paths|full|skip
 * and scanner, "*" for all of SCANNERS); the publisher, which may wait on
 * GitHub, reads .github/prscan.yml at the base branch and the pull
 * request's changed files and hands them here.  This file decides which
 * scanner runs and commits the decision in one transaction: the plan
 * record plan:{job} (the effective fail_on and annotate, which the
 * completion reads, and the marker that makes a repeated plan entry a
 * no-op), one entry per chosen scanner's stream with its queued check
 * run, and a "conclude" write (a check run created completed) for every
 * scanner that is skipped or whose configuration is invalid.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/log.h"

#define PLAN_CONFIG_PATH ".github/prscan.yml"

/* One scanner's fate. */
struct plan_choice {
	const char *scanner;
	const char *conclusion;	/* NULL: it runs */
	char title[120];
	char summary[700];
};

/* Reads at most max bytes of path into *out; more is an error. */
static int
plan_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(max + 2);
	int rc = -1;

	*out = NULL;
	if (f == NULL || buf == NULL) {
		prs_error_set("%s", f == NULL ? strerror(errno) :
		    "out of memory");
		goto out;
	}
	*len = fread(buf, 1, max + 1, f);
	if (ferror(f))
		prs_error_set("%s", strerror(errno));
	else if (*len > max)
		prs_error_set("line 1: larger than %zu bytes", max);
	else
		rc = 0;
	buf[*len] = '\0';
out:
	if (f != NULL)
		fclose(f);
	if (rc == 0)
		*out = buf;
	else
		free(buf);
	return rc;
}

int
api_plan_config(struct api_config *cfg)
{
	char *path = NULL, *text = NULL;
	char why[512];
	size_t len = 0;
	int rc = -1;

	prs_env_string("PRSCAN_CONFIG", NULL, &path);
	if (path == NULL || *path == '\0') {
		free(path);
		return 0;
	}
	if (plan_read_file(path, PRS_REPOCONFIG_MAX_BYTES, &text, &len) ==
	    0 && prs_repoconfig_parse(text, len,
	    (const char *const *)cfg->scanners, cfg->nscanners,
	    &cfg->repo_defaults) == 0)
		rc = 0;
	if (rc < 0) {
		/* The message is copied: prs_error_set overwrites its own. */
		snprintf(why, sizeof(why), "%s", prs_error_last());
		prs_error_set("PRSCAN_CONFIG: %s: %s", path, why);
	}
	free(text);
	free(path);
	return rc;
}

void
api_plan_writes_append(redisContext *c, const struct prs_job *job,
    const char *mode, const char *scanner, const char *at)
{
	redisAppendCommand(c, "XADD %s * kind plan job %s scanner %s inst %lld "
	    "at %s mode %s", API_WRITES_STREAM, job->id, scanner,
	    job->installation, at, mode);
}

/* -- the decision -------------------------------------------------- */

/* The names of the changed files, renamed ones under both names. */
static const char **
plan_names(const json_t *files, size_t *n)
{
	const char **v = calloc(2 * json_array_size(files) + 1, sizeof(*v));
	const json_t *f;
	const char *s;
	size_t i;

	*n = 0;
	json_array_foreach(files, i, f) {
		if (v == NULL)
			break;
		if ((s = json_string_value(json_object_get(f, "filename"))))
			v[(*n)++] = s;
		s = json_string_value(json_object_get(f, "previous_filename"));
		if (s != NULL)
			v[(*n)++] = s;
	}
	return v;
}

static void
plan_conclude(struct plan_choice *ch, const char *conclusion,
    const char *title, const char *summary)
{
	ch->conclusion = conclusion;
	snprintf(ch->title, sizeof(ch->title), "%s", title);
	snprintf(ch->summary, sizeof(ch->summary), "%s", summary);
}

/* The fate of one scanner under the configuration and the change. */
static void
plan_choose(const struct api *api, const struct api_plan_input *in,
    const struct prs_repoconfig *repo, const char *mode,
    const char **names, size_t nnames, struct plan_choice *ch)
{
	const struct prs_repoconfig *srv = api->cfg.repo_defaults;
	char why[300], text[700];

	ch->conclusion = NULL;
	if (in->config_error[0] != '\0') {
		snprintf(text, sizeof(text), "The scan did not run: "
		    "`%s` at the base branch is invalid.\n\n    %s\n\nFix "
		    "the file on the base branch, then re-run this check.",
		    PLAN_CONFIG_PATH, in->config_error);
		plan_conclude(ch, "failure", "Invalid " PLAN_CONFIG_PATH,
		    text);
	} else if (strcmp(mode, "skip") == 0) {
		plan_conclude(ch, "skipped", "Skipped: labelled prscan:skip",
		    "The pull request carries the label `prscan:skip`, so "
		    "prscan does not scan it. Remove the label to scan.");
	} else if (!prs_repoconfig_enabled(srv, repo, ch->scanner)) {
		snprintf(text, sizeof(text), "The %s scanner is disabled by "
		    "%s (`scanners.%s.enabled: false`).",
		    api_check_name(ch->scanner), repo != NULL &&
		    prs_repoconfig_enabled(srv, NULL, ch->scanner) ?
		    "`" PLAN_CONFIG_PATH "`" : "the server's PRSCAN_CONFIG",
		    ch->scanner);
		plan_conclude(ch, "skipped", "Skipped: disabled", text);
	} else if (strcmp(mode, "paths") == 0 && in->files != NULL &&
	    !prs_repoconfig_wants(srv, repo, ch->scanner, names, nnames, why,
	    sizeof(why))) {
		snprintf(text, sizeof(text), "No file this pull request "
		    "changes is one %s scans: %s. The label `prscan:full` or "
		    "Re-run scans it regardless.", api_check_name(ch->scanner),
		    why);
		plan_conclude(ch, "skipped", "Skipped: no matching files",
		    text);
	}
}

/* -- the transaction ----------------------------------------------- */

static void
plan_append_conclude(redisContext *c, const struct prs_job *job,
    const struct plan_choice *ch, const char *at)
{
	redisAppendCommand(c, "XADD %s * kind conclude job %s scanner %s inst "
	    "%lld at %s conclusion %s title %s summary %s", API_WRITES_STREAM,
	    job->id, ch->scanner, job->installation, at, ch->conclusion,
	    ch->title, ch->summary);
}

/* The plan record: what the completion of this job's runs uses. */
static char *
plan_record(const struct api *api, const struct prs_repoconfig *repo)
{
	const struct prs_repoconfig *srv = api->cfg.repo_defaults;
	json_t *j = json_pack("{s:s,s:s}", "fail_on",
	    prs_severity_name(prs_repoconfig_fail_on(srv, repo,
	    api->cfg.fail_on)), "annotate",
	    prs_repoconfig_annotate_changed(srv, repo,
	    api->cfg.annotate_changed) ? "changed" : "all");
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

static int
plan_reply_ok(redisContext *c, redisReply **r)
{
	freeReplyObject(*r);
	*r = NULL;
	return redisGetReply(c, (void **)r) == REDIS_OK && *r != NULL &&
	    (*r)->type != REDIS_REPLY_ERROR;
}

/* Queues the transaction's commands; their count. */
static size_t
plan_append(redisContext *c, const struct api *api, const struct prs_job *job,
    const char *rec, const char *plan, const struct plan_choice *chs,
    size_t n)
{
	char now[32];
	size_t i, count = 1;

	api_iso_now(now);
	redisAppendCommand(c, "SET plan:%s %s EX %ld", job->id, plan,
	    api->cfg.storage_ttl);
	for (i = 0; i < n; i++) {
		if (chs[i].conclusion != NULL) {
			plan_append_conclude(c, job, &chs[i], now);
			count++;
			continue;
		}
		count += 2;
		redisAppendCommand(c, "XADD worker-%s MAXLEN ~ %ld * job_id %s "
		    "job %s", chs[i].scanner, api->cfg.stream_maxlen, job->id,
		    rec);
		api_writes_append(c, "create", job->id, chs[i].scanner,
		    job->installation, now);
	}
	return count;
}

/* Runs the transaction unless plan:{job} exists.  1, 0 (done), -1. */
static int
plan_commit(redisContext *c, const struct api *api, const struct prs_job *job,
    const char *rec, const struct plan_choice *chs, size_t n,
    const struct prs_repoconfig *repo)
{
	redisReply *r = NULL;
	char *plan = plan_record(api, repo);
	size_t i, count;
	int rc = -1;

	if (plan == NULL)
		return prs_error_set("out of memory");
	redisAppendCommand(c, "WATCH plan:%s", job->id);
	redisAppendCommand(c, "EXISTS plan:%s", job->id);
	if (!plan_reply_ok(c, &r) || !plan_reply_ok(c, &r))
		goto out;
	if (r->integer != 0) {
		freeReplyObject(redisCommand(c, "UNWATCH"));
		rc = 0;
		goto out;
	}
	redisAppendCommand(c, "MULTI");
	count = plan_append(c, api, job, rec, plan, chs, n);
	redisAppendCommand(c, "EXEC");
	for (i = 0; i < count + 2; i++)
		if (!plan_reply_ok(c, &r))
			goto out;
	rc = r->type == REDIS_REPLY_ARRAY ? 1 : 0;
out:
	if (rc < 0)
		prs_error_set("redis: %s", c->err != 0 ? c->errstr :
		    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
	freeReplyObject(r);
	free(plan);
	return rc;
}

/* The scanners a plan entry names: "*" is all of SCANNERS. */
static size_t
plan_scanners(const struct api *api, const char *only,
    struct plan_choice *chs)
{
	size_t i, n = 0;

	for (i = 0; i < api->cfg.nscanners; i++)
		if (strcmp(only, "*") == 0 ||
		    strcmp(only, api->cfg.scanners[i]) == 0)
			chs[n++].scanner = api->cfg.scanners[i];
	return n;
}

static void
plan_log(const struct prs_job *job, const char *mode,
    const struct plan_choice *chs, size_t n)
{
	char run[200] = "", skip[200] = "";
	size_t i;

	for (i = 0; i < n; i++) {
		char *to = chs[i].conclusion == NULL ? run : skip;

		if (strlen(to) + strlen(chs[i].scanner) + 2 < sizeof(run))
			snprintf(to + strlen(to), sizeof(run) - strlen(to),
			    "%s%s", to[0] != '\0' ? "," : "", chs[i].scanner);
	}
	prs_info("scan planned", "job=%s repo=%s/%s sha=%s pr=%ld mode=%s "
	    "run=%s skip=%s", job->id, job->owner, job->repo, job->head_sha,
	    job->pr_number, mode, run[0] != '\0' ? run : "-",
	    skip[0] != '\0' ? skip : "-");
}

int
api_plan_commit(const struct api *api, redisContext *c,
    const struct prs_job *job, const char *mode, const char *only,
    struct api_plan_input *in)
{
	struct plan_choice chs[API_MAX_SCANNERS];
	struct prs_repoconfig *repo = NULL;
	redisReply *rec = redisCommand(c, "GET storage:%s", job->id);
	const char **names = NULL;
	size_t i, n, nnames = 0;
	int rc = -1;

	if (rec == NULL || rec->type == REDIS_REPLY_ERROR)
		goto out;
	rc = 0;
	if (rec->type != REDIS_REPLY_STRING)
		goto out;
	if (in->yaml != NULL && in->config_error[0] == '\0' &&
	    prs_repoconfig_parse(in->yaml, in->len,
	    (const char *const *)api->cfg.scanners, api->cfg.nscanners,
	    &repo) != 0)
		snprintf(in->config_error, sizeof(in->config_error), "%s",
		    prs_error_last());
	names = plan_names(in->files, &nnames);
	n = plan_scanners(api, only, chs);
	for (i = 0; i < n; i++)
		plan_choose(api, in, repo, mode, names, nnames, &chs[i]);
	rc = names == NULL ? prs_error_set("out of memory") :
	    plan_commit(c, api, job, rec->str, chs, n, repo);
	for (i = 0; rc == 1 && i < n; i++)
		if (chs[i].conclusion == NULL)
			api_observe_published(chs[i].scanner);
	if (rc == 1)
		plan_log(job, mode, chs, n);
out:
	freeReplyObject(rec);
	free(names);
	prs_repoconfig_free(repo);
	return rc < 0 ? -1 : 0;
}

void
api_plan_input_dispose(struct api_plan_input *in)
{
	free(in->yaml);
	json_decref(in->files);
	memset(in, 0, sizeof(*in));
}

int
api_plan_job_style(redisContext *c, const char *job,
    enum prs_severity *fail_on, int *annotate_changed)
{
	redisReply *r = redisCommand(c, "GET plan:%s", job);
	json_t *j = NULL;
	const char *a;
	int rc = r != NULL && r->type != REDIS_REPLY_ERROR ? 0 : -1;

	if (rc == 0 && r->type == REDIS_REPLY_STRING)
		j = json_loadb(r->str, r->len, 0, NULL);
	if (j != NULL) {
		prs_severity_parse(json_string_value(json_object_get(j,
		    "fail_on")), fail_on);
		a = json_string_value(json_object_get(j, "annotate"));
		if (a != NULL)
			*annotate_changed = strcmp(a, "changed") == 0;
	}
	json_decref(j);
	freeReplyObject(r);
	return rc;
}
