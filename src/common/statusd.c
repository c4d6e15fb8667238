/*
 * The workers' status server: libmicrohttpd with one internal thread.
 * Every answer is computed on demand; nothing here holds daemon state.
 */
#include "prscan/statusd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "prscan/error.h"
#include "prscan/metrics.h"

struct prs_statusd {
	struct MHD_Daemon *mhd;
	struct prs_statusd_ops ops;
};

static enum MHD_Result
prs_statusd_send(struct MHD_Connection *conn, unsigned int code,
    char *text, const char *type)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Sends j (stolen) as JSON. */
static enum MHD_Result
prs_statusd_json(struct MHD_Connection *conn, unsigned int code, json_t *j)
{
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	return prs_statusd_send(conn, code, text, "application/json");
}

static enum MHD_Result
prs_statusd_ready(struct prs_statusd *sd, struct MHD_Connection *conn)
{
	char why[256] = "";

	if (sd->ops.ready != NULL &&
	    sd->ops.ready(sd->ops.arg, why, sizeof(why)) < 0)
		return prs_statusd_json(conn, 503, json_pack("{s:s,s:s}",
		    "status", "not ready", "reason", why));
	return prs_statusd_json(conn, 200, json_pack("{s:s}", "status",
	    "ready"));
}

static enum MHD_Result
prs_statusd_route(struct prs_statusd *sd, struct MHD_Connection *conn,
    const char *url)
{
	unsigned int code = 200;

	if (strcmp(url, "/healthz") == 0)
		return prs_statusd_json(conn, 200, json_pack("{s:s}",
		    "status", "ok"));
	if (strcmp(url, "/readyz") == 0)
		return prs_statusd_ready(sd, conn);
	if (strcmp(url, "/metrics") == 0)
		return prs_statusd_send(conn, 200, prs_metrics_render(),
		    PRS_METRICS_CONTENT_TYPE);
	if (strcmp(url, "/status") == 0 && sd->ops.status != NULL) {
		json_t *j = sd->ops.status(sd->ops.arg, &code);

		return prs_statusd_json(conn, code, j);
	}
	return prs_statusd_json(conn, 404, json_pack("{s:s}", "error",
	    "no such route"));
}

static enum MHD_Result
prs_statusd_on_request(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	static int first;

	(void)version;
	(void)upload_data;
	/* The first call only has the headers; answer on the second. */
	if (*con_cls == NULL) {
		*con_cls = &first;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return prs_statusd_json(conn, 405, json_pack("{s:s}", "error",
		    "use GET"));
	return prs_statusd_route(cls, conn, url);
}

int
prs_statusd_start(long port, const struct prs_statusd_ops *ops,
    struct prs_statusd **out)
{
	struct prs_statusd *sd;
	sigset_t set, old;
	int err;

	*out = NULL;
	if (port < 1 || port > 65535)
		return prs_error_set("STATUS_PORT: %ld is not a port", port);
	sd = calloc(1, sizeof(*sd));
	if (sd == NULL)
		return prs_error_set("out of memory");
	sd->ops = *ops;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	/* The server's thread inherits this mask: no signal lands there. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sd->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL, (uint16_t)port, NULL, NULL,
	    prs_statusd_on_request, sd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
	    MHD_OPTION_END);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (sd->mhd == NULL) {
		free(sd);
		return prs_error_set("STATUS_PORT: cannot listen on %ld: %s",
		    port, strerror(err));
	}
	*out = sd;
	return 0;
}

void
prs_statusd_stop(struct prs_statusd *sd)
{
	if (sd == NULL)
		return;
	MHD_stop_daemon(sd->mhd);
	free(sd);
}
