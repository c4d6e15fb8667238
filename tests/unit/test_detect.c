/*
 * Black Duck Detect RAPID results: both recorded shapes in
 * tests/fixtures/detect with their real components, the policy severity
 * scale, hostile files in tests/fixtures/detect-hostile (einput_* refused,
 * ok_* parsed safely), and the manifest locator on a temporary clone.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "prscan/detect.h"
#include "prscan/error.h"
#include "prscan/finding.h"

#define DETECT_DIR PRSCAN_TEST_FIXTURES "/detect"
#define HOSTILE_DIR PRSCAN_TEST_FIXTURES "/detect-hostile"
#define RAPID_2021 "rapid_scan_result_file.json"
#define SERVER "bd_developer_scans_api_response_jsonPayloadDetect.json"

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
	rc = prs_detect_parse(text, len, root, r);
	free(text);
	return rc;
}

static struct prs_scan_result *
parse_text(const char *text, const char *root)
{
	struct prs_scan_result *r = NULL;

	if (prs_detect_parse(text, strlen(text), root, &r) != 0)
		fail_msg("%s", prs_error_last());
	assert_non_null(r);
	return r;
}

static const struct prs_finding *
by_rule(const struct prs_scan_result *r, const char *rule_id)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].rule_id, rule_id) == 0)
			return &r->findings[i];
	fail_msg("no finding %s", rule_id);
	return NULL;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("%s\n--- does not contain ---\n%s",
		    hay ? hay : "(null)", needle);
}

/* 2021 shape: three elements, two alike, no severities. */
static void
test_rapid_2021(void **state)
{
	struct prs_scan_result *r = NULL;
	const struct prs_finding *f;

	(void)state;
	assert_int_equal(parse_file(DETECT_DIR, RAPID_2021, NULL, &r), 0);
	assert_int_equal(r->nfindings, 2);
	assert_null(r->scanner_version);
	assert_int_equal(r->files_scanned, -1);

	f = by_rule(r, "golang:github.com/gogo/protobuf:v1.3.1");
	assert_string_equal(f->rule_name,
	    "gogo-protobuf v1.3.1: overall score => 9");
	assert_int_equal(f->severity, PRS_SEV_INFO);
	assert_string_equal(f->category, "golang");
	assert_null(f->path);
	assert_contains(f->description, "overall score => 9");
	assert_contains(f->description, "found vulnerability CVE-2021-3121 "
	    "with severity CRITICAL and CVSS score 9.8");

	f = by_rule(r, "golang:github.com/gogo/protobuf:v1.2.0");
	assert_string_equal(f->rule_name,
	    "gogo-protobuf v1.2.0: overall score => 9");
	prs_result_free(r);
}

/* The server's {totalCount, items}: ten components, policy Vuln01. */
static void
test_server_response(void **state)
{
	struct prs_scan_result *r = NULL;
	const struct prs_finding *f;
	size_t i;

	(void)state;
	assert_int_equal(parse_file(DETECT_DIR, SERVER, NULL, &r), 0);
	assert_int_equal(r->nfindings, 10);
	for (i = 0; i < r->nfindings; i++) {
		assert_int_equal(r->findings[i].severity, PRS_SEV_INFO);
		assert_string_equal(r->findings[i].category, "maven");
		assert_null(r->findings[i].path);
	}

	f = by_rule(r, "maven:org.springframework:spring-beans:5.3.18");
	assert_ptr_equal(f, &r->findings[0]);
	assert_string_equal(f->rule_name, "Spring Framework 5.3.18: Vuln01");
	assert_contains(f->description, "Vuln01 (UNSPECIFIED)");
	assert_contains(f->description,
	    "CVE-2016-1000027 (CRITICAL, score 9.8, CWE-502)");
	assert_contains(f->description,
	    "BDSA-2022-1330 (MEDIUM, score 5.7, CWE-684)");
	assert_contains(f->description,
	    "Upgrade guidance: short term 5.3.25, long term 6.0.4");

	f = by_rule(r, "maven:org.yaml:snakeyaml:1.30");
	assert_string_equal(f->rule_name, "SnakeYAML 1.30: Vuln01");
	assert_contains(f->description, "CVE-2022-1471 (CRITICAL, score 9.8");
	assert_contains(f->description,
	    "BDSA-2022-2590 (MEDIUM, score 5.3, CWE-121 CWE-674)");

	f = by_rule(r, "maven:com.fasterxml.jackson.core:jackson-databind:"
	    "2.13.2");
	assert_contains(f->description, "BDSA-2022-2765 (MEDIUM, score 6.7)");
	assert_contains(f->description, "short term 2.14.2");
	prs_result_free(r);
}

