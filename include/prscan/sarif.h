/* SARIF 2.1.0 logs, and the command line of a SARIF scanner. */
#ifndef PRSCAN_SARIF_H
#define PRSCAN_SARIF_H

#include <stddef.h>
#include "prscan/finding.h"

/* At most this many results are read from one log. */
#define PRS_SARIF_RESULTS_MAX 100000

/*
 * The severity of a result: a security-severity score (a CVSS-like number,
 * score < 0 when there is none) wins: >= 9 CRITICAL, >= 7 HIGH, >= 4
 * MEDIUM, > 0 LOW, 0 INFO.  Otherwise the level: "error" HIGH, "warning"
 * (and NULL) MEDIUM, "note" LOW, "none" or anything else INFO.
 */
enum prs_severity prs_sarif_severity(const char *level, double score);

/*
 * Parses a SARIF 2.1.0 log (text of len bytes) into a new result (*out,
 * the caller's).  Every result of every run becomes a finding, except those
 * of kind "pass" or "notApplicable":
 *   rule_id      ruleId, or the id of the rule named by ruleIndex / rule
 *   rule_name    the rule's name, else its shortDescription
 *   severity     prs_sarif_severity() of the result's level (else the
 *                rule's defaultConfiguration.level, else "warning", or
 *                "none" for kinds other than "fail") and its
 *                properties.security-severity (else the rule's)
 *   description  message.text (or markdown, or the rule's messageStrings
 *                entry with its {N} arguments), then the rule's
 *                fullDescription when it says something else
 *   url          the rule's helpUri
 *   fingerprint  the first of fingerprints, partialFingerprints, guid
 *   path, line   the first location's artifactLocation (its uri, or the
 *                run's artifacts[index]) and region.startLine (default 1)
 * A uri may be relative (to its uriBaseId, resolved through the run's
 * originalUriBaseIds, or to root), absolute, or a file:// URI; it is
 * percent-decoded, Windows separators are accepted, and the path is
 * confined to root (the clone's absolute path) with prs_path_confine().
 * When a uriBaseId resolves outside root (the scanner ran elsewhere), the
 * uri alone is taken relative to root.  A path that escapes, another URI
 * scheme or no location at all leaves the finding without a path.
 * scanner_version is the first run's tool.driver.version (or
 * semanticVersion).
 *
 * Unknown keys are ignored.  A member of the wrong type, an unknown level,
 * a ruleIndex outside the rules, a malformed security-severity, more than
 * PRS_SARIF_RESULTS_MAX results or a log over 256 MiB give PRS_EINPUT with
 * prs_error_last() saying what and where; -1 on OOM.
 */
int prs_sarif_parse(const char *text, size_t len, const char *root,
    struct prs_scan_result **out);

/* A parsed SCANNER_CMD template: opaque. */
struct prs_sarif_cmd;

/*
 * Splits the template tmpl on blanks into words; a double-quoted part
 * ("a b") keeps its blanks and loses its quotes (no escapes inside).
 * "{source}" and "{output}" anywhere in a word are placeholders, filled
 * in by prs_sarif_cmd_argv().  Returns 0 with *out (free with
 * prs_sarif_cmd_free), or PRS_EINPUT for an empty template, an unclosed
 * quote, a first word that is a placeholder or more than 256 words.
 */
int prs_sarif_cmd_parse(const char *tmpl, struct prs_sarif_cmd **out);

/* Does the template name {output}?  If not, the SARIF log is stdout. */
int prs_sarif_cmd_has_output(const struct prs_sarif_cmd *c);

/* The program: the template's first word, borrowed. */
const char *prs_sarif_cmd_program(const struct prs_sarif_cmd *c);

/*
 * The argument vector with every placeholder replaced: a new
 * NULL-terminated array of new strings in *argv (free with
 * prs_sarif_argv_free).  Returns 0, or -1 on OOM.
 */
int prs_sarif_cmd_argv(const struct prs_sarif_cmd *c, const char *source,
    const char *output, char ***argv);

/* Frees a vector from prs_sarif_cmd_argv(); accepts NULL. */
void prs_sarif_argv_free(char **argv);

/* Frees c; accepts NULL. */
void prs_sarif_cmd_free(struct prs_sarif_cmd *c);

/*
 * Reads a list of exit codes ("0,1", blanks allowed) into ok[256]: ok[n]
 * is 1 for each code listed, 0 otherwise.  Returns 0, or PRS_EINPUT for
 * an empty list or a word that is not a code from 0 to 255.
 */
int prs_sarif_exits_parse(const char *list, unsigned char ok[256]);

#endif
