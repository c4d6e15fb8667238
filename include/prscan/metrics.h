/* Process-wide metrics in Prometheus's text format. */
#ifndef PRSCAN_METRICS_H
#define PRSCAN_METRICS_H

#include <stddef.h>

/* The Content-Type of what prs_metrics_render() writes. */
#define PRS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Label sets are NULL-terminated lists of name, value pairs, e.g.
 *   (const char *[]){ "event", ev, "action", act, NULL }
 * or NULL for none.  Values are escaped when rendered.  Every function is
 * thread-safe and cheap enough for a request path.
 */

/* Declares a metric: type is "counter", "gauge" or "histogram". */
void prs_metrics_describe(const char *name, const char *type,
    const char *help);

/* Adds v (>= 0) to a counter. */
void prs_metrics_counter_add(const char *name, const char *const *labels,
    double v);

/* Sets a gauge. */
void prs_metrics_gauge_set(const char *name, const char *const *labels,
    double v);

/* Drops every series of a gauge (before a collector sets them anew). */
void prs_metrics_gauge_clear(const char *name);

/* Records one observation in a histogram (buckets in seconds). */
void prs_metrics_observe(const char *name, const char *const *labels,
    double v);

/*
 * Registers fn to run just before each rendering (e.g. to read stream
 * lengths from Redis into gauges).  At most a few per process.
 */
void prs_metrics_add_collector(void (*fn)(void *arg), void *arg);

/* The whole exposition, a new string the caller frees; NULL on OOM. */
char *prs_metrics_render(void);

/*
 * Forgets every metric, series and collector (tests start afresh with
 * it).  Not to be called while other threads use the registry.
 */
void prs_metrics_reset(void);

/*
 * Writes the route template of a GitHub REST path into buf (size n):
 * "POST /repos/{owner}/{repo}/check-runs/{id}" for method "POST" and path
 * "/repos/octo/hello/check-runs/7".  Ids, owners, names and anything that
 * is not a fixed lower-case word become placeholders, a query is dropped,
 * so the result set stays small.  Returns 0, or -1 when it does not fit.
 */
int prs_metrics_route_template(const char *method, const char *path,
    char *buf, size_t n);

/*
 * Counts one answer of GitHub's REST API in
 * github_api_requests_total{route,code} (code 0: no answer) and, when
 * remaining (the X-RateLimit-Remaining header, may be NULL) is a number,
 * sets github_rate_limit_remaining{installation} (installation 0 or less:
 * "app", a request signed with the App's JWT).
 */
void prs_metrics_github_answer(const char *method, const char *path,
    long code, const char *remaining, long long installation);

#endif
