/* HMAC signatures: GitHub's webhook header and prscan's callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "prscan/error.h"
#include "prscan/sig.h"

/* GitHub's documented example for validating webhook deliveries. */
#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY "Hello, World!"
#define GH_SIG "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46" \
	"f4379c8b043e17"

#define CB_SECRET "callback-secret"
#define CB_BODY "{\"job_id\":\"0123\",\"status\":\"started\"}"

static void
test_hex_matches_github_vector(void **state)
{
	char hex[PRS_SIG_HEX_LEN + 1];

	(void)state;
	assert_int_equal(prs_hmac_sha256_hex(GH_SECRET, strlen(GH_SECRET),
	    GH_BODY, strlen(GH_BODY), hex), 0);
	assert_string_equal(hex, GH_SIG + 7);
}

static void
test_github_vector_accepted(void **state)
{
	(void)state;
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), GH_SIG), 0);
}

static void
test_github_wrong_secret(void **state)
{
	(void)state;
	assert_int_equal(prs_sig_check_github("It's a Secret to Nobody",
	    GH_BODY, strlen(GH_BODY), GH_SIG), -1);
	assert_string_equal(prs_error_last(), "signature mismatch");
}

static void
test_github_wrong_body(void **state)
{
	(void)state;
	assert_int_equal(prs_sig_check_github(GH_SECRET, "Hello, World?",
	    strlen(GH_BODY), GH_SIG), -1);
	/* the body length counts: a prefix of the body must not match */
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY) - 1, GH_SIG), -1);
}

static void
test_github_truncated_header(void **state)
{
	char sig[sizeof(GH_SIG)];

	(void)state;
	memcpy(sig, GH_SIG, sizeof(GH_SIG));
	sig[sizeof(GH_SIG) - 2] = '\0';	/* 63 hex digits */
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), sig), -1);
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), "sha256="), -1);
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), ""), -1);
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), NULL), -1);
}

static void
test_github_extra_digit(void **state)
{
	(void)state;
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), GH_SIG "0"), -1);
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), GH_SIG " "), -1);
}

static void
test_github_missing_prefix(void **state)
{
	(void)state;
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), GH_SIG + 7), -1);
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), "sha1=757107ea0eb2509fc211221cce984b8a37570b6d"),
	    -1);
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), "SHA256=757107ea0eb2509fc211221cce984b8a37570b6d"
	    "7586c22c46f4379c8b043e17"), -1);
}

static void
test_github_uppercase_hex(void **state)
{
	(void)state;
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D"
	    "7586C22C46F4379C8B043E17"), 0);
}

static void
test_github_non_hex(void **state)
{
	(void)state;
	/* right length, one 'g' in place of the last digit */
	assert_int_equal(prs_sig_check_github(GH_SECRET, GH_BODY,
	    strlen(GH_BODY), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d"
	    "7586c22c46f4379c8b043e1g"), -1);
}

static void
test_github_empty_secret_refused(void **state)
{
	char hex[PRS_SIG_HEX_LEN + 1];
	char sig[PRS_SIG_HEADER_SIZE];

	(void)state;
	assert_int_equal(prs_hmac_sha256_hex("", 0, GH_BODY, strlen(GH_BODY),
	    hex), 0);
	memcpy(sig, "sha256=", 7);
	memcpy(sig + 7, hex, sizeof(hex));
	assert_int_equal(prs_sig_check_github("", GH_BODY, strlen(GH_BODY),
	    sig), -1);
}

static void
test_callback_round_trip(void **state)
{
	char sig[PRS_SIG_HEADER_SIZE];
	char hex[PRS_SIG_HEX_LEN + 1];
	const char *signed_text = "1700000000." CB_BODY;

	(void)state;
	assert_int_equal(prs_sig_callback_make(CB_SECRET, 1700000000LL,
	    CB_BODY, strlen(CB_BODY), sig), 0);
	assert_int_equal(strlen(sig), PRS_SIG_HEADER_SIZE - 1);
	assert_memory_equal(sig, "sha256=", 7);

	/* the signature is the HMAC of "<ts>.<body>" */
	assert_int_equal(prs_hmac_sha256_hex(CB_SECRET, strlen(CB_SECRET),
	    signed_text, strlen(signed_text), hex), 0);
	assert_string_equal(sig + 7, hex);

	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000000", sig,
	    CB_BODY, strlen(CB_BODY), 1700000000LL, 300), 0);
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000000", sig,
	    CB_BODY, strlen(CB_BODY), 1700000300LL, 300), 0);
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000000", sig,
	    CB_BODY, strlen(CB_BODY), 1699999700LL, 300), 0);
}

