/* Findings, scan results, their callback JSON and path confinement. */
#include "prscan/finding.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "prscan/error.h"

/* Caps on what a callback may carry. */
#define FINDINGS_MAX 100000
#define STRING_MAX (64 * 1024)
#define PATH_MAX_LEN 4096

static const char *const severity_names[PRS_SEV_COUNT] = {
	"TRACE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"
};

int
prs_severity_parse(const char *s, enum prs_severity *out)
{
	int i;

	if (s == NULL)
		return -1;

	for (i = 0; i < PRS_SEV_COUNT; i++) {
		if (strcasecmp(s, severity_names[i]) == 0) {
			*out = (enum prs_severity)i;
			return 0;
		}
	}
	return -1;
}

const char *
prs_severity_name(enum prs_severity s)
{
	if ((int)s < 0 || (int)s >= PRS_SEV_COUNT)
		return "UNKNOWN";
	return severity_names[s];
}

struct prs_scan_result *
prs_result_new(void)
{
	struct prs_scan_result *r;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;

	r->files_scanned = -1;
	r->duration_ms = -1;
	return r;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t max)
{
	size_t n;

	n = strlen(s);
	if (n <= max)
		return n;

	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* A copy of s (NULL stays NULL), cut to STRING_MAX bytes; -1 on OOM. */
static int
dup_capped(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;

	*out = strndup(s, utf8_cut(s, STRING_MAX));
	return *out == NULL ? -1 : 0;
}

static void
finding_dispose(struct prs_finding *f)
{
	free(f->rule_id);
	free(f->rule_name);
	free(f->path);
	free(f->description);
	free(f->expected);
	free(f->actual);
	free(f->category);
	free(f->url);
	free(f->fingerprint);
	memset(f, 0, sizeof(*f));
}

static int
finding_copy(struct prs_finding *dst, const struct prs_finding *src)
{
	int rc = -1;

	memset(dst, 0, sizeof(*dst));
	dst->severity = src->severity;
	dst->line = src->line;
	if (dup_capped(src->rule_id, &dst->rule_id) < 0 ||
	    dup_capped(src->rule_name, &dst->rule_name) < 0 ||
	    dup_capped(src->path, &dst->path) < 0 ||
	    dup_capped(src->description, &dst->description) < 0 ||
	    dup_capped(src->expected, &dst->expected) < 0 ||
	    dup_capped(src->actual, &dst->actual) < 0 ||
	    dup_capped(src->category, &dst->category) < 0 ||
	    dup_capped(src->url, &dst->url) < 0 ||
	    dup_capped(src->fingerprint, &dst->fingerprint) < 0)
		goto out;

	rc = 0;
out:
	if (rc < 0)
		finding_dispose(dst);
	return rc;
}

/*
 * Moves f into r (f is emptied).  The array only ever comes from here, so
 * its capacity is known without storing it: the smallest power of two
 * that holds nfindings.  It doubles when nfindings reaches a power of two.
 */
static int
result_take(struct prs_scan_result *r, struct prs_finding *f)
{
	struct prs_finding *grown;
	size_t n = r->nfindings;

	if (n >= SIZE_MAX / sizeof(*grown) / 2)
		return prs_error_set("too many findings");

	if ((n & (n - 1)) == 0) {
		grown = realloc(r->findings, (n ? 2 * n : 1) * sizeof(*grown));
		if (grown == NULL)
			return prs_error_set("out of memory adding a finding");
		r->findings = grown;
	}
	r->findings[r->nfindings++] = *f;
	memset(f, 0, sizeof(*f));
	return 0;
}

/* Strings longer than 64 KiB are cut at a UTF-8 character boundary. */
int
prs_result_add(struct prs_scan_result *r, const struct prs_finding *f)
{
	struct prs_finding copy;

	if (finding_copy(&copy, f) < 0)
		return prs_error_set("out of memory adding a finding");

	if (result_take(r, &copy) < 0) {
		finding_dispose(&copy);
		return -1;
	}
	return 0;
}

void
prs_result_free(struct prs_scan_result *r)
{
	size_t i;

	if (r == NULL)
		return;

	for (i = 0; i < r->nfindings; i++)
		finding_dispose(&r->findings[i]);
	free(r->findings);
	free(r->scanner_version);
	free(r);
}

/* Sets key to a string when s is not NULL; -1 on OOM. */
static int
set_opt_string(json_t *o, const char *key, const char *s)
{
	if (s == NULL)
		return 0;
	return json_object_set_new(o, key, json_string(s));
}

static json_t *
finding_to_json(const struct prs_finding *f)
{
	json_t *o;
	int bad = 0;

	o = json_object();
	if (o == NULL)
		return NULL;

	bad |= set_opt_string(o, "rule_id", f->rule_id);
	bad |= set_opt_string(o, "rule_name", f->rule_name);
	bad |= json_object_set_new(o, "severity",
	    json_string(prs_severity_name(f->severity)));
	bad |= set_opt_string(o, "path", f->path);
	if (f->path != NULL)
		bad |= json_object_set_new(o, "line", json_integer(f->line));
	bad |= set_opt_string(o, "description", f->description);
	bad |= set_opt_string(o, "expected", f->expected);
	bad |= set_opt_string(o, "actual", f->actual);
	bad |= set_opt_string(o, "category", f->category);
	bad |= set_opt_string(o, "url", f->url);
	bad |= set_opt_string(o, "fingerprint", f->fingerprint);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
prs_result_to_json(const struct prs_scan_result *r)
{
	json_t *o = NULL;
	json_t *list = NULL;
	size_t i;
	int bad = 0;

	o = json_object();
	list = json_array();
	if (o == NULL || list == NULL)
		goto fail;

	for (i = 0; i < r->nfindings; i++) {
		if (json_array_append_new(list,
		    finding_to_json(&r->findings[i])) < 0)
			goto fail;
	}

	bad |= set_opt_string(o, "scanner_version", r->scanner_version);
	bad |= json_object_set_new(o, "files_scanned",
	    json_integer(r->files_scanned));
	bad |= json_object_set_new(o, "duration_ms",
	    json_integer(r->duration_ms));
	bad |= json_object_set_new(o, "findings", list);
	list = NULL;
	if (r->omitted > 0)
		bad |= json_object_set_new(o, "omitted",
		    json_integer(r->omitted));
	if (bad)
		goto fail;
	return o;

fail:
	json_decref(list);
	json_decref(o);
	return NULL;
}

/* Compact JSON bytes of j, or SIZE_MAX when it cannot be built. */
static size_t
json_size(json_t *j)
{
	size_t n = j != NULL ? json_dumpb(j, NULL, 0, JSON_COMPACT) : 0;

	json_decref(j);
	return n > 0 ? n : SIZE_MAX;
}

/* Most severe first, then in report order. */
static int
fit_cmp(const void *a, const void *b)
{
	const struct prs_finding *const *x = a;
	const struct prs_finding *const *y = b;

	if ((*x)->severity != (*y)->severity)
		return (*x)->severity > (*y)->severity ? -1 : 1;
	return *x < *y ? -1 : *x > *y;
}

/* Moves the first keep of order into a new array for r, frees the rest. */
static int
fit_keep(struct prs_scan_result *r, struct prs_finding **order,
    size_t keep)
{
	struct prs_finding *kept;
	size_t i, cap = 1;

	while (cap < keep)
		cap *= 2;
	kept = calloc(cap, sizeof(*kept));
	if (kept == NULL)
		return prs_error_set("out of memory fitting the result");
	for (i = 0; i < r->nfindings; i++) {
		if (i < keep)
			kept[i] = *order[i];
		else
			finding_dispose(order[i]);
	}
	r->omitted += (long)(r->nfindings - keep);
	free(r->findings);
	r->findings = kept;
	r->nfindings = keep;
	return 0;
}

int
prs_result_fit(struct prs_scan_result *r, size_t max_bytes)
{
	struct prs_finding **order = NULL;
	size_t i, used, keep = 0;
	struct prs_scan_result head = *r;
	int rc = -1;

	head.nfindings = 0;
	head.omitted = (long)r->nfindings + r->omitted;
	used = json_size(prs_result_to_json(&head)) + 32;
	if (used > max_bytes)
		return prs_error_set("a result without findings exceeds %zu "
		    "bytes", max_bytes);
	if (r->nfindings <= FINDINGS_MAX && json_size(prs_result_to_json(r))
	    <= max_bytes)
		return 0;
	order = malloc((r->nfindings ? r->nfindings : 1) * sizeof(*order));
	if (order == NULL)
		return prs_error_set("out of memory fitting the result");
	for (i = 0; i < r->nfindings; i++)
		order[i] = &r->findings[i];
	qsort(order, r->nfindings, sizeof(*order), fit_cmp);
	for (; keep < r->nfindings && keep < FINDINGS_MAX; keep++) {
		used += json_size(finding_to_json(order[keep])) + 1;
		if (used > max_bytes)
			break;
	}
	rc = fit_keep(r, order, keep);
	free(order);
	return rc;
}

/*
 * Copies an optional string member into *out: absent or null leaves it
 * NULL; anything but a string without NUL bytes is PRS_EINPUT.
 */
static int
get_opt_string(const json_t *o, const char *key, char **out)
{
	const json_t *v;

	*out = NULL;
	v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return 0;

	if (!json_is_string(v)) {
		prs_error_set("finding member %s is not a string", key);
		return PRS_EINPUT;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		prs_error_set("finding member %s holds a NUL byte", key);
		return PRS_EINPUT;
	}
	if (dup_capped(json_string_value(v), out) < 0)
		return prs_error_set("out of memory");
	return 0;
}

/*
 * A path as the callback must carry it: relative, with no empty, "." or
 * ".." component, no leading or trailing '/', no backslash.
 */
static int
path_is_normal(const char *p)
{
	const char *c = p;
	size_t n;

	if (*p == '\0' || strlen(p) > PATH_MAX_LEN || strchr(p, '\\'))
		return 0;

	for (;;) {
		n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (c[n] == '\0')
			return 1;
		c += n + 1;
	}
}

static int
finding_strings_from_json(const json_t *o, struct prs_finding *f)
{
	int rc;

	if ((rc = get_opt_string(o, "rule_id", &f->rule_id)) < 0 ||
	    (rc = get_opt_string(o, "rule_name", &f->rule_name)) < 0 ||
	    (rc = get_opt_string(o, "path", &f->path)) < 0 ||
	    (rc = get_opt_string(o, "description", &f->description)) < 0 ||
	    (rc = get_opt_string(o, "expected", &f->expected)) < 0 ||
	    (rc = get_opt_string(o, "actual", &f->actual)) < 0 ||
	    (rc = get_opt_string(o, "category", &f->category)) < 0 ||
	    (rc = get_opt_string(o, "url", &f->url)) < 0 ||
	    (rc = get_opt_string(o, "fingerprint", &f->fingerprint)) < 0)
		return rc;
	return 0;
}

static int
finding_line_from_json(const json_t *o, size_t idx, struct prs_finding *f)
{
	const json_t *line;

	line = json_object_get(o, "line");
	if (!json_is_integer(line) || json_integer_value(line) < 1 ||
	    json_integer_value(line) > LONG_MAX) {
		prs_error_set("finding %zu has a path but no line >= 1", idx);
		return PRS_EINPUT;
	}
	f->line = (long)json_integer_value(line);
	return 0;
}

/*
 * Fills f (the caller's, emptied with finding_dispose also on failure)
 * from o.  A path that is not normal is dropped: summary only.
 */
static int
finding_from_json(const json_t *o, size_t idx, struct prs_finding *f)
{
	const json_t *sev;
	int rc;

	memset(f, 0, sizeof(*f));
	if (!json_is_object(o)) {
		prs_error_set("finding %zu is not an object", idx);
		return PRS_EINPUT;
	}

	rc = finding_strings_from_json(o, f);
	if (rc < 0)
		return rc;

	sev = json_object_get(o, "severity");
	if (!json_is_string(sev) ||
	    prs_severity_parse(json_string_value(sev), &f->severity) < 0) {
		prs_error_set("finding %zu has no valid severity", idx);
		return PRS_EINPUT;
	}

	if (f->path != NULL && !path_is_normal(f->path)) {
		free(f->path);
		f->path = NULL;
	}
	if (f->path == NULL)
		return 0;
	return finding_line_from_json(o, idx, f);
}

/* An optional integer >= -1; absent or null gives -1. */
static int
get_opt_count(const json_t *o, const char *key, long *out)
{
	const json_t *v;

	*out = -1;
	v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return 0;

	if (!json_is_integer(v) || json_integer_value(v) < -1 ||
	    json_integer_value(v) > LONG_MAX) {
		prs_error_set("%s is not an integer >= -1", key);
		return PRS_EINPUT;
	}
	*out = (long)json_integer_value(v);
	return 0;
}

static int
result_head_from_json(const json_t *j, struct prs_scan_result *r)
{
	int rc;

	rc = get_opt_string(j, "scanner_version", &r->scanner_version);
	if (rc < 0)
		return rc;

	rc = get_opt_count(j, "files_scanned", &r->files_scanned);
	if (rc == 0)
		rc = get_opt_count(j, "duration_ms", &r->duration_ms);
	if (rc == 0)
		rc = get_opt_count(j, "omitted", &r->omitted);
	if (r->omitted < 0)
		r->omitted = 0;
	return rc;
}

int
prs_result_from_json(const json_t *j, struct prs_scan_result **out)
{
	struct prs_scan_result *r = NULL;
	struct prs_finding f;
	const json_t *list;
	size_t i;
	int rc = PRS_EINPUT;

	*out = NULL;
	if (!json_is_object(j)) {
		prs_error_set("scan result is not a JSON object");
		goto out;
	}

	list = json_object_get(j, "findings");
	if (!json_is_array(list)) {
		prs_error_set("scan result has no findings array");
		goto out;
	}
	if (json_array_size(list) > FINDINGS_MAX) {
		prs_error_set("scan result has more than %d findings",
		    FINDINGS_MAX);
		goto out;
	}

	r = prs_result_new();
	if (r == NULL) {
		rc = prs_error_set("out of memory");
		goto out;
	}
	rc = result_head_from_json(j, r);
	if (rc < 0)
		goto out;

	for (i = 0; i < json_array_size(list); i++) {
		rc = finding_from_json(json_array_get(list, i), i, &f);
		if (rc == 0)
			rc = result_take(r, &f);
		if (rc < 0) {
			finding_dispose(&f);
			goto out;
		}
	}

	*out = r;
	r = NULL;
	rc = 0;
out:
	prs_result_free(r);
	return rc;
}

/*
 * Lexically normalises the '/'-separated relative path p in place: drops
 * empty and "." components, resolves "a/../b".  Returns -1 when a ".."
 * climbs above the start.
 */
static int
path_normalise(char *p)
{
	char *src = p;
	char *dst = p;
	size_t n;

	while (*src != '\0') {
		n = strcspn(src, "/");
		if (n == 2 && src[0] == '.' && src[1] == '.') {
			if (dst == p)
				return -1;
			while (dst > p && dst[-1] != '/')
				dst--;
			if (dst > p)
				dst--;
		} else if (n > 0 && !(n == 1 && src[0] == '.')) {
			if (dst != p)
				*dst++ = '/';
			memmove(dst, src, n);
			dst += n;
		}
		src += n;
		if (*src == '/')
			src++;
	}
	*dst = '\0';
	return 0;
}

/*
 * The part of the absolute, normalised path p below the absolute,
 * normalised root r: a pointer into p, or NULL when p is elsewhere.
 */
static const char *
path_below(const char *p, const char *r)
{
	size_t n;

	n = strlen(r);
	if (n == 0)
		return p;
	if (strncmp(p, r, n) != 0)
		return NULL;
	if (p[n] == '\0')
		return p + n;
	if (p[n] != '/')
		return NULL;
	return p + n + 1;
}

/* Is the existing path p, resolved, at or below the resolved root? */
static int
resolves_inside(const char *p, const char *realroot)
{
	char *real;
	int ok;

	real = realpath(p, NULL);
	if (real == NULL)
		return 0;

	ok = path_below(real + 1, realroot + 1) != NULL;
	free(real);
	return ok;
}

/*
 * Walks root/rel component by component; every symlink met must resolve
 * inside root.  Stops at the first component that does not exist.
 */
static int
symlinks_stay_inside(const char *root, const char *rel)
{
	char *realroot = NULL;
	char *buf = NULL;
	const char *c;
	struct stat st;
	size_t rootlen;
	int rc = PRS_EINPUT;

	realroot = realpath(root, NULL);
	if (realroot == NULL) {
		rc = 0;		/* no clone there: lexical is enough */
		goto out;
	}

	rootlen = strlen(root);
	buf = malloc(rootlen + strlen(rel) + 2);
	if (buf == NULL) {
		rc = prs_error_set("out of memory");
		goto out;
	}
	memcpy(buf, root, rootlen);
	buf[rootlen] = '/';

	c = rel;
	while (*c != '\0') {
		c += strcspn(c, "/");
		memcpy(buf + rootlen + 1, rel, (size_t)(c - rel));
		buf[rootlen + 1 + (c - rel)] = '\0';
		if (*c == '/')
			c++;
		if (lstat(buf, &st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				break;
			prs_error_set("path cannot be inspected");
			goto out;
		}
		if (S_ISLNK(st.st_mode) && !resolves_inside(buf, realroot)) {
			prs_error_set("path goes through a symlink that "
			    "leads out of the repository");
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	free(realroot);
	return rc;
}

/* Is p absolute: "/..." or a Windows drive "C:/..."? */
static int
path_is_absolute(const char *p)
{
	if (p[0] == '/')
		return 1;
	return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' &&
	    p[0] <= 'z')) && p[1] == ':';
}

/*
 * Cuts root off the absolute path p in place: root as given, or resolved
 * (a scanner may report the clone's real path).  -1 when p is elsewhere.
 */
static int
path_strip_root(char *p, const char *root)
{
	char *r = NULL;
	const char *below = NULL;

	if (p[0] != '/' || path_normalise(p + 1) < 0)
		return -1;

	r = strdup(root);
	if (r != NULL && path_normalise(r + 1) == 0)
		below = path_below(p + 1, r + 1);
	free(r);
	if (below == NULL) {
		r = realpath(root, NULL);
		if (r != NULL)
			below = path_below(p + 1, r + 1);
		free(r);
	}
	if (below == NULL)
		return -1;

	memmove(p, below, strlen(below) + 1);
	return 0;
}

/*
 * Makes the normalised relative form of path in *rel (a new string):
 * backslashes become '/', an absolute path must lie under root.
 */
static int
path_relative(const char *root, const char *path, char **rel)
{
	char *p;
	char *c;
	int rc = PRS_EINPUT;

	p = strdup(path);
	if (p == NULL)
		return prs_error_set("out of memory");

	for (c = p; *c != '\0'; c++)
		if (*c == '\\')
			*c = '/';

	if (path_is_absolute(p) && path_strip_root(p, root) < 0) {
		prs_error_set("path is outside the repository");
		goto out;
	}
	if (path_normalise(p) < 0) {
		prs_error_set("path climbs above the repository");
		goto out;
	}
	if (*p == '\0') {
		prs_error_set("path names the repository itself");
		goto out;
	}

	*rel = p;
	p = NULL;
	rc = 0;
out:
	free(p);
	return rc;
}

int
prs_path_confine(const char *root, const char *path, char **out)
{
	char *rel = NULL;
	int rc = PRS_EINPUT;

	*out = NULL;
	if (root == NULL || root[0] != '/' || path == NULL || *path == '\0') {
		prs_error_set("path or root is empty or root is relative");
		goto out;
	}
	if (strlen(path) > PATH_MAX_LEN || strlen(root) > PATH_MAX_LEN) {
		prs_error_set("path is too long");
		goto out;
	}

	rc = path_relative(root, path, &rel);
	if (rc < 0)
		goto out;

	rc = symlinks_stay_inside(root, rel);
	if (rc < 0)
		goto out;

	*out = rel;
	rel = NULL;
out:
	free(rel);
	return rc;
}
