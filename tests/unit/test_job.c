/* The job record: JSON round trip and the name checks that guard it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/error.h"
#include "prscan/job.h"

#define JOB_ID "0123456789abcdef0123456789abcdef"
#define SHA "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"

static json_t *
good_record(void)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:s, s:s, s:s, "
	    "s:s}",
	    "job_id", JOB_ID,
	    "delivery_id", "72d3162e-cc78-11e3-81ab-4c9367dc0958",
	    "installation_id", (json_int_t)4200000000LL,
	    "owner", "octo-org",
	    "repo", "hello.world_2",
	    "pr_number", 17,
	    "head_sha", SHA,
	    "head_ref", "feature/x-1",
	    "base_ref", "main",
	    "clone_url", "https://github.com/octo-org/hello.world_2.git");

	assert_non_null(j);
	return j;
}

/* Parses j with key set to v (a new reference, stolen); expects refusal. */
static void
expect_rejected(const char *key, json_t *v)
{
	json_t *j = good_record();
	struct prs_job *job = (struct prs_job *)1;

	if (v != NULL)
		json_object_set_new(j, key, v);
	else
		json_object_del(j, key);
	assert_int_equal(prs_job_from_json(j, &job), PRS_EINPUT);
	assert_null(job);
	assert_non_null(strstr(prs_error_last(), key));
	json_decref(j);
}

static void
test_round_trip(void **state)
{
	json_t *j = good_record();
	json_t *back = NULL;
	struct prs_job *job = NULL;

	(void)state;
	assert_int_equal(prs_job_from_json(j, &job), 0);
	assert_string_equal(job->id, JOB_ID);
	assert_string_equal(job->delivery,
	    "72d3162e-cc78-11e3-81ab-4c9367dc0958");
	assert_true(job->installation == 4200000000LL);
	assert_string_equal(job->owner, "octo-org");
	assert_string_equal(job->repo, "hello.world_2");
	assert_int_equal(job->pr_number, 17);
	assert_string_equal(job->head_sha, SHA);
	assert_string_equal(job->head_ref, "feature/x-1");
	assert_string_equal(job->base_ref, "main");
	assert_string_equal(job->clone_url,
	    "https://github.com/octo-org/hello.world_2.git");

	back = prs_job_to_json(job);
	assert_non_null(back);
	assert_true(json_equal(j, back));
	assert_true(json_is_integer(json_object_get(back, "pr_number")));
	assert_true(json_is_integer(json_object_get(back,
	    "installation_id")));

	json_decref(back);
	json_decref(j);
	prs_job_free(job);
	prs_job_free(NULL);
}

/* sender and event: optional, kept through a round trip, checked. */
static void
test_trigger(void **state)
{
	json_t *j = good_record(), *back;
	struct prs_job *job = NULL;

	(void)state;
	assert_int_equal(prs_job_from_json(j, &job), 0);
	assert_null(job->sender);
	assert_null(job->event);
	back = prs_job_to_json(job);
	assert_null(json_object_get(back, "sender"));
	json_decref(back);
	assert_int_equal(prs_job_set_trigger(job, "dependabot[bot]",
	    "pull_request"), 0);
	back = prs_job_to_json(job);
	assert_string_equal(json_string_value(json_object_get(back,
	    "sender")), "dependabot[bot]");
	assert_string_equal(json_string_value(json_object_get(back,
	    "event")), "pull_request");
	prs_job_free(job);
	assert_int_equal(prs_job_from_json(back, &job), 0);
	assert_string_equal(job->sender, "dependabot[bot]");
	assert_int_equal(prs_job_set_trigger(job, "a b", "check_run"),
	    PRS_EINPUT);
	assert_string_equal(job->sender, "dependabot[bot]");
	assert_string_equal(job->event, "check_run");
	assert_int_equal(prs_job_set_trigger(job, NULL, "Bad-Event"),
	    PRS_EINPUT);
	assert_string_equal(job->event, "check_run");
	json_object_set_new(j, "sender", json_null());
	prs_job_free(job);
	assert_int_equal(prs_job_from_json(j, &job), 0);
	assert_null(job->sender);
	json_decref(back);
	json_decref(j);
	prs_job_free(job);
	expect_rejected("sender", json_string("-x"));
	expect_rejected("sender", json_integer(1));
	expect_rejected("event", json_string("pull request"));
	assert_true(prs_name_valid_login("octo_cat-1"));
	assert_false(prs_name_valid_login("[bot]"));
	assert_false(prs_name_valid_login("a/b"));
}

