/* Log lines: text and JSON forms, levels, quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "prscan/error.h"
#include "prscan/log.h"

static char captured[8192];

/* Runs fn with stderr sent to a temporary file; its text in captured. */
static void
capture(void (*fn)(void))
{
	char path[] = "/tmp/prscan-test-log-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);

	n = pread(fd, captured, sizeof(captured) - 1, 0);
	assert_true(n >= 0);
	captured[n] = '\0';
	close(fd);
	unlink(path);
}

static void
log_info_line(void)
{
	char q[64];

	prs_info("job queued", "delivery=%s repo=%s pr=%d",
	    "abc-1", prs_log_quote("octo/hello world", q, sizeof(q)), 17);
}

static void
log_debug_line(void)
{
	prs_debug("hidden", "x=%d", 1);
}

static void
log_injected_line(void)
{
	prs_warn("bad\nline", "ref=%s", "a\nlevel=fatal");
}

static void
log_fatal_line(void)
{
	prs_log(PRS_LOG_FATAL, "cannot start", NULL);
}

/* A value that tries to end its field and forge two more. */
static void
log_forged_fields(void)
{
	prs_info("delivery ignored", "action=%s reason=%s job=%s",
	    prs_log_q("x job=dead repo=victim/repo"),
	    prs_log_q("action a\" job=\"dead is not scanned"), prs_log_q(NULL));
}

static void
test_quoted_values_cannot_forge_fields(void **state)
{
	json_error_t err;
	json_t *j = NULL;

	(void)state;
	setenv("LOG_FORMAT", "json", 1);
	assert_int_equal(prs_log_init("prscan-test"), 0);
	capture(log_forged_fields);
	j = json_loads(captured, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "action")),
	    "x job=dead repo=victim/repo");
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	    "action a\" job=\"dead is not scanned");
	assert_string_equal(json_string_value(json_object_get(j, "job")), "-");
	assert_null(json_object_get(j, "repo"));
	assert_int_equal(json_object_size(j), 7);
	json_decref(j);
}

static int
reset(void **state)
{
	(void)state;
	unsetenv("LOG_LEVEL");
	unsetenv("LOG_FORMAT");
	assert_int_equal(prs_log_init("prscan-test"), 0);
	return 0;
}

static void
test_text_line(void **state)
{
	const char *rest = NULL;

	(void)state;
	capture(log_info_line);
	/* 2026-12-03T19:30:00.123Z is 24 characters */
	assert_true(strlen(captured) > 25);
	assert_int_equal(captured[4], '-');
	assert_int_equal(captured[10], 'T');
	assert_int_equal(captured[19], '.');
	assert_int_equal(captured[23], 'Z');
	rest = captured + 24;
	assert_string_equal(rest, " level=info daemon=prscan-test "
	    "msg=\"job queued\" delivery=abc-1 repo=\"octo/hello world\" "
	    "pr=17\n");
}

static void
test_level_filter(void **state)
{
	(void)state;
	capture(log_debug_line);
	assert_string_equal(captured, "");
	assert_false(prs_log_enabled(PRS_LOG_DEBUG));
	assert_true(prs_log_enabled(PRS_LOG_INFO));

	setenv("LOG_LEVEL", "error", 1);
	assert_int_equal(prs_log_init("prscan-test"), 0);
	capture(log_info_line);
	assert_string_equal(captured, "");
	capture(log_fatal_line);
	assert_non_null(strstr(captured, "level=fatal"));
	assert_non_null(strstr(captured, "msg=\"cannot start\"\n"));

	setenv("LOG_LEVEL", "debug", 1);
	assert_int_equal(prs_log_init("prscan-test"), 0);
	capture(log_debug_line);
	assert_non_null(strstr(captured, "level=debug"));
}

static void
test_bad_settings(void **state)
{
	(void)state;
	setenv("LOG_LEVEL", "verbose", 1);
	assert_int_equal(prs_log_init("prscan-test"), -1);
	assert_non_null(strstr(prs_error_last(), "LOG_LEVEL"));
	unsetenv("LOG_LEVEL");
	setenv("LOG_FORMAT", "xml", 1);
	assert_int_equal(prs_log_init("prscan-test"), -1);
	assert_non_null(strstr(prs_error_last(), "LOG_FORMAT"));
}

static void
test_no_line_injection(void **state)
{
	(void)state;
	capture(log_injected_line);
	/* exactly one newline, at the end */
	assert_ptr_equal(strchr(captured, '\n'),
	    captured + strlen(captured) - 1);
	assert_non_null(strstr(captured, "ref=a?level=fatal\n"));
	assert_non_null(strstr(captured, "msg=\"bad?line\""));
}

static void
test_json_line(void **state)
{
	json_error_t err;
	json_t *j = NULL;

	(void)state;
	setenv("LOG_FORMAT", "json", 1);
	assert_int_equal(prs_log_init("prscan-test"), 0);
	capture(log_info_line);
	assert_int_equal(captured[strlen(captured) - 1], '\n');
	j = json_loads(captured, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "level")),
	    "info");
	assert_string_equal(json_string_value(json_object_get(j, "daemon")),
	    "prscan-test");
	assert_string_equal(json_string_value(json_object_get(j, "msg")),
	    "job queued");
	assert_string_equal(json_string_value(json_object_get(j, "delivery")),
	    "abc-1");
	assert_string_equal(json_string_value(json_object_get(j, "repo")),
	    "octo/hello world");
	assert_int_equal(json_integer_value(json_object_get(j, "pr")), 17);
	assert_int_equal(strlen(json_string_value(json_object_get(j,
	    "time"))), 24);
	json_decref(j);
}

static void
test_quote(void **state)
{
	char buf[32];
	char tiny[6];

	(void)state;
	assert_string_equal(prs_log_quote("plain", buf, sizeof(buf)),
	    "plain");
	assert_string_equal(prs_log_quote("two words", buf, sizeof(buf)),
	    "\"two words\"");
	assert_string_equal(prs_log_quote("say \"hi\"", buf, sizeof(buf)),
	    "\"say \\\"hi\\\"\"");
	assert_string_equal(prs_log_quote("tab\there", buf, sizeof(buf)),
	    "tab?here");
	assert_string_equal(prs_log_quote("", buf, sizeof(buf)), "\"\"");
	assert_string_equal(prs_log_quote("a b c d e", tiny, sizeof(tiny)),
	    "\"a b\"");
	assert_string_equal(prs_log_quote("abcdefgh", tiny, sizeof(tiny)),
	    "abcde");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_text_line, reset),
		cmocka_unit_test_setup(test_level_filter, reset),
		cmocka_unit_test_setup(test_bad_settings, reset),
		cmocka_unit_test_setup(test_no_line_injection, reset),
		cmocka_unit_test_setup(test_json_line, reset),
		cmocka_unit_test_setup(test_quote, reset),
		cmocka_unit_test_setup(test_quoted_values_cannot_forge_fields,
		    reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
