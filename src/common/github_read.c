/* Reading from GitHub as the App, for the operator's tools. */
#include "prscan/github_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prscan/base64.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/github.h"
#include "prscan/http.h"

#define GHR_TIMEOUT_MS 30000
#define GHR_DEFAULT_URL "https://api.github.com"

/* The key variable holds base64 of the PEM, or the PEM itself. */
static int
ghr_decode_key(const char *value, char **pem, size_t *len)
{
	size_t vlen = strlen(value);

	if (strncmp(value, "-----BEGIN", 10) == 0) {
		*pem = strdup(value);
		*len = vlen;
		return *pem != NULL ? 0 : prs_error_set("out of memory");
	}
	if (prs_base64_decode(value, vlen, pem, len) < 0)
		return prs_error_set("GITHUB_APP_PRIVATE_KEY: not base64 of a "
		    "PEM key");
	return 0;
}

static int
ghr_load_key(char **pem, size_t *len)
{
	const char *file = getenv("GITHUB_APP_PRIVATE_KEY_FILE");
	char *value = NULL;
	int rc;

	if (prs_env_secret("GITHUB_APP_PRIVATE_KEY", &value) < 0)
		return -1;
	if (value == NULL)
		return prs_error_set("GITHUB_APP_PRIVATE_KEY or "
		    "GITHUB_APP_PRIVATE_KEY_FILE: one is required");
	if (file != NULL && *file != '\0') {
		*pem = value;
		*len = strlen(value);
		return 0;
	}
	rc = ghr_decode_key(value, pem, len);
	prs_secret_free(value);
	return rc;
}

int
prs_github_app_from_env(struct prs_github_app *app)
{
	char *id = NULL, *pem = NULL;
	size_t pemlen = 0, n;
	int rc = -1;

	memset(app, 0, sizeof(*app));
	prs_env_string("GITHUB_APP_ID", NULL, &id);
	if (id == NULL) {
		prs_error_set("GITHUB_APP_ID: required");
		goto out;
	}
	prs_env_string("GITHUB_API_URL", GHR_DEFAULT_URL, &app->api_url);
	if (app->api_url == NULL || ghr_load_key(&pem, &pemlen) < 0)
		goto out;
	n = strlen(app->api_url);
	while (n > 0 && app->api_url[n - 1] == '/')
		app->api_url[--n] = '\0';
	if (prs_github_new(app->api_url, id, pem, pemlen, &app->gh) < 0)
		goto out;
	rc = 0;
out:
	if (pem != NULL)
		prs_secret_wipe(pem, pemlen);
	free(pem);
	free(id);
	if (rc < 0)
		prs_github_app_dispose(app);
	return rc;
}

void
prs_github_app_dispose(struct prs_github_app *app)
{
	if (app == NULL)
		return;
	prs_github_free(app->gh);
	free(app->api_url);
	memset(app, 0, sizeof(*app));
}

/* "Authorization: Bearer JWT" or "Authorization: token TOKEN". */
static char *
ghr_auth_header(struct prs_github_app *app, long long inst)
{
	char *cred = NULL, *line = NULL;
	size_t n;
	int rc;

	rc = inst == 0 ? prs_github_jwt(app->gh, time(NULL), &cred) :
	    prs_github_installation_token(app->gh, inst, &cred);
	if (rc < 0)
		return NULL;
	n = strlen(cred) + 32;
	line = malloc(n);
	if (line != NULL)
		snprintf(line, n, "Authorization: %s %s", inst == 0 ?
		    "Bearer" : "token", cred);
	else
		prs_error_set("out of memory");
	prs_secret_free(cred);
	return line;
}

/* api_url + path, or url itself when it starts with api_url. */
static char *
ghr_full_url(const struct prs_github_app *app, const char *url)
{
	size_t n = strlen(app->api_url);
	char *full;

	if (url[0] == '/') {
		full = malloc(n + strlen(url) + 1);
		if (full != NULL)
			snprintf(full, n + strlen(url) + 1, "%s%s",
			    app->api_url, url);
		return full;
	}
	if (strncmp(url, app->api_url, n) != 0 || url[n] != '/') {
		prs_error_set("refusing a URL outside GITHUB_API_URL");
		return NULL;
	}
	return strdup(url);
}

static int
ghr_status_rc(const struct prs_http_response *resp, json_t *answer)
{
	const char *msg = json_string_value(json_object_get(answer,
	    "message"));

	if (resp->status >= 200 && resp->status < 300)
		return 0;
	prs_error_set("GitHub answered %ld: %.200s", resp->status,
	    msg != NULL ? msg : "no message");
	if (resp->status == 404)
		return PRS_ENOTFOUND;
	if (resp->status >= 500 || resp->status == 429)
		return PRS_ERETRY;
	/* Rate limits, primary (none left) or secondary (said in words). */
	if (resp->status == 403 && ((resp->ratelimit_remaining != NULL &&
	    strcmp(resp->ratelimit_remaining, "0") == 0) ||
	    resp->retry_after != NULL ||
	    (msg != NULL && prs_github_says_rate_limit(msg, strlen(msg)))))
		return PRS_ERETRY;
	return -1;
}

