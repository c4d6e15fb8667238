/*
 * prs_kics_parse over arbitrary reports, confined to a small clone: no
 * crash, no leak, and every path kept is relative and stays inside.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "prscan/kics.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	fuzz_clone_root();
	return 0;
}

static void
check_path(const char *p)
{
	if (p == NULL)
		return;
	if (p[0] == '/' || strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
	    strstr(p, "/../") != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prs_scan_result *r = NULL;
	size_t i;

	if (prs_kics_parse((const char *)data, size, fuzz_clone_root(),
	    &r) == 0) {
		for (i = 0; i < r->nfindings; i++) {
			check_path(r->findings[i].path);
			if (r->findings[i].path != NULL &&
			    r->findings[i].line < 1)
				abort();
		}
	}
	prs_result_free(r);
	return 0;
}
