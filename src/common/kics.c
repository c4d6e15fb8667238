/*
 * KICS JSON reports.  Both the current schema (kics_version, CRITICAL and
 * TRACE) and the 2021 one (no kics_version, `value: null`) have the same
 * core: queries[] with query_name, query_id, severity and files[] with
 * file_name and line.  Everything else is optional and unknown keys are
 * ignored.
 */
#include "prscan/kics.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"

#define REPORT_MAX ((size_t)256 * 1024 * 1024)
#define FINDINGS_MAX 100000

/* What one query says about all its files; strings borrowed from JSON. */
struct kics_query {
	const char *name;
	const char *id;
	const char *url;
	const char *category;
	const char *description;
	enum prs_severity severity;
};

/* One file entry of a query; strings borrowed from JSON. */
struct kics_file {
	const char *file_name;
	const char *fingerprint;
	const char *expected;
	const char *actual;
	long line;
};

/*
 * Reads member key of o as a string into *out (borrowed).  Absent or null
 * leaves *out NULL, which is an error only when required.
 */
static int
get_string(const json_t *o, const char *key, int required,
    const char *where, size_t idx, const char **out)
{
	const json_t *v;

	*out = NULL;
	v = json_object_get(o, key);
	if ((v == NULL || json_is_null(v)) && !required)
		return 0;

	if (!json_is_string(v)) {
		prs_error_set("KICS report: %s %zu: %s is %s", where, idx, key,
		    v == NULL || json_is_null(v) ? "missing" :
		    "not a string");
		return PRS_EINPUT;
	}
	*out = json_string_value(v);
	return 0;
}

static int
query_read(const json_t *q, size_t qi, struct kics_query *kq)
{
	const char *sev;
	int rc;

	memset(kq, 0, sizeof(*kq));
	if (!json_is_object(q)) {
		prs_error_set("KICS report: query %zu is not an object", qi);
		return PRS_EINPUT;
	}

	if ((rc = get_string(q, "query_name", 1, "query", qi,
	    &kq->name)) < 0 ||
	    (rc = get_string(q, "query_id", 1, "query", qi, &kq->id)) < 0 ||
	    (rc = get_string(q, "severity", 1, "query", qi, &sev)) < 0 ||
	    (rc = get_string(q, "query_url", 0, "query", qi,
	    &kq->url)) < 0 ||
	    (rc = get_string(q, "category", 0, "query", qi,
	    &kq->category)) < 0 ||
	    (rc = get_string(q, "description", 0, "query", qi,
	    &kq->description)) < 0)
		return rc;

	/* A severity newer than this code is kept, as INFO. */
	if (prs_severity_parse(sev, &kq->severity) < 0)
		kq->severity = PRS_SEV_INFO;
	return 0;
}

static int
file_read_line(const json_t *o, size_t qi, struct kics_file *kf)
{
	const json_t *v;
	json_int_t line;

	v = json_object_get(o, "line");
	if (!json_is_integer(v)) {
		prs_error_set("KICS report: query %zu: a file's line is %s",
		    qi, v == NULL ? "missing" : "not an integer");
		return PRS_EINPUT;
	}

	line = json_integer_value(v);
	if (line > INT_MAX) {
		prs_error_set("KICS report: query %zu: a file's line is too "
		    "large", qi);
		return PRS_EINPUT;
	}
	kf->line = line < 1 ? 1 : (long)line;
	return 0;
}

static int
file_read(const json_t *o, size_t qi, struct kics_file *kf)
{
	int rc;

	memset(kf, 0, sizeof(*kf));
	if (!json_is_object(o)) {
		prs_error_set("KICS report: query %zu: a file entry is not "
		    "an object", qi);
		return PRS_EINPUT;
	}

	if ((rc = get_string(o, "file_name", 1, "query", qi,
	    &kf->file_name)) < 0 ||
	    (rc = get_string(o, "similarity_id", 0, "query", qi,
	    &kf->fingerprint)) < 0 ||
	    (rc = get_string(o, "expected_value", 0, "query", qi,
	    &kf->expected)) < 0 ||
	    (rc = get_string(o, "actual_value", 0, "query", qi,
	    &kf->actual)) < 0)
		return rc;

	return file_read_line(o, qi, kf);
}

/* A copy of s, NULL for NULL or ""; -1 on OOM. */
static int
dup_nonempty(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;

	*out = strdup(s);
	return *out == NULL ? -1 : 0;
}

static void
finding_clear(struct prs_finding *f)
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

