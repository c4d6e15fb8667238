/* prscanctl's helpers: Redis commands, SCAN, durations, output. */
#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"

#define CTL_SCAN_COUNT "500"
#define CTL_RANGE_COUNT 500

/* Keeps an ok reply; records the error and frees otherwise. */
static redisReply *
ctl_checked(redisContext *c, redisReply *r)
{
	if (r != NULL && r->type != REDIS_REPLY_ERROR)
		return r;
	prs_error_set("%s", r != NULL ? r->str : c->errstr);
	freeReplyObject(r);
	return NULL;
}

redisReply *
ctl_cmd(struct ctl *ctl, const char *fmt, ...)
{
	redisContext *c = ctl_redis(ctl);
	redisReply *r;
	va_list ap;

	if (c == NULL)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	return ctl_checked(c, r);
}

redisReply *
ctl_cmdv(struct ctl *ctl, int argc, const char **argv)
{
	redisContext *c = ctl_redis(ctl);

	if (c == NULL)
		return NULL;
	return ctl_checked(c, redisCommandArgv(c, argc, argv, NULL));
}

static int
ctl_cmp_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	    json_string_value(*(json_t *const *)b));
}

/* Sorts an array of strings in place. */
static void
ctl_sort(json_t *arr)
{
	size_t n = json_array_size(arr), i;
	json_t **v = calloc(n + 1, sizeof(*v));

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), ctl_cmp_str);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

json_t *
ctl_scan_keys(struct ctl *ctl, const char *pattern, const char *type)
{
	json_t *out = json_array(), *seen = json_object();
	char cursor[32] = "0";
	const char *argv[8] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
		CTL_SCAN_COUNT, "TYPE", type };
	redisReply *r;
	size_t i;

	do {
		r = ctl_cmdv(ctl, type != NULL ? 8 : 6, argv);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2) {
			freeReplyObject(r);
			json_decref(out);
			json_decref(seen);
			return NULL;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		/* SCAN may return a key twice: keep the first. */
		for (i = 0; i < r->element[1]->elements; i++) {
			const char *k = r->element[1]->element[i]->str;

			if (json_object_get(seen, k) != NULL)
				continue;
			json_object_set_new(seen, k, json_true());
			json_array_append_new(out, json_string(k));
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	json_decref(seen);
	ctl_sort(out);
	return out;
}

int
ctl_stream_each(struct ctl *ctl, const char *stream,
    int (*fn)(struct ctl *ctl, const char *stream, const char *id,
    const redisReply *fields, void *arg), void *arg)
{
	char start[64] = "-";
	redisReply *r;
	size_t i, n;
	int rc = 0;

	do {
		r = ctl_cmd(ctl, "XRANGE %s %s + COUNT %d", stream, start,
		    CTL_RANGE_COUNT);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return -1;
		}
		n = r->elements;
		for (i = 0; i < n && rc == 0; i++) {
			const redisReply *e = r->element[i];

			rc = fn(ctl, stream, e->element[0]->str, e->element[1],
			    arg);
			/* The next page starts after this entry. */
			snprintf(start, sizeof(start), "(%s",
			    e->element[0]->str);
		}
		freeReplyObject(r);
	} while (rc == 0 && n == CTL_RANGE_COUNT);
	return rc < 0 ? -1 : 0;
}

long long
ctl_now_ms(struct ctl *ctl)
{
	redisReply *r = ctl_cmd(ctl, "TIME");
	long long ms = -1;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
		    strtoll(r->element[1]->str, NULL, 10) / 1000;
	freeReplyObject(r);
	return ms;
}

long long
ctl_entry_ms(const char *id)
{
	return strtoll(id, NULL, 10);
}

const char *
ctl_duration(long long ms, char *buf, size_t n)
{
	long long s = ms / 1000;

	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(buf, n, "%lldms", ms);
	else if (ms < 60000)
		snprintf(buf, n, "%lld.%llds", s, (ms % 1000) / 100);
	else if (s < 3600)
		snprintf(buf, n, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, n, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	return buf;
}

int
ctl_parse_duration(const char *s, long long *seconds)
{
	char *end = NULL;
	long long v, unit = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return prs_error_set("not a duration (e.g. 90s, 30m, 2h, 3d)");
	v = strtoll(s, &end, 10);
	if (*end == 'm')
		unit = 60;
	else if (*end == 'h')
		unit = 3600;
	else if (*end == 'd')
		unit = 86400;
	else if (*end != 's' && *end != '\0')
		return prs_error_set("not a duration (e.g. 90s, 30m, 2h, 3d)");
	if (*end != '\0' && end[1] != '\0')
		return prs_error_set("not a duration (e.g. 90s, 30m, 2h, 3d)");
	if (v <= 0 || v > 365LL * 86400 / unit)
		return prs_error_set("duration out of range (1s to 365d)");
	*seconds = v * unit;
	return 0;
}

const redisReply *
ctl_field(const redisReply *fields, const char *name)
{
	size_t i;

	if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[i]->str, name) == 0)
			return fields->element[i + 1];
	return NULL;
}

void
ctl_print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

void
ctl_print_new(json_t *j)
{
	if (j != NULL)
		ctl_print_json(j);
	json_decref(j);
}

int
ctl_fail(const char *what)
{
	fprintf(stderr, "prscanctl: %s: %s\n", what, prs_error_last());
	return 1;
}
