/* Link header pagination and GitHub's timestamps, for the sweeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/error.h"
#include "prscan/github_read.h"
#include "prscan/redeliver.h"

static void
link_next_found_among_others(void **state)
{
	char *next;

	(void)state;
	next = prs_github_link_next("<https://api.github.com/app/hook/"
	    "deliveries?per_page=100&cursor=v1_7>; rel=\"next\", "
	    "<https://api.github.com/app/hook/deliveries?per_page=100>; "
	    "rel=\"first\"");
	assert_non_null(next);
	assert_string_equal(next, "https://api.github.com/app/hook/"
	    "deliveries?per_page=100&cursor=v1_7");
	free(next);

	next = prs_github_link_next("<https://x/a?page=1>; rel=\"prev\", "
	    "<https://x/a?page=3>; rel=\"next\"");
	assert_non_null(next);
	assert_string_equal(next, "https://x/a?page=3");
	free(next);
}

static void
link_next_absent(void **state)
{
	(void)state;
	assert_null(prs_github_link_next("<https://x/a?page=1>; "
	    "rel=\"prev\""));
	assert_null(prs_github_link_next(""));
	assert_null(prs_github_link_next("<unterminated; rel=\"next\""));
}

static void
parse_time_utc(void **state)
{
	time_t t = 0;

	(void)state;
	assert_int_equal(prs_redeliver_parse_time("2021-06-15T19:00:00Z",
	    &t), 0);
	assert_int_equal((long long)t, 1623783600LL);
	assert_int_equal(prs_redeliver_parse_time("2021-06-15T19:00:00",
	    &t), PRS_EINPUT);
	assert_int_equal(prs_redeliver_parse_time("yesterday", &t),
	    PRS_EINPUT);
	assert_int_equal(prs_redeliver_parse_time(NULL, &t), PRS_EINPUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(link_next_found_among_others),
		cmocka_unit_test(link_next_absent),
		cmocka_unit_test(parse_time_utc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
