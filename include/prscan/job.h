/* A scan job: what the API records and the workers read. */
#ifndef PRSCAN_JOB_H
#define PRSCAN_JOB_H

#include <jansson.h>

struct prs_job {
	char *id;		/* job id: 32 lowercase hex digits */
	char *delivery;		/* X-GitHub-Delivery that caused it */
	long long installation;
	char *owner;
	char *repo;
	long pr_number;		/* 0: a commit no pull request lists */
	char *head_sha;		/* 40 hex digits */
	char *head_ref;
	char *base_ref;
	char *clone_url;
	char *sender;		/* login that caused it, or NULL */
	char *event;		/* X-GitHub-Event ("fanout"), or NULL */
};

/*
 * Reads a job from its JSON record (keys: job_id, delivery_id,
 * installation_id, owner, repo, pr_number, head_sha, head_ref, base_ref,
 * clone_url; optional: sender, event) into *out (free with prs_job_free).
 * Every name is checked with the prs_name_* functions; an optional key
 * that is absent or null stays NULL.  Returns 0 or PRS_EINPUT.
 */
int prs_job_from_json(const json_t *j, struct prs_job **out);

/* The JSON record of a job: a new reference, NULL on OOM. */
json_t *prs_job_to_json(const struct prs_job *job);

/*
 * Records who and what caused the job (the sender's login, the event),
 * either may be NULL.  Each value is checked (prs_name_valid_login, a
 * lowercase event name); one that fails is left out.  Returns 0, or
 * PRS_EINPUT when a value was left out, -1 on OOM.
 */
int prs_job_set_trigger(struct prs_job *job, const char *sender,
    const char *event);

/* Frees a job; accepts NULL. */
void prs_job_free(struct prs_job *job);

/* Writes 32 random lowercase hex digits and a NUL (from OpenSSL). */
int prs_job_new_id(char out[33]);

/* GitHub's rules: 1 if the name is acceptable, 0 otherwise. */
int prs_name_valid_owner(const char *s);	/* A-Z a-z 0-9 - _, max 39 */
int prs_name_valid_repo(const char *s);		/* A-Z a-z 0-9 . _ -, max 100 */
int prs_name_valid_ref(const char *s);		/* git check-ref-format */
int prs_name_valid_sha(const char *s);		/* 40 hex digits */
int prs_name_valid_job_id(const char *s);	/* 32 lowercase hex */
int prs_name_valid_login(const char *s);	/* owner's, or "name[bot]" */

#endif
