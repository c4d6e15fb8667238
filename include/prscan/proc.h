/* Running a scanner: fork/exec without a shell, in its own group. */
#ifndef PRSCAN_PROC_H
#define PRSCAN_PROC_H

struct prs_proc_opts {
	const char *const *argv;	/* argv[0]: the program, from PATH */
	const char *const *envp;	/* the whole environment; NULL: empty */
	const char *cwd;		/* working directory, NULL: unchanged */
	long timeout_s;			/* whole group killed after this */
	const char *output_path;	/* stdout and stderr go here, or NULL */
	const volatile int *cancel;	/* nonzero: kill the group now */
	/*
	 * Resource limits of the program (and what it starts), 0 meaning
	 * the default.  max_memory is RLIMIT_DATA, the memory it may
	 * allocate (not RLIMIT_AS: Go and Java reserve far more address
	 * space than they use), default PRS_PROC_DEFAULT_MEMORY;
	 * max_output is RLIMIT_FSIZE, the largest file it may write (its
	 * output file included; a larger write kills it with SIGXFSZ),
	 * default PRS_PROC_DEFAULT_OUTPUT; max_files is RLIMIT_NOFILE,
	 * default PRS_PROC_DEFAULT_FILES.  Its CPU time (RLIMIT_CPU) is
	 * capped at timeout_s times the number of CPUs, plus a grace.
	 * A limit above the worker's own hard limit is lowered to it.
	 */
	long long max_memory;
	long long max_output;
	long max_files;
};

#define PRS_PROC_DEFAULT_MEMORY (8LL << 30)	/* 8 GiB */
#define PRS_PROC_DEFAULT_OUTPUT (4LL << 30)	/* 4 GiB */
#define PRS_PROC_DEFAULT_FILES 4096L

/*
 * Runs argv in a new process group and waits.  *status is the exit code,
 * or 128 + the signal when it was killed.  *timed_out is set when the
 * timeout (or *cancel) killed it.  Returns 0 when it ran (whatever its
 * exit code), -1 when it could not be started (prs_error_last() says why,
 * e.g. "kics: No such file or directory").
 */
int prs_proc_run(const struct prs_proc_opts *opts, int *status,
    int *timed_out);

/*
 * As prs_proc_run(), but the program's stdout alone goes to stdout_path
 * (created or truncated, mode 0600) and its stderr to opts->output_path:
 * for scanners that print their report.
 */
int prs_proc_run_split(const struct prs_proc_opts *opts,
    const char *stdout_path, int *status, int *timed_out);

/*
 * Checks at start-up that name is a program the scanner can be started
 * from: a path (with a '/') or a name looked up in path_list (the PATH
 * the child gets; NULL or empty: the default), as prs_proc_run() will.
 * Returns 0, or -1 with e.g. "kics: No such file or directory" or
 * "/opt/x: Permission denied" in prs_error_last().
 */
int prs_proc_check_program(const char *name, const char *path_list);

#endif
