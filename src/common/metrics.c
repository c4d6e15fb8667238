/*
 * A process-wide registry of metrics, rendered in Prometheus's text
 * exposition format (version 0.0.4).
 *
 * Layout: an array of metrics in the order they were first seen, each with
 * an array of series.  A series is keyed by its rendered label pairs
 * (`a="x",b="y"`, escaped), so two calls with the same labels in the same
 * order land on one series.  One mutex guards it all; a second one keeps
 * renderings (and the collectors they run) one at a time, so that a
 * collector's clear-then-set is never seen half done.
 */
#include "prscan/metrics.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRS_METRICS_MAX_COLLECTORS 8
#define PRS_METRICS_NBUCKETS 12

enum prs_metrics_kind {
	PRS_METRICS_COUNTER,
	PRS_METRICS_GAUGE,
	PRS_METRICS_HISTOGRAM
};

static const char *const prs_metrics_kinds[] = {
	"counter", "gauge", "histogram"
};

static const double prs_metrics_buckets[PRS_METRICS_NBUCKETS] = {
	0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800
};

struct prs_metrics_series {
	char *labels;			/* rendered pairs, "" for none */
	double value;			/* counter, gauge */
	/* per bucket, not cumulative */
	unsigned long long counts[PRS_METRICS_NBUCKETS];
	unsigned long long count;
	double sum;
};

struct prs_metrics_metric {
	char *name;
	char *help;
	enum prs_metrics_kind kind;
	struct prs_metrics_series *series;
	size_t nseries;
	size_t cap;
};

struct prs_metrics_collector {
	void (*fn)(void *arg);
	void *arg;
};

static pthread_mutex_t prs_metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t prs_metrics_render_lock = PTHREAD_MUTEX_INITIALIZER;
static struct prs_metrics_metric *prs_metrics_all;
static size_t prs_metrics_n;
static size_t prs_metrics_cap;
static struct prs_metrics_collector
    prs_metrics_collectors[PRS_METRICS_MAX_COLLECTORS];
static size_t prs_metrics_ncollectors;

/* A growing string; on OOM it stops growing and remembers. */
struct prs_metrics_buf {
	char *s;
	size_t len;
	size_t cap;
	int oom;
};

