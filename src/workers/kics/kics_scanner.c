/*
 * KICS as a prscan scanner: runs `kics scan` on the clone with a small
 * environment, then parses the JSON report it leaves in the out dir.
 */
#include "kics_scanner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/http.h"
#include "prscan/kics.h"
#include "prscan/proc.h"

#define KICS_REPORT_MAX (256L * 1024 * 1024)
#define KICS_TAIL_SIZE 4096
#define KICS_REASON_MAX 200
#define KICS_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

extern char **environ;

struct kics_state {
	char *bin;
};

/* The child's environment: owned strings and a NULL at the end. */
struct kics_env {
	char **v;
	size_t n, cap;
};

static void kics_fini(void *state);

static int
kics_init(void **state)
{
	struct kics_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return prs_error_set("out of memory");
	prs_env_string("KICS_BIN", "kics", &st->bin);
	if (st->bin == NULL) {
		free(st);
		return prs_error_set("out of memory");
	}
	if (prs_proc_check_program(st->bin, getenv("PATH")) < 0) {
		prs_error_prefix("KICS_BIN");
		kics_fini(st);
		return -1;
	}
	*state = st;
	return 0;
}

static void
kics_fini(void *state)
{
	struct kics_state *st = state;

	if (st == NULL)
		return;
	free(st->bin);
	free(st);
}

