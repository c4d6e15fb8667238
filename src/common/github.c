/*
 * The GitHub App client.  The App signs a short JWT with its RSA key,
 * trades it for installation tokens (cached per installation until five
 * minutes before they expire) and uses those for check runs.
 */
#include "prscan/github.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "prscan/base64.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/github_read.h"
#include "prscan/http.h"
#include "prscan/log.h"
#include "prscan/metrics.h"

#define GH_TIMEOUT_MS 30000L
#define GH_TOKEN_MARGIN 300
#define GH_APP_ID_MAX 64

struct gh_token {
	long long inst;
	char *token;
	time_t expires;
};

struct prs_github {
	char *api_url;
	char *app_id;
	EVP_PKEY *key;
	pthread_mutex_t lock;
	struct gh_token *tokens;
	size_t ntokens;
	long timeout_ms;
};

/* What the last answer on this thread said about waiting. */
static _Thread_local struct prs_github_wait gh_last = { 0, 0, -1, -1, 0 };

/* One request to GitHub and what came back. */
struct gh_call {
	const char *method;
	const char *route;	/* path after api_url, no secrets */
	const char *auth;	/* "Bearer ..." */
	const char *body;	/* JSON text or NULL */
	long status;
	json_t *answer;		/* parsed body of a 2xx, or NULL */
	long long inst;		/* the token's installation, 0: the JWT */
	int paged;		/* set next from the Link header */
	char *next;		/* the Link header's next page, or NULL */
};

/* The passphrase callback: an encrypted key is refused, never prompted. */
static int gh_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int gh_load_key(const char *pem, size_t pemlen, EVP_PKEY **out)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	if (pem == NULL || pemlen == 0 || pemlen > INT_MAX) {
		prs_error_set("GITHUB_APP_PRIVATE_KEY: not a PEM private key");
		goto out;
	}

	bio = BIO_new_mem_buf(pem, (int)pemlen);
	if (bio == NULL) {
		prs_error_set("GITHUB_APP_PRIVATE_KEY: out of memory");
		goto out;
	}

	key = PEM_read_bio_PrivateKey(bio, NULL, gh_no_passphrase, NULL);
	if (key == NULL) {
		prs_error_set("GITHUB_APP_PRIVATE_KEY: not a PEM private key");
		goto out;
	}

	if (!EVP_PKEY_is_a(key, "RSA")) {
		prs_error_set("GITHUB_APP_PRIVATE_KEY: not an RSA key");
		goto out;
	}

	*out = key;
	key = NULL;
	rc = 0;

out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

static int gh_app_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > GH_APP_ID_MAX)
		return 0;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

int prs_github_new(const char *api_url, const char *app_id, const char *pem,
    size_t pemlen, struct prs_github **out)
{
	struct prs_github *gh = NULL;
	size_t n;
	int rc = -1;

	*out = NULL;
	if (api_url == NULL || api_url[0] == '\0') {
		prs_error_set("GitHub API URL is empty");
		goto out;
	}

	if (!gh_app_id_valid(app_id)) {
		prs_error_set("GITHUB_APP_ID: not a valid App id");
		goto out;
	}

	gh = calloc(1, sizeof(*gh));
	if (gh == NULL || pthread_mutex_init(&gh->lock, NULL) != 0) {
		free(gh);
		gh = NULL;
		prs_error_set("GitHub client: out of memory");
		goto out;
	}

	gh->timeout_ms = GH_TIMEOUT_MS;
	gh->api_url = strdup(api_url);
	gh->app_id = strdup(app_id);
	if (gh->api_url == NULL || gh->app_id == NULL) {
		prs_error_set("GitHub client: out of memory");
		goto out;
	}

	n = strlen(gh->api_url);
	while (n > 0 && gh->api_url[n - 1] == '/')
		gh->api_url[--n] = '\0';
	if (gh_load_key(pem, pemlen, &gh->key) != 0)
		goto out;

	*out = gh;
	gh = NULL;
	rc = 0;

out:
	prs_github_free(gh);
	return rc;
}

