/*
 * Fetching a pull request's head with libgit2 1.5.
 *
 * libgit2 1.5 fetches a bare SHA only from servers that allow it and has
 * no shallow fetch, so the repository is initialised empty and only the
 * ref that holds the commit is fetched, with its whole history, from an
 * anonymous remote: the pull request's head ref (which also reaches heads
 * of forks), else the head branch, and only when neither is known every
 * branch.  The commit is then looked up by SHA and checked out detached,
 * its symlinks as plain files (core.symlinks=false).
 *
 * The deadline and the size cap are enforced from the transfer-progress,
 * sideband and checkout-notify callbacks, which make libgit2 stop by
 * returning an error; the payload records why.
 */
#include "prscan/gitclone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "prscan/clock.h"
#include "prscan/error.h"
#include "prscan/http.h"

#define PRS_GIT_USER "x-access-token"
#define PRS_GIT_DEFAULT_MAX_BYTES (1ULL << 30)

static unsigned long long prs_git_max_bytes = PRS_GIT_DEFAULT_MAX_BYTES;

struct prs_git_payload {
	const char *token;
	int cred_calls;
	long long deadline_ms;
	long timeout_s;
	unsigned long long max_bytes;
	int timed_out;
	int too_big;
	int auth_failed;
};


void
prs_git_set_max_bytes(unsigned long long max)
{
	prs_git_max_bytes = max;
}

int
prs_git_init(void)
{
	static const int levels[] = {
		GIT_CONFIG_LEVEL_PROGRAMDATA, GIT_CONFIG_LEVEL_SYSTEM,
		GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL
	};
	size_t i;

	if (git_libgit2_init() < 0)
		return prs_error_set("libgit2 could not be initialised");

	/* The host's git configuration (insteadOf, proxies) stays out. */
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i],
		    "") < 0)
			return prs_error_set("libgit2: could not clear the "
			    "configuration search path");
	return 0;
}

/* First call: the token.  Any later call means it was refused. */
static int
prs_git_credentials(git_credential **out, const char *url,
    const char *user_from_url, unsigned int allowed, void *payload)
{
	struct prs_git_payload *p = payload;

	(void)url;
	(void)user_from_url;
	if (p->token == NULL || p->cred_calls++ > 0 ||
	    !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		p->auth_failed = 1;
		return GIT_EUSER;
	}
	return git_credential_userpass_plaintext_new(out, PRS_GIT_USER,
	    p->token);
}

static int
prs_git_check_deadline(struct prs_git_payload *p)
{
	if (prs_clock_ms() < p->deadline_ms)
		return 0;
	p->timed_out = 1;
	return GIT_EUSER;
}

static int
prs_git_transfer_progress(const git_indexer_progress *st, void *payload)
{
	struct prs_git_payload *p = payload;

	if (p->max_bytes != 0 && st->received_bytes > p->max_bytes) {
		p->too_big = 1;
		return GIT_EUSER;
	}
	return prs_git_check_deadline(p);
}

static int
prs_git_sideband(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	return prs_git_check_deadline(payload);
}

static int
prs_git_checkout_notify(git_checkout_notify_t why, const char *path,
    const git_diff_file *baseline, const git_diff_file *target,
    const git_diff_file *workdir, void *payload)
{
	(void)why;
	(void)path;
	(void)baseline;
	(void)target;
	(void)workdir;
	return prs_git_check_deadline(payload);
}

/* HTTP 4xx answers other than 429 will not get better by retrying. */
static int
prs_git_client_error(const char *msg)
{
	const char *s = strstr(msg, "status code: 4");

	return s != NULL && strncmp(s, "status code: 429", 16) != 0;
}

/*
 * Sets the error for a failed libgit2 call (what: the step) and returns
 * the code for the caller: PRS_ERETRY for network trouble, else -1.
 */
static int
prs_git_fail(int gerr, const struct prs_git_payload *p, const char *what)
{
	const git_error *e = git_error_last();
	const char *msg = e != NULL && e->message != NULL ? e->message :
	    "unknown error";
	int retry;
	char *clean;

	if (p->timed_out) {
		prs_error_set("%s: timed out after %ld s", what, p->timeout_s);
		return PRS_ERETRY;
	}
	if (p->too_big)
		return prs_error_set("%s: the repository is larger than %llu "
		    "bytes (MAX_REPO_BYTES)", what, p->max_bytes);
	if (p->auth_failed || gerr == GIT_EAUTH)
		return prs_error_set("%s: authentication failed", what);

	retry = e != NULL && (e->klass == GIT_ERROR_NET ||
	    e->klass == GIT_ERROR_HTTP) && !prs_git_client_error(msg);
	clean = prs_scrub(msg);
	prs_error_set("%s: %s", what, clean != NULL ? clean : "error");
	free(clean);
	return retry ? PRS_ERETRY : -1;
}

/* Fetches the one refspec spec from url into repo. */
static int
prs_git_fetch(git_repository *repo, const char *url, char *spec,
    struct prs_git_payload *p)
{
	git_strarray arr = { &spec, 1 };
	git_remote_create_options ro;
	git_fetch_options fo;
	git_remote *remote = NULL;
	int rc = -1, r;