int
prs_github_app_request(struct prs_github_app *app, long long inst,
    const char *method, const char *url, const json_t *body, json_t **out,
    char **link)
{
	struct prs_http_response resp;
	const char *hdrs[5] = { "Accept: application/vnd.github+json",
		"X-GitHub-Api-Version: 2022-11-28",
		"Content-Type: application/json", NULL, NULL };
	char *auth = NULL, *full = NULL, *text = NULL;
	json_t *answer = NULL;
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	if (out != NULL)
		*out = NULL;
	if (link != NULL)
		*link = NULL;
	full = ghr_full_url(app, url);
	auth = full != NULL ? ghr_auth_header(app, inst) : NULL;
	if (auth == NULL)
		goto out;
	hdrs[3] = auth;
	text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	rc = prs_http_request(method, full, hdrs, text, text != NULL ?
	    strlen(text) : 0, GHR_TIMEOUT_MS, &resp);
	if (rc < 0)
		goto out;
	if (resp.len > 0)
		answer = json_loadb(resp.body, resp.len, 0, NULL);
	rc = ghr_status_rc(&resp, answer);
	if (rc == 0 && link != NULL && resp.link != NULL)
		*link = prs_github_link_next(resp.link);
	if (rc == 0 && out != NULL) {
		*out = answer;
		answer = NULL;
	}
out:
	json_decref(answer);
	prs_http_response_dispose(&resp);
	prs_secret_free(auth);
	free(text);
	free(full);
	return rc;
}

int
prs_github_repo_installation(struct prs_github_app *app,
    const char *owner, const char *repo, long long *inst)
{
	char path[300];
	json_t *answer = NULL;
	json_t *id;
	int rc;

	snprintf(path, sizeof(path), "/repos/%s/%s/installation", owner,
	    repo);
	rc = prs_github_app_request(app, 0, "GET", path, NULL, &answer, NULL);
	if (rc < 0)
		return rc;
	id = json_object_get(answer, "id");
	if (!json_is_integer(id) || json_integer_value(id) <= 0) {
		json_decref(answer);
		prs_error_set("installation answer without an id");
		return PRS_EINPUT;
	}
	*inst = json_integer_value(id);
	json_decref(answer);
	return 0;
}

static char *
ghr_string(json_t *root, const char *side, const char *key)
{
	json_t *o = side != NULL ? json_object_get(root, side) : root;
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? strdup(s) : NULL;
}

int
prs_github_pull_get(struct prs_github_app *app, long long inst,
    const char *owner, const char *repo, long number,
    struct prs_github_pull *pr)
{
	char path[320];
	json_t *answer = NULL;
	int rc;

	memset(pr, 0, sizeof(*pr));
	snprintf(path, sizeof(path), "/repos/%s/%s/pulls/%ld", owner, repo,
	    number);
	rc = prs_github_app_request(app, inst, "GET", path, NULL, &answer,
	    NULL);
	if (rc < 0)
		return rc;
	pr->head_sha = ghr_string(answer, "head", "sha");
	pr->head_ref = ghr_string(answer, "head", "ref");
	pr->base_ref = ghr_string(answer, "base", "ref");
	pr->state = ghr_string(answer, NULL, "state");
	json_decref(answer);
	if (pr->head_sha == NULL || pr->head_ref == NULL ||
	    pr->base_ref == NULL || pr->state == NULL) {
		prs_github_pull_dispose(pr);
		prs_error_set("pull request answer lacks head or base");
		return PRS_EINPUT;
	}
	return 0;
}

void
prs_github_pull_dispose(struct prs_github_pull *pr)
{
	if (pr == NULL)
		return;
	free(pr->head_sha);
	free(pr->head_ref);
	free(pr->base_ref);
	free(pr->state);
	memset(pr, 0, sizeof(*pr));
}

char *
prs_github_link_next(const char *link)
{
	const char *p = link, *lt, *gt, *end;

	while (p != NULL && (lt = strchr(p, '<')) != NULL) {
		gt = strchr(lt, '>');
		if (gt == NULL)
			return NULL;
		end = strchr(gt, ',');
		if (end == NULL)
			end = gt + strlen(gt);
		/* The parameters of this entry lie between gt and end. */
		for (p = gt; p < end; p++)
			if (strncmp(p, "rel=\"next\"", 10) == 0)
				return strndup(lt + 1, (size_t)(gt - lt - 1));
		p = *end != '\0' ? end + 1 : NULL;
	}
	return NULL;
}
