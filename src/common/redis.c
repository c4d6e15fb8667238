/* Redis connections from the environment. */
#include "prscan/redis.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "prscan/env.h"
#include "prscan/error.h"

/* Nonzero when the variable is set to something. */
static int
prs_redis_env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0';
}

static int
prs_redis_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes s[0..n) into *out (NULL when n is 0).  Returns 0, or
 * PRS_EINPUT naming what (never the text) for a bad escape or a NUL.
 */
static int
prs_redis_url_decode(const char *s, size_t n, const char *what, char **out)
{
	size_t i, j = 0;
	char *d;

	*out = NULL;
	if (n == 0)
		return 0;
	d = malloc(n + 1);
	if (d == NULL)
		return prs_error_set("out of memory");
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			d[j++] = s[i];
			continue;
		}
		hi = i + 2 < n ? prs_redis_hex(s[i + 1]) : -1;
		lo = i + 2 < n ? prs_redis_hex(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			prs_secret_wipe(d, n + 1);
			free(d);
			prs_error_set("REDIS_URL: bad percent-encoding in "
			    "the %s", what);
			return PRS_EINPUT;
		}
		d[j++] = (char)(hi * 16 + lo);
		i += 2;
	}
	d[j] = '\0';
	*out = d;
	return 0;
}
/* What a URL holds, before it goes into a configuration. */
struct prs_redis_url {
	char *host;
	char *user;
	char *pass;
	long port;
	long db;
};

static void
prs_redis_url_dispose(struct prs_redis_url *u)
{
	free(u->host);
	free(u->user);
	prs_secret_free(u->pass);
	memset(u, 0, sizeof(*u));
}

/* Decimal digits only, at most max. */
static int
prs_redis_url_number(const char *s, size_t n, long min, long max, long *out)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* user[:password] of s[0..n). */
static int
prs_redis_url_userinfo(const char *s, size_t n, struct prs_redis_url *u)
{
	const char *colon = memchr(s, ':', n);
	size_t ulen = colon != NULL ? (size_t)(colon - s) : n;

	if (prs_redis_url_decode(s, ulen, "user name", &u->user) < 0)
		return PRS_EINPUT;
	if (colon == NULL)
		return 0;
	return prs_redis_url_decode(colon + 1, n - ulen - 1, "password",
	    &u->pass);
}

