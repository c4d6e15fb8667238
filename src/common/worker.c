/*
 * The worker daemon: configuration, signals and threads.  WORKER_CONCURRENCY
 * slot threads each take entries from the stream (worker_slot.c) and hand
 * them to prs_worker_process_entry(), which owns everything about one job
 * (worker_job.c); a heartbeat thread keeps their claims fresh and watches
 * for superseded pull requests (worker_beat.c); Redis details live in
 * worker_redis.c.  Only the main thread takes signals.
 *
 * Signals: the first SIGTERM/SIGINT stops reading (the jobs in hand are
 * finished and acknowledged), the second also cancels the running scanners
 * and the daemon exits leaving their entries pending for a peer.
 */
#include "prscan/worker.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/clock.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/gitclone.h"
#include "prscan/http.h"
#include "prscan/log.h"
#include "worker_internal.h"

#define PRS_WORKER_EXIT_CONFIG 2
#define PRS_WORKER_DEFAULT_MAX_REPO_BYTES (1L << 30)
#define PRS_WORKER_MAX_SECONDS 86400L
/* Under the API's API_MAX_BODY default of 25 MiB. */
#define PRS_WORKER_DEFAULT_CALLBACK_MAX (20L << 20)

volatile sig_atomic_t prs_worker_stopping;
volatile sig_atomic_t prs_worker_cancelled;

/* The slots, for the signal handler; set before signals are handled. */
static struct prs_wslot *prs_worker_sig_slots;
static long prs_worker_sig_nslots;

