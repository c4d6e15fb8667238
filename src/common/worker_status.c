/*
 * The worker's status server (STATUS_PORT) and its metrics: /status,
 * /healthz, /readyz and /metrics.  Requests are served from the status
 * server's thread with a short-lived Redis connection of their own, so
 * they never wait behind a slot's blocking read.
 */
#include "worker_internal.h"

#include <stdio.h>

#include "prscan/error.h"
#include "prscan/log.h"
#include "prscan/metrics.h"
#include "prscan/streamstats.h"

#define PRS_WSTATUS_REDIS_TIMEOUT_MS 1000

static void
prs_wstatus_describe(const struct prs_worker *w)
{
	prs_metrics_describe("messages_processed_total", "counter",
	    "Stream entries handled, by worker and outcome (success, "
	    "scan_error, cancelled, dead_letter, rejected, abandoned).");
	prs_metrics_describe("processing_duration_seconds", "histogram",
	    "Seconds a scanner ran for one job, by scanner.");
	prs_metrics_describe("callback_success_total", "counter",
	    "POST /callback attempts the API accepted.");
	prs_metrics_describe("callback_failure_total", "counter",
	    "POST /callback attempts that failed (no answer or a refusal).");
	prs_streamstats_describe();
	/* Present from the start, so that a rate over them starts at 0. */
	prs_metrics_counter_add("messages_processed_total", (const char *[]){
	    "worker", w->scanner->name, "outcome", "success", NULL }, 0);
	prs_metrics_counter_add("callback_success_total", NULL, 0);
	prs_metrics_counter_add("callback_failure_total", NULL, 0);
}

/* Whether Redis answers PING on a new connection. */
static int
prs_wstatus_ping(const struct prs_worker *w, redisContext **out)
{
	redisContext *c = prs_redis_connect(&w->redis_cfg,
	    PRS_WSTATUS_REDIS_TIMEOUT_MS);
	redisReply *r = c != NULL ? redisCommand(c, "PING") : NULL;
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	freeReplyObject(r);
	if (out != NULL && ok) {
		*out = c;
		return 1;
	}
	if (c != NULL)
		redisFree(c);
	return ok;
}

static void
prs_wstatus_collect(void *arg)
{
	const struct prs_worker *w = arg;
	const char *streams[] = { w->stream };
	redisContext *c = NULL;

	prs_wstatus_ping(w, &c);
	prs_streamstats_collect(c, streams, 1);
	if (c != NULL)
		redisFree(c);
}

static long
prs_wstatus_in_progress(struct prs_worker *w)
{
	long i, n = 0;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->concurrency; i++)
		n += w->slots[i].busy ? 1 : 0;
	pthread_mutex_unlock(&w->lock);
	return n;
}

static json_t *
prs_wstatus_status(void *arg, unsigned int *code)
{
	struct prs_worker *w = arg;
	int ok = prs_wstatus_ping(w, NULL);

	*code = ok ? 200 : 503;
	return json_pack("{s:s,s:s,s:s,s:s,s:I}", "status", ok ? "ok" :
	    "degraded", "redis", ok ? "ok" : "error", "stream", w->stream,
	    "consumer", w->consumer, "in_progress",
	    (json_int_t)prs_wstatus_in_progress(w));
}

static int
prs_wstatus_ready(void *arg, char *why, size_t n)
{
	const struct prs_worker *w = arg;

	if (prs_wstatus_ping(w, NULL))
		return 0;
	snprintf(why, n, "redis does not answer");
	return -1;
}

int
prs_worker_status_start(struct prs_worker *w)
{
	struct prs_statusd_ops ops = { prs_wstatus_status, prs_wstatus_ready,
		w };

	prs_wstatus_describe(w);
	prs_metrics_add_collector(prs_wstatus_collect, w);
	if (w->status_port == 0)
		return 0;
	if (prs_statusd_start(w->status_port, &ops, &w->statusd) < 0)
		return -1;
	prs_info("status server listening", "port=%ld", w->status_port);
	return 0;
}

void
prs_worker_status_stop(struct prs_worker *w)
{
	prs_statusd_stop(w->statusd);
	w->statusd = NULL;
}

void
prs_worker_count(const struct prs_worker *w, const char *outcome)
{
	prs_metrics_counter_add("messages_processed_total", (const char *[]){
	    "worker", w->scanner->name, "outcome", outcome, NULL }, 1);
}

void
prs_worker_count_callback(int ok)
{
	prs_metrics_counter_add(ok ? "callback_success_total" :
	    "callback_failure_total", NULL, 1);
}

void
prs_worker_observe_scan(const struct prs_worker *w, double seconds)
{
	prs_metrics_observe("processing_duration_seconds", (const char *[]){
	    "scanner", w->scanner->name, NULL }, seconds);
}
