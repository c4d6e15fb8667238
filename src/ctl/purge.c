/*
 * prscanctl purge OWNER/REPO | --user LOGIN: removes every record of a
 * repository or a person from Redis, in two walks over all keys (SCAN):
 *
 * 1. strings holding a JSON object that names the target (job records
 *    storage:{id}, anything else shaped like them) and keys whose name
 *    holds "owner/repo" (prhead:owner/repo#N); the job ids found are kept;
 * 2. keys whose name holds one of those job ids (checkrun:{id}:{scanner},
 *    its lock, results), strings whose value is one (delivery:{guid},
 *    scanned:owner/repo@sha), and
 *    stream entries (worker-*, their :dead streams, github-writes, any
 *    stream) whose fields or job name the target or one of the job ids:
 *    acknowledged in every group, then deleted.
 *
 * A person is named by the job's sender (the login whose webhook caused
 * it; sender_login in records of other tools) or as the owner of the
 * repository.
 *
 * With DATABASE_URL (or DATABASE_URL_FILE) set, the matching rows of the
 * audit trail (scan_audit) are removed too; the database is connected to
 * first, so that an unreachable one stops purge before Redis is touched.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/pg.h"

struct purge {
	struct ctl *ctl;
	char owner[64];		/* repository mode: owner and repo */
	char repo[128];
	const char *user;	/* user mode: the login */
	json_t *jobs;		/* job id -> true */
	json_t *keys;		/* category -> count */
	json_t *entries;	/* stream -> count */
	json_t *gone;		/* key -> true: removed (or would be) */
	struct prs_pg *pg;	/* the audit trail, or NULL */
	long long audit_rows;	/* removed (or would be) */
};

static int
pg_eq(const json_t *j, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s != NULL && strcasecmp(s, want) == 0;
}

/* 1 when the JSON object names the target. */
static int
pg_names(const struct purge *p, const json_t *j)
{
	if (!json_is_object(j))
		return 0;
	if (p->user != NULL)
		return pg_eq(j, "owner", p->user) ||
		    pg_eq(j, "sender", p->user) ||
		    pg_eq(j, "sender_login", p->user);
	return pg_eq(j, "owner", p->owner) && pg_eq(j, "repo", p->repo);
}

static int
pg_name_char(char c, int repo)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' ||
	    (repo && (c == '.' || c == '_'));
}

/*
 * 1 when key[at..at+n) stands alone: no owner-name character before it,
 * no repository-name character after it ("prhead:o/r#1", "scanned:o/r@",
 * but not "o/r2" or "xo/r").
 */
static int
pg_bounded(const char *key, const char *at, size_t n)
{
	return (at == key || !pg_name_char(at[-1], 0)) &&
	    !pg_name_char(at[n], 1);
}

/* 1 when a key's name holds "owner/repo" (or "login/" for a person). */
static int
pg_key_names(const struct purge *p, const char *key)
{
	char want[200];
	const char *at;
	size_t n;

	if (p->user != NULL)
		snprintf(want, sizeof(want), "%s/", p->user);
	else
		snprintf(want, sizeof(want), "%s/%s", p->owner, p->repo);
	n = strlen(want);
	for (at = key; *at != '\0'; at++)
		if (strncasecmp(at, want, n) == 0 &&
		    (p->user != NULL ? at == key || !pg_name_char(at[-1], 0) :
		    pg_bounded(key, at, n)))
			return 1;
	return 0;
}

static void
pg_count(json_t *counts, const char *what)
{
	json_object_set_new(counts, what, json_integer(json_integer_value(
	    json_object_get(counts, what)) + 1));
}

/* The category a removed key is counted under: its prefix. */
static void
pg_count_key(struct purge *p, const char *key)
{
	char cat[48];
	const char *colon = strchr(key, ':');

	snprintf(cat, sizeof(cat), "%.*s", colon != NULL ?
	    (int)(colon - key) : (int)strlen(key), key);
	pg_count(p->keys, cat);
}

static int
pg_del(struct purge *p, const char *key)
{
	redisReply *r;

	pg_count_key(p, key);
	json_object_set_new(p->gone, key, json_true());
	if (p->ctl->dry_run)
		return 0;
	r = ctl_cmd(p->ctl, "DEL %s", key);
	freeReplyObject(r);
	return r != NULL ? 0 : -1;
}

