/*
 * Running a scanner: fork and exec without a shell, in a process group of
 * its own so that a timeout kills whatever the scanner started too.
 *
 * PATH: argv[0] without a slash is looked up in the PATH of the child's
 * environment (opts->envp), not the worker's, before forking; when envp
 * holds no PATH the default "/usr/local/bin:/usr/bin:/bin" is searched.
 * Empty PATH elements are skipped rather than meaning ".".  The child then
 * calls execve() on the resolved path, so nothing after fork() allocates.
 *
 * A failure in the child after fork (chdir, limits, exec) is reported to
 * the parent through a close-on-exec pipe: the pipe reads empty when exec
 * succeeded, and holds {step, errno} otherwise.
 *
 * Resource limits are worked out in the parent (each clamped to the
 * worker's own hard limit, so that the child only ever lowers them) and
 * set in the child between fork and exec; what the scanner starts
 * inherits them.
 *
 * The child gets SIGKILL when the worker dies (PR_SET_PDEATHSIG), so a
 * worker killed with SIGKILL leaves no scanner behind; what the scanner
 * started itself is not covered.
 */
#define _GNU_SOURCE
#include "prscan/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prscan/clock.h"
#include "prscan/error.h"

/* Seconds between SIGTERM and SIGKILL. */
#define PRS_PROC_GRACE_S 5
/* Milliseconds between two looks at the child. */
#define PRS_PROC_POLL_MS 20
#define PRS_PROC_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

enum prs_proc_step {
	PRS_PROC_STEP_CHDIR = 1,
	PRS_PROC_STEP_EXEC,
	PRS_PROC_STEP_SETUP,
	PRS_PROC_STEP_LIMITS
};

#define PRS_PROC_NLIMITS 5

struct prs_proc_failure {
	int step;
	int err;
};

/* What the child needs, prepared before fork(). */
struct prs_proc_child {
	const char *path;		/* resolved program */
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int in_fd;			/* /dev/null */
	int out_fd;			/* output file or /dev/null */
	int err_fd;			/* out_fd, or output_path's file */
	int report_fd;			/* failure pipe, write end */
	int max_fd;
	pid_t parent;			/* the worker, for PDEATHSIG */
	int limit_res[PRS_PROC_NLIMITS];	/* RLIMIT_* */
	struct rlimit limits[PRS_PROC_NLIMITS];
	struct rlimit soft_only[PRS_PROC_NLIMITS];	/* hard unchanged */
};

static char *const prs_proc_empty_env[] = { NULL };


static void
prs_proc_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const char *
prs_proc_env_path(const char *const *envp)
{
	if (envp == NULL)
		return PRS_PROC_DEFAULT_PATH;
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return PRS_PROC_DEFAULT_PATH;
}

static int
prs_proc_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

/*
 * Finds name in the directories of PATH (from envp) into buf.  Returns 0,
 * or -1 with "name: No such file or directory" (or the reason the last
 * candidate was refused) in the error.
 */
static int
prs_proc_resolve(const char *name, const char *const *envp, char *buf,
    size_t n)
{
	const char *dir = prs_proc_env_path(envp);
	int err = ENOENT;

	if (*name == '\0')
		return prs_error_set("empty program name");
	if (strchr(name, '/') != NULL) {
		if ((size_t)snprintf(buf, n, "%s", name) >= n)
			return prs_error_set("%s: %s", name,
			    strerror(ENAMETOOLONG));
		return 0;
	}

	while (*dir != '\0') {
		size_t len = strcspn(dir, ":");

		if (len > 0 && (size_t)snprintf(buf, n, "%.*s/%s", (int)len,
		    dir, name) < n) {
			if (prs_proc_executable(buf))
				return 0;
			if (errno == EACCES)
				err = EACCES;
		}
		dir += len;
		if (*dir == ':')
			dir++;
	}
	return prs_error_set("%s: %s", name, strerror(err));
}

int
prs_proc_check_program(const char *name, const char *path_list)
{
	char path[PATH_MAX], var[PATH_MAX + 8];
	const char *envp[] = { var, NULL };

	snprintf(var, sizeof(var), "PATH=%s", path_list != NULL &&
	    *path_list != '\0' ? path_list : PRS_PROC_DEFAULT_PATH);
	if (prs_proc_resolve(name, envp, path, sizeof(path)) < 0)
		return -1;
	errno = 0;
	if (!prs_proc_executable(path))
		return prs_error_set("%s: %s", name, errno == 0 ?
		    "not an executable file" : strerror(errno));
	return 0;
}

static void
prs_proc_child_fail(int fd, int step)
{
	struct prs_proc_failure f = { step, errno };
	ssize_t w;

	w = write(fd, &f, sizeof(f));
	(void)w;
	_exit(127);
}

static void
prs_proc_child_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);	/* fails for KILL and STOP */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Closes every descriptor from `from` up. */
static void
prs_proc_child_close_from(int from, int max_fd)
{
	int fd;

	if (close_range((unsigned int)from, ~0U, 0) == 0)
		return;
	for (fd = from; fd < max_fd; fd++)
		close(fd);
}

