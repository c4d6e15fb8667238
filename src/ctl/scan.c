/*
 * prscanctl scan OWNER/REPO PR: asks GitHub for the pull request's head
 * (the repository's installation with the App JWT, then the pull request
 * with an installation token) and queues its scan through the API's
 * POST /fanout with ADMIN_TOKEN.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/github_read.h"
#include "prscan/http.h"
#include "prscan/job.h"

#define SCAN_TIMEOUT_MS 30000

/* Splits "owner/repo" into the two buffers; 0 or -1 (usage printed). */
int
ctl_split_repo(const char *arg, char *owner, size_t on, char *repo,
    size_t rn)
{
	const char *slash = strchr(arg, '/');

	if (slash == NULL || (size_t)(slash - arg) >= on ||
	    strlen(slash + 1) >= rn) {
		fprintf(stderr, "prscanctl: %s: not OWNER/REPO\n", arg);
		return -1;
	}
	snprintf(owner, on, "%.*s", (int)(slash - arg), arg);
	snprintf(repo, rn, "%s", slash + 1);
	if (!prs_name_valid_owner(owner) || !prs_name_valid_repo(repo)) {
		fprintf(stderr, "prscanctl: %s: not a valid OWNER/REPO\n",
		    arg);
		return -1;
	}
	return 0;
}

/* The body of POST /fanout. */
static char *
scan_body(const char *owner, const char *repo, long pr, long long inst,
    const struct prs_github_pull *p)
{
	json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:I}", "owner", owner,
	    "repo", repo, "pr_number", (int)pr, "head_sha", p->head_sha,
	    "head_ref", p->head_ref, "base_ref", p->base_ref,
	    "installation_id", (json_int_t)inst);
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return text;
}

/* POSTs body to API_URL/fanout; the answer in *resp.  0 or -1. */
static int
scan_post(const char *body, struct prs_http_response *resp)
{
	char *api = NULL, *token = NULL, *url = NULL, *auth = NULL;
	const char *hdrs[3] = { "Content-Type: application/json", NULL, NULL };
	size_t n;
	int rc = -1;

	if (prs_env_secret("ADMIN_TOKEN", &token) < 0)
		goto out;
	if (token == NULL) {
		prs_error_set("ADMIN_TOKEN or ADMIN_TOKEN_FILE: required");
		goto out;
	}
	prs_env_string("API_URL", "http://localhost:8080", &api);
	n = strlen(api) + 16;
	url = malloc(n);
	auth = malloc(strlen(token) + 32);
	if (url == NULL || auth == NULL)
		goto out;
	snprintf(url, n, "%s/fanout", api);
	snprintf(auth, strlen(token) + 32, "Authorization: Bearer %s", token);
	hdrs[1] = auth;
	rc = prs_http_request("POST", url, hdrs, body, strlen(body),
	    SCAN_TIMEOUT_MS, resp);
out:
	prs_secret_free(auth);
	prs_secret_free(token);
	free(url);
	free(api);
	return rc;
}

static int
scan_report(struct ctl *ctl, const struct prs_http_response *resp,
    const char *repo, long pr, const struct prs_github_pull *p)
{
	json_t *answer = json_loadb(resp->body, resp->len, 0, NULL);
	const char *job = json_string_value(json_object_get(answer, "job_id"));
	const char *err = json_string_value(json_object_get(answer, "error"));

	if (resp->status != 202 || job == NULL) {
		prs_error_set("the API answered %ld: %.200s", resp->status,
		    err != NULL ? err : resp->body);
		json_decref(answer);
		return -1;
	}
	if (ctl->json)
		ctl_print_json(answer);
	else
		printf("queued job %s: %s#%ld at %s (%s)\n", job, repo, pr,
		    p->head_sha, p->head_ref);
	json_decref(answer);
	return 0;
}

int
ctl_scan(struct ctl *ctl)
{
	struct prs_github_app app;
	struct prs_github_pull p;
	struct prs_http_response resp;
	char owner[64], repo[128], *end = NULL, *body = NULL;
	long long inst = 0;
	long pr;
	int rc = -1;

	memset(&app, 0, sizeof(app));
	memset(&p, 0, sizeof(p));
	memset(&resp, 0, sizeof(resp));
	if (ctl->nargs != 2 || ctl_split_repo(ctl->args[0], owner,
	    sizeof(owner), repo, sizeof(repo)) < 0)
		goto usage;
	pr = strtol(ctl->args[1], &end, 10);
	if (*end != '\0' || pr < 1)
		goto usage;
	if (prs_github_app_from_env(&app) < 0 ||
	    prs_github_repo_installation(&app, owner, repo, &inst) < 0 ||
	    prs_github_pull_get(&app, inst, owner, repo, pr, &p) < 0)
		goto out;
	if (strcmp(p.state, "open") != 0) {
		prs_error_set("%s/%s#%ld is %s", owner, repo, pr, p.state);
		goto out;
	}
	body = scan_body(owner, repo, pr, inst, &p);
	if (body == NULL || scan_post(body, &resp) < 0)
		goto out;
	rc = scan_report(ctl, &resp, ctl->args[0], pr, &p);
out:
	free(body);
	prs_http_response_dispose(&resp);
	prs_github_pull_dispose(&p);
	prs_github_app_dispose(&app);
	return rc < 0 ? ctl_fail("scan") : 0;
usage:
	fprintf(stderr, "prscanctl: scan OWNER/REPO PR\n");
	return CTL_USAGE;
}
