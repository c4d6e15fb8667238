/* Running a scanner: fork/exec without a shell, in its own group. */
#ifndef PRSCAN_PROC_H
#define PRSCAN_PROC_H

struct prs_proc_opts {
	const char *const *argv;	/* argv[0] is the program, PATH searched */
	const char *const *envp;	/* the whole environment; NULL: empty */
	const char *cwd;		/* working directory, NULL: unchanged */
	long timeout_s;			/* whole group killed after this */
	const char *output_path;	/* stdout and stderr go here, or NULL */
	const volatile int *cancel;	/* nonzero: kill the group now */
};

/*
 * Runs argv in a new process group and waits.  *status is the exit code,
 * or 128 + the signal when it was killed.  *timed_out is set when the
 * timeout (or *cancel) killed it.  Returns 0 when it ran (whatever its
 * exit code), -1 when it could not be started (prs_error_last() says why,
 * e.g. "kics: No such file or directory").
 */
int prs_proc_run(const struct prs_proc_opts *opts, int *status,
    int *timed_out);

#endif
