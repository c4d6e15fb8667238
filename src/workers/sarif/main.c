/* prscan-worker-sarif: the worker engine running any SARIF scanner. */
#include <stdio.h>

#include "prscan/error.h"
#include "sarif_scanner.h"

int
main(void)
{
	struct prs_scanner scanner;

	if (sarif_scanner_make(&scanner) < 0) {
		fprintf(stderr, "prscan-worker-sarif: configuration error: "
		    "%s\n", prs_error_last());
		return 2;
	}
	return prs_worker_main(&scanner);
}
