/* prscan-api: GitHub's webhooks in, scan jobs out, check runs back. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "prscan/error.h"
#include "prscan/log.h"

void
api_status(struct api *api, struct api_reply *reply)
{
	redisContext *c = api_redis(api);
	redisReply *r = c != NULL ? redisCommand(c, "PING") : NULL;
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	freeReplyObject(r);
	if (!ok && c != NULL)
		api_redis_drop();
	api_reply_set(reply, ok ? 200 : 503, json_pack("{s:s,s:s}", "status",
	    ok ? "ok" : "degraded", "redis", ok ? "ok" : "error"));
}

int
main(void)
{
	struct api api = { 0 };
	int rc = 1;

	if (prs_log_init("prscan-api") < 0) {
		fprintf(stderr, "prscan-api: %s\n", prs_error_last());
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (api_config_load(&api.cfg) < 0) {
		prs_log(PRS_LOG_FATAL, "bad configuration", "reason=%s",
		    prs_log_q(prs_error_last()));
		rc = 2;
		goto out;
	}
	if (prs_github_new(api.cfg.api_url, api.cfg.app_id,
	    api.cfg.private_key, api.cfg.private_key_len, &api.gh) < 0) {
		prs_log(PRS_LOG_FATAL, "bad configuration", "reason=%s",
		    prs_log_q(prs_error_last()));
		rc = 2;
		goto out;
	}
	api_observe_init(&api);
	if (api_publisher_start(&api) < 0 || api_sweep_start(&api) < 0 ||
	    api_audit_start(&api) < 0) {
		prs_log(PRS_LOG_FATAL, "cannot start", "reason=%s",
		    prs_log_q(prs_error_last()));
		rc = 1;
		goto out;
	}
	rc = api_server_run(&api);
out:
	api_audit_stop(&api);
	api_sweep_stop(&api);
	api_publisher_stop(&api);
	prs_github_free(api.gh);
	api_config_dispose(&api.cfg);
	curl_global_cleanup();
	return rc;
}
