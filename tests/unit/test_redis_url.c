/* REDIS_URL: parsing, conflicts with REDIS_HOST & co, SELECT of its db. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/redis.h"

#define PASS "p@ss:w/rd%"
#define PASS_ENC "p%40ss%3Aw%2Frd%25"

static int
clear_env(void **state)
{
	static const char *const vars[] = { "REDIS_URL", "REDIS_URL_FILE",
		"REDIS_HOST", "REDIS_PORT", "REDIS_USERNAME", "REDIS_PASSWORD",
		"REDIS_PASSWORD_FILE" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vars) / sizeof(*vars); i++)
		unsetenv(vars[i]);
	prs_error_clear();
	return 0;
}

static void
load_ok(const char *url, struct prs_redis_config *cfg)
{
	setenv("REDIS_URL", url, 1);
	if (prs_redis_config_load(cfg) != 0)
		fail_msg("%s: %s", url, prs_error_last());
}

static void
test_url_full(void **state)
{
	struct prs_redis_config cfg;

	(void)state;
	load_ok("redis://scanner:" PASS_ENC "@redis.internal:6380/3", &cfg);
	assert_string_equal(cfg.host, "redis.internal");
	assert_int_equal(cfg.port, 6380);
	assert_string_equal(cfg.username, "scanner");
	assert_string_equal(cfg.password, PASS);
	assert_int_equal(cfg.db, 3);
	prs_redis_config_dispose(&cfg);
}

static void
test_url_defaults(void **state)
{
	struct prs_redis_config cfg;

	(void)state;
	load_ok("redis://cache", &cfg);
	assert_string_equal(cfg.host, "cache");
	assert_int_equal(cfg.port, 6379);
	assert_null(cfg.username);
	assert_null(cfg.password);
	assert_int_equal(cfg.db, 0);
	prs_redis_config_dispose(&cfg);

	/* Password only (the default user), a trailing slash, any case. */
	load_ok("REDIS://:" PASS_ENC "@127.0.0.1/", &cfg);
	assert_string_equal(cfg.host, "127.0.0.1");
	assert_null(cfg.username);
	assert_string_equal(cfg.password, PASS);
	assert_int_equal(cfg.db, 0);
	prs_redis_config_dispose(&cfg);

	load_ok("redis://[::1]:7000/15", &cfg);
	assert_string_equal(cfg.host, "::1");
	assert_int_equal(cfg.port, 7000);
	assert_int_equal(cfg.db, 15);
	prs_redis_config_dispose(&cfg);
}

/* What the URL lacks comes from REDIS_USERNAME and REDIS_PASSWORD. */
static void
test_url_with_password_variable(void **state)
{
	struct prs_redis_config cfg;

	(void)state;
	setenv("REDIS_PASSWORD", PASS, 1);
	setenv("REDIS_USERNAME", "worker", 1);
	load_ok("redis://redis:6379/1", &cfg);
	assert_string_equal(cfg.password, PASS);
	assert_string_equal(cfg.username, "worker");
	assert_int_equal(cfg.db, 1);
	prs_redis_config_dispose(&cfg);
}

static void
refused(const char *url, const char *why)
{
	struct prs_redis_config cfg;

	setenv("REDIS_URL", url, 1);
	assert_int_equal(prs_redis_config_load(&cfg), -1);
	if (strstr(prs_error_last(), why) == NULL)
		fail_msg("%s: '%s' lacks '%s'", url, prs_error_last(), why);
	assert_non_null(strstr(prs_error_last(), "REDIS_URL"));
	/* Nothing of the URL's secret part is told. */
	assert_null(strstr(prs_error_last(), "hunter2"));
	assert_null(cfg.host);
	assert_null(cfg.password);
}

static void
test_url_malformed(void **state)
{
	(void)state;
	refused("rediss://:hunter2@redis:6380", "rediss:// (TLS) is not "
	    "supported");
	refused("http://:hunter2@redis", "must start with redis://");
	refused("redis://:hunter2@", "host is missing");
	refused("redis://:hunter2@redis:0", "port must be 1 to 65535");
	refused("redis://:hunter2@redis:65536", "port must be 1 to 65535");
	refused("redis://:hunter2@redis:63a", "port must be 1 to 65535");
	refused("redis://:hunter2@redis:", "port must be 1 to 65535");
	refused("redis://:hunter2@redis/x", "database number");
	refused("redis://:hunter2@redis/1/2", "database number");
	refused("redis://:hunter2@redis/99999999999", "database number");
	refused("redis://:hunter2@redis?db=1", "query and fragment");
	refused("redis://:hunter2%zz@redis", "percent-encoding in the "
	    "password");
	refused("redis://:hunter2%00@redis", "percent-encoding in the "
	    "password");
	refused("redis://:hunter2%4@redis", "percent-encoding in the "
	    "password");
	refused("redis://us%er:hunter2@redis", "percent-encoding in the "
	    "user name");
	refused("redis://:hunter2@re dis", "bad character in the host");
	refused("redis://:hunter2@[::1", "unclosed [");
}

