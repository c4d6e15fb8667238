/* Findings, scan results and their JSON form on the callback. */
#ifndef PRSCAN_FINDING_H
#define PRSCAN_FINDING_H

#include <stddef.h>
#include <jansson.h>

/* Ordered: a higher value is more severe. */
enum prs_severity {
	PRS_SEV_TRACE,
	PRS_SEV_INFO,
	PRS_SEV_LOW,
	PRS_SEV_MEDIUM,
	PRS_SEV_HIGH,
	PRS_SEV_CRITICAL
};

#define PRS_SEV_COUNT 6

struct prs_finding {
	char *rule_id;		/* scanner's id of the rule or query */
	char *rule_name;	/* human title */
	enum prs_severity severity;
	char *path;		/* repository-relative, or NULL: summary only */
	long line;		/* >= 1 when path is set */
	char *description;
	char *expected;		/* may be NULL */
	char *actual;		/* may be NULL */
	char *category;		/* may be NULL */
	char *url;		/* may be NULL: rule documentation */
	char *fingerprint;	/* may be NULL: stable id of the finding */
};

struct prs_scan_result {
	char *scanner_version;	/* may be NULL */
	long files_scanned;	/* -1 when unknown */
	long duration_ms;	/* -1 when unknown */
	size_t nfindings;
	struct prs_finding *findings;
	long omitted;		/* findings left out to fit the callback */
};

/* Parses CRITICAL, HIGH, ... (any case); -1 when unknown. */
int prs_severity_parse(const char *s, enum prs_severity *out);

/* "CRITICAL", "HIGH", ...: borrowed. */
const char *prs_severity_name(enum prs_severity s);

/* A new, empty result (files_scanned and duration_ms -1); NULL on OOM. */
struct prs_scan_result *prs_result_new(void);

/*
 * Appends a copy of f (every string duplicated) to r.  Returns 0 or -1.
 */
int prs_result_add(struct prs_scan_result *r, const struct prs_finding *f);

/* Frees r and everything it holds; accepts NULL. */
void prs_result_free(struct prs_scan_result *r);

/* The callback's JSON form of r: a new reference. */
json_t *prs_result_to_json(const struct prs_scan_result *r);

/*
 * Keeps r's callback form under max_bytes of compact JSON and within the
 * API's count of findings: when it would not fit, the findings are
 * ordered most severe first (report order within a severity), those that
 * do not fit are freed and counted in r->omitted.  Returns 0, or -1 when
 * not even the result without findings fits.
 */
int prs_result_fit(struct prs_scan_result *r, size_t max_bytes);

/*
 * Reads the callback's JSON form into a new result (*out, the caller's).
 * Returns 0, or PRS_EINPUT with prs_error_last() saying what is wrong.
 */
int prs_result_from_json(const json_t *j, struct prs_scan_result **out);

/*
 * Turns a path from a scanner report into a repository-relative one in
 * *out (the caller frees).  root is the clone's absolute path; a path
 * under root, a relative path and Windows separators are accepted.  A path
 * that escapes the root (absolute elsewhere, "..", a symlink that leads
 * out) gives PRS_EINPUT and *out NULL.
 */
int prs_path_confine(const char *root, const char *path, char **out);

#endif
