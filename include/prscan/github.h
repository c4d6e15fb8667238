/* The GitHub App client: JWT, installation tokens, check runs. */
#ifndef PRSCAN_GITHUB_H
#define PRSCAN_GITHUB_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

struct prs_github;

/*
 * A client for api_url (e.g. https://api.github.com, no trailing slash
 * needed) signing as App app_id with a PEM private key (pem, pemlen bytes;
 * copied, the caller may wipe its own).  *out is the caller's, freed with
 * prs_github_free().  Returns 0 or -1 (an unreadable key included).
 */
int prs_github_new(const char *api_url, const char *app_id, const char *pem,
    size_t pemlen, struct prs_github **out);

/* Wipes the key and cached tokens and frees; accepts NULL. */
void prs_github_free(struct prs_github *gh);

/*
 * An RS256 JWT for the App: iat = now - 60, exp = now + 540, iss = app id.
 * *out is a new string.  Returns 0 or -1.
 */
int prs_github_jwt(struct prs_github *gh, time_t now, char **out);

/*
 * An installation token with the App's permissions, cached until five
 * minutes before it expires.  *out is a new string (free with
 * prs_secret_free).  Thread-safe.  Returns 0, PRS_ERETRY or -1.
 */
int prs_github_installation_token(struct prs_github *gh, long long inst,
    char **out);

/*
 * A fresh token for one repository of the installation with contents:read
 * only.  *out as above.  Returns 0, PRS_ENOTFOUND, PRS_ERETRY or -1.
 */
int prs_github_repo_token(struct prs_github *gh, long long inst,
    const char *repo, char **out);

/*
 * POST /repos/{owner}/{repo}/check-runs with body; *id the new check run's
 * id.  Returns 0, PRS_ERETRY (5xx, rate limit, no answer) or -1 (4xx, with
 * GitHub's message in prs_error_last()).
 */
int prs_github_checkrun_create(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, const json_t *body, long long *id);

/* PATCH /repos/{owner}/{repo}/check-runs/{id}; returns as above. */
int prs_github_checkrun_update(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, long long id, const json_t *body);

/*
 * GET /repos/{owner}/{repo}/pulls/{number}/files, 100 a page, following
 * the Link header's next page (only below the client's api_url), at most
 * max_files files: *files a new array of GitHub's file objects
 * (filename, previous_filename, status, patch, ...).  Returns as
 * prs_github_checkrun_create, PRS_ENOTFOUND for a 404.
 */
int prs_github_pull_files(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, long number, size_t max_files,
    json_t **files);

/*
 * GET /repos/{owner}/{repo}/contents/{path}?ref={ref}: the file's bytes
 * in *data (a new NUL-terminated string, *len bytes).  path must be
 * URL-safe.  Returns 0, PRS_ENOTFOUND (no such file, or no such ref),
 * PRS_EINPUT (a directory, larger than max bytes, no content), PRS_ERETRY
 * or -1, with the reason in prs_error_last().
 */
int prs_github_file_get(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, const char *path, const char *ref,
    size_t max, char **data, size_t *len);

/*
 * Looks among the check runs of sha (GET .../commits/{sha}/check-runs,
 * the first 100 named name) for the one whose external_id is external_id:
 * *id its id.  Used after a create got no answer, as it may have been
 * made all the same.  Returns 0, PRS_ENOTFOUND, PRS_ERETRY or -1.
 */
int prs_github_checkrun_find(struct prs_github *gh, long long inst,
    const char *owner, const char *repo, const char *sha, const char *name,
    const char *external_id, long long *id);

/* Milliseconds a request may take before it counts as no answer. */
void prs_github_set_timeout(struct prs_github *gh, long timeout_ms);

/* What the calling thread's last request to GitHub said about waiting. */
struct prs_github_wait {
	long status;		/* HTTP status; 0 when no answer came */
	int rate_limited;	/* 429, or 403 for a rate limit */
	long long retry_ms;	/* Retry-After, else the reset for a rate
				   limit, in ms from now; -1: not said */
	long remaining;		/* X-RateLimit-Remaining; -1: not sent */
	long long reset;	/* X-RateLimit-Reset, epoch s; 0: not sent */
};

/* Copies the calling thread's last wait information into *out. */
void prs_github_last_wait(struct prs_github_wait *out);

/*
 * 1 when GitHub's answer body (its first 4 KiB) names a rate limit, as a
 * 403 of the secondary rate limits does ("You have exceeded a secondary
 * rate limit") without Retry-After or an exhausted X-RateLimit-Remaining.
 */
int prs_github_says_rate_limit(const char *body, size_t len);

#endif
