/* Check run bodies: batching, conclusion, order and GitHub's limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/checkrun.h"
#include "prscan/diffmap.h"
#include "prscan/finding.h"

static const struct prs_checkrun_style style = {
	.check_name = "KICS",
	.fail_on = PRS_SEV_HIGH,
	.error_neutral = 0,
	.completed_at = "2024-05-01T12:00:00Z",
};

/* Code points of a valid UTF-8 string; fails on invalid UTF-8. */
static size_t
chars_of(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	int more;

	while (*p != '\0') {
		if (*p < 0x80)
			more = 0;
		else if ((*p & 0xE0) == 0xC0)
			more = 1;
		else if ((*p & 0xF0) == 0xE0)
			more = 2;
		else if ((*p & 0xF8) == 0xF0)
			more = 3;
		else
			fail_msg("invalid UTF-8 lead byte at %td",
			    (const char *)p - s);
		p++;
		for (; more > 0; more--, p++)
			if ((*p & 0xC0) != 0x80)
				fail_msg("cut UTF-8 sequence at %td",
				    (const char *)p - s);
		n++;
	}
	return n;
}

static void
add(struct prs_scan_result *r, enum prs_severity sev, char *path,
    long line, char *name, char *desc)
{
	struct prs_finding f = { 0 };

	f.rule_id = (char *)"rule-1";
	f.rule_name = name;
	f.severity = sev;
	f.path = path;
	f.line = line;
	f.description = desc;
	assert_int_equal(prs_result_add(r, &f), 0);
}

/* n findings with paths, severities cycling from TRACE to CRITICAL. */
static struct prs_scan_result *
result_with(size_t n)
{
	struct prs_scan_result *r;
	char path[64];
	size_t i;

	r = prs_result_new();
	assert_non_null(r);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "dir/file%zu.tf", i);
		add(r, (enum prs_severity)(i % PRS_SEV_COUNT), path,
		    (long)i + 1, "Rule", "Something is wrong");
	}
	return r;
}

static const char *
get_str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static const json_t *
output_of(const json_t *body)
{
	const json_t *o = json_object_get(body, "output");

	assert_true(json_is_object(o));
	return o;
}

static void
test_levels(void **state)
{
	(void)state;
	assert_string_equal(prs_checkrun_level(PRS_SEV_CRITICAL), "failure");
	assert_string_equal(prs_checkrun_level(PRS_SEV_HIGH), "failure");
	assert_string_equal(prs_checkrun_level(PRS_SEV_MEDIUM), "warning");
	assert_string_equal(prs_checkrun_level(PRS_SEV_LOW), "notice");
	assert_string_equal(prs_checkrun_level(PRS_SEV_INFO), "notice");
	assert_string_equal(prs_checkrun_level(PRS_SEV_TRACE), "notice");
}

static void
test_conclusion(void **state)
{
	struct prs_scan_result *r;

	(void)state;
	r = prs_result_new();
	assert_string_equal(prs_checkrun_conclusion(r, PRS_SEV_TRACE),
	    "success");
	add(r, PRS_SEV_MEDIUM, "a.tf", 1, "R", "d");
	assert_string_equal(prs_checkrun_conclusion(r, PRS_SEV_HIGH),
	    "success");
	assert_string_equal(prs_checkrun_conclusion(r, PRS_SEV_MEDIUM),
	    "failure");
	assert_string_equal(prs_checkrun_conclusion(r, PRS_SEV_LOW),
	    "failure");
	add(r, PRS_SEV_HIGH, NULL, 0, "R", "d");	/* pathless counts */
	assert_string_equal(prs_checkrun_conclusion(r, PRS_SEV_HIGH),
	    "failure");
	assert_string_equal(prs_checkrun_conclusion(r, PRS_SEV_CRITICAL),
	    "success");
	prs_result_free(r);
}

static void
check_batches(size_t n, size_t want_bodies)
{
	struct prs_scan_result *r = result_with(n);
	const json_t *body;
	const json_t *ann;
	json_t *bodies;
	size_t i;
	size_t total = 0;

	bodies = prs_checkrun_completion(&style, r);
	assert_non_null(bodies);
	assert_int_equal(json_array_size(bodies), want_bodies);
	for (i = 0; i < json_array_size(bodies); i++) {
		body = json_array_get(bodies, i);
		ann = json_object_get(output_of(body), "annotations");
		assert_true(json_is_array(ann));
		assert_true(json_array_size(ann) <= 50);
		total += json_array_size(ann);
		assert_string_equal(get_str(output_of(body), "title"),
		    get_str(output_of(json_array_get(bodies, 0)), "title"));
		assert_non_null(get_str(output_of(body), "summary"));
		if (i == 0) {
			assert_string_equal(get_str(body, "status"),
			    "completed");
			assert_string_equal(get_str(body, "conclusion"),
			    prs_checkrun_conclusion(r, style.fail_on));
			assert_string_equal(get_str(body, "completed_at"),
			    style.completed_at);
		} else {
			assert_null(json_object_get(body, "conclusion"));
			assert_null(json_object_get(body, "status"));
		}
	}
	assert_int_equal(total, n);
	json_decref(bodies);
	prs_result_free(r);
}

