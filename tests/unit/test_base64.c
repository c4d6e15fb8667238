/* prs_base64_decode(): the App's key and the contents API's files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/base64.h"
#include "prscan/error.h"

static void expect_decoded(const char *text, const char *want)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(prs_base64_decode(text, strlen(text), &out, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	assert_int_equal(out[len], '\0');
	free(out);
}

static void test_plain_and_wrapped(void **state)
{
	(void)state;
	expect_decoded("", "");
	expect_decoded(" \n", "");
	expect_decoded("cHJzY2Fu", "prscan");
	expect_decoded("cHJzY2FuIQ==", "prscan!");
	/* The contents API wraps its base64 at 60 characters. */
	expect_decoded("ZmFpbF9vbjogaGlnaApzY2FubmVyczoKICBraWNzOiB7fQo=\n",
	    "fail_on: high\nscanners:\n  kics: {}\n");
	expect_decoded("Zm9v\nYmFy\n", "foobar");
}

static void test_not_base64(void **state)
{
	const char *bad[] = { "cHJzY2F*", "-----BEGIN RSA PRIVATE KEY-----",
	    "cHJzY2FuIQ=x", "!!!!" };
	char *out = (char *)"untouched";
	size_t i, len = 7;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(prs_base64_decode(bad[i], strlen(bad[i]), &out,
		    &len), PRS_EINPUT);
		assert_string_equal(out, "untouched");
		assert_string_equal(prs_error_last(), "not base64");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_wrapped),
		cmocka_unit_test(test_not_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
