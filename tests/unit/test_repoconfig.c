/* Path patterns and the .github/prscan.yml parser, hostile input too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/error.h"
#include "prscan/repoconfig.h"

static const char *const known[] = { "kics", "blackduck", "flawfinder" };

static void
test_glob_basename_anywhere(void **state)
{
	(void)state;
	assert_true(prs_glob_match("*.tf", "main.tf"));
	assert_true(prs_glob_match("*.tf", "infra/aws/main.tf"));
	assert_false(prs_glob_match("*.tf", "main.tfvars"));
	assert_false(prs_glob_match("*.tf", "main.tf/readme"));
	assert_true(prs_glob_match("Dockerfile", "svc/Dockerfile"));
	assert_true(prs_glob_match("Dockerfile.*", "svc/Dockerfile.prod"));
	assert_false(prs_glob_match("Dockerfile", "svc/Dockerfile.prod"));
	assert_true(prs_glob_match("*.yml", ".gitlab-ci.yml"));
	assert_true(prs_glob_match("requirements*.txt",
	    "py/requirements-dev.txt"));
	assert_false(prs_glob_match("*.TF", "main.tf"));
}

static void
test_glob_anchored(void **state)
{
	(void)state;
	assert_true(prs_glob_match("docs/a.md", "docs/a.md"));
	assert_false(prs_glob_match("docs/a.md", "x/docs/a.md"));
	assert_true(prs_glob_match("/go.mod", "go.mod"));
	assert_false(prs_glob_match("/go.mod", "sub/go.mod"));
	assert_true(prs_glob_match("k8s/*.yaml", "k8s/app.yaml"));
	assert_false(prs_glob_match("k8s/*.yaml", "k8s/dev/app.yaml"));
	assert_true(prs_glob_match("k8s/?pp.yaml", "k8s/app.yaml"));
	assert_true(prs_glob_match("k8s/[ab]pp.yaml", "k8s/app.yaml"));
	assert_false(prs_glob_match("k8s/[!a]pp.yaml", "k8s/app.yaml"));
}

static void
test_glob_double_star(void **state)
{
	(void)state;
	assert_true(prs_glob_match("**", "a"));
	assert_true(prs_glob_match("**", "a/b/c"));
	assert_true(prs_glob_match("a/**", "a/b"));
	assert_true(prs_glob_match("a/**", "a/b/c/d"));
	assert_false(prs_glob_match("a/**", "b/a/c"));
	assert_false(prs_glob_match("a/**", "a"));
	assert_true(prs_glob_match("a/**/b", "a/b"));
	assert_true(prs_glob_match("a/**/b", "a/x/y/b"));
	assert_false(prs_glob_match("a/**/b", "a/x/y/bc"));
	assert_true(prs_glob_match("**/templates/*.tpl",
	    "charts/web/templates/_helpers.tpl"));
	assert_true(prs_glob_match("**/templates/*.tpl", "templates/a.tpl"));
	assert_true(prs_glob_match("a/**/**/b", "a/b"));
	assert_true(prs_glob_match("x**y", "xabcy"));
	assert_false(prs_glob_match("x**y", "xa/cy"));
	assert_true(prs_glob_match("vendor/", "vendor/lib/x.go"));
	assert_true(prs_glob_match("vendor/", "src/vendor/x.go"));
	assert_false(prs_glob_match("vendor/", "vendor"));
	assert_false(prs_glob_match("/vendor/", "src/vendor/x.go"));
	assert_true(prs_glob_match("/vendor/", "vendor/x.go"));
}