void prs_github_free(struct prs_github *gh)
{
	size_t i;

	if (gh == NULL)
		return;

	for (i = 0; i < gh->ntokens; i++)
		prs_secret_free(gh->tokens[i].token);
	free(gh->tokens);
	EVP_PKEY_free(gh->key);
	pthread_mutex_destroy(&gh->lock);
	free(gh->api_url);
	free(gh->app_id);
	free(gh);
}

/* base64url without padding, as JWTs want it: a new string. */
static char *gh_b64url(const void *data, size_t len)
{
	char *s;
	size_t i;
	size_t n;

	if (len > INT_MAX / 4 * 3 - 3)
		return NULL;

	s = malloc(4 * ((len + 2) / 3) + 1);
	if (s == NULL)
		return NULL;

	EVP_EncodeBlock((unsigned char *)s, data, (int)len);
	n = strlen(s);
	while (n > 0 && s[n - 1] == '=')
		s[--n] = '\0';
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	}
	return s;
}

/* base64url of the compact JSON form of j: a new string. */
static char *gh_b64url_json(const json_t *j)
{
	char *text;
	char *s;

	if (j == NULL)
		return NULL;

	text = json_dumps(j, JSON_COMPACT);
	if (text == NULL)
		return NULL;

	s = gh_b64url(text, strlen(text));
	free(text);
	return s;
}

static int gh_sign(EVP_PKEY *key, const char *msg, unsigned char **sig,
    size_t *siglen)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned long e;
	int rc = -1;

	*sig = NULL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, siglen, (const unsigned char *)msg,
	    strlen(msg)) != 1)
		goto fail;

	*sig = malloc(*siglen);
	if (*sig == NULL ||
	    EVP_DigestSign(ctx, *sig, siglen, (const unsigned char *)msg,
	    strlen(msg)) != 1)
		goto fail;

	rc = 0;
	goto out;

fail:
	e = ERR_peek_last_error();
	prs_error_set("JWT signing failed: %s",
	    e ? ERR_reason_error_string(e) : "out of memory");
	free(*sig);
	*sig = NULL;

out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

int prs_github_jwt(struct prs_github *gh, time_t now, char **out)
{
	json_t *hdr = NULL;
	json_t *claims = NULL;
	char *h64 = NULL;
	char *c64 = NULL;
	char *s64 = NULL;
	char *msg = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	size_t n;
	int rc = -1;

	*out = NULL;
	hdr = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
	claims = json_pack("{s:I, s:I, s:s}", "iat", (json_int_t)(now - 60),
	    "exp", (json_int_t)(now + 540), "iss", gh->app_id);
	h64 = gh_b64url_json(hdr);
	c64 = gh_b64url_json(claims);
	if (h64 == NULL || c64 == NULL)
		goto oom;

	n = strlen(h64) + strlen(c64) + 2;
	msg = malloc(n);
	if (msg == NULL)
		goto oom;

	snprintf(msg, n, "%s.%s", h64, c64);
	if (gh_sign(gh->key, msg, &sig, &siglen) != 0)
		goto out;

	s64 = gh_b64url(sig, siglen);
	n += (s64 ? strlen(s64) : 0) + 1;
	*out = s64 ? malloc(n) : NULL;
	if (*out == NULL)
		goto oom;

	snprintf(*out, n, "%s.%s", msg, s64);
	rc = 0;
	goto out;

oom:
	prs_error_set("JWT: out of memory");

out:
	json_decref(hdr);
	json_decref(claims);
	free(h64);
	free(c64);
	free(s64);
	free(msg);
	free(sig);
	return rc;
}

/* The text GitHub sent with a refusal: message and the first error. */
static void gh_refusal(const struct gh_call *c, const char *text)
{
	json_t *j = json_loads(text ? text : "", 0, NULL);
	json_t *err0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *msg = json_string_value(json_object_get(j, "message"));
	const char *detail = json_string_value(err0);
	char *dump = NULL;

	if (detail == NULL && json_is_object(err0)) {
		detail = json_string_value(json_object_get(err0, "message"));
		if (detail == NULL)
			detail = dump = json_dumps(err0, JSON_COMPACT);
	}

	prs_error_set("GitHub %s %s: HTTP %ld%s%.300s%s%.300s", c->method,
	    c->route, c->status, msg ? ": " : "", msg ? msg : "",
	    detail ? ": " : "", detail ? detail : "");
	free(dump);
	json_decref(j);
}

