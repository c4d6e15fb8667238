/* A scan job: what the API records and the workers read. */
#include "prscan/job.h"

#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <openssl/rand.h>

#include "prscan/error.h"

#define PRS_JOB_ID_LEN 32
#define PRS_SHA_LEN 40
#define PRS_OWNER_MAX 39
#define PRS_REPO_MAX 100
#define PRS_REF_MAX 255
#define PRS_DELIVERY_MAX 128
#define PRS_URL_MAX 2048
#define PRS_LOGIN_MAX 64	/* 39 for users; longer for managed users */
#define PRS_EVENT_MAX 64

static pthread_once_t prs_job_git_once = PTHREAD_ONCE_INIT;
static int prs_job_git_ok;

static void
prs_job_git_init(void)
{
	prs_job_git_ok = git_libgit2_init() > 0;
}

static int
prs_is_lower_hex(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
prs_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* 1 when s is 1 to max bytes, each alphanumeric or in extra. */
static int
prs_name_chars(const char *s, size_t max, const char *extra)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 0 || len > max)
		return 0;
	for (; *s != '\0'; s++)
		if (!prs_is_alnum(*s) && strchr(extra, *s) == NULL)
			return 0;
	return 1;
}

int
prs_name_valid_owner(const char *s)
{
	/* "_": Enterprise Managed Users are login_shortcode. */
	return prs_name_chars(s, PRS_OWNER_MAX, "-_") && s[0] != '-' &&
	    s[0] != '_';
}

int
prs_name_valid_repo(const char *s)
{
	return prs_name_chars(s, PRS_REPO_MAX, "._-") &&
	    strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int
prs_name_valid_sha(const char *s)
{
	return prs_is_lower_hex(s, PRS_SHA_LEN);
}

int
prs_name_valid_job_id(const char *s)
{
	return prs_is_lower_hex(s, PRS_JOB_ID_LEN);
}

/*
 * git check-ref-format --branch: libgit2 judges "refs/heads/<name>" (no
 * "..", "@{", "//", control characters, space, ~^:?*[\, components
 * starting with '.' or ending in ".lock", trailing '/' or '.').  The
 * length, "@" alone and a leading '-' (an option to git) are ours.
 */
int
prs_name_valid_ref(const char *s)
{
	char full[sizeof("refs/heads/") + PRS_REF_MAX];
	size_t len;
	int valid = 0;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 0 || len > PRS_REF_MAX || strcmp(s, "@") == 0 ||
	    s[0] == '-' || s[0] == '/')
		return 0;

	pthread_once(&prs_job_git_once, prs_job_git_init);
	if (!prs_job_git_ok)
		return 0;
	snprintf(full, sizeof(full), "refs/heads/%s", s);
	if (git_reference_name_is_valid(&valid, full) < 0)
		return 0;
	return valid != 0;
}

/* A user's login, an organisation's, or an App's "name[bot]". */
int
prs_name_valid_login(const char *s)
{
	char base[PRS_LOGIN_MAX + 1];
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > PRS_LOGIN_MAX)
		return 0;
	if (n > 5 && strcmp(s + n - 5, "[bot]") == 0)
		n -= 5;
	memcpy(base, s, n);
	base[n] = '\0';
	return prs_name_chars(base, PRS_LOGIN_MAX, "-_") && base[0] != '-';
}

static int
prs_job_valid_event(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return 0;
	return s != NULL;
}

static int
prs_job_valid_delivery(const char *s)
{
	return prs_name_chars(s, PRS_DELIVERY_MAX, "._-");
}