static void
test_rejects_bad_owner(void **state)
{
	(void)state;
	expect_rejected("owner", json_string("-x"));
	expect_rejected("owner", json_string("a/b"));
	expect_rejected("owner",
	    json_string("abcdefghijabcdefghijabcdefghijabcdefghij"));
	expect_rejected("owner", json_string(""));
	expect_rejected("owner", json_string("a b"));
	expect_rejected("owner", json_integer(5));
}

static void
test_rejects_bad_repo(void **state)
{
	(void)state;
	expect_rejected("repo", json_string(".."));
	expect_rejected("repo", json_string("."));
	expect_rejected("repo", json_string("a/b"));
	expect_rejected("repo", json_string(""));
}

static void
test_rejects_bad_ref(void **state)
{
	(void)state;
	expect_rejected("head_ref", json_string("a..b"));
	expect_rejected("head_ref", json_string("x.lock"));
	expect_rejected("head_ref", json_string("a b"));
	expect_rejected("base_ref", json_string("a..b"));
	expect_rejected("base_ref", json_string(""));
}

static void
test_rejects_bad_sha(void **state)
{
	(void)state;
	expect_rejected("head_sha", json_string("c0ffee"));
	expect_rejected("head_sha",
	    json_string("C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00"));
	expect_rejected("head_sha",
	    json_string("g0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"));
	expect_rejected("head_sha", json_string(SHA "0"));
}

static void
test_rejects_bad_numbers_and_urls(void **state)
{
	(void)state;
	expect_rejected("pr_number", json_integer(-1));
	expect_rejected("pr_number", json_string("17"));
	expect_rejected("installation_id", json_integer(-1));
	expect_rejected("job_id",
	    json_string("0123456789ABCDEF0123456789ABCDEF"));
	expect_rejected("clone_url", json_string("file:///etc"));
	expect_rejected("clone_url", json_string("git@github.com:a/b.git"));
	expect_rejected("clone_url", json_string("https://"));
	expect_rejected("clone_url", json_string("https://x/a b"));
}

static void
test_rejects_missing_field(void **state)
{
	static const char *const keys[] = {
		"job_id", "delivery_id", "installation_id", "owner", "repo",
		"pr_number", "head_sha", "head_ref", "base_ref", "clone_url"
	};
	struct prs_job *job = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		expect_rejected(keys[i], NULL);
	assert_int_equal(prs_job_from_json(json_null(), &job), PRS_EINPUT);
	assert_null(job);
}

static void
test_name_owner(void **state)
{
	(void)state;
	assert_true(prs_name_valid_owner("octocat"));
	assert_true(prs_name_valid_owner("a"));
	assert_true(prs_name_valid_owner("A-1-b"));
	assert_true(prs_name_valid_owner(
	    "abcdefghijabcdefghijabcdefghijabcdefghi"));
	assert_false(prs_name_valid_owner(
	    "abcdefghijabcdefghijabcdefghijabcdefghij"));
	assert_false(prs_name_valid_owner("-x"));
	assert_false(prs_name_valid_owner("a/b"));
	/* an Enterprise Managed User: login_shortcode */
	assert_true(prs_name_valid_owner("alice_acme"));
	assert_false(prs_name_valid_owner("_acme"));
	assert_false(prs_name_valid_owner(""));
	assert_false(prs_name_valid_owner(NULL));
}