/*
 * A limit of want (0: def), never above the worker's own hard limit;
 * *soft_only is the same soft limit with the hard one left as it is.
 */
static struct rlimit
prs_proc_limit(int res, long long want, long long def, long long hard_extra,
    struct rlimit *soft_only)
{
	struct rlimit cur = { RLIM_INFINITY, RLIM_INFINITY }, lim;
	rlim_t soft, hard;

	if (want <= 0)
		want = def;
	soft = (rlim_t)want;
	hard = (rlim_t)(want + hard_extra);
	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
		if (hard > cur.rlim_max)
			hard = cur.rlim_max;
		if (soft > hard)
			soft = hard;
	}
	lim.rlim_cur = soft;
	lim.rlim_max = hard;
	soft_only->rlim_cur = soft;
	soft_only->rlim_max = cur.rlim_max;
	return lim;
}

static void
prs_proc_limits(struct prs_proc_child *c, const struct prs_proc_opts *opts)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long long cpu;

	if (ncpu < 1)
		ncpu = 1;
	/* Scanners use every core: timeout_s of wall time on each. */
	cpu = (opts->timeout_s > 0 ? opts->timeout_s : 1) * (long long)ncpu +
	    PRS_PROC_GRACE_S;
	c->limit_res[0] = RLIMIT_CORE;
	c->limits[0] = (struct rlimit){ 0, 0 };
	c->soft_only[0] = c->limits[0];
	c->limit_res[1] = RLIMIT_CPU;
	c->limits[1] = prs_proc_limit(RLIMIT_CPU, cpu, cpu, PRS_PROC_GRACE_S,
	    &c->soft_only[1]);
	c->limit_res[2] = RLIMIT_DATA;
	c->limits[2] = prs_proc_limit(RLIMIT_DATA, opts->max_memory,
	    PRS_PROC_DEFAULT_MEMORY, 0, &c->soft_only[2]);
	c->limit_res[3] = RLIMIT_FSIZE;
	c->limits[3] = prs_proc_limit(RLIMIT_FSIZE, opts->max_output,
	    PRS_PROC_DEFAULT_OUTPUT, 0, &c->soft_only[3]);
	c->limit_res[4] = RLIMIT_NOFILE;
	c->limits[4] = prs_proc_limit(RLIMIT_NOFILE, opts->max_files,
	    PRS_PROC_DEFAULT_FILES, 0, &c->soft_only[4]);
}

/* Runs in the child: async-signal-safe calls only, never returns. */
static void
prs_proc_child_run(const struct prs_proc_child *c)
{
	int report = c->report_fd;
	int i;

	setpgid(0, 0);
	prs_proc_child_signals();
	/*
	 * Killed with the worker (the forking thread, which lives as long
	 * as the worker does); a worker that died before this line is seen
	 * by getppid().
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->parent)
		_exit(127);

	if (dup2(c->in_fd, 0) < 0 || dup2(c->out_fd, 1) < 0 ||
	    dup2(c->err_fd, 2) < 0)
		prs_proc_child_fail(report, PRS_PROC_STEP_SETUP);

	/* The report pipe moves to fd 3, still close-on-exec. */
	if (report != 3) {
		if (dup3(report, 3, O_CLOEXEC) < 0)
			prs_proc_child_fail(report, PRS_PROC_STEP_SETUP);
		report = 3;
	}
	prs_proc_child_close_from(4, c->max_fd);

	if (c->cwd != NULL && chdir(c->cwd) < 0)
		prs_proc_child_fail(report, PRS_PROC_STEP_CHDIR);
	/*
	 * Lowering a hard limit never fails on Linux, but emulators such as
	 * valgrind refuse to change RLIMIT_NOFILE's: then the soft one only.
	 */
	for (i = 0; i < PRS_PROC_NLIMITS; i++)
		if (setrlimit(c->limit_res[i], &c->limits[i]) < 0 &&
		    (errno != EPERM ||
		    setrlimit(c->limit_res[i], &c->soft_only[i]) < 0))
			prs_proc_child_fail(report, PRS_PROC_STEP_LIMITS);

	execve(c->path, c->argv, c->envp);
	prs_proc_child_fail(report, PRS_PROC_STEP_EXEC);
}

static int
prs_proc_open_output(const char *path)
{
	int fd;

	if (path == NULL)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	else
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	if (fd < 0)
		prs_error_set("%s: %s", path != NULL ? path : "/dev/null",
		    strerror(errno));
	return fd;
}

/*
 * Reads the failure pipe until exec closes it.  Returns 0 when the child
 * is running the program, -1 with the error set otherwise.
 */
