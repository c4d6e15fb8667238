/*
 * The GitHub App client against a local stand-in for GitHub Enterprise
 * (api_url http://127.0.0.1:PORT/api/v3/): token minting and caching,
 * repo-scoped tokens, check runs and how each status is reported.
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
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/github.h"

#include "local_httpd.h"

#define MINT_ROUTE "/api/v3/app/installations/7/access_tokens"
#define CR_ROUTE "/api/v3/repos/octo/hello/check-runs"

struct fake {
	int mints;
	long expires_in;	/* seconds from now for expires_at */
	unsigned int mint_status;
	unsigned int cr_status;
	const char *cr_body;
	const char *reject;	/* token answered with 401 */
	int reject_all;		/* every token answered with 401 */
	const char *hdr[2];	/* one extra reply header */
	char token[64];
	char minted[512];
	char base[64];		/* http://127.0.0.1:PORT */
	char link[400];
	int foreign_link;	/* page 1 links to another host */
};

#define FILES_ROUTE "/api/v3/repos/octo/hello/pulls/3/files"
#define FILES_PAGE2 "/api/v3/repositories/42/pulls/3/files"
#define CONTENTS_ROUTE "/api/v3/repos/octo/hello/contents/"

struct fixture {
	struct lh_server server;
	struct fake fake;
	struct prs_github *gh;
	char *pem;
	size_t pemlen;
};

static void fake_mint(struct fake *f, struct lh_reply *rep)
{
	char when[32];
	time_t t = time(NULL) + f->expires_in;
	struct tm tm;

	if (f->mint_status != 0) {
		rep->status = f->mint_status;
		rep->body = "{\"message\":\"Not Found\"}";
		return;
	}

	f->mints++;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(f->token, sizeof(f->token), "ghs_tok%d", f->mints);
	snprintf(f->minted, sizeof(f->minted),
	    "{\"token\":\"%s\",\"expires_at\":\"%s\"}", f->token, when);
	rep->status = 201;
	rep->body = f->minted;
}

/* The files of pull 3 in two pages, and a contents route; 1 if taken. */
static int fake_read(struct fake *f, const struct lh_request *req,
    struct lh_reply *rep)
{
	rep->status = 200;
	if (strcmp(req->url, FILES_ROUTE) == 0) {
		snprintf(f->link, sizeof(f->link), "<%s%s?per_page=100&"
		    "page=2>; rel=\"next\", <%s%s?per_page=100&page=2>; "
		    "rel=\"last\"",
		    f->foreign_link ? "http://evil.invalid" : f->base,
		    FILES_PAGE2, f->base, FILES_PAGE2);
		rep->body = "[{\"filename\":\"a.tf\"}]";
		rep->headers[0][0] = "Link";
		rep->headers[0][1] = f->link;
	} else if (strcmp(req->url, FILES_PAGE2) == 0) {
		rep->body = "[{\"filename\":\"b/yarn.lock\","
		    "\"previous_filename\":\"yarn.lock\"}]";
	} else if (strcmp(req->url, CONTENTS_ROUTE ".github/prscan.yml") == 0) {
		rep->body = "{\"type\":\"file\",\"encoding\":\"base64\","
		    "\"size\":14,\"content\":\"ZmFpbF9vbjog\\naGlnaAo=\\n\"}";
	} else if (strcmp(req->url, CONTENTS_ROUTE "big.yml") == 0) {
		rep->body = "{\"type\":\"file\",\"encoding\":\"base64\","
		    "\"size\":99999,\"content\":\"\"}";
	} else if (strcmp(req->url, CONTENTS_ROUTE "dir") == 0) {
		rep->body = "[]";
	} else {
		return 0;
	}
	return 1;
}

static void fake_route(void *arg, const struct lh_request *req,
    struct lh_reply *rep)
{
	struct fake *f = arg;

	if (strcmp(req->url, MINT_ROUTE) == 0 &&
	    strcmp(req->method, "POST") == 0) {
		fake_mint(f, rep);
		return;
	}

	if (fake_read(f, req, rep))
		return;
	if (strncmp(req->url, CR_ROUTE, strlen(CR_ROUTE)) != 0) {
		rep->status = 404;
		rep->body = "{\"message\":\"Not Found\"}";
		return;
	}

