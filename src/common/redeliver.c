/*
 * The redelivery sweep.  Deliveries come newest first; they are grouped
 * in a JSON array of GUIDs (first seen first) with an object mapping each
 * GUID to its index:
 *   {"guid", "event", "action", "id", "at", "code", "attempts", "ok"}
 * With a claim_ttl, redeliver:asked:{guid} marks a GUID asked for.
 */
#include "prscan/redeliver.h"

#include <stdio.h>
#include <string.h>

#include "prscan/error.h"
#include "prscan/redis.h"

#define RD_FIRST_PAGE "/app/hook/deliveries?per_page=100"
#define RD_MAX_PAGES 1000

struct rd_sweep {
	json_t *order;		/* array of GUID records */
	json_t *index;		/* GUID -> position in order */
	time_t since;
	long attempts;
};

int
prs_redeliver_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	char z = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &z) != 7 || z != 'Z') {
		prs_error_set("not a UTC time: %.40s", s != NULL ? s :
		    "(none)");
		return PRS_EINPUT;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

static const char *
rd_str(json_t *d, const char *key)
{
	const char *s = json_string_value(json_object_get(d, key));

	return s != NULL ? s : "";
}

static int
rd_succeeded(json_t *d)
{
	const char *status = json_string_value(json_object_get(d, "status"));
	json_int_t code = json_integer_value(json_object_get(d,
	    "status_code"));

	return (status != NULL && strcmp(status, "OK") == 0) ||
	    (code >= 200 && code < 300);
}

/* Adds one listed attempt to its GUID's record; 1 when older than since. */
static int
rd_add(struct rd_sweep *sw, json_t *d)
{
	const char *guid = json_string_value(json_object_get(d, "guid"));
	json_t *id = json_object_get(d, "id"), *pos, *rec;
	time_t at;

	if (guid == NULL || !json_is_integer(id) || prs_redeliver_parse_time(
	    json_string_value(json_object_get(d, "delivered_at")), &at) < 0)
		return 0;
	if (at < sw->since)
		return 1;
	sw->attempts++;
	pos = json_object_get(sw->index, guid);
	if (pos != NULL) {
		rec = json_array_get(sw->order,
		    (size_t)json_integer_value(pos));
		json_object_set_new(rec, "attempts", json_integer(
		    json_integer_value(json_object_get(rec, "attempts")) + 1));
		if (rd_succeeded(d))
			json_object_set_new(rec, "ok", json_true());
		return 0;
	}
	rec = json_pack("{s:s,s:s,s:s,s:O,s:I,s:I,s:i,s:b}", "guid", guid,
	    "event", rd_str(d, "event"), "action", rd_str(d, "action"),
	    "id", id, "at", (json_int_t)at, "code",
	    json_integer_value(json_object_get(d, "status_code")),
	    "attempts", 1, "ok", rd_succeeded(d));
	if (rec == NULL)
		return 0;
	json_object_set_new(sw->index, guid,
	    json_integer((json_int_t)json_array_size(sw->order)));
	json_array_append_new(sw->order, rec);
	return 0;
}

static int
rd_stopped(const _Atomic int *stop)
{
	if (stop == NULL || *stop == 0)
		return 0;
	prs_error_set("stopped");
	return 1;
}

/* Reads every page back to since. */
static int
rd_list(struct prs_github_app *app, struct rd_sweep *sw,
    const _Atomic int *stop)
{
	char *url = strdup(RD_FIRST_PAGE), *next = NULL;
	json_t *page = NULL;
	int pages = 0, older = 0, rc = 0;
	size_t i;

	while (url != NULL && !older && pages++ < RD_MAX_PAGES) {
		if (rd_stopped(stop)) {
			rc = -1;
			break;
		}
		rc = prs_github_app_request(app, 0, "GET", url, NULL, &page,
		    &next);
		free(url);
		url = next;
		next = NULL;
		if (rc < 0)
			break;
		if (!json_is_array(page)) {
			rc = prs_error_set("deliveries: not a list");
			break;
		}
		for (i = 0; i < json_array_size(page); i++)
			older |= rd_add(sw, json_array_get(page, i));
		json_decref(page);
		page = NULL;
	}
	json_decref(page);
	free(url);
	return rc;
}

/* 1 when delivery:{guid} exists, 0 when not, -1 when Redis failed. */
static int
rd_recorded(redisContext *redis, const char *guid)
{
	redisReply *r = redisCommand(redis, "EXISTS delivery:%s", guid);
	int rc = -1;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		rc = r->integer > 0;
	else
		prs_error_set("redis: %s", r != NULL && r->type ==
		    REDIS_REPLY_ERROR ? r->str : redis->errstr);
	freeReplyObject(r);
	return rc;
}

/*
 * Marks guid as asked for: 1 when this sweep took the mark, 0 when it was
 * there, -1 when Redis failed.
 */
static int
rd_claim(redisContext *redis, const char *guid, long ttl)
{
	char key[160];

	snprintf(key, sizeof(key), "redeliver:asked:%s", guid);
	return prs_redis_set_nx(redis, key, "1", (long long)ttl * 1000);
}

static enum prs_redeliver_action
rd_request(struct prs_github_app *app, redisContext *redis,
    const struct prs_redeliver_item *it, const struct prs_redeliver_opts *o)
{
	char path[96];
	int rc;

	if (o->dry_run)
		return PRS_REDELIVER_WOULD;
	snprintf(path, sizeof(path), "/app/hook/deliveries/%lld/attempts",
	    it->id);
	rc = prs_github_app_request(app, 0, "POST", path, NULL, NULL, NULL);
	/* GitHub did not answer: the next sweep may ask again. */
	if (rc == PRS_ERETRY && o->claim_ttl > 0)
		freeReplyObject(redisCommand(redis, "DEL redeliver:asked:%s",
		    it->guid));
	return rc == 0 ? PRS_REDELIVER_REQUESTED : PRS_REDELIVER_REFUSED;
}

static void
rd_count(struct prs_redeliver_report *rep, enum prs_redeliver_action a)
{
	switch (a) {
	case PRS_REDELIVER_DELIVERED:
		rep->delivered++;
		break;
	case PRS_REDELIVER_RECORDED:
		rep->recorded++;
		break;
	case PRS_REDELIVER_REQUESTED:
	case PRS_REDELIVER_WOULD:
		rep->requested++;
		break;
	case PRS_REDELIVER_REFUSED:
		rep->refused++;
		break;
	case PRS_REDELIVER_CLAIMED:
		rep->claimed++;
		break;
	}
}

/* Decides and acts on one GUID.  0 or -1 (Redis, or stopped). */
static int
rd_one(struct prs_github_app *app, redisContext *redis, json_t *rec,
    const struct prs_redeliver_opts *o, struct prs_redeliver_item *it)
{
	int recorded, claimed = 1;

	it->guid = json_string_value(json_object_get(rec, "guid"));
	it->event = json_string_value(json_object_get(rec, "event"));
	it->action = json_string_value(json_object_get(rec, "action"));
	it->id = json_integer_value(json_object_get(rec, "id"));
	it->delivered_at = (time_t)json_integer_value(json_object_get(rec,
	    "at"));
	it->status_code = (long)json_integer_value(json_object_get(rec,
	    "code"));
	it->attempts = (long)json_integer_value(json_object_get(rec,
	    "attempts"));
	if (json_is_true(json_object_get(rec, "ok"))) {
		it->what = PRS_REDELIVER_DELIVERED;
		return 0;
	}
	recorded = rd_recorded(redis, it->guid);
	if (recorded < 0)
		return -1;
	if (recorded) {
		it->what = PRS_REDELIVER_RECORDED;
		return 0;
	}
	if (o->claim_ttl > 0 && !o->dry_run)
		claimed = rd_claim(redis, it->guid, o->claim_ttl);
	if (claimed < 0 || rd_stopped(o->stop))
		return -1;
	it->what = claimed ? rd_request(app, redis, it, o) :
	    PRS_REDELIVER_CLAIMED;
	return 0;
}

int
prs_redeliver_sweep_opts(struct prs_github_app *app, redisContext *redis,
    const struct prs_redeliver_opts *o, struct prs_redeliver_report *rep)
{
	struct rd_sweep sw = { json_array(), json_object(), o->since, 0 };
	struct prs_redeliver_report local;
	struct prs_redeliver_item it;
	size_t i;
	int rc = -1;

	memset(&local, 0, sizeof(local));
	if (sw.order == NULL || sw.index == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	rc = rd_list(app, &sw, o->stop);
	if (rc < 0)
		goto out;
	local.attempts = sw.attempts;
	for (i = 0; i < json_array_size(sw.order); i++) {
		memset(&it, 0, sizeof(it));
		rc = rd_one(app, redis, json_array_get(sw.order, i), o, &it);
		if (rc < 0)
			goto out;
		rd_count(&local, it.what);
		if (o->fn != NULL)
			o->fn(&it, o->arg);
	}
out:
	if (rep != NULL)
		*rep = local;
	json_decref(sw.order);
	json_decref(sw.index);
	return rc;
}

int
prs_redeliver_sweep(struct prs_github_app *app, redisContext *redis,
    time_t since, int dry_run, prs_redeliver_fn fn, void *arg,
    struct prs_redeliver_report *rep)
{
	struct prs_redeliver_opts o;

	memset(&o, 0, sizeof(o));
	o.since = since;
	o.dry_run = dry_run;
	o.fn = fn;
	o.arg = arg;
	return prs_redeliver_sweep_opts(app, redis, &o, rep);
}
