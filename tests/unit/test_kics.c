/*
 * KICS reports: every recorded report in tests/fixtures/kics with its real
 * counts and fields, and hostile reports in tests/fixtures/kics-hostile
 * (einput_* must be refused, ok_* must parse to safe results).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include <cmocka.h>

#include "prscan/error.h"
#include "prscan/finding.h"
#include "prscan/kics.h"

#define KICS_DIR PRSCAN_TEST_FIXTURES "/kics"
#define HOSTILE_DIR PRSCAN_TEST_FIXTURES "/kics-hostile"
#define ROOT "/work/clone"

/* What a recorded report holds. */
struct expect {
	const char *file;
	const char *root;
	size_t nfindings;
	long files_scanned;
	const char *version;	/* NULL: none in the report */
	size_t per_severity[PRS_SEV_COUNT];	/* TRACE .. CRITICAL */
	size_t with_path;
};

static const struct expect expected[] = {
	{ "E2E_CLI_036_RESULT.json", "/path", 20, 1, "development",
	    { 0, 3, 3, 10, 4, 0 }, 20 },
	{ "E2E_CLI_069_RESULT.json", ROOT, 1, 1, "development",
	    { 0, 0, 0, 1, 0, 0 }, 1 },
	{ "defectdojo_kics_many_findings.json", ROOT, 18, 15, NULL,
	    { 0, 0, 8, 5, 5, 0 }, 18 },
	{ "defectdojo_kics_no_findings.json", ROOT, 0, 1, NULL,
	    { 0, 0, 0, 0, 0, 0 }, 0 },
};

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	long n;

	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static int
parse_file(const char *dir, const char *name, const char *root,
    struct prs_scan_result **r)
{
	char path[1024];
	char *text;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = slurp(path, &len);
	rc = prs_kics_parse(text, len, root, r);
	free(text);
	return rc;
}

static struct prs_scan_result *
parse_ok(const char *dir, const char *name, const char *root)
{
	struct prs_scan_result *r = NULL;

	if (parse_file(dir, name, root, &r) != 0)
		fail_msg("%s: %s", name, prs_error_last());
	assert_non_null(r);
	return r;
}

static const struct expect *
expect_for(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (strcmp(expected[i].file, name) == 0)
			return &expected[i];
	return NULL;
}

static void
check_counts(const struct expect *e, const struct prs_scan_result *r)
{
	size_t sev[PRS_SEV_COUNT] = { 0 };
	size_t with_path = 0;
	size_t i;

	assert_int_equal(r->nfindings, e->nfindings);
	assert_int_equal(r->files_scanned, e->files_scanned);
	assert_int_equal(r->duration_ms, -1);
	if (e->version == NULL)
		assert_null(r->scanner_version);
	else
		assert_string_equal(r->scanner_version, e->version);

	for (i = 0; i < r->nfindings; i++) {
		sev[r->findings[i].severity]++;
		with_path += r->findings[i].path != NULL;
		assert_true(r->findings[i].line >= 1);
		assert_non_null(r->findings[i].rule_id);
		assert_non_null(r->findings[i].rule_name);
	}
	assert_memory_equal(sev, e->per_severity, sizeof(sev));
	assert_int_equal(with_path, e->with_path);
}

/* Every *.json in the fixture folder parses to its known counts. */
static void
test_every_fixture(void **state)
{
	struct prs_scan_result *r;
	const struct expect *e;
	struct dirent *de;
	DIR *d;
	size_t seen = 0;
	size_t len;

	(void)state;
	d = opendir(KICS_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		e = expect_for(de->d_name);
		if (e == NULL) {
			fail_msg("%s has no expected counts", de->d_name);
			continue;
		}
		r = parse_ok(KICS_DIR, de->d_name, e->root);
		check_counts(e, r);
		prs_result_free(r);
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, sizeof(expected) / sizeof(expected[0]));
}

