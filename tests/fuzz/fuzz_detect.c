/*
 * prs_detect_parse over arbitrary RAPID results, with the manifest search
 * in a small clone: no crash, no leak, paths relative and inside.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "prscan/detect.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	fuzz_clone_root();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prs_scan_result *r = NULL;
	size_t i;

	if (prs_detect_parse((const char *)data, size, fuzz_clone_root(),
	    &r) == 0) {
		for (i = 0; i < r->nfindings; i++) {
			const char *p = r->findings[i].path;

			if (p != NULL && (p[0] == '/' || strstr(p, "..") ==
			    p || r->findings[i].line < 1))
				abort();
		}
	}
	prs_result_free(r);
	return 0;
}
