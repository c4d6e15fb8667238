/* Configuration and secrets from the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/redis.h"

#define SECRET_VALUE "s3cr3t-Value-42"

/* Writes content to a new temporary file; its path goes into path. */
static void
write_temp(char path[64], const char *content, size_t len)
{
	int fd;

	snprintf(path, 64, "/tmp/prscan-test-env-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
}

static int
clear_env(void **state)
{
	(void)state;
	unsetenv("PRS_T_STR");
	unsetenv("PRS_T_SECRET");
	unsetenv("PRS_T_SECRET_FILE");
	unsetenv("PRS_T_NUM");
	unsetenv("REDIS_HOST");
	unsetenv("REDIS_PORT");
	unsetenv("REDIS_USERNAME");
	unsetenv("REDIS_PASSWORD");
	unsetenv("REDIS_PASSWORD_FILE");
	prs_error_clear();
	return 0;
}

static void
test_string_set_default_missing(void **state)
{
	char *s = NULL;

	(void)state;
	setenv("PRS_T_STR", "value", 1);
	assert_int_equal(prs_env_string("PRS_T_STR", "def", &s), 0);
	assert_string_equal(s, "value");
	free(s);

	setenv("PRS_T_STR", "", 1);
	assert_int_equal(prs_env_string("PRS_T_STR", "def", &s), 0);
	assert_string_equal(s, "def");
	free(s);

	unsetenv("PRS_T_STR");
	assert_int_equal(prs_env_string("PRS_T_STR", "def", &s), 0);
	assert_string_equal(s, "def");
	free(s);

	assert_int_equal(prs_env_string("PRS_T_STR", NULL, &s), 0);
	assert_null(s);
}

static void
test_secret_from_variable(void **state)
{
	char *s = NULL;

	(void)state;
	setenv("PRS_T_SECRET", SECRET_VALUE, 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), 0);
	assert_string_equal(s, SECRET_VALUE);
	prs_secret_free(s);
}

static void
test_secret_unset(void **state)
{
	char *s = (char *)1;

	(void)state;
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), 0);
	assert_null(s);
}

static void
test_secret_file_trailing_newline(void **state)
{
	char path[64];
	char *s = NULL;

	(void)state;
	write_temp(path, SECRET_VALUE "\n", strlen(SECRET_VALUE) + 1);
	setenv("PRS_T_SECRET_FILE", path, 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), 0);
	assert_string_equal(s, SECRET_VALUE);
	prs_secret_free(s);
	unlink(path);

	/* only one newline goes; CRLF counts as one */
	write_temp(path, "abc\r\n", 5);
	setenv("PRS_T_SECRET_FILE", path, 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), 0);
	assert_string_equal(s, "abc");
	prs_secret_free(s);
	unlink(path);

	write_temp(path, "line1\nline2\n\n", 13);
	setenv("PRS_T_SECRET_FILE", path, 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), 0);
	assert_string_equal(s, "line1\nline2\n");
	prs_secret_free(s);
	unlink(path);
}

static void
test_secret_file_large(void **state)
{
	char path[64];
	char *big = NULL;
	char *s = NULL;
	size_t n = 10000;

	(void)state;
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'k', n);
	write_temp(path, big, n);
	setenv("PRS_T_SECRET_FILE", path, 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), 0);
	assert_int_equal(strlen(s), n);
	assert_memory_equal(s, big, n);
	prs_secret_free(s);
	free(big);
	unlink(path);
}

static void
test_secret_both_set(void **state)
{
	char path[64];
	char *s = NULL;

	(void)state;
	write_temp(path, "from-file\n", 10);
	setenv("PRS_T_SECRET", SECRET_VALUE, 1);
	setenv("PRS_T_SECRET_FILE", path, 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), -1);
	assert_null(s);
	assert_non_null(strstr(prs_error_last(), "PRS_T_SECRET"));
	assert_null(strstr(prs_error_last(), SECRET_VALUE));
	assert_null(strstr(prs_error_last(), "from-file"));
	unlink(path);
}

static void
test_secret_file_empty_or_unreadable(void **state)
{
	char path[64];
	char *s = NULL;

	(void)state;
	write_temp(path, "\n", 1);
	setenv("PRS_T_SECRET_FILE", path, 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), -1);
	assert_null(s);
	assert_non_null(strstr(prs_error_last(), "PRS_T_SECRET_FILE"));
	unlink(path);

	write_temp(path, "", 0);
	setenv("PRS_T_SECRET_FILE", path, 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), -1);
	assert_non_null(strstr(prs_error_last(), "PRS_T_SECRET_FILE"));
	unlink(path);

	setenv("PRS_T_SECRET_FILE", "/nonexistent/prscan/secret", 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), -1);
	assert_null(s);
	assert_non_null(strstr(prs_error_last(), "PRS_T_SECRET_FILE"));

	setenv("PRS_T_SECRET_FILE", "/tmp", 1);
	assert_int_equal(prs_env_secret("PRS_T_SECRET", &s), -1);
	assert_non_null(strstr(prs_error_last(), "PRS_T_SECRET_FILE"));
}

