/*
 * A small libcurl client: one easy handle per request, the body and three
 * rate-limit headers captured, and error text scrubbed of credentials.
 */
#include "prscan/http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "prscan/error.h"

#define HTTP_MAX_BODY ((size_t)64 << 20)
#define HTTP_USER_AGENT "prscan/0.1"
#define HTTP_CONNECT_TIMEOUT_MS 10000L
#define SCRUB_MARK "***"

struct http_capture {
	struct prs_http_response *resp;
	size_t cap;
	int too_big;
	int oom;
};

/* A growing output buffer for prs_scrub(). */
struct scrub_sink {
	char *buf;
	size_t len;
	size_t cap;
	int oom;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc = CURLE_FAILED_INIT;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t http_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_capture *cap = arg;
	struct prs_http_response *r = cap->resp;
	size_t add = size * n;
	size_t want;
	char *p;

	if (add > HTTP_MAX_BODY - r->len) {
		cap->too_big = 1;
		return 0;
	}

	if (r->len + add + 1 > cap->cap) {
		want = cap->cap ? cap->cap : 4096;
		while (want < r->len + add + 1)
			want *= 2;
		p = realloc(r->body, want);
		if (p == NULL) {
			cap->oom = 1;
			return 0;
		}
		r->body = p;
		cap->cap = want;
	}

	memcpy(r->body + r->len, data, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

/* The value of "Name: value\r\n" when the line's name is name, else NULL. */
static char *http_header_value(const char *line, size_t n, const char *name)
{
	size_t nlen = strlen(name);
	const char *v;
	const char *end = line + n;

	if (n <= nlen || line[nlen] != ':' ||
	    strncasecmp(line, name, nlen) != 0)
		return NULL;

	v = line + nlen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return strndup(v, (size_t)(end - v));
}

static void http_set_header(char **slot, char *value)
{
	if (value == NULL)
		return;

	free(*slot);
	*slot = value;
}

static void http_forget_headers(struct prs_http_response *r)
{
	free(r->retry_after);
	free(r->ratelimit_remaining);
	free(r->ratelimit_reset);
	free(r->link);
	r->retry_after = NULL;
	r->ratelimit_remaining = NULL;
	r->ratelimit_reset = NULL;
	r->link = NULL;
}

static size_t http_on_header(char *line, size_t size, size_t n, void *arg)
{
	struct http_capture *cap = arg;
	struct prs_http_response *r = cap->resp;
	size_t len = size * n;

	/* A new status line: headers of an interim answer are not ours. */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		http_forget_headers(r);
		return len;
	}

	http_set_header(&r->retry_after,
	    http_header_value(line, len, "Retry-After"));
	http_set_header(&r->ratelimit_remaining,
	    http_header_value(line, len, "X-RateLimit-Remaining"));
	http_set_header(&r->ratelimit_reset,
	    http_header_value(line, len, "X-RateLimit-Reset"));
	http_set_header(&r->link, http_header_value(line, len, "Link"));
	return len;
}

static struct curl_slist *http_header_list(const char *const *headers)
{
	struct curl_slist *list = NULL;
	struct curl_slist *p;

	/* No "Expect: 100-continue" round trip for larger bodies. */
	list = curl_slist_append(NULL, "Expect:");
	for (; list != NULL && headers != NULL && *headers != NULL;
	    headers++) {
		p = curl_slist_append(list, *headers);
		if (p == NULL) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = p;
	}
	return list;
}

static int http_set_method(CURL *c, const char *method, const void *body,
    size_t len)
{
	CURLcode e = CURLE_OK;

	if (body == NULL && strcmp(method, "GET") == 0)
		return curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK ?
		    0 : -1;

	if (body != NULL || strcmp(method, "POST") == 0) {
		e = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body ? len : 0));
		if (e == CURLE_OK)
			e = curl_easy_setopt(c, CURLOPT_POSTFIELDS,
			    body ? body : "");
	}

	if (e == CURLE_OK && strcmp(method, "POST") != 0)
		e = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	return e == CURLE_OK ? 0 : -1;
}