static void
test_glob_quoting_and_edges(void **state)
{
	(void)state;
	assert_true(prs_glob_match("\\*.tf", "*.tf"));
	assert_false(prs_glob_match("\\*.tf", "a.tf"));
	assert_false(prs_glob_match("*.tf", ""));
	assert_false(prs_glob_match(NULL, "a"));
	assert_false(prs_glob_match("a", NULL));
	assert_true(prs_glob_valid("*.tf"));
	assert_false(prs_glob_valid(""));
	assert_false(prs_glob_valid("///"));
	assert_false(prs_glob_valid("a//b"));
	assert_string_equal(prs_error_last(), "path pattern \"a//b\" has an "
	    "empty segment");
}

/* Many "**" against a deep path: the table keeps it fast. */
static void
test_glob_no_blowup(void **state)
{
	char pat[600] = "", path[4096] = "";
	size_t i;

	(void)state;
	for (i = 0; i < 60; i++)
		strcat(pat, "**/");
	strcat(pat, "z");
	for (i = 0; i < 400; i++)
		strcat(path, "a/");
	strcat(path, "y");
	assert_false(prs_glob_match(pat, path));
	path[strlen(path) - 1] = 'z';
	assert_true(prs_glob_match(pat, path));
}

static struct prs_repoconfig *
parse_ok(const char *text)
{
	struct prs_repoconfig *cfg = NULL;
	int rc = prs_repoconfig_parse(text, strlen(text), known, 3, &cfg);

	if (rc != 0)
		fail_msg("parse failed: %s", prs_error_last());
	return cfg;
}

