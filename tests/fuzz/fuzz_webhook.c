/*
 * The API's webhook handler (api_webhook) as GitHub's deliveries reach
 * it, without the HTTP server: signature, headers, JSON, the payload to
 * job path, and the enqueue attempt (Redis refuses on loopback port 1, so
 * a job that would be queued answers 503).
 *
 * Input: a body starting with '{' is a pull_request delivery, correctly
 * signed (so the recorded deliveries are seeds as they are).  Otherwise
 * the first byte picks the event and whether the signature is the right
 * one or the input's next line, and the rest is the body.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "api.h"
#include "prscan/sig.h"

#define SECRET "fuzz-webhook-secret"

static struct api fuzz_api;
static char *fuzz_secret;
static char *fuzz_scanners[2];

struct fuzz_headers {
	const char *event;
	const char *delivery;
	const char *signature;
};

static const char *
fuzz_header(void *conn, const char *name)
{
	const struct fuzz_headers *h = conn;

	if (strcasecmp(name, "X-GitHub-Event") == 0)
		return h->event;
	if (strcasecmp(name, "X-GitHub-Delivery") == 0)
		return h->delivery;
	if (strcasecmp(name, "X-Hub-Signature-256") == 0)
		return h->signature;
	if (strcasecmp(name, "Content-Type") == 0)
		return "application/json";
	return NULL;
}

/* A PEM RSA key made once, for a GitHub client that is never reached. */
static void
fuzz_github(void)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long len;

	if (key == NULL || bio == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	len = BIO_get_mem_data(bio, &pem);
	if (prs_github_new("http://127.0.0.1:1", "1", pem, (size_t)len,
	    &fuzz_api.gh) < 0)
		abort();
	BIO_free(bio);
	EVP_PKEY_free(key);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct api_config *cfg = &fuzz_api.cfg;

	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	fuzz_secret = strdup(SECRET);
	fuzz_scanners[0] = strdup("kics");
	fuzz_scanners[1] = strdup("blackduck");
	cfg->redis.host = strdup("127.0.0.1");
	cfg->redis.port = 1;
	if (fuzz_secret == NULL || fuzz_scanners[0] == NULL ||
	    fuzz_scanners[1] == NULL || cfg->redis.host == NULL)
		abort();
	cfg->webhook_secrets[0] = fuzz_secret;
	cfg->nsecrets = 1;
	cfg->scanners[0] = fuzz_scanners[0];
	cfg->scanners[1] = fuzz_scanners[1];
	cfg->nscanners = 2;
	cfg->stream_maxlen = 1000;
	cfg->storage_ttl = 3600;
	cfg->fail_on = PRS_SEV_HIGH;
	fuzz_github();
	return 0;
}

static const char *const fuzz_events[] = {
	"pull_request", "ping", "push", "check_run", "check_suite",
	"installation", "Pull_Request", "pull-request"
};

static void
fuzz_deliver(struct fuzz_headers *h, const char *body, size_t len)
{
	struct api_request req = { "POST", "/webhook", body, len, fuzz_header,
		h };
	struct api_reply reply = { 500, NULL, 0 };
	char hex[PRS_SIG_HEX_LEN + 1], sig[PRS_SIG_HEADER_SIZE];

	if (h->signature == NULL) {
		if (prs_hmac_sha256_hex(SECRET, strlen(SECRET), body, len,
		    hex) != 0)
			abort();
		snprintf(sig, sizeof(sig), "sha256=%s", hex);
		h->signature = sig;
	}
	api_webhook(&fuzz_api, &req, &reply);
	if (reply.status < 200 || reply.status > 599)
		abort();
	json_decref(reply.body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_headers h = { "pull_request",
		"72d3162e-cc78-11e3-81ab-4c9367dc0958", NULL };
	char *copy = fuzz_strndup(data, size), *body = copy, *nl;
	size_t len = size;
	unsigned flags;

	if (size > 0 && data[0] != '{') {
		flags = data[0];
		h.event = fuzz_events[flags % 8];
		body++;
		len--;
		if (flags & 0x08)
			h.delivery = "not a delivery id!";
		if ((flags & 0x10) && (nl = memchr(body, '\n', len)) != NULL) {
			*nl = '\0';
			h.signature = body;
			len -= (size_t)(nl + 1 - body);
			body = nl + 1;
		}
	}
	fuzz_deliver(&h, body, len);
	free(copy);
	return 0;
}
