/*
 * Any scanner that writes SARIF 2.1.0, as a prscan scanner.  SCANNER_CMD
 * is the command line, with {source} for the clone and {output} for the
 * file the scanner should write its log to; without {output} the log is
 * what the scanner prints on stdout.  It runs from the clone's root with
 * a small environment, and exits listed in SCANNER_OK_EXITS mean the scan
 * ran; its log is then parsed with prs_sarif_parse().
 */
#define _GNU_SOURCE
#include "sarif_scanner.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "prscan/env.h"
#include "prscan/error.h"
#include "prscan/http.h"
#include "prscan/proc.h"
#include "prscan/sarif.h"

#define SARIF_NAME_MAX 40
#define SARIF_LOG_MAX (256L * 1024 * 1024)
#define SARIF_TAIL_SIZE 4096
#define SARIF_REASON_MAX 200
#define SARIF_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define SARIF_OUTPUT "results.sarif"
#define SARIF_CONSOLE "scanner.log"

extern char **environ;

/* SCANNER_NAME, its stream and its variable prefix ("GITLEAKS_"). */
static char sarif_name[SARIF_NAME_MAX + 1];
static char sarif_stream[SARIF_NAME_MAX + 8];
static char sarif_prefix[SARIF_NAME_MAX + 2];

struct sarif_state {
	struct prs_sarif_cmd *cmd;
	unsigned char ok_exits[256];
};

/* The child's environment: owned strings and a NULL at the end. */
struct sarif_env {
	char **v;
	size_t n, cap;
};

static int
sarif_init(void **state)
{
	struct sarif_state *st = calloc(1, sizeof(*st));
	char *tmpl = NULL, *exits = NULL;
	int rc = -1;

	if (st == NULL)
		return prs_error_set("out of memory");
	prs_env_string("SCANNER_CMD", NULL, &tmpl);
	prs_env_string("SCANNER_OK_EXITS", "0,1", &exits);
	if (tmpl == NULL)
		prs_error_set("SCANNER_CMD is required, e.g. "
		    "\"flawfinder --sarif {source}\"");
	else if (exits != NULL &&
	    prs_sarif_exits_parse(exits, st->ok_exits) == 0 &&
	    prs_sarif_cmd_parse(tmpl, &st->cmd) == 0)
		rc = 0;
	free(tmpl);
	free(exits);
	if (rc < 0) {
		free(st);
		return -1;
	}
	*state = st;
	return 0;
}

static void
sarif_fini(void *state)
{
	struct sarif_state *st = state;

	if (st == NULL)
		return;
	prs_sarif_cmd_free(st->cmd);
	free(st);
}

static void
sarif_env_dispose(struct sarif_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* Appends s (owned, freed here on failure) to the environment. */
static int
sarif_env_push(struct sarif_env *e, char *s)
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
sarif_env_add(struct sarif_env *e, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s=%s", name, value);
	return sarif_env_push(e, s);
}

static int
sarif_env_copy(struct sarif_env *e, const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? sarif_env_add(e, name, v) : 0;
}

/* <NAME>_* settings pass through; anything that smells of a secret not. */
static int
sarif_env_passes(const char *entry)
{
	const char *eq = strchr(entry, '=');
	char name[256];

	if (eq == NULL || (size_t)(eq - entry) >= sizeof(name) ||
	    strncmp(entry, sarif_prefix, strlen(sarif_prefix)) != 0)
		return 0;
	snprintf(name, sizeof(name), "%.*s", (int)(eq - entry), entry);
	return strstr(name, "SECRET") == NULL &&
	    strstr(name, "TOKEN") == NULL &&
	    strstr(name, "PASSWORD") == NULL;
}

static int
sarif_env_build(struct sarif_env *e, const char *home, const char *tmp)
{
	const char *path = getenv("PATH");
	char **p;

	if (sarif_env_add(e, "PATH", path != NULL && *path != '\0' ? path :
	    SARIF_DEFAULT_PATH) < 0 || sarif_env_add(e, "HOME", home) < 0 ||
	    sarif_env_add(e, "TMPDIR", tmp) < 0 ||
	    sarif_env_copy(e, "LANG") < 0 ||
	    sarif_env_copy(e, "LC_ALL") < 0 || sarif_env_copy(e, "TZ") < 0)
		return -1;

	for (p = environ; p != NULL && *p != NULL; p++)
		if (sarif_env_passes(*p) && sarif_env_push(e, strdup(*p)) < 0)
			return -1;
	return 0;
}

static char *
sarif_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s/%s", dir, name);
	return s;
}