static char *
pg_get(struct purge *p, const char *key)
{
	redisReply *r = ctl_cmd(p->ctl, "GET %s", key);
	char *s = NULL;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		s = strndup(r->str, r->len);
	freeReplyObject(r);
	return s;
}

static char *
pg_type(struct purge *p, const char *key)
{
	redisReply *r = ctl_cmd(p->ctl, "TYPE %s", key);
	char *s = r != NULL && r->type == REDIS_REPLY_STATUS ?
	    strdup(r->str) : NULL;

	freeReplyObject(r);
	return s;
}

/* Walk 1 for one key. */
static int
pg_first(struct purge *p, const char *key, const char *type)
{
	json_t *j;
	char *text;
	const char *id;
	int hit = pg_key_names(p, key);

	if (!hit && strcmp(type, "string") == 0) {
		text = pg_get(p, key);
		j = text != NULL ? json_loads(text, 0, NULL) : NULL;
		hit = pg_names(p, j);
		id = json_string_value(json_object_get(j, "job_id"));
		if (hit && id != NULL)
			json_object_set_new(p->jobs, id, json_true());
		json_decref(j);
		free(text);
	}
	return hit ? pg_del(p, key) : 0;
}

/* 1 when a key's name holds a purged job id. */
static int
pg_key_has_job(const struct purge *p, const char *key)
{
	const char *id;
	json_t *v;

	json_object_foreach(p->jobs, id, v)
		if (strstr(key, id) != NULL)
			return 1;
	return 0;
}

static int
pg_job_known(const struct purge *p, const char *id)
{
	return id != NULL && json_object_get(p->jobs, id) != NULL;
}

