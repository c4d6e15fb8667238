/* What a completed check run says: conclusion, output and annotations. */
#ifndef PRSCAN_CHECKRUN_H
#define PRSCAN_CHECKRUN_H

#include <jansson.h>
#include "prscan/finding.h"

#define PRS_CHECKRUN_MAX_ANNOTATIONS_PER_REQUEST 50
#define PRS_CHECKRUN_MAX_TEXT 65535
#define PRS_CHECKRUN_DEFAULT_MAX_ANNOTATIONS 1000

struct prs_diffmap;

/* How bodies are made; members after completed_at may stay zero. */
struct prs_checkrun_style {
	const char *check_name;		/* "KICS" */
	enum prs_severity fail_on;	/* FAIL_ON, default HIGH */
	int error_neutral;		/* ON_SCAN_ERROR=neutral */
	const char *completed_at;	/* ISO 8601 UTC */
	const struct prs_diffmap *changed; /* lines the pull request
					   changed; NULL: not known */
	int changed_only;		/* ANNOTATE=changed */
	size_t max_annotations;		/* MAX_ANNOTATIONS; 0: the default */
	const char *blob_url;		/* "{server}/{owner}/{repo}/blob/{sha}"
					   for links, or NULL */
};

/* GitHub's annotation level for a severity: failure, warning or notice. */
const char *prs_checkrun_level(enum prs_severity s);

/* "failure" when any finding is at or above fail_on, else "success". */
const char *prs_checkrun_conclusion(const struct prs_scan_result *r,
    enum prs_severity fail_on);

/*
 * The PATCH bodies that complete a check run from a scan result: a new
 * JSON array.  The first body sets status completed, conclusion,
 * completed_at and output {title, summary, text, annotations}; each later
 * body repeats output's title, summary and text with the next
 * annotations.  Every body carries at most 50 annotations (a result
 * without findings gives one body with none); summary and text hold at
 * most 65535 characters, names and descriptions Markdown-escaped.
 * Findings on lines st->changed holds are annotated first, the others
 * after unless st->changed_only, at most st->max_annotations in all; the
 * summary counts findings per severity on changed lines and elsewhere,
 * says how many were not annotated, and lists the most severe with links
 * under st->blob_url.  Findings without a path are never annotated.
 * NULL on OOM.
 */
json_t *prs_checkrun_completion(const struct prs_checkrun_style *st,
    const struct prs_scan_result *r);

/*
 * The PATCH body for a scan that could not run: completed, failure (or
 * neutral), the reason in the summary.  A new reference, NULL on OOM.
 */
json_t *prs_checkrun_scan_error(const struct prs_checkrun_style *st,
    const char *reason);

#endif