/* BLOCKER CRITICAL, CRITICAL HIGH, MAJOR MEDIUM, MINOR LOW, else INFO. */
static void
test_severity_mapping(void **state)
{
	static const struct {
		const char *policy;
		enum prs_severity want;
	} cases[] = {
		{ "BLOCKER", PRS_SEV_CRITICAL }, { "CRITICAL", PRS_SEV_HIGH },
		{ "MAJOR", PRS_SEV_MEDIUM }, { "MINOR", PRS_SEV_LOW },
		{ "TRIVIAL", PRS_SEV_INFO }, { "UNSPECIFIED", PRS_SEV_INFO },
		{ "blocker", PRS_SEV_CRITICAL }, { NULL, PRS_SEV_INFO },
	};
	struct prs_scan_result *r;
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].policy != NULL)
			snprintf(text, sizeof(text), "[{\"componentName\": "
			    "\"c\", \"violatingPolicies\": [{\"policyName\": "
			    "\"p\", \"policySeverity\": \"%s\"}]}]",
			    cases[i].policy);
		else
			snprintf(text, sizeof(text), "[{\"componentName\": "
			    "\"c\", \"violatingPolicies\": [{\"policyName\": "
			    "\"p\"}]}]");
		r = parse_text(text, NULL);
		assert_int_equal(r->nfindings, 1);
		assert_int_equal(r->findings[0].severity, cases[i].want);
		assert_string_equal(r->findings[0].rule_id, "c");
		prs_result_free(r);
	}
}

/* The most severe policy wins, also from a vulnerability's policies. */
static void
test_most_severe_policy(void **state)
{
	struct prs_scan_result *r;
	const struct prs_finding *f;

	(void)state;
	r = parse_text("[{\"componentName\": \"lodash\", \"versionName\": "
	    "\"4.17.20\", \"violatingPolicies\": [{\"policyName\": \"a\", "
	    "\"policySeverity\": \"MINOR\"}, {\"policyName\": \"b\", "
	    "\"policySeverity\": \"MAJOR\"}], "
	    "\"policyViolationVulnerabilities\": [{\"name\": \"CVE-2021-23337\","
	    " \"vulnSeverity\": \"HIGH\", \"overallScore\": 7, "
	    "\"violatingPolicies\": [{\"policyName\": \"c\", "
	    "\"policySeverity\": \"BLOCKER\"}, {\"policyName\": \"a\", "
	    "\"policySeverity\": \"CRITICAL\"}]}], "
	    "\"policyViolationLicenses\": [{\"name\": \"GPL-3.0\"}]}]", NULL);
	assert_int_equal(r->nfindings, 1);
	f = &r->findings[0];
	assert_int_equal(f->severity, PRS_SEV_CRITICAL);
	assert_string_equal(f->rule_id, "lodash:4.17.20");
	assert_string_equal(f->rule_name, "lodash 4.17.20: a, b, c");
	assert_null(f->category);
	assert_contains(f->description, "a (CRITICAL), b (MAJOR), "
	    "c (BLOCKER)");
	assert_contains(f->description, "CVE-2021-23337 (HIGH, score 7.0)");
	assert_contains(f->description, "Licenses:\n- GPL-3.0");
	prs_result_free(r);
}

