/* The metrics registry: exposition format, escaping, histograms, threads. */
#include <ctype.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/metrics.h"

#define MAX_TYPED 64

/* What the checker learnt from # TYPE lines. */
struct typed {
	char name[128];
	char type[16];
};

static struct typed typed[MAX_TYPED];
static size_t ntyped;

static int
name_char(int c, int first)
{
	return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/* Reads a metric or label name at *p; its length, 0 when none. */
static size_t
read_name(const char **p, char *out, size_t n)
{
	size_t len = 0;

	while (name_char((unsigned char)(*p)[len], len == 0))
		len++;
	if (len == 0 || len >= n)
		return 0;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p += len;
	return len;
}

/* Reads `"value"` with \\, \" and \n escapes; -1 on anything else. */
static int
read_label_value(const char **p)
{
	const char *s = *p;

	if (*s++ != '"')
		return -1;
	while (*s != '"') {
		if (*s == '\0' || *s == '\n')
			return -1;
		if (*s == '\\') {
			s++;
			if (*s != '\\' && *s != '"' && *s != 'n')
				return -1;
		}
		s++;
	}
	*p = s + 1;
	return 0;
}

static int
read_labels(const char **p)
{
	char name[128];

	if (**p != '{')
		return 0;
	(*p)++;
	while (**p != '}') {
		if (read_name(p, name, sizeof(name)) == 0 || **p != '=')
			return -1;
		(*p)++;
		if (read_label_value(p) < 0)
			return -1;
		if (**p == ',')
			(*p)++;
		else if (**p != '}')
			return -1;
	}
	(*p)++;
	return 0;
}

static int
read_value(const char *s)
{
	char *end = NULL;

	if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 ||
	    strcmp(s, "NaN") == 0)
		return 0;
	strtod(s, &end);
	return end != s && *end == '\0' ? 0 : -1;
}

/* The declared type of sample name (histogram suffixes allowed). */
static const char *
type_of(const char *name)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	size_t i, j, n = strlen(name);

	for (i = 0; i < ntyped; i++) {
		if (strcmp(typed[i].name, name) == 0)
			return typed[i].type;
		if (strcmp(typed[i].type, "histogram") != 0)
			continue;
		for (j = 0; j < 3; j++) {
			size_t k = strlen(typed[i].name);

			if (n == k + strlen(sfx[j]) &&
			    strncmp(name, typed[i].name, k) == 0 &&
			    strcmp(name + k, sfx[j]) == 0)
				return typed[i].type;
		}
	}
	return NULL;
}

static int
check_comment(const char *line)
{
	char name[128], type[16];

	if (strncmp(line, "# HELP ", 7) == 0) {
		line += 7;
		return read_name(&line, name, sizeof(name)) > 0 &&
		    *line == ' ' ? 0 : -1;
	}
	if (strncmp(line, "# TYPE ", 7) != 0)
		return 0;
	line += 7;
	if (read_name(&line, name, sizeof(name)) == 0 || *line++ != ' ' ||
	    sscanf(line, "%15s", type) != 1)
		return -1;
	if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 &&
	    strcmp(type, "histogram") != 0)
		return -1;
	if (type_of(name) != NULL || ntyped == MAX_TYPED)
		return -1;
	snprintf(typed[ntyped].name, sizeof(typed[ntyped].name), "%s", name);
	snprintf(typed[ntyped].type, sizeof(typed[ntyped].type), "%s", type);
	ntyped++;
	return 0;
}

static int
check_sample(const char *line)
{
	char name[128];
	const char *p = line;

	if (read_name(&p, name, sizeof(name)) == 0 || type_of(name) == NULL)
		return -1;
	if (read_labels(&p) < 0 || *p++ != ' ')
		return -1;
	return read_value(p);
}

/* 0 when text is a well-formed exposition; else the bad line's number. */
static int
check_exposition(const char *text)
{
	char line[1024];
	int no = 0;

	ntyped = 0;
	while (*text != '\0') {
		size_t n = strcspn(text, "\n");

		if (text[n] != '\n' || n >= sizeof(line))
			return no + 1;
		memcpy(line, text, n);
		line[n] = '\0';
		text += n + 1;
		no++;
		if (line[0] == '#' ? check_comment(line) < 0 :
		    check_sample(line) < 0)
			return no;
	}
	return 0;
}

/* The value of the sample line starting with prefix followed by ' '. */
static double
sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	fail_msg("no sample %s in:\n%s", prefix, text);
	return -1;
}

static int
reset(void **state)
{
	(void)state;
	prs_metrics_reset();
	return 0;
}

