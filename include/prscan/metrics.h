/* Process-wide metrics in Prometheus's text format. */
#ifndef PRSCAN_METRICS_H
#define PRSCAN_METRICS_H

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

#endif
