/* The worker engine's parts, shared between its worker_*.c files only. */
#ifndef PRSCAN_WORKER_INTERNAL_H
#define PRSCAN_WORKER_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "prscan/redis.h"
#include "prscan/statusd.h"
#include "prscan/worker.h"

#define PRS_WORKER_ID_SIZE 64
#define PRS_WORKER_KEY_SIZE 200
#define PRS_WORKER_WHY_SIZE 160
#define PRS_WORKER_LOGF_SIZE 512
#define PRS_WORKER_MAX_CONCURRENCY 64

struct prs_worker;

/* One Redis connection; each thread has its own (hiredis is not MT). */
struct prs_wconn {
	struct prs_worker *w;
	redisContext *redis;		/* NULL while disconnected */
	unsigned long gen;		/* w->redis_gen when it connected */
	const char *logf;		/* the slot's job fields, or NULL */
};

/*
 * One scan slot: a thread, its connection and the entry it has in hand.
 * The heartbeat reads busy, entry, key, sha and logf under w->lock; the
 * flags are set under w->lock (or by the signal handler) and polled
 * without it.
 */
struct prs_wslot {
	struct prs_worker *w;
	int index;
	pthread_t thread;
	int running;			/* the thread was created */
	struct prs_wconn conn;
	int busy;
	char entry[PRS_WORKER_ID_SIZE];
	char key[PRS_WORKER_KEY_SIZE];	/* prhead:owner/repo#pr, or "" */
	char sha[41];
	char logf[PRS_WORKER_LOGF_SIZE];
	char why[PRS_WORKER_WHY_SIZE];	/* why it was superseded */
	volatile sig_atomic_t cancel;	/* stop the scanner now */
	volatile sig_atomic_t abandon;	/* leave the entry pending */
	volatile sig_atomic_t superseded;
};

/* One worker daemon: its configuration, slots and shared state. */
struct prs_worker {
	const struct prs_scanner *scanner;
	void *state;			/* the scanner's, from init */
	char *stream;			/* STREAM_NAME */
	char *group;			/* CONSUMER_GROUP */
	char *consumer;			/* CONSUMER_NAME */
	char *api_url;			/* API_URL, no trailing slash */
	char *secret;			/* CALLBACK_SECRET */
	char *server_url;		/* GITHUB_SERVER_URL, no slash */
	char *work_dir;			/* WORK_DIR */
	long scan_timeout;		/* SCAN_TIMEOUT, seconds */
	long clone_timeout;		/* CLONE_TIMEOUT, seconds */
	long callback_retry_for;	/* CALLBACK_RETRY_FOR, s, 0: forever */
	long callback_max_bytes;	/* CALLBACK_MAX_BYTES */
	long max_repo_bytes;		/* MAX_REPO_BYTES */
	long scanner_max_memory;	/* SCANNER_MAX_MEMORY, 0: default */
	long scanner_max_output;	/* SCANNER_MAX_OUTPUT, 0: default */
	long scanner_max_files;		/* SCANNER_MAX_FILES, 0: default */
	long claim_min_idle_ms;		/* CLAIM_MIN_IDLE_MS */
	long claim_interval;		/* CLAIM_INTERVAL, seconds */
	long max_deliveries;		/* MAX_DELIVERIES */
	long concurrency;		/* WORKER_CONCURRENCY */
	long consumer_idle_max_ms;	/* CONSUMER_IDLE_MAX_MS */
	long supersede_check_ms;	/* SUPERSEDE_CHECK_MS */
	long status_port;		/* STATUS_PORT, 0: no server */
	struct prs_statusd *statusd;	/* NULL when not serving */
	struct prs_redis_config redis_cfg;

