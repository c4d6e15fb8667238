/* prscan-worker-blackduck: the worker engine running Black Duck Detect. */
#include "blackduck_scanner.h"

int
main(void)
{
	return prs_worker_main(&blackduck_scanner);
}