	if (f->reject_all || (f->reject != NULL &&
	    strcmp(req->auth + 7, f->reject) == 0)) {
		rep->status = 401;
		rep->body = "{\"message\":\"Bad credentials\"}";
		return;
	}

	rep->status = f->cr_status;
	rep->body = f->cr_body;
	rep->headers[0][0] = f->hdr[0];
	rep->headers[0][1] = f->hdr[1];
}

static char *make_pem(size_t *len)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	char *pem;
	long n;

	assert_non_null(key);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = malloc((size_t)n);
	assert_non_null(pem);
	memcpy(pem, data, (size_t)n);
	*len = (size_t)n;
	BIO_free(bio);
	EVP_PKEY_free(key);
	return pem;
}

static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->pem = make_pem(&f->pemlen);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;

	free(f->pem);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = *state;
	char api[128];

	memset(&f->fake, 0, sizeof(f->fake));
	f->fake.expires_in = 3600;
	f->fake.cr_status = 201;
	f->fake.cr_body = "{\"id\":4242}";
	if (lh_start(&f->server, fake_route, &f->fake) != 0)
		return -1;

	lh_url(&f->server, "/api/v3/", api, sizeof(api));
	lh_url(&f->server, "", f->fake.base, sizeof(f->fake.base));
	return prs_github_new(api, "99", f->pem, f->pemlen, &f->gh);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	prs_github_free(f->gh);
	f->gh = NULL;
	lh_stop(&f->server);
	return 0;
}

static json_t *cr_body(void)
{
	json_t *j = json_pack("{s:s, s:s}", "name", "KICS", "head_sha",
	    "0123456789abcdef0123456789abcdef01234567");

	assert_non_null(j);
	return j;
}

static void test_mint_headers_and_cache(void **state)
{
	struct fixture *f = *state;
	const struct lh_request *r;
	char *tok = NULL;

	assert_int_equal(prs_github_installation_token(f->gh, 7, &tok), 0);
	assert_string_equal(tok, "ghs_tok1");
	prs_secret_free(tok);

	r = &f->server.reqs[0];
	assert_string_equal(r->method, "POST");
	assert_memory_equal(r->auth, "Bearer ey", 9);
	assert_string_equal(r->accept, "application/vnd.github+json");
	assert_string_equal(r->api_version, "2022-11-28");

	/* Cached: no second mint while it is good for five more minutes. */
	assert_int_equal(prs_github_installation_token(f->gh, 7, &tok), 0);
	assert_string_equal(tok, "ghs_tok1");
	prs_secret_free(tok);
	assert_int_equal(f->fake.mints, 1);
}

static void test_near_expiry_mints_again(void **state)
{
	struct fixture *f = *state;
	char *tok = NULL;

	f->fake.expires_in = 240;
	assert_int_equal(prs_github_installation_token(f->gh, 7, &tok), 0);
	prs_secret_free(tok);
	assert_int_equal(prs_github_installation_token(f->gh, 7, &tok), 0);
	assert_string_equal(tok, "ghs_tok2");
	prs_secret_free(tok);
	assert_int_equal(f->fake.mints, 2);
}

static void test_repo_token_scoped(void **state)
{
	struct fixture *f = *state;
	json_t *sent;
	char *tok = NULL;

	assert_int_equal(prs_github_repo_token(f->gh, 7, "hello", &tok), 0);
	assert_string_equal(tok, "ghs_tok1");
	prs_secret_free(tok);

	sent = json_loads(f->server.reqs[0].body, 0, NULL);
	assert_non_null(sent);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(sent, "repositories"), 0)), "hello");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(sent, "permissions"), "contents")), "read");
	json_decref(sent);

	/* Not cached: each call mints. */
	assert_int_equal(prs_github_repo_token(f->gh, 7, "hello", &tok), 0);
	assert_string_equal(tok, "ghs_tok2");
	prs_secret_free(tok);
}