	pthread_mutex_t lock;		/* guards what follows and slots */
	int redis_down;			/* the outage was logged */
	unsigned long redis_gen;	/* counts outages */
	int reclaiming;			/* a slot runs XAUTOCLAIM */
	long long reclaim_due;		/* monotonic ms */
	char cursor[PRS_WORKER_ID_SIZE];	/* XAUTOCLAIM's next start */
	struct prs_wslot *slots;
	volatile sig_atomic_t beat_stop;
};

/* Set by the first SIGTERM/SIGINT: read no more, finish the jobs. */
extern volatile sig_atomic_t prs_worker_stopping;
/* Set by the second: kill the scanners, leave the entries pending. */
extern volatile sig_atomic_t prs_worker_cancelled;

/*
 * Sleeps ms milliseconds in short steps.  Returns -1 early when *abort_flag
 * (may be NULL) becomes nonzero, else 0.
 */
int prs_worker_sleep_ms(long ms, const volatile sig_atomic_t *abort_flag);

/*
 * Connects c when not connected, retrying with a capped exponential
 * backoff (100 ms to 5 s), and makes sure the consumer group exists.  An
 * outage is logged once for the whole process.  Returns 0, or -1 when
 * *abort_flag was set meanwhile.
 */
int prs_worker_redis_ensure(struct prs_wconn *c,
    const volatile sig_atomic_t *abort_flag);

/*
 * Waits up to block_ms for one new entry of the stream.  *reply is the
 * XREADGROUP answer (the caller frees it), NULL when nothing came or the
 * connection was lost.  Returns 0, or -1 on a lost connection or an error
 * answer (logged).
 */
int prs_worker_redis_read(struct prs_wconn *c, long block_ms,
    redisReply **reply);

/*
 * XAUTOCLAIM of at most one entry idle for CLAIM_MIN_IDLE_MS, from
 * cursor.  *reply is the answer (the caller frees it): [next cursor,
 * [[id, fields]], [deleted ids]].  Returns 0 or -1 (logged).
 */
int prs_worker_redis_autoclaim(struct prs_wconn *c, const char *cursor,
    redisReply **reply);

/*
 * How many times entry id was delivered (XPENDING).  Returns 0 with *n,
 * PRS_ENOTFOUND when it is not pending, -1 on trouble.
 */
int prs_worker_redis_deliveries(struct prs_wconn *c, const char *id,
    long *n);

/*
 * Refreshes this consumer's claim on entry id (XCLAIM ... 0 id JUSTID,
 * only while the entry is still pending to this consumer).  Returns 1
 * when refreshed, 0 when the entry is no longer pending (acknowledged),
 * -1 when it is pending to another consumer, -2 on trouble.
 */
int prs_worker_redis_refresh(struct prs_wconn *c, const char *id);

/*
 * Reads the string at key into out (size n).  Returns 0, PRS_ENOTFOUND
 * when the key is missing, -1 on trouble.
 */
int prs_worker_redis_get(struct prs_wconn *c, const char *key, char *out,
    size_t n);

/*
 * Removes the group's consumers other than this one that have no pending
 * entry and were idle for more than CONSUMER_IDLE_MAX_MS.  Returns 0 or
 * -1.
 */
int prs_worker_redis_prune(struct prs_wconn *c);

/*
 * XACK and XDEL of entry id, reconnecting as needed until it worked or
 * the second signal came.  Returns 0 or -1.
 */
int prs_worker_redis_ack(struct prs_wconn *c, const char *id);

/*
 * Copies an entry into `<stream>:dead` with the reason, the raw job text
 * (may be NULL) and the delivery count, then acknowledges and deletes it.
 * Returns 0 or -1.
 */
int prs_worker_redis_dead_letter(struct prs_wconn *c, const char *id,
    const char *reason, const char *raw, size_t rawlen, long deliveries);

/* Closes the connection; accepts one that is not connected. */
void prs_worker_redis_close(struct prs_wconn *c);

