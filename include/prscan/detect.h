/* Black Duck Detect: RAPID scan results and the manifests they point at. */
#ifndef PRSCAN_DETECT_H
#define PRSCAN_DETECT_H

#include <stddef.h>
#include "prscan/finding.h"

/*
 * Parses a RAPID result file (`*_BlackDuck_DeveloperMode_Result.json`,
 * text of len bytes) into a new result (*out, the caller's).  Accepted:
 * a JSON array of components in the 2021 shape (violatingPolicyNames) or
 * the newer one (violatingPolicies with policySeverity), or the server's
 * answer {totalCount, items[]}.  Each component that violates a policy
 * becomes one finding: rule_id the component identifier (or
 * "name:version"), rule_name "<name> <version>: <policies>", severity the
 * most severe policy's (BLOCKER CRITICAL, CRITICAL HIGH, MAJOR MEDIUM,
 * MINOR LOW, anything else INFO), a description listing the policies,
 * vulnerabilities and upgrade guidance.  A component listed twice alike
 * gives one finding.
 *
 * root, when not NULL, is the clone's absolute path: each finding gets the
 * first manifest line naming its component (prs_detect_locate()).
 * Unknown keys are ignored.  Returns 0, or PRS_EINPUT with
 * prs_error_last() saying what is wrong, or -1 on OOM.
 */
int prs_detect_parse(const char *text, size_t len, const char *root,
    struct prs_scan_result **out);

/*
 * Points each finding of r without a path at the first line of a manifest
 * under root (package.json, package-lock.json, yarn.lock, pom.xml,
 * build.gradle, build.gradle.kts, requirements.txt, Pipfile.lock, go.mod,
 * Gemfile.lock, Cargo.toml, composer.json) that names the component as a
 * whole, case-sensitive token: `"name"` in JSON files,
 * `<artifactId>name</artifactId>` in pom.xml, `name` at the start of a
 * requirements.txt line, the token anywhere else.  The names tried come
 * from the finding's rule_id (a Detect component identifier such as
 * "npmjs:lodash/4.17.20" or "maven:group:artifact:1.0") and the component
 * name at the start of rule_name.  Manifests nearer the root win.
 * The walk skips .git and node_modules, follows no symlink, and stops at
 * a bounded depth, number of entries and file size; paths go through
 * prs_path_confine().  A finding whose component is named nowhere keeps
 * path NULL.  An unreadable root finds nothing.  Returns 0, or -1 on OOM.
 */
int prs_detect_locate(const char *root, struct prs_scan_result *r);

/*
 * Detect's name for one of its exit codes ("FAILURE_BLACKDUCK_CONNECTIVITY"
 * for 1, ...): borrowed, NULL when the code has none known here.
 */
const char *prs_detect_exit_name(int code);

#endif