static void
prs_worker_on_signal(int sig)
{
	long i;

	(void)sig;
	if (prs_worker_stopping) {
		prs_worker_cancelled = 1;
		for (i = 0; i < prs_worker_sig_nslots; i++) {
			prs_worker_sig_slots[i].abandon = 1;
			prs_worker_sig_slots[i].cancel = 1;
		}
	}
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

/* A Redis name: not empty, no space, newline or control character. */
static int
prs_worker_check_name(const char *var, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	if (*p == '\0')
		return prs_error_set("%s is empty", var);
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return prs_error_set("%s holds a space or control "
			    "character", var);
	return 0;
}

/* The names and URLs read: each names its variable when it is wrong. */
static int
prs_worker_config_check(const struct prs_worker *w)
{
	if (prs_worker_check_name("STREAM_NAME", w->stream) < 0 ||
	    prs_worker_check_name("CONSUMER_GROUP", w->group) < 0 ||
	    prs_worker_check_name("CONSUMER_NAME", w->consumer) < 0)
		return -1;
	if (prs_http_url_check(w->api_url, NULL, NULL) < 0)
		return prs_error_prefix("API_URL");
	if (prs_http_url_check(w->server_url, NULL, NULL) < 0)
		return prs_error_prefix("GITHUB_SERVER_URL");
	return 0;
}

static int
prs_worker_config_numbers(struct prs_worker *w)
{
	if (prs_env_long("SCAN_TIMEOUT", 600, 1, PRS_WORKER_MAX_SECONDS,
	    &w->scan_timeout) < 0 ||
	    prs_env_long("CLONE_TIMEOUT", 300, 1, PRS_WORKER_MAX_SECONDS,
	    &w->clone_timeout) < 0 ||
	    prs_env_long("CALLBACK_RETRY_FOR", 0, 0,
	    PRS_WORKER_MAX_SECONDS, &w->callback_retry_for) < 0 ||
	    prs_env_long("CALLBACK_MAX_BYTES", PRS_WORKER_DEFAULT_CALLBACK_MAX,
	    4096, LONG_MAX, &w->callback_max_bytes) < 0 ||
	    prs_env_long("MAX_REPO_BYTES", PRS_WORKER_DEFAULT_MAX_REPO_BYTES,
	    1024, LONG_MAX, &w->max_repo_bytes) < 0 ||
	    prs_env_long("SCANNER_MAX_MEMORY", 0, 0, LONG_MAX,
	    &w->scanner_max_memory) < 0 ||
	    prs_env_long("SCANNER_MAX_OUTPUT", 0, 0, LONG_MAX,
	    &w->scanner_max_output) < 0 ||
	    prs_env_long("SCANNER_MAX_FILES", 0, 0, 1048576,
	    &w->scanner_max_files) < 0)
		return -1;
	return 0;
}

static int
prs_worker_config_recovery(struct prs_worker *w)
{
	if (prs_env_long("CLAIM_MIN_IDLE_MS", 60000, 100,
	    PRS_WORKER_MAX_SECONDS * 1000, &w->claim_min_idle_ms) < 0 ||
	    prs_env_long("CLAIM_INTERVAL", 30, 1, PRS_WORKER_MAX_SECONDS,
	    &w->claim_interval) < 0 ||
	    prs_env_long("MAX_DELIVERIES", 3, 1, 1000,
	    &w->max_deliveries) < 0 ||
	    prs_env_long("WORKER_CONCURRENCY", 1, 1,
	    PRS_WORKER_MAX_CONCURRENCY, &w->concurrency) < 0 ||
	    prs_env_long("CONSUMER_IDLE_MAX_MS", 86400000L, 1000,
	    PRS_WORKER_MAX_SECONDS * 1000 * 365,
	    &w->consumer_idle_max_ms) < 0 ||
	    prs_env_long("SUPERSEDE_CHECK_MS", 5000, 100,
	    PRS_WORKER_MAX_SECONDS * 1000, &w->supersede_check_ms) < 0 ||
	    prs_env_long("STATUS_PORT", 8081, 0, 65535, &w->status_port) < 0)
		return -1;
	return 0;
}

static int
prs_worker_config(struct prs_worker *w)
{
	struct stat st;

	if (prs_worker_config_strings(w) < 0 ||
	    prs_worker_config_check(w) < 0 ||
	    prs_worker_config_numbers(w) < 0 ||
	    prs_worker_config_recovery(w) < 0)
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
	prs_worker_status_stop(w);
	prs_worker_sig_nslots = 0;
	prs_worker_sig_slots = NULL;
	free(w->slots);
	pthread_mutex_destroy(&w->lock);
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

static int
prs_worker_slots_make(struct prs_worker *w)
{
	long i;

	w->slots = calloc((size_t)w->concurrency, sizeof(*w->slots));
	if (w->slots == NULL)
		return prs_error_set("out of memory");
	for (i = 0; i < w->concurrency; i++) {
		w->slots[i].w = w;
		w->slots[i].index = (int)i;
		w->slots[i].conn.w = w;
	}
	snprintf(w->cursor, sizeof(w->cursor), "0-0");
	w->reclaim_due = prs_clock_ms();
	prs_worker_sig_slots = w->slots;
	prs_worker_sig_nslots = w->concurrency;
	return 0;
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
	/*
	 * Processes of the same uid, the scanner among them, may not read
	 * this one's /proc/<pid>/environ or mem, nor ptrace it.  exec makes
	 * the scanner dumpable again; only the worker's memory is covered.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		prs_error_set("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return prs_worker_fatal("process setup failed");
	}
	if (prs_worker_config(w) < 0)
		return prs_worker_fatal("configuration error");
	if (prs_git_init() < 0)
		return prs_worker_fatal("libgit2 failed");
	prs_git_set_max_bytes((unsigned long long)w->max_repo_bytes);
	prs_workspace_sweep(w->work_dir);
	if (w->scanner->init != NULL && w->scanner->init(&w->state) < 0)
		return prs_worker_fatal("scanner configuration error");
	if (prs_worker_slots_make(w) < 0)
		return prs_worker_fatal("out of memory");
	if (prs_worker_status_start(w) < 0)
		return prs_worker_fatal("status server failed");
	if (prs_worker_signals() < 0)
		return prs_worker_fatal("signal setup failed");
	return 0;
}

/*
 * Starts the heartbeat and the slot threads with SIGTERM and SIGINT
 * blocked, so that only the main thread takes them.  Returns the number
 * of slots started; the heartbeat's start is in *beat_ok.
 */
static long
prs_worker_threads_start(struct prs_worker *w, pthread_t *beat,
    int *beat_ok)
{
	sigset_t set, old;
	long i, n = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	*beat_ok = pthread_create(beat, NULL, prs_worker_beat_main, w) == 0;
	for (i = 0; *beat_ok && i < w->concurrency; i++) {
		struct prs_wslot *s = &w->slots[i];

		if (pthread_create(&s->thread, NULL, prs_worker_slot_main,
		    s) != 0)
			break;
		s->running = 1;
		n++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

/* Runs the threads until every slot stopped.  Returns the exit code. */
static int
prs_worker_run(struct prs_worker *w)
{
	pthread_t beat;
	int beat_ok;
	long i, n = prs_worker_threads_start(w, &beat, &beat_ok);

	if (n < w->concurrency) {
		prs_err("could not start the worker threads", "started=%ld "
		    "wanted=%ld", n, w->concurrency);
		prs_worker_stopping = 1;
	}
	for (i = 0; i < w->concurrency; i++)
		if (w->slots[i].running)
			pthread_join(w->slots[i].thread, NULL);
	w->beat_stop = 1;
	if (beat_ok)
		pthread_join(beat, NULL);
	if (n < w->concurrency)
		return 1;
	return prs_worker_cancelled ? 1 : 0;
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
	pthread_mutex_init(&w.lock, NULL);
	rc = prs_worker_start(&w);
	if (rc == 0) {
		prs_info("worker started", "stream=%s group=%s consumer=%s "
		    "scanner=%s concurrency=%ld claim_min_idle_ms=%ld "
		    "max_deliveries=%ld", w.stream, w.group, w.consumer,
		    scanner->name, w.concurrency, w.claim_min_idle_ms,
		    w.max_deliveries);
		rc = prs_worker_run(&w);
		prs_info("worker stopped", "stream=%s consumer=%s cancelled=%d",
		    w.stream, w.consumer, (int)prs_worker_cancelled);
	}
	if (w.state != NULL && scanner->fini != NULL)
		scanner->fini(w.state);
	prs_worker_dispose(&w);
	return rc;
}
