/* Redis connections from the environment. */
#ifndef PRSCAN_REDIS_H
#define PRSCAN_REDIS_H

#include <hiredis/hiredis.h>

struct prs_redis_config {
	char *host;		/* REDIS_HOST, default localhost */
	int port;		/* REDIS_PORT, default 6379 */
	char *username;		/* REDIS_USERNAME, may be NULL */
	char *password;		/* REDIS_PASSWORD(_FILE), may be NULL */
	int db;			/* from REDIS_URL's path, default 0 */
};

/*
 * Fills cfg from the environment: REDIS_URL (or REDIS_URL_FILE), or
 * REDIS_HOST, REDIS_PORT, REDIS_USERNAME and REDIS_PASSWORD(_FILE).
 * REDIS_URL beside REDIS_HOST or REDIS_PORT, or naming a user or password
 * that REDIS_USERNAME or REDIS_PASSWORD(_FILE) also set, is an error
 * naming both variables.  Returns 0 or -1 naming the variable (never a
 * value: the URL may hold the password).
 */
int prs_redis_config_load(struct prs_redis_config *cfg);

/*
 * Parses `redis://[user[:password]@]host[:port][/db]` into cfg's host,
 * port, username, password and db (what the URL lacks is left as it
 * is).  User and password are percent-decoded; a host may be an IPv6
 * address in brackets.  `rediss://` (TLS) is refused as not supported.
 * Returns 0, or PRS_EINPUT with prs_error_last() saying which part is
 * wrong without quoting the URL; cfg is unchanged then.
 */
int prs_redis_url_parse(const char *url, struct prs_redis_config *cfg);

/* Frees what cfg holds (wiping the password) and zeroes it. */
void prs_redis_config_dispose(struct prs_redis_config *cfg);

/*
 * A new connection, authenticated when a password is set and switched to
 * cfg->db when it is not 0, with connect and command timeouts of
 * timeout_ms.  NULL with prs_error_last() set.
 */
redisContext *prs_redis_connect(const struct prs_redis_config *cfg,
    long timeout_ms);

/*
 * SET key value NX PX ttl_ms: 1 when this call set it, 0 when the key
 * was there already, -1 with prs_error_last() set when Redis failed.
 */
int prs_redis_set_nx(redisContext *c, const char *key, const char *value,
    long long ttl_ms);

#endif