static void
kics_env_dispose(struct kics_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* Appends s (owned, freed here on failure) to the environment. */
static int
kics_env_push(struct kics_env *e, char *s)
{
	if (s == NULL)
		return prs_error_set("out of memory");
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		char **v = realloc(e->v, cap * sizeof(*v));

		if (v == NULL) {
			free(s);
			return prs_error_set("out of memory");
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return 0;
}

static int
kics_env_add(struct kics_env *e, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s=%s", name, value);
	return kics_env_push(e, s);
}

static int
kics_env_copy(struct kics_env *e, const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? kics_env_add(e, name, v) : 0;
}

/* KICS_* settings pass through; anything that smells of a secret not. */
static int
kics_env_passes(const char *entry)
{
	return strncmp(entry, "KICS_", 5) == 0 &&
	    strncmp(entry, "KICS_BIN=", 9) != 0 &&
	    strstr(entry, "SECRET") == NULL &&
	    strstr(entry, "TOKEN") == NULL &&
	    strstr(entry, "PASSWORD") == NULL &&
	    strchr(entry, '=') != NULL;
}

static int
kics_env_build(struct kics_env *e, const char *home, const char *tmp)
{
	const char *path = getenv("PATH");
	char **p;

	if (kics_env_add(e, "PATH", path != NULL && *path != '\0' ? path :
	    KICS_DEFAULT_PATH) < 0 || kics_env_add(e, "HOME", home) < 0 ||
	    kics_env_add(e, "TMPDIR", tmp) < 0 ||
	    kics_env_copy(e, "LANG") < 0 || kics_env_copy(e, "LC_ALL") < 0 ||
	    kics_env_copy(e, "TZ") < 0)
		return -1;

	for (p = environ; p != NULL && *p != NULL; p++)
		if (kics_env_passes(*p) && kics_env_push(e, strdup(*p)) < 0)
			return -1;
	return 0;
}

static char *
kics_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s/%s", dir, name);
	return s;
}

/* Reads a whole regular file of at most max bytes into *out. */
static int
kics_read_file(const char *path, long max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? PRS_ENOTFOUND : -1;
		prs_error_set("%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > max) {
		prs_error_set("KICS report is not a regular file of at most "
		    "%ld bytes", max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The last non-empty line of the log, scrubbed, at most 200 bytes. */
static void
kics_last_line(const char *log_path, char *buf, size_t n)
{
	char tail[KICS_TAIL_SIZE + 1];
	char *line, *end, *clean;
	ssize_t got = 0;
	off_t size;
	int fd, cut;

	buf[0] = '\0';
	fd = open(log_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > KICS_TAIL_SIZE)
		lseek(fd, size - KICS_TAIL_SIZE, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	got = read(fd, tail, KICS_TAIL_SIZE);
	close(fd);
	if (got <= 0)
		return;
	tail[got] = '\0';

	end = tail + got;
	while (end > tail && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	line = strrchr(tail, '\n');
	line = line != NULL ? line + 1 : tail;

	clean = prs_scrub(line);
	if (clean == NULL)
		return;
	snprintf(buf, n, "%s", clean);
	cut = strlen(clean) >= n;
	free(clean);
	/* Do not leave half a UTF-8 sequence at the cut. */
	end = buf + strlen(buf);
	if (cut) {
		while (end > buf && ((unsigned char)end[-1] & 0xc0) == 0x80)
			end--;
		if (end > buf && ((unsigned char)end[-1] & 0xc0) == 0xc0)
			end--;
		*end = '\0';
	}
}

static int
kics_exit_means_report(int status)
{
	return status == 0 || status == 20 || status == 30 || status == 40 ||
	    status == 50 || status == 60;
}

static int
kics_parse_report(const struct prs_scan_ctx *ctx,
    struct prs_scan_result **result)
{
	char *path = kics_join(ctx->out_dir, "results.json");
	char *text = NULL;
	size_t len = 0;
	int rc = -1, r;

	if (path == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	r = kics_read_file(path, KICS_REPORT_MAX, &text, &len);
	if (r == PRS_ENOTFOUND) {
		prs_error_set("KICS wrote no report");
		goto out;
	}
	if (r < 0)
		goto out;
	if (prs_kics_parse(text, len, ctx->clone_dir, result) < 0)
		goto out;
	rc = 0;
out:
	free(text);
	free(path);
	return rc;
}

/* Turns a finished run into the scan's outcome. */
static int
kics_outcome(const struct prs_scan_ctx *ctx, const char *log_path,
    int status, int timed_out, struct prs_scan_result **result)
{
	char line[KICS_REASON_MAX + 1];

	if (timed_out && ctx->cancel != NULL && *ctx->cancel)
		return prs_error_set("KICS was cancelled");
	if (timed_out)
		return prs_error_set("KICS timed out after %ld s",
		    ctx->timeout_s);
	if (kics_exit_means_report(status))
		return kics_parse_report(ctx, result);
	if (status == 126) {
		kics_last_line(log_path, line, sizeof(line));
		if (line[0] != '\0')
			return prs_error_set("KICS exited 126: %s", line);
	}
	return prs_error_set("KICS exited %d", status);
}

static int
kics_run(const struct kics_state *st, const struct prs_scan_ctx *ctx,
    const char *log_path, const char *const *envp,
    struct prs_scan_result **result)
{
	const char *argv[] = {
		st->bin, "scan", "-p", ctx->clone_dir, "-o", ctx->out_dir,
		"--output-name", "results", "--report-formats", "json",
		"--no-progress", "--ignore-on-exit", "results", NULL
	};
	struct prs_proc_opts o = {
		argv, envp, ctx->clone_dir, ctx->timeout_s, log_path,
		ctx->cancel, ctx->max_memory, ctx->max_output, ctx->max_files
	};
	char why[512];
	int status, timed_out;

	if (prs_proc_run(&o, &status, &timed_out) < 0) {
		snprintf(why, sizeof(why), "%s", prs_error_last());
		return prs_error_set("could not start KICS: %s", why);
	}
	return kics_outcome(ctx, log_path, status, timed_out, result);
}

static int
kics_scan(void *state, const struct prs_scan_ctx *ctx,
    struct prs_scan_result **result)
{
	struct kics_env env = { NULL, 0, 0 };
	char *log_path = kics_join(ctx->out_dir, "kics.log");
	char *tmp = kics_join(ctx->out_dir, "tmp");
	const char *const *envp;
	int rc = -1;

	*result = NULL;
	if (log_path == NULL || tmp == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
		prs_error_set("mkdir %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (kics_env_build(&env, ctx->out_dir, tmp) < 0)
		goto out;

	memcpy(&envp, &env.v, sizeof(envp));
	rc = kics_run(state, ctx, log_path, envp, result);
out:
	kics_env_dispose(&env);
	free(tmp);
	free(log_path);
	return rc;
}

const struct prs_scanner kics_scanner = {
	.name = "kics",
	.check_name = "KICS",
	.default_stream = "worker-kics",
	.init = kics_init,
	.scan = kics_scan,
	.fini = kics_fini,
};
