/*
 * The redelivery sweep (REDELIVER=on): a thread that, once the server
 * listens and then every REDELIVER_INTERVAL, runs prs_redeliver_sweep as
 * the App (JWT), so that deliveries GitHub failed to make while prscan or
 * Redis was down are sent again.
 *
 * Replicas share the work through two keys.  lock:redeliver is taken with
 * SET NX PX of one interval and never released: whoever takes it sweeps,
 * the others wait for the next interval, so the cluster sweeps about once
 * an interval.  redeliver:swept holds the start (epoch s) of the last
 * sweep that finished; the next one looks back to it, less
 * REDELIVER_MARGIN, and never further than REDELIVER_MAX_WINDOW (also the
 * look-back when the key is absent), so an outage of any length up to
 * GitHub's retention is covered.  Within a sweep each GUID is claimed
 * (redeliver:asked:{guid}, SWEEP_CLAIM_TTL) before it is asked for, so
 * overlapping sweeps never ask twice.
 */
#include "api.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/log.h"
#include "prscan/metrics.h"
#include "prscan/redeliver.h"

#define SWEEP_LEASE_KEY "lock:redeliver"
#define SWEEP_SWEPT_KEY "redeliver:swept"
#define SWEEP_CLAIM_TTL 3600	/* s a GUID asked for is left alone */
#define SWEEP_SLICE_MS 100	/* how often a waiting thread looks up */

struct api_sweep {
	struct api *api;
	struct prs_github_app app;
	pthread_t thread;
	int running;
	_Atomic int stop;
	char lease[33];
	int failing;		/* the last sweep failed: said once */
};

/* Sleeps ms in slices, returning early when asked to stop. */
static void
sweep_wait(struct api_sweep *s, long ms)
{
	struct timespec ts = { 0, SWEEP_SLICE_MS * 1000000L };

	for (; ms > 0 && !s->stop; ms -= SWEEP_SLICE_MS)
		nanosleep(&ts, NULL);
}

/* 1 when this replica sweeps this interval, 0 when another does, -1. */
static int
sweep_lease(struct api_sweep *s, redisContext *c)
{
	return prs_redis_set_nx(c, SWEEP_LEASE_KEY, s->lease,
	    (long long)s->api->cfg.redeliver_interval * 1000);
}

/* The oldest delivery time this sweep looks at; -1 when Redis failed. */
static int
sweep_since(struct api_sweep *s, redisContext *c, time_t now,
    time_t *since)
{
	const struct api_config *cfg = &s->api->cfg;
	redisReply *r = redisCommand(c, "GET %s", SWEEP_SWEPT_KEY);
	time_t oldest = now - (time_t)cfg->redeliver_max_window, last;

	if (r == NULL || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_NIL)) {
		prs_error_set("redis: %s", r != NULL && r->type ==
		    REDIS_REPLY_ERROR ? r->str : c->errstr);
		freeReplyObject(r);
		return -1;
	}
	*since = oldest;
	if (r->type == REDIS_REPLY_STRING) {
		last = (time_t)strtoll(r->str, NULL, 10);
		if (last > now)
			last = now;
		if (last - (time_t)cfg->redeliver_margin > oldest)
			*since = last - (time_t)cfg->redeliver_margin;
	}
	freeReplyObject(r);
	return 0;
}

static void
sweep_count(const char *outcome)
{
	prs_metrics_counter_add("redeliver_sweeps_total",
	    (const char *[]){ "outcome", outcome, NULL }, 1);
}

/* The summary line and the counters of a sweep that finished. */
static void
sweep_report(struct api_sweep *s, time_t now, time_t since,
    const struct prs_redeliver_report *rep, long long ms)
{
	prs_info("redelivery sweep", "window=%lld listed=%ld asked=%ld "
	    "redelivered=%ld skipped=%ld failed=%ld delivered=%ld ms=%lld",
	    (long long)(now - since), rep->attempts,
	    rep->requested + rep->refused, rep->requested,
	    rep->recorded + rep->claimed, rep->refused, rep->delivered, ms);
	sweep_count("ok");
	if (rep->requested > 0)
		prs_metrics_counter_add("redeliveries_requested_total",
		    (const char *[]){ "outcome", "accepted", NULL },
		    (double)rep->requested);
	if (rep->refused > 0)
		prs_metrics_counter_add("redeliveries_requested_total",
		    (const char *[]){ "outcome", "refused", NULL },
		    (double)rep->refused);
	s->failing = 0;
}

/* One sweep's failure: an error the first time, debug while it lasts. */
static void
sweep_failed(struct api_sweep *s, redisContext *c)
{
	if (s->stop)
		return;
	prs_log(s->failing ? PRS_LOG_DEBUG : PRS_LOG_ERROR,
	    "redelivery sweep failed", "reason=%s retry_s=%ld",
	    prs_log_q(prs_error_last()), s->api->cfg.redeliver_interval);
	s->failing = 1;
	sweep_count("failed");
	if (c != NULL && c->err != 0)
		api_redis_drop();
}

