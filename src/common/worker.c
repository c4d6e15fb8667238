/*
 * The worker daemon: configuration, signals and the consumer loop.  Each
 * entry read from the stream goes to prs_worker_process_entry(), which
 * owns everything about one job (worker_job.c); Redis details live in
 * worker_redis.c.
 *
 * Signals: the first SIGTERM/SIGINT stops reading (the job in hand is
 * finished and acknowledged), the second also cancels the running scanner
 * and the daemon exits leaving the entry pending.
 */
#include "prscan/worker.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/gitclone.h"
#include "prscan/log.h"
#include "worker_internal.h"

#define PRS_WORKER_EXIT_CONFIG 2
#define PRS_WORKER_DEFAULT_MAX_REPO_BYTES (1L << 30)
#define PRS_WORKER_MAX_SECONDS 86400L

volatile sig_atomic_t prs_worker_stopping;
volatile sig_atomic_t prs_worker_cancelled;

static void
prs_worker_on_signal(int sig)
{
	(void)sig;
	if (prs_worker_stopping)
		prs_worker_cancelled = 1;
	prs_worker_stopping = 1;
}

static int
prs_worker_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prs_worker_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: blocking reads return */
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0)
		return prs_error_set("sigaction: %s", strerror(errno));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return prs_error_set("sigaction: %s", strerror(errno));
	return 0;
}

/* Drops trailing slashes of a URL in place. */
static void
prs_worker_trim_url(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
}

static int
prs_worker_default_consumer(char **out)
{
	char host[256], buf[300];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "worker");
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, sizeof(buf), "%s-%ld", host, (long)getpid());
	return prs_env_string("CONSUMER_NAME", buf, out);
}

static int
prs_worker_config_strings(struct prs_worker *w)
{
	const char *tmp = getenv("TMPDIR");

	prs_env_string("STREAM_NAME", w->scanner->default_stream, &w->stream);
	prs_env_string("CONSUMER_GROUP", "workers", &w->group);
	prs_worker_default_consumer(&w->consumer);
	prs_env_string("API_URL", "http://localhost:8080", &w->api_url);
	prs_env_string("GITHUB_SERVER_URL", "https://github.com",
	    &w->server_url);
	prs_env_string("WORK_DIR", tmp != NULL && *tmp != '\0' ? tmp : "/tmp",
	    &w->work_dir);
	if (w->stream == NULL || w->group == NULL || w->consumer == NULL ||
	    w->api_url == NULL || w->server_url == NULL ||
	    w->work_dir == NULL)
		return prs_error_set("out of memory");
	prs_worker_trim_url(w->api_url);
	prs_worker_trim_url(w->server_url);
	return 0;
}

static int
prs_worker_config_numbers(struct prs_worker *w)
{
	if (prs_env_long("SCAN_TIMEOUT", 600, 1, PRS_WORKER_MAX_SECONDS,
	    &w->scan_timeout) < 0 ||
	    prs_env_long("CLONE_TIMEOUT", 300, 1, PRS_WORKER_MAX_SECONDS,
	    &w->clone_timeout) < 0 ||
	    prs_env_long("CALLBACK_RETRY_FOR", 300, 0,
	    PRS_WORKER_MAX_SECONDS, &w->callback_retry_for) < 0 ||
	    prs_env_long("MAX_REPO_BYTES", PRS_WORKER_DEFAULT_MAX_REPO_BYTES,
	    1024, LONG_MAX, &w->max_repo_bytes) < 0)
		return -1;
	return 0;
}

