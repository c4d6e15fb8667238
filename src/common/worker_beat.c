/*
 * The heartbeat: a thread with its own Redis connection that keeps the
 * entries in hand claimed and notices superseded pull requests.
 *
 * Every CLAIM_MIN_IDLE_MS/3 it refreshes the claim of each entry a slot
 * holds (XCLAIM ... 0 <id> JUSTID, through a script that first checks the
 * entry is still ours), so that no peer's XAUTOCLAIM takes over a scan
 * that runs longer than CLAIM_MIN_IDLE_MS.  An entry found in another
 * consumer's hands (our claim lapsed during an outage) is abandoned: its
 * scan is stopped and the entry left to the peer.
 *
 * Every SUPERSEDE_CHECK_MS it compares each job's head SHA with the
 * pull request's latest (prhead:<owner>/<repo>#<pr>, kept by the API):
 * a job whose pull request moved on or was closed is cancelled.
 */
#include "worker_internal.h"

#include <stdio.h>
#include <string.h>

#include "prscan/clock.h"
#include "prscan/error.h"
#include "prscan/log.h"

#define PRS_WBEAT_TICK_MS 100

/* What the heartbeat needs of one slot, copied under the lock. */
struct prs_wbeat_item {
	struct prs_wslot *s;
	char entry[PRS_WORKER_ID_SIZE];
	char key[PRS_WORKER_KEY_SIZE];
	char sha[41];
	char logf[PRS_WORKER_LOGF_SIZE];
};

int
prs_worker_head_moved(struct prs_wconn *c, const char *key,
    const char *sha, char *why, size_t n)
{
	char head[128];
	int rc;

	if (key[0] == '\0')
		return 0;
	rc = prs_worker_redis_get(c, key, head, sizeof(head));
	if (rc == PRS_ENOTFOUND)
		return 0;
	if (rc < 0)
		return -1;
	if (strcmp(head, sha) == 0)
		return 0;
	if (strcmp(head, "closed") == 0)
		snprintf(why, n, "the pull request was closed");
	else
		snprintf(why, n, "superseded by %.64s", head);
	return 1;
}

/* Copies the busy slots; returns how many. */
static size_t
prs_wbeat_snapshot(struct prs_worker *w, struct prs_wbeat_item *items)
{
	size_t n = 0;
	long i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->concurrency; i++) {
		struct prs_wslot *s = &w->slots[i];
		struct prs_wbeat_item *it = &items[n];

		if (!s->busy)
			continue;
		it->s = s;
		memcpy(it->entry, s->entry, sizeof(it->entry));
		memcpy(it->key, s->key, sizeof(it->key));
		memcpy(it->sha, s->sha, sizeof(it->sha));
		memcpy(it->logf, s->logf, sizeof(it->logf));
		n++;
	}
	pthread_mutex_unlock(&w->lock);
	return n;
}

static void
prs_wbeat_refresh(struct prs_wconn *c, const struct prs_wbeat_item *it)
{
	int rc = prs_worker_redis_refresh(c, it->entry);

	if (rc == 1) {
		prs_debug("claim refreshed", "%s entry=%s", it->logf,
		    it->entry);
	} else if (rc == -1 && prs_worker_slot_cancel(it->s, it->entry,
	    NULL)) {
		prs_warn("entry taken over by another consumer, scan "
		    "abandoned", "%s entry=%s", it->logf, it->entry);
	} else if (rc == 0) {
		/* Acknowledged: by this slot just now, or by a peer. */
		prs_worker_slot_cancel(it->s, it->entry, NULL);
	}
}

static void
prs_wbeat_check_head(struct prs_wconn *c, const struct prs_wbeat_item *it)
{
	char why[PRS_WORKER_WHY_SIZE], q[PRS_WORKER_WHY_SIZE + 8];

	if (it->s->superseded || prs_worker_head_moved(c, it->key, it->sha,
	    why, sizeof(why)) != 1)
		return;
	if (prs_worker_slot_cancel(it->s, it->entry, why))
		prs_info("job superseded, stopping it", "%s entry=%s "
		    "reason=%s", it->logf, it->entry,
		    prs_log_quote(why, q, sizeof(q)));
}

/* One round over the entries in hand: claims and/or heads. */
static void
prs_wbeat_round(struct prs_wconn *c, struct prs_wbeat_item *items,
    int claims, int heads)
{
	struct prs_worker *w = c->w;
	size_t i, n = prs_wbeat_snapshot(w, items);

	if (n == 0)
		return;
	if (prs_worker_redis_ensure(c, &w->beat_stop) < 0)
		return;
	for (i = 0; i < n && c->redis != NULL; i++) {
		if (claims)
			prs_wbeat_refresh(c, &items[i]);
		if (heads && c->redis != NULL)
			prs_wbeat_check_head(c, &items[i]);
	}
}

void *
prs_worker_beat_main(void *arg)
{
	struct prs_worker *w = arg;
	struct prs_wbeat_item items[PRS_WORKER_MAX_CONCURRENCY];
	struct prs_wconn c = { w, NULL, 0, NULL };
	long refresh_ms = w->claim_min_idle_ms / 3;
	long long now, next_claim = 0, next_head = 0;

	if (refresh_ms < 1)
		refresh_ms = 1;
	while (!w->beat_stop) {
		int claims, heads;

		prs_worker_sleep_ms(PRS_WBEAT_TICK_MS, &w->beat_stop);
		now = prs_clock_ms();
		claims = now >= next_claim;
		heads = now >= next_head;
		if (!claims && !heads)
			continue;
		prs_wbeat_round(&c, items, claims, heads);
		now = prs_clock_ms();
		if (claims)
			next_claim = now + refresh_ms;
		if (heads)
			next_head = now + w->supersede_check_ms;
	}
	prs_worker_redis_close(&c);
	return NULL;
}
