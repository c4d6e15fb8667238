/*
 * What a repository asks of prscan: which scanners run on which changed
 * files, what is excluded, when a check fails and what is annotated.
 * Read from .github/prscan.yml (and the server-wide PRSCAN_CONFIG) with
 * libyaml, and the path patterns that decide whether a scanner runs.
 */
#ifndef PRSCAN_REPOCONFIG_H
#define PRSCAN_REPOCONFIG_H

#include <stddef.h>

#include "prscan/finding.h"

#define PRS_REPOCONFIG_MAX_BYTES (64 * 1024)	/* larger files refused */
#define PRS_REPOCONFIG_MAX_SCANNERS 16
#define PRS_REPOCONFIG_MAX_PATTERNS 256		/* per list */
#define PRS_REPOCONFIG_MAX_PATTERN 256		/* bytes of one pattern */
#define PRS_REPOCONFIG_MAX_DEPTH 8		/* nested collections */
#define PRS_REPOCONFIG_MAX_EVENTS 20000		/* YAML events, a file */

/*
 * 1 when path (a repository-relative file name, "/"-separated) matches
 * pattern, else 0.  Semantics, as .gitignore's with fnmatch(3) inside a
 * segment:
 *  - a pattern without "/" (but for a trailing one) matches in any
 *    directory ("*.tf" matches "a/b/main.tf");
 *  - a pattern with a "/" at its start or in its middle is anchored
 *    at the repository's root, a leading "/" only says so
 *    ("docs/README.md" matches that file, not "x/docs/README.md");
 *  - a trailing "/" matches everything below that directory, as if
 *    "**" followed it ("vendor/" matches "vendor/x.go" and
 *    "src/vendor/x.go", "/vendor/" only the first);
 *  - a segment that is exactly "**" matches zero or more directories:
 *    "**" alone matches every file, "a" then "**" everything under a
 *    (not a file named a), and "a", "**", "b" joined by slashes b at
 *    any depth below a;
 *  - any other segment is matched against one path segment with
 *    fnmatch(3) without flags: "*", "?" and "[...]" never match "/", do
 *    match a leading ".", and "\" quotes the next character; "**"
 *    inside a segment ("a**b") is the same as "*".
 * Matching is case-sensitive and takes time proportional to the number
 * of segments of the pattern times those of the path.
 */
int prs_glob_match(const char *pattern, const char *path);

/*
 * As prs_glob_match, charging the work (pattern segments times path
 * segments) to *budget: 1 or 0, or -1 when it cannot tell (a path over
 * 4096 bytes or 512 segments, the budget spent, out of memory).
 */
int prs_glob_match_within(const char *pattern, const char *path,
    long long *budget);

/*
 * 1 when pattern is acceptable in a configuration: non-empty, at most
 * PRS_REPOCONFIG_MAX_PATTERN bytes, not only slashes, no empty segment
 * ("a//b").  Else 0 with the reason in prs_error_last().
 */
int prs_glob_valid(const char *pattern);

/* One scanner's section; unset members fall back to the layer below. */
struct prs_repoconfig_scanner {
	char *name;
	int enabled;		/* 1, 0, or -1 when not said */
	char **paths;		/* NULL when not said */
	size_t npaths;
};

/* A parsed configuration file (one layer). */
struct prs_repoconfig {
	struct prs_repoconfig_scanner scanners[PRS_REPOCONFIG_MAX_SCANNERS];
	size_t nscanners;
	char **exclude;		/* NULL when not said */
	size_t nexclude;
	int has_fail_on;
	enum prs_severity fail_on;
	int annotate;		/* 1 changed, 0 all, -1 when not said */
};

/*
 * Parses a configuration of len bytes (at most PRS_REPOCONFIG_MAX_BYTES):
 * a YAML mapping with the keys
 *   scanners: {NAME: {enabled: BOOL, paths: [PATTERN, ...]}, ...}
 *   exclude: [PATTERN, ...]
 *   fail_on: CRITICAL|HIGH|MEDIUM|LOW|INFO|TRACE (any case)
 *   annotate: changed|all
 * where NAME must be one of known (nknown names).  An empty file is an
 * empty configuration.  Anchors, aliases, tags other than the core
 * schema's, more than one document, nesting deeper than
 * PRS_REPOCONFIG_MAX_DEPTH and more than PRS_REPOCONFIG_MAX_EVENTS
 * events are refused, so that no input makes the parser expand or walk
 * more than its size.  *out is the caller's (prs_repoconfig_free).
 * Returns 0, or PRS_EINPUT with "line N: what is wrong" in
 * prs_error_last(), or -1 when out of memory.
 */
int prs_repoconfig_parse(const char *text, size_t len,
    const char *const *known, size_t nknown, struct prs_repoconfig **out);

/* Frees a configuration; accepts NULL. */
void prs_repoconfig_free(struct prs_repoconfig *cfg);

/*
 * The built-in path patterns of a scanner, NULL-terminated and borrowed,
 * or NULL when it has none (it then runs on every change): KICS's
 * infrastructure-as-code files and Black Duck's dependency manifests and
 * lock files.
 */
const char *const *prs_repoconfig_default_paths(const char *scanner);

/*
 * The effective settings of two layers, srv (PRSCAN_CONFIG) below repo
 * (.github/prscan.yml); either may be NULL.  A key the repository sets
 * replaces the server's; a scanner's enabled and paths are looked up
 * separately.
 */
int prs_repoconfig_enabled(const struct prs_repoconfig *srv,
    const struct prs_repoconfig *repo, const char *scanner);
enum prs_severity prs_repoconfig_fail_on(const struct prs_repoconfig *srv,
    const struct prs_repoconfig *repo, enum prs_severity dflt);
int prs_repoconfig_annotate_changed(const struct prs_repoconfig *srv,
    const struct prs_repoconfig *repo, int dflt);

/*
 * 1 when scanner should scan a change of nfiles files (names; a renamed
 * file is given under both names): one of them matches its paths and
 * none of the exclude patterns.  A scanner without patterns matches any
 * file that is not excluded.  Else 0, with why (n bytes) saying so.
 * When a file cannot be told (too deep or long a path, or the matching
 * would take more than PRS_REPOCONFIG_MATCH_BUDGET steps), 1: a scan
 * too many is better than one skipped.
 */
#define PRS_REPOCONFIG_MATCH_BUDGET 20000000LL
int prs_repoconfig_wants(const struct prs_repoconfig *srv,
    const struct prs_repoconfig *repo, const char *scanner,
    const char *const *files, size_t nfiles, char *why, size_t n);

#endif
