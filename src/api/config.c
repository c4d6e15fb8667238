/* prscan-api's configuration, read once at start-up. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "prscan/base64.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/log.h"

/* Shorter webhook and callback secrets are warned about at start. */
#define API_SECRET_MIN 16

/* The variable a secret was read from: NAME, or NAME_FILE when set. */
static const char *
secret_var(const char *name, char *buf, size_t n)
{
	const char *file;

	snprintf(buf, n, "%s_FILE", name);
	file = getenv(buf);
	return file != NULL && *file != '\0' ? buf : name;
}

/*
 * The piece of s up to its first comma, blanks around it trimmed, in
 * *start and *n; returns where the next piece starts, NULL after the last.
 */
static const char *
next_piece(const char *s, const char **start, size_t *n)
{
	size_t len = strcspn(s, ",");
	const char *b = s, *e = s + len;

	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*start = b;
	*n = (size_t)(e - b);
	return s[len] == ',' ? s + len + 1 : NULL;
}

/* A comma-separated list into out (at most max), empty pieces skipped. */
static int
split_list(const char *name, const char *value, char **out, size_t max,
    size_t *n)
{
	const char *p = value, *s;
	size_t len;

	*n = 0;
	while (p != NULL) {
		p = next_piece(p, &s, &len);
		if (len == 0)
			continue;
		if (*n == max)
			return prs_error_set("%s: at most %zu values", name,
			    max);
		out[*n] = strndup(s, len);
		if (out[*n] == NULL)
			return prs_error_set("out of memory");
		(*n)++;
	}
	if (*n == 0)
		return prs_error_set("%s: must not be empty", name);
	return 0;
}

static int
scanner_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return i > 0 && i <= 32;
}

/* The key variable holds base64 of the PEM, or the PEM itself. */
static int
decode_key(char *value, char **pem, size_t *len)
{
	size_t vlen = strlen(value);

	if (strncmp(value, "-----BEGIN", 10) == 0) {
		*pem = value;
		*len = vlen;
		return 0;
	}
	if (prs_base64_decode(value, vlen, pem, len) < 0) {
		prs_secret_free(value);
		return prs_error_set("GITHUB_APP_PRIVATE_KEY: not base64 of a "
		    "PEM key");
	}
	prs_secret_free(value);
	return 0;
}

static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The key must be an RSA private key in PEM; var names its variable. */
static int
check_key(const struct api_config *cfg, const char *var)
{
	BIO *bio = BIO_new_mem_buf(cfg->private_key,
	    (int)cfg->private_key_len);
	EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL,
	    no_passphrase, NULL) : NULL;
	int rc = 0;

	if (key == NULL)
		rc = prs_error_set("%s: not a PEM private key", var);
	else if (!EVP_PKEY_is_a(key, "RSA"))
		rc = prs_error_set("%s: not an RSA key", var);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

static int
load_private_key(struct api_config *cfg)
{
	char buf[64];
	const char *var = secret_var("GITHUB_APP_PRIVATE_KEY", buf,
	    sizeof(buf));
	char *value = NULL;

	if (prs_env_secret("GITHUB_APP_PRIVATE_KEY", &value) < 0)
		return -1;
	if (value == NULL)
		return prs_error_set("GITHUB_APP_PRIVATE_KEY or "
		    "GITHUB_APP_PRIVATE_KEY_FILE: one is required");
	if (var == buf) {
		cfg->private_key = value;
		cfg->private_key_len = strlen(value);
	} else if (decode_key(value, &cfg->private_key,
	    &cfg->private_key_len) < 0) {
		return -1;
	}
	if (cfg->private_key_len > 1024 * 1024)
		return prs_error_set("%s: larger than 1 MiB", var);
	return check_key(cfg, var);
}

/*
 * GITHUB_WEBHOOK_SECRET: one secret, or two separated by a comma (a
 * rotation), blanks around each trimmed, none empty.  The contents of
 * GITHUB_WEBHOOK_SECRET_FILE are one secret, commas and all.
 */
