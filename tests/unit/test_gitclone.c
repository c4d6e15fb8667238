/*
 * prs_git_fetch_checkout against a real repository built with the git CLI
 * and fetched over libgit2's local transport (file:// URLs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/error.h"
#include "prscan/gitclone.h"

struct fixture {
	char root[64];
	char url[128];
	char main_sha[41];	/* on refs/heads/main */
	char pr1_sha[41];	/* only on refs/pull/1/head */
	char pr2_sha[41];	/* only on refs/pull/2/head */
	int n;			/* destinations handed out */
};

#define GIT "git -c user.name=t -c user.email=t@example.com " \
	"-c init.defaultBranch=main -c commit.gpgsign=false "

static void
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static void
read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, (int)n, f));
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void
rev_parse(struct fixture *fx, const char *what, char out[41])
{
	char path[128];

	snprintf(path, sizeof(path), "%s/rev", fx->root);
	sh("cd '%s/origin' && git rev-parse '%s' > '%s'", fx->root, what,
	    path);
	read_line(path, out, 41);
	assert_int_equal(strlen(out), 40);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *o;

	if (fx == NULL)
		return -1;
	snprintf(fx->root, sizeof(fx->root), "/tmp/prscan-git-XXXXXX");
	if (mkdtemp(fx->root) == NULL)
		return -1;
	snprintf(fx->url, sizeof(fx->url), "file://%s/origin", fx->root);
	o = fx->root;

	sh("cd '%s' && " GIT "init -q origin", o);
	sh("cd '%s/origin' && echo hello > a.txt && mkdir d && "
	    "echo deep > d/b.txt && git add . && " GIT "commit -qm one", o);
	rev_parse(fx, "HEAD", fx->main_sha);

	/* A fork's head: reachable only through refs/pull/1/head. */
	sh("cd '%s/origin' && git checkout -q --detach && "
	    "echo forked > a.txt && " GIT "commit -qam two && "
	    "git update-ref refs/pull/1/head HEAD", o);
	rev_parse(fx, "refs/pull/1/head", fx->pr1_sha);
	sh("cd '%s/origin' && echo other > a.txt && " GIT "commit -qam three "
	    "&& git update-ref refs/pull/2/head HEAD && git checkout -q main",
	    o);
	rev_parse(fx, "refs/pull/2/head", fx->pr2_sha);

	prs_git_set_max_bytes(1ULL << 30);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static void
next_dest(struct fixture *fx, char *buf, size_t n)
{
	snprintf(buf, n, "%s/dest%d/src", fx->root, fx->n++);
}

static void
assert_file(const char *dir, const char *name, const char *want)
{
	char path[256], line[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	read_line(path, line, sizeof(line));
	assert_string_equal(line, want);
}

static void
assert_head(struct fixture *fx, const char *dest, const char *sha)
{
	char path[256], line[64];

	snprintf(path, sizeof(path), "%s/head", fx->root);
	sh("cd '%s' && git rev-parse HEAD > '%s'", dest, path);
	read_line(path, line, sizeof(line));
	assert_string_equal(line, sha);
	/* detached: HEAD names the commit, not a branch */
	snprintf(path, sizeof(path), "%s/.git/HEAD", dest);
	read_line(path, line, sizeof(line));
	assert_string_equal(line, sha);
}

static void
test_branch_head(void **state)
{
	struct fixture *fx = *state;
	char dest[128];

	next_dest(fx, dest, sizeof(dest));
	assert_int_equal(prs_git_fetch_checkout(fx->url, NULL, dest,
	    fx->main_sha, 1, NULL, 60), 0);
	assert_file(dest, "a.txt", "hello");
	assert_file(dest, "d/b.txt", "deep");
	assert_head(fx, dest, fx->main_sha);
}

static void
test_pull_ref_only(void **state)
{
	struct fixture *fx = *state;
	char dest[128];

	next_dest(fx, dest, sizeof(dest));
	assert_int_equal(prs_git_fetch_checkout(fx->url, "tok", dest,
	    fx->pr1_sha, 1, NULL, 60), 0);
	assert_file(dest, "a.txt", "forked");
	assert_head(fx, dest, fx->pr1_sha);
}

static void
test_unknown_sha(void **state)
{
	struct fixture *fx = *state;
	const char *sha = "0123456789abcdef0123456789abcdef01234567";
	char dest[128], want[160];

	next_dest(fx, dest, sizeof(dest));
	assert_int_equal(prs_git_fetch_checkout(fx->url, NULL, dest, sha, 1,
	    NULL, 60), PRS_ENOTFOUND);
	snprintf(want, sizeof(want),
	    "commit %s not found in the pull request's refs", sha);
	assert_string_equal(prs_error_last(), want);
}

/*
 * The pull request number picks the ref.  (Whether another pull request's
 * head stays out cannot be seen here: libgit2's local transport packs the
 * objects of every ref, unlike the smart HTTP protocol.)
 */
static void
test_pull_number_picks_ref(void **state)
{
	struct fixture *fx = *state;
	char dest[128], ref[192], line[64];

	next_dest(fx, dest, sizeof(dest));
	assert_int_equal(prs_git_fetch_checkout(fx->url, NULL, dest,
	    fx->pr2_sha, 2, NULL, 60), 0);
	assert_file(dest, "a.txt", "other");
	assert_head(fx, dest, fx->pr2_sha);
	snprintf(ref, sizeof(ref), "%s/.git/refs/prscan/pr-head", dest);
	read_line(ref, line, sizeof(line));
	assert_string_equal(line, fx->pr2_sha);
}

/* Without a pull request the branch is fetched, under its own name. */
static void
test_branch_without_pull_request(void **state)
{
	struct fixture *fx = *state;
	char dest[128], ref[192], line[64];

	next_dest(fx, dest, sizeof(dest));
	assert_int_equal(prs_git_fetch_checkout(fx->url, NULL, dest,
	    fx->main_sha, 0, "main", 60), 0);
	assert_file(dest, "a.txt", "hello");
	assert_head(fx, dest, fx->main_sha);
	snprintf(ref, sizeof(ref), "%s/.git/refs/prscan/heads/main", dest);
	read_line(ref, line, sizeof(line));
	assert_string_equal(line, fx->main_sha);
	snprintf(ref, sizeof(ref), "%s/.git/refs/prscan/pr-head", dest);
	assert_int_equal(access(ref, F_OK), -1);
}

/* A symlink arrives as a file holding its target, never followed. */
static void
test_symlinks_are_files(void **state)
{
	struct fixture *fx = *state;
	char dest[128], path[192], sha[41];
	struct stat st;

	sh("cd '%s/origin' && git checkout -q --detach && "
	    "ln -s /etc/passwd out && ln -s a.txt in && git add out in && "
	    GIT "commit -qm links && git update-ref refs/pull/3/head HEAD && "
	    "git checkout -q main", fx->root);
	rev_parse(fx, "refs/pull/3/head", sha);
	next_dest(fx, dest, sizeof(dest));
	assert_int_equal(prs_git_fetch_checkout(fx->url, NULL, dest, sha, 3,
	    NULL, 60), 0);
	snprintf(path, sizeof(path), "%s/out", dest);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_file(dest, "out", "/etc/passwd");
	snprintf(path, sizeof(path), "%s/in", dest);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_file(dest, "in", "a.txt");
}

static void
test_size_cap(void **state)
{
	struct fixture *fx = *state;
	char dest[128];

	prs_git_set_max_bytes(10);
	next_dest(fx, dest, sizeof(dest));
	assert_int_equal(prs_git_fetch_checkout(fx->url, NULL, dest,
	    fx->main_sha, 1, NULL, 60), -1);
	assert_non_null(strstr(prs_error_last(), "MAX_REPO_BYTES"));
	prs_git_set_max_bytes(1ULL << 30);
}

static void
test_bad_input(void **state)
{
	struct fixture *fx = *state;
	char dest[128], url[160];
	int rc;

	next_dest(fx, dest, sizeof(dest));
	assert_int_equal(prs_git_fetch_checkout(fx->url, NULL, dest,
	    "not-a-sha", 1, NULL, 60), -1);
	assert_string_equal(prs_error_last(), "not a commit id: not-a-sha");

	snprintf(url, sizeof(url), "file://%s/missing", fx->root);
	next_dest(fx, dest, sizeof(dest));
	rc = prs_git_fetch_checkout(url, NULL, dest, fx->main_sha, 1, NULL, 60);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(prs_error_last(), "fetch: "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_branch_head),
		cmocka_unit_test(test_pull_ref_only),
		cmocka_unit_test(test_unknown_sha),
		cmocka_unit_test(test_pull_number_picks_ref),
		cmocka_unit_test(test_branch_without_pull_request),
		cmocka_unit_test(test_symlinks_are_files),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_bad_input),
	};

	if (prs_git_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