	p->cred_calls = 0;	/* each fetch asks once */
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks.credentials = prs_git_credentials;
	fo.callbacks.transfer_progress = prs_git_transfer_progress;
	fo.callbacks.sideband_progress = prs_git_sideband;
	fo.callbacks.payload = p;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;

	/* Anonymous, and no url.*.insteadOf rewriting of our URL. */
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
	    GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	r = git_remote_create_with_opts(&remote, url, &ro);
	if (r < 0) {
		rc = prs_git_fail(r, p, "remote");
		goto out;
	}
	r = git_remote_fetch(remote, &arr, &fo, NULL);
	if (r < 0) {
		rc = prs_git_fail(r, p, "fetch");
		goto out;
	}
	rc = 0;
out:
	git_remote_free(remote);
	return rc;
}

/* 1 when the commit is in repo, 0 when not. */
static int
prs_git_has_commit(git_repository *repo, const git_oid *oid)
{
	git_commit *commit = NULL;
	int r = git_commit_lookup(&commit, repo, oid);

	git_commit_free(commit);
	return r == 0;
}

/*
 * Fetches what holds the commit: the pull request's head ref, then (when
 * the commit is not there, e.g. the branch was pushed again) or without
 * a pull request the branch alone, and only without either every branch.
 */
static int
prs_git_fetch_refs(git_repository *repo, const char *url,
    const git_oid *oid, long pr, const char *branch,
    struct prs_git_payload *p)
{
	char spec[384];
	int rc;

	if (pr > 0) {
		snprintf(spec, sizeof(spec),
		    "+refs/pull/%ld/head:refs/prscan/pr-head", pr);
		rc = prs_git_fetch(repo, url, spec, p);
		if (rc < 0 || prs_git_has_commit(repo, oid))
			return rc;
	}
	if (branch != NULL && *branch != '\0' &&
	    strlen(branch) < sizeof(spec) / 2 - 32) {
		snprintf(spec, sizeof(spec), "+refs/heads/%s:refs/prscan/"
		    "heads/%s", branch, branch);
		return prs_git_fetch(repo, url, spec, p);
	}
	if (pr > 0)
		return 0;
	snprintf(spec, sizeof(spec), "+refs/heads/*:refs/prscan/heads/*");
	return prs_git_fetch(repo, url, spec, p);
}

static int
prs_git_checkout(git_repository *repo, const git_oid *oid, const char *sha,
    struct prs_git_payload *p)
{
	git_checkout_options co;
	git_commit *commit = NULL;
	int rc = -1, r;

	r = git_commit_lookup(&commit, repo, oid);
	if (r == GIT_ENOTFOUND) {
		prs_error_set("commit %s not found in the pull request's "
		    "refs", sha);
		rc = PRS_ENOTFOUND;
		goto out;
	}
	if (r < 0) {
		rc = prs_git_fail(r, p, "commit");
		goto out;
	}

	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	co.notify_flags = GIT_CHECKOUT_NOTIFY_UPDATED;
	co.notify_cb = prs_git_checkout_notify;
	co.notify_payload = p;
	r = git_checkout_tree(repo, (const git_object *)commit, &co);
	if (r < 0) {
		rc = prs_git_fail(r, p, "checkout");
		goto out;
	}
	r = git_repository_set_head_detached(repo, oid);
	if (r < 0) {
		rc = prs_git_fail(r, p, "checkout");
		goto out;
	}
	rc = 0;
out:
	git_commit_free(commit);
	return rc;
}

/*
 * core.symlinks=false: a symlink of the pull request is checked out as a
 * plain file holding its target's name, so a scanner never follows one
 * out of the clone (to a secret file of the worker's uid, say).
 */
static int
prs_git_no_symlinks(git_repository *repo, struct prs_git_payload *p)
{
	git_config *cfg = NULL;
	int r = git_repository_config(&cfg, repo);

	if (r == 0)
		r = git_config_set_bool(cfg, "core.symlinks", 0);
	git_config_free(cfg);
	return r < 0 ? prs_git_fail(r, p, "config") : 0;
}

int
prs_git_fetch_checkout(const char *url, const char *token, const char *dest,
    const char *sha, long pr, const char *branch, long timeout_s)
{
	struct prs_git_payload p;
	git_repository *repo = NULL;
	git_oid oid;
	int rc = -1, r;

	memset(&p, 0, sizeof(p));
	p.token = token;
	p.timeout_s = timeout_s;
	p.deadline_ms = prs_clock_ms() + timeout_s * 1000;
	p.max_bytes = prs_git_max_bytes;

	if (sha == NULL || strlen(sha) != GIT_OID_HEXSZ ||
	    git_oid_fromstr(&oid, sha) < 0)
		return prs_error_set("not a commit id: %.64s",
		    sha != NULL ? sha : "(null)");

	r = git_repository_init(&repo, dest, 0);
	if (r < 0) {
		rc = prs_git_fail(r, &p, "init");
		goto out;
	}
	rc = prs_git_no_symlinks(repo, &p);
	if (rc < 0)
		goto out;
	rc = prs_git_fetch_refs(repo, url, &oid, pr, branch, &p);
	if (rc < 0)
		goto out;
	rc = prs_git_checkout(repo, &oid, sha, &p);
out:
	git_repository_free(repo);
	return rc;
}
