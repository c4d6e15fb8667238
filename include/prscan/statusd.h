/* A small HTTP server for a daemon's health, readiness and metrics. */
#ifndef PRSCAN_STATUSD_H
#define PRSCAN_STATUSD_H

#include <stddef.h>
#include <jansson.h>

struct prs_statusd;

/* What the daemon answers; called from the server's own thread. */
struct prs_statusd_ops {
	/* The /status body (a new reference) and its status, 200 or 503. */
	json_t *(*status)(void *arg, unsigned int *code);
	/* 0 when ready, else -1 with the reason written into why. */
	int (*ready)(void *arg, char *why, size_t n);
	void *arg;
};

/*
 * Serves GET /status, /metrics (prs_metrics_render), /healthz and /readyz
 * on port from a thread of its own, which takes no signal.  *out is the
 * caller's, stopped with prs_statusd_stop().  Returns 0, or -1 with
 * prs_error_last() naming the port.
 */
int prs_statusd_start(long port, const struct prs_statusd_ops *ops,
    struct prs_statusd **out);

/* Stops serving and frees; accepts NULL. */
void prs_statusd_stop(struct prs_statusd *sd);

#endif
