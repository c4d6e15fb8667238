/* Black Duck Detect (RAPID scans) plugged into the worker engine. */
#ifndef PRSCAN_BLACKDUCK_SCANNER_H
#define PRSCAN_BLACKDUCK_SCANNER_H

#include "prscan/worker.h"

/*
 * name "blackduck", check run "Black Duck", stream "worker-blackduck";
 * reads DETECT_BIN, DETECT_ARGS, BLACKDUCK_URL and BLACKDUCK_API_TOKEN.
 */
extern const struct prs_scanner blackduck_scanner;

#endif