static void
test_batching(void **state)
{
	(void)state;
	check_batches(0, 1);
	check_batches(1, 1);
	check_batches(50, 1);
	check_batches(51, 2);
	check_batches(1000, 20);
}

/* Findings the worker left out are counted in the title and summary. */
static void
test_omitted(void **state)
{
	struct prs_scan_result *r = prs_result_new();
	const json_t *o;
	json_t *b;

	(void)state;
	r->omitted = 7;
	assert_string_equal(prs_checkrun_conclusion(r, PRS_SEV_HIGH),
	    "neutral");
	b = prs_checkrun_completion(&style, r);
	assert_string_equal(get_str(output_of(json_array_get(b, 0)),
	    "title"), "7 findings not reported");
	json_decref(b);

	add(r, PRS_SEV_HIGH, "a.tf", 1, "R", "d");
	assert_string_equal(prs_checkrun_conclusion(r, PRS_SEV_HIGH),
	    "failure");
	b = prs_checkrun_completion(&style, r);
	o = output_of(json_array_get(b, 0));
	assert_string_equal(get_str(o, "title"),
	    "1 high finding (7 more not reported)");
	assert_non_null(strstr(get_str(o, "summary"),
	    "**7 more findings are not reported**"));
	json_decref(b);
	prs_result_free(r);
}

static void
test_conclusion_in_body(void **state)
{
	struct prs_checkrun_style st = style;
	struct prs_scan_result *r = prs_result_new();
	json_t *b;

	(void)state;
	add(r, PRS_SEV_MEDIUM, "a.tf", 1, "R", "d");
	b = prs_checkrun_completion(&st, r);
	assert_string_equal(get_str(json_array_get(b, 0), "conclusion"),
	    "success");
	json_decref(b);

	st.fail_on = PRS_SEV_MEDIUM;
	b = prs_checkrun_completion(&st, r);
	assert_string_equal(get_str(json_array_get(b, 0), "conclusion"),
	    "failure");
	json_decref(b);
	prs_result_free(r);
}

static void
test_annotation_fields(void **state)
{
	struct prs_scan_result *r = prs_result_new();
	struct prs_finding f = { 0 };
	const json_t *a;
	json_t *b;

	(void)state;
	f.rule_id = (char *)"q-1";
	f.rule_name = (char *)"Redis Disabled";
	f.severity = PRS_SEV_MEDIUM;
	f.path = (char *)"infra/main.tf";
	f.line = 7;
	f.description = (char *)"Redis should be on";
	f.expected = (char *)"engine is redis";
	f.actual = (char *)"engine is memcached";
	f.url = (char *)"https://docs.example/q-1";
	assert_int_equal(prs_result_add(r, &f), 0);

	b = prs_checkrun_completion(&style, r);
	a = json_array_get(json_object_get(output_of(json_array_get(b, 0)),
	    "annotations"), 0);
	assert_string_equal(get_str(a, "path"), "infra/main.tf");
	assert_int_equal(json_integer_value(json_object_get(a, "start_line")),
	    7);
	assert_int_equal(json_integer_value(json_object_get(a, "end_line")),
	    7);
	assert_string_equal(get_str(a, "annotation_level"), "warning");
	assert_string_equal(get_str(a, "title"), "Redis Disabled");
	assert_string_equal(get_str(a, "message"), "Redis should be on\n"
	    "Expected: engine is redis\nActual: engine is memcached");
	assert_non_null(strstr(get_str(a, "raw_details"),
	    "https://docs.example/q-1"));
	assert_string_equal(get_str(output_of(json_array_get(b, 0)), "title"),
	    "1 medium finding");
	json_decref(b);
	prs_result_free(r);
}