static void
test_url_conflicts(void **state)
{
	(void)state;
	setenv("REDIS_HOST", "other", 1);
	refused("redis://:hunter2@redis", "REDIS_URL and REDIS_HOST");
	unsetenv("REDIS_HOST");
	setenv("REDIS_PORT", "6379", 1);
	refused("redis://:hunter2@redis", "REDIS_URL and REDIS_PORT");
	unsetenv("REDIS_PORT");
	setenv("REDIS_PASSWORD", "other", 1);
	refused("redis://:hunter2@redis", "REDIS_URL and REDIS_PASSWORD");
	unsetenv("REDIS_PASSWORD");
	setenv("REDIS_USERNAME", "u", 1);
	refused("redis://u2:hunter2@redis", "REDIS_URL and REDIS_USERNAME");
}

/* REDIS_URL_FILE keeps the URL, password and all, out of the env. */
static void
test_url_from_file(void **state)
{
	char path[] = "/tmp/prscan-test-url-XXXXXX";
	const char *url = "redis://:" PASS_ENC "@10.0.0.5:6390/2\n";
	struct prs_redis_config cfg;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, url, strlen(url)), (ssize_t)strlen(url));
	close(fd);
	setenv("REDIS_URL_FILE", path, 1);
	assert_int_equal(prs_redis_config_load(&cfg), 0);
	assert_string_equal(cfg.host, "10.0.0.5");
	assert_int_equal(cfg.port, 6390);
	assert_string_equal(cfg.password, PASS);
	assert_int_equal(cfg.db, 2);
	prs_redis_config_dispose(&cfg);
	unlink(path);
}

/* A parse failure leaves a configuration as it was. */
static void
test_parse_keeps_cfg(void **state)
{
	struct prs_redis_config cfg = { NULL, 6379, NULL, NULL, 0 };

	(void)state;
	assert_int_equal(prs_redis_url_parse("redis://h:1/x", &cfg),
	    PRS_EINPUT);
	assert_null(cfg.host);
	assert_int_equal(cfg.port, 6379);
	assert_int_equal(prs_redis_url_parse("redis://u@h:1/4", &cfg), 0);
	assert_string_equal(cfg.username, "u");
	assert_int_equal(cfg.db, 4);
	prs_redis_config_dispose(&cfg);
}

/* A loopback TCP port free right now. */
static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/*
 * Against a real redis-server: AUTH with the URL's decoded password,
 * then SELECT of its database.
 */
static void
test_connect_selects_db(void **state)
{
	char dir[] = "/tmp/prscan-test-redis-XXXXXX", conf[128], cmd[512];
	char url[160];
	struct prs_redis_config cfg;
	redisContext *c = NULL;
	redisReply *r = NULL;
	int port = free_port(), i;
	FILE *f;

	(void)state;
	if (access("/usr/bin/redis-server", X_OK) != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/redis.conf", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "port %d\nbind 127.0.0.1\nsave \"\"\ndir %s\n"
	    "requirepass \"%s\"\ndaemonize yes\npidfile %s/redis.pid\n",
	    port, dir, PASS, dir);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "redis-server %s >/dev/null", conf);
	assert_int_equal(system(cmd), 0);

	snprintf(url, sizeof(url), "redis://default:%s@127.0.0.1:%d/5",
	    PASS_ENC, port);
	load_ok(url, &cfg);
	for (i = 0; i < 100 && c == NULL; i++) {
		c = prs_redis_connect(&cfg, 1000);
		if (c == NULL)
			usleep(50000);
	}
	assert_non_null(c);
	r = redisCommand(c, "SET k v");
	freeReplyObject(r);
	r = redisCommand(c, "CLIENT INFO");
	assert_non_null(r);
	assert_non_null(strstr(r->str, " db=5 "));
	freeReplyObject(r);
	redisFree(c);

	cfg.password[0] = 'X';
	c = prs_redis_connect(&cfg, 1000);
	assert_null(c);
	assert_null(strstr(prs_error_last(), cfg.password));
	prs_redis_config_dispose(&cfg);

	snprintf(cmd, sizeof(cmd), "kill $(cat %s/redis.pid); sleep 0.2; "
	    "rm -rf %s", dir, dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_url_full, clear_env),
		cmocka_unit_test_setup(test_url_defaults, clear_env),
		cmocka_unit_test_setup(test_url_with_password_variable,
		    clear_env),
		cmocka_unit_test_setup(test_url_malformed, clear_env),
		cmocka_unit_test_setup(test_url_conflicts, clear_env),
		cmocka_unit_test_setup(test_url_from_file, clear_env),
		cmocka_unit_test_setup(test_parse_keeps_cfg, clear_env),
		cmocka_unit_test_setup(test_connect_selects_db, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