static void test_unknown_installation(void **state)
{
	struct fixture *f = *state;
	char *tok = NULL;

	f->fake.mint_status = 404;
	assert_int_equal(prs_github_repo_token(f->gh, 7, "hello", &tok),
	    PRS_ENOTFOUND);
	assert_null(tok);
	assert_int_equal(prs_github_installation_token(f->gh, 8, &tok),
	    PRS_ENOTFOUND);
}

static void test_checkrun_create_and_update(void **state)
{
	struct fixture *f = *state;
	json_t *body = cr_body();
	const struct lh_request *r;
	long long id = 0;

	assert_int_equal(prs_github_checkrun_create(f->gh, 7, "octo",
	    "hello", body, &id), 0);
	assert_int_equal(id, 4242);
	r = &f->server.reqs[1];
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, CR_ROUTE);
	assert_string_equal(r->auth, "Bearer ghs_tok1");
	assert_string_equal(r->content_type, "application/json");
	assert_string_equal(r->body, "{\"name\":\"KICS\",\"head_sha\":"
	    "\"0123456789abcdef0123456789abcdef01234567\"}");

	f->fake.cr_status = 200;
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 4242, body), 0);
	r = &f->server.reqs[2];
	assert_string_equal(r->method, "PATCH");
	assert_string_equal(r->url, CR_ROUTE "/4242");
	assert_int_equal(f->fake.mints, 1);
	json_decref(body);
}

static void test_stale_token_minted_again_once(void **state)
{
	struct fixture *f = *state;
	json_t *body = cr_body();
	long long id = 0;
	char *tok = NULL;

	assert_int_equal(prs_github_installation_token(f->gh, 7, &tok), 0);
	prs_secret_free(tok);
	f->fake.reject = "ghs_tok1";
	assert_int_equal(prs_github_checkrun_create(f->gh, 7, "octo",
	    "hello", body, &id), 0);
	assert_int_equal(id, 4242);
	assert_int_equal(f->fake.mints, 2);
	assert_string_equal(f->server.reqs[f->server.nreqs - 1].auth,
	    "Bearer ghs_tok2");

	/* Refused again and again: one retry only, then -1. */
	f->fake.reject_all = 1;
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 4242, body), -1);
	assert_int_equal(f->fake.mints, 3);
	assert_non_null(strstr(prs_error_last(), "401"));
	json_decref(body);
}

static void test_refusals_reported(void **state)
{
	struct fixture *f = *state;
	json_t *body = cr_body();
	long long id = 0;

	f->fake.cr_status = 422;
	f->fake.cr_body = "{\"message\":\"Validation Failed\",\"errors\":"
	    "[{\"resource\":\"CheckRun\",\"code\":\"invalid\","
	    "\"message\":\"head_sha is bad\"}]}";
	assert_int_equal(prs_github_checkrun_create(f->gh, 7, "octo",
	    "hello", body, &id), -1);
	assert_non_null(strstr(prs_error_last(), "422"));
	assert_non_null(strstr(prs_error_last(), "Validation Failed"));
	assert_non_null(strstr(prs_error_last(), "head_sha is bad"));
	assert_null(strstr(prs_error_last(), "ghs_"));

	f->fake.cr_status = 404;
	f->fake.cr_body = "{\"message\":\"Not Found\"}";
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), PRS_ENOTFOUND);

	f->fake.cr_status = 502;
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), PRS_ERETRY);

	f->fake.cr_status = 403;
	f->fake.cr_body = "{\"message\":\"Resource not accessible\"}";
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), -1);

	f->fake.hdr[0] = "X-RateLimit-Remaining";
	f->fake.hdr[1] = "0";
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), PRS_ERETRY);

	f->fake.cr_status = 429;
	f->fake.hdr[0] = NULL;
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), PRS_ERETRY);
	json_decref(body);
}