static int
split_secrets(struct api_config *cfg, const char *var, int from_file,
    char *v)
{
	const char *p = v, *s;
	size_t len;

	if (from_file) {
		cfg->webhook_secrets[cfg->nsecrets++] = v;
		return 1;
	}
	while (p != NULL) {
		p = next_piece(p, &s, &len);
		if (len == 0)
			return prs_error_set("%s: an empty secret (a comma at "
			    "an end or two in a row)", var);
		if (cfg->nsecrets == API_MAX_SECRETS)
			return prs_error_set("%s: at most %d secrets", var,
			    API_MAX_SECRETS);
		cfg->webhook_secrets[cfg->nsecrets] = strndup(s, len);
		if (cfg->webhook_secrets[cfg->nsecrets] == NULL)
			return prs_error_set("out of memory");
		cfg->nsecrets++;
	}
	return 0;
}

/* A warning, not a refusal: short secrets are guessable offline. */
static void
warn_short(const char *var, const char *secret)
{
	if (strlen(secret) < API_SECRET_MIN)
		prs_warn("weak secret", "variable=%s reason=\"shorter than %d "
		    "characters; use a long random value\"", var,
		    API_SECRET_MIN);
}

static int
load_secrets(struct api_config *cfg)
{
	char b1[64], b2[64], b3[64];
	const char *var = secret_var("GITHUB_WEBHOOK_SECRET", b1, sizeof(b1));
	const char *pvar = secret_var("GITHUB_WEBHOOK_SECRET_PREVIOUS", b2,
	    sizeof(b2));
	char *v = NULL, *prev = NULL;
	size_t i;
	int rc = -1, kept, had_prev = 0;

	if (prs_env_secret("GITHUB_WEBHOOK_SECRET", &v) < 0)
		goto out;
	if (v == NULL) {
		prs_error_set("GITHUB_WEBHOOK_SECRET: required");
		goto out;
	}
	kept = split_secrets(cfg, var, var == b1, v);
	if (kept < 0)
		goto out;
	if (kept == 1)
		v = NULL;
	if (prs_env_secret("GITHUB_WEBHOOK_SECRET_PREVIOUS", &prev) < 0)
		goto out;
	if (prev != NULL) {
		if (cfg->nsecrets == API_MAX_SECRETS) {
			prs_error_set("%s: %s already holds two", pvar, var);
			goto out;
		}
		cfg->webhook_secrets[cfg->nsecrets++] = prev;
		prev = NULL;
		had_prev = 1;
	}
	for (i = 0; i < cfg->nsecrets; i++)
		warn_short(had_prev && i == cfg->nsecrets - 1 ? pvar : var,
		    cfg->webhook_secrets[i]);
	if (prs_env_secret("CALLBACK_SECRET", &cfg->callback_secret) < 0)
		goto out;
	if (cfg->callback_secret == NULL) {
		prs_error_set("CALLBACK_SECRET: required");
		goto out;
	}
	warn_short(secret_var("CALLBACK_SECRET", b3, sizeof(b3)),
	    cfg->callback_secret);
	rc = 0;
out:
	prs_secret_free(v);
	prs_secret_free(prev);
	return rc;
}