static int
prs_job_valid_url(const char *s)
{
	const char *host = NULL;

	if (s == NULL || strlen(s) > PRS_URL_MAX)
		return 0;
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Copies string member key of j into *out after checking it with valid. */
static int
prs_job_get_str(const json_t *j, const char *key, int (*valid)(const char *),
    char **out)
{
	const char *s = json_string_value(json_object_get(j, key));

	if (s == NULL)
		return prs_error_set("job: %s: missing or not a string", key);
	if (!valid(s))
		return prs_error_set("job: %s: not acceptable", key);
	*out = strdup(s);
	if (*out == NULL)
		return prs_error_set("job: out of memory");
	return 0;
}

static int
prs_job_get_int(const json_t *j, const char *key, long long min,
    long long max, long long *out)
{
	const json_t *v = json_object_get(j, key);

	if (!json_is_integer(v))
		return prs_error_set("job: %s: missing or not an integer", key);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return prs_error_set("job: %s: must be at least %lld", key,
		    min);
	return 0;
}

/* The string members of a record, their checks and where they go. */
static const struct {
	const char *key;
	int (*valid)(const char *);
	size_t off;
} prs_job_strings[] = {
	{ "job_id", prs_name_valid_job_id, offsetof(struct prs_job, id) },
	{ "delivery_id", prs_job_valid_delivery,
	    offsetof(struct prs_job, delivery) },
	{ "owner", prs_name_valid_owner, offsetof(struct prs_job, owner) },
	{ "repo", prs_name_valid_repo, offsetof(struct prs_job, repo) },
	{ "head_sha", prs_name_valid_sha,
	    offsetof(struct prs_job, head_sha) },
	{ "head_ref", prs_name_valid_ref,
	    offsetof(struct prs_job, head_ref) },
	{ "base_ref", prs_name_valid_ref,
	    offsetof(struct prs_job, base_ref) },
	{ "clone_url", prs_job_valid_url,
	    offsetof(struct prs_job, clone_url) },
};

/* An optional string member: absent or null leaves *out NULL. */
static int
prs_job_get_opt(const json_t *j, const char *key, int (*valid)(const char *),
    char **out)
{
	const json_t *v = json_object_get(j, key);

	if (v == NULL || json_is_null(v))
		return 0;
	return prs_job_get_str(j, key, valid, out);
}

static int
prs_event_ok(const char *s)
{
	return strlen(s) <= PRS_EVENT_MAX && prs_job_valid_event(s) &&
	    *s != '\0';
}

static int
prs_job_read(const json_t *j, struct prs_job *job)
{
	long long pr = 0;
	size_t i;

	for (i = 0; i < sizeof(prs_job_strings) / sizeof(prs_job_strings[0]);
	    i++) {
		char **dst = (char **)((char *)job + prs_job_strings[i].off);

		if (prs_job_get_str(j, prs_job_strings[i].key,
		    prs_job_strings[i].valid, dst) < 0)
			return -1;
	}
	/* pr_number 0: a re-run of a commit no pull request lists. */
	if (prs_job_get_int(j, "installation_id", 1, LLONG_MAX,
	    &job->installation) < 0 ||
	    prs_job_get_int(j, "pr_number", 0, LONG_MAX, &pr) < 0 ||
	    prs_job_get_opt(j, "sender", prs_name_valid_login,
	    &job->sender) < 0 ||
	    prs_job_get_opt(j, "event", prs_event_ok, &job->event) < 0)
		return -1;
	job->pr_number = (long)pr;
	return 0;
}

int
prs_job_from_json(const json_t *j, struct prs_job **out)
{
	struct prs_job *job = NULL;
	int rc = PRS_EINPUT;

	*out = NULL;
	if (!json_is_object(j)) {
		prs_error_set("job: not a JSON object");
		goto out;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		prs_error_set("job: out of memory");
		rc = -1;
		goto out;
	}
	if (prs_job_read(j, job) < 0)
		goto out;

	*out = job;
	job = NULL;
	rc = 0;

out:
	prs_job_free(job);
	return rc;
}

json_t *
prs_job_to_json(const struct prs_job *job)
{
	return json_pack("{s:s?, s:s?, s:I, s:s?, s:s?, s:I, s:s?, s:s?, "
	    "s:s?, s:s?, s:s*, s:s*}",
	    "job_id", job->id,
	    "delivery_id", job->delivery,
	    "installation_id", (json_int_t)job->installation,
	    "owner", job->owner,
	    "repo", job->repo,
	    "pr_number", (json_int_t)job->pr_number,
	    "head_sha", job->head_sha,
	    "head_ref", job->head_ref,
	    "base_ref", job->base_ref,
	    "clone_url", job->clone_url,
	    "sender", job->sender,
	    "event", job->event);
}

/* Replaces *slot with a copy of v when valid; 0, PRS_EINPUT or -1. */
static int
prs_job_set_opt(char **slot, const char *v, int (*valid)(const char *))
{
	char *copy;

	if (v == NULL)
		return 0;
	if (!valid(v))
		return PRS_EINPUT;
	copy = strdup(v);
	if (copy == NULL)
		return prs_error_set("job: out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

int
prs_job_set_trigger(struct prs_job *job, const char *sender,
    const char *event)
{
	int a = prs_job_set_opt(&job->sender, sender, prs_name_valid_login);
	int b = prs_job_set_opt(&job->event, event, prs_event_ok);

	if (a == -1 || b == -1)
		return -1;
	if (a == 0 && b == 0)
		return 0;
	prs_error_set("job: %s not acceptable", a != 0 ? "sender" : "event");
	return PRS_EINPUT;
}

void
prs_job_free(struct prs_job *job)
{
	if (job == NULL)
		return;
	free(job->id);
	free(job->delivery);
	free(job->owner);
	free(job->repo);
	free(job->head_sha);
	free(job->head_ref);
	free(job->base_ref);
	free(job->clone_url);
	free(job->sender);
	free(job->event);
	free(job);
}

int
prs_job_new_id(char out[33])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char raw[PRS_JOB_ID_LEN / 2];
	size_t i;

	if (RAND_bytes(raw, (int)sizeof(raw)) != 1)
		return prs_error_set("job: no random bytes from OpenSSL");
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 0x0f];
	}
	out[PRS_JOB_ID_LEN] = '\0';
	return 0;
}
