/*
 * A scan slot: one thread with its own Redis connection that takes one
 * entry at a time, either a new one (XREADGROUP ... COUNT 1) or one a dead
 * or stuck peer left idle (XAUTOCLAIM ... COUNT 1).  WORKER_CONCURRENCY
 * slots run side by side under one consumer name.
 *
 * Reclaiming is shared: every CLAIM_INTERVAL seconds one free slot walks
 * the group's pending list with XAUTOCLAIM, an entry at a time, each taken
 * entry processed by the slot that took it while the next free slot goes
 * on from the cursor; when the walk is back at 0-0 it also removes idle
 * consumers.  Entries in hand are never taken, as the heartbeat keeps
 * their idle time below CLAIM_MIN_IDLE_MS.
 */
#include "worker_internal.h"

#include <stdio.h>
#include <string.h>

#include "prscan/clock.h"
#include "prscan/error.h"
#include "prscan/log.h"

#define PRS_WSLOT_BLOCK_MS 2000

void
prs_worker_slot_hold(struct prs_wslot *s, const char *id)
{
	pthread_mutex_lock(&s->w->lock);
	s->busy = 1;
	snprintf(s->entry, sizeof(s->entry), "%s", id);
	s->key[0] = '\0';
	s->sha[0] = '\0';
	s->why[0] = '\0';
	snprintf(s->logf, sizeof(s->logf), "stream=%s", s->w->stream);
	s->conn.logf = s->logf;
	s->superseded = 0;
	s->abandon = prs_worker_cancelled;
	s->cancel = prs_worker_cancelled;
	pthread_mutex_unlock(&s->w->lock);
}

void
prs_worker_slot_release(struct prs_wslot *s)
{
	pthread_mutex_lock(&s->w->lock);
	s->busy = 0;
	s->entry[0] = '\0';
	s->key[0] = '\0';
	snprintf(s->logf, sizeof(s->logf), "stream=%s", s->w->stream);
	pthread_mutex_unlock(&s->w->lock);
}

void
prs_worker_slot_describe(struct prs_wslot *s, const char *logf,
    const char *key, const char *sha)
{
	pthread_mutex_lock(&s->w->lock);
	snprintf(s->logf, sizeof(s->logf), "%s", logf);
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->sha, sizeof(s->sha), "%s", sha);
	pthread_mutex_unlock(&s->w->lock);
}

int
prs_worker_slot_cancel(struct prs_wslot *s, const char *id,
    const char *why)
{
	int held;

	pthread_mutex_lock(&s->w->lock);
	held = s->busy && strcmp(s->entry, id) == 0;
	if (held) {
		if (why != NULL) {
			snprintf(s->why, sizeof(s->why), "%s", why);
			s->superseded = 1;
		} else {
			s->abandon = 1;
		}
		s->cancel = 1;
	}
	pthread_mutex_unlock(&s->w->lock);
	return held;
}

/* Processes one entry with its claim refreshed while it is in hand. */
static void
prs_wslot_take(struct prs_wslot *s, const char *id, const redisReply *f,
    long deliveries)
{
	prs_worker_slot_hold(s, id);
	prs_worker_process_entry(s, id, f, deliveries);
	prs_worker_slot_release(s);
}

/*
 * Hands each entry of an XREADGROUP answer to the entry handler:
 * [[stream, [[id, [field, value, ...]], ...]]].  Each was delivered once.
 */
static void
prs_wslot_dispatch(struct prs_wslot *s, const redisReply *r)
{
	size_t i, k;

	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *st = r->element[i];

		if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
		    st->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		for (k = 0; k < st->element[1]->elements; k++) {
			const redisReply *e = st->element[1]->element[k];

			if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
			    e->element[0]->type != REDIS_REPLY_STRING)
				continue;
			prs_wslot_take(s, e->element[0]->str,
			    e->elements > 1 ? e->element[1] : NULL, 1);
		}
	}
}

/*
 * Whether this slot should reclaim now; then *cursor is where to go on
 * from and the caller must call prs_wslot_reclaim_done().
 */
