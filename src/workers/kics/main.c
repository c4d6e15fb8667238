/* prscan-worker-kics: the worker engine running KICS. */
#include "kics_scanner.h"

int
main(void)
{
	return prs_worker_main(&kics_scanner);
}