static void
test_e2e_036_fields(void **state)
{
	struct prs_scan_result *r;
	const struct prs_finding *f;
	size_t i;

	(void)state;
	r = parse_ok(KICS_DIR, "E2E_CLI_036_RESULT.json", "/path");
	f = &r->findings[0];
	assert_string_equal(f->rule_name, "Fully Open Ingress");
	assert_int_equal(f->severity, PRS_SEV_HIGH);
	assert_string_equal(f->path, "e2e/fixtures/samples/positive.yaml");
	assert_int_equal(f->line, 24);
	assert_non_null(f->fingerprint);
	assert_true(strncmp(f->fingerprint, "88653ab159", 10) == 0);
	assert_non_null(f->description);
	assert_non_null(f->expected);
	assert_non_null(f->actual);

	f = &r->findings[19];
	assert_string_equal(f->rule_name,
	    "Security Group Rule Without Description");
	assert_int_equal(f->severity, PRS_SEV_INFO);
	assert_int_equal(f->line, 35);
	prs_result_free(r);

	/* The same report under another root: /path/... lies outside. */
	r = parse_ok(KICS_DIR, "E2E_CLI_036_RESULT.json", ROOT);
	assert_int_equal(r->nfindings, 20);
	for (i = 0; i < r->nfindings; i++)
		assert_null(r->findings[i].path);
	assert_int_equal(r->findings[0].line, 24);
	prs_result_free(r);
}

static void
test_e2e_069_windows_path(void **state)
{
	struct prs_scan_result *r;
	const struct prs_finding *f;

	(void)state;
	r = parse_ok(KICS_DIR, "E2E_CLI_069_RESULT.json", ROOT);
	f = &r->findings[0];
	assert_string_equal(f->rule_id,
	    "4bd15dd9-8d5e-4008-8532-27eb0c3706d3");
	assert_string_equal(f->rule_name, "Redis Disabled");
	assert_int_equal(f->severity, PRS_SEV_MEDIUM);
	assert_string_equal(f->path,
	    "path/test/fixtures/experimental_test/sample/sample.tf");
	assert_int_equal(f->line, 4);
	assert_string_equal(f->category, "Encryption");
	assert_string_equal(f->url, "https://registry.terraform.io/"
	    "providers/hashicorp/aws/latest/docs/resources/"
	    "elasticache_cluster#engine");
	assert_string_equal(f->expected, "resource.aws_elasticache_cluster"
	    "[positive1].engine should have Redis enabled");
	assert_string_equal(f->actual, "resource.aws_elasticache_cluster"
	    "[positive1].engine doesn't enable Redis");
	assert_true(strncmp(f->description, "ElastiCache should have Redis "
	    "enabled", 35) == 0);
	assert_string_equal(f->fingerprint, "32a6747d15f909ebe86d171c56387"
	    "8dd7e06dfb2f9ec1b569ef46e810860f27a");
	prs_result_free(r);
}

static void
test_defectdojo_2021_schema(void **state)
{
	struct prs_scan_result *r;
	const struct prs_finding *f;

	(void)state;
	r = parse_ok(KICS_DIR, "defectdojo_kics_many_findings.json", ROOT);
	f = &r->findings[0];
	assert_string_equal(f->rule_name,
	    "Passwords And Secrets In Infrastructure Code");
	assert_string_equal(f->rule_id,
	    "f996f3cb-00fc-480c-8973-8ab04d44a8cc");
	assert_int_equal(f->severity, PRS_SEV_HIGH);
	assert_string_equal(f->path, "test/charts/example/terraform/main.tf");
	assert_int_equal(f->line, 25);
	assert_string_equal(f->category, "Secret Management");
	assert_string_equal(f->description,
	    "Query to find passwords and secrets in infrastructure code.");
	assert_string_equal(f->expected,
	    "Hardcoded secret key should not appear in source");
	assert_null(f->actual);	/* "" in the report */

	f = &r->findings[17];
	assert_string_equal(f->rule_name, "S3 Bucket Logging Disabled");
	assert_int_equal(f->severity, PRS_SEV_LOW);
	assert_string_equal(f->path, "test/charts/example/terraform/s3.tf");
	assert_int_equal(f->line, 5);
	prs_result_free(r);
}

/* einput_* files are refused with a message; ok_* files parse. */
static void
test_hostile_folder(void **state)
{
	struct prs_scan_result *r;
	struct dirent *de;
	DIR *d;
	size_t refused = 0;
	size_t parsed = 0;
	int rc;

	(void)state;
	d = opendir(HOSTILE_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		r = (struct prs_scan_result *)1;
		prs_error_clear();
		rc = parse_file(HOSTILE_DIR, de->d_name, ROOT, &r);
		if (strncmp(de->d_name, "einput_", 7) == 0) {
			if (rc != PRS_EINPUT)
				fail_msg("%s: want PRS_EINPUT, got %d",
				    de->d_name, rc);
			assert_null(r);
			assert_non_null(strstr(prs_error_last(), "KICS"));
			refused++;
		} else {
			if (rc != 0)
				fail_msg("%s: %s", de->d_name,
				    prs_error_last());
			prs_result_free(r);
			parsed++;
		}
	}
	closedir(d);
	assert_true(refused >= 20);
	assert_int_equal(parsed, 4);
}

