/*
 * The worker's Redis side: connecting with backoff, reading its stream
 * through the consumer group, reclaiming idle entries, refreshing claims,
 * acknowledging and dead-lettering entries.  Every thread has its own
 * connection (struct prs_wconn); what they share lives in the worker under
 * its lock.
 *
 * An outage is logged once (warn) and its end once (info) for the whole
 * process, however many connections notice it: each connection remembers
 * the outage count when it connected, and only one that connected after
 * the last declared outage may declare a new one.
 */
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prscan/clock.h"
#include "prscan/error.h"
#include "prscan/log.h"

#define PRS_WREDIS_TIMEOUT_MS 5000
#define PRS_WREDIS_BACKOFF_MIN_MS 100
#define PRS_WREDIS_BACKOFF_MAX_MS 5000
/* Dead letters kept per stream, approximately. */
#define PRS_WREDIS_DEAD_MAXLEN "10000"
#define PRS_WREDIS_DEAD_SUFFIX ":dead"

/*
 * Refreshes a claim only while the entry is pending to this consumer, so
 * that a worker whose claim was taken over (after an outage longer than
 * CLAIM_MIN_IDLE_MS) never takes it back from the peer now running it.
 */
static const char prs_wredis_refresh_lua[] =
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], "
    "ARGV[3], 1)\n"
    "if #p == 0 then return 0 end\n"
    "if p[1][2] ~= ARGV[2] then return -1 end\n"
    "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], "
    "'JUSTID')\n"
    "return 1\n";


