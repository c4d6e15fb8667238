/* The worker engine's parts, shared between its worker_*.c files only. */
#ifndef PRSCAN_WORKER_INTERNAL_H
#define PRSCAN_WORKER_INTERNAL_H

#include <signal.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "prscan/redis.h"
#include "prscan/worker.h"

/* One worker daemon: its configuration and its Redis connection. */
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
	long callback_retry_for;	/* CALLBACK_RETRY_FOR, seconds */
	long max_repo_bytes;		/* MAX_REPO_BYTES */
	struct prs_redis_config redis_cfg;
	redisContext *redis;		/* NULL while disconnected */
	int redis_down;			/* the loss was logged */
};

/* Set by the first SIGTERM/SIGINT: read no more, finish the job. */
extern volatile sig_atomic_t prs_worker_stopping;
/* Set by the second: kill the scanner, leave the entry pending. */
extern volatile sig_atomic_t prs_worker_cancelled;

/*
 * Sleeps ms milliseconds in short steps.  Returns -1 early when *abort_flag
 * (may be NULL) becomes nonzero, else 0.
 */
int prs_worker_sleep_ms(long ms, const volatile sig_atomic_t *abort_flag);

/* Milliseconds of a monotonic clock. */
long long prs_worker_now_ms(void);

/*
 * Connects to Redis when not connected, retrying with a capped
 * exponential backoff (100 ms to 5 s), and makes sure the consumer group
 * exists.  Returns 0, or -1 when *abort_flag was set meanwhile.
 */
int prs_worker_redis_ensure(struct prs_worker *w,
    const volatile sig_atomic_t *abort_flag);

/*
 * Waits up to two seconds for one new entry of the stream.  *reply is the
 * XREADGROUP answer (the caller frees it), NULL when nothing came or the
 * connection was lost.  Returns 0, or -1 on a lost connection or an error
 * answer (logged).
 */
int prs_worker_redis_read(struct prs_worker *w, redisReply **reply);

/*
 * XACK and XDEL of entry id, reconnecting as needed until it worked or
 * the cancel flag was set.  Returns 0 or -1.
 */
int prs_worker_redis_ack(struct prs_worker *w, const char *stream,
    const char *id);

/*
 * Copies an entry into `<stream>:dead` with the reason and the raw job
 * text (may be NULL), then acknowledges and deletes it.  Returns 0 or -1.
 */
int prs_worker_redis_dead_letter(struct prs_worker *w, const char *stream,
    const char *id, const char *reason, const char *raw, size_t rawlen);

/* Closes the connection; accepts a worker that has none. */
void prs_worker_redis_close(struct prs_worker *w);

/*
 * Handles one stream entry: fields is its flat name/value array (may be
 * NULL for a deleted entry).  An entry that cannot be read is
 * dead-lettered; a job is scanned and reported, then acknowledged once
 * the API took the completed callback.  Returns 0, or -1 when the entry
 * was left pending.
 */
int prs_worker_process_entry(struct prs_worker *w, const char *stream,
    const char *id, const redisReply *fields);

/* A scan's scratch space: root holds src/ (the clone) and out/. */
struct prs_workspace {
	char *root;			/* absolute, symlinks resolved */
	char *src;
	char *out;
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

/* Removes the workspace's tree and frees its paths; accepts an empty one. */
void prs_workspace_dispose(struct prs_workspace *ws);

#endif