/* Reads a whole regular file of at most max bytes into *out. */
static int
sarif_read_file(const char *path, long max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? PRS_ENOTFOUND : -1;
		prs_error_set("%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > max) {
		prs_error_set("the SARIF log of %s is not a regular file of "
		    "at most %ld bytes", sarif_name, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
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

/* Cuts s at n bytes without leaving half a UTF-8 sequence. */
static void
sarif_cut_utf8(char *s, size_t n)
{
	if (strlen(s) <= n)
		return;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

/* The length of the UTF-8 sequence at p that jansson takes, or 0. */
static size_t
sarif_utf8_len(const unsigned char *p)
{
	size_t len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 :
	    (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
	size_t k;
	json_t *t;

	if (len == 1)
		return *p >= 0x20 && *p != 0x7f ? 1 : 0;
	for (k = 1; k < len; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	t = len > 0 ? json_stringn((const char *)p, len) : NULL;
	json_decref(t);
	return t != NULL ? len : 0;
}

/* Control characters and bytes that are not UTF-8 become '?'. */
static void
sarif_printable(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len;

	while (*p != '\0') {
		len = sarif_utf8_len(p);
		if (len == 0)
			*p++ = '?';
		else
			p += len;
	}
}

/* Drops every "<clone_dir>/" from s, in place: paths as in the repo. */
static void
sarif_unroot(char *s, const char *clone_dir)
{
	size_t n = strlen(clone_dir);
	char *at;

	while (n > 0 && (at = strstr(s, clone_dir)) != NULL &&
	    at[n] == '/')
		memmove(at, at + n + 1, strlen(at + n + 1) + 1);
}

/* Reads up to SARIF_TAIL_SIZE bytes of path, its end or its start. */
static int
sarif_read_part(const char *path, int end, char *buf)
{
	ssize_t got;
	off_t size;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, end && size > SARIF_TAIL_SIZE ? size - SARIF_TAIL_SIZE :
	    0, SEEK_SET);
	got = read(fd, buf, SARIF_TAIL_SIZE);
	close(fd);
	if (got <= 0)
		return -1;
	buf[got] = '\0';
	return 0;
}

/* Copies line into buf scrubbed, printable and cut. */
static void
sarif_reason_set(const char *line, const char *clone_dir, char *buf,
    size_t n)
{
	char *clean = prs_scrub(line);

	buf[0] = '\0';
	if (clean == NULL)
		return;
	sarif_unroot(clean, clone_dir);
	snprintf(buf, n, "%s", clean);
	free(clean);
	sarif_cut_utf8(buf, n - 1);
	sarif_printable(buf);
}

/* The last non-empty line of a log, scrubbed and cut. */
static void
sarif_last_line(const char *log_path, const char *clone_dir, char *buf,
    size_t n)
{
	char tail[SARIF_TAIL_SIZE + 1];
	char *line, *end;

	buf[0] = '\0';
	if (sarif_read_part(log_path, 1, tail) < 0)
		return;
	end = tail + strlen(tail);
	while (end > tail && isspace((unsigned char)end[-1]))
		*--end = '\0';
	line = strrchr(tail, '\n');
	line = line != NULL ? line + 1 : tail;
	sarif_reason_set(line, clone_dir, buf, n);
}

/*
 * Why a tool that printed nothing on stderr failed, from what it printed
 * on stdout (where its log was to go): the first line near the start
 * that says "error", as flawfinder's "Error: encoding error in FILE"
 * does, else the last line.
 */
static void
sarif_stdout_reason(const char *out_path, const char *clone_dir,
    char *buf, size_t n)
{
	char head[SARIF_TAIL_SIZE + 1];
	char *line, *save = NULL;

	buf[0] = '\0';
	if (sarif_read_part(out_path, 0, head) < 0)
		return;
	for (line = strtok_r(head, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save))
		if (strcasestr(line, "error") != NULL) {
			sarif_reason_set(line, clone_dir, buf, n);
			return;
		}
	sarif_last_line(out_path, clone_dir, buf, n);
}

static int
sarif_parse_log(const struct prs_scan_ctx *ctx, const char *log_path,
    struct prs_scan_result **result)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = sarif_read_file(log_path, SARIF_LOG_MAX, &text, &len);
	if (rc == PRS_ENOTFOUND || (rc == 0 && len == 0))
		rc = prs_error_set("%s wrote no SARIF log", sarif_name);
	if (rc == 0)
		rc = prs_sarif_parse(text, len, ctx->clone_dir, result);
	free(text);
	return rc < 0 ? -1 : 0;
}

/* Turns a finished run into the scan's outcome. */
static int
sarif_outcome(const struct sarif_state *st, const struct prs_scan_ctx *ctx,
    const char *output, const char *console, int status, int timed_out,
    struct prs_scan_result **result)
{
	char line[SARIF_REASON_MAX + 1];

	if (timed_out && ctx->cancel != NULL && *ctx->cancel)
		return prs_error_set("%s was cancelled", sarif_name);
	if (timed_out)
		return prs_error_set("%s timed out after %ld s", sarif_name,
		    ctx->timeout_s);
	if (status >= 0 && status < 256 && st->ok_exits[status])
		return sarif_parse_log(ctx, output, result);
	sarif_last_line(console, ctx->clone_dir, line, sizeof(line));
	if (line[0] == '\0' && !prs_sarif_cmd_has_output(st->cmd))
		sarif_stdout_reason(output, ctx->clone_dir, line, sizeof(line));
	if (line[0] != '\0')
		return prs_error_set("%s exited %d: %s", sarif_name, status,
		    line);
	return prs_error_set("%s exited %d", sarif_name, status);
}

static int
sarif_run(const struct sarif_state *st, const struct prs_scan_ctx *ctx,
    const char *const *envp, const char *output, const char *console,
    struct prs_scan_result **result)
{
	struct prs_proc_opts o;
	char **argv = NULL;
	const char *const *cargv;
	char why[512];
	int status, timed_out, rc;

	if (prs_sarif_cmd_argv(st->cmd, ctx->clone_dir, output, &argv) < 0)
		return -1;
	memcpy(&cargv, &argv, sizeof(cargv));
	o = (struct prs_proc_opts){ cargv, envp, ctx->clone_dir,
	    ctx->timeout_s, console, ctx->cancel, ctx->max_memory,
	    ctx->max_output, ctx->max_files };
	if (prs_sarif_cmd_has_output(st->cmd))
		rc = prs_proc_run(&o, &status, &timed_out);
	else
		rc = prs_proc_run_split(&o, output, &status, &timed_out);
	prs_sarif_argv_free(argv);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s", prs_error_last());
		return prs_error_set("could not start %s: %s", sarif_name,
		    why);
	}
	return sarif_outcome(st, ctx, output, console, status, timed_out,
	    result);
}

static int
sarif_scan(void *state, const struct prs_scan_ctx *ctx,
    struct prs_scan_result **result)
{
	struct sarif_env env = { NULL, 0, 0 };
	char *output = sarif_join(ctx->out_dir, SARIF_OUTPUT);
	char *console = sarif_join(ctx->out_dir, SARIF_CONSOLE);
	char *tmp = sarif_join(ctx->out_dir, "tmp");
	const char *const *envp;
	int rc = -1;

	*result = NULL;
	if (output == NULL || console == NULL || tmp == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
		prs_error_set("mkdir %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (sarif_env_build(&env, ctx->out_dir, tmp) < 0)
		goto out;

	memcpy(&envp, &env.v, sizeof(envp));
	rc = sarif_run(state, ctx, envp, output, console, result);
out:
	sarif_env_dispose(&env);
	free(tmp);
	free(console);
	free(output);
	return rc;
}

static int
sarif_name_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '-' || strlen(s) > SARIF_NAME_MAX)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return 0;
	return 1;
}

int
sarif_scanner_make(struct prs_scanner *s)
{
	const char *name = getenv("SCANNER_NAME");
	size_t i;

	memset(s, 0, sizeof(*s));
	if (name == NULL || *name == '\0')
		return prs_error_set("SCANNER_NAME is required (the scanner's "
		    "name, e.g. flawfinder)");
	if (!sarif_name_ok(name))
		return prs_error_set("SCANNER_NAME: not a scanner name (a-z, "
		    "0-9, -, at most %d characters)", SARIF_NAME_MAX);
	snprintf(sarif_name, sizeof(sarif_name), "%s", name);
	snprintf(sarif_stream, sizeof(sarif_stream), "worker-%s", name);
	for (i = 0; name[i] != '\0'; i++)
		sarif_prefix[i] = name[i] == '-' ? '_' :
		    (char)toupper((unsigned char)name[i]);
	sarif_prefix[i] = '_';
	sarif_prefix[i + 1] = '\0';

	s->name = sarif_name;
	s->check_name = sarif_name;
	s->default_stream = sarif_stream;
	s->init = sarif_init;
	s->scan = sarif_scan;
	s->fini = sarif_fini;
	return 0;
}