/* A header holding a whole number; -1 when absent or not a number. */
static long long gh_header_number(const char *v)
{
	char *end;
	long long n;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	n = strtoll(v, &end, 10);
	return *end == '\0' && n >= 0 ? n : -1;
}

/* Records what r says about waiting in the thread's gh_last. */
int prs_github_says_rate_limit(const char *body, size_t len)
{
	static const char word[] = "rate limit";
	size_t i, n = sizeof(word) - 1;

	if (body == NULL)
		return 0;
	if (len > 4096)
		len = 4096;
	for (i = 0; i + n <= len; i++)
		if (strncasecmp(body + i, word, n) == 0)
			return 1;
	return 0;
}

static void gh_note_wait(long status, const struct prs_http_response *r)
{
	long long after = gh_header_number(r->retry_after);
	long long left = gh_header_number(r->ratelimit_remaining);
	long long reset = gh_header_number(r->ratelimit_reset);
	long long now = (long long)time(NULL);

	gh_last.status = status;
	gh_last.remaining = left > LONG_MAX ? LONG_MAX : (long)left;
	gh_last.reset = reset > 0 ? reset : 0;
	gh_last.rate_limited = status == 429 || (status == 403 &&
	    (after >= 0 || left == 0 || prs_github_says_rate_limit(r->body,
	    r->len)));
	gh_last.retry_ms = -1;
	if (after >= 0 && after < 86400)
		gh_last.retry_ms = after * 1000;
	else if (gh_last.rate_limited && left == 0 && reset > 0)
		gh_last.retry_ms = reset > now ? (reset - now) * 1000 : 0;
}

void prs_github_last_wait(struct prs_github_wait *out)
{
	*out = gh_last;
}

void prs_github_set_timeout(struct prs_github *gh, long timeout_ms)
{
	gh->timeout_ms = timeout_ms > 0 ? timeout_ms : GH_TIMEOUT_MS;
}

/* 2xx: 0; rate limit, 5xx: PRS_ERETRY; 404: PRS_ENOTFOUND; else -1. */
static int gh_status_rc(const struct gh_call *c,
    const struct prs_http_response *r)
{
	gh_note_wait(c->status, r);
	if (c->status >= 200 && c->status < 300)
		return 0;

	gh_refusal(c, r->body);
	if (c->status >= 500 || c->status == 408 || gh_last.rate_limited)
		return PRS_ERETRY;
	if (c->status == 404)
		return PRS_ENOTFOUND;
	return -1;
}

static int gh_send(struct prs_github *gh, struct gh_call *c)
{
	struct prs_http_response r = { 0 };
	char *url = NULL;
	char *auth = NULL;
	size_t n;
	int rc = -1;
	const char *headers[] = {
		NULL,
		"Accept: application/vnd.github+json",
		"X-GitHub-Api-Version: 2022-11-28",
		"Content-Type: application/json",
		NULL
	};

	c->status = 0;
	c->answer = NULL;
	n = strlen(gh->api_url) + strlen(c->route) + 1;
	url = malloc(n);
	auth = malloc(strlen(c->auth) + 16);
	if (url == NULL || auth == NULL) {
		prs_error_set("GitHub %s %s: out of memory", c->method,
		    c->route);
		goto out;
	}

	snprintf(url, n, "%s%s", gh->api_url, c->route);
	snprintf(auth, strlen(c->auth) + 16, "Authorization: %s", c->auth);
	headers[0] = auth;
	rc = prs_http_request(c->method, url, headers, c->body,
	    c->body ? strlen(c->body) : 0, gh->timeout_ms, &r);
	c->status = r.status;
	prs_metrics_github_answer(c->method, c->route, c->status,
	    r.ratelimit_remaining, c->inst);
	prs_debug("github request", "method=%s route=%s status=%ld",
	    c->method, c->route, c->status);
	if (rc != 0) {
		gh_note_wait(0, &r);
		goto out;
	}

	rc = gh_status_rc(c, &r);
	if (rc == 0 && r.len > 0)
		c->answer = json_loadb(r.body, r.len, 0, NULL);
	if (rc == 0 && c->paged)
		c->next = prs_github_link_next(r.link);

out:
	if (r.body != NULL)
		prs_secret_wipe(r.body, r.len);
	prs_http_response_dispose(&r);
	prs_secret_free(auth);
	free(url);
	return rc;
}

