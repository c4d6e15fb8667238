/*
 * One clone as a prscan worker makes it: prs_git_fetch_checkout() from
 * libcommon (libgit2 fetch of the branch heads and refs/pull/PR/head,
 * then a detached checkout of SHA) into DEST.  The token comes from the
 * environment (CLONE_TOKEN), never from the command line.  Used by
 * bench/clone.sh.
 *
 *   clone_bench URL SHA PR DEST
 */
#include <stdio.h>
#include <stdlib.h>

#include "prscan/error.h"
#include "prscan/gitclone.h"

int
main(int argc, char **argv)
{
	const char *token = getenv("CLONE_TOKEN");

	if (argc != 5) {
		fprintf(stderr, "usage: clone_bench URL SHA PR DEST\n");
		return 2;
	}
	if (prs_git_init() < 0) {
		fprintf(stderr, "clone_bench: libgit2 init: %s\n",
		    prs_error_last());
		return 1;
	}
	if (prs_git_fetch_checkout(argv[1], token, argv[4], argv[2],
	    strtol(argv[3], NULL, 10), 300) < 0) {
		fprintf(stderr, "clone_bench: %s\n", prs_error_last());
		return 1;
	}
	return 0;
}
