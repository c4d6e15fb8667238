/*
 * Path patterns: fnmatch(3) inside a segment, "**" across segments.
 * The match is a table over (pattern segment, path segment) filled from
 * the end, so that no pattern backtracks more than once per cell.
 */
#include "prscan/repoconfig.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"

#define GLOB_MAX_SEGS 512
#define GLOB_MAX_PATH 4096

/* Splits s (modified) at "/" into at most max segments; their count. */
static size_t
glob_split(char *s, char **segs, size_t max)
{
	size_t n = 0;
	char *p = s, *slash;

	while (n < max) {
		slash = strchr(p, '/');
		if (slash != NULL)
			*slash = '\0';
		segs[n++] = p;
		if (slash == NULL)
			return n;
		p = slash + 1;
	}
	return max + 1;
}

/*
 * The pattern as anchored segments: "x" becomes "**", "x"; "d/" becomes
 * "d", "*", "**"; a leading "/" is dropped.  A new string.
 */
static char *
glob_normal(const char *pattern)
{
	size_t n = strlen(pattern);
	int anchored = strchr(pattern, '/') != NULL &&
	    strchr(pattern, '/') != pattern + n - 1;
	char *buf = malloc(n + 8);

	if (buf == NULL)
		return NULL;
	buf[0] = '\0';
	if (!anchored)
		strcpy(buf, "**/");
	strcat(buf, pattern[0] == '/' ? pattern + 1 : pattern);
	/* "d/" and "d/" + "**" hold what is inside d, not d itself. */
	n = strlen(buf);
	if (n >= 3 && strcmp(buf + n - 3, "/**") == 0)
		buf[n - 2] = '\0';
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '/')
		strcat(buf, "*/**");
	return buf;
}

static int
glob_table(char **ps, size_t np, char **fs, size_t nf)
{
	unsigned char *m = calloc((np + 1) * (nf + 1), 1);
	size_t i, j, w = nf + 1;
	int rc;

	if (m == NULL)
		return 0;
	m[np * w + nf] = 1;
	for (i = np; i-- > 0;) {
		for (j = nf + 1; j-- > 0;) {
			if (strcmp(ps[i], "**") == 0)
				m[i * w + j] = m[(i + 1) * w + j] ||
				    (j < nf && m[i * w + j + 1]);
			else
				m[i * w + j] = j < nf &&
				    m[(i + 1) * w + j + 1] &&
				    fnmatch(ps[i], fs[j], 0) == 0;
		}
	}
	rc = m[0];
	free(m);
	return rc;
}

int
prs_glob_match_within(const char *pattern, const char *path,
    long long *budget)
{
	char *pat = NULL, *file = NULL;
	char **ps = NULL, **fs = NULL;
	size_t np, nf;
	int rc = -1;

	if (pattern == NULL || path == NULL || *path == '\0')
		return 0;
	if (strlen(path) > GLOB_MAX_PATH)
		return -1;
	pat = glob_normal(pattern);
	file = strdup(path);
	ps = calloc(GLOB_MAX_SEGS + 1, sizeof(*ps));
	fs = calloc(GLOB_MAX_SEGS + 1, sizeof(*fs));
	if (pat == NULL || file == NULL || ps == NULL || fs == NULL)
		goto out;
	np = glob_split(pat, ps, GLOB_MAX_SEGS);
	nf = glob_split(file, fs, GLOB_MAX_SEGS);
	if (np > GLOB_MAX_SEGS || nf > GLOB_MAX_SEGS ||
	    (long long)(np * nf) > *budget)
		goto out;
	*budget -= (long long)(np * nf);
	rc = glob_table(ps, np, fs, nf);
out:
	free(pat);
	free(file);
	free(ps);
	free(fs);
	return rc;
}

int
prs_glob_match(const char *pattern, const char *path)
{
	long long budget = LLONG_MAX;

	return prs_glob_match_within(pattern, path, &budget) == 1;
}

/* How many backslashes end the n bytes of s. */
static size_t
glob_trailing_escapes(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && s[n - 1 - k] == '\\')
		k++;
	return k;
}

int
prs_glob_valid(const char *pattern)
{
	size_t n = pattern != NULL ? strlen(pattern) : 0;

	if (n == 0)
		prs_error_set("a path pattern is empty");
	else if (n > PRS_REPOCONFIG_MAX_PATTERN)
		prs_error_set("path pattern longer than %d bytes",
		    PRS_REPOCONFIG_MAX_PATTERN);
	else if (strspn(pattern, "/") == n)
		prs_error_set("path pattern \"%s\" names no file", pattern);
	else if (strstr(pattern, "//") != NULL)
		prs_error_set("path pattern \"%s\" has an empty segment",
		    pattern);
	else if (glob_trailing_escapes(pattern, n) % 2 == 1)
		prs_error_set("path pattern \"%s\" ends in a lone \\",
		    pattern);
	else
		return 1;
	return 0;
}
