/* The HTTP side of prscan-api: libmicrohttpd, routing, bodies, answers. */
#include "api.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "prscan/error.h"
#include "prscan/log.h"
#include "prscan/metrics.h"
#include "prscan/sig.h"

enum route {
	ROUTE_NONE,
	ROUTE_WEBHOOK,
	ROUTE_CALLBACK,
	ROUTE_TOKEN,
	ROUTE_STATUS,
	ROUTE_FANOUT,
	ROUTE_METRICS,
	ROUTE_HEALTHZ,
	ROUTE_READYZ
};

/* Set at start when ADMIN_TOKEN is: /fanout exists only then. */
static int fanout_enabled;

/* One request's state across libmicrohttpd's calls. */
struct conn_state {
	enum route route;
	char *body;
	size_t len;
	size_t cap;
	size_t charged;		/* of the shared budget, see below */
	struct timespec start;	/* when the headers were read */
	int too_large;
	int too_busy;		/* the budget of all bodies ran out */
	int refused;		/* refused while the body was read */
};

/*
 * Bytes received of all large request bodies being read.  Bodies are read
 * before their signature can be checked, so unsigned senders must not be
 * able to hold more than this between them.  The first API_SMALL_BODY
 * bytes of each body are not counted, so that small requests (pings, most
 * deliveries, the workers' callbacks) are never refused because large
 * ones hold the budget; those are bounded by the connection limit.
 */
#define API_SMALL_BODY (1024UL * 1024)
#define API_CONNECTION_LIMIT 1024
static _Atomic size_t inflight;
static size_t inflight_max;
static long body_timeout;	/* seconds a whole body may take */

void
api_reply_set(struct api_reply *r, unsigned int status, json_t *body)
{
	r->status = status;
	json_decref(r->body);
	r->body = body;
}

void
api_reply_error(struct api_reply *r, unsigned int status, const char *fmt,
    ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_reply_set(r, status, json_pack("{s:s}", "error", msg));
}

const char *
api_header(const struct api_request *req, const char *name)
{
	return req->get_header(req->conn, name);
}

static const char *
mhd_header(void *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct api_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL;

	if (r->body != NULL)
		text = json_dumps(r->body, JSON_COMPACT);
	if (text == NULL)
		text = strdup("{}");
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (r->no_store)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	json_decref(r->body);
	r->body = NULL;
	return ret;
}

/* GET /metrics: the exposition in Prometheus's text format. */
static enum MHD_Result
send_metrics(struct MHD_Connection *conn)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = prs_metrics_render();

	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
	    PRS_METRICS_CONTENT_TYPE);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_error(struct MHD_Connection *conn, unsigned int status, const char *msg)
{
	struct api_reply r = { 0, NULL, 0 };

	api_reply_error(&r, status, "%s", msg);
	return send_reply(conn, &r);
}

static enum route
route_of(const char *url)
{
	if (strcmp(url, "/webhook") == 0)
		return ROUTE_WEBHOOK;
	if (strcmp(url, "/callback") == 0)
		return ROUTE_CALLBACK;
	if (strcmp(url, "/token") == 0)
		return ROUTE_TOKEN;
	if (strcmp(url, "/status") == 0)
		return ROUTE_STATUS;
	if (strcmp(url, "/fanout") == 0 && fanout_enabled)
		return ROUTE_FANOUT;
	if (strcmp(url, "/metrics") == 0)
		return ROUTE_METRICS;
	if (strcmp(url, "/healthz") == 0)
		return ROUTE_HEALTHZ;
	if (strcmp(url, "/readyz") == 0)
		return ROUTE_READYZ;
	return ROUTE_NONE;
}

static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static const char *const webhook_headers[] = {
	"X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256"
};

/* A delivery's required headers and its content type. */
static const char *
precheck_webhook(struct MHD_Connection *conn, unsigned int *status,
    char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(webhook_headers) / sizeof(*webhook_headers);
	    i++) {
		const char *v = mhd_header(conn, webhook_headers[i]);

		if (v == NULL || *v == '\0') {
			*status = MHD_HTTP_BAD_REQUEST;
			snprintf(buf, n, "missing %s header",
			    webhook_headers[i]);
			return buf;
		}
	}
	if (!is_json_type(mhd_header(conn, "Content-Type"))) {
		*status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
		return "content type must be application/json (set the "
		    "webhook's content type to JSON)";
	}
	return NULL;
}