static void
prs_metrics_put(struct prs_metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
prs_metrics_put(struct prs_metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *p;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if (b->len + (size_t)n < b->cap) {
		b->len += (size_t)n;
		return;
	}
	cap = b->cap * 2 + (size_t)n;
	p = realloc(b->s, cap);
	if (p == NULL) {
		b->oom = 1;
		return;
	}
	b->s = p;
	b->cap = cap;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Appends s with \\, \" and \n escaped (label values); help: no \". */
static void
prs_metrics_put_escaped(struct prs_metrics_buf *b, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			prs_metrics_put(b, "\\\\");
		else if (*s == '\n')
			prs_metrics_put(b, "\\n");
		else if (*s == '"' && quote)
			prs_metrics_put(b, "\\\"");
		else
			prs_metrics_put(b, "%c", *s);
	}
}

/* A number as the format wants it: shortest exact form, +Inf, NaN. */
static void
prs_metrics_put_number(struct prs_metrics_buf *b, double v)
{
	char tmp[40];

	if (isnan(v)) {
		prs_metrics_put(b, "NaN");
		return;
	}
	if (isinf(v)) {
		prs_metrics_put(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	prs_metrics_put(b, "%s", tmp);
}

/* The rendered label pairs of labels: a new string, NULL on OOM. */
static char *
prs_metrics_labels(const char *const *labels)
{
	struct prs_metrics_buf b = { NULL, 0, 0, 0 };
	size_t i;

	b.s = malloc(64);
	if (b.s == NULL)
		return NULL;
	b.cap = 64;
	b.s[0] = '\0';
	for (i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		prs_metrics_put(&b, "%s%s=\"", i > 0 ? "," : "", labels[i]);
		prs_metrics_put_escaped(&b, labels[i + 1] != NULL ?
		    labels[i + 1] : "", 1);
		prs_metrics_put(&b, "\"");
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* The metric called name, made with kind when missing.  Lock held. */
static struct prs_metrics_metric *
prs_metrics_find(const char *name, enum prs_metrics_kind kind, int make)
{
	struct prs_metrics_metric *m;
	size_t i;

	for (i = 0; i < prs_metrics_n; i++)
		if (strcmp(prs_metrics_all[i].name, name) == 0)
			return &prs_metrics_all[i];
	if (!make)
		return NULL;
	if (prs_metrics_n == prs_metrics_cap) {
		size_t cap = prs_metrics_cap == 0 ? 16 : prs_metrics_cap * 2;

		m = realloc(prs_metrics_all, cap * sizeof(*m));
		if (m == NULL)
			return NULL;
		prs_metrics_all = m;
		prs_metrics_cap = cap;
	}
	m = &prs_metrics_all[prs_metrics_n];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	if (m->name == NULL)
		return NULL;
	m->kind = kind;
	prs_metrics_n++;
	return m;
}

/* The series of m with these labels, made when missing.  Lock held. */
static struct prs_metrics_series *
prs_metrics_series_of(struct prs_metrics_metric *m, const char *const *labels)
{
	struct prs_metrics_series *s;
	char *key = prs_metrics_labels(labels);
	size_t i;

	if (key == NULL)
		return NULL;
	for (i = 0; i < m->nseries; i++) {
		if (strcmp(m->series[i].labels, key) == 0) {
			free(key);
			return &m->series[i];
		}
	}
	if (m->nseries == m->cap) {
		size_t cap = m->cap == 0 ? 4 : m->cap * 2;

		s = realloc(m->series, cap * sizeof(*s));
		if (s == NULL) {
			free(key);
			return NULL;
		}
		m->series = s;
		m->cap = cap;
	}
	s = &m->series[m->nseries++];
	memset(s, 0, sizeof(*s));
	s->labels = key;
	return s;
}

static struct prs_metrics_series *
prs_metrics_locate(const char *name, enum prs_metrics_kind kind,
    const char *const *labels)
{
	struct prs_metrics_metric *m = prs_metrics_find(name, kind, 1);

	if (m == NULL || m->kind != kind)
		return NULL;
	return prs_metrics_series_of(m, labels);
}

void
prs_metrics_describe(const char *name, const char *type, const char *help)
{
	enum prs_metrics_kind kind = PRS_METRICS_COUNTER;
	struct prs_metrics_metric *m;
	char *h;

	if (strcmp(type, "gauge") == 0)
		kind = PRS_METRICS_GAUGE;
	else if (strcmp(type, "histogram") == 0)
		kind = PRS_METRICS_HISTOGRAM;
	pthread_mutex_lock(&prs_metrics_lock);
	m = prs_metrics_find(name, kind, 1);
	h = help != NULL ? strdup(help) : NULL;
	if (m != NULL && m->nseries == 0)
		m->kind = kind;
	if (m != NULL && h != NULL) {
		free(m->help);
		m->help = h;
		h = NULL;
	}
	pthread_mutex_unlock(&prs_metrics_lock);
	free(h);
}

void
prs_metrics_counter_add(const char *name, const char *const *labels,
    double v)
{
	struct prs_metrics_series *s;

	if (!(v >= 0))
		return;
	pthread_mutex_lock(&prs_metrics_lock);
	s = prs_metrics_locate(name, PRS_METRICS_COUNTER, labels);
	if (s != NULL)
		s->value += v;
	pthread_mutex_unlock(&prs_metrics_lock);
}

void
prs_metrics_gauge_set(const char *name, const char *const *labels, double v)
{
	struct prs_metrics_series *s;

	pthread_mutex_lock(&prs_metrics_lock);
	s = prs_metrics_locate(name, PRS_METRICS_GAUGE, labels);
	if (s != NULL)
		s->value = v;
	pthread_mutex_unlock(&prs_metrics_lock);
}

static void
prs_metrics_series_drop(struct prs_metrics_metric *m)
{
	size_t i;

	for (i = 0; i < m->nseries; i++)
		free(m->series[i].labels);
	m->nseries = 0;
}

void
prs_metrics_gauge_clear(const char *name)
{
	struct prs_metrics_metric *m;

	pthread_mutex_lock(&prs_metrics_lock);
	m = prs_metrics_find(name, PRS_METRICS_GAUGE, 0);
	if (m != NULL && m->kind == PRS_METRICS_GAUGE)
		prs_metrics_series_drop(m);
	pthread_mutex_unlock(&prs_metrics_lock);
}

void
prs_metrics_observe(const char *name, const char *const *labels, double v)
{
	struct prs_metrics_series *s;
	size_t i;

	if (isnan(v))
		return;
	pthread_mutex_lock(&prs_metrics_lock);
	s = prs_metrics_locate(name, PRS_METRICS_HISTOGRAM, labels);
	if (s != NULL) {
		for (i = 0; i < PRS_METRICS_NBUCKETS; i++) {
			if (v <= prs_metrics_buckets[i]) {
				s->counts[i]++;
				break;
			}
		}
		s->count++;
		s->sum += v;
	}
	pthread_mutex_unlock(&prs_metrics_lock);
}

void
prs_metrics_add_collector(void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&prs_metrics_lock);
	if (prs_metrics_ncollectors < PRS_METRICS_MAX_COLLECTORS) {
		prs_metrics_collectors[prs_metrics_ncollectors].fn = fn;
		prs_metrics_collectors[prs_metrics_ncollectors].arg = arg;
		prs_metrics_ncollectors++;
	}
	pthread_mutex_unlock(&prs_metrics_lock);
}

/* name{labels} or name{labels,extra} or name{extra} or name. */
static void
prs_metrics_put_name(struct prs_metrics_buf *b, const char *name,
    const char *suffix, const char *labels, const char *extra)
{
	int any = *labels != '\0' || extra != NULL;

	prs_metrics_put(b, "%s%s%s%s%s%s%s ", name, suffix, any ? "{" : "",
	    labels, *labels != '\0' && extra != NULL ? "," : "",
	    extra != NULL ? extra : "", any ? "}" : "");
}

static void
prs_metrics_put_histogram(struct prs_metrics_buf *b,
    const struct prs_metrics_metric *m, const struct prs_metrics_series *s)
{
	unsigned long long cum = 0;
	char le[48];
	size_t i;

	for (i = 0; i < PRS_METRICS_NBUCKETS; i++) {
		cum += s->counts[i];
		snprintf(le, sizeof(le), "le=\"%g\"", prs_metrics_buckets[i]);
		prs_metrics_put_name(b, m->name, "_bucket", s->labels, le);
		prs_metrics_put(b, "%llu\n", cum);
	}
	prs_metrics_put_name(b, m->name, "_bucket", s->labels, "le=\"+Inf\"");
	prs_metrics_put(b, "%llu\n", s->count);
	prs_metrics_put_name(b, m->name, "_sum", s->labels, NULL);
	prs_metrics_put_number(b, s->sum);
	prs_metrics_put(b, "\n");
	prs_metrics_put_name(b, m->name, "_count", s->labels, NULL);
	prs_metrics_put(b, "%llu\n", s->count);
}

static void
prs_metrics_put_metric(struct prs_metrics_buf *b,
    const struct prs_metrics_metric *m)
{
	size_t i;

	prs_metrics_put(b, "# HELP %s ", m->name);
	prs_metrics_put_escaped(b, m->help != NULL ? m->help : m->name, 0);
	prs_metrics_put(b, "\n# TYPE %s %s\n", m->name,
	    prs_metrics_kinds[m->kind]);
	for (i = 0; i < m->nseries; i++) {
		const struct prs_metrics_series *s = &m->series[i];

		if (m->kind == PRS_METRICS_HISTOGRAM) {
			prs_metrics_put_histogram(b, m, s);
			continue;
		}
		prs_metrics_put_name(b, m->name, "", s->labels, NULL);
		prs_metrics_put_number(b, s->value);
		prs_metrics_put(b, "\n");
	}
}

static void
prs_metrics_collect(void)
{
	struct prs_metrics_collector c[PRS_METRICS_MAX_COLLECTORS];
	size_t i, n;

	pthread_mutex_lock(&prs_metrics_lock);
	n = prs_metrics_ncollectors;
	memcpy(c, prs_metrics_collectors, sizeof(c));
	pthread_mutex_unlock(&prs_metrics_lock);
	for (i = 0; i < n; i++)
		c[i].fn(c[i].arg);
}

char *
prs_metrics_render(void)
{
	struct prs_metrics_buf b = { NULL, 0, 0, 0 };
	size_t i;

	b.s = malloc(4096);
	if (b.s == NULL)
		return NULL;
	b.cap = 4096;
	b.s[0] = '\0';
	pthread_mutex_lock(&prs_metrics_render_lock);
	prs_metrics_collect();
	pthread_mutex_lock(&prs_metrics_lock);
	for (i = 0; i < prs_metrics_n; i++)
		prs_metrics_put_metric(&b, &prs_metrics_all[i]);
	pthread_mutex_unlock(&prs_metrics_lock);
	pthread_mutex_unlock(&prs_metrics_render_lock);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

void
prs_metrics_reset(void)
{
	size_t i;

	pthread_mutex_lock(&prs_metrics_lock);
	for (i = 0; i < prs_metrics_n; i++) {
		prs_metrics_series_drop(&prs_metrics_all[i]);
		free(prs_metrics_all[i].series);
		free(prs_metrics_all[i].name);
		free(prs_metrics_all[i].help);
	}
	free(prs_metrics_all);
	prs_metrics_all = NULL;
	prs_metrics_n = prs_metrics_cap = 0;
	prs_metrics_ncollectors = 0;
	pthread_mutex_unlock(&prs_metrics_lock);
}

/* The placeholder for the segment after prev, or NULL. */
static const char *
prs_metrics_placeholder(const char *prev, size_t index)
{
	static const char *const after[][2] = {
		{ "installations", "{installation_id}" },
		{ "users", "{username}" }, { "orgs", "{org}" },
		{ "commits", "{ref}" }, { "branches", "{branch}" },
		{ "contents", "{path}" }, { "ref", "{ref}" }
	};
	size_t i;

	if (prev == NULL)
		return NULL;
	if (index == 1 && strcmp(prev, "repos") == 0)
		return "{owner}";
	if (index == 2 && strcmp(prev, "{owner}") == 0)
		return "{repo}";
	for (i = 0; i < sizeof(after) / sizeof(*after); i++)
		if (strcmp(prev, after[i][0]) == 0)
			return after[i][1];
	return NULL;
}

/* Whether seg (n bytes) reads as a fixed word of a route. */
static int
prs_metrics_literal(const char *seg, size_t n)
{
	size_t i, digits = 0;

	if (n == 0 || n > 32)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)seg[i];

		if (!islower(c) && !isdigit(c) && c != '-' && c != '_')
			return 0;
		digits += isdigit(c) ? 1 : 0;
	}
	return digits == 0;
}

int
prs_metrics_route_template(const char *method, const char *path, char *buf,
    size_t n)
{
	struct prs_metrics_buf b = { NULL, 0, 0, 0 };
	char prev[40] = "";
	const char *p = path, *ph;
	size_t index = 0, len;
	int rc = -1;

	b.s = malloc(128);
	if (b.s == NULL || n == 0)
		goto out;
	b.cap = 128;
	prs_metrics_put(&b, "%s ", method);
	while (*p == '/' && index < 16) {
		p++;
		len = strcspn(p, "/?#");
		ph = prs_metrics_placeholder(prev[0] != '\0' ? prev : NULL,
		    index);
		if (ph == NULL && !prs_metrics_literal(p, len))
			ph = len > 0 && strspn(p, "0123456789") >= len ?
			    "{id}" : "{value}";
		if (ph != NULL)
			snprintf(prev, sizeof(prev), "%s", ph);
		else
			snprintf(prev, sizeof(prev), "%.*s", (int)len, p);
		prs_metrics_put(&b, "/%s", prev);
		p += len;
		index++;
		if (ph != NULL && strcmp(ph, "{path}") == 0)
			break;
	}
	if (!b.oom && b.len < n) {
		memcpy(buf, b.s, b.len + 1);
		rc = 0;
	}
out:
	free(b.s);
	return rc;
}

static void
prs_metrics_github_describe(void)
{
	prs_metrics_describe("github_api_requests_total", "counter",
	    "Requests to GitHub's REST API by route template and HTTP status "
	    "(0: no answer).");
	prs_metrics_describe("github_rate_limit_remaining", "gauge",
	    "X-RateLimit-Remaining of GitHub's last answer, by installation "
	    "(\"app\": requests signed with the App's JWT).");
}

void
prs_metrics_github_answer(const char *method, const char *path, long code,
    const char *remaining, long long installation)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char route[256], status[24], inst[24];
	char *end = NULL;
	double left;

	pthread_once(&once, prs_metrics_github_describe);
	if (prs_metrics_route_template(method, path, route, sizeof(route)) < 0)
		snprintf(route, sizeof(route), "%s {other}", method);
	snprintf(status, sizeof(status), "%ld", code);
	prs_metrics_counter_add("github_api_requests_total",
	    (const char *[]){ "route", route, "code", status, NULL }, 1);
	if (remaining == NULL)
		return;
	left = strtod(remaining, &end);
	if (end == remaining || *end != '\0')
		return;
	if (installation > 0)
		snprintf(inst, sizeof(inst), "%lld", installation);
	else
		snprintf(inst, sizeof(inst), "app");
	prs_metrics_gauge_set("github_rate_limit_remaining",
	    (const char *[]){ "installation", inst, NULL }, left);
}
