/*
 * prs_path_confine with arbitrary paths against a clone holding a
 * symlink inside and one out: what it accepts is relative, has no ".."
 * and, resolved, stays under the root.
 */
#include "common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"
#include "prscan/finding.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	fuzz_clone_root();
	return 0;
}

static int
has_dotdot(const char *p)
{
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* An existing path that resolves must resolve inside root. */
static void
check_inside(const char *root, const char *rel)
{
	char full[PATH_MAX * 2], real[PATH_MAX];
	size_t n = strlen(root);

	snprintf(full, sizeof(full), "%s/%s", root, rel);
	if (realpath(full, real) == NULL)
		return;
	if (strncmp(real, root, n) != 0 || (real[n] != '\0' &&
	    real[n] != '/'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *root = fuzz_clone_root();
	char *path = fuzz_strndup(data, size);
	char *out = NULL;
	int rc = prs_path_confine(root, path, &out);

	if (rc == 0) {
		if (out == NULL || out[0] == '/' || has_dotdot(out))
			abort();
		check_inside(root, out);
	} else if (out != NULL || rc != PRS_EINPUT) {
		abort();
	}
	free(out);
	free(path);
	return 0;
}
