/*
 * The worker's Redis side: connecting with backoff, reading its stream
 * through the consumer group, acknowledging and dead-lettering entries.
 *
 * A lost connection is logged once (warn) and its recovery once (info);
 * the attempts in between only at debug, so a long outage does not flood
 * the log.
 */
#include "worker_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prscan/error.h"
#include "prscan/log.h"

#define PRS_WREDIS_TIMEOUT_MS 5000
#define PRS_WREDIS_BACKOFF_MIN_MS 100
#define PRS_WREDIS_BACKOFF_MAX_MS 5000
#define PRS_WREDIS_BLOCK_MS "2000"
/* Dead letters kept per stream, approximately. */
#define PRS_WREDIS_DEAD_MAXLEN "10000"
#define PRS_WREDIS_DEAD_SUFFIX ":dead"

long long
prs_worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
prs_worker_sleep_ms(long ms, const volatile sig_atomic_t *abort_flag)
{
	long long end = prs_worker_now_ms() + ms;

	for (;;) {
		long long left = end - prs_worker_now_ms();
		struct timespec ts = { 0, 50 * 1000000L };

		if (abort_flag != NULL && *abort_flag)
			return -1;
		if (left <= 0)
			return 0;
		if (left < 50)
			ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/* Drops a broken connection, logging the loss once. */
static void
prs_wredis_lost(struct prs_worker *w, const char *why)
{
	char q[256];

	if (!w->redis_down)
		prs_warn("redis connection lost", "error=%s",
		    prs_log_quote(why, q, sizeof(q)));
	w->redis_down = 1;
	prs_worker_redis_close(w);
}

/*
 * Runs one command given as argv.  Returns the reply (the caller frees),
 * or NULL when the connection broke (then closed and logged).
 */
static redisReply *
prs_wredis_argv(struct prs_worker *w, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r;

	if (w->redis == NULL)
		return NULL;
	r = redisCommandArgv(w->redis, argc, argv, lens);
	if (r == NULL)
		prs_wredis_lost(w, w->redis->errstr);
	return r;
}

static int
prs_wredis_is_error(const redisReply *r, const char *prefix)
{
	return r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    strncmp(r->str, prefix, strlen(prefix)) == 0;
}

/* XGROUP CREATE from id 0, so jobs queued before any worker are read. */
static int
prs_wredis_group(struct prs_worker *w)
{
	const char *argv[] = {
		"XGROUP", "CREATE", w->stream, w->group, "0", "MKSTREAM"
	};
	redisReply *r = prs_wredis_argv(w, 6, argv, NULL);
	char q[256];
	int rc = -1;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR && !prs_wredis_is_error(r,
	    "BUSYGROUP")) {
		prs_err("XGROUP CREATE failed", "stream=%s group=%s error=%s",
		    w->stream, w->group, prs_log_quote(r->str, q, sizeof(q)));
		goto out;
	}
	rc = 0;
out:
	freeReplyObject(r);
	return rc;
}

static int
prs_wredis_connect(struct prs_worker *w)
{
	char q[256];

	w->redis = prs_redis_connect(&w->redis_cfg, PRS_WREDIS_TIMEOUT_MS);
	if (w->redis == NULL) {
		if (!w->redis_down)
			prs_warn("redis unavailable", "error=%s",
			    prs_log_quote(prs_error_last(), q, sizeof(q)));
		else
			prs_debug("redis still unavailable", "error=%s",
			    prs_log_quote(prs_error_last(), q, sizeof(q)));
		w->redis_down = 1;
		return -1;
	}
	if (prs_wredis_group(w) < 0) {
		prs_worker_redis_close(w);
		w->redis_down = 1;
		return -1;
	}
	if (w->redis_down)
		prs_info("redis reconnected", "stream=%s", w->stream);
	w->redis_down = 0;
	return 0;
}

int
prs_worker_redis_ensure(struct prs_worker *w,
    const volatile sig_atomic_t *abort_flag)
{
	long delay = PRS_WREDIS_BACKOFF_MIN_MS;

	while (w->redis == NULL) {
		if (abort_flag != NULL && *abort_flag)
			return -1;
		if (prs_wredis_connect(w) == 0)
			break;
		if (prs_worker_sleep_ms(delay, abort_flag) < 0)
			return -1;
		delay = delay * 2 > PRS_WREDIS_BACKOFF_MAX_MS ?
		    PRS_WREDIS_BACKOFF_MAX_MS : delay * 2;
	}
	return 0;
}

int
prs_worker_redis_read(struct prs_worker *w, redisReply **reply)
{
	const char *argv[] = {
		"XREADGROUP", "GROUP", w->group, w->consumer, "COUNT", "1",
		"BLOCK", PRS_WREDIS_BLOCK_MS, "STREAMS", w->stream, ">"
	};
	redisReply *r = prs_wredis_argv(w, 11, argv, NULL);
	char q[256];

	*reply = NULL;
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR) {
		prs_err("XREADGROUP failed", "stream=%s error=%s", w->stream,
		    prs_log_quote(r->str, q, sizeof(q)));
		/* The stream or group vanished (a Redis restart): recreate. */
		if (prs_wredis_is_error(r, "NOGROUP"))
			prs_wredis_group(w);
		freeReplyObject(r);
		return -1;
	}
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return 0;
	}
	*reply = r;
	return 0;
}

