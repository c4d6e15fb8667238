/* The KICS scanner plugged into the worker engine. */
#ifndef PRSCAN_KICS_SCANNER_H
#define PRSCAN_KICS_SCANNER_H

#include "prscan/worker.h"

/* name "kics", check run "KICS", stream "worker-kics"; reads KICS_BIN. */
extern const struct prs_scanner kics_scanner;

#endif