static void
test_exit_names(void **state)
{
	(void)state;
	assert_string_equal(prs_detect_exit_name(1),
	    "FAILURE_BLACKDUCK_CONNECTIVITY");
	assert_string_equal(prs_detect_exit_name(3),
	    "FAILURE_POLICY_VIOLATION");
	assert_string_equal(prs_detect_exit_name(7), "FAILURE_CONFIGURATION");
	assert_string_equal(prs_detect_exit_name(100),
	    "FAILURE_UNKNOWN_ERROR");
	assert_null(prs_detect_exit_name(8));
	assert_null(prs_detect_exit_name(-1));
	assert_null(prs_detect_exit_name(255));
}

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static void
check_ok(const char *name, const struct prs_scan_result *r)
{
	size_t i;

	if (strcmp(name, "ok_empty_array.json") == 0 ||
	    strcmp(name, "ok_empty_items.json") == 0 ||
	    strcmp(name, "ok_no_policy.json") == 0) {
		assert_int_equal(r->nfindings, 0);
		return;
	}
	assert_int_equal(r->nfindings, 1);
	for (i = 0; i < r->nfindings; i++) {
		assert_non_null(r->findings[i].rule_id);
		assert_non_null(r->findings[i].rule_name);
		assert_non_null(r->findings[i].description);
		assert_null(r->findings[i].path);
	}
	if (strcmp(name, "ok_unknown_severity.json") == 0) {
		assert_int_equal(r->findings[0].severity, PRS_SEV_INFO);
		assert_string_equal(r->findings[0].rule_id, "odd");
	}
	if (strcmp(name, "ok_many_vulns.json") == 0) {
		assert_int_equal(r->findings[0].severity, PRS_SEV_LOW);
		assert_contains(r->findings[0].description, "and 450 more");
		assert_true(strlen(r->findings[0].description) < 64 * 1024);
	}
}

static void
test_hostile(void **state)
{
	struct prs_scan_result *r;
	struct dirent *de;
	size_t seen = 0;
	DIR *d;
	int rc;

	(void)state;
	d = opendir(HOSTILE_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		r = NULL;
		rc = parse_file(HOSTILE_DIR, de->d_name, "/nonexistent", &r);
		if (has_prefix(de->d_name, "einput_")) {
			if (rc != PRS_EINPUT)
				fail_msg("%s: got %d", de->d_name, rc);
			assert_null(r);
			assert_true(has_prefix(prs_error_last(),
			    "Detect result"));
		} else {
			if (rc != 0)
				fail_msg("%s: %s", de->d_name,
				    prs_error_last());
			check_ok(de->d_name, r);
			prs_result_free(r);
		}
		seen++;
	}
	closedir(d);
	assert_true(seen >= 20);
}

static void
test_hostile_messages(void **state)
{
	struct prs_scan_result *r = NULL;

	(void)state;
	assert_int_equal(parse_file(HOSTILE_DIR, "einput_score_string.json",
	    NULL, &r), PRS_EINPUT);
	assert_string_equal(prs_error_last(),
	    "Detect result: component 0: overallScore is not a number");
	assert_int_equal(parse_file(HOSTILE_DIR, "einput_name_missing.json",
	    NULL, &r), PRS_EINPUT);
	assert_string_equal(prs_error_last(),
	    "Detect result: component 0: componentName is missing");
	assert_int_equal(parse_file(HOSTILE_DIR, "einput_items_missing.json",
	    NULL, &r), PRS_EINPUT);
	assert_string_equal(prs_error_last(),
	    "Detect result: items is missing");
}

/* A temporary clone for the locator, removed by teardown. */
struct tree {
	char root[64];
	char outside[64];
};