/* 1 when a stream entry names the target or a purged job. */
static int
pg_entry_hit(const struct purge *p, const redisReply *f)
{
	json_t *flat = json_object(), *j;
	size_t i;
	int hit = 0;

	for (i = 0; !hit && i + 1 < f->elements; i += 2) {
		const char *k = f->element[i]->str, *v = f->element[i + 1]->str;

		if (f->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		json_object_set_new(flat, k, json_string(v));
		if ((strcmp(k, "job") == 0 || strcmp(k, "job_id") == 0) &&
		    pg_job_known(p, v))
			hit = 1;
		j = v[0] == '{' ? json_loads(v, 0, NULL) : NULL;
		if (pg_names(p, j) || pg_job_known(p, json_string_value(
		    json_object_get(j, "job_id"))))
			hit = 1;
		json_decref(j);
	}
	hit = hit || pg_names(p, flat);
	json_decref(flat);
	return hit;
}

/* Acknowledges id in every group of stream, then deletes it. */
static int
pg_xdel(struct purge *p, const char *stream, const char *id)
{
	redisReply *g = ctl_cmd(p->ctl, "XINFO GROUPS %s", stream), *r;
	const redisReply *name;
	size_t i;

	for (i = 0; g != NULL && i < g->elements; i++) {
		name = ctl_field(g->element[i], "name");
		if (name == NULL || name->type != REDIS_REPLY_STRING)
			continue;
		freeReplyObject(ctl_cmd(p->ctl, "XACK %s %s %s", stream,
		    name->str, id));
	}
	freeReplyObject(g);
	r = ctl_cmd(p->ctl, "XDEL %s %s", stream, id);
	freeReplyObject(r);
	return r != NULL ? 0 : -1;
}

static int
pg_entry(struct ctl *ctl, const char *stream, const char *id,
    const redisReply *fields, void *arg)
{
	struct purge *p = arg;

	(void)ctl;
	if (!pg_entry_hit(p, fields))
		return 0;
	pg_count(p->entries, stream);
	return p->ctl->dry_run ? 0 : pg_xdel(p, stream, id);
}

/* Walk 2 for one key. */
static int
pg_second(struct purge *p, const char *key, const char *type)
{
	char *text;
	int hit;

	if (strcmp(type, "stream") == 0)
		return ctl_stream_each(p->ctl, key, pg_entry, p);
	if (json_object_get(p->gone, key) != NULL)
		return 0;
	hit = pg_key_has_job(p, key);
	/* delivery:{guid} and the like point at a job by its id. */
	if (!hit && strcmp(type, "string") == 0) {
		text = pg_get(p, key);
		hit = pg_job_known(p, text);
		free(text);
	}
	return hit ? pg_del(p, key) : 0;
}

/* One walk over every key; NULL types are keys gone meanwhile. */
static int
pg_walk(struct purge *p, int (*fn)(struct purge *, const char *,
    const char *))
{
	json_t *keys = ctl_scan_keys(p->ctl, "*", NULL), *k;
	char *type;
	size_t i;
	int rc = 0;

	if (keys == NULL)
		return -1;
	json_array_foreach(keys, i, k) {
		type = pg_type(p, json_string_value(k));
		if (type != NULL && strcmp(type, "none") != 0)
			rc = fn(p, json_string_value(k), type);
		free(type);
		if (rc < 0)
			break;
	}
	json_decref(keys);
	return rc;
}

/* Connects to the audit trail when DATABASE_URL is set; 0 or -1. */
static int
pg_audit_open(struct purge *p)
{
	char *url = NULL, where[256];
	int rc;

	if (prs_pg_config_load(&url) < 0)
		return -1;
	if (url == NULL)
		return 0;
	rc = prs_pg_connect(url, "prscanctl", &p->pg);
	if (rc < 0) {
		prs_pg_where(url, where, sizeof(where));
		prs_error_set("audit database %s: %s", where,
		    prs_error_last());
	}
	prs_secret_free(url);
	return rc;
}

static int
pg_audit_purge(struct purge *p)
{
	if (p->pg == NULL)
		return 0;
	if (p->user != NULL)
		return prs_pg_audit_purge_user(p->pg, p->user,
		    p->ctl->dry_run, &p->audit_rows);
	return prs_pg_audit_purge_repo(p->pg, p->owner, p->repo,
	    p->ctl->dry_run, &p->audit_rows);
}

static void
pg_report(struct purge *p)
{
	const char *k;
	json_t *v, *o;

	if (p->ctl->json) {
		o = json_pack("{s:s,s:b,s:O,s:O,s:I}", "target",
		    p->user != NULL ? p->user : "", "dry_run",
		    p->ctl->dry_run, "keys", p->keys, "stream_entries",
		    p->entries, "jobs", (json_int_t)json_object_size(
		    p->jobs));
		if (o != NULL && p->pg != NULL)
			json_object_set_new(o, "audit_rows",
			    json_integer(p->audit_rows));
		ctl_print_new(o);
		return;
	}
	printf("%s %zu jobs\n", p->ctl->dry_run ? "would remove" :
	    "removed", json_object_size(p->jobs));
	json_object_foreach(p->keys, k, v)
		printf("  keys %-24s %lld\n", k, json_integer_value(v));
	json_object_foreach(p->entries, k, v)
		printf("  entries of %-18s %lld\n", k, json_integer_value(v));
	if (p->pg != NULL)
		printf("  audit rows %-24s %lld\n", "", p->audit_rows);
}

static int
pg_target(struct ctl *ctl, struct purge *p)
{
	if (ctl->user != NULL && ctl->nargs == 0) {
		p->user = ctl->user;
		return 0;
	}
	if (ctl->user == NULL && ctl->nargs == 1)
		return ctl_split_repo(ctl->args[0], p->owner,
		    sizeof(p->owner), p->repo, sizeof(p->repo));
	fprintf(stderr, "prscanctl: purge OWNER/REPO | purge --user LOGIN "
	    "[--dry-run]\n");
	return -1;
}

int
ctl_purge(struct ctl *ctl)
{
	struct purge p;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	p.ctl = ctl;
	if (pg_target(ctl, &p) < 0)
		return CTL_USAGE;
	p.jobs = json_object();
	p.keys = json_object();
	p.entries = json_object();
	p.gone = json_object();
	if (p.jobs == NULL || p.keys == NULL || p.entries == NULL ||
	    p.gone == NULL)
		goto out;
	if (pg_audit_open(&p) < 0 || pg_walk(&p, pg_first) < 0 ||
	    pg_walk(&p, pg_second) < 0 || pg_audit_purge(&p) < 0)
		goto out;
	pg_report(&p);
	rc = 0;
out:
	json_decref(p.jobs);
	json_decref(p.keys);
	json_decref(p.entries);
	json_decref(p.gone);
	prs_pg_free(p.pg);
	return rc < 0 ? ctl_fail("purge") : 0;
}
