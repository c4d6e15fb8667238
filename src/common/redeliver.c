/*
 * The redelivery sweep.  Deliveries come newest first; they are grouped
 * in a JSON array of GUIDs (first seen first) with an object mapping each
 * GUID to its index:
 *   {"guid", "event", "action", "id", "at", "code", "attempts", "ok"}
 */
#include "prscan/redeliver.h"

#include <stdio.h>
#include <string.h>

#include "prscan/error.h"

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

/* Reads every page back to since. */
static int
rd_list(struct prs_github_app *app, struct rd_sweep *sw)
{
	char *url = strdup(RD_FIRST_PAGE), *next = NULL;
	json_t *page = NULL;
	int pages = 0, older = 0, rc = 0;
	size_t i;

	while (url != NULL && !older && pages++ < RD_MAX_PAGES) {
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

static enum prs_redeliver_action
rd_request(struct prs_github_app *app, long long id, int dry_run)
{
	char path[96];

	if (dry_run)
		return PRS_REDELIVER_WOULD;
	snprintf(path, sizeof(path), "/app/hook/deliveries/%lld/attempts",
	    id);
	return prs_github_app_request(app, 0, "POST", path, NULL, NULL,
	    NULL) == 0 ? PRS_REDELIVER_REQUESTED : PRS_REDELIVER_REFUSED;
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
	}
}

/* Decides and acts on one GUID.  0 or -1 (Redis). */
static int
rd_one(struct prs_github_app *app, redisContext *redis, json_t *rec,
    int dry_run, struct prs_redeliver_item *it)
{
	int recorded;

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
	it->what = recorded ? PRS_REDELIVER_RECORDED :
	    rd_request(app, it->id, dry_run);
	return 0;
}

int
prs_redeliver_sweep(struct prs_github_app *app, redisContext *redis,
    time_t since, int dry_run, prs_redeliver_fn fn, void *arg,
    struct prs_redeliver_report *rep)
{
	struct rd_sweep sw = { json_array(), json_object(), since, 0 };
	struct prs_redeliver_report local;
	struct prs_redeliver_item it;
	size_t i;
	int rc = -1;

	memset(&local, 0, sizeof(local));
	if (sw.order == NULL || sw.index == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	rc = rd_list(app, &sw);
	if (rc < 0)
		goto out;
	local.attempts = sw.attempts;
	for (i = 0; i < json_array_size(sw.order); i++) {
		memset(&it, 0, sizeof(it));
		rc = rd_one(app, redis, json_array_get(sw.order, i), dry_run,
		    &it);
		if (rc < 0)
			goto out;
		rd_count(&local, it.what);
		if (fn != NULL)
			fn(&it, arg);
	}
out:
	if (rep != NULL)
		*rep = local;
	json_decref(sw.order);
	json_decref(sw.index);
	return rc;
}
