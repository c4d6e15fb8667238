/*
 * A scan's workspace: a private directory removed on every path.
 *
 * Its directory is flock()ed for its whole life, from before it takes
 * its final name (it is made as .prscan-ws-new-XXXXXX, locked, then
 * renamed prscan-ws-XXXXXX): a directory of WORK_DIR with that name, of
 * the worker's uid, whose lock can be taken belongs to no live worker,
 * and a worker starting up removes it, while the workspaces of live
 * replicas sharing WORK_DIR stay.  Other directories (WORK_DIR may be
 * /tmp) are never touched.
 */
#define _XOPEN_SOURCE 700
#include "worker_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/error.h"
#include "prscan/log.h"

#define PRS_WS_FDS 32
#define PRS_WS_PREFIX "prscan-ws-"
#define PRS_WS_PREFIX_LEN 10
#define PRS_WS_NAME_LEN (PRS_WS_PREFIX_LEN + 6)	/* mkdtemp's XXXXXX */

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

/* Makes the locked directory *tmpl, then names it prscan-ws-XXXXXX. */
static int
prs_ws_make_locked(const char *dir, char **tmpl, int *lock_fd)
{
	const char *suffix;
	char *final;
	size_t len;
	int fd;

	*tmpl = prs_ws_join(dir, "." PRS_WS_PREFIX "new-XXXXXX");
	if (*tmpl == NULL)
		return prs_error_set("out of memory");
	if (mkdtemp(*tmpl) == NULL)
		return prs_error_set("mkdtemp %s: %s", *tmpl, strerror(errno));
	fd = open(*tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		prs_error_set("locking %s: %s", *tmpl, strerror(errno));
		if (fd >= 0)
			close(fd);
		rmdir(*tmpl);
		return -1;
	}
	suffix = strrchr(*tmpl, '-') + 1;
	len = strlen(dir) + strlen(suffix) + PRS_WS_PREFIX_LEN + 2;
	final = malloc(len);
	if (final != NULL)
		snprintf(final, len, "%s/" PRS_WS_PREFIX "%s", dir, suffix);
	if (final == NULL || rename(*tmpl, final) < 0) {
		prs_error_set("rename %s: %s", *tmpl, final == NULL ?
		    "out of memory" : strerror(errno));
		close(fd);
		rmdir(*tmpl);
		free(final);
		return -1;
	}
	free(*tmpl);
	*tmpl = final;
	*lock_fd = fd;
	return 0;
}

int
prs_workspace_create(const char *dir, struct prs_workspace *ws)
{
	char *tmpl = NULL;
	int rc = -1;

	memset(ws, 0, sizeof(*ws));
	ws->lock_fd = -1;
	if (prs_ws_make_locked(dir, &tmpl, &ws->lock_fd) < 0)
		goto out;
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
	if (ws->lock_fd > 0)
		close(ws->lock_fd);
	memset(ws, 0, sizeof(*ws));
	ws->lock_fd = -1;
}

/* Removes dir/name when it is a workspace whose lock is free. */
static void
prs_ws_sweep_one(const char *dir, const char *name)
{
	char *path = prs_ws_join(dir, name);
	int fd = path != NULL ? open(path, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC) : -1;
	struct stat st;
	char q[600];

	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (prs_workspace_remove_tree(path) == 0)
			prs_info("abandoned workspace removed", "dir=%s", path);
		else
			prs_err("abandoned workspace not removed", "dir=%s "
			    "error=%s", path, prs_log_quote(prs_error_last(),
			    q, sizeof(q)));
	}
	if (fd >= 0)
		close(fd);
	free(path);
}

void
prs_workspace_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		prs_warn("WORK_DIR not swept", "dir=%s error=%s", dir,
		    strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strlen(e->d_name) == PRS_WS_NAME_LEN &&
		    strncmp(e->d_name, PRS_WS_PREFIX, PRS_WS_PREFIX_LEN) == 0)
			prs_ws_sweep_one(dir, e->d_name);
	closedir(d);
}