static int
load_scanners(struct api_config *cfg)
{
	char *v = NULL;
	size_t i;
	int rc = -1;

	prs_env_string("SCANNERS", "kics,blackduck", &v);
	if (v == NULL || split_list("SCANNERS", v, cfg->scanners,
	    API_MAX_SCANNERS, &cfg->nscanners) < 0)
		goto out;
	for (i = 0; i < cfg->nscanners; i++) {
		size_t k;

		if (!scanner_name_ok(cfg->scanners[i])) {
			prs_error_set("SCANNERS: '%s' is not a scanner name "
			    "(a-z, 0-9, -)", cfg->scanners[i]);
			goto out;
		}
		for (k = 0; k < i; k++) {
			if (strcmp(cfg->scanners[k], cfg->scanners[i]) == 0) {
				prs_error_set("SCANNERS: '%s' is named twice",
				    cfg->scanners[i]);
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(v);
	return rc;
}

/* The configuration CHECK_NAMES was read into, for api_check_name(). */
static const struct api_config *named_cfg;

const char *
api_config_check_name(const char *scanner)
{
	size_t i;

	for (i = 0; named_cfg != NULL && i < named_cfg->nscanners; i++)
		if (strcmp(named_cfg->scanners[i], scanner) == 0)
			return named_cfg->check_names[i];
	return NULL;
}

/* One "scanner=Check name" of CHECK_NAMES into cfg->check_names. */
static int
check_name_set(struct api_config *cfg, char *item)
{
	char *eq = strchr(item, '='), *name;
	size_t i, n;

	if (eq == NULL)
		return prs_error_set("CHECK_NAMES: '%.40s' is not "
		    "scanner=Name", item);
	for (n = (size_t)(eq - item); n > 0 && item[n - 1] == ' '; n--)
		;
	item[n] = '\0';
	name = eq + 1 + strspn(eq + 1, " \t");
	for (i = 0; i < cfg->nscanners; i++)
		if (strcmp(cfg->scanners[i], item) == 0)
			break;
	if (i == cfg->nscanners)
		return prs_error_set("CHECK_NAMES: '%.40s' is not in SCANNERS",
		    item);
	if (cfg->check_names[i] != NULL)
		return prs_error_set("CHECK_NAMES: '%s' is named twice", item);
	for (n = 0; name[n] != '\0'; n++)
		if ((unsigned char)name[n] < 0x20 || name[n] == 0x7f)
			break;
	if (n == 0 || name[n] != '\0' || n > 100)
		return prs_error_set("CHECK_NAMES: the name of '%s' must be 1 "
		    "to 100 printable characters", item);
	cfg->check_names[i] = strdup(name);
	return cfg->check_names[i] == NULL ? prs_error_set("out of memory") :
	    0;
}

/* Two scanners reporting into one check run would overwrite each other. */
static int
check_names_unique(const struct api_config *cfg)
{
	const char *a, *b;
	size_t i, k;

	for (i = 0; i < cfg->nscanners; i++) {
		a = api_check_name(cfg->scanners[i]);
		for (k = 0; k < i; k++) {
			b = api_check_name(cfg->scanners[k]);
			if (strcmp(a, b) == 0)
				return prs_error_set("CHECK_NAMES: '%s' and "
				    "'%s' would share one check run",
				    cfg->scanners[k], cfg->scanners[i]);
		}
	}
	return 0;
}

/* CHECK_NAMES: "flawfinder=Flawfinder,gitleaks=Gitleaks"; unique names. */
static int
load_check_names(struct api_config *cfg)
{
	char *v = NULL, *items[API_MAX_SCANNERS] = { NULL };
	size_t i, n = 0;
	int rc = -1;

	prs_env_string("CHECK_NAMES", "", &v);
	if (v == NULL || (*v != '\0' && split_list("CHECK_NAMES", v, items,
	    API_MAX_SCANNERS, &n) < 0))
		goto out;
	for (i = 0; i < n; i++)
		if (check_name_set(cfg, items[i]) < 0)
			goto out;
	named_cfg = cfg;
	rc = check_names_unique(cfg);
out:
	for (i = 0; i < n; i++)
		free(items[i]);
	free(v);
	return rc;
}

static int
load_policy(struct api_config *cfg)
{
	char *v = NULL;
	int rc = -1;

	prs_env_string("FAIL_ON", "HIGH", &v);
	if (prs_severity_parse(v, &cfg->fail_on) < 0) {
		prs_error_set("FAIL_ON: must be one of CRITICAL, HIGH, "
		    "MEDIUM, LOW, INFO, TRACE");
		goto out;
	}
	free(v);
	prs_env_string("ON_SCAN_ERROR", "failure", &v);
	if (strcmp(v, "failure") != 0 && strcmp(v, "neutral") != 0) {
		prs_error_set("ON_SCAN_ERROR: must be failure or neutral");
		goto out;
	}
	cfg->error_neutral = strcmp(v, "neutral") == 0;
	rc = 0;
out:
	free(v);
	return rc;
}

/* ADMIN_TOKEN guards /fanout: a short one is refused, not warned of. */
static int
load_admin_token(struct api_config *cfg)
{
	char buf[64];
	const char *var = secret_var("ADMIN_TOKEN", buf, sizeof(buf));

	if (prs_env_secret("ADMIN_TOKEN", &cfg->admin_token) < 0)
		return -1;
	if (cfg->admin_token != NULL &&
	    strlen(cfg->admin_token) < API_SECRET_MIN)
		return prs_error_set("%s: at least %d characters (use a long "
		    "random value, e.g. openssl rand -hex 32)", var,
		    API_SECRET_MIN);
	return 0;
}

/* Values that are each in range but do not fit together. */
static int
check_relations(const struct api_config *cfg)
{
	if (cfg->retry_base_ms > cfg->retry_max_ms)
		return prs_error_set("GITHUB_RETRY_BASE_MS (%ld) is larger "
		    "than GITHUB_RETRY_MAX_MS (%ld)", cfg->retry_base_ms,
		    cfg->retry_max_ms);
	if (cfg->redeliver && cfg->redeliver_interval >
	    cfg->redeliver_max_window)
		return prs_error_set("REDELIVER_INTERVAL (%ld) is larger than "
		    "REDELIVER_MAX_WINDOW (%ld): deliveries between two "
		    "sweeps would never be looked at",
		    cfg->redeliver_interval, cfg->redeliver_max_window);
	return 0;
}

int
api_config_load(struct api_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (prs_env_long("PORT", 8080, 1, 65535, &cfg->port) < 0 ||
	    prs_env_long("API_THREADS", 4, 1, 256, &cfg->threads) < 0 ||
	    prs_env_long("STREAM_MAXLEN", 10000, 1, 1000000000L,
	    &cfg->stream_maxlen) < 0 ||
	    prs_env_long("STORAGE_TTL", 2592000, 60, 315360000L,
	    &cfg->storage_ttl) < 0 ||
	    prs_env_long("API_MAX_INFLIGHT_BYTES", 256L * 1024 * 1024,
	    API_MAX_BODY, 64L * 1024 * 1024 * 1024, &cfg->max_inflight) < 0 ||
	    prs_env_long("API_BODY_TIMEOUT", 30, 1, 3600,
	    &cfg->body_timeout) < 0)
		return -1;
	if (prs_redis_config_load(&cfg->redis) < 0 || load_secrets(cfg) < 0)
		return -1;
	prs_env_string("GITHUB_APP_ID", NULL, &cfg->app_id);
	if (cfg->app_id == NULL || strspn(cfg->app_id, "0123456789") !=
	    strlen(cfg->app_id))
		return prs_error_set("GITHUB_APP_ID: required, the App's "
		    "numeric id");
	if (load_private_key(cfg) < 0)
		return -1;
	prs_env_string("GITHUB_API_URL", "https://api.github.com",
	    &cfg->api_url);
	if (strncmp(cfg->api_url, "https://", 8) != 0 &&
	    strncmp(cfg->api_url, "http://", 7) != 0)
		return prs_error_set("GITHUB_API_URL: must be an http(s) URL");
	if (load_scanners(cfg) < 0 || load_check_names(cfg) < 0 ||
	    load_policy(cfg) < 0 ||
	    api_publisher_config(cfg) < 0 || api_audit_config(cfg) < 0 ||
	    api_sweep_config(cfg) < 0 || api_plan_config(cfg) < 0)
		return -1;
	if (load_admin_token(cfg) < 0)
		return -1;
	return check_relations(cfg);
}

void
api_config_dispose(struct api_config *cfg)
{
	size_t i;

	prs_redis_config_dispose(&cfg->redis);
	for (i = 0; i < cfg->nsecrets; i++)
		prs_secret_free(cfg->webhook_secrets[i]);
	if (named_cfg == cfg)
		named_cfg = NULL;
	for (i = 0; i < cfg->nscanners; i++) {
		free(cfg->scanners[i]);
		free(cfg->check_names[i]);
	}
	free(cfg->app_id);
	if (cfg->private_key != NULL)
		prs_secret_wipe(cfg->private_key, cfg->private_key_len);
	free(cfg->private_key);
	free(cfg->api_url);
	free(cfg->server_url);
	prs_repoconfig_free(cfg->repo_defaults);
	prs_secret_free(cfg->callback_secret);
	prs_secret_free(cfg->admin_token);
	prs_secret_free(cfg->database_url);
	memset(cfg, 0, sizeof(*cfg));
}
