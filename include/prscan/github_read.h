/*
 * Reading from GitHub as the App: the client from the environment, GET
 * and POST as the App (JWT) or an installation, a repository's
 * installation and a pull request's head.  Beside github.h, which writes
 * check runs.
 */
#ifndef PRSCAN_GITHUB_READ_H
#define PRSCAN_GITHUB_READ_H

#include <jansson.h>

#include "prscan/github.h"

/* A client and the REST base it talks to. */
struct prs_github_app {
	struct prs_github *gh;
	char *api_url;		/* GITHUB_API_URL, no trailing slash */
};

/*
 * Fills app from GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY (base64 of the PEM,
 * or the PEM) or GITHUB_APP_PRIVATE_KEY_FILE (the PEM), and
 * GITHUB_API_URL (default https://api.github.com).  Returns 0, or -1 with
 * prs_error_last() naming the variable (never a value).  Empty it with
 * prs_github_app_dispose().
 */
int prs_github_app_from_env(struct prs_github_app *app);

/* Frees what app holds and zeroes it; accepts NULL. */
void prs_github_app_dispose(struct prs_github_app *app);

/*
 * One request as the App (JWT) when inst is 0, else with inst's
 * installation token.  url is a path below app->api_url ("/app/...") or
 * an absolute URL that starts with app->api_url (a Link header's; any
 * other is refused, so that no credential leaves for another host).
 * body may be NULL.  *out (may be NULL) gets the parsed answer, a new
 * reference (NULL for an empty body); *link (may be NULL) the next page's
 * absolute URL from the Link header, a new string or NULL.  Returns 0 for
 * a 2xx answer, PRS_ENOTFOUND for 404, PRS_ERETRY for 5xx, 429 or no
 * answer, -1 otherwise, with GitHub's message in prs_error_last().
 */
int prs_github_app_request(struct prs_github_app *app, long long inst,
    const char *method, const char *url, const json_t *body, json_t **out,
    char **link);

/*
 * GET /repos/{owner}/{repo}/installation as the App: *inst the id.
 * Returns as prs_github_app_request().
 */
int prs_github_repo_installation(struct prs_github_app *app,
    const char *owner, const char *repo, long long *inst);

/* What prscan needs of a pull request. */
struct prs_github_pull {
	char *head_sha;
	char *head_ref;
	char *base_ref;
	char *state;		/* open or closed */
};

/*
 * GET /repos/{owner}/{repo}/pulls/{number} with inst's token into *pr
 * (empty it with prs_github_pull_dispose()).  Returns as
 * prs_github_app_request(), or PRS_EINPUT when the answer lacks a field.
 */
int prs_github_pull_get(struct prs_github_app *app, long long inst,
    const char *owner, const char *repo, long number,
    struct prs_github_pull *pr);

/* Frees what pr holds and zeroes it; accepts NULL. */
void prs_github_pull_dispose(struct prs_github_pull *pr);

/*
 * The URL of a Link header's rel="next" entry, a new string, or NULL
 * when there is none.
 */
char *prs_github_link_next(const char *link);

#endif
