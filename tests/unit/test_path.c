/* prs_path_confine: lexical confinement and symlinks that lead out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "prscan/error.h"
#include "prscan/finding.h"

/* A temp dir: root/clone (the root) and root/outside, removed after. */
struct tree {
	char base[64];
	char root[128];
	char outside[128];
};

static void
expect_ok(const char *root, const char *path, const char *want)
{
	char *out = NULL;
	int rc;

	rc = prs_path_confine(root, path, &out);
	if (rc != 0)
		fail_msg("%s: %d %s", path, rc, prs_error_last());
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void
expect_escape(const char *root, const char *path)
{
	char *out = (char *)"unchanged";
	int rc;

	prs_error_clear();
	rc = prs_path_confine(root, path, &out);
	if (rc != PRS_EINPUT)
		fail_msg("%s: want PRS_EINPUT, got %d (%s)", path, rc,
		    out ? out : "");
	assert_null(out);
	assert_true(prs_error_last()[0] != '\0');
}

static void
test_lexical_relative(void **state)
{
	(void)state;
	expect_ok("/clone", "a/b.tf", "a/b.tf");
	expect_ok("/clone", "./a/./b.tf", "a/b.tf");
	expect_ok("/clone", "a//b.tf", "a/b.tf");
	expect_ok("/clone", "a/x/../b.tf", "a/b.tf");
	expect_ok("/clone", "a/x/y/../../b.tf", "a/b.tf");
	expect_ok("/clone", "..foo/b", "..foo/b");
	expect_ok("/clone", "a/b/", "a/b");
}

static void
test_lexical_escapes(void **state)
{
	(void)state;
	expect_escape("/clone", "../../etc/passwd");
	expect_escape("/clone", "..");
	expect_escape("/clone", "a/../../b");
	expect_escape("/clone", "a/../..");
	expect_escape("/clone", ".");
	expect_escape("/clone", "");
	expect_escape("/clone", "..\\..\\etc\\passwd");
	expect_escape("clone", "a/b");
}

static void
test_absolute(void **state)
{
	(void)state;
	expect_ok("/work/clone", "/work/clone/a/b.tf", "a/b.tf");
	expect_ok("/work/clone/", "/work/clone/a/b.tf", "a/b.tf");
	expect_ok("/work/./clone", "/work//clone/a/./b.tf", "a/b.tf");
	expect_escape("/work/clone", "/etc/passwd");
	expect_escape("/work/clone", "/work/clone2/a.tf");
	expect_escape("/work/clone", "/work/clone/../other/a.tf");
	expect_escape("/work/clone", "/work/clone");
	expect_escape("/work/clone", "/work");
}

static void
test_windows(void **state)
{
	(void)state;
	expect_ok("/clone", "path\\test\\sample.tf", "path/test/sample.tf");
	expect_ok("/clone", "\\clone\\a\\b.tf", "a/b.tf");
	expect_escape("/clone", "C:\\Users\\x\\a.tf");
	expect_escape("/clone", "c:/a.tf");
}

static int
tree_setup(void **state)
{
	struct tree *t;

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	snprintf(t->base, sizeof(t->base), "/tmp/prscan-test-path-XXXXXX");
	assert_non_null(mkdtemp(t->base));
	snprintf(t->root, sizeof(t->root), "%s/clone", t->base);
	snprintf(t->outside, sizeof(t->outside), "%s/outside", t->base);
	assert_int_equal(mkdir(t->root, 0700), 0);
	assert_int_equal(mkdir(t->outside, 0700), 0);
	*state = t;
	return 0;
}

static int
tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->base);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void
make_file(const char *dir, const char *name)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("x\n", fp);
	fclose(fp);
}

static void
make_link(const char *target, const char *dir, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(symlink(target, p), 0);
}

static void
test_symlinks(void **state)
{
	struct tree *t = *state;
	char sub[256];
	char abs[512];

	snprintf(sub, sizeof(sub), "%s/sub", t->root);
	assert_int_equal(mkdir(sub, 0700), 0);
	make_file(sub, "real.tf");
	make_file(t->outside, "secret.tf");

	/* Links inside the clone that stay inside are fine. */
	make_link("sub", t->root, "inlink");
	make_link("real.tf", sub, "alias.tf");
	expect_ok(t->root, "sub/real.tf", "sub/real.tf");
	expect_ok(t->root, "inlink/real.tf", "inlink/real.tf");
	expect_ok(t->root, "sub/alias.tf", "sub/alias.tf");

	/* A directory link and a file link that lead out are refused. */
	make_link(t->outside, t->root, "outdir");
	make_link("../../outside/secret.tf", sub, "leak.tf");
	expect_escape(t->root, "outdir/secret.tf");
	expect_escape(t->root, "outdir");
	expect_escape(t->root, "sub/leak.tf");
	expect_escape(t->root, "inlink/leak.tf");
	snprintf(abs, sizeof(abs), "%s/outdir/secret.tf", t->root);
	expect_escape(t->root, abs);

	/* Below a link that leads out, even a missing file is refused. */
	expect_escape(t->root, "outdir/missing.tf");

	/* A dangling link cannot be shown to stay inside. */
	make_link("/nonexistent/prscan/x", t->root, "dangling");
	expect_escape(t->root, "dangling");

	/* An absolute path through the clone's resolved path is inside. */
	snprintf(abs, sizeof(abs), "%s/clone/sub/real.tf", t->base);
	make_link(t->root, t->outside, "clonelink");
	snprintf(sub, sizeof(sub), "%s/clonelink", t->outside);
	expect_ok(sub, abs, "sub/real.tf");

	/* A file that does not exist needs lexical confinement only. */
	expect_ok(t->root, "sub/not-there/x.tf", "sub/not-there/x.tf");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lexical_relative),
		cmocka_unit_test(test_lexical_escapes),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_windows),
		cmocka_unit_test_setup_teardown(test_symlinks, tree_setup,
		    tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