static void
test_counter_and_gauge(void **state)
{
	char *text;

	(void)state;
	prs_metrics_describe("events_total", "counter", "Events seen.");
	prs_metrics_counter_add("events_total",
	    (const char *[]){ "event", "pull_request", "action", "opened",
	    NULL }, 1);
	prs_metrics_counter_add("events_total",
	    (const char *[]){ "event", "pull_request", "action", "opened",
	    NULL }, 2);
	prs_metrics_counter_add("events_total", NULL, 1);
	prs_metrics_counter_add("events_total", NULL, -5);
	prs_metrics_gauge_set("queue_length", (const char *[]){ "stream",
	    "worker-kics", NULL }, 7);
	prs_metrics_gauge_set("queue_length", (const char *[]){ "stream",
	    "worker-kics", NULL }, 4);
	text = prs_metrics_render();
	assert_non_null(text);
	assert_int_equal(check_exposition(text), 0);
	assert_non_null(strstr(text, "# HELP events_total Events seen.\n"
	    "# TYPE events_total counter\n"));
	assert_non_null(strstr(text, "# TYPE queue_length gauge\n"));
	assert_true(sample(text, "events_total{event=\"pull_request\","
	    "action=\"opened\"}") == 3);
	assert_true(sample(text, "events_total") == 1);
	assert_true(sample(text, "queue_length{stream=\"worker-kics\"}") == 4);
	free(text);

	prs_metrics_gauge_clear("queue_length");
	text = prs_metrics_render();
	assert_null(strstr(text, "queue_length{"));
	assert_non_null(strstr(text, "# TYPE queue_length gauge\n"));
	assert_int_equal(check_exposition(text), 0);
	free(text);
}

static void
test_escaping(void **state)
{
	char *text;

	(void)state;
	prs_metrics_describe("odd_total", "counter",
	    "Help with a back\\slash\nand a newline.");
	prs_metrics_counter_add("odd_total", (const char *[]){ "v",
	    "a\"quote\" a\\b\nline", NULL }, 1);
	text = prs_metrics_render();
	assert_int_equal(check_exposition(text), 0);
	assert_non_null(strstr(text, "# HELP odd_total Help with a "
	    "back\\\\slash\\nand a newline.\n"));
	assert_non_null(strstr(text, "odd_total{v=\"a\\\"quote\\\" a\\\\b"
	    "\\nline\"} 1\n"));
	free(text);
}

static void
test_histogram(void **state)
{
	static const char *const les[] = { "0.1", "0.5", "1", "2.5", "5",
		"10", "30", "60", "120", "300", "600", "1800", "+Inf" };
	static const double want[] = { 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 5 };
	const char *const kics[] = { "scanner", "kics", NULL };
	char prefix[128], *text;
	size_t i;

	(void)state;
	prs_metrics_describe("scan_seconds", "histogram", "Scan durations.");
	prs_metrics_observe("scan_seconds", kics, 0.05);
	prs_metrics_observe("scan_seconds", kics, 1);
	prs_metrics_observe("scan_seconds", kics, 7.5);
	prs_metrics_observe("scan_seconds", kics, 1000);
	prs_metrics_observe("scan_seconds", kics, 5000);
	text = prs_metrics_render();
	assert_int_equal(check_exposition(text), 0);
	assert_non_null(strstr(text, "# TYPE scan_seconds histogram\n"));
	for (i = 0; i < sizeof(les) / sizeof(*les); i++) {
		snprintf(prefix, sizeof(prefix), "scan_seconds_bucket{"
		    "scanner=\"kics\",le=\"%s\"}", les[i]);
		assert_true(sample(text, prefix) == want[i]);
	}
	assert_true(sample(text, "scan_seconds_sum{scanner=\"kics\"}") ==
	    0.05 + 1 + 7.5 + 1000 + 5000);
	assert_true(sample(text, "scan_seconds_count{scanner=\"kics\"}") ==
	    5);
	free(text);
}

static void
test_checker_refuses_bad_text(void **state)
{
	(void)state;
	assert_int_equal(check_exposition("# TYPE a counter\na 1\n"), 0);
	assert_int_not_equal(check_exposition("a 1\n"), 0);
	assert_int_not_equal(check_exposition("# TYPE a counter\na{b=\"x} 1\n"),
	    0);
	assert_int_not_equal(check_exposition("# TYPE a counter\na{b=\"\\t\"} "
	    "1\n"), 0);
	assert_int_not_equal(check_exposition("# TYPE a counter\na one\n"), 0);
	assert_int_not_equal(check_exposition("# TYPE a counter\na 1"), 0);
}

static int collected;

