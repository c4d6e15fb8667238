/* prscan-api's modules, private to the daemon. */
#ifndef PRSCAN_API_H
#define PRSCAN_API_H

#include <stddef.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "prscan/finding.h"
#include "prscan/github.h"
#include "prscan/job.h"
#include "prscan/redis.h"
#include "prscan/repoconfig.h"

#define API_MAX_BODY (25L * 1024 * 1024)
#define API_MAX_SECRETS 2
#define API_MAX_SCANNERS 16
#define API_DEDUP_TTL (72L * 3600)
#define API_CALLBACK_SKEW 300
#define API_WRITES_STREAM "github-writes"
#define API_RESCAN_ACTION "rescan"
#define API_AUDIT_STREAM "audit-writes"

struct api_config {
	long port;
	long threads;
	struct prs_redis_config redis;
	char *webhook_secrets[API_MAX_SECRETS];
	size_t nsecrets;
	char *app_id;
	char *private_key;		/* PEM */
	size_t private_key_len;
	char *api_url;
	char *callback_secret;
	char *scanners[API_MAX_SCANNERS];
	size_t nscanners;
	char *check_names[API_MAX_SCANNERS];	/* CHECK_NAMES, or NULL */
	long stream_maxlen;
	long max_inflight;		/* bytes of bodies being read, all */
	long body_timeout;		/* s a whole request body may take */
	long storage_ttl;
	enum prs_severity fail_on;
	int error_neutral;
	char *server_url;		/* GITHUB_SERVER_URL, for links */
	long write_interval_ms;		/* between writes to an installation */
	long retry_base_ms;		/* first backoff after a 5xx */
	long retry_max_ms;		/* longest backoff */
	long rate_limit_wait_ms;	/* after a rate limit saying nothing */
	long github_timeout_ms;
	long max_annotations;
	int annotate_changed;		/* ANNOTATE=changed */
	char *admin_token;		/* ADMIN_TOKEN(_FILE): /fanout */
	long result_ttl;		/* RESULT_TTL; 0: drop when published */
	char *database_url;		/* DATABASE_URL(_FILE), or NULL */
	long audit_retention_days;
	long audit_prune_interval;	/* seconds between prunes */
	long audit_retry_max_ms;	/* longest wait between reconnects */
	int redeliver;			/* REDELIVER=on: the sweep runs */
	long redeliver_interval;	/* s between sweeps */
	long redeliver_margin;		/* s of overlap with the last sweep */
	long redeliver_max_window;	/* s looked back at most */
	struct prs_repoconfig *repo_defaults;	/* PRSCAN_CONFIG or NULL */
};

/* Everything a request handler needs; shared by the pool's threads. */
struct api {
	struct api_config cfg;
	struct prs_github *gh;
	struct api_publisher *publisher;
	struct api_audit *audit;
	struct api_sweep *sweep;
	_Atomic int listening;		/* set once the server listens */
};

/* A handler's answer: status and a JSON body (stolen by the server). */
struct api_reply {
	unsigned int status;
	json_t *body;
	int no_store;			/* Cache-Control: no-store */
};

/* A request as handlers see it: headers looked up through get_header. */
struct api_request {
	const char *method;
	const char *path;
	const char *body;
	size_t len;
	const char *(*get_header)(void *conn, const char *name);
	void *conn;
};

/* config.c */
int api_config_load(struct api_config *cfg);
void api_config_dispose(struct api_config *cfg);
/* The check run's name that CHECK_NAMES gives scanner, or NULL. */
const char *api_config_check_name(const char *scanner);