static int http_setup(CURL *c, const char *url, struct curl_slist *hdrs,
    long timeout_ms, struct http_capture *cap, char *errbuf)
{
	long connect_ms = timeout_ms < HTTP_CONNECT_TIMEOUT_MS ?
	    timeout_ms : HTTP_CONNECT_TIMEOUT_MS;
	CURLcode e = CURLE_OK;

	e |= curl_easy_setopt(c, CURLOPT_URL, url);
	e |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	e |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	e |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	e |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	e |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	e |= curl_easy_setopt(c, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	e |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	e |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	e |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_on_body);
	e |= curl_easy_setopt(c, CURLOPT_WRITEDATA, cap);
	e |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_on_header);
	e |= curl_easy_setopt(c, CURLOPT_HEADERDATA, cap);
	return e == CURLE_OK ? 0 : -1;
}

/* Failures worth another try later: the network, not the request. */
static int http_transient(CURLcode e)
{
	switch (e) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int http_fail(const char *method, const char *url, CURLcode e,
    const char *errbuf, const struct http_capture *cap)
{
	char msg[1024];
	char *clean;
	const char *what = curl_easy_strerror(e);

	if (cap->too_big)
		what = "answer larger than 64 MiB";
	else if (cap->oom)
		what = "out of memory";

	snprintf(msg, sizeof(msg), "%s %s: %s%s%s%s", method, url, what,
	    errbuf[0] ? " (" : "", errbuf, errbuf[0] ? ")" : "");
	clean = prs_scrub(msg);
	prs_error_set("%s", clean ? clean : "HTTP request failed");
	free(clean);
	if (!cap->too_big && !cap->oom && http_transient(e))
		return PRS_ERETRY;
	return -1;
}

int prs_http_request(const char *method, const char *url,
    const char *const *headers, const void *body, size_t len,
    long timeout_ms, struct prs_http_response *resp)
{
	struct http_capture cap = { .resp = resp };
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = NULL;
	CURLcode e;
	int rc = -1;

	memset(resp, 0, sizeof(*resp));
	pthread_once(&http_once, http_global_init);
	if (http_global_rc != CURLE_OK) {
		prs_error_set("curl_global_init: %s",
		    curl_easy_strerror(http_global_rc));
		goto out;
	}

	c = curl_easy_init();
	hdrs = http_header_list(headers);
	if (c == NULL || hdrs == NULL) {
		prs_error_set("HTTP request: out of memory");
		goto out;
	}

	if (http_setup(c, url, hdrs, timeout_ms, &cap, errbuf) != 0 ||
	    http_set_method(c, method, body, len) != 0) {
		prs_error_set("HTTP request: cannot set curl options");
		goto out;
	}

	e = curl_easy_perform(c);
	if (e != CURLE_OK) {
		rc = http_fail(method, url, e, errbuf, &cap);
		goto out;
	}

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (resp->body == NULL)
		resp->body = strdup("");
	if (resp->body == NULL) {
		prs_error_set("HTTP request: out of memory");
		goto out;
	}
	rc = 0;

out:
	if (rc != 0)
		prs_http_response_dispose(resp);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

void prs_http_response_dispose(struct prs_http_response *resp)
{
	if (resp == NULL)
		return;

	free(resp->body);
	http_forget_headers(resp);
	memset(resp, 0, sizeof(*resp));
}

static void scrub_put(struct scrub_sink *k, const char *s, size_t n)
{
	size_t want;
	char *p;

	if (k->oom)
		return;

	if (k->len + n + 1 > k->cap) {
		want = k->cap ? k->cap * 2 : 64;
		while (want < k->len + n + 1)
			want *= 2;
		p = realloc(k->buf, want);
		if (p == NULL) {
			k->oom = 1;
			return;
		}
		k->buf = p;
		k->cap = want;
	}

	memcpy(k->buf + k->len, s, n);
	k->len += n;
	k->buf[k->len] = '\0';
}

static int scrub_is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* Ends a word, a URL or a query: blanks, quotes and brackets. */
static int scrub_is_stop(char c)
{
	return c == '\0' || strchr(" \t\r\n\"'<>()[]{},;", c) != NULL;
}

static size_t scrub_skip_to_stop(const char *s)
{
	size_t n = 0;

	while (!scrub_is_stop(s[n]))
		n++;
	return n;
}

/* After "://": the length of "user:pass@" to drop, 0 when none. */
static size_t scrub_userinfo_len(const char *s)
{
	size_t n;
	size_t at = 0;

	for (n = 0; !scrub_is_stop(s[n]) && !strchr("/?#", s[n]); n++)
		if (s[n] == '@')
			at = n + 1;
	return at;
}

/* Length of "token ", "Bearer " or "basic " and its blanks, else 0. */
static size_t scrub_keyword_len(const char *s)
{
	static const char *const words[] = { "token", "bearer", "basic" };
	size_t i;
	size_t n;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		n = strlen(words[i]);
		if (strncasecmp(s, words[i], n) != 0 ||
		    (s[n] != ' ' && s[n] != '\t'))
			continue;
		while (s[n] == ' ' || s[n] == '\t')
			n++;
		return n;
	}
	return 0;
}

/* Length of a GitHub token (ghs_..., github_pat_...) at s, else 0. */
static size_t scrub_github_token_len(const char *s)
{
	static const char *const prefixes[] = {
		"ghs_", "ghp_", "gho_", "ghu_", "ghr_", "github_pat_"
	};
	size_t i;
	size_t n;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i]);
		if (strncmp(s, prefixes[i], n) != 0 || !scrub_is_word(s[n]))
			continue;
		while (scrub_is_word(s[n]))
			n++;
		return n;
	}
	return 0;
}