/*
 * A worker's request: its signature headers and timestamp, all but the
 * HMAC of the body, which is checked once the body is read.
 */
static const char *
precheck_worker(struct MHD_Connection *conn, unsigned int *status,
    char *buf, size_t n)
{
	if (prs_sig_callback_precheck(mhd_header(conn, "X-Prscan-Timestamp"),
	    mhd_header(conn, "X-Prscan-Signature"), (long long)time(NULL),
	    API_CALLBACK_SKEW) == 0)
		return NULL;
	*status = MHD_HTTP_UNAUTHORIZED;
	snprintf(buf, n, "%s", prs_error_last());
	return buf;
}

/*
 * What can be refused before a byte of the body is read: the size it
 * announces, and each route's authentication as far as it shows in the
 * headers (the webhook's headers and content type, the workers'
 * timestamp, the operator's token), so that nobody without them can make
 * the API hold a body.
 */
static const char *
precheck(struct api *api, struct MHD_Connection *conn, enum route route,
    unsigned int *status, char *buf, size_t n)
{
	const char *cl = mhd_header(conn, "Content-Length");
	struct api_request req = { NULL, NULL, "", 0, mhd_header, conn };

	if (cl != NULL && strtoull(cl, NULL, 10) >
	    (unsigned long long)API_MAX_BODY) {
		*status = MHD_HTTP_CONTENT_TOO_LARGE;
		return "body larger than 25 MiB";
	}
	switch (route) {
	case ROUTE_WEBHOOK:
		return precheck_webhook(conn, status, buf, n);
	case ROUTE_CALLBACK:
	case ROUTE_TOKEN:
		return precheck_worker(conn, status, buf, n);
	case ROUTE_FANOUT:
		if (api_fanout_authorized(api, &req))
			return NULL;
		*status = MHD_HTTP_UNAUTHORIZED;
		return "bad or missing admin token";
	default:
		return NULL;
	}
}

/*
 * Charges the bytes past API_SMALL_BODY of a body of len bytes to the
 * shared budget.  Returns 0, or -1 when the budget has no room for them.
 */
static int
charge_body(struct conn_state *st, size_t len)
{
	size_t want = len > API_SMALL_BODY ? len - API_SMALL_BODY : 0;
	size_t more = want - st->charged;

	if (want <= st->charged)
		return 0;
	if (atomic_fetch_add(&inflight, more) + more > inflight_max) {
		atomic_fetch_sub(&inflight, more);
		return -1;
	}
	st->charged = want;
	return 0;
}

static int
append_body(struct conn_state *st, const char *data, size_t n)
{
	char *p;
	size_t cap;

	if (st->len + n > (size_t)API_MAX_BODY) {
		st->too_large = 1;
		return 0;
	}
	if (charge_body(st, st->len + n) < 0) {
		st->too_busy = 1;
		return 0;
	}
	if (st->len + n + 1 > st->cap) {
		cap = st->cap == 0 ? 16384 : st->cap;
		while (cap < st->len + n + 1)
			cap *= 2;
		if (cap > (size_t)API_MAX_BODY + 1)
			cap = (size_t)API_MAX_BODY + 1;
		p = realloc(st->body, cap);
		if (p == NULL)
			return -1;
		st->body = p;
		st->cap = cap;
	}
	memcpy(st->body + st->len, data, n);
	st->len += n;
	st->body[st->len] = '\0';
	return 0;
}

static enum MHD_Result
dispatch(struct api *api, struct MHD_Connection *conn, const char *method,
    const char *url, struct conn_state *st)
{
	struct api_reply reply = { 500, NULL, 0 };
	struct api_request req = { method, url, st->body != NULL ?
		st->body : "", st->len, mhd_header, conn };

	switch (st->route) {
	case ROUTE_WEBHOOK:
		api_webhook(api, &req, &reply);
		break;
	case ROUTE_CALLBACK:
		api_callback(api, &req, &reply);
		break;
	case ROUTE_TOKEN:
		api_token(api, &req, &reply);
		break;
	case ROUTE_STATUS:
		api_status(api, &reply);
		break;
	case ROUTE_FANOUT:
		api_fanout(api, &req, &reply);
		break;
	case ROUTE_METRICS:
		return send_metrics(conn);
	case ROUTE_HEALTHZ:
		api_healthz(&reply);
		break;
	case ROUTE_READYZ:
		api_readyz(api, &reply);
		break;
	case ROUTE_NONE:
		api_reply_error(&reply, 404, "no such route");
		break;
	}
	if (reply.body == NULL && reply.status >= 400)
		api_reply_error(&reply, reply.status, "request failed");
	return send_reply(conn, &reply);
}