/* Retry-After and the remaining calls reach the caller. */
static void test_wait_hints(void **state)
{
	struct fixture *f = *state;
	struct prs_github_wait w;
	json_t *body = cr_body();

	f->fake.cr_status = 429;
	f->fake.cr_body = "{\"message\":\"slow down\"}";
	f->fake.hdr[0] = "Retry-After";
	f->fake.hdr[1] = "7";
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), PRS_ERETRY);
	prs_github_last_wait(&w);
	assert_int_equal(w.status, 429);
	assert_true(w.rate_limited);
	assert_int_equal(w.retry_ms, 7000);

	f->fake.cr_status = 403;
	f->fake.hdr[0] = "X-RateLimit-Remaining";
	f->fake.hdr[1] = "0";
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), PRS_ERETRY);
	prs_github_last_wait(&w);
	assert_true(w.rate_limited);
	assert_int_equal(w.remaining, 0);
	/* No reset sent: the caller picks its own wait. */
	assert_int_equal(w.retry_ms, -1);

	/* A secondary rate limit: calls left, no Retry-After, only words. */
	f->fake.hdr[1] = "4000";
	f->fake.cr_body = "{\"message\":\"You have exceeded a secondary "
	    "rate limit. Please wait a few minutes before you try again.\"}";
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), PRS_ERETRY);
	prs_github_last_wait(&w);
	assert_true(w.rate_limited);
	assert_int_equal(w.retry_ms, -1);

	f->fake.cr_status = 503;
	f->fake.hdr[0] = NULL;
	assert_int_equal(prs_github_checkrun_update(f->gh, 7, "octo",
	    "hello", 1, body), PRS_ERETRY);
	prs_github_last_wait(&w);
	assert_false(w.rate_limited);
	assert_int_equal(w.retry_ms, -1);
	json_decref(body);
}

static void test_pull_files_follow_the_link_header(void **state)
{
	struct fixture *f = *state;
	json_t *files = NULL;

	assert_int_equal(prs_github_pull_files(f->gh, 7, "octo", "hello", 3,
	    3000, &files), 0);
	assert_int_equal(json_array_size(files), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    files, 1), "filename")), "b/yarn.lock");
	assert_string_equal(f->server.reqs[2].url, FILES_PAGE2);
	json_decref(files);
	/* At most max_files: the second page is not asked for. */
	assert_int_equal(prs_github_pull_files(f->gh, 7, "octo", "hello", 3,
	    1, &files), 0);
	assert_int_equal(json_array_size(files), 1);
	assert_int_equal(f->server.nreqs, 4);
	json_decref(files);
	/* A next page on another host is not followed, with the token. */
	f->fake.foreign_link = 1;
	assert_int_equal(prs_github_pull_files(f->gh, 7, "octo", "hello", 3,
	    3000, &files), -1);
	assert_null(files);
	assert_non_null(strstr(prs_error_last(), "another host"));
	assert_int_equal(f->server.nreqs, 5);
}

static void test_file_get(void **state)
{
	struct fixture *f = *state;
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(prs_github_file_get(f->gh, 7, "octo", "hello",
	    ".github/prscan.yml", "main", 65536, &data, &len), 0);
	assert_int_equal(len, 14);
	assert_string_equal(data, "fail_on: high\n");
	assert_non_null(strstr(f->server.reqs[1].url, "/contents/.github/"));
	free(data);
	assert_int_equal(prs_github_file_get(f->gh, 7, "octo", "hello",
	    "gone.yml", "main", 65536, &data, &len), PRS_ENOTFOUND);
	assert_null(data);
	assert_int_equal(prs_github_file_get(f->gh, 7, "octo", "hello",
	    "big.yml", "main", 65536, &data, &len), PRS_EINPUT);
	assert_non_null(strstr(prs_error_last(), "larger than 65536"));
	assert_int_equal(prs_github_file_get(f->gh, 7, "octo", "hello",
	    "dir", "main", 65536, &data, &len), PRS_EINPUT);
	assert_non_null(strstr(prs_error_last(), "not a file"));
}

static void test_no_answer_is_retry(void **state)
{
	struct fixture *f = *state;
	json_t *body = cr_body();
	long long id = 0;

	lh_stop(&f->server);
	assert_int_equal(prs_github_checkrun_create(f->gh, 7, "octo",
	    "hello", body, &id), PRS_ERETRY);
	json_decref(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mint_headers_and_cache,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_near_expiry_mints_again,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo_token_scoped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_installation,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_checkrun_create_and_update, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stale_token_minted_again_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_reported,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_hints, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_answer_is_retry,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pull_files_follow_the_link_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_get, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
