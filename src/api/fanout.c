/*
 * POST /fanout: an operator queues a scan of a pull request by hand, as a
 * webhook delivery would (job record and its plan, see plan.c), with a
 * synthetic delivery id "fanout-<uuid>".  Only when ADMIN_TOKEN is set,
 * and only with `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * The token is compared through the SHA-256 digests of both sides with
 * CRYPTO_memcmp, so that neither its bytes nor its length show in the
 * time an answer takes.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/log.h"

#define FANOUT_DELIVERY_SIZE 48

/* 1 when the request carries the admin token, in constant time. */
int
api_fanout_authorized(const struct api *api, const struct api_request *req)
{
	const char *h = api_header(req, "Authorization");
	const char *given = "";
	unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned int wn = 0, gn = 0;
	int ok;

	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0)
		given = h + 7;
	if (EVP_Digest(api->cfg.admin_token, strlen(api->cfg.admin_token),
	    want, &wn, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(given, strlen(given), got, &gn, EVP_sha256(),
	    NULL) != 1)
		return 0;
	ok = wn == gn && CRYPTO_memcmp(want, got, wn) == 0 && h != NULL;
	prs_secret_wipe(want, sizeof(want));
	prs_secret_wipe(got, sizeof(got));
	return ok;
}

/* "fanout-" and a random (version 4) UUID. */
static int
fanout_delivery_id(char out[FANOUT_DELIVERY_SIZE])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return prs_error_set("no random bytes");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, FANOUT_DELIVERY_SIZE, "fanout-%02x%02x%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
	    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	    b[13], b[14], b[15]);
	return 0;
}

/* A string member checked with valid; NULL with the reason in why. */
static const char *
fanout_str(json_t *root, const char *key, int (*valid)(const char *),
    char *why, size_t n)
{
	const char *s = json_string_value(json_object_get(root, key));

	if (s == NULL)
		snprintf(why, n, "%s: missing or not a string", key);
	else if (!valid(s))
		snprintf(why, n, "%s: not a valid name", key);
	else
		return s;
	return NULL;
}

/* A member that must be an integer of at least 1; 0 with why set. */
static json_int_t
fanout_int(json_t *root, const char *key, char *why, size_t n)
{
	json_t *v = json_object_get(root, key);

	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		snprintf(why, n, "%s: must be an integer of at least 1", key);
		return 0;
	}
	return json_integer_value(v);
}

/* The job record's members, checked, into rec; 0 or -1 with why set. */
static int
fanout_fields(json_t *root, json_t *rec, char *why, size_t n)
{
	static const struct {
		const char *key;
		int (*valid)(const char *);
	} strs[] = {
		{ "owner", prs_name_valid_owner },
		{ "repo", prs_name_valid_repo },
		{ "head_sha", prs_name_valid_sha },
		{ "head_ref", prs_name_valid_ref },
		{ "base_ref", prs_name_valid_ref },
	};
	static const char *const ints[] = { "pr_number", "installation_id" };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		const char *s = fanout_str(root, strs[i].key, strs[i].valid,
		    why, n);

		if (s == NULL ||
		    json_object_set_new(rec, strs[i].key, json_string(s)) < 0)
			return -1;
	}
	for (i = 0; i < sizeof(ints) / sizeof(*ints); i++) {
		json_int_t v = fanout_int(root, ints[i], why, n);

		if (v == 0 ||
		    json_object_set_new(rec, ints[i], json_integer(v)) < 0)
			return -1;
	}
	return 0;
}

/* The job a request body asks for; NULL with the 400's reason in why. */
static struct prs_job *
fanout_job(const struct api_request *req, const char *delivery, char *why,
    size_t n)
{
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->len, 0, &jerr);
	json_t *rec = json_object();
	struct prs_job *job = NULL;
	char id[33], url[256];

	if (root == NULL || !json_is_object(root)) {
		snprintf(why, n, "malformed JSON: %s", root == NULL ?
		    jerr.text : "not an object");
		goto out;
	}
	if (rec == NULL || fanout_fields(root, rec, why, n) < 0)
		goto out;
	if (prs_job_new_id(id) < 0) {
		snprintf(why, n, "cannot make a job id");
		goto out;
	}
	/* Informational: workers clone from GITHUB_SERVER_URL. */
	snprintf(url, sizeof(url), "https://github.com/%s/%s.git",
	    json_string_value(json_object_get(rec, "owner")),
	    json_string_value(json_object_get(rec, "repo")));
	if (json_object_set_new(rec, "job_id", json_string(id)) < 0 ||
	    json_object_set_new(rec, "delivery_id",
	    json_string(delivery)) < 0 ||
	    json_object_set_new(rec, "clone_url", json_string(url)) < 0 ||
	    prs_job_from_json(rec, &job) < 0)
		snprintf(why, n, "invalid job: %s", prs_error_last());
out:
	json_decref(root);
	json_decref(rec);
	return job;
}

static void
fanout_queued(struct api *api, struct api_reply *reply,
    const struct prs_job *job)
{
	json_t *names = json_array();
	size_t i;

	prs_info("scan queued", "delivery=%s event=fanout job=%s repo=%s/%s "
	    "sha=%s pr=%ld", job->delivery, job->id, job->owner, job->repo,
	    job->head_sha, job->pr_number);
	for (i = 0; i < api->cfg.nscanners; i++)
		json_array_append_new(names, json_string(api->cfg.scanners[i]));
	api_reply_set(reply, 202, json_pack("{s:s,s:s,s:s,s:o}", "status",
	    "queued", "delivery", job->delivery, "job_id", job->id,
	    "scanners", names));
}

void
api_fanout(struct api *api, const struct api_request *req,
    struct api_reply *reply)
{
	char delivery[FANOUT_DELIVERY_SIZE], why[256];
	struct prs_job *job = NULL;
	int rc;

	if (!api_fanout_authorized(api, req)) {
		prs_warn("fanout refused", "reason=\"bad or missing admin "
		    "token\"");
		api_reply_error(reply, 401, "bad or missing admin token");
		return;
	}
	if (fanout_delivery_id(delivery) < 0) {
		api_reply_error(reply, 500, "%s", prs_error_last());
		return;
	}
	job = fanout_job(req, delivery, why, sizeof(why));
	if (job == NULL) {
		prs_info("fanout rejected", "delivery=%s reason=%s",
		    delivery, prs_log_q(why));
		api_reply_error(reply, 400, "%s", why);
		return;
	}
	/* An operator's request: no GitHub sender to record. */
	if (prs_job_set_trigger(job, NULL, "fanout") < 0) {
		api_reply_error(reply, 500, "%s", prs_error_last());
		prs_job_free(job);
		return;
	}
	rc = api_enqueue(api, job);
	if (rc < 0) {
		prs_err("fanout not recorded", "delivery=%s reason=%s",
		    delivery, prs_log_q(prs_error_last()));
		api_redis_drop();
		api_reply_error(reply, 503, "storage unavailable, retry later");
	} else if (rc == 0) {
		api_reply_set(reply, 200, json_pack("{s:s,s:s}", "status",
		    "duplicate", "delivery", delivery));
	} else {
		fanout_queued(api, reply, job);
	}
	prs_job_free(job);
}
