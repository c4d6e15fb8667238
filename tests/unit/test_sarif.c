/*
 * SARIF logs: every recorded log in tests/fixtures/sarif with its real
 * counts and fields, the severity mapping, hostile logs in
 * tests/fixtures/sarif-hostile (einput_* must be refused, ok_* must parse
 * to safe results), the SCANNER_CMD template and SCANNER_OK_EXITS, and
 * prs_proc_run_split() keeping a scanner's stdout apart from its stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "prscan/error.h"
#include "prscan/finding.h"
#include "prscan/proc.h"
#include "prscan/sarif.h"

#define SARIF_DIR PRSCAN_TEST_FIXTURES "/sarif"
#define HOSTILE_DIR PRSCAN_TEST_FIXTURES "/sarif-hostile"
#define ROOT "/work/clone"

/* What a recorded log holds. */
struct expect {
	const char *file;
	const char *root;
	size_t nfindings;
	const char *version;
	size_t per_severity[PRS_SEV_COUNT];	/* TRACE .. CRITICAL */
	size_t with_path;
};

static const struct expect expected[] = {
	{ "kics_E2E_CLI_080_RESULT.sarif", ROOT, 1, "development",
	    { 0, 0, 0, 0, 1, 0 }, 1 },
	{ "defectdojo_gitleaks_7.5.0.sarif", ROOT, 8, "v7.4.0",
	    { 0, 0, 0, 8, 0, 0 }, 8 },
	{ "flawfinder-2.0.19.sarif", ROOT, 4, "2.0.19",
	    { 0, 0, 1, 0, 3, 0 }, 4 },
	{ "defectdojo_flawfinder_one_vuln.sarif", ROOT, 1, "2.0.20",
	    { 0, 0, 0, 0, 1, 0 }, 1 },
	{ "ansible-lint-6.13.1.sarif", "/src/ansible", 12, "6.13.1",
	    { 0, 0, 0, 0, 12, 0 }, 12 },
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
	rc = prs_sarif_parse(text, len, root, r);
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

static void
assert_finding(const struct prs_finding *f, const char *rule_id,
    enum prs_severity sev, const char *path, long line)
{
	if (rule_id == NULL)
		assert_null(f->rule_id);
	else
		assert_string_equal(f->rule_id, rule_id);
	assert_int_equal(f->severity, sev);
	if (path == NULL) {
		assert_null(f->path);
	} else {
		assert_non_null(f->path);
		assert_string_equal(f->path, path);
		assert_int_equal(f->line, line);
	}
}

static void
test_every_fixture(void **state)
{
	size_t i, k, counts[PRS_SEV_COUNT], with_path;
	struct prs_scan_result *r;

	(void)state;
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct expect *e = &expected[i];

		r = parse_ok(SARIF_DIR, e->file, e->root);
		assert_int_equal(r->nfindings, e->nfindings);
		assert_non_null(r->scanner_version);
		assert_string_equal(r->scanner_version, e->version);
		memset(counts, 0, sizeof(counts));
		with_path = 0;
		for (k = 0; k < r->nfindings; k++) {
			counts[r->findings[k].severity]++;
			if (r->findings[k].path != NULL)
				with_path++;
			assert_non_null(r->findings[k].description);
		}
		for (k = 0; k < PRS_SEV_COUNT; k++)
			if (counts[k] != e->per_severity[k])
				fail_msg("%s: %zu %s findings, want %zu",
				    e->file, counts[k],
				    prs_severity_name((enum prs_severity)k),
				    e->per_severity[k]);
		assert_int_equal(with_path, e->with_path);
		prs_result_free(r);
	}
}