/* host[:port] or [v6][:port] of s[0..n). */
static int
prs_redis_url_hostport(const char *s, size_t n, struct prs_redis_url *u)
{
	static const char host_chars[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
	const char *h = s, *port = NULL;
	size_t hlen, i;
	int v6 = n > 0 && s[0] == '[';

	if (v6) {
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			return prs_error_set("REDIS_URL: unclosed [ in the "
			    "host");
		h = s + 1;
		hlen = (size_t)(close - h);
		if ((size_t)(close + 1 - s) < n) {
			if (close[1] != ':')
				return prs_error_set("REDIS_URL: bad host");
			port = close + 2;
		}
	} else {
		const char *colon = memchr(s, ':', n);

		hlen = colon != NULL ? (size_t)(colon - s) : n;
		port = colon != NULL ? colon + 1 : NULL;
	}
	if (hlen == 0 || hlen > 253)
		return prs_error_set("REDIS_URL: the host is missing or too "
		    "long");
	for (i = 0; i < hlen; i++)
		if (strchr(host_chars, h[i]) == NULL &&
		    !(v6 && (h[i] == ':' || h[i] == '%')))
			return prs_error_set("REDIS_URL: bad character in the "
			    "host");
	if (port != NULL && prs_redis_url_number(port, (size_t)(s + n - port),
	    1, 65535, &u->port) < 0)
		return prs_error_set("REDIS_URL: the port must be 1 to 65535");
	u->host = strndup(h, hlen);
	return u->host != NULL ? 0 : prs_error_set("out of memory");
}

/* The parts of url into u.  Returns 0 or PRS_EINPUT. */
static int
prs_redis_url_split(const char *url, struct prs_redis_url *u)
{
	const char *p, *at = NULL;
	size_t alen, i;

	if (strncasecmp(url, "rediss://", 9) == 0)
		return prs_error_set("REDIS_URL: rediss:// (TLS) is not "
		    "supported; use redis://");
	if (strncasecmp(url, "redis://", 8) != 0)
		return prs_error_set("REDIS_URL: must start with redis://");
	p = url + 8;
	alen = strcspn(p, "/?#");
	for (i = 0; i < alen; i++)
		if (p[i] == '@')
			at = p + i;
	if (at != NULL && prs_redis_url_userinfo(p, (size_t)(at - p), u) < 0)
		return -1;
	if (at != NULL) {
		alen -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (prs_redis_url_hostport(p, alen, u) < 0)
		return -1;
	p += alen;
	if (*p == '?' || *p == '#')
		return prs_error_set("REDIS_URL: query and fragment are not "
		    "supported");
	if (*p == '/' && p[1] != '\0' &&
	    prs_redis_url_number(p + 1, strlen(p + 1), 0, INT_MAX, &u->db) < 0)
		return prs_error_set("REDIS_URL: the path must be a database "
		    "number");
	return 0;
}

int
prs_redis_url_parse(const char *url, struct prs_redis_config *cfg)
{
	struct prs_redis_url u = { NULL, NULL, NULL, 0, 0 };

	if (prs_redis_url_split(url, &u) < 0) {
		prs_redis_url_dispose(&u);
		return PRS_EINPUT;
	}
	free(cfg->host);
	cfg->host = u.host;
	u.host = NULL;
	if (u.port != 0)
		cfg->port = (int)u.port;
	if (u.user != NULL) {
		free(cfg->username);
		cfg->username = u.user;
		u.user = NULL;
	}
	if (u.pass != NULL) {
		prs_secret_free(cfg->password);
		cfg->password = u.pass;
		u.pass = NULL;
	}
	cfg->db = (int)u.db;
	prs_redis_url_dispose(&u);
	return 0;
}

/*
 * REDIS_URL, with REDIS_USERNAME and REDIS_PASSWORD(_FILE) for what it
 * lacks; REDIS_HOST and REDIS_PORT must not be set beside it.
 */
static int
prs_redis_config_url(struct prs_redis_config *cfg, const char *url)
{
	static const char *const other[] = { "REDIS_HOST", "REDIS_PORT" };
	size_t i;

	for (i = 0; i < sizeof(other) / sizeof(*other); i++)
		if (prs_redis_env_set(other[i]))
			return prs_error_set("REDIS_URL and %s are both set; "
			    "use only one", other[i]);
	cfg->port = 6379;
	if (prs_redis_url_parse(url, cfg) < 0)
		return -1;
	if (cfg->username != NULL && prs_redis_env_set("REDIS_USERNAME"))
		return prs_error_set("REDIS_URL and REDIS_USERNAME both name "
		    "a user; use only one");
	if (cfg->password != NULL && (prs_redis_env_set("REDIS_PASSWORD") ||
	    prs_redis_env_set("REDIS_PASSWORD_FILE")))
		return prs_error_set("REDIS_URL and REDIS_PASSWORD%s both "
		    "hold a password; use only one",
		    prs_redis_env_set("REDIS_PASSWORD") ? "" : "_FILE");
	if (cfg->username == NULL &&
	    prs_env_string("REDIS_USERNAME", NULL, &cfg->username) < 0)
		return -1;
	if (cfg->password == NULL &&
	    prs_env_secret("REDIS_PASSWORD", &cfg->password) < 0)
		return -1;
	return 0;
}

int
prs_redis_config_load(struct prs_redis_config *cfg)
{
	char *url = NULL;
	long port = 0;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (prs_env_secret("REDIS_URL", &url) < 0)
		goto out;
	if (url != NULL) {
		rc = prs_redis_config_url(cfg, url);
		goto out;
	}
	if (prs_env_string("REDIS_HOST", "localhost", &cfg->host) < 0)
		goto out;
	if (prs_env_long("REDIS_PORT", 6379, 1, 65535, &port) < 0)
		goto out;
	cfg->port = (int)port;
	if (prs_env_string("REDIS_USERNAME", NULL, &cfg->username) < 0)
		goto out;
	if (prs_env_secret("REDIS_PASSWORD", &cfg->password) < 0)
		goto out;
	rc = 0;

out:
	prs_secret_free(url);
	if (rc < 0)
		prs_redis_config_dispose(cfg);
	return rc;
}

void
prs_redis_config_dispose(struct prs_redis_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->host);
	free(cfg->username);
	prs_secret_free(cfg->password);
	memset(cfg, 0, sizeof(*cfg));
}

static struct timeval
prs_redis_tv(long timeout_ms)
{
	struct timeval tv;

	if (timeout_ms <= 0)
		timeout_ms = 1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return tv;
}

/* AUTH [username] password.  Returns 0 or -1; the password is never told. */
static int
prs_redis_auth(redisContext *c, const struct prs_redis_config *cfg)
{
	redisReply *r = NULL;
	int rc = -1;

	if (cfg->username != NULL)
		r = redisCommand(c, "AUTH %s %s", cfg->username, cfg->password);
	else
		r = redisCommand(c, "AUTH %s", cfg->password);

	if (r == NULL) {
		prs_error_set("redis %s:%d: AUTH: %s", cfg->host, cfg->port,
		    c->errstr);
		goto out;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		/* Redis's own text never echoes the password; check anyway. */
		int safe = r->str != NULL &&
		    strstr(r->str, cfg->password) == NULL;

		prs_error_set("redis %s:%d: AUTH refused: %s", cfg->host,
		    cfg->port, safe ? r->str : "(reply withheld)");
		goto out;
	}
	rc = 0;

out:
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

/* SELECT cfg->db.  Returns 0 or -1. */
static int
prs_redis_select(redisContext *c, const struct prs_redis_config *cfg)
{
	redisReply *r = redisCommand(c, "SELECT %d", cfg->db);
	int rc = -1;

	if (r == NULL)
		prs_error_set("redis %s:%d: SELECT %d: %s", cfg->host,
		    cfg->port, cfg->db, c->errstr);
	else if (r->type == REDIS_REPLY_ERROR)
		prs_error_set("redis %s:%d: SELECT %d refused: %s", cfg->host,
		    cfg->port, cfg->db, r->str);
	else
		rc = 0;
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

redisContext *
prs_redis_connect(const struct prs_redis_config *cfg, long timeout_ms)
{
	struct timeval tv = prs_redis_tv(timeout_ms);
	redisContext *c = NULL;

	c = redisConnectWithTimeout(cfg->host, cfg->port, tv);
	if (c == NULL) {
		prs_error_set("redis %s:%d: out of memory", cfg->host,
		    cfg->port);
		goto fail;
	}
	if (c->err) {
		prs_error_set("redis %s:%d: %s", cfg->host, cfg->port,
		    c->errstr);
		goto fail;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		prs_error_set("redis %s:%d: cannot set timeout: %s",
		    cfg->host, cfg->port, c->errstr);
		goto fail;
	}
	if (cfg->password != NULL && prs_redis_auth(c, cfg) < 0)
		goto fail;
	if (cfg->db != 0 && prs_redis_select(c, cfg) < 0)
		goto fail;
	return c;

fail:
	if (c != NULL)
		redisFree(c);
	return NULL;
}

int
prs_redis_set_nx(redisContext *c, const char *key, const char *value,
    long long ttl_ms)
{
	redisReply *r = redisCommand(c, "SET %s %s NX PX %lld", key, value,
	    ttl_ms);
	int rc = -1;

	if (r != NULL && (r->type == REDIS_REPLY_STATUS ||
	    r->type == REDIS_REPLY_NIL))
		rc = r->type == REDIS_REPLY_STATUS;
	else
		prs_error_set("redis: %s", r != NULL && r->type ==
		    REDIS_REPLY_ERROR ? r->str : c->errstr);
	freeReplyObject(r);
	return rc;
}
