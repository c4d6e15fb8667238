/* Severities, results and the callback's JSON form of a scan result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/error.h"
#include "prscan/finding.h"

static void
test_severity(void **state)
{
	enum prs_severity s;

	(void)state;
	assert_int_equal(prs_severity_parse("critical", &s), 0);
	assert_int_equal(s, PRS_SEV_CRITICAL);
	assert_int_equal(prs_severity_parse("High", &s), 0);
	assert_int_equal(s, PRS_SEV_HIGH);
	assert_int_equal(prs_severity_parse("TRACE", &s), 0);
	assert_int_equal(s, PRS_SEV_TRACE);
	assert_int_equal(prs_severity_parse("severe", &s), -1);
	assert_int_equal(prs_severity_parse("", &s), -1);
	assert_int_equal(prs_severity_parse(NULL, &s), -1);
	assert_string_equal(prs_severity_name(PRS_SEV_MEDIUM), "MEDIUM");
	assert_string_equal(prs_severity_name(PRS_SEV_INFO), "INFO");
	assert_true(PRS_SEV_CRITICAL > PRS_SEV_HIGH);
}

static void
test_add_copies(void **state)
{
	struct prs_scan_result *r;
	struct prs_finding f = { 0 };
	char name[] = "Rule name";

	(void)state;
	r = prs_result_new();
	assert_non_null(r);
	assert_int_equal(r->files_scanned, -1);
	assert_int_equal(r->duration_ms, -1);

	f.rule_id = (char *)"id";
	f.rule_name = name;
	f.severity = PRS_SEV_LOW;
	f.path = (char *)"a/b.tf";
	f.line = 4;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(prs_result_add(r, &f), 0);
	name[0] = 'X';
	assert_int_equal(r->nfindings, 1000);
	assert_string_equal(r->findings[999].rule_name, "Rule name");
	assert_true(r->findings[0].rule_name != name);
	assert_null(r->findings[0].description);
	prs_result_free(r);
	prs_result_free(NULL);
}

static struct prs_scan_result *
sample(void)
{
	struct prs_scan_result *r = prs_result_new();
	struct prs_finding f = { 0 };

	r->scanner_version = strdup("1.7.13");
	r->files_scanned = 9;
	r->duration_ms = 1500;
	f.rule_id = (char *)"q-1";
	f.rule_name = (char *)"Open ingress";
	f.severity = PRS_SEV_HIGH;
	f.path = (char *)"infra/sg.tf";
	f.line = 12;
	f.description = (char *)"Too open";
	f.expected = (char *)"closed";
	f.actual = (char *)"open";
	f.category = (char *)"Networking";
	f.url = (char *)"https://docs.example/q-1";
	f.fingerprint = (char *)"abc123";
	assert_int_equal(prs_result_add(r, &f), 0);

	memset(&f, 0, sizeof(f));
	f.rule_id = (char *)"q-2";
	f.rule_name = (char *)"Outside";
	f.severity = PRS_SEV_INFO;
	assert_int_equal(prs_result_add(r, &f), 0);
	return r;
}

static void
test_json_round_trip(void **state)
{
	struct prs_scan_result *r = sample();
	struct prs_scan_result *back = NULL;
	const json_t *f1;
	json_t *j;

	(void)state;
	j = prs_result_to_json(r);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j,
	    "scanner_version")), "1.7.13");
	f1 = json_array_get(json_object_get(j, "findings"), 1);
	assert_string_equal(json_string_value(json_object_get(f1,
	    "severity")), "INFO");
	assert_null(json_object_get(f1, "path"));	/* NULLs omitted */
	assert_null(json_object_get(f1, "line"));
	assert_null(json_object_get(f1, "expected"));

	assert_int_equal(prs_result_from_json(j, &back), 0);
	assert_int_equal(back->nfindings, 2);
	assert_int_equal(back->files_scanned, 9);
	assert_int_equal(back->duration_ms, 1500);
	assert_string_equal(back->scanner_version, "1.7.13");
	assert_string_equal(back->findings[0].path, "infra/sg.tf");
	assert_int_equal(back->findings[0].line, 12);
	assert_int_equal(back->findings[0].severity, PRS_SEV_HIGH);
	assert_string_equal(back->findings[0].expected, "closed");
	assert_string_equal(back->findings[0].fingerprint, "abc123");
	assert_null(back->findings[1].path);
	assert_null(back->findings[1].description);
	json_decref(j);
	prs_result_free(back);
	prs_result_free(r);
}

static int
from_text(const char *text, struct prs_scan_result **out)
{
	json_error_t err;
	json_t *j;
	int rc;

	j = json_loads(text, JSON_ALLOW_NUL, &err);
	if (j == NULL)
		fail_msg("test JSON: %s", err.text);
	rc = prs_result_from_json(j, out);
	json_decref(j);
	return rc;
}

static void
expect_einput(const char *text)
{
	struct prs_scan_result *r = (struct prs_scan_result *)1;

	prs_error_clear();
	if (from_text(text, &r) != PRS_EINPUT)
		fail_msg("accepted: %s", text);
	assert_null(r);
	assert_true(prs_error_last()[0] != '\0');
}

