/*
 * prscanctl dead list|show|replay|drop: the dead letters a worker leaves
 * in <stream>:dead (fields reason, entry_id, deliveries, job).
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/job.h"

#define DEAD_SUFFIX ":dead"
#define DEAD_STORAGE_TTL_DEFAULT 2592000

/* One dead letter found by id. */
struct dead_hit {
	const char *want;	/* a dead entry id or a job id */
	char stream[256];	/* the dead stream it is in */
	char id[64];
	json_t *row;		/* see dead_row() */
};

static const char *
dead_str(const redisReply *fields, const char *name)
{
	const redisReply *v = ctl_field(fields, name);

	return v != NULL && v->type == REDIS_REPLY_STRING ? v->str : "";
}

static const char *
dead_s(const json_t *r, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(r, key));

	return s != NULL ? s : def;
}

/*
 * A dead letter as JSON: {stream, id, entry_id, deliveries, reason,
 * job_id, owner, repo, pr_number, head_sha, job (parsed or the raw
 * text)}.
 */
static json_t *
dead_row(const char *stream, const char *id, const redisReply *fields)
{
	const char *raw = dead_str(fields, "job");
	json_t *job = json_loads(raw, 0, NULL);
	json_t *row;

	row = json_pack("{s:s,s:s,s:s,s:I,s:s}", "stream", stream, "id", id,
	    "entry_id", dead_str(fields, "entry_id"), "deliveries",
	    (json_int_t)strtoll(dead_str(fields, "deliveries"), NULL, 10),
	    "reason", dead_str(fields, "reason"));
	if (row == NULL)
		return NULL;
	if (json_is_object(job)) {
		static const char *const keys[] = { "job_id", "owner", "repo",
			"pr_number", "head_sha" };
		size_t i;

		for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
			json_object_set(row, keys[i],
			    json_object_get(job, keys[i]));
		json_object_set_new(row, "job", job);
	} else {
		json_decref(job);
		json_object_set_new(row, "job", json_string(raw));
	}
	return row;
}

/* The dead streams to look at: --stream's, or every worker-*:dead. */
static json_t *
dead_streams(struct ctl *ctl)
{
	char name[256];
	size_t n;

	if (ctl->stream == NULL)
		return ctl_scan_keys(ctl, "worker-*" DEAD_SUFFIX, "stream");
	n = strlen(ctl->stream);
	if (n >= 5 && strcmp(ctl->stream + n - 5, DEAD_SUFFIX) == 0)
		snprintf(name, sizeof(name), "%s", ctl->stream);
	else
		snprintf(name, sizeof(name), "%s" DEAD_SUFFIX, ctl->stream);
	return json_pack("[s]", name);
}

static int
dead_collect(struct ctl *ctl, const char *stream, const char *id,
    const redisReply *fields, void *arg)
{
	(void)ctl;
	return json_array_append_new(arg, dead_row(stream, id, fields));
}

static int
dead_find_cb(struct ctl *ctl, const char *stream, const char *id,
    const redisReply *fields, void *arg)
{
	struct dead_hit *h = arg;
	json_t *row;

	(void)ctl;
	if (strcmp(id, h->want) != 0 &&
	    strcmp(dead_str(fields, "entry_id"), h->want) != 0) {
		row = dead_row(stream, id, fields);
		if (strcmp(dead_s(row, "job_id", ""), h->want) != 0) {
			json_decref(row);
			return 0;
		}
		h->row = row;
	} else {
		h->row = dead_row(stream, id, fields);
	}
	snprintf(h->stream, sizeof(h->stream), "%s", stream);
	snprintf(h->id, sizeof(h->id), "%s", id);
	return 1;
}

/* Finds the letter whose id, entry_id or job id is h->want. */
static int
dead_find(struct ctl *ctl, struct dead_hit *h)
{
	json_t *streams = dead_streams(ctl), *s;
	size_t i;
	int rc = -1;

	if (streams == NULL)
		return -1;
	json_array_foreach(streams, i, s) {
		if (ctl_stream_each(ctl, json_string_value(s), dead_find_cb,
		    h) < 0)
			goto out;
		if (h->row != NULL)
			break;
	}
	rc = h->row != NULL ? 0 : PRS_ENOTFOUND;
	if (rc == PRS_ENOTFOUND)
		prs_error_set("no dead letter %s", h->want);
out:
	json_decref(streams);
	return rc;
}

static void
dead_print_row(const json_t *r)
{
	char repo[200];

	snprintf(repo, sizeof(repo), "%s/%s#%lld",
	    dead_s(r, "owner", "?"), dead_s(r, "repo", "?"),
	    json_integer_value(json_object_get(r, "pr_number")));
	printf("%-22s %-24s %-32s %-30s %3lld  %.60s\n",
	    json_string_value(json_object_get(r, "id")),
	    json_string_value(json_object_get(r, "stream")),
	    dead_s(r, "job_id", "-"), repo,
	    json_integer_value(json_object_get(r, "deliveries")),
	    json_string_value(json_object_get(r, "reason")));
}

static int
dead_list(struct ctl *ctl)
{
	json_t *streams = dead_streams(ctl), *rows = json_array(), *s;
	size_t i;
	int rc = 1;

	if (streams == NULL)
		goto out;
	json_array_foreach(streams, i, s)
		if (ctl_stream_each(ctl, json_string_value(s), dead_collect,
		    rows) < 0)
			goto out;
	if (ctl->json) {
		ctl_print_json(rows);
	} else if (json_array_size(rows) == 0) {
		printf("no dead letters\n");
	} else {
		printf("%-22s %-24s %-32s %-30s %3s  %s\n", "ID", "STREAM",
		    "JOB", "REPOSITORY", "DLV", "REASON");
		json_array_foreach(rows, i, s)
			dead_print_row(s);
	}
	rc = 0;
out:
	if (rc != 0)
		ctl_fail("dead list");
	json_decref(streams);
	json_decref(rows);
	return rc;
}

