/*
 * Asking GitHub to redeliver the App's webhook deliveries that failed and
 * that prscan never recorded: the operator's `prscanctl redeliver` and
 * the API's periodic sweep (REDELIVER=on).
 */
#ifndef PRSCAN_REDELIVER_H
#define PRSCAN_REDELIVER_H

#include <time.h>

#include <hiredis/hiredis.h>

#include "prscan/github_read.h"

/* What the sweep did with one delivery (one GUID, all its attempts). */
enum prs_redeliver_action {
	PRS_REDELIVER_DELIVERED,	/* an attempt succeeded */
	PRS_REDELIVER_RECORDED,		/* failed, but delivery:{guid} exists */
	PRS_REDELIVER_REQUESTED,	/* GitHub accepted a new attempt */
	PRS_REDELIVER_WOULD,		/* dry run: would be requested */
	PRS_REDELIVER_REFUSED,		/* GitHub refused the new attempt */
	PRS_REDELIVER_CLAIMED		/* asked for lately (claim_ttl) */
};

struct prs_redeliver_item {
	const char *guid;		/* X-GitHub-Delivery */
	const char *event;
	const char *action;		/* the payload's action, may be "" */
	long long id;			/* the newest attempt's id */
	time_t delivered_at;		/* the newest attempt's time */
	long status_code;		/* the newest attempt's HTTP status */
	long attempts;			/* attempts within the window */
	enum prs_redeliver_action what;
};

struct prs_redeliver_report {
	long attempts;		/* deliveries listed within the window */
	long delivered;
	long recorded;
	long requested;		/* or would be, on a dry run */
	long refused;
	long claimed;		/* left alone: asked for lately */
};

/* Called once per GUID, newest first; item and its strings borrowed. */
typedef void (*prs_redeliver_fn)(const struct prs_redeliver_item *item,
    void *arg);

/*
 * Lists the App's deliveries (GET /app/hook/deliveries, 100 a page,
 * following the Link header's cursor) back to since, groups them by GUID,
 * and for every GUID none of whose attempts succeeded (status "OK" or a
 * 2xx status_code) and whose delivery:{guid} key is absent from redis,
 * asks for a new attempt of the newest one (POST
 * /app/hook/deliveries/{id}/attempts), unless dry_run.  fn (may be NULL)
 * hears about every GUID.  rep (may be NULL) gets the counts.  Returns 0,
 * or -1 / PRS_ERETRY when listing or Redis failed (prs_error_last()); a
 * refused attempt is counted, not an error.
 */
int prs_redeliver_sweep(struct prs_github_app *app, redisContext *redis,
    time_t since, int dry_run, prs_redeliver_fn fn, void *arg,
    struct prs_redeliver_report *rep);

/* How a sweep runs; zero everything but since for prscanctl's. */
struct prs_redeliver_opts {
	time_t since;		/* oldest attempt considered */
	int dry_run;
	/*
	 * > 0: before asking for a GUID, SET redeliver:asked:{guid} NX EX
	 * claim_ttl; a GUID whose mark exists is left alone (CLAIMED), so
	 * that overlapping sweeps ask once, and a GUID whose redeliveries
	 * keep failing is asked for once per claim_ttl seconds.
	 */
	long claim_ttl;
	const _Atomic int *stop;	/* may be NULL; checked between calls */
	prs_redeliver_fn fn;		/* may be NULL */
	void *arg;
};

/*
 * prs_redeliver_sweep() with the options of o.  When *o->stop turns
 * non-zero it returns -1 ("stopped") before the next GitHub call.
 */
int prs_redeliver_sweep_opts(struct prs_github_app *app,
    redisContext *redis, const struct prs_redeliver_opts *o,
    struct prs_redeliver_report *rep);

/*
 * Parses GitHub's "2021-06-15T19:00:00Z" into *out.  Returns 0 or
 * PRS_EINPUT.
 */
int prs_redeliver_parse_time(const char *s, time_t *out);

#endif