static void
test_annotation_limits(void **state)
{
	struct prs_scan_result *r = prs_result_new();
	const json_t *a;
	char *name;
	char *desc;
	json_t *b;
	size_t i;

	(void)state;
	name = calloc(300, 3);
	desc = calloc(70000, 2);
	assert_non_null(name);
	assert_non_null(desc);
	for (i = 0; i < 299; i++)
		memcpy(name + 3 * i, "\xe2\x82\xac", 3);	/* € */
	for (i = 0; i < 69999; i++)
		memcpy(desc + 2 * i, "\xc3\xa9", 2);		/* é */
	add(r, PRS_SEV_HIGH, "a.tf", 1, name, desc);

	b = prs_checkrun_completion(&style, r);
	a = json_array_get(json_object_get(output_of(json_array_get(b, 0)),
	    "annotations"), 0);
	assert_int_equal(chars_of(get_str(a, "title")), 255);
	assert_true(strlen(get_str(a, "message")) <= 65535);
	assert_true(chars_of(get_str(a, "message")) > 30000);
	json_decref(b);
	free(name);
	free(desc);
	prs_result_free(r);
}

static void
test_order(void **state)
{
	static const char *const want[] = {
		"z.tf:1", "a.tf:2", "a.tf:10", "b.tf:9", "a.tf:3"
	};
	struct prs_scan_result *r = prs_result_new();
	const json_t *ann;
	const json_t *a;
	char got[64];
	json_t *b;
	size_t i;

	(void)state;
	add(r, PRS_SEV_LOW, "a.tf", 3, "R", "d");
	add(r, PRS_SEV_HIGH, "b.tf", 9, "R", "d");
	add(r, PRS_SEV_HIGH, "a.tf", 10, "R", "d");
	add(r, PRS_SEV_CRITICAL, "z.tf", 1, "R", "d");
	add(r, PRS_SEV_HIGH, "a.tf", 2, "R", "d");
	add(r, PRS_SEV_MEDIUM, NULL, 0, "Outside", "d");

	b = prs_checkrun_completion(&style, r);
	ann = json_object_get(output_of(json_array_get(b, 0)), "annotations");
	assert_int_equal(json_array_size(ann), 5);
	for (i = 0; i < 5; i++) {
		a = json_array_get(ann, i);
		snprintf(got, sizeof(got), "%s:%lld", get_str(a, "path"),
		    (long long)json_integer_value(json_object_get(a,
		    "start_line")));
		assert_string_equal(got, want[i]);
	}
	assert_string_equal(get_str(output_of(json_array_get(b, 0)), "title"),
	    "1 critical, 3 high, 1 medium, 1 low findings");
	assert_non_null(strstr(get_str(output_of(json_array_get(b, 0)),
	    "summary"), "outside the repository's files"));
	assert_non_null(strstr(get_str(output_of(json_array_get(b, 0)),
	    "summary"), "Outside"));
	json_decref(b);
	prs_result_free(r);
}

static void
test_title_and_summary_empty(void **state)
{
	struct prs_scan_result *r = prs_result_new();
	const char *summary;
	json_t *b;

	(void)state;
	free(r->scanner_version);
	r->scanner_version = strdup("1.7.13");
	r->files_scanned = 12;
	r->duration_ms = 3456;
	b = prs_checkrun_completion(&style, r);
	assert_string_equal(get_str(output_of(json_array_get(b, 0)), "title"),
	    "No findings");
	summary = get_str(output_of(json_array_get(b, 0)), "summary");
	assert_non_null(strstr(summary, "| HIGH | 0 |"));
	assert_non_null(strstr(summary, "1.7.13"));
	assert_non_null(strstr(summary, "Files scanned: 12"));
	assert_non_null(strstr(summary, "Duration: 3.4 s"));
	assert_null(strstr(summary, "outside the repository"));
	assert_string_equal(get_str(json_array_get(b, 0), "conclusion"),
	    "success");
	json_decref(b);
	prs_result_free(r);
}

/* The number in "_N more findings are not shown" of s, 0 when none. */
static size_t
left_out(const char *s)
{
	const char *p = strstr(s, "\n_");
	size_t n = 0;

	while (p != NULL && strstr(p, "more findings are not shown")) {
		if (sscanf(p, "\n_%zu more", &n) == 1)
			return n;
		p = strstr(p + 1, "\n_");
	}
	return 0;
}

/* Lines that start with "- **" in s. */
static size_t
items_in(const char *s)
{
	size_t n = 0;

	if (strncmp(s, "- **", 4) == 0)
		n++;
	for (; (s = strstr(s, "\n- **")) != NULL; s++)
		n++;
	return n;
}