/* Every file in the folder is covered by the table above. */
static void
test_every_file_listed(void **state)
{
	struct dirent *de;
	size_t i, n = 0;
	DIR *d;

	(void)state;
	d = opendir(SARIF_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
			if (strcmp(expected[i].file, de->d_name) == 0)
				break;
		if (i == sizeof(expected) / sizeof(expected[0]))
			fail_msg("%s is not checked", de->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, sizeof(expected) / sizeof(expected[0]));
}

/* KICS's own SARIF: Windows back-slashes, the rule by ruleIndex. */
static void
test_kics_windows_paths(void **state)
{
	struct prs_scan_result *r;
	const struct prs_finding *f;

	(void)state;
	r = parse_ok(SARIF_DIR, "kics_E2E_CLI_080_RESULT.sarif", ROOT);
	f = &r->findings[0];
	assert_finding(f, "62ff6823-927a-427f-acf9-f1ea2932d616",
	    PRS_SEV_HIGH, "test/fixtures/test_sarif_cwe_report/"
	    "script_block_injection/test/positive1.yaml", 17);
	assert_string_equal(f->rule_name, "Script Block Injection");
	assert_string_equal(f->url, "https://securitylab.github.com/"
	    "research/github-actions-untrusted-input/");
	assert_non_null(strstr(f->description, "Script block contains "
	    "dangerous input controlled by user.\n\nGitHub Actions "
	    "workflows"));
	assert_ptr_equal(strstr(f->description, "Script"), f->description);
	prs_result_free(r);
}

static void
test_flawfinder_fields(void **state)
{
	struct prs_scan_result *r;
	const struct prs_finding *f;

	(void)state;
	r = parse_ok(SARIF_DIR, "flawfinder-2.0.19.sarif", ROOT);
	assert_finding(&r->findings[0], "FF1013", PRS_SEV_LOW, "vuln.c", 6);
	assert_finding(&r->findings[1], "FF1001", PRS_SEV_HIGH, "vuln.c", 8);
	assert_finding(&r->findings[2], "FF1044", PRS_SEV_HIGH, "vuln.c", 9);
	assert_finding(&r->findings[3], "FF1016", PRS_SEV_HIGH, "vuln.c",
	    11);
	f = &r->findings[1];
	assert_string_equal(f->rule_name, "buffer/strcpy");
	assert_string_equal(f->description, "buffer/strcpy:Does not check "
	    "for buffer overflows when copying to destination [MS-banned] "
	    "(CWE-120).");
	assert_string_equal(f->url,
	    "https://cwe.mitre.org/data/definitions/120.html");
	assert_string_equal(f->fingerprint, "ec15926452585fb0f64c4b89b2303693"
	    "a78314070b7ae452808885cc6cfbe3dd");
	prs_result_free(r);

	r = parse_ok(SARIF_DIR, "defectdojo_flawfinder_one_vuln.sarif", ROOT);
	assert_finding(&r->findings[0], "FF1044", PRS_SEV_HIGH, "single.c",
	    3);
	assert_string_equal(r->findings[0].rule_name, "shell/system");
	prs_result_free(r);
}

/* Gitleaks names no rule: the message alone; no secret is carried. */
static void
test_gitleaks_without_rules(void **state)
{
	struct prs_scan_result *r;
	size_t i;

	(void)state;
	r = parse_ok(SARIF_DIR, "defectdojo_gitleaks_7.5.0.sarif", ROOT);
	assert_finding(&r->findings[0], NULL, PRS_SEV_MEDIUM,
	    "dojo/unittests/scans/gitlab_secret_detection_report/"
	    "gitlab_secret_detection_report_1_vuln.json", 13);
	assert_finding(&r->findings[4], NULL, PRS_SEV_MEDIUM,
	    "dojo/unittests/tools/test_gitlab_secret_detection_report_"
	    "parser.py", 37);
	assert_string_equal(r->findings[2].description,
	    "Asymmetric Private Key secret detected");
	for (i = 0; i < r->nfindings; i++) {
		const struct prs_finding *f = &r->findings[i];

		assert_null(f->rule_name);
		assert_null(f->fingerprint);
		assert_null(strstr(f->description, "AKIAIOSFODNN7EXAMPLE"));
	}
	prs_result_free(r);
}

/* ansible-lint: SRCROOT is file:///src/ansible/, the clone elsewhere. */
static void
test_ansible_lint_base(void **state)
{
	struct prs_scan_result *r;

	(void)state;
	r = parse_ok(SARIF_DIR, "ansible-lint-6.13.1.sarif", ROOT);
	assert_int_equal(r->nfindings, 12);
	assert_finding(&r->findings[0], "name[play]", PRS_SEV_HIGH,
	    "playbook.yml", 2);
	assert_finding(&r->findings[11], "yaml[octal-values]", PRS_SEV_HIGH,
	    "playbook.yml", 10);
	assert_string_equal(r->findings[11].description,
	    "Forbidden implicit octal value \"0777\"");
	assert_string_equal(r->findings[0].url,
	    "https://ansible-lint.readthedocs.io/rules/name/");
	prs_result_free(r);
}

static void
test_severity_mapping(void **state)
{
	(void)state;
	assert_int_equal(prs_sarif_severity("error", -1), PRS_SEV_HIGH);
	assert_int_equal(prs_sarif_severity("warning", -1), PRS_SEV_MEDIUM);
	assert_int_equal(prs_sarif_severity(NULL, -1), PRS_SEV_MEDIUM);
	assert_int_equal(prs_sarif_severity("note", -1), PRS_SEV_LOW);
	assert_int_equal(prs_sarif_severity("none", -1), PRS_SEV_INFO);
	assert_int_equal(prs_sarif_severity("note", 10.0), PRS_SEV_CRITICAL);
	assert_int_equal(prs_sarif_severity("note", 9.0), PRS_SEV_CRITICAL);
	assert_int_equal(prs_sarif_severity("note", 8.9), PRS_SEV_HIGH);
	assert_int_equal(prs_sarif_severity("note", 7.0), PRS_SEV_HIGH);
	assert_int_equal(prs_sarif_severity("error", 6.9), PRS_SEV_MEDIUM);
	assert_int_equal(prs_sarif_severity("error", 4.0), PRS_SEV_MEDIUM);
	assert_int_equal(prs_sarif_severity("error", 3.9), PRS_SEV_LOW);
	assert_int_equal(prs_sarif_severity("error", 0.1), PRS_SEV_LOW);
	assert_int_equal(prs_sarif_severity("error", 0.0), PRS_SEV_INFO);
}

static void
test_hostile_folder(void **state)
{
	struct prs_scan_result *r;
	struct dirent *de;
	size_t refused = 0, parsed = 0;
	DIR *d;
	int rc;

	(void)state;
	d = opendir(HOSTILE_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		r = NULL;
		rc = parse_file(HOSTILE_DIR, de->d_name, ROOT, &r);
		if (strncmp(de->d_name, "einput_", 7) == 0) {
			if (rc != PRS_EINPUT)
				fail_msg("%s: rc %d, want PRS_EINPUT",
				    de->d_name, rc);
			assert_null(r);
			assert_non_null(strstr(prs_error_last(), "SARIF"));
			refused++;
		} else {
			if (rc != 0)
				fail_msg("%s: %s", de->d_name,
				    prs_error_last());
			parsed++;
		}
		prs_result_free(r);
	}
	closedir(d);
	assert_true(refused >= 30);
	assert_true(parsed >= 6);
}

static void
assert_error_says(const char *file, const char *words)
{
	struct prs_scan_result *r = NULL;

	assert_int_equal(parse_file(HOSTILE_DIR, file, ROOT, &r),
	    PRS_EINPUT);
	if (strstr(prs_error_last(), words) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", file,
		    prs_error_last(), words);
}

static void
test_hostile_messages(void **state)
{
	(void)state;
	assert_error_says("einput_level_unknown.sarif",
	    "run 0 result 0: level \"critical\" is not error, warning, "
	    "note or none");
	assert_error_says("einput_rule_index_outside.sarif",
	    "run 0 result 0: ruleIndex is outside the rules");
	assert_error_says("einput_runs_missing.sarif", "runs is missing");
	assert_error_says("einput_driver_missing.sarif",
	    "run 0: tool.driver is missing");
	assert_error_says("einput_security_severity_word.sarif",
	    "security-severity is not a number");
	assert_error_says("einput_start_line_string.sarif",
	    "startLine is not an integer");
	assert_error_says("einput_base_cycle.sarif",
	    "uriBaseId chain is too long");
	assert_error_says("einput_result_not_object.sarif",
	    "run 0 result 1: the result is not an object");
	assert_error_says("einput_deep_nesting.sarif", "not JSON");
}

static void
test_escaping_paths(void **state)
{
	struct prs_scan_result *r;
	size_t i;

	(void)state;
	r = parse_ok(HOSTILE_DIR, "ok_escaping_paths.sarif", ROOT);
	assert_int_equal(r->nfindings, 13);
	for (i = 0; i + 1 < r->nfindings; i++)
		if (r->findings[i].path != NULL)
			fail_msg("finding %zu kept path %s", i,
			    r->findings[i].path);
	assert_finding(&r->findings[12], "R1", PRS_SEV_MEDIUM, "ok/fine.c",
	    13);
	prs_result_free(r);
}

static void
test_uri_forms(void **state)
{
	static const char *const want[] = {
		"src/main.c", "src/main.c", "src/with space.c",
		"src/win/path.c", "src/main.c", "main.c", "main.c",
		"abs.c", "from/artifacts.c", "lib/deep.c",
	};
	struct prs_scan_result *r;
	size_t i;

	(void)state;
	r = parse_ok(HOSTILE_DIR, "ok_uri_forms.sarif", ROOT);
	assert_int_equal(r->nfindings, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < r->nfindings; i++)
		assert_finding(&r->findings[i], "R1", PRS_SEV_MEDIUM, want[i],
		    (long)i + 1);
	prs_result_free(r);
}

static void
test_severities_from_log(void **state)
{
	static const struct {
		long line;
		enum prs_severity sev;
	} want[] = {
		{ 1, PRS_SEV_HIGH }, { 2, PRS_SEV_MEDIUM }, { 3, PRS_SEV_LOW },
		{ 4, PRS_SEV_INFO }, { 5, PRS_SEV_MEDIUM },
		{ 6, PRS_SEV_CRITICAL }, { 7, PRS_SEV_HIGH },
		{ 8, PRS_SEV_MEDIUM }, { 9, PRS_SEV_LOW }, { 10, PRS_SEV_INFO },
		{ 11, PRS_SEV_CRITICAL }, { 12, PRS_SEV_LOW },
		{ 13, PRS_SEV_LOW }, { 16, PRS_SEV_INFO },
		{ 17, PRS_SEV_MEDIUM },
	};
	struct prs_scan_result *r;
	size_t i;

	(void)state;
	r = parse_ok(HOSTILE_DIR, "ok_severities.sarif", ROOT);
	assert_int_equal(r->nfindings, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < r->nfindings; i++) {
		assert_int_equal(r->findings[i].line, want[i].line);
		if (r->findings[i].severity != want[i].sev)
			fail_msg("line %ld: %s, want %s", want[i].line,
			    prs_severity_name(r->findings[i].severity),
			    prs_severity_name(want[i].sev));
	}
	prs_result_free(r);
}

static void
test_messages(void **state)
{
	struct prs_scan_result *r;
	const struct prs_finding *f;

	(void)state;
	r = parse_ok(HOSTILE_DIR, "ok_messages.sarif", ROOT);
	assert_int_equal(r->nfindings, 9);
	f = r->findings;
	assert_string_equal(f[0].description, "buf is copied with strcpy "
	    "({2})\n\nThe full story of M.");
	assert_string_equal(f[0].rule_name, "Short M");
	assert_string_equal(f[0].url, "https://example.com/M");
	assert_null(f[0].path);
	assert_string_equal(f[1].description,
	    "{literal} x\n\nThe full story of M.");
	assert_string_equal(f[2].description, "The full story of M.");
	assert_string_equal(f[3].description,
	    "**bold**\n\nThe full story of M.");
	assert_string_equal(f[4].rule_id, "M");
	assert_string_equal(f[5].rule_id, "M");
	assert_string_equal(f[5].rule_name, "Short M");
	assert_null(f[6].rule_id);
	assert_string_equal(f[6].fingerprint, "abc:1");
	assert_string_equal(f[6].description, "no rule");
	assert_string_equal(f[7].rule_id, "UNKNOWN");
	assert_null(f[7].rule_name);
	assert_string_equal(f[7].fingerprint,
	    "0f2b1ad4-1111-2222-3333-444455556666");
	assert_string_equal(f[8].description, "The full story of M.");
	prs_result_free(r);
}

static void
test_small_safe_logs(void **state)
{
	struct prs_scan_result *r;

	(void)state;
	r = parse_ok(HOSTILE_DIR, "ok_empty_runs.sarif", ROOT);
	assert_int_equal(r->nfindings, 0);
	assert_null(r->scanner_version);
	prs_result_free(r);

	r = parse_ok(HOSTILE_DIR, "ok_results_null.sarif", ROOT);
	assert_int_equal(r->nfindings, 1);
	assert_string_equal(r->scanner_version, "v9");
	prs_result_free(r);

	r = parse_ok(HOSTILE_DIR, "ok_line_below_one.sarif", ROOT);
	assert_int_equal(r->nfindings, 3);
	assert_int_equal(r->findings[0].line, 1);
	assert_int_equal(r->findings[1].line, 1);
	assert_int_equal(r->findings[2].line, 1);
	prs_result_free(r);
}

/* More results than the cap, and a log larger than 256 MiB. */
static void
test_caps(void **state)
{
	static const char head[] = "{\"version\":\"2.1.0\",\"runs\":[{\"tool\":"
	    "{\"driver\":{\"name\":\"T\"}},\"results\":[";
	static const char one[] = "{\"message\":{\"text\":\"m\"}},";
	struct prs_scan_result *r = NULL;
	size_t n = PRS_SARIF_RESULTS_MAX + 1, len, i;
	char *text, *p;

	(void)state;
	len = sizeof(head) + n * (sizeof(one) - 1) + 8;
	text = malloc(len);
	assert_non_null(text);
	p = text + sprintf(text, "%s", head);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s", one);
	sprintf(p - 1, "]}]}");
	assert_int_equal(prs_sarif_parse(text, strlen(text), ROOT, &r),
	    PRS_EINPUT);
	assert_null(r);
	assert_non_null(strstr(prs_error_last(), "more than 100000"));

	/* One fewer parses. */
	p = text + strlen(head) + (n - 1) * (sizeof(one) - 1);
	sprintf(p - 1, "]}]}");
	assert_int_equal(prs_sarif_parse(text, strlen(text), ROOT, &r), 0);
	assert_int_equal(r->nfindings, PRS_SARIF_RESULTS_MAX);
	prs_result_free(r);
	r = NULL;

	assert_int_equal(prs_sarif_parse(text, (size_t)300 << 20, ROOT, &r),
	    PRS_EINPUT);
	assert_int_equal(prs_sarif_parse(NULL, 0, ROOT, &r), PRS_EINPUT);
	free(text);
}

static void
test_cmd_template(void **state)
{
	struct prs_sarif_cmd *c = NULL;
	char **argv = NULL;

	(void)state;
	assert_int_equal(prs_sarif_cmd_parse("  flawfinder --sarif {source} ",
	    &c), 0);
	assert_string_equal(prs_sarif_cmd_program(c), "flawfinder");
	assert_false(prs_sarif_cmd_has_output(c));
	assert_int_equal(prs_sarif_cmd_argv(c, "/w/clone", "/w/out/r.sarif",
	    &argv), 0);
	assert_string_equal(argv[0], "flawfinder");
	assert_string_equal(argv[1], "--sarif");
	assert_string_equal(argv[2], "/w/clone");
	assert_null(argv[3]);
	prs_sarif_argv_free(argv);
	prs_sarif_cmd_free(c);

	assert_int_equal(prs_sarif_cmd_parse("tool scan \"--title=a b\" "
	    "--report={output} {source}/src \"\"", &c), 0);
	assert_true(prs_sarif_cmd_has_output(c));
	assert_int_equal(prs_sarif_cmd_argv(c, "/c", "/o/r.sarif", &argv), 0);
	assert_string_equal(argv[2], "--title=a b");
	assert_string_equal(argv[3], "--report=/o/r.sarif");
	assert_string_equal(argv[4], "/c/src");
	assert_string_equal(argv[5], "");
	assert_null(argv[6]);
	prs_sarif_argv_free(argv);
	prs_sarif_cmd_free(c);

	assert_int_equal(prs_sarif_cmd_parse("", &c), PRS_EINPUT);
	assert_null(c);
	assert_int_equal(prs_sarif_cmd_parse(" \t", &c), PRS_EINPUT);
	assert_int_equal(prs_sarif_cmd_parse("tool \"open", &c), PRS_EINPUT);
	assert_non_null(strstr(prs_error_last(), "not closed"));
	assert_int_equal(prs_sarif_cmd_parse("{source} x", &c), PRS_EINPUT);
	assert_int_equal(prs_sarif_cmd_parse(NULL, &c), PRS_EINPUT);
	prs_sarif_cmd_free(NULL);
	prs_sarif_argv_free(NULL);
}

static void
test_cmd_word_cap(void **state)
{
	struct prs_sarif_cmd *c = NULL;
	char tmpl[2048];
	size_t i, n = 0;

	(void)state;
	n += (size_t)sprintf(tmpl, "tool");
	for (i = 0; i < 255; i++)
		n += (size_t)sprintf(tmpl + n, " a");
	assert_int_equal(prs_sarif_cmd_parse(tmpl, &c), 0);
	prs_sarif_cmd_free(c);
	sprintf(tmpl + n, " b");
	assert_int_equal(prs_sarif_cmd_parse(tmpl, &c), PRS_EINPUT);
	assert_null(c);
}

static void
test_ok_exits(void **state)
{
	unsigned char ok[256];

	(void)state;
	assert_int_equal(prs_sarif_exits_parse("0,1", ok), 0);
	assert_true(ok[0] && ok[1] && !ok[2] && !ok[255]);
	assert_int_equal(prs_sarif_exits_parse(" 0, 2 ,255", ok), 0);
	assert_true(ok[0] && !ok[1] && ok[2] && ok[255]);
	assert_int_equal(prs_sarif_exits_parse("0,256", ok), PRS_EINPUT);
	assert_int_equal(prs_sarif_exits_parse("0,x", ok), PRS_EINPUT);
	assert_int_equal(prs_sarif_exits_parse("1x", ok), PRS_EINPUT);
	assert_int_equal(prs_sarif_exits_parse("-1", ok), PRS_EINPUT);
	assert_int_equal(prs_sarif_exits_parse(" , ", ok), PRS_EINPUT);
	assert_int_equal(prs_sarif_exits_parse("", ok), PRS_EINPUT);
}

static char *
read_text(const char *path)
{
	size_t len;

	return slurp(path, &len);
}

/* A tool that prints its log: stdout to one file, stderr to another. */
static void
test_proc_run_split(void **state)
{
	char dir[] = "/tmp/prscan-sarif-XXXXXX";
	char out[64], err[64];
	const char *argv[] = { "sh", "-c",
	    "echo '{\"runs\":[]}'; echo 'warning: slow' >&2; exit 1", NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct prs_proc_opts o = { argv, envp, NULL, 10, err, NULL, 0, 0,
	    0 };
	char *text;
	int status, timed_out;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/results.sarif", dir);
	snprintf(err, sizeof(err), "%s/scanner.log", dir);
	assert_int_equal(prs_proc_run_split(&o, out, &status, &timed_out), 0);
	assert_int_equal(status, 1);
	assert_false(timed_out);
	text = read_text(out);
	assert_string_equal(text, "{\"runs\":[]}\n");
	free(text);
	text = read_text(err);
	assert_string_equal(text, "warning: slow\n");
	free(text);
	unlink(out);
	unlink(err);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_fixture),
		cmocka_unit_test(test_every_file_listed),
		cmocka_unit_test(test_kics_windows_paths),
		cmocka_unit_test(test_flawfinder_fields),
		cmocka_unit_test(test_gitleaks_without_rules),
		cmocka_unit_test(test_ansible_lint_base),
		cmocka_unit_test(test_severity_mapping),
		cmocka_unit_test(test_hostile_folder),
		cmocka_unit_test(test_hostile_messages),
		cmocka_unit_test(test_escaping_paths),
		cmocka_unit_test(test_uri_forms),
		cmocka_unit_test(test_severities_from_log),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_small_safe_logs),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_cmd_template),
		cmocka_unit_test(test_cmd_word_cap),
		cmocka_unit_test(test_ok_exits),
		cmocka_unit_test(test_proc_run_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
