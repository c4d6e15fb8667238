/* One Redis connection per pool thread, made on first use. */
#include "api.h"

#include <pthread.h>

#include "prscan/error.h"
#include "prscan/log.h"

#define API_REDIS_TIMEOUT_MS 2000

static pthread_key_t redis_key;
static pthread_once_t redis_once = PTHREAD_ONCE_INIT;
static _Thread_local int thread_down;

static void
free_context(void *p)
{
	redisFree(p);
}

static void
make_key(void)
{
	pthread_key_create(&redis_key, free_context);
}

redisContext *
api_redis(const struct api *api)
{
	redisContext *c;

	pthread_once(&redis_once, make_key);
	c = pthread_getspecific(redis_key);
	if (c != NULL && c->err == 0)
		return c;
	api_redis_release();
	c = prs_redis_connect(&api->cfg.redis, API_REDIS_TIMEOUT_MS);
	if (c == NULL) {
		/* One line per outage and thread, not one per request. */
		if (!thread_down)
			prs_err("redis unreachable", "host=%s port=%d "
			    "reason=%s", api->cfg.redis.host,
			    api->cfg.redis.port, prs_log_q(prs_error_last()));
		thread_down = 1;
		return NULL;
	}
	if (thread_down)
		prs_info("redis reachable again", "host=%s port=%d",
		    api->cfg.redis.host, api->cfg.redis.port);
	thread_down = 0;
	pthread_setspecific(redis_key, c);
	return c;
}

void
api_redis_drop(void)
{
	api_redis_release();
}

void
api_redis_release(void)
{
	redisContext *c;

	pthread_once(&redis_once, make_key);
	c = pthread_getspecific(redis_key);
	if (c != NULL)
		redisFree(c);
	pthread_setspecific(redis_key, NULL);
}
