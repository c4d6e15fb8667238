/*
 * prs_http_request() and prs_api_post() against a real local server:
 * bodies, methods, captured headers, the body cap, redirects not
 * followed, timeouts and refused connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "prscan/apiclient.h"
#include "prscan/error.h"
#include "prscan/http.h"
#include "prscan/sig.h"

#include "local_httpd.h"

#define SECRET "callback-secret"

static void route(void *arg, const struct lh_request *req,
    struct lh_reply *rep)
{
	(void)arg;
	if (strcmp(req->url, "/echo") == 0) {
		rep->body = req->body;
	} else if (strcmp(req->url, "/limited") == 0) {
		rep->status = 403;
		rep->body = "{\"message\":\"API rate limit exceeded\"}";
		rep->headers[0][0] = "retry-after";
		rep->headers[0][1] = "17";
		rep->headers[1][0] = "X-RATELIMIT-REMAINING";
		rep->headers[1][1] = "0";
		rep->headers[2][0] = "x-ratelimit-reset";
		rep->headers[2][1] = "1764792000";
	} else if (strcmp(req->url, "/redirect") == 0) {
		rep->status = 302;
		rep->headers[0][0] = "Location";
		rep->headers[0][1] = "/echo";
	} else if (strcmp(req->url, "/huge") == 0) {
		rep->stream_len = ((size_t)64 << 20) + 1;
	} else if (strcmp(req->url, "/exact") == 0) {
		rep->stream_len = (size_t)64 << 20;
	} else if (strcmp(req->url, "/slow") == 0) {
		rep->delay_ms = 1500;
	} else if (strcmp(req->url, "/callback") == 0) {
		rep->status = 202;
		rep->body = "{\"ok\":true}";
	} else if (strcmp(req->url, "/broken") == 0) {
		rep->status = 503;
		rep->body = "{\"error\":\"redis down\"}";
	} else if (strcmp(req->url, "/denied") == 0) {
		rep->status = 401;
		rep->body = "{\"error\":\"bad signature\"}";
	} else {
		rep->status = 404;
		rep->body = "not found";
	}
}

static int setup(void **state)
{
	struct lh_server *s = calloc(1, sizeof(*s));

	if (s == NULL || lh_start(s, route, NULL) != 0)
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	lh_stop(*state);
	free(*state);
	return 0;
}

static const struct lh_request *last(struct lh_server *s)
{
	assert_true(s->nreqs > 0);
	return &s->reqs[s->nreqs - 1];
}

static void test_post_and_patch_bodies(void **state)
{
	struct lh_server *s = *state;
	struct prs_http_response r;
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	char url[128];

	assert_int_equal(prs_http_request("POST", lh_url(s, "/echo", url,
	    sizeof(url)), hdrs, "{\"a\":1}", 7, 5000, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 7);
	assert_string_equal(r.body, "{\"a\":1}");
	assert_string_equal(last(s)->method, "POST");
	assert_string_equal(last(s)->content_type, "application/json");
	assert_string_equal(last(s)->user_agent, "prscan/0.1");
	assert_null(r.retry_after);
	prs_http_response_dispose(&r);

	assert_int_equal(prs_http_request("PATCH", url, NULL, "xyz", 3, 5000,
	    &r), 0);
	assert_string_equal(last(s)->method, "PATCH");
	assert_string_equal(last(s)->body, "xyz");
	assert_string_equal(r.body, "xyz");
	prs_http_response_dispose(&r);

	assert_int_equal(prs_http_request("GET", url, NULL, NULL, 0, 5000,
	    &r), 0);
	assert_string_equal(last(s)->method, "GET");
	assert_int_equal(r.len, 0);
	assert_string_equal(r.body, "");
	prs_http_response_dispose(&r);
}

static void test_rate_limit_headers(void **state)
{
	struct lh_server *s = *state;
	struct prs_http_response r;
	char url[128];

	assert_int_equal(prs_http_request("GET", lh_url(s, "/limited", url,
	    sizeof(url)), NULL, NULL, 0, 5000, &r), 0);
	assert_int_equal(r.status, 403);
	assert_string_equal(r.retry_after, "17");
	assert_string_equal(r.ratelimit_remaining, "0");
	assert_string_equal(r.ratelimit_reset, "1764792000");
	prs_http_response_dispose(&r);
	assert_null(r.body);
	assert_null(r.retry_after);
	prs_http_response_dispose(NULL);
}

static void test_redirect_not_followed(void **state)
{
	struct lh_server *s = *state;
	struct prs_http_response r;
	char url[128];
	int before = s->nreqs;

	assert_int_equal(prs_http_request("GET", lh_url(s, "/redirect", url,
	    sizeof(url)), NULL, NULL, 0, 5000, &r), 0);
	assert_int_equal(r.status, 302);
	assert_int_equal(s->nreqs, before + 1);
	prs_http_response_dispose(&r);
}

static void test_body_cap(void **state)
{
	struct lh_server *s = *state;
	struct prs_http_response r;
	char url[128];

	assert_int_equal(prs_http_request("GET", lh_url(s, "/exact", url,
	    sizeof(url)), NULL, NULL, 0, 30000, &r), 0);
	assert_int_equal(r.len, (size_t)64 << 20);
	prs_http_response_dispose(&r);

	assert_int_equal(prs_http_request("GET", lh_url(s, "/huge", url,
	    sizeof(url)), NULL, NULL, 0, 30000, &r), -1);
	assert_non_null(strstr(prs_error_last(), "64 MiB"));
	assert_null(r.body);
}

static void test_timeout_is_retry(void **state)
{
	struct lh_server *s = *state;
	struct prs_http_response r;
	char url[128];

	assert_int_equal(prs_http_request("GET", lh_url(s, "/slow", url,
	    sizeof(url)), NULL, NULL, 0, 200, &r), PRS_ERETRY);
	assert_int_equal(r.status, 0);
}

static void test_refused_is_retry_and_scrubbed(void **state)
{
	struct lh_server dead;
	struct prs_http_response r;
	char url[256];
	unsigned short port;

	(void)state;
	assert_int_equal(lh_start(&dead, route, NULL), 0);
	port = dead.port;
	lh_stop(&dead);

	snprintf(url, sizeof(url),
	    "http://x-access-token:ghs_S3cret@127.0.0.1:%u/a?access_token=zz",
	    port);
	assert_int_equal(prs_http_request("GET", url, NULL, NULL, 0, 5000,
	    &r), PRS_ERETRY);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(prs_error_last(), "127.0.0.1"));
	assert_null(strstr(prs_error_last(), "S3cret"));
	assert_null(strstr(prs_error_last(), "x-access-token"));
	assert_null(strstr(prs_error_last(), "zz"));
}

static void test_other_protocols_refused(void **state)
{
	struct prs_http_response r;

	(void)state;
	assert_int_equal(prs_http_request("GET", "file:///etc/passwd", NULL,
	    NULL, 0, 5000, &r), -1);
	assert_null(r.body);
}

static void test_api_post_signed(void **state)
{
	struct lh_server *s = *state;
	json_t *body = json_pack("{s:s, s:i}", "state", "started", "n", 3);
	json_t *resp = NULL;
	const struct lh_request *req;
	char url[128];
	long status = 0;

	assert_int_equal(prs_api_post(lh_url(s, "/", url, sizeof(url)),
	    "/callback", SECRET, body, &status, &resp), 0);
	assert_int_equal(status, 202);
	assert_true(json_is_true(json_object_get(resp, "ok")));

	req = last(s);
	assert_string_equal(req->url, "/callback");
	assert_string_equal(req->body, "{\"state\":\"started\",\"n\":3}");
	assert_string_equal(req->content_type, "application/json");
	assert_int_equal(prs_sig_callback_check(SECRET, req->ts, req->sig,
	    req->body, req->len, (long long)time(NULL), 300), 0);
	assert_int_not_equal(prs_sig_callback_check("other", req->ts,
	    req->sig, req->body, req->len, (long long)time(NULL), 300), 0);
	json_decref(resp);
	json_decref(body);
}

static void test_api_post_statuses(void **state)
{
	struct lh_server *s = *state;
	json_t *body = json_object();
	json_t *resp = NULL;
	char url[128];
	long status = 0;

	lh_url(s, "", url, sizeof(url));
	assert_int_equal(prs_api_post(url, "/broken", SECRET, body, &status,
	    &resp), PRS_ERETRY);
	assert_int_equal(status, 503);
	assert_non_null(resp);
	json_decref(resp);

	assert_int_equal(prs_api_post(url, "/denied", SECRET, body, &status,
	    NULL), -1);
	assert_int_equal(status, 401);
	assert_non_null(strstr(prs_error_last(), "bad signature"));

	assert_int_equal(prs_api_post("http://127.0.0.1:1", "/callback",
	    SECRET, body, &status, &resp), PRS_ERETRY);
	assert_int_equal(status, 0);
	assert_null(resp);
	json_decref(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_and_patch_bodies),
		cmocka_unit_test(test_rate_limit_headers),
		cmocka_unit_test(test_redirect_not_followed),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_timeout_is_retry),
		cmocka_unit_test(test_refused_is_retry_and_scrubbed),
		cmocka_unit_test(test_other_protocols_refused),
		cmocka_unit_test(test_api_post_signed),
		cmocka_unit_test(test_api_post_statuses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
