/*
 * prscanctl status: per worker-* stream its length, its groups' pending
 * entries per consumer with their idle time, its dead letters and the age
 * of its oldest pending entry.  Built as JSON first:
 *   {"time_ms", "streams": [{"stream", "length", "dead", "pending",
 *     "oldest_pending_age_ms", "groups": [{"group", "pending", "lag",
 *     "consumers": [{"consumer", "pending", "idle_ms",
 *       "entries": [{"id", "age_ms", "idle_ms", "deliveries"}]}]}]}]}
 * then printed as it is (--json) or as a table.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"

#define ST_PENDING_MAX "1000"

static json_int_t
st_int(const redisReply *r)
{
	if (r == NULL)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

static json_int_t
st_len(struct ctl *ctl, const char *key)
{
	redisReply *r = ctl_cmd(ctl, "XLEN %s", key);
	json_int_t n = r != NULL ? r->integer : -1;

	freeReplyObject(r);
	return n;
}

/* The group's consumers, each with an empty entries list. */
static json_t *
st_consumers(struct ctl *ctl, const char *stream, const char *group)
{
	redisReply *r = ctl_cmd(ctl, "XINFO CONSUMERS %s %s", stream, group);
	json_t *out = json_object();
	size_t i;

	for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    i < r->elements; i++) {
		const redisReply *c = r->element[i], *name;

		name = ctl_field(c, "name");
		if (name == NULL || name->type != REDIS_REPLY_STRING)
			continue;
		json_object_set_new(out, name->str, json_pack(
		    "{s:s,s:I,s:I,s:[]}", "consumer", name->str, "pending",
		    st_int(ctl_field(c, "pending")), "idle_ms",
		    st_int(ctl_field(c, "idle")), "entries"));
	}
	freeReplyObject(r);
	return out;
}

/* Adds the pending entries to their consumers; the oldest entry's ms. */
static long long
st_pending(struct ctl *ctl, const char *stream, const char *group,
    json_t *consumers, long long now)
{
	redisReply *r = ctl_cmd(ctl, "XPENDING %s %s - + " ST_PENDING_MAX,
	    stream, group);
	long long oldest = -1, ms;
	size_t i;

	for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    i < r->elements; i++) {
		const redisReply *e = r->element[i];
		json_t *c;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 4)
			continue;
		ms = ctl_entry_ms(e->element[0]->str);
		if (oldest < 0 || ms < oldest)
			oldest = ms;
		c = json_object_get(consumers, e->element[1]->str);
		if (c == NULL) {
			c = json_pack("{s:s,s:i,s:I,s:[]}", "consumer",
			    e->element[1]->str, "pending", 0, "idle_ms",
			    st_int(e->element[2]), "entries");
			json_object_set_new(consumers, e->element[1]->str, c);
		}
		json_array_append_new(json_object_get(c, "entries"), json_pack(
		    "{s:s,s:I,s:I,s:I}", "id", e->element[0]->str, "age_ms",
		    (json_int_t)(now - ms), "idle_ms", st_int(e->element[2]),
		    "deliveries", st_int(e->element[3])));
	}
	freeReplyObject(r);
	return oldest;
}

static json_t *
st_group(struct ctl *ctl, const char *stream, const redisReply *g,
    long long now, long long *oldest)
{
	const redisReply *name = ctl_field(g, "name"), *lag;
	json_t *consumers, *list = json_array(), *v;
	const char *k;
	long long o;

	if (name == NULL || name->type != REDIS_REPLY_STRING)
		return NULL;
	consumers = st_consumers(ctl, stream, name->str);
	o = st_pending(ctl, stream, name->str, consumers, now);
	if (o >= 0 && (*oldest < 0 || o < *oldest))
		*oldest = o;
	json_object_foreach(consumers, k, v)
		json_array_append(list, v);
	json_decref(consumers);
	lag = ctl_field(g, "lag");
	return json_pack("{s:s,s:I,s:o,s:o}", "group", name->str, "pending",
	    st_int(ctl_field(g, "pending")), "lag",
	    lag != NULL && lag->type == REDIS_REPLY_INTEGER ?
	    json_integer(lag->integer) : json_null(), "consumers", list);
}

