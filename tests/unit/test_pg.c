/* The audit database's configuration: what logs may name, what is refused. */
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
#include "prscan/pg.h"

#define PASSWORD "s3cret-pw"

static void
test_where_names_host_and_db_only(void **state)
{
	char buf[128];

	(void)state;
	prs_pg_where("postgresql://audit:" PASSWORD "@db.example:6432/trail",
	    buf, sizeof(buf));
	assert_string_equal(buf, "db.example:6432/trail");
	prs_pg_where("host=10.0.0.5 dbname=x user=u password=" PASSWORD, buf,
	    sizeof(buf));
	assert_string_equal(buf, "10.0.0.5:5432/x");
	prs_pg_where("postgresql://", buf, sizeof(buf));
	assert_string_equal(buf, "(default):5432/(default)");
	prs_pg_where("not a conninfo", buf, sizeof(buf));
	assert_null(strstr(buf, "conninfo"));
}

static void
test_config_load(void **state)
{
	char path[] = "/tmp/prscan-test-pg-XXXXXX";
	char *url = (char *)1;
	int fd;

	(void)state;
	unsetenv("DATABASE_URL");
	unsetenv("DATABASE_URL_FILE");
	assert_int_equal(prs_pg_config_load(&url), 0);
	assert_null(url);

	setenv("DATABASE_URL", "host=db password=" PASSWORD " bogus=1", 1);
	assert_int_equal(prs_pg_config_load(&url), -1);
	assert_null(url);
	assert_non_null(strstr(prs_error_last(), "DATABASE_URL"));
	assert_null(strstr(prs_error_last(), PASSWORD));

	setenv("DATABASE_URL", "postgresql://u:" PASSWORD "@db/x", 1);
	assert_int_equal(prs_pg_config_load(&url), 0);
	assert_string_equal(url, "postgresql://u:" PASSWORD "@db/x");
	prs_secret_free(url);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "postgresql://f@db/y\n", 20), 20);
	close(fd);
	setenv("DATABASE_URL_FILE", path, 1);
	assert_int_equal(prs_pg_config_load(&url), -1);
	assert_null(strstr(prs_error_last(), PASSWORD));
	unsetenv("DATABASE_URL");
	assert_int_equal(prs_pg_config_load(&url), 0);
	assert_string_equal(url, "postgresql://f@db/y");
	prs_secret_free(url);
	unsetenv("DATABASE_URL_FILE");
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_where_names_host_and_db_only),
		cmocka_unit_test(test_config_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