static int
prs_wslot_reclaim_due(struct prs_worker *w, char *cursor, size_t n)
{
	int due = 0;

	pthread_mutex_lock(&w->lock);
	if (!w->reclaiming && prs_clock_ms() >= w->reclaim_due) {
		w->reclaiming = 1;
		snprintf(cursor, n, "%s", w->cursor);
		due = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return due;
}

/* Saves the cursor; a finished walk waits CLAIM_INTERVAL for the next. */
static void
prs_wslot_reclaim_done(struct prs_worker *w, const char *next)
{
	pthread_mutex_lock(&w->lock);
	w->reclaiming = 0;
	snprintf(w->cursor, sizeof(w->cursor), "%s", next);
	if (strcmp(next, "0-0") == 0)
		w->reclaim_due = prs_clock_ms() +
		    w->claim_interval * 1000;
	pthread_mutex_unlock(&w->lock);
}

/* Milliseconds until the next reclaim walk is due (at least 1). */
static long
prs_wslot_until_reclaim(struct prs_worker *w)
{
	long long left;

	pthread_mutex_lock(&w->lock);
	left = w->reclaim_due - prs_clock_ms();
	pthread_mutex_unlock(&w->lock);
	if (left < 1)
		return 1;
	return left > PRS_WSLOT_BLOCK_MS ? PRS_WSLOT_BLOCK_MS : (long)left;
}

/* Entries deleted from the stream while pending: drop them. */
static void
prs_wslot_drop_deleted(struct prs_wslot *s, const redisReply *ids)
{
	size_t i;

	for (i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements; i++) {
		if (ids->element[i]->type != REDIS_REPLY_STRING)
			continue;
		prs_warn("pending entry was deleted, acknowledged",
		    "stream=%s entry=%s", s->w->stream, ids->element[i]->str);
		prs_worker_redis_ack(&s->conn, ids->element[i]->str);
	}
}

/* Processes an entry XAUTOCLAIM took over, counting its deliveries. */
static void
prs_wslot_reclaimed(struct prs_wslot *s, const redisReply *e)
{
	const char *id;
	long n = 1;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return;
	id = e->element[0]->str;
	if (prs_worker_redis_deliveries(&s->conn, id, &n) < 0)
		return;
	prs_debug("entry taken over", "stream=%s entry=%s deliveries=%ld",
	    s->w->stream, id, n);
	prs_wslot_take(s, id, e->elements > 1 ? e->element[1] : NULL, n);
}

/* One XAUTOCLAIM step of the shared walk. */
static void
prs_wslot_reclaim(struct prs_wslot *s)
{
	char cursor[PRS_WORKER_ID_SIZE];
	redisReply *r = NULL;
	size_t i;

	if (!prs_wslot_reclaim_due(s->w, cursor, sizeof(cursor)))
		return;
	if (strcmp(cursor, "0-0") == 0)
		prs_worker_redis_prune(&s->conn);
	if (prs_worker_redis_autoclaim(&s->conn, cursor, &r) < 0) {
		prs_wslot_reclaim_done(s->w, "0-0");
		return;
	}
	prs_wslot_reclaim_done(s->w, r->element[0]->str);
	if (r->elements > 2)
		prs_wslot_drop_deleted(s, r->element[2]);
	for (i = 0; i < r->element[1]->elements; i++)
		prs_wslot_reclaimed(s, r->element[1]->element[i]);
	freeReplyObject(r);
}

void *
prs_worker_slot_main(void *arg)
{
	struct prs_wslot *s = arg;
	redisReply *r = NULL;

	while (!prs_worker_stopping) {
		if (prs_worker_redis_ensure(&s->conn, &prs_worker_stopping) < 0)
			break;
		prs_wslot_reclaim(s);
		if (prs_worker_stopping || s->conn.redis == NULL)
			continue;
		if (prs_worker_redis_read(&s->conn,
		    prs_wslot_until_reclaim(s->w), &r) < 0) {
			/* An error answer: do not spin on it. */
			if (s->conn.redis != NULL)
				prs_worker_sleep_ms(1000, &prs_worker_stopping);
			continue;
		}
		if (r == NULL)
			continue;
		prs_wslot_dispatch(s, r);
		freeReplyObject(r);
		r = NULL;
	}
	prs_worker_redis_close(&s->conn);
	return NULL;
}