static int
prs_proc_read_report(int fd, const struct prs_proc_opts *opts)
{
	struct prs_proc_failure f;
	ssize_t n;

	do
		n = read(fd, &f, sizeof(f));
	while (n < 0 && errno == EINTR);

	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(f))
		return prs_error_set("%s: could not be started",
		    opts->argv[0]);

	switch (f.step) {
	case PRS_PROC_STEP_CHDIR:
		return prs_error_set("chdir %s: %s", opts->cwd,
		    strerror(f.err));
	case PRS_PROC_STEP_EXEC:
		return prs_error_set("%s: %s", opts->argv[0], strerror(f.err));
	case PRS_PROC_STEP_LIMITS:
		return prs_error_set("%s: setting resource limits: %s",
		    opts->argv[0], strerror(f.err));
	default:
		return prs_error_set("%s: setting up the child: %s",
		    opts->argv[0], strerror(f.err));
	}
}

/* The whole environment as execve wants it, without casting const away. */
static char *const *
prs_proc_vec(const char *const *v)
{
	char *const *out;

	if (v == NULL)
		return prs_proc_empty_env;
	memcpy(&out, &v, sizeof(out));
	return out;
}

static void
prs_proc_reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/*
 * Forks the child, its stdout to stdout_path when not NULL; *pid on
 * success.  Returns 0 or -1 with the error set.
 */
static int
prs_proc_start(const struct prs_proc_opts *opts, const char *path,
    const char *stdout_path, pid_t *pid)
{
	struct prs_proc_child c;
	int pipefd[2] = { -1, -1 };
	int in_fd = -1, out_fd = -1, err_fd = -1;
	long maxfd = sysconf(_SC_OPEN_MAX);
	int rc = -1;

	in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in_fd < 0) {
		prs_error_set("/dev/null: %s", strerror(errno));
		goto out;
	}
	out_fd = prs_proc_open_output(opts->output_path);
	if (out_fd >= 0 && stdout_path != NULL) {
		err_fd = out_fd;
		out_fd = prs_proc_open_output(stdout_path);
	}
	if (out_fd < 0)
		goto out;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		prs_error_set("pipe: %s", strerror(errno));
		goto out;
	}

	c.path = path;
	c.argv = prs_proc_vec(opts->argv);
	c.envp = prs_proc_vec(opts->envp);
	c.cwd = opts->cwd;
	c.in_fd = in_fd;
	c.out_fd = out_fd;
	c.err_fd = err_fd >= 0 ? err_fd : out_fd;
	c.report_fd = pipefd[1];
	c.max_fd = maxfd > 0 && maxfd < INT_MAX ? (int)maxfd : 1024;
	prs_proc_limits(&c, opts);
	c.parent = getpid();

	*pid = fork();
	if (*pid < 0) {
		prs_error_set("fork: %s", strerror(errno));
		goto out;
	}
	if (*pid == 0)
		prs_proc_child_run(&c);

	/* Both sides set the group so that kill(-pid) works at once. */
	setpgid(*pid, *pid);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (prs_proc_read_report(pipefd[0], opts) < 0) {
		prs_proc_reap(*pid);
		goto out;
	}
	rc = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return rc;
}

/*
 * Waits for pid, killing its group on timeout or cancel: SIGTERM first,
 * SIGKILL after the grace period.  Returns the wait status.
 */
static int
prs_proc_wait(pid_t pid, const struct prs_proc_opts *opts, int *killed)
{
	long long deadline = prs_clock_ms() + opts->timeout_s * 1000;
	long long term_at = 0;
	int st = 0;

	*killed = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		long long now;

		if (r == pid || (r < 0 && errno != EINTR))
			break;

		now = prs_clock_ms();
		if (!*killed && (now >= deadline ||
		    (opts->cancel != NULL && *opts->cancel))) {
			kill(-pid, SIGTERM);
			*killed = 1;
			term_at = now;
		} else if (*killed && term_at != 0 &&
		    now - term_at >= PRS_PROC_GRACE_S * 1000) {
			kill(-pid, SIGKILL);
			term_at = 0;
		}
		prs_proc_sleep_ms(PRS_PROC_POLL_MS);
	}

	/* Sweep whatever the scanner left running in its group. */
	kill(-pid, SIGKILL);
	return st;
}

static int
prs_proc_run_to(const struct prs_proc_opts *opts, const char *stdout_path,
    int *status, int *timed_out)
{
	char path[PATH_MAX];
	pid_t pid = -1;
	int st, killed;

	*status = -1;
	*timed_out = 0;
	if (opts->argv == NULL || opts->argv[0] == NULL)
		return prs_error_set("no program to run");
	if (prs_proc_resolve(opts->argv[0], opts->envp, path,
	    sizeof(path)) < 0)
		return -1;
	if (prs_proc_start(opts, path, stdout_path, &pid) < 0)
		return -1;

	st = prs_proc_wait(pid, opts, &killed);
	if (WIFEXITED(st))
		*status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		*status = 128 + WTERMSIG(st);
	*timed_out = killed;
	return 0;
}

int
prs_proc_run(const struct prs_proc_opts *opts, int *status, int *timed_out)
{
	return prs_proc_run_to(opts, NULL, status, timed_out);
}

int
prs_proc_run_split(const struct prs_proc_opts *opts,
    const char *stdout_path, int *status, int *timed_out)
{
	return prs_proc_run_to(opts, stdout_path, status, timed_out);
}
