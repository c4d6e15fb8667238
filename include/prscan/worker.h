/* The worker engine: one stream, one scanner, many replicas. */
#ifndef PRSCAN_WORKER_H
#define PRSCAN_WORKER_H

#include "prscan/finding.h"
#include "prscan/job.h"

struct prs_scan_ctx {
	const struct prs_job *job;
	const char *clone_dir;		/* absolute; the scanner's cwd */
	const char *out_dir;		/* absolute, empty, outside the clone */
	long timeout_s;			/* SCAN_TIMEOUT */
	const volatile int *cancel;	/* pass to prs_proc_run */
	/* Limits for prs_proc_opts, 0: prs_proc_run's defaults. */
	long long max_memory;		/* SCANNER_MAX_MEMORY, bytes */
	long long max_output;		/* SCANNER_MAX_OUTPUT, bytes */
	long max_files;			/* SCANNER_MAX_FILES */
};

/* A scanner plugged into the engine. */
struct prs_scanner {
	const char *name;		/* "kics": callback's scanner field */
	const char *check_name;		/* "KICS": the check run's name */
	const char *default_stream;	/* "worker-kics" */
	/* Reads the scanner's own configuration; 0 or -1 with the error. */
	int (*init)(void **state);
	/*
	 * Runs one scan.  Returns 0 with *result set, or -1 with a one-line
	 * reason in prs_error_last() (e.g. "KICS exited 126") for the check
	 * run; the engine reports that as a scan error.
	 */
	int (*scan)(void *state, const struct prs_scan_ctx *ctx,
	    struct prs_scan_result **result);
	void (*fini)(void *state);
};

/*
 * Runs the daemon: configuration from the environment, the consumer loop,
 * signals.  Returns the process's exit code.
 */
int prs_worker_main(const struct prs_scanner *scanner);

#endif
