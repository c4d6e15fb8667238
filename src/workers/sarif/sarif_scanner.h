/* Any scanner that writes SARIF, plugged into the worker engine. */
#ifndef PRSCAN_SARIF_SCANNER_H
#define PRSCAN_SARIF_SCANNER_H

#include "prscan/worker.h"

/*
 * Fills *s from SCANNER_NAME (a-z, 0-9 and '-', at most 40 characters):
 * name and check_name SCANNER_NAME, stream "worker-<SCANNER_NAME>"; its
 * init reads SCANNER_CMD and SCANNER_OK_EXITS.  The strings live until
 * the process ends.  Returns 0, or -1 with prs_error_last() naming the
 * variable.
 */
int sarif_scanner_make(struct prs_scanner *s);

#endif