static long long
sweep_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((long long)b.tv_sec - a->tv_sec) * 1000 +
	    (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* Takes the lease and sweeps; nothing when another replica has it. */
static void
sweep_once(struct api_sweep *s)
{
	struct prs_redeliver_report rep;
	struct prs_redeliver_opts o;
	redisContext *c = api_redis(s->api);
	struct timespec t0;
	time_t now = time(NULL);
	int held = c != NULL ? sweep_lease(s, c) : -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&o, 0, sizeof(o));
	o.claim_ttl = SWEEP_CLAIM_TTL;
	o.stop = &s->stop;
	if (c == NULL)
		prs_error_set("redis unreachable");
	if (held == 0) {
		prs_debug("redelivery sweep left to another replica",
		    "lease=%s", SWEEP_LEASE_KEY);
		return;
	}
	if (held < 0 || sweep_since(s, c, now, &o.since) < 0 ||
	    prs_redeliver_sweep_opts(&s->app, c, &o, &rep) < 0) {
		sweep_failed(s, c);
		return;
	}
	freeReplyObject(redisCommand(c, "SET %s %lld", SWEEP_SWEPT_KEY,
	    (long long)now));
	sweep_report(s, now, o.since, &rep, sweep_ms(&t0));
}

static void *
sweep_main(void *arg)
{
	struct api_sweep *s = arg;

	while (!s->stop && !s->api->listening)
		sweep_wait(s, SWEEP_SLICE_MS);
	while (!s->stop) {
		sweep_once(s);
		sweep_wait(s, s->api->cfg.redeliver_interval * 1000);
	}
	api_redis_release();
	return NULL;
}

static void
sweep_describe(void)
{
	prs_metrics_describe("redeliver_sweeps_total", "counter",
	    "Redelivery sweeps this API ran, by outcome (ok, failed).");
	prs_metrics_describe("redeliveries_requested_total", "counter",
	    "Redeliveries the sweep asked GitHub for, by outcome (accepted, "
	    "refused).");
}

/* The App's client for the thread: its own, as the publisher has. */
static int
sweep_app(struct api_sweep *s)
{
	const struct api_config *cfg = &s->api->cfg;
	size_t n;

	s->app.api_url = strdup(cfg->api_url);
	if (s->app.api_url == NULL)
		return prs_error_set("out of memory");
	n = strlen(s->app.api_url);
	while (n > 0 && s->app.api_url[n - 1] == '/')
		s->app.api_url[--n] = '\0';
	return prs_github_new(s->app.api_url, cfg->app_id, cfg->private_key,
	    cfg->private_key_len, &s->app.gh);
}

int
api_sweep_start(struct api *api)
{
	struct api_sweep *s;
	unsigned char raw[16];
	sigset_t all, old;
	size_t i;
	int started;

	if (!api->cfg.redeliver)
		return 0;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return prs_error_set("out of memory");
	s->api = api;
	if (RAND_bytes(raw, sizeof(raw)) != 1 || sweep_app(s) < 0) {
		prs_github_app_dispose(&s->app);
		free(s);
		return prs_error_set("redelivery sweep: %s", prs_error_last());
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(s->lease + 2 * i, 3, "%02x", raw[i]);
	sweep_describe();
	/* The thread blocks every signal: the main thread sigwaits. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	started = pthread_create(&s->thread, NULL, sweep_main, s) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started) {
		prs_github_app_dispose(&s->app);
		free(s);
		return prs_error_set("redelivery sweep: cannot start its "
		    "thread");
	}
	s->running = 1;
	api->sweep = s;
	prs_info("redelivery sweep on", "interval_s=%ld margin_s=%ld "
	    "max_window_s=%ld", api->cfg.redeliver_interval,
	    api->cfg.redeliver_margin, api->cfg.redeliver_max_window);
	return 0;
}

void
api_sweep_stop(struct api *api)
{
	struct api_sweep *s = api->sweep;

	if (s == NULL)
		return;
	s->stop = 1;
	if (s->running)
		pthread_join(s->thread, NULL);
	prs_github_app_dispose(&s->app);
	free(s);
	api->sweep = NULL;
}

int
api_sweep_config(struct api_config *cfg)
{
	char *v = NULL;
	int rc = -1;

	prs_env_string("REDELIVER", "off", &v);
	if (v == NULL || (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)) {
		prs_error_set("REDELIVER: must be on or off");
		goto out;
	}
	cfg->redeliver = strcmp(v, "on") == 0;
	if (prs_env_long("REDELIVER_INTERVAL", 600, 1, 86400,
	    &cfg->redeliver_interval) < 0 ||
	    prs_env_long("REDELIVER_MARGIN", 300, 0, 86400,
	    &cfg->redeliver_margin) < 0 ||
	    prs_env_long("REDELIVER_MAX_WINDOW", 259200, 60, 259200,
	    &cfg->redeliver_max_window) < 0)
		goto out;
	rc = 0;
out:
	free(v);
	return rc;
}