/* "2026-12-03T20:00:00Z" to a time_t; -1 when it is not that form. */
static int gh_parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	char z = 0;
	char extra = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%c",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &z, &extra) != 7 || z != 'Z')
		return -1;

	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;

	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* POSTs body to the installation's access_tokens route with the JWT. */
static int gh_mint(struct prs_github *gh, long long inst, const char *body,
    char **token, time_t *expires)
{
	char route[96];
	char *jwt = NULL;
	char *bearer = NULL;
	struct gh_call c = { .method = "POST", .route = route, .body = body };
	const char *tok;
	int rc = -1;

	*token = NULL;
	snprintf(route, sizeof(route), "/app/installations/%lld/access_tokens",
	    inst);
	if (prs_github_jwt(gh, time(NULL), &jwt) != 0)
		goto out;

	bearer = malloc(strlen(jwt) + 8);
	if (bearer == NULL) {
		prs_error_set("GitHub: out of memory");
		goto out;
	}

	snprintf(bearer, strlen(jwt) + 8, "Bearer %s", jwt);
	c.auth = bearer;
	rc = gh_send(gh, &c);
	if (rc != 0)
		goto out;

	rc = -1;
	tok = json_string_value(json_object_get(c.answer, "token"));
	if (tok == NULL || tok[0] == '\0' || gh_parse_time(json_string_value(
	    json_object_get(c.answer, "expires_at")), expires) != 0) {
		prs_error_set("GitHub POST %s: no token or expires_at in the "
		    "answer", route);
		goto out;
	}

	*token = strdup(tok);
	if (*token == NULL) {
		prs_error_set("GitHub: out of memory");
		goto out;
	}
	rc = 0;

out:
	json_decref(c.answer);
	prs_secret_free(bearer);
	prs_secret_free(jwt);
	return rc;
}

/* The cached entry of inst, or NULL.  Called with the lock held. */
static struct gh_token *gh_cache_find(struct prs_github *gh, long long inst)
{
	size_t i;

	for (i = 0; i < gh->ntokens; i++)
		if (gh->tokens[i].inst == inst)
			return &gh->tokens[i];
	return NULL;
}

/* A copy of inst's cached token if it is good for five more minutes. */
static char *gh_cache_get(struct prs_github *gh, long long inst)
{
	struct gh_token *t;
	char *copy = NULL;

	pthread_mutex_lock(&gh->lock);
	t = gh_cache_find(gh, inst);
	if (t != NULL && time(NULL) < t->expires - GH_TOKEN_MARGIN)
		copy = strdup(t->token);
	pthread_mutex_unlock(&gh->lock);
	return copy;
}

/* Stores a copy of token for inst; a failure only costs a later mint. */
static void gh_cache_put(struct prs_github *gh, long long inst,
    const char *token, time_t expires)
{
	struct gh_token *t;
	char *copy = strdup(token);

	if (copy == NULL)
		return;

	pthread_mutex_lock(&gh->lock);
	t = gh_cache_find(gh, inst);
	if (t == NULL) {
		t = realloc(gh->tokens, (gh->ntokens + 1) * sizeof(*t));
		if (t != NULL) {
			gh->tokens = t;
			t = &gh->tokens[gh->ntokens++];
			t->inst = inst;
			t->token = NULL;
		}
	}

	if (t != NULL) {
		prs_secret_free(t->token);
		t->token = copy;
		t->expires = expires;
		copy = NULL;
	}
	pthread_mutex_unlock(&gh->lock);
	prs_secret_free(copy);
}

