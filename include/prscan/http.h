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

#endif
