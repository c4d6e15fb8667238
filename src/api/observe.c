/*
 * The API's observability: its metrics (webhook deliveries, stream
 * entries published, the streams' gauges through a collector) and the
 * /healthz, /readyz and /metrics answers.  The GitHub client counts its
 * own requests (prs_metrics_github_answer).
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "prscan/error.h"
#include "prscan/metrics.h"
#include "prscan/streamstats.h"

#define API_OBSERVE_REDIS_TIMEOUT_MS 1000
#define API_OBSERVE_STREAM_SIZE 80

/* The collector's own connection: one per scrape, never a pool thread's. */
static void
api_observe_collect(void *arg)
{
	const struct api *api = arg;
	char names[API_MAX_SCANNERS][API_OBSERVE_STREAM_SIZE];
	const char *streams[API_MAX_SCANNERS];
	redisContext *c;
	size_t i;

	for (i = 0; i < api->cfg.nscanners; i++) {
		snprintf(names[i], sizeof(names[i]), "worker-%s",
		    api->cfg.scanners[i]);
		streams[i] = names[i];
	}
	c = prs_redis_connect(&api->cfg.redis, API_OBSERVE_REDIS_TIMEOUT_MS);
	prs_streamstats_collect(c, streams, api->cfg.nscanners);
	if (c != NULL)
		redisFree(c);
}

void
api_observe_init(struct api *api)
{
	prs_metrics_describe("webhook_events_received_total", "counter",
	    "Signed webhook deliveries with a JSON body, by X-GitHub-Event "
	    "and the payload's action (\"\" when it has none; \"other\" "
	    "for one not known).");
	prs_metrics_describe("messages_published_total", "counter",
	    "Scan jobs added to a worker stream (XADD in a committed "
	    "transaction), by stream.");
	prs_streamstats_describe();
	prs_metrics_add_collector(api_observe_collect, api);
}

/*
 * The label values webhook_events_received_total keeps: the events the
 * App handles or GitHub sends every App, and their actions.  Anything
 * else counts as "other", so that senders cannot add series at will.
 */
static const char *const known_events[] = {
	"ping", "pull_request", "check_run", "check_suite", "installation",
	"installation_repositories", "installation_target",
	"github_app_authorization", NULL
};

static const char *const known_actions[] = {
	"", "opened", "synchronize", "reopened", "ready_for_review", "closed",
	"edited", "labeled", "unlabeled", "assigned", "unassigned",
	"review_requested", "review_request_removed", "converted_to_draft",
	"locked", "unlocked", "milestoned", "demilestoned",
	"auto_merge_enabled", "auto_merge_disabled", "enqueued", "dequeued",
	"created", "completed", "requested", "rerequested",
	"requested_action", "deleted", "suspend", "unsuspend",
	"new_permissions_accepted", "added", "removed", "renamed", "revoked",
	NULL
};

static const char *
label_of(const char *const *known, const char *v)
{
	size_t i;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(known[i], v) == 0)
			return known[i];
	return "other";
}

void
api_observe_webhook(const char *event, const char *action)
{
	prs_metrics_counter_add("webhook_events_received_total",
	    (const char *[]){ "event", label_of(known_events, event),
	    "action", label_of(known_actions, action != NULL ? action : ""),
	    NULL }, 1);
}

void
api_observe_published(const char *scanner)
{
	char stream[API_OBSERVE_STREAM_SIZE];

	snprintf(stream, sizeof(stream), "worker-%s", scanner);
	prs_metrics_counter_add("messages_published_total",
	    (const char *[]){ "stream", stream, NULL }, 1);
}

void
api_healthz(struct api_reply *reply)
{
	api_reply_set(reply, 200, json_pack("{s:s}", "status", "ok"));
}

/* What the configuration lacks to serve, or NULL. */
static const char *
api_observe_config_gap(const struct api *api)
{
	if (api->gh == NULL)
		return "the GitHub App client is not configured";
	if (api->cfg.nsecrets == 0 || api->cfg.callback_secret == NULL)
		return "a webhook or callback secret is missing";
	if (api->cfg.nscanners == 0)
		return "no scanner is configured";
	return NULL;
}

void
api_readyz(struct api *api, struct api_reply *reply)
{
	const char *gap = api_observe_config_gap(api);
	redisContext *c = gap == NULL ? api_redis(api) : NULL;
	redisReply *r = c != NULL ? redisCommand(c, "PING") : NULL;
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	freeReplyObject(r);
	if (!ok && c != NULL)
		api_redis_drop();
	if (gap == NULL && !ok)
		gap = "redis does not answer";
	if (gap != NULL) {
		api_reply_set(reply, 503, json_pack("{s:s,s:s}", "status",
		    "not ready", "reason", gap));
		return;
	}
	api_reply_set(reply, 200, json_pack("{s:s}", "status", "ready"));
}