/* Forgets inst's cached token, e.g. after GitHub refused it. */
static void gh_cache_drop(struct prs_github *gh, long long inst)
{
	struct gh_token *t;

	pthread_mutex_lock(&gh->lock);
	t = gh_cache_find(gh, inst);
	if (t != NULL) {
		prs_secret_free(t->token);
		*t = gh->tokens[--gh->ntokens];
	}
	pthread_mutex_unlock(&gh->lock);
}

int prs_github_installation_token(struct prs_github *gh, long long inst,
    char **out)
{
	time_t expires = 0;
	int rc;

	*out = gh_cache_get(gh, inst);
	if (*out != NULL)
		return 0;

	rc = gh_mint(gh, inst, NULL, out, &expires);
	if (rc == 0)
		gh_cache_put(gh, inst, *out, expires);
	return rc;
}

int prs_github_repo_token(struct prs_github *gh, long long inst,
    const char *repo, char **out)
{
	json_t *body = NULL;
	char *text = NULL;
	time_t expires = 0;
	int rc = -1;

	*out = NULL;
	body = json_pack("{s:[s], s:{s:s}}", "repositories", repo,
	    "permissions", "contents", "read");
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (text == NULL) {
		prs_error_set("GitHub repo token: out of memory");
		goto out;
	}

	rc = gh_mint(gh, inst, text, out, &expires);

out:
	free(text);
	json_decref(body);
	return rc;
}

/*
 * Sends c with inst's token.  A 401 means the cached token went stale
 * (revoked, or the App's permissions changed): mint a new one, once.
 */
static int gh_send_as_installation(struct prs_github *gh, long long inst,
    struct gh_call *c)
{
	char *token = NULL;
	char *bearer = NULL;
	int attempt;
	int rc = -1;

	for (attempt = 0; attempt < 2; attempt++) {
		rc = prs_github_installation_token(gh, inst, &token);
		if (rc != 0)
			break;

		bearer = malloc(strlen(token) + 8);
		if (bearer == NULL) {
			rc = prs_error_set("GitHub: out of memory");
			break;
		}

		snprintf(bearer, strlen(token) + 8, "Bearer %s", token);
		c->auth = bearer;
		c->inst = inst;
		rc = gh_send(gh, c);
		c->auth = NULL;
		prs_secret_free(bearer);
		prs_secret_free(token);
		bearer = token = NULL;
		if (c->status != 401)
			break;

		json_decref(c->answer);
		c->answer = NULL;
		gh_cache_drop(gh, inst);
	}

	prs_secret_free(token);
	return rc;
}

/* "/repos/{owner}/{repo}" plus suffix, escaped: a new string. */
static char *gh_repo_route(const char *owner, const char *repo,
    const char *suffix)
{
	char *o = curl_easy_escape(NULL, owner, 0);
	char *r = curl_easy_escape(NULL, repo, 0);
	char *route = NULL;
	size_t n;

	if (o != NULL && r != NULL) {
		n = strlen(o) + strlen(r) + strlen(suffix) + 16;
		route = malloc(n);
		if (route != NULL)
			snprintf(route, n, "/repos/%s/%s%s", o, r, suffix);
	}

	if (route == NULL)
		prs_error_set("GitHub request: out of memory");
	curl_free(o);
	curl_free(r);
	return route;
}

/* "/repos/{owner}/{repo}/check-runs" plus suffix: a new string. */
static char *gh_checkrun_route(const char *owner, const char *repo,
    const char *suffix)
{
	char tail[48];

	snprintf(tail, sizeof(tail), "/check-runs%s", suffix);
	return gh_repo_route(owner, repo, tail);
}