static void
test_from_json_rejects(void **state)
{
	(void)state;
	expect_einput("[]");
	expect_einput("{}");
	expect_einput("{\"findings\":{}}");
	expect_einput("{\"findings\":[1]}");
	expect_einput("{\"findings\":[{\"severity\":\"BAD\"}]}");
	expect_einput("{\"findings\":[{}]}");
	expect_einput("{\"findings\":[{\"severity\":3}]}");
	expect_einput("{\"findings\":[{\"severity\":\"LOW\","
	    "\"rule_id\":7}]}");
	expect_einput("{\"findings\":[{\"severity\":\"LOW\","
	    "\"path\":\"a.tf\"}]}");
	expect_einput("{\"findings\":[{\"severity\":\"LOW\","
	    "\"path\":\"a.tf\",\"line\":0}]}");
	expect_einput("{\"findings\":[{\"severity\":\"LOW\","
	    "\"path\":\"a.tf\",\"line\":\"3\"}]}");
	expect_einput("{\"findings\":[{\"severity\":\"LOW\","
	    "\"description\":\"a\\u0000b\"}]}");
	expect_einput("{\"files_scanned\":\"x\",\"findings\":[]}");
	expect_einput("{\"duration_ms\":-7,\"findings\":[]}");
	expect_einput("{\"scanner_version\":[],\"findings\":[]}");
}

/* Paths that are not relative and normal are dropped: summary only. */
static void
test_from_json_drops_bad_paths(void **state)
{
	static const char *const bad[] = {
		"/etc/passwd", "../x.tf", "a/../../x", "a/./b", "a//b",
		"a/", ".", "..", "a\\\\b", ""
	};
	struct prs_scan_result *r = NULL;
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"findings\":[{\"severity\":"
		    "\"LOW\",\"path\":\"%s\",\"line\":3}]}", bad[i]);
		assert_int_equal(from_text(text, &r), 0);
		if (r->findings[0].path != NULL)
			fail_msg("kept path %s", bad[i]);
		prs_result_free(r);
	}

	assert_int_equal(from_text("{\"findings\":[{\"severity\":\"LOW\","
	    "\"path\":\"..a/b..\",\"line\":3}]}", &r), 0);
	assert_string_equal(r->findings[0].path, "..a/b..");
	prs_result_free(r);
}

static void
test_from_json_caps(void **state)
{
	struct prs_scan_result *r = NULL;
	json_t *list;
	json_t *j;
	json_t *f;
	char *big;
	size_t i;

	(void)state;
	big = malloc(200001);
	assert_non_null(big);
	memset(big, 'd', 200000);
	big[200000] = '\0';
	j = json_pack("{s:[{s:s,s:s}]}", "findings", "severity", "LOW",
	    "description", big);
	assert_non_null(j);
	assert_int_equal(prs_result_from_json(j, &r), 0);
	assert_int_equal(strlen(r->findings[0].description), 64 * 1024);
	prs_result_free(r);
	json_decref(j);
	free(big);

	list = json_array();
	f = json_pack("{s:s}", "severity", "LOW");
	for (i = 0; i < 100001; i++)
		json_array_append(list, f);
	json_decref(f);
	j = json_pack("{s:o}", "findings", list);
	r = (struct prs_scan_result *)1;
	assert_int_equal(prs_result_from_json(j, &r), PRS_EINPUT);
	assert_null(r);
	json_array_remove(list, 0);
	assert_int_equal(prs_result_from_json(j, &r), 0);
	assert_int_equal(r->nfindings, 100000);
	prs_result_free(r);
	json_decref(j);
}

/* A result of n findings, every third HIGH, each about 500 bytes. */
static struct prs_scan_result *
big_result(size_t n)
{
	struct prs_scan_result *r = prs_result_new();
	char id[32], text[480];
	struct prs_finding f = { 0 };
	size_t i;

	assert_non_null(r);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "rule-%zu", i);
		f.rule_id = id;
		f.severity = i % 3 == 2 ? PRS_SEV_HIGH : PRS_SEV_LOW;
		f.expected = text;
		assert_int_equal(prs_result_add(r, &f), 0);
	}
	return r;
}

static void
test_fit(void **state)
{
	struct prs_scan_result *r = big_result(300), *back = NULL;
	json_t *j;
	size_t len, i;

	(void)state;
	assert_int_equal(prs_result_fit(r, 1 << 20), 0);
	assert_int_equal(r->nfindings, 300);
	assert_int_equal(r->omitted, 0);
	assert_null(json_object_get(j = prs_result_to_json(r), "omitted"));
	json_decref(j);

	assert_int_equal(prs_result_fit(r, 50000), 0);
	assert_true(r->nfindings > 50 && r->nfindings < 100);
	assert_int_equal(r->nfindings + (size_t)r->omitted, 300);
	j = prs_result_to_json(r);
	len = json_dumpb(j, NULL, 0, JSON_COMPACT);
	assert_true(len <= 50000 && len > 40000);
	/* The most severe first, in report order: rule-2, rule-5, ... */
	assert_string_equal(r->findings[0].rule_id, "rule-2");
	assert_string_equal(r->findings[1].rule_id, "rule-5");
	for (i = 0; i < r->nfindings; i++)
		assert_int_equal(r->findings[i].severity, PRS_SEV_HIGH);
	assert_int_equal(prs_result_from_json(j, &back), 0);
	assert_int_equal(back->omitted, r->omitted);
	assert_int_equal(back->nfindings, r->nfindings);
	json_decref(j);
	prs_result_free(back);

	/* The array still grows after it was cut. */
	assert_int_equal(prs_result_add(r, &r->findings[0]), 0);
	assert_int_equal(prs_result_fit(r, 10), -1);
	prs_result_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_add_copies),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_from_json_rejects),
		cmocka_unit_test(test_from_json_drops_bad_paths),
		cmocka_unit_test(test_from_json_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