static int
prs_worker_config(struct prs_worker *w)
{
	struct stat st;

	if (prs_worker_config_strings(w) < 0 ||
	    prs_worker_config_numbers(w) < 0)
		return -1;
	if (prs_env_secret("CALLBACK_SECRET", &w->secret) < 0)
		return -1;
	if (w->secret == NULL)
		return prs_error_set("CALLBACK_SECRET (or "
		    "CALLBACK_SECRET_FILE) is required");
	if (stat(w->work_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return prs_error_set("WORK_DIR: %s is not a directory",
		    w->work_dir);
	if (prs_redis_config_load(&w->redis_cfg) < 0)
		return -1;
	return 0;
}

static void
prs_worker_dispose(struct prs_worker *w)
{
	prs_worker_redis_close(w);
	prs_redis_config_dispose(&w->redis_cfg);
	free(w->stream);
	free(w->group);
	free(w->consumer);
	free(w->api_url);
	prs_secret_free(w->secret);
	free(w->server_url);
	free(w->work_dir);
	memset(w, 0, sizeof(*w));
}

/*
 * Hands each entry of an XREADGROUP answer to the entry handler:
 * [[stream, [[id, [field, value, ...]], ...]]].
 */
static void
prs_worker_dispatch(struct prs_worker *w, const redisReply *r)
{
	size_t i, k;

	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *s = r->element[i];

		if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
		    s->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		for (k = 0; k < s->element[1]->elements; k++) {
			const redisReply *e = s->element[1]->element[k];

			if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
			    e->element[0]->type != REDIS_REPLY_STRING)
				continue;
			prs_worker_process_entry(w, w->stream,
			    e->element[0]->str,
			    e->elements > 1 ? e->element[1] : NULL);
		}
	}
}

static void
prs_worker_loop(struct prs_worker *w)
{
	redisReply *r = NULL;

	while (!prs_worker_stopping) {
		if (prs_worker_redis_ensure(w, &prs_worker_stopping) < 0)
			break;
		if (prs_worker_redis_read(w, &r) < 0) {
			/* An error answer: do not spin on it. */
			if (w->redis != NULL)
				prs_worker_sleep_ms(1000, &prs_worker_stopping);
			continue;
		}
		if (r == NULL)
			continue;
		prs_worker_dispatch(w, r);
		freeReplyObject(r);
		r = NULL;
	}
}

/* Logs a start-up failure as one fatal line. */
static int
prs_worker_fatal(const char *what)
{
	char q[600];

	prs_log(PRS_LOG_FATAL, what, "error=%s",
	    prs_log_quote(prs_error_last(), q, sizeof(q)));
	return PRS_WORKER_EXIT_CONFIG;
}

static int
prs_worker_start(struct prs_worker *w)
{
	if (prs_worker_config(w) < 0)
		return prs_worker_fatal("configuration error");
	if (prs_git_init() < 0)
		return prs_worker_fatal("libgit2 failed");
	prs_git_set_max_bytes((unsigned long long)w->max_repo_bytes);
	if (w->scanner->init != NULL && w->scanner->init(&w->state) < 0)
		return prs_worker_fatal("scanner configuration error");
	if (prs_worker_signals() < 0)
		return prs_worker_fatal("signal setup failed");
	return 0;
}

int
prs_worker_main(const struct prs_scanner *scanner)
{
	struct prs_worker w;
	char daemon[96];
	int rc;

	snprintf(daemon, sizeof(daemon), "prscan-worker-%s", scanner->name);
	if (prs_log_init(daemon) < 0) {
		fprintf(stderr, "%s: %s\n", daemon, prs_error_last());
		return PRS_WORKER_EXIT_CONFIG;
	}

	memset(&w, 0, sizeof(w));
	w.scanner = scanner;
	rc = prs_worker_start(&w);
	if (rc == 0) {
		prs_info("worker started", "stream=%s group=%s consumer=%s "
		    "scanner=%s", w.stream, w.group, w.consumer,
		    scanner->name);
		prs_worker_loop(&w);
		rc = prs_worker_cancelled ? 1 : 0;
		prs_info("worker stopped", "stream=%s consumer=%s cancelled=%d",
		    w.stream, w.consumer, (int)prs_worker_cancelled);
	}
	if (w.state != NULL && scanner->fini != NULL)
		scanner->fini(w.state);
	prs_worker_dispose(&w);
	return rc;
}