static json_t *
st_stream(struct ctl *ctl, const char *stream, long long now)
{
	char dead[300];
	redisReply *r = ctl_cmd(ctl, "XINFO GROUPS %s", stream);
	json_t *groups = json_array(), *g;
	json_int_t pending = 0;
	long long oldest = -1;
	size_t i;

	for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    i < r->elements; i++) {
		g = st_group(ctl, stream, r->element[i], now, &oldest);
		if (g == NULL)
			continue;
		pending += json_integer_value(json_object_get(g, "pending"));
		json_array_append_new(groups, g);
	}
	freeReplyObject(r);
	snprintf(dead, sizeof(dead), "%s:dead", stream);
	return json_pack("{s:s,s:I,s:I,s:I,s:o,s:o}", "stream", stream,
	    "length", st_len(ctl, stream), "dead", st_len(ctl, dead),
	    "pending", pending, "oldest_pending_age_ms", oldest < 0 ?
	    json_null() : json_integer(now - oldest), "groups", groups);
}

static int
st_is_dead(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ":dead") == 0;
}

static void
st_print_stream(const json_t *s)
{
	json_t *g, *c, *e, *age = json_object_get(s, "oldest_pending_age_ms");
	size_t i, j, k;
	char d1[32], d2[32];

	printf("%-24s %8lld %8lld %6lld  %s\n",
	    json_string_value(json_object_get(s, "stream")),
	    json_integer_value(json_object_get(s, "length")),
	    json_integer_value(json_object_get(s, "pending")),
	    json_integer_value(json_object_get(s, "dead")), json_is_integer(
	    age) ? ctl_duration(json_integer_value(age), d1, sizeof(d1)) :
	    "-");
	json_array_foreach(json_object_get(s, "groups"), i, g) {
		printf("  group %s: pending %lld\n",
		    json_string_value(json_object_get(g, "group")),
		    json_integer_value(json_object_get(g, "pending")));
		json_array_foreach(json_object_get(g, "consumers"), j, c) {
			printf("    consumer %-24s pending %lld  idle %s\n",
			    json_string_value(json_object_get(c, "consumer")),
			    json_integer_value(json_object_get(c, "pending")),
			    ctl_duration(json_integer_value(json_object_get(c,
			    "idle_ms")), d1, sizeof(d1)));
			json_array_foreach(json_object_get(c, "entries"), k, e)
				printf("      %-22s age %-8s idle %-8s "
				    "deliveries %lld\n", json_string_value(
				    json_object_get(e, "id")), ctl_duration(
				    json_integer_value(json_object_get(e,
				    "age_ms")), d1, sizeof(d1)), ctl_duration(
				    json_integer_value(json_object_get(e,
				    "idle_ms")), d2, sizeof(d2)),
				    json_integer_value(json_object_get(e,
				    "deliveries")));
		}
	}
}

static void
st_print(const json_t *report)
{
	json_t *s, *streams = json_object_get(report, "streams");
	size_t i;

	if (json_array_size(streams) == 0) {
		printf("no worker-* streams in Redis\n");
		return;
	}
	printf("%-24s %8s %8s %6s  %s\n", "STREAM", "LENGTH", "PENDING",
	    "DEAD", "OLDEST PENDING");
	json_array_foreach(streams, i, s)
		st_print_stream(s);
}

int
ctl_status(struct ctl *ctl)
{
	json_t *names, *streams, *report, *n;
	long long now;
	size_t i;

	if (ctl->nargs != 0) {
		fprintf(stderr, "prscanctl: status takes no arguments\n");
		return CTL_USAGE;
	}
	names = ctl_scan_keys(ctl, "worker-*", "stream");
	now = names != NULL ? ctl_now_ms(ctl) : -1;
	if (names == NULL || now < 0) {
		json_decref(names);
		return ctl_fail("status");
	}
	streams = json_array();
	json_array_foreach(names, i, n)
		if (!st_is_dead(json_string_value(n)))
			json_array_append_new(streams, st_stream(ctl,
			    json_string_value(n), now));
	json_decref(names);
	report = json_pack("{s:I,s:o}", "time_ms", (json_int_t)now,
	    "streams", streams);
	if (ctl->json)
		ctl_print_json(report);
	else
		st_print(report);
	json_decref(report);
	return 0;
}