/* Handles what starts at s[i]; returns how many input bytes it used. */
static size_t scrub_step(struct scrub_sink *k, const char *s, size_t i)
{
	int boundary = i == 0 || !scrub_is_word(s[i - 1]);
	size_t n;

	if (strncmp(s + i, "://", 3) == 0) {
		scrub_put(k, "://", 3);
		return 3 + scrub_userinfo_len(s + i + 3);
	}

	if (s[i] == '?' && i > 0 && !scrub_is_stop(s[i - 1]) &&
	    !scrub_is_stop(s[i + 1])) {
		scrub_put(k, "?" SCRUB_MARK, strlen(SCRUB_MARK) + 1);
		return scrub_skip_to_stop(s + i);
	}

	if (boundary && (n = scrub_keyword_len(s + i)) > 0) {
		scrub_put(k, s + i, n);
		if (!scrub_is_stop(s[i + n]))
			scrub_put(k, SCRUB_MARK, strlen(SCRUB_MARK));
		return n + scrub_skip_to_stop(s + i + n);
	}

	if (boundary && (n = scrub_github_token_len(s + i)) > 0) {
		scrub_put(k, SCRUB_MARK, strlen(SCRUB_MARK));
		return n;
	}

	scrub_put(k, s + i, 1);
	return 1;
}

char *prs_scrub(const char *s)
{
	struct scrub_sink k = { 0 };
	size_t i = 0;

	if (s == NULL)
		return NULL;

	scrub_put(&k, "", 0);
	while (s[i] != '\0')
		i += scrub_step(&k, s, i);

	if (k.oom) {
		free(k.buf);
		return NULL;
	}
	return k.buf;
}

static int
prs_http_host_loopback(const char *host)
{
	return strcasecmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0;
}

int
prs_http_url_check(const char *url, int *https, int *loopback)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (h == NULL)
		return prs_error_set("out of memory");
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		prs_error_set("not an http:// or https:// URL");
		goto out;
	}
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    *host == '\0') {
		prs_error_set("the URL names no host");
		goto out;
	}
	if (https != NULL)
		*https = strcmp(scheme, "https") == 0;
	if (loopback != NULL)
		*loopback = prs_http_host_loopback(host);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(h);
	return rc;
}
