/* The lines a pull request adds or changes, from its files' patches. */
#ifndef PRSCAN_DIFFMAP_H
#define PRSCAN_DIFFMAP_H

#include <stddef.h>
#include <jansson.h>

struct prs_diffmap;

/* A new, empty map (free with prs_diffmap_free); NULL on OOM. */
struct prs_diffmap *prs_diffmap_new(void);

/* Frees a map; accepts NULL. */
void prs_diffmap_free(struct prs_diffmap *m);

/*
 * Records the lines of the new version of path that patch (the hunks of
 * a unified diff, "@@ -a,b +c,d @@" headers) adds or changes.  Returns 0,
 * PRS_EINPUT for a malformed hunk header (the lines read before it are
 * kept) or -1 on OOM.
 */
int prs_diffmap_add_patch(struct prs_diffmap *m, const char *path,
    const char *patch);

/*
 * A map from GitHub's list of a pull request's files (objects with
 * filename and, for text files under GitHub's size limit, patch).  Files
 * without a patch count as unchanged.  *out is the caller's.  Returns 0
 * or -1 on OOM.
 */
int prs_diffmap_from_files(const json_t *files, struct prs_diffmap **out);

/* 1 when line of path is added or changed, else 0; m may be NULL. */
int prs_diffmap_has(const struct prs_diffmap *m, const char *path,
    long line);

/* Lines recorded over all files. */
size_t prs_diffmap_lines(const struct prs_diffmap *m);

#endif