static int gh_checkrun_send(struct prs_github *gh, long long inst,
    struct gh_call *c, const json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	int rc;

	if (text == NULL)
		return prs_error_set("GitHub %s %s: cannot serialise the body",
		    c->method, c->route);

	c->body = text;
	rc = gh_send_as_installation(gh, inst, c);
	c->body = NULL;
	free(text);
	return rc;
}

int prs_github_checkrun_create(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, const json_t *body, long long *id)
{
	struct gh_call c = { .method = "POST" };
	char *route = gh_checkrun_route(owner, repo, "");
	json_t *jid;
	int rc = -1;

	if (route == NULL)
		goto out;

	c.route = route;
	rc = gh_checkrun_send(gh, inst, &c, body);
	if (rc != 0)
		goto out;

	jid = json_object_get(c.answer, "id");
	if (!json_is_integer(jid)) {
		rc = prs_error_set("GitHub POST %s: no id in the answer",
		    route);
		goto out;
	}
	*id = json_integer_value(jid);

out:
	json_decref(c.answer);
	free(route);
	return rc;
}

int prs_github_checkrun_update(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, long long id, const json_t *body)
{
	struct gh_call c = { .method = "PATCH" };
	char suffix[32];
	char *route;
	int rc = -1;

	snprintf(suffix, sizeof(suffix), "/%lld", id);
	route = gh_checkrun_route(owner, repo, suffix);
	if (route == NULL)
		return -1;

	c.route = route;
	rc = gh_checkrun_send(gh, inst, &c, body);
	json_decref(c.answer);
	free(route);
	return rc;
}

/* Appends one page of files to all; the page's length in *got. */
/* The route of a Link header's URL: below api_url, else NULL. */
static const char *gh_route_of(const struct prs_github *gh, const char *url)
{
	size_t n = strlen(gh->api_url);

	if (url == NULL || strncmp(url, gh->api_url, n) != 0 ||
	    url[n] != '/')
		return NULL;
	return url + n;
}

/* Follows the Link header from route while fewer than max are in all. */
static int gh_get_pages(struct prs_github *gh, long long inst, char *route,
    size_t max, json_t *all)
{
	struct gh_call c = { .method = "GET", .paged = 1 };
	char *owned = route;
	const char *at = route;
	int rc = 0;

	while (rc == 0 && at != NULL && json_array_size(all) < max) {
		c.route = at;
		c.next = NULL;
		rc = gh_send_as_installation(gh, inst, &c);
		if (rc == 0 && !json_is_array(c.answer))
			rc = prs_error_set("GitHub GET %s: not a list", at);
		if (rc == 0 && json_array_extend(all, c.answer) < 0)
			rc = prs_error_set("GitHub: out of memory");
		json_decref(c.answer);
		free(owned);
		owned = c.next;
		at = gh_route_of(gh, c.next);
		if (rc == 0 && c.next != NULL && at == NULL)
			rc = prs_error_set("GitHub: a next page on another "
			    "host was not followed");
	}
	free(owned);
	return rc;
}

int prs_github_pull_files(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, long number, size_t max_files,
    json_t **files)
{
	json_t *all = json_array();
	char suffix[80];
	char *route;
	int rc;

	*files = NULL;
	snprintf(suffix, sizeof(suffix), "/pulls/%ld/files?per_page=100",
	    number);
	route = all != NULL ? gh_repo_route(owner, repo, suffix) : NULL;
	if (route == NULL) {
		json_decref(all);
		return prs_error_set("GitHub: out of memory");
	}
	rc = gh_get_pages(gh, inst, route, max_files, all);
	if (rc != 0) {
		json_decref(all);
		return rc;
	}
	while (json_array_size(all) > max_files)
		json_array_remove(all, json_array_size(all) - 1);
	*files = all;
	return 0;
}

/* base64 with line breaks (the contents API's) into a new buffer. */
static int gh_unbase64(const char *text, char **out, size_t *len)
{
	int rc = prs_base64_decode(text, strlen(text), out, len);

	if (rc == PRS_EINPUT)
		return prs_error_set("GitHub: the file's content is not "
		    "base64");
	return rc < 0 ? prs_error_set("GitHub: out of memory") : 0;
}