static enum MHD_Result
first_call(struct api *api, struct MHD_Connection *conn, const char *method,
    const char *url, void **con_cls)
{
	struct conn_state *st;
	enum route route = route_of(url);
	int want_post = route != ROUTE_STATUS && route != ROUTE_METRICS &&
	    route != ROUTE_HEALTHZ && route != ROUTE_READYZ;
	unsigned int status = 0;
	char buf[96];
	const char *why;

	if (route == ROUTE_NONE)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "no such route");
	if (strcmp(method, want_post ? "POST" : "GET") != 0)
		return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    want_post ? "use POST" : "use GET");
	why = precheck(api, conn, route, &status, buf, sizeof(buf));
	if (why != NULL) {
		prs_info("request refused", "path=%s status=%u reason=%s",
		    url, status, prs_log_q(why));
		return send_error(conn, status, why);
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return MHD_NO;
	st->route = route;
	clock_gettime(CLOCK_MONOTONIC, &st->start);
	*con_cls = st;
	return MHD_YES;
}

/* 1 when the body has taken longer than API_BODY_TIMEOUT so far. */
static int
body_late(const struct conn_state *st)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - st->start.tv_sec > body_timeout;
}

/*
 * Answers a body refused while it is being read, at once: the answer is
 * queued, the rest of the body is not read and the connection is closed
 * after the answer.  Where libmicrohttpd cannot queue an answer before
 * the body ends, the connection is closed without one.
 */
static enum MHD_Result
refuse_body(struct MHD_Connection *conn, struct conn_state *st,
    const char *url, unsigned int status, const char *why)
{
	if (!st->refused)
		prs_info("request refused", "path=%s status=%u bytes=%zu "
		    "reason=%s", url, status, st->len, prs_log_q(why));
	st->refused = 1;
	free(st->body);
	st->body = NULL;
	st->cap = 0;
	if (send_error(conn, status, why) == MHD_YES)
		return MHD_YES;
	return MHD_NO;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct conn_state *st = *con_cls;

	(void)version;
	if (st == NULL)
		return first_call(cls, conn, method, url, con_cls);
	if (st->refused) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (append_body(st, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		if (!st->too_large && !st->too_busy && body_late(st)) {
			prs_info("request dropped", "path=%s bytes=%zu "
			    "reason=\"body not received within "
			    "API_BODY_TIMEOUT\"", url, st->len);
			return MHD_NO;
		}
		if (!st->too_large && !st->too_busy)
			return MHD_YES;
	}
	if (st->too_large)
		return refuse_body(conn, st, url, MHD_HTTP_CONTENT_TOO_LARGE,
		    "body larger than 25 MiB");
	if (st->too_busy)
		return refuse_body(conn, st, url, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "too many large requests in flight, retry later");
	return dispatch(cls, conn, method, url, st);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn_state *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st == NULL)
		return;
	atomic_fetch_sub(&inflight, st->charged);
	free(st->body);
	free(st);
	*con_cls = NULL;
}

static void __attribute__((format(printf, 2, 0)))
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	prs_debug("libmicrohttpd", "detail=%s", msg);
}

static struct MHD_Daemon *
start_daemon(struct api *api)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	return MHD_start_daemon(flags, (uint16_t)api->cfg.port, NULL, NULL,
	    on_request, api,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)api->cfg.threads,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)API_CONNECTION_LIMIT,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_END);
}

int
api_server_run(struct api *api)
{
	struct MHD_Daemon *d;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	/* Blocked here so that every pool thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	inflight_max = (size_t)api->cfg.max_inflight;
	body_timeout = api->cfg.body_timeout;
	fanout_enabled = api->cfg.admin_token != NULL;
	d = start_daemon(api);
	if (d == NULL) {
		prs_log(PRS_LOG_FATAL, "cannot listen", "port=%ld errno=%s",
		    api->cfg.port, strerror(errno));
		return 1;
	}
	api->listening = 1;
	prs_info("listening", "port=%ld threads=%ld", api->cfg.port,
	    api->cfg.threads);
	sigdelset(&set, SIGPIPE);
	while (sig != SIGTERM && sig != SIGINT) {
		if (sigwait(&set, &sig) != 0)
			break;
	}
	prs_info("stopping", "signal=%d", sig);
	MHD_stop_daemon(d);
	return 0;
}