static void
dead_show(struct ctl *ctl, json_t *row)
{
	const char *k;
	json_t *v;

	if (ctl->json) {
		ctl_print_json(row);
		return;
	}
	json_object_foreach(row, k, v) {
		if (strcmp(k, "job") == 0)
			continue;
		if (json_is_string(v))
			printf("%-12s %s\n", k, json_string_value(v));
		else if (json_is_integer(v))
			printf("%-12s %lld\n", k, json_integer_value(v));
	}
	printf("job\n");
	ctl_print_json(json_object_get(row, "job"));
}

/* Queues the transaction of a replay; the number of replies to read. */
static void
dead_replay_send(redisContext *c, const struct dead_hit *h,
    const char *stream, const struct prs_job *job, const char *text,
    long ttl)
{
	const char *scanner = stream;

	if (strncmp(scanner, "worker-", 7) == 0)
		scanner += 7;
	redisAppendCommand(c, "MULTI");
	/* The job record may have expired while the letter waited. */
	redisAppendCommand(c, "SET storage:%s %s EX %ld", job->id, text, ttl);
	/* A fresh check run: the old one was completed as failed. */
	redisAppendCommand(c, "DEL checkrun:%s:%s", job->id, scanner);
	redisAppendCommand(c, "XADD %s * job_id %s job %s", stream, job->id,
	    text);
	redisAppendCommand(c, "XDEL %s %s", h->stream, h->id);
	redisAppendCommand(c, "EXEC");
}

/* Reads the six replies; the new entry id into out.  0 or -1. */
static int
dead_replay_read(redisContext *c, char *out, size_t n)
{
	redisReply *r = NULL;
	int i, rc = 0;

	for (i = 0; i < 6; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			prs_error_set("redis: %s", c->errstr);
			return -1;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			prs_error_set("redis: %s", r->str);
			rc = -1;
		}
		if (i == 5 && rc == 0 && (r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 4 || r->element[2]->type !=
		    REDIS_REPLY_STRING))
			rc = prs_error_set("replay transaction failed");
		else if (i == 5 && rc == 0)
			snprintf(out, n, "%s", r->element[2]->str);
		freeReplyObject(r);
		r = NULL;
	}
	return rc;
}

static int
dead_replay(struct ctl *ctl, const struct dead_hit *h)
{
	json_t *j = json_object_get(h->row, "job");
	struct prs_job *job = NULL;
	char stream[256], entry[64], *text = NULL;
	long ttl;
	int rc = -1;

	if (!json_is_object(j) || prs_job_from_json(j, &job) < 0) {
		prs_error_set("the letter's job is unreadable, it can only "
		    "be dropped");
		goto out;
	}
	if (prs_env_long("STORAGE_TTL", DEAD_STORAGE_TTL_DEFAULT, 60,
	    315360000L, &ttl) < 0)
		goto out;
	snprintf(stream, sizeof(stream), "%.*s",
	    (int)(strlen(h->stream) - strlen(DEAD_SUFFIX)), h->stream);
	text = json_dumps(j, JSON_COMPACT);
	if (text == NULL || ctl_redis(ctl) == NULL)
		goto out;
	dead_replay_send(ctl->redis, h, stream, job, text, ttl);
	if (dead_replay_read(ctl->redis, entry, sizeof(entry)) < 0)
		goto out;
	if (ctl->json)
		ctl_print_new(json_pack("{s:s,s:s,s:s,s:s}", "replayed",
		    h->id, "stream", stream, "entry", entry, "job_id",
		    job->id));
	else
		printf("replayed %s as %s %s (job %s, %s/%s#%ld)\n", h->id,
		    stream, entry, job->id, job->owner, job->repo,
		    job->pr_number);
	rc = 0;
out:
	free(text);
	prs_job_free(job);
	return rc;
}

static int
dead_drop(struct ctl *ctl, const struct dead_hit *h)
{
	redisReply *r = ctl_cmd(ctl, "XDEL %s %s", h->stream, h->id);

	if (r == NULL)
		return -1;
	freeReplyObject(r);
	printf("dropped %s from %s\n", h->id, h->stream);
	return 0;
}

int
ctl_dead(struct ctl *ctl)
{
	const char *verb = ctl->nargs > 0 ? ctl->args[0] : "";
	struct dead_hit h;
	int rc;

	if (strcmp(verb, "list") == 0 && ctl->nargs == 1)
		return dead_list(ctl);
	if (ctl->nargs != 2 || (strcmp(verb, "show") != 0 &&
	    strcmp(verb, "replay") != 0 && strcmp(verb, "drop") != 0)) {
		fprintf(stderr, "prscanctl: dead list | dead show|replay|drop "
		    "ID [--stream STREAM]\n");
		return CTL_USAGE;
	}
	memset(&h, 0, sizeof(h));
	h.want = ctl->args[1];
	rc = dead_find(ctl, &h);
	if (rc == 0 && strcmp(verb, "show") == 0)
		dead_show(ctl, h.row);
	else if (rc == 0 && strcmp(verb, "replay") == 0)
		rc = dead_replay(ctl, &h);
	else if (rc == 0)
		rc = dead_drop(ctl, &h);
	json_decref(h.row);
	return rc < 0 ? ctl_fail(verb) : 0;
}