/* The decoded content of a contents API answer; PRS_EINPUT if unusable. */
static int gh_file_content(const json_t *a, const char *path, size_t max,
    char **data, size_t *len)
{
	const char *type = json_string_value(json_object_get(a, "type"));
	const char *enc = json_string_value(json_object_get(a, "encoding"));
	const char *text = json_string_value(json_object_get(a, "content"));
	json_int_t size = json_integer_value(json_object_get(a, "size"));

	if (type == NULL || strcmp(type, "file") != 0) {
		prs_error_set("%s is not a file", path);
		return PRS_EINPUT;
	}
	if (size < 0 || (size_t)size > max) {
		prs_error_set("%s is larger than %zu bytes", path, max);
		return PRS_EINPUT;
	}
	if (enc == NULL || strcmp(enc, "base64") != 0 || text == NULL) {
		prs_error_set("%s: GitHub sent no base64 content", path);
		return PRS_EINPUT;
	}
	if (gh_unbase64(text, data, len) < 0)
		return PRS_EINPUT;
	return 0;
}

int prs_github_file_get(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, const char *path, const char *ref,
    size_t max, char **data, size_t *len)
{
	struct gh_call c = { .method = "GET" };
	char *eref = curl_easy_escape(NULL, ref, 0);
	char *suffix = NULL, *route = NULL;
	size_t n;
	int rc = -1;

	*data = NULL;
	*len = 0;
	n = strlen(path) + (eref != NULL ? strlen(eref) : 0) + 32;
	suffix = eref != NULL ? malloc(n) : NULL;
	if (suffix == NULL) {
		prs_error_set("GitHub: out of memory");
		goto out;
	}
	snprintf(suffix, n, "/contents/%s?ref=%s", path, eref);
	route = gh_repo_route(owner, repo, suffix);
	if (route == NULL)
		goto out;
	c.route = route;
	rc = gh_send_as_installation(gh, inst, &c);
	if (rc == 0)
		rc = gh_file_content(c.answer, path, max, data, len);
	json_decref(c.answer);
out:
	curl_free(eref);
	free(suffix);
	free(route);
	return rc;
}

/* The id of the run in answer whose external_id is ext, or 0. */
static long long gh_run_with(const json_t *answer, const char *name,
    const char *ext)
{
	const json_t *runs = json_object_get(answer, "check_runs");
	const json_t *r;
	const char *v, *n;
	size_t i;

	json_array_foreach(runs, i, r) {
		v = json_string_value(json_object_get(r, "external_id"));
		n = json_string_value(json_object_get(r, "name"));
		if (v != NULL && n != NULL && strcmp(v, ext) == 0 &&
		    strcmp(n, name) == 0 &&
		    json_is_integer(json_object_get(r, "id")))
			return json_integer_value(json_object_get(r, "id"));
	}
	return 0;
}

int prs_github_checkrun_find(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, const char *sha, const char *name,
    const char *external_id, long long *id)
{
	struct gh_call c = { .method = "GET" };
	char *ename = curl_easy_escape(NULL, name, 0);
	char *suffix = NULL;
	char *route = NULL;
	size_t n;
	int rc = -1;

	*id = 0;
	n = strlen(sha) + (ename != NULL ? strlen(ename) : 0) + 80;
	suffix = ename != NULL ? malloc(n) : NULL;
	if (suffix == NULL) {
		prs_error_set("GitHub: out of memory");
		goto out;
	}
	snprintf(suffix, n, "/commits/%s/check-runs?check_name=%s"
	    "&filter=all&per_page=100", sha, ename);
	route = gh_repo_route(owner, repo, suffix);
	if (route == NULL)
		goto out;
	c.route = route;
	rc = gh_send_as_installation(gh, inst, &c);
	if (rc == 0) {
		*id = gh_run_with(c.answer, name, external_id);
		rc = *id != 0 ? 0 : PRS_ENOTFOUND;
	}
out:
	json_decref(c.answer);
	curl_free(ename);
	free(suffix);
	free(route);
	return rc;
}