/* Runs a command until it got an answer; NULL only when cancelled. */
static redisReply *
prs_wredis_argv_persist(struct prs_worker *w, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r = NULL;

	while (r == NULL) {
		if (prs_worker_redis_ensure(w, &prs_worker_cancelled) < 0)
			return NULL;
		r = prs_wredis_argv(w, argc, argv, lens);
	}
	return r;
}

/* Runs a command that must succeed; 0 or -1 (logged). */
static int
prs_wredis_must(struct prs_worker *w, int argc, const char **argv,
    const size_t *lens, const char *id)
{
	redisReply *r = prs_wredis_argv_persist(w, argc, argv, lens);
	char q[256];
	int rc = -1;

	if (r == NULL) {
		prs_err("redis command abandoned", "cmd=%s entry=%s", argv[0],
		    id);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		prs_err("redis command failed", "cmd=%s entry=%s error=%s",
		    argv[0], id, prs_log_quote(r->str, q, sizeof(q)));
		goto out;
	}
	rc = 0;
out:
	freeReplyObject(r);
	return rc;
}

int
prs_worker_redis_ack(struct prs_worker *w, const char *stream,
    const char *id)
{
	const char *ack[] = { "XACK", stream, w->group, id };
	const char *del[] = { "XDEL", stream, id };

	if (prs_wredis_must(w, 4, ack, NULL, id) < 0)
		return -1;
	return prs_wredis_must(w, 3, del, NULL, id);
}

int
prs_worker_redis_dead_letter(struct prs_worker *w, const char *stream,
    const char *id, const char *reason, const char *raw, size_t rawlen)
{
	char dead[512];
	const char *argv[] = {
		"XADD", dead, "MAXLEN", "~", PRS_WREDIS_DEAD_MAXLEN, "*",
		"reason", reason, "entry_id", id, "job", raw != NULL ? raw : ""
	};
	size_t lens[12];
	size_t i;

	if ((size_t)snprintf(dead, sizeof(dead), "%s%s", stream,
	    PRS_WREDIS_DEAD_SUFFIX) >= sizeof(dead))
		return prs_error_set("stream name too long");
	for (i = 0; i < 11; i++)
		lens[i] = strlen(argv[i]);
	lens[11] = raw != NULL ? rawlen : 0;

	if (prs_wredis_must(w, 12, argv, lens, id) < 0)
		return -1;
	return prs_worker_redis_ack(w, stream, id);
}

void
prs_worker_redis_close(struct prs_worker *w)
{
	if (w->redis != NULL)
		redisFree(w->redis);
	w->redis = NULL;
}
