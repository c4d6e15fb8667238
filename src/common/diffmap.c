/*
 * Changed lines of a pull request.  A file's lines are kept in the order
 * the hunks give them, which is ascending, so a lookup is a binary
 * search; files are few enough (GitHub lists at most 3000) to be found
 * by a linear walk.
 */
#include "prscan/diffmap.h"

#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"

struct dm_file {
	char *path;
	long *lines;
	size_t n;
	size_t cap;
};

struct prs_diffmap {
	struct dm_file *files;
	size_t n;
	size_t cap;
	size_t total;
};

struct prs_diffmap *
prs_diffmap_new(void)
{
	return calloc(1, sizeof(struct prs_diffmap));
}

void
prs_diffmap_free(struct prs_diffmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->files[i].path);
		free(m->files[i].lines);
	}
	free(m->files);
	free(m);
}

static struct dm_file *
dm_file_add(struct prs_diffmap *m, const char *path)
{
	struct dm_file *f;
	size_t cap;

	if (m->n == m->cap) {
		cap = m->cap ? m->cap * 2 : 16;
		f = realloc(m->files, cap * sizeof(*f));
		if (f == NULL)
			return NULL;
		m->files = f;
		m->cap = cap;
	}
	f = &m->files[m->n];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (f->path == NULL)
		return NULL;
	m->n++;
	return f;
}

static int
dm_line_add(struct prs_diffmap *m, struct dm_file *f, long line)
{
	long *v;
	size_t cap;

	if (f->n > 0 && f->lines[f->n - 1] >= line)
		return 0;
	if (f->n == f->cap) {
		cap = f->cap ? f->cap * 2 : 64;
		v = realloc(f->lines, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		f->lines = v;
		f->cap = cap;
	}
	f->lines[f->n++] = line;
	m->total++;
	return 0;
}

/* The new side's first line from "@@ -a[,b] +c[,d] @@"; -1 if malformed. */
static long
dm_hunk_start(const char *s)
{
	const char *plus = strstr(s, " +");
	char *end;
	long c;

	if (strncmp(s, "@@ -", 4) != 0 || plus == NULL)
		return -1;
	c = strtol(plus + 2, &end, 10);
	if (end == plus + 2 || c < 0)
		return -1;
	return c;
}

int
prs_diffmap_add_patch(struct prs_diffmap *m, const char *path,
    const char *patch)
{
	struct dm_file *f = dm_file_add(m, path);
	const char *p = patch;
	long line = -1;

	if (f == NULL)
		return prs_error_set("out of memory");
	while (*p != '\0') {
		size_t len = strcspn(p, "\n");

		if (*p == '@') {
			line = dm_hunk_start(p);
			if (line < 0)
				return PRS_EINPUT;
		} else if (line >= 0 && *p == '+') {
			if (dm_line_add(m, f, line++) < 0)
				return prs_error_set("out of memory");
		} else if (line >= 0 && *p != '-' && *p != '\\') {
			line++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

int
prs_diffmap_from_files(const json_t *files, struct prs_diffmap **out)
{
	struct prs_diffmap *m = prs_diffmap_new();
	const json_t *f;
	size_t i;

	*out = NULL;
	if (m == NULL)
		return prs_error_set("out of memory");
	json_array_foreach(files, i, f) {
		const char *path = json_string_value(json_object_get(f,
		    "filename"));
		const char *patch = json_string_value(json_object_get(f,
		    "patch"));

		if (path == NULL || patch == NULL)
			continue;
		if (prs_diffmap_add_patch(m, path, patch) == -1) {
			prs_diffmap_free(m);
			return -1;
		}
	}
	*out = m;
	return 0;
}

static int
dm_cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

int
prs_diffmap_has(const struct prs_diffmap *m, const char *path, long line)
{
	size_t i;

	if (m == NULL || path == NULL)
		return 0;
	for (i = 0; i < m->n; i++) {
		const struct dm_file *f = &m->files[i];

		if (strcmp(f->path, path) == 0 && f->n > 0 &&
		    bsearch(&line, f->lines, f->n, sizeof(long),
		    dm_cmp_long) != NULL)
			return 1;
	}
	return 0;
}

size_t
prs_diffmap_lines(const struct prs_diffmap *m)
{
	return m != NULL ? m->total : 0;
}