static void
parse_bad(const char *text, const char *want)
{
	struct prs_repoconfig *cfg = NULL;
	int rc = prs_repoconfig_parse(text, strlen(text), known, 3, &cfg);

	assert_int_equal(rc, PRS_EINPUT);
	assert_null(cfg);
	if (strstr(prs_error_last(), want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", prs_error_last(), want);
}

static void
test_parse_valid(void **state)
{
	struct prs_repoconfig *cfg = parse_ok(
	    "# prscan\n"
	    "scanners:\n"
	    "  kics:\n"
	    "    paths: [\"infra/**\", '*.tf']\n"
	    "  blackduck:\n"
	    "    enabled: no\n"
	    "exclude:\n"
	    "  - vendor/\n"
	    "fail_on: medium\n"
	    "annotate: changed\n");

	(void)state;
	assert_int_equal(cfg->nscanners, 2);
	assert_string_equal(cfg->scanners[0].name, "kics");
	assert_int_equal(cfg->scanners[0].enabled, -1);
	assert_int_equal(cfg->scanners[0].npaths, 2);
	assert_string_equal(cfg->scanners[0].paths[1], "*.tf");
	assert_int_equal(cfg->scanners[1].enabled, 0);
	assert_null(cfg->scanners[1].paths);
	assert_int_equal(cfg->nexclude, 1);
	assert_true(cfg->has_fail_on);
	assert_int_equal(cfg->fail_on, PRS_SEV_MEDIUM);
	assert_int_equal(cfg->annotate, 1);
	prs_repoconfig_free(cfg);
}

static void
test_parse_empty(void **state)
{
	struct prs_repoconfig *cfg = parse_ok("");

	(void)state;
	assert_int_equal(cfg->nscanners, 0);
	assert_false(cfg->has_fail_on);
	assert_int_equal(cfg->annotate, -1);
	prs_repoconfig_free(cfg);
	cfg = parse_ok("# nothing but a comment\n---\n");
	prs_repoconfig_free(cfg);
}

static void
test_parse_errors_have_lines(void **state)
{
	(void)state;
	parse_bad("fail_on: high\nscanners: [a\n", "line 3: YAML syntax");
	parse_bad("fail_on: high\n  bad: indent\n", "line 2: YAML syntax");
	parse_bad("fail_on: high\ncolour: blue\n", "line 2: unknown key "
	    "\"colour\"");
	parse_bad("fail_on: [high]\n", "line 1: fail_on: must be a string");
	parse_bad("scanners:\n  kics:\n    paths: []\n",
	    "line 3: scanners.kics.paths: an empty list matches no file");
	parse_bad("exclude:\n  - 'docs\\'\n", "line 2: exclude: path "
	    "pattern \"docs\\\" ends in a lone \\");
	prs_repoconfig_free(parse_ok("exclude:\n  - 'a\\\\'\n"));
	parse_bad("\n\nfail_on: severe\n", "line 3: fail_on: \"severe\" is "
	    "not one of");
	parse_bad("annotate: some\n", "line 1: annotate:");
	parse_bad("scanners:\n  nessus: {}\n", "line 2: scanners: unknown "
	    "scanner \"nessus\"");
	parse_bad("scanners:\n  kics:\n    enabled: maybe\n",
	    "line 3: scanners.kics.enabled: must be true or false");
	parse_bad("scanners:\n  kics:\n    enabled: \"true\"\n",
	    "line 3: scanners.kics.enabled: must be true or false");
	parse_bad("scanners:\n  kics:\n    paths: '*.tf'\n",
	    "line 3: scanners.kics.paths: must be a list");
	parse_bad("scanners:\n  kics:\n    paths: [a, [b]]\n",
	    "line 3: scanners.kics.paths: must be a string");
	parse_bad("scanners:\n  kics:\n    path: [a]\n",
	    "line 3: scanners.kics.path: unknown key");
	parse_bad("scanners:\n  kics: true\n", "line 2: scanners.kics: must "
	    "be a mapping");
	parse_bad("scanners: []\n", "line 1: scanners: must be a mapping");
	parse_bad("exclude: [\"a//b\"]\n", "line 1: exclude: path pattern");
	parse_bad("exclude: ['']\n", "line 1: exclude: a path pattern is "
	    "empty");
	parse_bad("fail_on: high\nfail_on: low\n", "line 2: fail_on: given "
	    "twice");
	parse_bad("scanners:\n  kics: {}\n  kics: {}\n", "line 3: scanners: "
	    "kics given twice");
	parse_bad("- a\n- b\n", "line 1: the configuration must be a mapping");
	parse_bad("a: 1\n---\nb: 2\n", "line 2: more than one YAML document");
	parse_bad("fail_on: \"hi\\0gh\"\n", "contains a NUL");
	parse_bad("fail_on: !!str high\n", "line 1: tags");
}

static void
test_parse_refuses_aliases(void **state)
{
	(void)state;
	parse_bad("exclude: &a [x]\n", "line 1: anchors");
	parse_bad("exclude: [x]\nfail_on: *a\n", "line 2: aliases");
	/* The billion laughs: refused at its first anchor. */
	parse_bad("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b]\n", "line 1: anchors");
}

static void
test_parse_refuses_deep_and_huge(void **state)
{
	size_t n = PRS_REPOCONFIG_MAX_BYTES + 1, i;
	char *big = malloc(n + 1);
	struct prs_repoconfig *cfg = NULL;

	(void)state;
	assert_non_null(big);
	/* 64 KiB + 1 of a comment. */
	memset(big, ' ', n);
	big[0] = '#';
	big[n] = '\0';
	assert_int_equal(prs_repoconfig_parse(big, n, known, 3, &cfg),
	    PRS_EINPUT);
	assert_non_null(strstr(prs_error_last(), "larger than"));
	/* 30000 nested sequences. */
	for (i = 0; i < 30000; i++)
		big[i] = '[';
	big[i] = '\0';
	parse_bad(big, "nested deeper than 8 levels");
	/* 30000 entries in a flat list: too many nodes. */
	strcpy(big, "exclude: [");
	for (i = 0; i < 21000; i++)
		memcpy(big + 10 + 2 * i, "a,", 2);
	strcpy(big + 10 + 2 * i, "a]\n");
	parse_bad(big, "more than 20000 YAML nodes");
	free(big);
}

static void
test_parse_too_many_patterns(void **state)
{
	char text[4096] = "exclude:\n";
	int i;

	(void)state;
	for (i = 0; i < PRS_REPOCONFIG_MAX_PATTERNS + 1; i++)
		strcat(text, "- a\n");
	parse_bad(text, "line 2: exclude: more than 256 patterns");
}

static void
test_layers_and_wants(void **state)
{
	struct prs_repoconfig *srv = parse_ok(
	    "fail_on: low\nannotate: changed\nexclude: [\"vendor/\"]\n"
	    "scanners:\n  flawfinder:\n    paths: [\"*.c\", \"*.h\"]\n");
	struct prs_repoconfig *repo = parse_ok(
	    "fail_on: critical\nscanners:\n  blackduck:\n    enabled: "
	    "false\n");
	const char *tf[] = { "README.md", "infra/main.tf" };
	const char *lock[] = { "web/yarn.lock" };
	const char *vendored[] = { "vendor/x/Dockerfile" };
	const char *c[] = { "src/a.c" };
	char why[200];

	(void)state;
	assert_int_equal(prs_repoconfig_fail_on(srv, repo, PRS_SEV_HIGH),
	    PRS_SEV_CRITICAL);
	assert_int_equal(prs_repoconfig_fail_on(srv, NULL, PRS_SEV_HIGH),
	    PRS_SEV_LOW);
	assert_int_equal(prs_repoconfig_fail_on(NULL, NULL, PRS_SEV_HIGH),
	    PRS_SEV_HIGH);
	assert_true(prs_repoconfig_annotate_changed(srv, repo, 0));
	assert_false(prs_repoconfig_annotate_changed(NULL, repo, 0));
	assert_false(prs_repoconfig_enabled(srv, repo, "blackduck"));
	assert_true(prs_repoconfig_enabled(srv, repo, "kics"));
	assert_true(prs_repoconfig_wants(srv, repo, "kics", tf, 2, why,
	    sizeof(why)));
	assert_false(prs_repoconfig_wants(srv, repo, "blackduck", tf, 2, why,
	    sizeof(why)));
	assert_string_equal(why, "none of the 2 changed files matches its "
	    "path patterns");
	assert_true(prs_repoconfig_wants(srv, repo, "blackduck", lock, 1, why,
	    sizeof(why)));
	assert_false(prs_repoconfig_wants(srv, repo, "kics", lock, 1, why,
	    sizeof(why)));
	assert_false(prs_repoconfig_wants(srv, repo, "kics", vendored, 1, why,
	    sizeof(why)));
	assert_string_equal(why, "all 1 changed files are excluded");
	assert_true(prs_repoconfig_wants(NULL, NULL, "kics", vendored, 1, why,
	    sizeof(why)));
	assert_true(prs_repoconfig_wants(srv, repo, "flawfinder", c, 1, why,
	    sizeof(why)));
	assert_false(prs_repoconfig_wants(srv, repo, "flawfinder", tf, 2, why,
	    sizeof(why)));
	/* Without patterns anywhere a scanner takes every change. */
	assert_true(prs_repoconfig_wants(NULL, NULL, "flawfinder", tf, 2, why,
	    sizeof(why)));
	assert_false(prs_repoconfig_wants(NULL, NULL, "flawfinder", tf, 0,
	    why, sizeof(why)));
	prs_repoconfig_free(srv);
	prs_repoconfig_free(repo);
}

static void
test_default_paths(void **state)
{
	static const struct {
		const char *scanner, *file;
		int want;
	} cases[] = {
		{ "kics", "main.tf", 1 }, { "kics", "x.tfvars", 1 },
		{ "kics", "a/b.tf.json", 1 }, { "kics", "k8s/dep.yaml", 1 },
		{ "kics", "docker-compose.yml", 1 },
		{ "kics", "Dockerfile", 1 }, { "kics", "web.dockerfile", 1 },
		{ "kics", "Dockerfile.dev", 1 }, { "kics", "main.bicep", 1 },
		{ "kics", "arm/azuredeploy.json", 1 },
		{ "kics", "charts/x/templates/_h.tpl", 1 },
		{ "kics", "src/main.c", 0 }, { "kics", "yarn.lock", 0 },
		{ "kics", "package.json", 0 },
		{ "blackduck", "package.json", 1 },
		{ "blackduck", "web/package-lock.json", 1 },
		{ "blackduck", "yarn.lock", 1 },
		{ "blackduck", "pnpm-lock.yaml", 1 },
		{ "blackduck", "pom.xml", 1 },
		{ "blackduck", "build.gradle.kts", 1 },
		{ "blackduck", "requirements-dev.txt", 1 },
		{ "blackduck", "Pipfile.lock", 1 },
		{ "blackduck", "poetry.lock", 1 },
		{ "blackduck", "pyproject.toml", 1 },
		{ "blackduck", "go.sum", 1 },
		{ "blackduck", "Gemfile.lock", 1 },
		{ "blackduck", "Cargo.lock", 1 },
		{ "blackduck", "composer.lock", 1 },
		{ "blackduck", "src/App/App.csproj", 1 },
		{ "blackduck", "packages.config", 1 },
		{ "blackduck", "main.tf", 0 }, { "blackduck", "Dockerfile", 0 },
	};
	size_t i;
	char why[100];

	(void)state;
	assert_null(prs_repoconfig_default_paths("flawfinder"));
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *f[] = { cases[i].file };

		if (prs_repoconfig_wants(NULL, NULL, cases[i].scanner, f, 1,
		    why, sizeof(why)) != cases[i].want)
			fail_msg("%s on %s: want %d", cases[i].scanner,
			    cases[i].file, cases[i].want);
	}
}

/*
 * A file that cannot be told (deeper than the matcher goes) or a change
 * whose matching would cost too much is scanned, not skipped: a skipped
 * check run satisfies branch protection.
 */
static void
test_wants_scans_what_it_cannot_tell(void **state)
{
	struct prs_repoconfig *repo;
	char *deep = malloc(600 * 2 + 8), *pats, *p;
	const char *one[1], **many;
	char why[200];
	size_t i;

	(void)state;
	for (p = deep, i = 0; i < 600; i++, p += 2)
		memcpy(p, "d/", 2);
	strcpy(p, "main.tf");
	one[0] = deep;
	assert_true(prs_repoconfig_wants(NULL, NULL, "kics", one, 1, why,
	    sizeof(why)));
	/* 250 patterns of 100 segments against 3000 files of 500. */
	pats = malloc(64 * 1024);
	strcpy(pats, "exclude:\n");
	for (i = 0; i < 250; i++) {
		strcat(pats, "  - \"");
		for (size_t k = 0; k < 99; k++)
			strcat(pats, "?/");
		strcat(pats, "zz\"\n");
	}
	repo = parse_ok(pats);
	many = calloc(3000, sizeof(*many));
	deep[500 * 2] = '\0';
	for (i = 0; i < 3000; i++)
		many[i] = deep;
	assert_true(prs_repoconfig_wants(NULL, repo, "kics", many, 3000, why,
	    sizeof(why)));
	free(many);
	prs_repoconfig_free(repo);
	free(pats);
	free(deep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_basename_anywhere),
		cmocka_unit_test(test_glob_anchored),
		cmocka_unit_test(test_glob_double_star),
		cmocka_unit_test(test_glob_quoting_and_edges),
		cmocka_unit_test(test_glob_no_blowup),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_errors_have_lines),
		cmocka_unit_test(test_parse_refuses_aliases),
		cmocka_unit_test(test_parse_refuses_deep_and_huge),
		cmocka_unit_test(test_parse_too_many_patterns),
		cmocka_unit_test(test_layers_and_wants),
		cmocka_unit_test(test_default_paths),
		cmocka_unit_test(test_wants_scans_what_it_cannot_tell),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
