/* A scan's workspace: a private directory removed on every path. */
#define _XOPEN_SOURCE 700
#include "worker_internal.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/error.h"

#define PRS_WS_FDS 32

/* The first failure of the current walk; nftw has no payload. */
static _Thread_local int prs_ws_errno;

static char *
prs_ws_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s/%s", dir, name);
	return s;
}

int
prs_workspace_create(const char *dir, struct prs_workspace *ws)
{
	char *tmpl = prs_ws_join(dir, "prscan-XXXXXX");
	int rc = -1;

	memset(ws, 0, sizeof(*ws));
	if (tmpl == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	if (mkdtemp(tmpl) == NULL) {
		prs_error_set("mkdtemp %s: %s", tmpl, strerror(errno));
		goto out;
	}
	ws->root = realpath(tmpl, NULL);
	if (ws->root == NULL) {
		prs_error_set("realpath %s: %s", tmpl, strerror(errno));
		rmdir(tmpl);
		goto out;
	}
	ws->src = prs_ws_join(ws->root, "src");
	ws->out = prs_ws_join(ws->root, "out");
	if (ws->src == NULL || ws->out == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	if (mkdir(ws->out, 0700) < 0) {
		prs_error_set("mkdir %s: %s", ws->out, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		prs_workspace_dispose(ws);
	free(tmpl);
	return rc;
}

static int
prs_ws_remove_one(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	int r;

	(void)st;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		r = rmdir(path);
	else
		r = unlink(path);
	/* Keep going: remove as much as possible. */
	if (r < 0 && prs_ws_errno == 0)
		prs_ws_errno = errno;
	return 0;
}

int
prs_workspace_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	prs_ws_errno = 0;
	if (nftw(path, prs_ws_remove_one, PRS_WS_FDS, FTW_DEPTH | FTW_PHYS)
	    != 0 && prs_ws_errno == 0)
		prs_ws_errno = errno;
	if (prs_ws_errno != 0)
		return prs_error_set("removing %s: %s", path,
		    strerror(prs_ws_errno));
	return 0;
}

void
prs_workspace_dispose(struct prs_workspace *ws)
{
	if (ws == NULL)
		return;
	if (ws->root != NULL)
		prs_workspace_remove_tree(ws->root);
	free(ws->root);
	free(ws->src);
	free(ws->out);
	memset(ws, 0, sizeof(*ws));
}
