/*
 * Black Duck Detect as a prscan scanner: runs a RAPID scan of the clone
 * with a small environment, then parses the result file Detect leaves in
 * the out dir.  The Black Duck URL and API token reach Detect only through
 * its environment (BLACKDUCK_URL, BLACKDUCK_API_TOKEN), never its
 * arguments, which any local user can read.
 */
#define _GNU_SOURCE		/* strcasestr */
#include "blackduck_scanner.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/detect.h"
#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/http.h"
#include "prscan/proc.h"

#define BD_RESULT_MAX (256L * 1024 * 1024)
#define BD_STATUS_MAX (16L * 1024 * 1024)
#define BD_STATUS_NAME_MAX 64
#define BD_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define BD_RESULT_SUFFIX "_BlackDuck_DeveloperMode_Result.json"
#define BD_FIXED_ARGS 8		/* program and the seven properties */

extern char **environ;

struct bd_state {
	char *bin;
	char **extra;		/* DETECT_ARGS, split */
	size_t nextra;
	char *url;
	char *token;		/* a secret: wiped before free */
};

/* A NULL-terminated vector of owned strings (argv or environment). */
struct bd_vec {
	char **v;
	size_t n, cap;
};

/* Properties prscan sets itself; DETECT_ARGS may not change them. */
static const char *const reserved[] = {
	"detect.source.path", "detect.blackduck.scan.mode",
	"detect.output.path", "detect.scan.output.path", "detect.cleanup",
	"detect.project.name", "detect.project.version.name",
};

static void
vec_dispose(struct bd_vec *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		prs_secret_wipe(e->v[i], strlen(e->v[i]));
		free(e->v[i]);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* Appends s (owned, freed here on failure). */
static int
vec_push(struct bd_vec *e, char *s)
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

/* Appends "<a><b>". */
static int
vec_add2(struct bd_vec *e, const char *a, const char *b)
{
	size_t len = strlen(a) + strlen(b) + 1;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s%s", a, b);
	return vec_push(e, s);
}

static int
env_add(struct bd_vec *e, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s=%s", name, value);
	return vec_push(e, s);
}

static int
env_copy(struct bd_vec *e, const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? env_add(e, name, v) : 0;
}

/* DETECT_* settings pass through to Detect, except prscan's own. */
static int
env_passes(const char *entry)
{
	return strncmp(entry, "DETECT_", 7) == 0 &&
	    strncmp(entry, "DETECT_BIN=", 11) != 0 &&
	    strncmp(entry, "DETECT_ARGS=", 12) != 0 &&
	    strchr(entry, '=') != NULL;
}

static int
env_build(struct bd_vec *e, const struct bd_state *st, const char *home,
    const char *tmp)
{
	const char *path = getenv("PATH");
	char **p;

	if (env_add(e, "PATH", path != NULL && *path != '\0' ? path :
	    BD_DEFAULT_PATH) < 0 || env_add(e, "HOME", home) < 0 ||
	    env_add(e, "TMPDIR", tmp) < 0 || env_copy(e, "LANG") < 0 ||
	    env_copy(e, "TZ") < 0 || env_copy(e, "JAVA_HOME") < 0 ||
	    env_add(e, "BLACKDUCK_URL", st->url) < 0 ||
	    env_add(e, "BLACKDUCK_API_TOKEN", st->token) < 0)
		return -1;

	for (p = environ; p != NULL && *p != NULL; p++)
		if (env_passes(*p) && vec_push(e, strdup(*p)) < 0)
			return -1;
	return 0;
}

/* One DETECT_ARGS word: --detect.NAME=VALUE or --blackduck.NAME=VALUE. */
static int
extra_arg_check(const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	char name[128];
	size_t i;

	snprintf(name, sizeof(name), "%.*s", (int)(n < 100 ? n : 100), arg);
	if ((strncmp(arg, "--detect.", 9) != 0 &&
	    strncmp(arg, "--blackduck.", 12) != 0) || eq == NULL)
		return prs_error_set("DETECT_ARGS: %s is not of the form "
		    "--detect.NAME=VALUE or --blackduck.NAME=VALUE", name);
	for (i = 2; i < n; i++)
		if (!isalnum((unsigned char)arg[i]) && arg[i] != '.' &&
		    arg[i] != '-' && arg[i] != '_')
			return prs_error_set("DETECT_ARGS: %s is not a Detect "
			    "property name", name);
	if (strcasestr(name, "token") != NULL ||
	    strcasestr(name, "password") != NULL)
		return prs_error_set("DETECT_ARGS: %s would put a secret in "
		    "Detect's arguments; use BLACKDUCK_API_TOKEN or "
		    "BLACKDUCK_API_TOKEN_FILE", name);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name + 2, reserved[i]) == 0)
			return prs_error_set("DETECT_ARGS: %s is set by "
			    "prscan-worker-blackduck itself", name);
	return 0;
}

