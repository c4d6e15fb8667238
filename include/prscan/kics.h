/* KICS JSON reports, the current schema and the 2021 one. */
#ifndef PRSCAN_KICS_H
#define PRSCAN_KICS_H

#include <stddef.h>
#include "prscan/finding.h"

/*
 * Parses a KICS `results.json` (text of len bytes) into a new result.
 * root is the clone's absolute path: each file_name is confined to it
 * with prs_path_confine(); a finding whose path escapes keeps path NULL.
 * Lines below 1 become 1.  Unknown keys are ignored; only the query name,
 * id, severity and each file's name and line are required.
 * Returns 0, or PRS_EINPUT with prs_error_last() saying what is wrong.
 */
int prs_kics_parse(const char *text, size_t len, const char *root,
    struct prs_scan_result **out);

#endif