int
prs_worker_sleep_ms(long ms, const volatile sig_atomic_t *abort_flag)
{
	long long end = prs_clock_ms() + ms;

	for (;;) {
		long long left = end - prs_clock_ms();
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

/* Declares an outage unless one already covers this connection. */
static void
prs_wredis_outage(struct prs_wconn *c, const char *msg, const char *why)
{
	struct prs_worker *w = c->w;
	char q[256];
	int first = 0;

	pthread_mutex_lock(&w->lock);
	if (!w->redis_down && c->gen == w->redis_gen) {
		w->redis_down = 1;
		w->redis_gen++;
		first = 1;
	}
	pthread_mutex_unlock(&w->lock);
	if (first)
		prs_warn(msg, "stream=%s error=%s", w->stream,
		    prs_log_quote(why, q, sizeof(q)));
	else
		prs_debug(msg, "stream=%s error=%s", w->stream,
		    prs_log_quote(why, q, sizeof(q)));
}

/* Drops a broken connection, logging the loss once. */
static void
prs_wredis_lost(struct prs_wconn *c, const char *why)
{
	prs_wredis_outage(c, "redis connection lost", why);
	prs_worker_redis_close(c);
}

/*
 * Runs one command given as argv.  Returns the reply (the caller frees),
 * or NULL when the connection broke (then closed and logged).
 */
static redisReply *
prs_wredis_argv(struct prs_wconn *c, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r;

	if (c->redis == NULL)
		return NULL;
	r = redisCommandArgv(c->redis, argc, argv, lens);
	if (r == NULL)
		prs_wredis_lost(c, c->redis->errstr);
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
prs_wredis_group(struct prs_wconn *c)
{
	const struct prs_worker *w = c->w;
	const char *argv[] = {
		"XGROUP", "CREATE", w->stream, w->group, "0", "MKSTREAM"
	};
	redisReply *r = prs_wredis_argv(c, 6, argv, NULL);
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

/* Logs the end of an outage once. */
static void
prs_wredis_recovered(struct prs_wconn *c)
{
	struct prs_worker *w = c->w;
	int was_down;

	pthread_mutex_lock(&w->lock);
	was_down = w->redis_down;
	w->redis_down = 0;
	c->gen = w->redis_gen;
	pthread_mutex_unlock(&w->lock);
	if (was_down)
		prs_info("redis reconnected", "stream=%s", w->stream);
}

static int
prs_wredis_connect(struct prs_wconn *c)
{
	c->redis = prs_redis_connect(&c->w->redis_cfg,
	    PRS_WREDIS_TIMEOUT_MS);
	if (c->redis == NULL) {
		prs_wredis_outage(c, "redis unavailable", prs_error_last());
		return -1;
	}
	if (prs_wredis_group(c) < 0) {
		prs_worker_redis_close(c);
		return -1;
	}
	prs_wredis_recovered(c);
	return 0;
}

int
prs_worker_redis_ensure(struct prs_wconn *c,
    const volatile sig_atomic_t *abort_flag)
{
	long delay = PRS_WREDIS_BACKOFF_MIN_MS;

	while (c->redis == NULL) {
		if (abort_flag != NULL && *abort_flag)
			return -1;
		if (prs_wredis_connect(c) == 0)
			break;
		if (prs_worker_sleep_ms(delay, abort_flag) < 0)
			return -1;
		delay = delay * 2 > PRS_WREDIS_BACKOFF_MAX_MS ?
		    PRS_WREDIS_BACKOFF_MAX_MS : delay * 2;
	}
	return 0;
}

/* An error answer: logged; a vanished group is created again. */
static void
prs_wredis_error(struct prs_wconn *c, const char *cmd, const redisReply *r)
{
	char q[256];

	prs_err("redis command failed", "cmd=%s stream=%s error=%s", cmd,
	    c->w->stream, prs_log_quote(r->str, q, sizeof(q)));
	/* The stream or group vanished (a Redis restart): recreate. */
	if (prs_wredis_is_error(r, "NOGROUP"))
		prs_wredis_group(c);
}

/* Runs a command; the reply, or NULL (logged) on trouble or an error. */
static redisReply *
prs_wredis_cmd(struct prs_wconn *c, int argc, const char **argv)
{
	redisReply *r = prs_wredis_argv(c, argc, argv, NULL);

	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		prs_wredis_error(c, argv[0], r);
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

int
prs_worker_redis_read(struct prs_wconn *c, long block_ms,
    redisReply **reply)
{
	const struct prs_worker *w = c->w;
	char block[24];
	const char *argv[] = {
		"XREADGROUP", "GROUP", w->group, w->consumer, "COUNT", "1",
		"BLOCK", block, "STREAMS", w->stream, ">"
	};
	redisReply *r;

	snprintf(block, sizeof(block), "%ld", block_ms > 0 ? block_ms : 1);
	*reply = NULL;
	r = prs_wredis_cmd(c, 11, argv);
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return 0;
	}
	*reply = r;
	return 0;
}

int
prs_worker_redis_autoclaim(struct prs_wconn *c, const char *cursor,
    redisReply **reply)
{
	const struct prs_worker *w = c->w;
	char idle[24];
	const char *argv[] = {
		"XAUTOCLAIM", w->stream, w->group, w->consumer, idle, cursor,
		"COUNT", "1"
	};
	redisReply *r;

	snprintf(idle, sizeof(idle), "%ld", w->claim_min_idle_ms);
	*reply = NULL;
	r = prs_wredis_cmd(c, 8, argv);
	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		prs_err("unexpected XAUTOCLAIM answer", "stream=%s",
		    w->stream);
		freeReplyObject(r);
		return -1;
	}
	*reply = r;
	return 0;
}

int
prs_worker_redis_deliveries(struct prs_wconn *c, const char *id, long *n)
{
	const struct prs_worker *w = c->w;
	const char *argv[] = {
		"XPENDING", w->stream, w->group, "IDLE", "0", id, id, "1"
	};
	redisReply *r = prs_wredis_cmd(c, 8, argv);
	const redisReply *e;
	int rc = -1;

	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
		rc = PRS_ENOTFOUND;
		goto out;
	}
	e = r->element[0];
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
	    e->element[3]->type != REDIS_REPLY_INTEGER)
		goto out;
	*n = (long)e->element[3]->integer;
	rc = 0;
out:
	freeReplyObject(r);
	return rc;
}

int
prs_worker_redis_refresh(struct prs_wconn *c, const char *id)
{
	const struct prs_worker *w = c->w;
	const char *argv[] = {
		"EVAL", prs_wredis_refresh_lua, "1", w->stream, w->group,
		w->consumer, id
	};
	redisReply *r = prs_wredis_cmd(c, 7, argv);
	int rc = -2;

	if (r == NULL)
		return -2;
	if (r->type == REDIS_REPLY_INTEGER)
		rc = (int)r->integer;
	freeReplyObject(r);
	return rc;
}

int
prs_worker_redis_get(struct prs_wconn *c, const char *key, char *out,
    size_t n)
{
	const char *argv[] = { "GET", key };
	redisReply *r = prs_wredis_cmd(c, 2, argv);
	int rc = -1;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_NIL) {
		rc = PRS_ENOTFOUND;
	} else if (r->type == REDIS_REPLY_STRING) {
		snprintf(out, n, "%s", r->str);
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

/* The integer or string value of field name in a flat XINFO map. */
static long long
prs_wredis_info_num(const redisReply *m, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < m->elements; i += 2) {
		const redisReply *k = m->element[i], *v = m->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || strcmp(k->str, name) != 0)
			continue;
		if (v->type == REDIS_REPLY_INTEGER)
			return v->integer;
		if (v->type == REDIS_REPLY_STRING)
			return strtoll(v->str, NULL, 10);
	}
	return -1;
}

