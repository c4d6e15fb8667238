/* Redis connections from the environment. */
#ifndef PRSCAN_REDIS_H
#define PRSCAN_REDIS_H

#include <hiredis/hiredis.h>

struct prs_redis_config {
	char *host;		/* REDIS_HOST, default localhost */
	int port;		/* REDIS_PORT, default 6379 */
	char *username;		/* REDIS_USERNAME, may be NULL */
	char *password;		/* REDIS_PASSWORD(_FILE), may be NULL */
};

/* Fills cfg from the environment.  Returns 0 or -1 naming the variable. */
int prs_redis_config_load(struct prs_redis_config *cfg);

/* Frees what cfg holds (wiping the password) and zeroes it. */
void prs_redis_config_dispose(struct prs_redis_config *cfg);

/*
 * A new connection, authenticated when a password is set, with connect
 * and command timeouts of timeout_ms.  NULL with prs_error_last() set.
 */
redisContext *prs_redis_connect(const struct prs_redis_config *cfg,
    long timeout_ms);

#endif