static void
test_hostile_safe_results(void **state)
{
	struct prs_scan_result *r;
	size_t i;

	(void)state;
	r = parse_ok(HOSTILE_DIR, "ok_line_negative.json", ROOT);
	assert_int_equal(r->nfindings, 2);
	assert_int_equal(r->findings[0].line, 1);
	assert_int_equal(r->findings[1].line, 1);
	assert_string_equal(r->findings[1].path, "b.tf");
	prs_result_free(r);

	r = parse_ok(HOSTILE_DIR, "ok_escaping_paths.json", ROOT);
	assert_int_equal(r->nfindings, 6);
	for (i = 0; i < 5; i++) {
		assert_null(r->findings[i].path);
		assert_int_equal(r->findings[i].line, (long)i + 1);
	}
	assert_string_equal(r->findings[5].path, "ok/fine.tf");
	prs_result_free(r);

	r = parse_ok(HOSTILE_DIR, "ok_unknown_severity.json", ROOT);
	assert_int_equal(r->nfindings, 1);
	assert_int_equal(r->findings[0].severity, PRS_SEV_INFO);
	assert_null(r->findings[0].expected);
	assert_null(r->findings[0].actual);
	assert_null(r->findings[0].description);
	assert_null(r->scanner_version);
	assert_int_equal(r->files_scanned, -1);
	prs_result_free(r);

	r = parse_ok(HOSTILE_DIR, "ok_files_missing.json", ROOT);
	assert_int_equal(r->nfindings, 0);
	prs_result_free(r);
}

/* A 1 MB description of two-byte characters is cut, still valid UTF-8. */
static void
test_huge_description(void **state)
{
	struct prs_scan_result *r = NULL;
	const char *head = "{\"queries\":[{\"query_name\":\"Q\","
	    "\"query_id\":\"i\",\"severity\":\"HIGH\",\"description\":\"x";
	const char *tail = "\",\"files\":[{\"file_name\":\"a.tf\","
	    "\"line\":3}]}]}";
	size_t n = 512 * 1024;
	size_t len;
	char *text;
	char *p;
	json_t *j;

	(void)state;
	text = malloc(strlen(head) + 2 * n + strlen(tail) + 1);
	assert_non_null(text);
	p = stpcpy(text, head);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, "\xc3\xa9");	/* é */
	p = stpcpy(p, tail);
	len = (size_t)(p - text);

	assert_int_equal(prs_kics_parse(text, len, ROOT, &r), 0);
	assert_int_equal(r->nfindings, 1);
	assert_true(strlen(r->findings[0].description) <= 64 * 1024);
	assert_true(strlen(r->findings[0].description) > 60 * 1024);
	j = json_string(r->findings[0].description);
	assert_non_null(j);	/* jansson accepts only valid UTF-8 */
	json_decref(j);
	prs_result_free(r);
	free(text);
}

static void
test_size_and_count_caps(void **state)
{
	struct prs_scan_result *r = (struct prs_scan_result *)1;
	const char *entry = "{\"file_name\":\"a.tf\",\"line\":1},";
	const char *head = "{\"queries\":[{\"query_name\":\"Q\","
	    "\"query_id\":\"i\",\"severity\":\"LOW\",\"files\":[";
	size_t n = 100001;
	char *text;
	char *p;

	(void)state;
	assert_int_equal(prs_kics_parse("{}", (size_t)257 << 20, ROOT, &r),
	    PRS_EINPUT);
	assert_null(r);
	assert_int_equal(prs_kics_parse(NULL, 0, ROOT, &r), PRS_EINPUT);

	text = malloc(strlen(head) + n * strlen(entry) + 16);
	assert_non_null(text);
	p = stpcpy(text, head);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, entry);
	strcpy(p - 1, "]}]}");
	assert_int_equal(prs_kics_parse(text, strlen(text), ROOT, &r),
	    PRS_EINPUT);
	assert_null(r);
	assert_non_null(strstr(prs_error_last(), "100000"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_fixture),
		cmocka_unit_test(test_e2e_036_fields),
		cmocka_unit_test(test_e2e_069_windows_path),
		cmocka_unit_test(test_defectdojo_2021_schema),
		cmocka_unit_test(test_hostile_folder),
		cmocka_unit_test(test_hostile_safe_results),
		cmocka_unit_test(test_huge_description),
		cmocka_unit_test(test_size_and_count_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