static void
write_at(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fp = fopen(path, "w");
	if (fp == NULL)
		fail_msg("cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
}

static void
mkdir_at(const char *dir, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(mkdir(path, 0700), 0);
}

static int
tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char link[512], target[512];

	assert_non_null(t);
	snprintf(t->root, sizeof(t->root), "/tmp/prscan-detect-XXXXXX");
	snprintf(t->outside, sizeof(t->outside), "/tmp/prscan-out-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	assert_non_null(mkdtemp(t->outside));

	write_at(t->root, "package.json", "{\n  \"name\": \"web\",\n"
	    "  \"description\": \"uses lodash and left-pad\",\n"
	    "  \"dependencies\": {\n    \"@types/lodash\": \"^4\",\n"
	    "    \"lodash\": \"4.17.20\"\n  }\n}\n");
	mkdir_at(t->root, "server");
	write_at(t->root, "server/pom.xml", "<project>\n  <dependencies>\n"
	    "    <dependency>\n      <groupId>org.springframework</groupId>\n"
	    "      <artifactId>spring-beans-extra</artifactId>\n"
	    "      <artifactId>spring-beans</artifactId>\n"
	    "    </dependency>\n  </dependencies>\n</project>\n");
	mkdir_at(t->root, "tools");
	write_at(t->root, "tools/requirements.txt", "# requests pinned\n"
	    "requests-oauthlib==1.3\n  requests==2.25.1\n");
	write_at(t->root, "go.mod", "module example.com/app\n\ngo 1.20\n\n"
	    "require (\n\tgithub.com/gogo/protobuf/v2 v2.0.0\n"
	    "\tgithub.com/gogo/protobuf v1.3.1\n)\n");
	/* Deeper copies lose to shallower ones. */
	mkdir_at(t->root, "web");
	write_at(t->root, "web/package.json", "{\"lodash\": \"1\"}\n");
	/* Never searched. */
	mkdir_at(t->root, "node_modules");
	write_at(t->root, "node_modules/package.json", "{\"chalk\": \"1\"}\n");
	mkdir_at(t->root, ".git");
	write_at(t->root, ".git/package.json", "{\"chalk\": \"1\"}\n");
	/* A symlink out of the clone, to a directory and to a file. */
	write_at(t->outside, "package.json", "{\"leftpad\": \"1\"}\n");
	write_at(t->outside, "Cargo.toml", "serde = \"1\"\n");
	snprintf(link, sizeof(link), "%s/escape", t->root);
	assert_int_equal(symlink(t->outside, link), 0);
	snprintf(link, sizeof(link), "%s/Cargo.toml", t->root);
	assert_int_equal(symlink("../../../../../../../../tmp/x", link), 0);
	snprintf(link, sizeof(link), "%s/tools/Gemfile.lock", t->root);
	snprintf(target, sizeof(target), "%s/Cargo.toml", t->outside);
	assert_int_equal(symlink(target, link), 0);
	*state = t;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
tree_teardown(void **state)
{
	struct tree *t = *state;

	nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(t->outside, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

#define COMPONENT(id, name, version) \
	"{\"componentName\": \"" name "\", \"versionName\": \"" version \
	"\", \"componentIdentifier\": \"" id "\", \"violatingPolicies\": " \
	"[{\"policyName\": \"p\", \"policySeverity\": \"MAJOR\"}]}"

static void
assert_at(const struct prs_scan_result *r, const char *rule_id,
    const char *path, long line)
{
	const struct prs_finding *f = by_rule(r, rule_id);

	if (path == NULL) {
		if (f->path != NULL)
			fail_msg("%s: unexpected %s:%ld", rule_id, f->path,
			    f->line);
		return;
	}
	if (f->path == NULL)
		fail_msg("%s: not located, want %s:%ld", rule_id, path, line);
	assert_string_equal(f->path, path);
	assert_int_equal(f->line, line);
}

static void
test_locate(void **state)
{
	struct tree *t = *state;
	struct prs_scan_result *r;

	r = parse_text("[" COMPONENT("npmjs:lodash/4.17.20", "Lodash",
	    "4.17.20") ","
	    COMPONENT("maven:org.springframework:spring-beans:5.3.18",
	    "Spring Framework", "5.3.18") ","
	    COMPONENT("pypi:requests/2.25.1", "Requests", "2.25.1") ","
	    COMPONENT("golang:github.com/gogo/protobuf:v1.3.1",
	    "gogo-protobuf", "v1.3.1") ","
	    COMPONENT("npmjs:leftpad/1.0.0", "leftpad", "1.0.0") ","
	    COMPONENT("npmjs:chalk/1.0.0", "chalk", "1.0.0") ","
	    COMPONENT("crates:serde/1.0.0", "serde", "1.0.0") ","
	    COMPONENT("npmjs:left-pad/1.0.0", "left-pad", "1.0.0") "]",
	    t->root);
	assert_int_equal(r->nfindings, 8);
	assert_at(r, "npmjs:lodash/4.17.20", "package.json", 6);
	assert_at(r, "maven:org.springframework:spring-beans:5.3.18",
	    "server/pom.xml", 6);
	assert_at(r, "pypi:requests/2.25.1", "tools/requirements.txt", 3);
	assert_at(r, "golang:github.com/gogo/protobuf:v1.3.1", "go.mod", 7);
	/* Only behind symlinks, in node_modules or .git, or in prose. */
	assert_at(r, "npmjs:leftpad/1.0.0", NULL, 0);
	assert_at(r, "npmjs:chalk/1.0.0", NULL, 0);
	assert_at(r, "crates:serde/1.0.0", NULL, 0);
	assert_at(r, "npmjs:left-pad/1.0.0", NULL, 0);
	prs_result_free(r);
}

/* The 2021 fixture against the clone: gogo-protobuf is in go.mod. */
static void
test_locate_fixture(void **state)
{
	struct tree *t = *state;
	struct prs_scan_result *r = NULL;

	assert_int_equal(parse_file(DETECT_DIR, RAPID_2021, t->root, &r), 0);
	assert_int_equal(r->nfindings, 2);
	assert_at(r, "golang:github.com/gogo/protobuf:v1.3.1", "go.mod", 7);
	assert_at(r, "golang:github.com/gogo/protobuf:v1.2.0", "go.mod", 7);
	prs_result_free(r);
}

/* Names from rule_id and rule_name when the finding came from elsewhere. */
static void
test_locate_from_finding(void **state)
{
	struct tree *t = *state;
	struct prs_scan_result *r = prs_result_new();
	struct prs_finding f;

	memset(&f, 0, sizeof(f));
	f.rule_id = (char *)(uintptr_t)"lodash:4.17.20";
	f.rule_name = (char *)(uintptr_t)"lodash 4.17.20: p";
	assert_non_null(r);
	assert_int_equal(prs_result_add(r, &f), 0);
	f.rule_id = (char *)(uintptr_t)"x";
	f.rule_name = (char *)(uintptr_t)"requests 2.25.1: p";
	assert_int_equal(prs_result_add(r, &f), 0);
	assert_int_equal(prs_detect_locate(t->root, r), 0);
	assert_at(r, "lodash:4.17.20", "package.json", 6);
	assert_at(r, "x", "tools/requirements.txt", 3);
	assert_int_equal(prs_detect_locate("/nonexistent/clone", r), 0);
	prs_result_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rapid_2021),
		cmocka_unit_test(test_server_response),
		cmocka_unit_test(test_severity_mapping),
		cmocka_unit_test(test_most_severe_policy),
		cmocka_unit_test(test_exit_names),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_hostile_messages),
		cmocka_unit_test_setup_teardown(test_locate, tree_setup,
		    tree_teardown),
		cmocka_unit_test_setup_teardown(test_locate_fixture,
		    tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_locate_from_finding,
		    tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