static void
test_summary_cut(void **state)
{
	struct prs_scan_result *r = prs_result_new();
	char path[300];
	const json_t *out;
	const char *summary;
	const char *text;
	json_t *b;
	size_t i;

	(void)state;
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	for (i = 0; i < 5000; i++) {
		snprintf(path + 250, 40, "/%zu.tf", i);
		add(r, (enum prs_severity)(i % PRS_SEV_COUNT),
		    i % 2 ? path : NULL, (long)i + 1,
		    "A rule with a fairly long name to fill the lines",
		    "A description that is long enough to matter here");
	}

	b = prs_checkrun_completion(&style, r);
	assert_non_null(b);
	/* 2500 findings have a file; MAX_ANNOTATIONS' 1000 are annotated. */
	assert_int_equal(json_array_size(b), 20);
	out = output_of(json_array_get(b, 0));
	summary = get_str(out, "summary");
	text = get_str(out, "text");
	assert_true(chars_of(summary) <= 65535);
	assert_true(chars_of(text) <= 65535);
	assert_true(chars_of(summary) > 60000);

	/* Shown plus left out is every finding, cut at a line's end. */
	assert_true(left_out(summary) > 0);
	assert_int_equal(items_in(summary) + left_out(summary), 5000);
	assert_int_equal(items_in(text) + left_out(text), 5000);
	assert_non_null(strstr(summary, "1500 of 2500 findings in files are "
	    "not annotated"));
	assert_int_equal(summary[strlen(summary) - 1], '\n');
	assert_non_null(strstr(summary, "| **Total** | 5000 |"));

	/* Later bodies repeat the same summary. */
	assert_string_equal(get_str(output_of(json_array_get(b, 19)),
	    "summary"), summary);
	json_decref(b);
	prs_result_free(r);
}

static void
test_utf8_cut(void **state)
{
	struct prs_scan_result *r = prs_result_new();
	char desc[4 * 400 + 1];
	const char *summary;
	json_t *b;
	size_t i;

	(void)state;
	for (i = 0; i < 400; i++)
		memcpy(desc + 4 * i, "\xf0\x9f\x98\x80", 4);	/* 😀 */
	desc[4 * 400] = '\0';
	for (i = 0; i < 3000; i++)
		add(r, PRS_SEV_HIGH, NULL, 0, "\xe6\xbc\xa2\xe5\xad\x97", desc);

	b = prs_checkrun_completion(&style, r);
	summary = get_str(output_of(json_array_get(b, 0)), "summary");
	assert_true(chars_of(summary) <= 65535);
	assert_true(strlen(summary) > 65535);	/* counted in characters */
	assert_null(strchr(summary, '?'));	/* nothing was replaced */
	assert_int_equal(items_in(summary) + left_out(summary), 3000);
	chars_of(get_str(output_of(json_array_get(b, 0)), "text"));
	json_decref(b);
	prs_result_free(r);
}

/* Markdown in names and descriptions shows as written. */
static void
test_markdown_escaped(void **state)
{
	struct prs_scan_result *r = prs_result_new();
	const char *summary, *text;
	json_t *b;

	(void)state;
	add(r, PRS_SEV_HIGH, "a.tf", 1, "```\nbroken", "<img src=x> *bold*");
	add(r, PRS_SEV_LOW, NULL, 0, "[link](http://x) @someone", "d");
	b = prs_checkrun_completion(&style, r);
	summary = get_str(output_of(json_array_get(b, 0)), "summary");
	text = get_str(output_of(json_array_get(b, 0)), "text");
	assert_non_null(strstr(summary, "\\`\\`\\`"));
	assert_null(strstr(summary, "```"));
	assert_non_null(strstr(summary, "\\<img src=x\\> \\*bold\\*"));
	assert_non_null(strstr(summary, "\\[link\\](http://x) \\@someone"));
	assert_null(strstr(text, "```"));
	/* The annotation itself is plain text. */
	assert_string_equal(get_str(json_array_get(json_object_get(output_of(
	    json_array_get(b, 0)), "annotations"), 0), "title"),
	    "```\nbroken");
	json_decref(b);
	prs_result_free(r);
}

/* The full list in text names each finding once, pathless ones too. */
static void
test_text_lists_each_finding_once(void **state)
{
	struct prs_scan_result *r = prs_result_new();
	const char *text;
	json_t *b;

	(void)state;
	add(r, PRS_SEV_HIGH, "a.tf", 1, "R", "d");
	add(r, PRS_SEV_LOW, NULL, 0, "Pathless", "d");
	b = prs_checkrun_completion(&style, r);
	text = get_str(output_of(json_array_get(b, 0)), "text");
	assert_int_equal(items_in(text), 2);
	assert_non_null(strstr(text, "Pathless"));
	assert_null(strstr(strstr(text, "Pathless") + 1, "Pathless"));
	json_decref(b);
	prs_result_free(r);
}

