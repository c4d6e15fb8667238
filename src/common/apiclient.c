/* A worker's signed POSTs to the API. */
#include "prscan/apiclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/http.h"
#include "prscan/log.h"
#include "prscan/sig.h"

#define API_TIMEOUT_MS 30000L

/* api_url + path with exactly one slash between them: a new string. */
static char *api_join(const char *api_url, const char *path)
{
	size_t n = strlen(api_url);
	size_t len;
	char *url;

	while (n > 0 && api_url[n - 1] == '/')
		n--;
	while (*path == '/')
		path++;

	len = n + strlen(path) + 2;
	url = malloc(len);
	if (url != NULL)
		snprintf(url, len, "%.*s/%s", (int)n, api_url, path);
	return url;
}

/* Maps the API's status to a return code, with a message on failure. */
static int api_status_rc(const char *path, long status, const json_t *ans)
{
	const char *why = json_string_value(json_object_get(ans, "error"));

	if (status >= 200 && status < 300)
		return 0;

	prs_error_set("API POST %s: HTTP %ld%s%.200s", path, status,
	    why ? ": " : "", why ? why : "");
	return status >= 500 ? PRS_ERETRY : -1;
}

int prs_api_post(const char *api_url, const char *path, const char *secret,
    const json_t *body, long *status, json_t **resp)
{
	struct prs_http_response r = { 0 };
	char sig[PRS_SIG_HEADER_SIZE];
	char sig_hdr[PRS_SIG_HEADER_SIZE + 32];
	char ts_hdr[64];
	char *text = NULL;
	char *url = NULL;
	json_t *ans = NULL;
	long long ts = (long long)time(NULL);
	const char *headers[] = {
		"Content-Type: application/json", ts_hdr, sig_hdr, NULL
	};
	int rc = -1;

	if (status != NULL)
		*status = 0;
	if (resp != NULL)
		*resp = NULL;

	text = json_dumps(body, JSON_COMPACT);
	url = api_join(api_url, path);
	if (text == NULL || url == NULL) {
		prs_error_set("API POST %s: out of memory", path);
		goto out;
	}

	if (prs_sig_callback_make(secret, ts, text, strlen(text), sig) != 0) {
		prs_error_set("API POST %s: cannot sign the body", path);
		goto out;
	}

	snprintf(ts_hdr, sizeof(ts_hdr), "X-Prscan-Timestamp: %lld", ts);
	snprintf(sig_hdr, sizeof(sig_hdr), "X-Prscan-Signature: %s", sig);
	rc = prs_http_request("POST", url, headers, text, strlen(text),
	    API_TIMEOUT_MS, &r);
	prs_debug("api request", "path=%s status=%ld", path, r.status);
	if (rc != 0)
		goto out;

	if (status != NULL)
		*status = r.status;
	if (r.len > 0)
		ans = json_loadb(r.body, r.len, 0, NULL);

	rc = api_status_rc(path, r.status, ans);
	if (resp != NULL) {
		*resp = ans;
		ans = NULL;
	}

out:
	if (r.body != NULL)
		prs_secret_wipe(r.body, r.len);
	prs_http_response_dispose(&r);
	json_decref(ans);
	free(text);
	free(url);
	return rc;
}