static void
test_long_values(void **state)
{
	long v = 0;

	(void)state;
	assert_int_equal(prs_env_long("PRS_T_NUM", 8080, 1, 65535, &v), 0);
	assert_int_equal(v, 8080);

	setenv("PRS_T_NUM", "", 1);
	assert_int_equal(prs_env_long("PRS_T_NUM", 7, 1, 65535, &v), 0);
	assert_int_equal(v, 7);

	setenv("PRS_T_NUM", "65535", 1);
	assert_int_equal(prs_env_long("PRS_T_NUM", 7, 1, 65535, &v), 0);
	assert_int_equal(v, 65535);

	setenv("PRS_T_NUM", "-5", 1);
	assert_int_equal(prs_env_long("PRS_T_NUM", 7, -10, 10, &v), 0);
	assert_int_equal(v, -5);
}

static void
expect_long_error(const char *value)
{
	long v = 42;

	setenv("PRS_T_NUM", value, 1);
	assert_int_equal(prs_env_long("PRS_T_NUM", 7, 1, 65535, &v), -1);
	assert_int_equal(v, 42);
	assert_string_equal(prs_error_last(),
	    "PRS_T_NUM: must be an integer between 1 and 65535");
}

static void
test_long_errors(void **state)
{
	(void)state;
	expect_long_error("0");
	expect_long_error("65536");
	expect_long_error("-1");
	expect_long_error("80x");
	expect_long_error("x80");
	expect_long_error(" 80");
	expect_long_error("80 ");
	expect_long_error("0x50");
	expect_long_error("8.0");
	expect_long_error("+");
	expect_long_error("99999999999999999999999");
}

static void
test_redis_config(void **state)
{
	struct prs_redis_config cfg;
	char path[64];

	(void)state;
	assert_int_equal(prs_redis_config_load(&cfg), 0);
	assert_string_equal(cfg.host, "localhost");
	assert_int_equal(cfg.port, 6379);
	assert_null(cfg.username);
	assert_null(cfg.password);
	prs_redis_config_dispose(&cfg);

	write_temp(path, SECRET_VALUE "\n", strlen(SECRET_VALUE) + 1);
	setenv("REDIS_HOST", "redis.internal", 1);
	setenv("REDIS_PORT", "6380", 1);
	setenv("REDIS_USERNAME", "scanner", 1);
	setenv("REDIS_PASSWORD_FILE", path, 1);
	assert_int_equal(prs_redis_config_load(&cfg), 0);
	assert_string_equal(cfg.host, "redis.internal");
	assert_int_equal(cfg.port, 6380);
	assert_string_equal(cfg.username, "scanner");
	assert_string_equal(cfg.password, SECRET_VALUE);
	prs_redis_config_dispose(&cfg);
	assert_null(cfg.host);
	assert_null(cfg.password);

	setenv("REDIS_PASSWORD", SECRET_VALUE, 1);
	assert_int_equal(prs_redis_config_load(&cfg), -1);
	assert_null(strstr(prs_error_last(), SECRET_VALUE));
	assert_null(cfg.host);
	unlink(path);

	unsetenv("REDIS_PASSWORD_FILE");
	setenv("REDIS_PORT", "70000", 1);
	assert_int_equal(prs_redis_config_load(&cfg), -1);
	assert_non_null(strstr(prs_error_last(), "REDIS_PORT"));
	assert_null(strstr(prs_error_last(), SECRET_VALUE));
}

static void
test_redis_connect_refused(void **state)
{
	struct prs_redis_config cfg = { "127.0.0.1", 1, NULL, SECRET_VALUE,
	    0 };
	redisContext *c = NULL;

	(void)state;
	/* port 1 on loopback: nothing listens there */
	c = prs_redis_connect(&cfg, 500);
	assert_null(c);
	assert_non_null(strstr(prs_error_last(), "127.0.0.1:1"));
	assert_null(strstr(prs_error_last(), SECRET_VALUE));
}

static void
test_wipe(void **state)
{
	unsigned char buf[16];
	size_t i;

	(void)state;
	memset(buf, 0xab, sizeof(buf));
	prs_secret_wipe(buf, sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	prs_secret_free(NULL);
	prs_secret_wipe(NULL, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_string_set_default_missing,
		    clear_env),
		cmocka_unit_test_setup(test_secret_from_variable, clear_env),
		cmocka_unit_test_setup(test_secret_unset, clear_env),
		cmocka_unit_test_setup(test_secret_file_trailing_newline,
		    clear_env),
		cmocka_unit_test_setup(test_secret_file_large, clear_env),
		cmocka_unit_test_setup(test_secret_both_set, clear_env),
		cmocka_unit_test_setup(test_secret_file_empty_or_unreadable,
		    clear_env),
		cmocka_unit_test_setup(test_long_values, clear_env),
		cmocka_unit_test_setup(test_long_errors, clear_env),
		cmocka_unit_test_setup(test_redis_config, clear_env),
		cmocka_unit_test_setup(test_redis_connect_refused, clear_env),
		cmocka_unit_test_setup(test_wipe, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