static void
test_callback_stale(void **state)
{
	char sig[PRS_SIG_HEADER_SIZE];

	(void)state;
	assert_int_equal(prs_sig_callback_make(CB_SECRET, 1700000000LL,
	    CB_BODY, strlen(CB_BODY), sig), 0);
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000000", sig,
	    CB_BODY, strlen(CB_BODY), 1700000301LL, 300), -1);
	assert_string_equal(prs_error_last(), "stale timestamp");
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000000", sig,
	    CB_BODY, strlen(CB_BODY), 1699999699LL, 300), -1);
	assert_string_equal(prs_error_last(), "stale timestamp");
}

/* What the API checks before reading a worker's body. */
static void
test_callback_precheck(void **state)
{
	char sig[PRS_SIG_HEADER_SIZE];

	(void)state;
	assert_int_equal(prs_sig_callback_make(CB_SECRET, 1700000000LL,
	    CB_BODY, strlen(CB_BODY), sig), 0);
	assert_int_equal(prs_sig_callback_precheck("1700000000", sig,
	    1700000300LL, 300), 0);
	assert_int_equal(prs_sig_callback_precheck("1700000000", sig,
	    1700000301LL, 300), -1);
	assert_string_equal(prs_error_last(), "stale timestamp");
	assert_int_equal(prs_sig_callback_precheck(NULL, sig, 1700000000LL,
	    300), -1);
	assert_string_equal(prs_error_last(), "missing signature");
	assert_int_equal(prs_sig_callback_precheck("1700000000", "sha256=zz",
	    1700000000LL, 300), -1);
	assert_string_equal(prs_error_last(), "malformed signature");
	assert_int_equal(prs_sig_callback_precheck("17e8", sig, 1700000000LL,
	    300), -1);
	assert_string_equal(prs_error_last(), "bad timestamp");
}

static void
test_callback_tampered(void **state)
{
	char sig[PRS_SIG_HEADER_SIZE];
	char body[] = CB_BODY;

	(void)state;
	assert_int_equal(prs_sig_callback_make(CB_SECRET, 1700000000LL,
	    body, strlen(body), sig), 0);
	body[strlen(body) - 3] = 'X';
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000000", sig,
	    body, strlen(body), 1700000000LL, 300), -1);
	assert_string_equal(prs_error_last(), "signature mismatch");

	/* a timestamp moved within the window breaks the signature too */
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000001", sig,
	    CB_BODY, strlen(CB_BODY), 1700000000LL, 300), -1);
	assert_string_equal(prs_error_last(), "signature mismatch");

	assert_int_equal(prs_sig_callback_check("other-secret", "1700000000",
	    sig, CB_BODY, strlen(CB_BODY), 1700000000LL, 300), -1);
	assert_string_equal(prs_error_last(), "signature mismatch");
}

static void
test_callback_missing_and_malformed(void **state)
{
	char sig[PRS_SIG_HEADER_SIZE];

	(void)state;
	assert_int_equal(prs_sig_callback_make(CB_SECRET, 1700000000LL,
	    CB_BODY, strlen(CB_BODY), sig), 0);
	assert_int_equal(prs_sig_callback_check(CB_SECRET, NULL, sig,
	    CB_BODY, strlen(CB_BODY), 1700000000LL, 300), -1);
	assert_string_equal(prs_error_last(), "missing signature");
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000000", NULL,
	    CB_BODY, strlen(CB_BODY), 1700000000LL, 300), -1);
	assert_string_equal(prs_error_last(), "missing signature");

	assert_int_equal(prs_sig_callback_check(CB_SECRET, "17e8", sig,
	    CB_BODY, strlen(CB_BODY), 1700000000LL, 300), -1);
	assert_string_equal(prs_error_last(), "bad timestamp");
	assert_int_equal(prs_sig_callback_check(CB_SECRET, " 1700000000", sig,
	    CB_BODY, strlen(CB_BODY), 1700000000LL, 300), -1);
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "-1700000000", sig,
	    CB_BODY, strlen(CB_BODY), 1700000000LL, 300), -1);
	assert_int_equal(prs_sig_callback_check(CB_SECRET,
	    "99999999999999999999", sig, CB_BODY, strlen(CB_BODY),
	    1700000000LL, 300), -1);
	assert_int_equal(prs_sig_callback_check(CB_SECRET, "1700000000",
	    sig + 7, CB_BODY, strlen(CB_BODY), 1700000000LL, 300), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_matches_github_vector),
		cmocka_unit_test(test_github_vector_accepted),
		cmocka_unit_test(test_github_wrong_secret),
		cmocka_unit_test(test_github_wrong_body),
		cmocka_unit_test(test_github_truncated_header),
		cmocka_unit_test(test_github_extra_digit),
		cmocka_unit_test(test_github_missing_prefix),
		cmocka_unit_test(test_github_uppercase_hex),
		cmocka_unit_test(test_github_non_hex),
		cmocka_unit_test(test_github_empty_secret_refused),
		cmocka_unit_test(test_callback_round_trip),
		cmocka_unit_test(test_callback_stale),
		cmocka_unit_test(test_callback_precheck),
		cmocka_unit_test(test_callback_tampered),
		cmocka_unit_test(test_callback_missing_and_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
