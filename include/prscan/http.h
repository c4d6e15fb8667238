/* A small libcurl client for JSON over HTTP. */
#ifndef PRSCAN_HTTP_H
#define PRSCAN_HTTP_H

#include <stddef.h>

struct prs_http_response {
	long status;		/* 0 when no answer came */
	char *body;		/* NUL-terminated, may be empty */
	size_t len;
	char *retry_after;	/* header value or NULL */
	char *ratelimit_remaining;
	char *ratelimit_reset;
	char *link;		/* Link header (pagination) or NULL */
};

/*
 * Sends one request.  headers is a NULL-terminated list of "Name: value"
 * lines (may be NULL); body may be NULL.  Fills *resp, which the caller
 * empties with prs_http_response_dispose().  Returns 0 when an answer came
 * (whatever its status), PRS_ERETRY on a connection failure or a timeout,
 * with prs_error_last() scrubbed of credentials and query strings.
 */
int prs_http_request(const char *method, const char *url,
    const char *const *headers, const void *body, size_t len,
    long timeout_ms, struct prs_http_response *resp);

/* Frees what resp holds and zeroes it; accepts NULL. */
void prs_http_response_dispose(struct prs_http_response *resp);

/*
 * Copies s into a new string with anything that looks like a credential
 * removed: userinfo in URLs, query strings, "token ...", "Bearer ...".
 */
char *prs_scrub(const char *s);

/*
 * Checks, with libcurl's URL parser, that url is an absolute http:// or
 * https:// URL naming a host.  *https (may be NULL) becomes 1 for
 * https://, and *loopback (may be NULL) 1 when the host is localhost,
 * in 127.0.0.0/8 or ::1.  Returns 0, or -1 with the reason in
 * prs_error_last() (which never repeats the URL: it may hold a password).
 */
int prs_http_url_check(const char *url, int *https, int *loopback);

#endif