static void
test_name_repo(void **state)
{
	char long_name[102];

	(void)state;
	assert_true(prs_name_valid_repo("hello-world"));
	assert_true(prs_name_valid_repo(".github"));
	assert_true(prs_name_valid_repo("a..b"));
	assert_false(prs_name_valid_repo(".."));
	assert_false(prs_name_valid_repo("."));
	assert_false(prs_name_valid_repo("a/b"));
	memset(long_name, 'r', sizeof(long_name));
	long_name[100] = '\0';
	assert_true(prs_name_valid_repo(long_name));
	long_name[100] = 'r';
	long_name[101] = '\0';
	assert_false(prs_name_valid_repo(long_name));
}

static void
test_name_ref(void **state)
{
	char long_ref[258];

	(void)state;
	assert_true(prs_name_valid_ref("main"));
	assert_true(prs_name_valid_ref("feature/x-1"));
	assert_true(prs_name_valid_ref("release-1.2"));
	assert_true(prs_name_valid_ref(
	    "dependabot/npm_and_yarn/lodash-4.17.21"));
	assert_false(prs_name_valid_ref("a..b"));
	assert_false(prs_name_valid_ref("x.lock"));
	assert_false(prs_name_valid_ref("a/x.lock/b"));
	assert_false(prs_name_valid_ref("a b"));
	assert_false(prs_name_valid_ref("a~b"));
	assert_false(prs_name_valid_ref("a^b"));
	assert_false(prs_name_valid_ref("a:b"));
	assert_false(prs_name_valid_ref("a?b"));
	assert_false(prs_name_valid_ref("a*b"));
	assert_false(prs_name_valid_ref("a[b"));
	assert_false(prs_name_valid_ref("a\\b"));
	assert_false(prs_name_valid_ref("a\tb"));
	assert_false(prs_name_valid_ref("a@{b"));
	assert_false(prs_name_valid_ref("@"));
	assert_false(prs_name_valid_ref("/a"));
	assert_false(prs_name_valid_ref("a/"));
	assert_false(prs_name_valid_ref("a//b"));
	assert_false(prs_name_valid_ref(".a"));
	assert_false(prs_name_valid_ref("a/.b"));
	assert_false(prs_name_valid_ref("a."));
	assert_false(prs_name_valid_ref("-a"));
	assert_false(prs_name_valid_ref(""));
	assert_false(prs_name_valid_ref(NULL));

	memset(long_ref, 'b', sizeof(long_ref));
	long_ref[255] = '\0';
	assert_true(prs_name_valid_ref(long_ref));
	long_ref[255] = 'b';
	long_ref[256] = '\0';
	assert_false(prs_name_valid_ref(long_ref));
}

static void
test_name_sha_and_job_id(void **state)
{
	(void)state;
	assert_true(prs_name_valid_sha(SHA));
	assert_false(prs_name_valid_sha(NULL));
	assert_true(prs_name_valid_job_id(JOB_ID));
	assert_false(prs_name_valid_job_id(JOB_ID "0"));
	assert_false(prs_name_valid_job_id("0123456789abcdef0123456789abcdeg"));
}

static void
test_new_id(void **state)
{
	char a[33];
	char b[33];

	(void)state;
	assert_int_equal(prs_job_new_id(a), 0);
	assert_int_equal(prs_job_new_id(b), 0);
	assert_true(prs_name_valid_job_id(a));
	assert_true(prs_name_valid_job_id(b));
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_trigger),
		cmocka_unit_test(test_rejects_bad_owner),
		cmocka_unit_test(test_rejects_bad_repo),
		cmocka_unit_test(test_rejects_bad_ref),
		cmocka_unit_test(test_rejects_bad_sha),
		cmocka_unit_test(test_rejects_bad_numbers_and_urls),
		cmocka_unit_test(test_rejects_missing_field),
		cmocka_unit_test(test_name_owner),
		cmocka_unit_test(test_name_repo),
		cmocka_unit_test(test_name_ref),
		cmocka_unit_test(test_name_sha_and_job_id),
		cmocka_unit_test(test_new_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