/* Changed lines first, links to the head, the cap and changed_only. */
static void
test_changed_lines_first(void **state)
{
	struct prs_checkrun_style st = style;
	struct prs_scan_result *r = prs_result_new();
	struct prs_diffmap *m = prs_diffmap_new();
	const json_t *ann;
	const char *summary;
	json_t *b;

	(void)state;
	assert_int_equal(prs_diffmap_add_patch(m, "b.tf",
	    "@@ -1,2 +1,3 @@\n keep\n-old\n+new\n+more\n@@ -9 +10 @@\n"
	    "-x\n+y"), 0);
	assert_true(prs_diffmap_has(m, "b.tf", 2));
	assert_true(prs_diffmap_has(m, "b.tf", 3));
	assert_true(prs_diffmap_has(m, "b.tf", 10));
	assert_false(prs_diffmap_has(m, "b.tf", 1));
	add(r, PRS_SEV_CRITICAL, "a.tf", 1, "R", "d");
	add(r, PRS_SEV_LOW, "b.tf", 3, "R", "d");
	add(r, PRS_SEV_HIGH, "b.tf", 1, "R", "d");
	st.changed = m;
	st.blob_url = "https://github.example/o/r/blob/abc";
	b = prs_checkrun_completion(&st, r);
	ann = json_object_get(output_of(json_array_get(b, 0)), "annotations");
	assert_int_equal(json_array_size(ann), 3);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(ann, 0), "start_line")), 3);
	assert_string_equal(get_str(json_array_get(ann, 1), "path"), "a.tf");
	summary = get_str(output_of(json_array_get(b, 0)), "summary");
	assert_non_null(strstr(summary, "| LOW | 1 | 0 | 1 |"));
	assert_non_null(strstr(summary, "| CRITICAL | 0 | 1 | 1 |"));
	assert_non_null(strstr(summary,
	    "[a.tf:1](https://github.example/o/r/blob/abc/a.tf#L1)"));
	json_decref(b);

	st.changed_only = 1;
	b = prs_checkrun_completion(&st, r);
	ann = json_object_get(output_of(json_array_get(b, 0)), "annotations");
	assert_int_equal(json_array_size(ann), 1);
	assert_non_null(strstr(get_str(output_of(json_array_get(b, 0)),
	    "summary"), "2 of 3 findings in files are not annotated"));
	json_decref(b);

	st.changed_only = 0;
	st.max_annotations = 2;
	b = prs_checkrun_completion(&st, r);
	ann = json_object_get(output_of(json_array_get(b, 0)), "annotations");
	assert_int_equal(json_array_size(ann), 2);
	json_decref(b);
	prs_diffmap_free(m);
	prs_result_free(r);
}

static void
test_scan_error(void **state)
{
	struct prs_checkrun_style st = style;
	char reason[200001];
	const json_t *out;
	json_t *b;

	(void)state;
	b = prs_checkrun_scan_error(&st, "clone failed: timeout\nat step 2");
	assert_string_equal(get_str(b, "status"), "completed");
	assert_string_equal(get_str(b, "conclusion"), "failure");
	assert_string_equal(get_str(b, "completed_at"), st.completed_at);
	out = output_of(b);
	assert_string_equal(get_str(out, "title"),
	    "Scan failed: clone failed: timeout");
	assert_non_null(strstr(get_str(out, "summary"),
	    "clone failed: timeout\nat step 2"));
	json_decref(b);

	st.error_neutral = 1;
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	b = prs_checkrun_scan_error(&st, reason);
	assert_string_equal(get_str(b, "conclusion"), "neutral");
	out = output_of(b);
	assert_int_equal(chars_of(get_str(out, "title")),
	    strlen("Scan failed: ") + 100);
	assert_true(chars_of(get_str(out, "summary")) <= 65535);
	json_decref(b);

	b = prs_checkrun_scan_error(&st, NULL);
	assert_non_null(strstr(get_str(output_of(b), "title"), "unknown"));
	json_decref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_conclusion),
		cmocka_unit_test(test_omitted),
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_conclusion_in_body),
		cmocka_unit_test(test_annotation_fields),
		cmocka_unit_test(test_annotation_limits),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_title_and_summary_empty),
		cmocka_unit_test(test_summary_cut),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_scan_error),
		cmocka_unit_test(test_markdown_escaped),
		cmocka_unit_test(test_text_lists_each_finding_once),
		cmocka_unit_test(test_changed_lines_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
