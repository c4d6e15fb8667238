/* Redis connections from the environment. */
#include "prscan/redis.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "prscan/env.h"
#include "prscan/error.h"

int
prs_redis_config_load(struct prs_redis_config *cfg)
{
	long port = 0;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (prs_env_string("REDIS_HOST", "localhost", &cfg->host) < 0)
		goto out;
	if (prs_env_long("REDIS_PORT", 6379, 1, 65535, &port) < 0)
		goto out;
	cfg->port = (int)port;
	if (prs_env_string("REDIS_USERNAME", NULL, &cfg->username) < 0)
		goto out;
	if (prs_env_secret("REDIS_PASSWORD", &cfg->password) < 0)
		goto out;
	rc = 0;

out:
	if (rc < 0)
		prs_redis_config_dispose(cfg);
	return rc;
}

void
prs_redis_config_dispose(struct prs_redis_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->host);
	free(cfg->username);
	prs_secret_free(cfg->password);
	memset(cfg, 0, sizeof(*cfg));
}

static struct timeval
prs_redis_tv(long timeout_ms)
{
	struct timeval tv;

	if (timeout_ms <= 0)
		timeout_ms = 1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return tv;
}

/* AUTH [username] password.  Returns 0 or -1; the password is never told. */
static int
prs_redis_auth(redisContext *c, const struct prs_redis_config *cfg)
{
	redisReply *r = NULL;
	int rc = -1;

	if (cfg->username != NULL)
		r = redisCommand(c, "AUTH %s %s", cfg->username, cfg->password);
	else
		r = redisCommand(c, "AUTH %s", cfg->password);

	if (r == NULL) {
		prs_error_set("redis %s:%d: AUTH: %s", cfg->host, cfg->port,
		    c->errstr);
		goto out;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		/* Redis's own text never echoes the password; check anyway. */
		int safe = r->str != NULL &&
		    strstr(r->str, cfg->password) == NULL;

		prs_error_set("redis %s:%d: AUTH refused: %s", cfg->host,
		    cfg->port, safe ? r->str : "(reply withheld)");
		goto out;
	}
	rc = 0;

out:
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

redisContext *
prs_redis_connect(const struct prs_redis_config *cfg, long timeout_ms)
{
	struct timeval tv = prs_redis_tv(timeout_ms);
	redisContext *c = NULL;

	c = redisConnectWithTimeout(cfg->host, cfg->port, tv);
	if (c == NULL) {
		prs_error_set("redis %s:%d: out of memory", cfg->host,
		    cfg->port);
		goto fail;
	}
	if (c->err) {
		prs_error_set("redis %s:%d: %s", cfg->host, cfg->port,
		    c->errstr);
		goto fail;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		prs_error_set("redis %s:%d: cannot set timeout: %s",
		    cfg->host, cfg->port, c->errstr);
		goto fail;
	}
	if (cfg->password != NULL && prs_redis_auth(c, cfg) < 0)
		goto fail;
	return c;

fail:
	if (c != NULL)
		redisFree(c);
	return NULL;
}