/* Splits DETECT_ARGS on whitespace into st->extra, each word checked. */
static int
extra_args_read(struct bd_state *st)
{
	char *all = NULL, *word, *save = NULL;
	struct bd_vec v = { NULL, 0, 0 };
	int rc = -1;

	prs_env_string("DETECT_ARGS", "", &all);
	if (all == NULL)
		return prs_error_set("out of memory");
	for (word = strtok_r(all, " \t\r\n", &save); word != NULL;
	    word = strtok_r(NULL, " \t\r\n", &save))
		if (extra_arg_check(word) < 0 || vec_push(&v, strdup(word)) < 0)
			goto out;
	st->extra = v.v;
	st->nextra = v.n;
	memset(&v, 0, sizeof(v));
	rc = 0;
out:
	vec_dispose(&v);
	prs_secret_free(all);
	return rc;
}

static int
url_read(struct bd_state *st)
{
	int https = 0, loopback = 0;

	prs_env_string("BLACKDUCK_URL", NULL, &st->url);
	if (st->url == NULL)
		return prs_error_set("BLACKDUCK_URL is required (the Black "
		    "Duck server, https://HOST)");
	if (prs_http_url_check(st->url, &https, &loopback) < 0)
		return prs_error_prefix("BLACKDUCK_URL");
	/* The token would travel in clear. */
	if (!https && !loopback)
		return prs_error_set("BLACKDUCK_URL must be https:// (http:// "
		    "only to a loopback host)");
	return 0;
}

static void
bd_fini(void *state)
{
	struct bd_state *st = state;
	struct bd_vec v;

	if (st == NULL)
		return;
	v.v = st->extra;
	v.n = st->nextra;
	v.cap = 0;
	vec_dispose(&v);
	free(st->bin);
	free(st->url);
	prs_secret_free(st->token);
	free(st);
}

static int
bd_init(void **state)
{
	struct bd_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return prs_error_set("out of memory");
	prs_env_string("DETECT_BIN", "detect", &st->bin);
	if (st->bin == NULL) {
		prs_error_set("out of memory");
		goto fail;
	}
	if (prs_proc_check_program(st->bin, getenv("PATH")) < 0) {
		prs_error_prefix("DETECT_BIN");
		goto fail;
	}
	if (extra_args_read(st) < 0 || url_read(st) < 0 ||
	    prs_env_secret("BLACKDUCK_API_TOKEN", &st->token) < 0)
		goto fail;
	if (st->token == NULL) {
		prs_error_set("BLACKDUCK_API_TOKEN (or "
		    "BLACKDUCK_API_TOKEN_FILE) is required");
		goto fail;
	}
	*state = st;
	return 0;
fail:
	bd_fini(st);
	return -1;
}

static char *
path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s/%s", dir, name);
	return s;
}