/*
 * Handles one stream entry in slot s: fields is its flat name/value array
 * (may be NULL for a deleted entry), deliveries how often it was
 * delivered.  An entry that cannot be read, or was delivered more than
 * MAX_DELIVERIES times, is dead-lettered; a superseded job is reported as
 * cancelled; otherwise the job is scanned and reported.  The entry is
 * acknowledged once the API took the completed callback.  Returns 0, or
 * -1 when the entry was left pending.
 */
int prs_worker_process_entry(struct prs_wslot *s, const char *id,
    const redisReply *fields, long deliveries);

/*
 * Marks entry id as in hand of slot s (the heartbeat refreshes its claim
 * from now on), or drops what s has in hand.
 */
void prs_worker_slot_hold(struct prs_wslot *s, const char *id);
void prs_worker_slot_release(struct prs_wslot *s);

/*
 * Names the job slot s has in hand for the heartbeat: its log fields and
 * the pull request's head key (prhead:owner/repo#pr) and SHA.
 */
void prs_worker_slot_describe(struct prs_wslot *s, const char *logf,
    const char *key, const char *sha);

/*
 * Stops what slot s does with entry id (nothing when it moved on): the
 * scanner is cancelled; with why the job is superseded (reported as
 * cancelled), without it the entry is abandoned (left pending).  Returns
 * 1 when s still had entry id, else 0.
 */
int prs_worker_slot_cancel(struct prs_wslot *s, const char *id,
    const char *why);

/*
 * Compares the head SHA recorded at key with sha.  Returns 1 with why
 * ("superseded by <sha>" or "the pull request was closed") when the key
 * exists and differs, 0 when not superseded (or the key is missing), -1
 * when Redis could not tell.
 */
int prs_worker_head_moved(struct prs_wconn *c, const char *key,
    const char *sha, char *why, size_t n);

/*
 * Declares the worker's metrics and starts the status server on
 * STATUS_PORT (not when 0).  Returns 0, or -1 when it cannot listen.
 */
int prs_worker_status_start(struct prs_worker *w);

/* Stops the status server; accepts a worker that has none. */
void prs_worker_status_stop(struct prs_worker *w);

/*
 * Counts one handled entry in messages_processed_total with its outcome:
 * success, scan_error, cancelled, dead_letter, rejected or abandoned.
 */
void prs_worker_count(const struct prs_worker *w, const char *outcome);

/* Counts one POST /callback attempt, accepted (ok) or not. */
void prs_worker_count_callback(int ok);

/* Records how long the scanner ran, in processing_duration_seconds. */
void prs_worker_observe_scan(const struct prs_worker *w, double seconds);

/* The consumer loop of one slot: the thread's start routine. */
void *prs_worker_slot_main(void *arg);

/*
 * The heartbeat: refreshes the claims of every entry in hand and looks
 * for superseded pull requests, until w->beat_stop.  Thread start routine.
 */
void *prs_worker_beat_main(void *arg);

/* A scan's scratch space: root holds src/ (the clone) and out/. */
struct prs_workspace {
	char *root;			/* absolute, symlinks resolved */
	char *src;
	char *out;
	int lock_fd;			/* flock()ed root, -1: none */
};

/*
 * Makes a fresh workspace under dir (mkdtemp, mode 0700) with an empty
 * out/; src/ is left for the clone to create.  Returns 0 or -1.
 */
int prs_workspace_create(const char *dir, struct prs_workspace *ws);

/*
 * Removes a tree without following symlinks.  Returns 0, or -1 when some
 * of it could not be removed (logged by the caller).
 */
int prs_workspace_remove_tree(const char *path);

/*
 * Removes the workspace's tree, frees its paths and releases its lock;
 * accepts an empty one.
 */
void prs_workspace_dispose(struct prs_workspace *ws);

/*
 * Removes the workspaces under dir (prscan-ws-XXXXXX, of this uid) that
 * no live process holds (their lock can be taken): those of a worker
 * that was killed.  Logs each.
 */
void prs_workspace_sweep(const char *dir);

#endif