/* reply helpers, server.c */
void api_reply_set(struct api_reply *r, unsigned int status, json_t *body);
void api_reply_error(struct api_reply *r, unsigned int status,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *api_header(const struct api_request *req, const char *name);

/* server.c: runs until SIGTERM or SIGINT; returns the exit code. */
int api_server_run(struct api *api);

/* store.c: the calling thread's Redis connection, or NULL when down. */
redisContext *api_redis(const struct api *api);
/* Drops the calling thread's connection after an error. */
void api_redis_drop(void);
/* Frees the calling thread's connection (thread exit). */
void api_redis_release(void);

/* webhook.c */
void api_webhook(struct api *api, const struct api_request *req,
    struct api_reply *reply);
/*
 * Writes job (its delivery mark, record, the pull request's latest head
 * and its plan entry, see plan.c) in one transaction, mode "paths".
 * Returns 1 when queued, 0 when the delivery was seen before, -1 when
 * Redis failed.
 */
int api_enqueue(struct api *api, const struct prs_job *job);
/*
 * As api_enqueue with the plan's mode (paths, full or skip) and the time
 * GitHub last updated the pull request (its updated_at, epoch seconds):
 * the job's head becomes the pull request's latest only when no later
 * event already named one, as GitHub does not deliver in order.
 * head_at 0: the job's head is the latest whatever came before.
 */
int api_enqueue_mode(struct api *api, const struct prs_job *job,
    const char *mode, long long head_at);

/* fanout.c: POST /fanout, only when ADMIN_TOKEN is set. */
/* 1 when req carries `Authorization: Bearer <ADMIN_TOKEN>`. */
int api_fanout_authorized(const struct api *api,
    const struct api_request *req);
void api_fanout(struct api *api, const struct api_request *req,
    struct api_reply *reply);

/* publisher.c: the thread that applies github-writes to GitHub. */
int api_publisher_config(struct api_config *cfg);
int api_publisher_start(struct api *api);
/* Stops and joins the thread (at most one GitHub call away); NULL-safe. */
void api_publisher_stop(struct api *api);
/* Pipelines (redisAppendCommand) one github-writes entry: one reply. */
void api_writes_append(redisContext *c, const char *kind, const char *job,
    const char *scanner, long long inst, const char *at);
/* The check run's name for a scanner ("KICS"), and back (or NULL). */
const char *api_check_name(const char *scanner);
char *api_scanner_of_check(const struct api *api, const char *name);
/* The current UTC time as 2024-05-01T12:00:00Z. */
void api_iso_now(char buf[32]);

/*
 * audit.c: the scan results' retention and the audit trail.  A check
 * run's completion queues one entry in audit-writes (when DATABASE_URL
 * is set); the audit thread writes those to PostgreSQL.
 */
int api_audit_config(struct api_config *cfg);
/* Starts the audit thread when DATABASE_URL is set; 0 or -1. */
int api_audit_start(struct api *api);
/* Stops and joins the thread; NULL-safe. */
void api_audit_stop(struct api *api);
/*
 * Queues the audit entry of a completed check run: the job, the stored
 * result, the start time and the conclusion from the bodies sent.
 * Nothing without DATABASE_URL.  Returns 0, or -1 when Redis failed.
 */
int api_audit_completed(struct api *api, redisContext *c,
    const struct prs_job *job, const char *scanner, long long check_id,
    const char *at, const json_t *bodies);
/* Keeps the published result for RESULT_TTL (deletes it for 0). */
void api_audit_keep_result(const struct api *api, redisContext *c,
    const char *job, const char *scanner);

/*
 * sweep.c: the thread that asks GitHub to redeliver failed deliveries
 * (REDELIVER=on), one replica per REDELIVER_INTERVAL.
 */
int api_sweep_config(struct api_config *cfg);
/* Starts the thread when REDELIVER=on; 0 when off. */
int api_sweep_start(struct api *api);
/* Stops and joins the thread (at most one GitHub call away); NULL-safe. */
void api_sweep_stop(struct api *api);

/*
 * plan.c: selective scanning.  api_plan_config reads PRSCAN_CONFIG (a
 * file with .github/prscan.yml's keys) into cfg->repo_defaults: 0, or -1
 * with "PRSCAN_CONFIG: FILE: line N: ..." in prs_error_last().
 */
int api_plan_config(struct api_config *cfg);
/*
 * Pipelines the "plan" entry of a job: mode paths (scan what the changed
 * files call for), full (every enabled scanner) or skip (conclude all as
 * skipped); scanner one of SCANNERS or "*".  One reply.
 */
void api_plan_writes_append(redisContext *c, const struct prs_job *job,
    const char *mode, const char *scanner, const char *at);

/* What the publisher read from GitHub for a plan. */
struct api_plan_input {
	char *yaml;		/* .github/prscan.yml, NULL: none */
	size_t len;
	char config_error[400];	/* why it could not be read, or "" */
	json_t *files;		/* the changed files, NULL: not known */
};

/*
 * Decides which scanners of the plan run and commits it in one
 * transaction (see plan.c), unless plan:{job} exists.  in's
 * config_error may be filled.  0 (committed, or nothing to do), -1 when
 * Redis failed.
 */
int api_plan_commit(const struct api *api, redisContext *c,
    const struct prs_job *job, const char *mode, const char *only,
    struct api_plan_input *in);
/* Frees what in holds and zeroes it. */
void api_plan_input_dispose(struct api_plan_input *in);
/*
 * The fail_on and annotate a job's plan chose, over the defaults already
 * in *fail_on and *annotate_changed (kept when there is no plan).  0 or
 * -1 when Redis failed.
 */
int api_plan_job_style(redisContext *c, const char *job,
    enum prs_severity *fail_on, int *annotate_changed);

/* callback.c */
void api_callback(struct api *api, const struct api_request *req,
    struct api_reply *reply);
void api_token(struct api *api, const struct api_request *req,
    struct api_reply *reply);

/* status */
void api_status(struct api *api, struct api_reply *reply);

/*
 * observe.c: metrics and probes.  api_observe_init declares the metrics
 * and registers the streams' collector; the counters are bumped when a
 * signed delivery is parsed and, per scanner, when a plan queued a job
 * to that scanner's stream.
 */
void api_observe_init(struct api *api);
void api_observe_webhook(const char *event, const char *action);
void api_observe_published(const char *scanner);
/* GET /healthz: 200 while the process runs. */
void api_healthz(struct api_reply *reply);
/* GET /readyz: 200 when Redis answers and the configuration is whole. */
void api_readyz(struct api *api, struct api_reply *reply);

#endif