/* The path of a file entry, or NULL when it escapes root. */
static int
file_path(const char *root, const char *name, char **out)
{
	int rc;

	*out = NULL;
	if (*name == '\0')
		return 0;

	rc = prs_path_confine(root, name, out);
	return rc == PRS_EINPUT ? 0 : rc;
}

static int
finding_append(struct prs_scan_result *r, const char *root,
    const struct kics_query *kq, const struct kics_file *kf)
{
	struct prs_finding f;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	f.severity = kq->severity;
	f.line = kf->line;
	if (dup_nonempty(kq->id, &f.rule_id) < 0 ||
	    dup_nonempty(kq->name, &f.rule_name) < 0 ||
	    dup_nonempty(kq->description, &f.description) < 0 ||
	    dup_nonempty(kq->category, &f.category) < 0 ||
	    dup_nonempty(kq->url, &f.url) < 0 ||
	    dup_nonempty(kf->fingerprint, &f.fingerprint) < 0 ||
	    dup_nonempty(kf->expected, &f.expected) < 0 ||
	    dup_nonempty(kf->actual, &f.actual) < 0) {
		prs_error_set("out of memory");
		goto out;
	}
	if (file_path(root, kf->file_name, &f.path) < 0)
		goto out;

	rc = prs_result_add(r, &f);
out:
	finding_clear(&f);
	return rc;
}

static int
query_parse(const json_t *q, size_t qi, const char *root,
    struct prs_scan_result *r)
{
	struct kics_query kq;
	struct kics_file kf;
	const json_t *files;
	size_t i;
	int rc;

	rc = query_read(q, qi, &kq);
	if (rc < 0)
		return rc;

	files = json_object_get(q, "files");
	if (files == NULL || json_is_null(files))
		return 0;
	if (!json_is_array(files)) {
		prs_error_set("KICS report: query %zu: files is not an array",
		    qi);
		return PRS_EINPUT;
	}

	for (i = 0; i < json_array_size(files); i++) {
		if (r->nfindings >= FINDINGS_MAX) {
			prs_error_set("KICS report: more than %d findings",
			    FINDINGS_MAX);
			return PRS_EINPUT;
		}
		rc = file_read(json_array_get(files, i), qi, &kf);
		if (rc == 0)
			rc = finding_append(r, root, &kq, &kf);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
report_head(const json_t *j, struct prs_scan_result *r)
{
	const json_t *v;

	v = json_object_get(j, "kics_version");
	if (json_is_string(v)) {
		r->scanner_version = strdup(json_string_value(v));
		if (r->scanner_version == NULL)
			return prs_error_set("out of memory");
	} else if (v != NULL && !json_is_null(v)) {
		prs_error_set("KICS report: kics_version is not a string");
		return PRS_EINPUT;
	}

	v = json_object_get(j, "files_scanned");
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		r->files_scanned = (long)json_integer_value(v);
	} else if (v != NULL && !json_is_null(v)) {
		prs_error_set("KICS report: files_scanned is not a count");
		return PRS_EINPUT;
	}
	return 0;
}

static int
report_load(const char *text, size_t len, json_t **out)
{
	json_error_t err;

	*out = NULL;
	if (text == NULL || len > REPORT_MAX) {
		prs_error_set("KICS report: missing or larger than %zu bytes",
		    REPORT_MAX);
		return PRS_EINPUT;
	}

	*out = json_loadb(text, len, 0, &err);
	if (*out == NULL) {
		prs_error_set("KICS report is not JSON: line %d: %s",
		    err.line, err.text);
		return PRS_EINPUT;
	}
	if (!json_is_object(*out)) {
		prs_error_set("KICS report is not a JSON object");
		return PRS_EINPUT;
	}
	return 0;
}

int
prs_kics_parse(const char *text, size_t len, const char *root,
    struct prs_scan_result **out)
{
	struct prs_scan_result *r = NULL;
	json_t *j = NULL;
	const json_t *queries;
	size_t i;
	int rc;

	*out = NULL;
	rc = report_load(text, len, &j);
	if (rc < 0)
		goto out;

	queries = json_object_get(j, "queries");
	if (!json_is_array(queries)) {
		rc = PRS_EINPUT;
		prs_error_set("KICS report: queries is %s",
		    queries == NULL ? "missing" : "not an array");
		goto out;
	}

	r = prs_result_new();
	if (r == NULL) {
		rc = prs_error_set("out of memory");
		goto out;
	}
	rc = report_head(j, r);
	for (i = 0; rc == 0 && i < json_array_size(queries); i++)
		rc = query_parse(json_array_get(queries, i), i, root, r);
	if (rc < 0)
		goto out;

	*out = r;
	r = NULL;
out:
	prs_result_free(r);
	json_decref(j);
	return rc;
}