static const char *
prs_wredis_info_str(const redisReply *m, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < m->elements; i += 2)
		if (m->element[i]->type == REDIS_REPLY_STRING &&
		    m->element[i + 1]->type == REDIS_REPLY_STRING &&
		    strcmp(m->element[i]->str, name) == 0)
			return m->element[i + 1]->str;
	return NULL;
}

/* Removes one idle consumer without pending entries. */
static void
prs_wredis_delconsumer(struct prs_wconn *c, const char *name,
    long long idle)
{
	const struct prs_worker *w = c->w;
	const char *argv[] = {
		"XGROUP", "DELCONSUMER", w->stream, w->group, name
	};
	redisReply *r = prs_wredis_cmd(c, 5, argv);
	char q[200];

	if (r == NULL)
		return;
	prs_info("idle consumer removed", "stream=%s group=%s consumer=%s "
	    "idle_ms=%lld", w->stream, w->group,
	    prs_log_quote(name, q, sizeof(q)), idle);
	freeReplyObject(r);
}

int
prs_worker_redis_prune(struct prs_wconn *c)
{
	const struct prs_worker *w = c->w;
	const char *argv[] = { "XINFO", "CONSUMERS", w->stream, w->group };
	redisReply *r = prs_wredis_cmd(c, 4, argv);
	size_t i;

	if (r == NULL)
		return -1;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *m = r->element[i];
		const char *name;
		long long idle;

		if (m->type != REDIS_REPLY_ARRAY)
			continue;
		name = prs_wredis_info_str(m, "name");
		idle = prs_wredis_info_num(m, "idle");
		if (name == NULL || strcmp(name, w->consumer) == 0 ||
		    prs_wredis_info_num(m, "pending") != 0 ||
		    idle <= w->consumer_idle_max_ms)
			continue;
		prs_wredis_delconsumer(c, name, idle);
	}
	freeReplyObject(r);
	return 0;
}

/* Runs a command until it got an answer; NULL only when cancelled. */
static redisReply *
prs_wredis_argv_persist(struct prs_wconn *c, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r = NULL;

	while (r == NULL) {
		if (prs_worker_redis_ensure(c, &prs_worker_cancelled) < 0)
			return NULL;
		r = prs_wredis_argv(c, argc, argv, lens);
	}
	return r;
}

/* Runs a command that must succeed; 0 or -1 (logged). */
static int
prs_wredis_must(struct prs_wconn *c, int argc, const char **argv,
    const size_t *lens, const char *id)
{
	redisReply *r = prs_wredis_argv_persist(c, argc, argv, lens);
	char q[256];
	int rc = -1;

	if (r == NULL) {
		prs_err("redis command abandoned", "%s cmd=%s entry=%s",
		    c->logf != NULL ? c->logf : "", argv[0], id);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		prs_err("redis command failed", "%s cmd=%s entry=%s error=%s",
		    c->logf != NULL ? c->logf : "", argv[0], id,
		    prs_log_quote(r->str, q, sizeof(q)));
		goto out;
	}
	rc = 0;
out:
	freeReplyObject(r);
	return rc;
}

int
prs_worker_redis_ack(struct prs_wconn *c, const char *id)
{
	const struct prs_worker *w = c->w;
	const char *ack[] = { "XACK", w->stream, w->group, id };
	const char *del[] = { "XDEL", w->stream, id };

	if (prs_wredis_must(c, 4, ack, NULL, id) < 0)
		return -1;
	return prs_wredis_must(c, 3, del, NULL, id);
}

int
prs_worker_redis_dead_letter(struct prs_wconn *c, const char *id,
    const char *reason, const char *raw, size_t rawlen, long deliveries)
{
	char dead[512], count[24];
	const char *argv[] = {
		"XADD", dead, "MAXLEN", "~", PRS_WREDIS_DEAD_MAXLEN, "*",
		"reason", reason, "entry_id", id, "deliveries", count,
		"job", raw != NULL ? raw : ""
	};
	size_t lens[14];
	size_t i;

	if ((size_t)snprintf(dead, sizeof(dead), "%s%s", c->w->stream,
	    PRS_WREDIS_DEAD_SUFFIX) >= sizeof(dead))
		return prs_error_set("stream name too long");
	snprintf(count, sizeof(count), "%ld", deliveries);
	for (i = 0; i < 13; i++)
		lens[i] = strlen(argv[i]);
	lens[13] = raw != NULL ? rawlen : 0;

	if (prs_wredis_must(c, 14, argv, lens, id) < 0)
		return -1;
	return prs_worker_redis_ack(c, id);
}

void
prs_worker_redis_close(struct prs_wconn *c)
{
	if (c->redis != NULL)
		redisFree(c->redis);
	c->redis = NULL;
}
