/* prs_scrub(): credentials never survive into an error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/http.h"

static void expect_scrub(const char *in, const char *want)
{
	char *out = prs_scrub(in);

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_userinfo_dropped(void **state)
{
	(void)state;
	expect_scrub("clone https://x-access-token:ghs_Secret1@github.com/o/r",
	    "clone https://github.com/o/r");
	expect_scrub("GET http://user:pa55@127.0.0.1:8080/x: refused",
	    "GET http://127.0.0.1:8080/x: refused");
	expect_scrub("https://onlyuser@host/", "https://host/");
}

static void test_query_dropped(void **state)
{
	(void)state;
	expect_scrub("GET https://api.github.com/x?access_token=abc123 failed",
	    "GET https://api.github.com/x?*** failed");
	expect_scrub("/path?a=1&token=zz", "/path?***");
	expect_scrub("\"https://h/p?sig=s3cr3t\"", "\"https://h/p?***\"");
}

static void test_auth_words(void **state)
{
	(void)state;
	expect_scrub("Authorization: token ghs_abc",
	    "Authorization: token ***");
	expect_scrub("Authorization: Bearer eyJhbGciOi.eyJpYXQ.c2ln",
	    "Authorization: Bearer ***");
	expect_scrub("authorization: BASIC dXNlcjpwYXNz end",
	    "authorization: BASIC *** end");
	expect_scrub("bearer\tabc", "bearer\t***");
}

static void test_github_tokens(void **state)
{
	static const char *const toks[] = {
		"ghs_16C7e42F292c6912E7710c838347Ae178B4a",
		"ghp_abcDEF123", "gho_x", "ghu_y_z", "ghr_0",
		"github_pat_11ABCDEFG_0123456789abcdef"
	};
	char in[128];
	char *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
		snprintf(in, sizeof(in), "used %s here", toks[i]);
		out = prs_scrub(in);
		assert_non_null(out);
		assert_string_equal(out, "used *** here");
		free(out);
	}

	/* Inside another word, or a bare prefix: not a token. */
	expect_scrub("sighs_about ghs_ github_pat_",
	    "sighs_about ghs_ github_pat_");
}

static void test_clean_text_unchanged(void **state)
{
	static const char *const texts[] = {
		"",
		"Could not resolve host: api.github.com",
		"Is this ok? Yes, it is.",
		"Failed to connect to 127.0.0.1 port 9 after 0 ms: Refused",
		"https://api.github.com/repos/o/r/check-runs/42",
		"tokens are fine, basically; bearers too",
		"HTTP 422: Validation Failed"
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		expect_scrub(texts[i], texts[i]);
}

static void test_null_in_null_out(void **state)
{
	(void)state;
	assert_null(prs_scrub(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_userinfo_dropped),
		cmocka_unit_test(test_query_dropped),
		cmocka_unit_test(test_auth_words),
		cmocka_unit_test(test_github_tokens),
		cmocka_unit_test(test_clean_text_unchanged),
		cmocka_unit_test(test_null_in_null_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
