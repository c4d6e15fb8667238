/*
 * Stream gauges.  XPENDING's summary form answers
 * [count, smallest id, greatest id, [[consumer, "count"], ...]], one per
 * group; a group with nothing pending has a nil consumer list.
 */
#include "prscan/streamstats.h"

#include <stdlib.h>
#include <string.h>

#include "prscan/metrics.h"

#define PRS_STREAMSTATS_LEN "redis_stream_length"
#define PRS_STREAMSTATS_PENDING "redis_pending_messages"

void
prs_streamstats_describe(void)
{
	prs_metrics_describe(PRS_STREAMSTATS_LEN, "gauge",
	    "Entries in a scan stream (XLEN).");
	prs_metrics_describe(PRS_STREAMSTATS_PENDING, "gauge",
	    "Entries delivered to a consumer and not yet acknowledged "
	    "(XPENDING).");
}

/* Sets the pending gauge of each consumer of group on stream. */
static int
prs_streamstats_group(redisContext *c, const char *stream, const char *group)
{
	redisReply *r = redisCommand(c, "XPENDING %s %s", stream, group);
	const redisReply *list;
	size_t i;
	int rc = -1;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 4)
		goto out;
	list = r->element[3];
	for (i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements;
	    i++) {
		const redisReply *e = list->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[1]->type != REDIS_REPLY_STRING)
			continue;
		prs_metrics_gauge_set(PRS_STREAMSTATS_PENDING,
		    (const char *[]){ "stream", stream, "consumer",
		    e->element[0]->str, NULL }, strtod(e->element[1]->str,
		    NULL));
	}
	rc = 0;
out:
	freeReplyObject(r);
	return rc;
}

/* The name of a group in one XINFO GROUPS element, or NULL. */
static const char *
prs_streamstats_group_name(const redisReply *g)
{
	size_t i;

	if (g->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < g->elements; i += 2)
		if (g->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(g->element[i]->str, "name") == 0 &&
		    g->element[i + 1]->type == REDIS_REPLY_STRING)
			return g->element[i + 1]->str;
	return NULL;
}

static int
prs_streamstats_stream(redisContext *c, const char *stream)
{
	redisReply *r = redisCommand(c, "XLEN %s", stream);
	size_t i;
	int rc = -1;

	if (r == NULL || r->type != REDIS_REPLY_INTEGER)
		goto out;
	prs_metrics_gauge_set(PRS_STREAMSTATS_LEN, (const char *[]){ "stream",
	    stream, NULL }, (double)r->integer);
	freeReplyObject(r);
	r = redisCommand(c, "XINFO GROUPS %s", stream);
	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		rc = 0;		/* no such stream yet */
		goto out;
	}
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		goto out;
	for (i = 0; i < r->elements; i++) {
		const char *group = prs_streamstats_group_name(r->element[i]);

		if (group != NULL && prs_streamstats_group(c, stream, group) < 0)
			goto out;
	}
	rc = 0;
out:
	freeReplyObject(r);
	return rc;
}

int
prs_streamstats_collect(redisContext *c, const char *const *streams,
    size_t n)
{
	size_t i;

	prs_metrics_gauge_clear(PRS_STREAMSTATS_LEN);
	prs_metrics_gauge_clear(PRS_STREAMSTATS_PENDING);
	if (c == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (prs_streamstats_stream(c, streams[i]) < 0)
			return -1;
	return 0;
}
