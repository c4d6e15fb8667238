/* Cloning a pull request's head with libgit2. */
#ifndef PRSCAN_GITCLONE_H
#define PRSCAN_GITCLONE_H

/*
 * Fetches sha into a new repository at dest from url, authenticating as
 * user x-access-token with token through the credentials callback (never
 * in the URL; token may be NULL), and checks it out (detached HEAD), each
 * symlink as a plain file holding the link's target (core.symlinks
 * false), so that nothing in the clone leads out of it.  It
 * fetches refs/pull/{pr}/head when pr > 0 (heads of forks are reachable
 * through it), then refs/heads/{branch} when sha is not there or pr is 0
 * (branch may be NULL), and every branch head only when it has neither.
 * Each ref comes with its whole history (no shallow fetch in libgit2
 * 1.5).  Gives up after timeout_s seconds.  Returns 0, PRS_ENOTFOUND when
 * sha is not in what was fetched, PRS_ERETRY on network trouble, -1
 * otherwise; prs_error_last() is scrubbed of credentials.
 */
int prs_git_fetch_checkout(const char *url, const char *token,
    const char *dest, const char *sha, long pr, const char *branch,
    long timeout_s);

/* Once per process, before any other call: libgit2's global init. */
int prs_git_init(void);

/*
 * Caps what one fetch may download: prs_git_fetch_checkout() gives up with
 * -1 once more than max bytes arrived (0: no cap; default 1 GiB).  Call at
 * start-up, before any thread fetches.
 */
void prs_git_set_max_bytes(unsigned long long max);

#endif