/* Reads a whole regular file of at most max bytes into *out. */
static int
read_file(const char *path, long max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? PRS_ENOTFOUND :
		    prs_error_set("cannot open a Detect output file: %s",
		    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > max) {
		prs_error_set("a Detect output file is not a regular file of "
		    "at most %ld bytes", max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size &&
	    ((n = read(fd, buf + got, (size_t)st.st_size - got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int
has_result_suffix(const char *name)
{
	size_t n = strlen(name), s = sizeof(BD_RESULT_SUFFIX) - 1;

	return n > s && strcmp(name + n - s, BD_RESULT_SUFFIX) == 0;
}

/*
 * Looks for *_BlackDuck_DeveloperMode_Result.json in dir and, when
 * subdirs, in its subdirectories (not through symlinks).  Counts them in
 * *count and keeps the first in *found.
 */
static int
result_search(const char *dir, int subdirs, int *count, char **found)
{
	struct dirent *de;
	struct stat st;
	char *path;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = path_join(dir, de->d_name);
		if (path == NULL) {
			rc = prs_error_set("out of memory");
			break;
		}
		if (lstat(path, &st) < 0) {
			free(path);
			continue;
		}
		if (S_ISDIR(st.st_mode) && subdirs)
			rc = result_search(path, 0, count, found);
		if (S_ISREG(st.st_mode) && has_result_suffix(de->d_name) &&
		    (*count)++ == 0) {
			*found = path;
			path = NULL;
		}
		free(path);
	}
	closedir(d);
	return rc;
}

/* The result file's path: the exact name, else the single one found. */
static int
result_path(const struct prs_scan_ctx *ctx, const char *scan_dir,
    char **out)
{
	struct stat st;
	char *name = NULL;
	size_t len;
	int count = 0;

	len = strlen(ctx->job->repo) + strlen(ctx->job->head_sha) +
	    sizeof(BD_RESULT_SUFFIX) + 2;
	name = malloc(len);
	if (name == NULL)
		return prs_error_set("out of memory");
	snprintf(name, len, "%s_%s%s", ctx->job->repo, ctx->job->head_sha,
	    BD_RESULT_SUFFIX);
	*out = path_join(scan_dir, name);
	free(name);
	if (*out == NULL)
		return prs_error_set("out of memory");
	if (lstat(*out, &st) == 0)
		return 0;

	free(*out);
	*out = NULL;
	if (result_search(scan_dir, 1, &count, out) < 0)
		return -1;
	if (count == 1)
		return 0;
	free(*out);
	*out = NULL;
	return prs_error_set(count == 0 ? "Black Duck Detect wrote no RAPID "
	    "result" : "Black Duck Detect wrote %d RAPID results", count);
}

/* The newest run directory's status.json as JSON, or NULL. */
static json_t *
status_load(const char *out_dir)
{
	char *runs = path_join(out_dir, "runs"), *best = NULL, *path = NULL;
	char *text = NULL;
	json_t *j = NULL;
	struct dirent *de;
	size_t len, n;
	DIR *d;

	d = runs != NULL ? opendir(runs) : NULL;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (best != NULL && strcmp(de->d_name, best) <= 0))
			continue;
		free(best);
		best = strdup(de->d_name);
	}
	if (d != NULL)
		closedir(d);
	if (best != NULL) {
		n = strlen(runs) + strlen(best) + 32;
		path = malloc(n);
		if (path != NULL)
			snprintf(path, n, "%s/%s/status/status.json", runs,
			    best);
	}
	if (path != NULL && read_file(path, BD_STATUS_MAX, &text, &len) == 0)
		j = json_loadb(text, len, 0, NULL);
	free(text);
	free(path);
	free(best);
	free(runs);
	return j;
}

/* Copies overallStatus[0].status into buf when it is a plain name. */
static void
status_name(const json_t *status, char *buf, size_t n)
{
	const json_t *v = json_object_get(status, "overallStatus");
	const char *s;
	size_t i;

	buf[0] = '\0';
	v = json_object_get(json_array_get(v, 0), "status");
	if (!json_is_string(v))
		return;
	s = json_string_value(v);
	for (i = 0; s[i] != '\0'; i++)
		if (i >= BD_STATUS_NAME_MAX || !(isupper((unsigned char)s[i]) ||
		    isdigit((unsigned char)s[i]) || s[i] == '_'))
			return;
	snprintf(buf, n, "%s", s);
}

static int
exited_error(const struct prs_scan_ctx *ctx, int status)
{
	char name[BD_STATUS_NAME_MAX + 1];
	json_t *st = status_load(ctx->out_dir);
	const char *known;

	status_name(st, name, sizeof(name));
	json_decref(st);
	known = prs_detect_exit_name(status);
	if (name[0] == '\0' && known != NULL)
		snprintf(name, sizeof(name), "%s", known);
	if (name[0] != '\0')
		return prs_error_set("Black Duck Detect exited %d (%s)",
		    status, name);
	return prs_error_set("Black Duck Detect exited %d", status);
}

/* Detect's version from status.json, when it wrote one. */
static void
version_note(const struct prs_scan_ctx *ctx, struct prs_scan_result *r)
{
	json_t *st = status_load(ctx->out_dir);
	const json_t *v = json_object_get(st, "detectVersion");

	if (r->scanner_version == NULL && json_is_string(v) &&
	    json_string_length(v) < 64)
		r->scanner_version = strdup(json_string_value(v));
	json_decref(st);
}

static int
result_parse(const struct prs_scan_ctx *ctx, struct prs_scan_result **out)
{
	char *scan_dir = path_join(ctx->out_dir, "scan");
	char *path = NULL, *text = NULL;
	size_t len = 0;
	int rc = -1, r;

	if (scan_dir == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	if (result_path(ctx, scan_dir, &path) < 0)
		goto out;
	r = read_file(path, BD_RESULT_MAX, &text, &len);
	if (r == PRS_ENOTFOUND)
		prs_error_set("Black Duck Detect wrote no RAPID result");
	if (r < 0 || prs_detect_parse(text, len, ctx->clone_dir, out) < 0)
		goto out;
	version_note(ctx, *out);
	rc = 0;
out:
	free(text);
	free(path);
	free(scan_dir);
	return rc;
}

/* Turns a finished run into the scan's outcome. */
static int
bd_outcome(const struct prs_scan_ctx *ctx, int status, int timed_out,
    struct prs_scan_result **result)
{
	if (timed_out && ctx->cancel != NULL && *ctx->cancel)
		return prs_error_set("Black Duck Detect was cancelled");
	if (timed_out)
		return prs_error_set("Black Duck Detect timed out after %ld s",
		    ctx->timeout_s);
	/* 3 is FAILURE_POLICY_VIOLATION: the scan ran and found some. */
	if (status == 0 || status == 3)
		return result_parse(ctx, result);
	return exited_error(ctx, status);
}

static int
argv_build(struct bd_vec *a, const struct bd_state *st,
    const struct prs_scan_ctx *ctx, const char *scan_dir)
{
	size_t i;

	if (vec_push(a, strdup(st->bin)) < 0 ||
	    vec_add2(a, "--detect.source.path=", ctx->clone_dir) < 0 ||
	    vec_add2(a, "--detect.blackduck.scan.mode=", "RAPID") < 0 ||
	    vec_add2(a, "--detect.output.path=", ctx->out_dir) < 0 ||
	    vec_add2(a, "--detect.scan.output.path=", scan_dir) < 0 ||
	    vec_add2(a, "--detect.cleanup=", "false") < 0 ||
	    vec_add2(a, "--detect.project.name=", ctx->job->repo) < 0 ||
	    vec_add2(a, "--detect.project.version.name=",
	    ctx->job->head_sha) < 0)
		return -1;
	for (i = 0; i < st->nextra; i++)
		if (vec_push(a, strdup(st->extra[i])) < 0)
			return -1;
	return 0;
}

static int
bd_run(const struct bd_state *st, const struct prs_scan_ctx *ctx,
    const char *log_path, const char *const *envp,
    struct prs_scan_result **result)
{
	struct bd_vec args = { NULL, 0, 0 };
	char *scan_dir = path_join(ctx->out_dir, "scan");
	struct prs_proc_opts o;
	const char *const *argv;
	char why[512];
	int status, timed_out, rc = -1;

	if (scan_dir == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	if (argv_build(&args, st, ctx, scan_dir) < 0)
		goto out;
	memcpy(&argv, &args.v, sizeof(argv));
	o = (struct prs_proc_opts){ argv, envp, ctx->clone_dir,
	    ctx->timeout_s, log_path, ctx->cancel, ctx->max_memory,
	    ctx->max_output, ctx->max_files };
	if (prs_proc_run(&o, &status, &timed_out) < 0) {
		snprintf(why, sizeof(why), "%s", prs_error_last());
		prs_error_set("could not start Black Duck Detect: %s", why);
		goto out;
	}
	rc = bd_outcome(ctx, status, timed_out, result);
out:
	vec_dispose(&args);
	free(scan_dir);
	return rc;
}

static int
bd_scan(void *state, const struct prs_scan_ctx *ctx,
    struct prs_scan_result **result)
{
	struct bd_vec env = { NULL, 0, 0 };
	char *log_path = path_join(ctx->out_dir, "detect.log");
	char *tmp = path_join(ctx->out_dir, "tmp");
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
	if (env_build(&env, state, ctx->out_dir, tmp) < 0)
		goto out;

	memcpy(&envp, &env.v, sizeof(envp));
	rc = bd_run(state, ctx, log_path, envp, result);
out:
	vec_dispose(&env);
	free(tmp);
	free(log_path);
	return rc;
}

const struct prs_scanner blackduck_scanner = {
	.name = "blackduck",
	.check_name = "Black Duck",
	.default_stream = "worker-blackduck",
	.init = bd_init,
	.scan = bd_scan,
	.fini = bd_fini,
};
