/*
 * A real HTTP server for unit tests: libmicrohttpd on 127.0.0.1 and a
 * free port, one thread per connection.  Each test gives a route
 * function that looks at the request and fills in the reply; every
 * request is recorded so that the test can check what the client sent.
 */
#ifndef PRSCAN_TEST_LOCAL_HTTPD_H
#define PRSCAN_TEST_LOCAL_HTTPD_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#define LH_MAX_REQUESTS 32
#define LH_MAX_HEADERS 4

struct lh_request {
	char method[16];
	char url[512];
	char auth[2048];
	char accept[128];
	char api_version[64];
	char content_type[64];
	char user_agent[64];
	char ts[64];
	char sig[128];
	char *body;		/* NUL-terminated */
	size_t len;
};

struct lh_reply {
	unsigned int status;
	const char *body;
	size_t stream_len;	/* nonzero: stream this many 'a's instead */
	long delay_ms;
	const char *headers[LH_MAX_HEADERS][2];
};

typedef void (*lh_route_fn)(void *arg, const struct lh_request *req,
    struct lh_reply *rep);

struct lh_server {
	struct MHD_Daemon *daemon;
	unsigned short port;
	lh_route_fn route;
	void *arg;
	pthread_mutex_t lock;
	struct lh_request reqs[LH_MAX_REQUESTS];
	int nreqs;
	size_t stream_len;
};

static inline void lh_copy_header(struct MHD_Connection *conn,
    const char *name, char *dst, size_t n)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    name);

	snprintf(dst, n, "%s", v ? v : "");
}

static inline struct lh_request *lh_begin(struct MHD_Connection *conn,
    const char *url, const char *method)
{
	struct lh_request *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;

	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->url, sizeof(r->url), "%s", url);
	lh_copy_header(conn, "Authorization", r->auth, sizeof(r->auth));
	lh_copy_header(conn, "Accept", r->accept, sizeof(r->accept));
	lh_copy_header(conn, "X-GitHub-Api-Version", r->api_version,
	    sizeof(r->api_version));
	lh_copy_header(conn, "Content-Type", r->content_type,
	    sizeof(r->content_type));
	lh_copy_header(conn, "User-Agent", r->user_agent,
	    sizeof(r->user_agent));
	lh_copy_header(conn, "X-Prscan-Timestamp", r->ts, sizeof(r->ts));
	lh_copy_header(conn, "X-Prscan-Signature", r->sig, sizeof(r->sig));
	r->body = calloc(1, 1);
	if (r->body == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static inline int lh_append(struct lh_request *r, const char *data,
    size_t n)
{
	char *p = realloc(r->body, r->len + n + 1);

	if (p == NULL)
		return -1;

	memcpy(p + r->len, data, n);
	r->len += n;
	p[r->len] = '\0';
	r->body = p;
	return 0;
}

static inline ssize_t lh_stream(void *cls, uint64_t pos, char *buf,
    size_t max)
{
	size_t total = *(const size_t *)cls;
	size_t n = total - (size_t)pos < max ? total - (size_t)pos : max;

	memset(buf, 'a', n);
	return (ssize_t)n;
}

static inline void lh_record(struct lh_server *s, const struct lh_request *r)
{
	struct lh_request *slot;

	pthread_mutex_lock(&s->lock);
	if (s->nreqs < LH_MAX_REQUESTS) {
		slot = &s->reqs[s->nreqs++];
		*slot = *r;
		slot->body = strdup(r->body);
	}
	pthread_mutex_unlock(&s->lock);
}

static inline enum MHD_Result lh_respond(struct lh_server *s,
    struct MHD_Connection *conn, const struct lh_request *r)
{
	struct lh_reply rep = { .status = 200, .body = "" };
	struct MHD_Response *resp;
	struct timespec ts;
	enum MHD_Result ok;
	int i;

	lh_record(s, r);
	s->route(s->arg, r, &rep);
	if (rep.delay_ms > 0) {
		ts.tv_sec = rep.delay_ms / 1000;
		ts.tv_nsec = (rep.delay_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}

	if (rep.stream_len > 0) {
		s->stream_len = rep.stream_len;
		resp = MHD_create_response_from_callback(s->stream_len, 65536,
		    lh_stream, &s->stream_len, NULL);
	} else {
		resp = MHD_create_response_from_buffer(strlen(rep.body),
		    (void *)(uintptr_t)rep.body, MHD_RESPMEM_MUST_COPY);
	}
	if (resp == NULL)
		return MHD_NO;

	for (i = 0; i < LH_MAX_HEADERS && rep.headers[i][0] != NULL; i++)
		MHD_add_response_header(resp, rep.headers[i][0],
		    rep.headers[i][1]);
	ok = MHD_queue_response(conn, rep.status, resp);
	MHD_destroy_response(resp);
	return ok;
}

static inline enum MHD_Result lh_handler(void *cls,
    struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size,
    void **con_cls)
{
	struct lh_request *r = *con_cls;

	(void)version;
	if (r == NULL) {
		*con_cls = lh_begin(conn, url, method);
		return *con_cls ? MHD_YES : MHD_NO;
	}

	if (*upload_size > 0) {
		if (lh_append(r, upload, *upload_size) != 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	return lh_respond(cls, conn, r);
}

static inline void lh_completed(void *cls, struct MHD_Connection *conn,
    void **con_cls, enum MHD_RequestTerminationCode code)
{
	struct lh_request *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (r != NULL) {
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

/* Starts s on 127.0.0.1 and a free port; returns 0 or -1. */
static inline int lh_start(struct lh_server *s, lh_route_fn route,
    void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	s->route = route;
	s->arg = arg;
	pthread_mutex_init(&s->lock, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, lh_handler, s,
	    MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_NOTIFY_COMPLETED, lh_completed, NULL,
	    MHD_OPTION_END);
	if (s->daemon == NULL)
		return -1;

	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	return s->port ? 0 : -1;
}

/* Stops s and frees what it recorded. */
static inline void lh_stop(struct lh_server *s)
{
	int i;

	if (s->daemon != NULL)
		MHD_stop_daemon(s->daemon);
	for (i = 0; i < s->nreqs; i++)
		free(s->reqs[i].body);
	pthread_mutex_destroy(&s->lock);
	memset(s, 0, sizeof(*s));
}

/* "http://127.0.0.1:PORT" + path into buf. */
static inline const char *lh_url(const struct lh_server *s, const char *path,
    char *buf, size_t n)
{
	snprintf(buf, n, "http://127.0.0.1:%u%s", s->port, path);
	return buf;
}

#endif