static void
collector(void *arg)
{
	collected++;
	prs_metrics_gauge_clear("length");
	prs_metrics_gauge_set("length", (const char *[]){ "stream",
	    arg, NULL }, collected);
}

static void
test_collector_runs_before_rendering(void **state)
{
	char *text;

	(void)state;
	collected = 0;
	prs_metrics_describe("length", "gauge", "A length.");
	prs_metrics_add_collector(collector, "s1");
	text = prs_metrics_render();
	assert_true(sample(text, "length{stream=\"s1\"}") == 1);
	free(text);
	text = prs_metrics_render();
	assert_true(sample(text, "length{stream=\"s1\"}") == 2);
	assert_int_equal(check_exposition(text), 0);
	free(text);
}

static void *
hammer(void *arg)
{
	const char *const labels[] = { "t", "shared", NULL };
	int i;

	(void)arg;
	for (i = 0; i < 10000; i++) {
		prs_metrics_counter_add("hits_total", labels, 1);
		prs_metrics_observe("took_seconds", NULL, 0.2);
		if (i % 1000 == 0)
			free(prs_metrics_render());
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	char *text;
	size_t i;

	(void)state;
	prs_metrics_describe("hits_total", "counter", "Hits.");
	prs_metrics_describe("took_seconds", "histogram", "Time.");
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	text = prs_metrics_render();
	assert_int_equal(check_exposition(text), 0);
	assert_true(sample(text, "hits_total{t=\"shared\"}") == 40000);
	assert_true(sample(text, "took_seconds_count") == 40000);
	assert_true(sample(text, "took_seconds_bucket{le=\"0.5\"}") == 40000);
	assert_true(sample(text, "took_seconds_bucket{le=\"0.1\"}") == 0);
	free(text);
}

static void
expect_route(const char *method, const char *path, const char *want)
{
	char buf[256];

	assert_int_equal(prs_metrics_route_template(method, path, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void
test_route_templates(void **state)
{
	char small[8];

	(void)state;
	expect_route("POST", "/repos/octo/hello/check-runs",
	    "POST /repos/{owner}/{repo}/check-runs");
	expect_route("PATCH", "/repos/Octo-Cat/Hello.World/check-runs/123",
	    "PATCH /repos/{owner}/{repo}/check-runs/{id}");
	expect_route("POST", "/app/installations/42/access_tokens",
	    "POST /app/installations/{installation_id}/access_tokens");
	expect_route("GET", "/repos/o/r/commits/0123456789abcdef0123456789"
	    "abcdef01234567/check-runs?per_page=100",
	    "GET /repos/{owner}/{repo}/commits/{ref}/check-runs");
	expect_route("GET", "/repos/o/r/contents/a/b/c.tf",
	    "GET /repos/{owner}/{repo}/contents/{path}");
	expect_route("GET", "/weird/Upper/x1", "GET /weird/{value}/{value}");
	assert_int_equal(prs_metrics_route_template("POST", "/repos/a/b",
	    small, sizeof(small)), -1);
}

static void
test_github_answer(void **state)
{
	char *text;

	(void)state;
	prs_metrics_github_answer("POST", "/repos/o/r/check-runs", 201, "4999",
	    42);
	prs_metrics_github_answer("POST", "/repos/p/q/check-runs", 201, "4998",
	    42);
	prs_metrics_github_answer("POST", "/app/installations/42/"
	    "access_tokens", 201, NULL, 0);
	prs_metrics_github_answer("PATCH", "/repos/o/r/check-runs/9", 0, "x",
	    0);
	text = prs_metrics_render();
	assert_int_equal(check_exposition(text), 0);
	assert_true(sample(text, "github_api_requests_total{route=\"POST "
	    "/repos/{owner}/{repo}/check-runs\",code=\"201\"}") == 2);
	assert_true(sample(text, "github_api_requests_total{route=\"PATCH "
	    "/repos/{owner}/{repo}/check-runs/{id}\",code=\"0\"}") == 1);
	assert_true(sample(text, "github_rate_limit_remaining{installation="
	    "\"42\"}") == 4998);
	assert_null(strstr(text, "installation=\"app\""));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_counter_and_gauge, reset),
		cmocka_unit_test_setup(test_escaping, reset),
		cmocka_unit_test_setup(test_histogram, reset),
		cmocka_unit_test_setup(test_checker_refuses_bad_text, reset),
		cmocka_unit_test_setup(test_collector_runs_before_rendering,
		    reset),
		cmocka_unit_test_setup(test_threads, reset),
		cmocka_unit_test_setup(test_route_templates, reset),
		cmocka_unit_test_setup(test_github_answer, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
