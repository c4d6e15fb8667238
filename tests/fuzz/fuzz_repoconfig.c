/*
 * prs_repoconfig_parse with arbitrary bytes: it accepts or refuses with
 * PRS_EINPUT and "line N: ...", never crashes or leaks, and what it
 * accepts drives the path patterns without harm.  The input also runs
 * through prs_glob_match, split at its first newline into pattern and
 * path.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"
#include "prscan/repoconfig.h"

static const char *const known[] = { "kics", "blackduck", "flawfinder" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	return 0;
}

static void
fuzz_wants(const struct prs_repoconfig *cfg)
{
	static const char *const files[] = { "main.tf", "a/b/yarn.lock",
		"vendor/x/Dockerfile", ".github/prscan.yml", "src/a.c" };
	char why[200];
	size_t i;

	for (i = 0; i < 3; i++) {
		prs_repoconfig_wants(cfg, NULL, known[i], files, 5, why,
		    sizeof(why));
		prs_repoconfig_enabled(NULL, cfg, known[i]);
	}
	prs_repoconfig_fail_on(NULL, cfg, PRS_SEV_HIGH);
	prs_repoconfig_annotate_changed(cfg, NULL, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *nl = strchr(text, '\n');
	struct prs_repoconfig *cfg = NULL;
	int rc = prs_repoconfig_parse((const char *)data, size, known, 3,
	    &cfg);

	if (rc == 0) {
		if (cfg == NULL)
			abort();
		fuzz_wants(cfg);
	} else if (cfg != NULL || (rc == PRS_EINPUT &&
	    strncmp(prs_error_last(), "line ", 5) != 0)) {
		abort();
	}
	prs_repoconfig_free(cfg);
	if (nl != NULL) {
		*nl = '\0';
		prs_glob_match(text, nl + 1);
	}
	free(text);
	return 0;
}
