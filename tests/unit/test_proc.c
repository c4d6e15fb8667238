/* prs_proc_run: exit codes, timeouts, groups, output, env, cwd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prscan/error.h"
#include "prscan/proc.h"

static const char *const test_env[] = { "PATH=/usr/bin:/bin", NULL };

struct test_dir {
	char path[64];
	char out[128];
};

static int
setup(void **state)
{
	struct test_dir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/prscan-proc-XXXXXX");
	if (mkdtemp(d->path) == NULL)
		return -1;
	snprintf(d->out, sizeof(d->out), "%s/out.log", d->path);
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	struct test_dir *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

/* The whole file as a new string. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
run_sh(const char *script, const char *out, long timeout_s, int *status,
    int *timed_out)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct prs_proc_opts o = { argv, test_env, NULL, timeout_s, out, NULL,
	    0, 0, 0 };

	return prs_proc_run(&o, status, timed_out);
}

static void
test_exit_codes(void **state)
{
	int status, to;

	(void)state;
	assert_int_equal(run_sh("exit 0", NULL, 10, &status, &to), 0);
	assert_int_equal(status, 0);
	assert_int_equal(to, 0);
	assert_int_equal(run_sh("exit 3", NULL, 10, &status, &to), 0);
	assert_int_equal(status, 3);
	assert_int_equal(run_sh("exit 126", NULL, 10, &status, &to), 0);
	assert_int_equal(status, 126);
	assert_int_equal(run_sh("kill -9 $$", NULL, 10, &status, &to), 0);
	assert_int_equal(status, 128 + SIGKILL);
	assert_int_equal(to, 0);
}

/* 1 while pid names a live (not zombie) process. */
static int
alive(long pid)
{
	char path[64], buf[256];
	FILE *f;
	char *p;
	int live = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL) {
		p = strrchr(buf, ')');
		live = p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	}
	fclose(f);
	return live;
}

static long
read_pid(const char *path)
{
	char *s = slurp(path);
	long pid = strtol(s, NULL, 10);

	free(s);
	return pid;
}

static void
test_timeout_kills_group(void **state)
{
	struct test_dir *d = *state;
	char script[256], pidfile[128];
	time_t t0 = time(NULL);
	int status, to, i;
	long gpid;

	snprintf(pidfile, sizeof(pidfile), "%s/pid", d->path);
	snprintf(script, sizeof(script),
	    "sleep 100 & echo $! > '%s'; sleep 100", pidfile);
	assert_int_equal(run_sh(script, NULL, 1, &status, &to), 0);
	assert_int_equal(to, 1);
	assert_int_equal(status, 128 + SIGTERM);
	assert_true(time(NULL) - t0 < 5);

	gpid = read_pid(pidfile);
	assert_true(gpid > 1);
	for (i = 0; i < 100 && alive(gpid); i++)
		usleep(20000);
	assert_false(alive(gpid));
}

static void
test_term_ignored_gets_kill(void **state)
{
	time_t t0 = time(NULL);
	int status, to;

	(void)state;
	assert_int_equal(run_sh("trap '' TERM; sleep 100", NULL, 1, &status,
	    &to), 0);
	assert_int_equal(to, 1);
	assert_int_equal(status, 128 + SIGKILL);
	assert_true(time(NULL) - t0 >= 5);
	assert_true(time(NULL) - t0 < 20);
}

static void
test_cancel(void **state)
{
	const char *argv[] = { "sleep", "100", NULL };
	volatile int cancel = 1;
	struct prs_proc_opts o = { argv, test_env, NULL, 100, NULL, &cancel,
	    0, 0, 0 };
	time_t t0 = time(NULL);
	int status, to;

	(void)state;
	assert_int_equal(prs_proc_run(&o, &status, &to), 0);
	assert_int_equal(to, 1);
	assert_int_equal(status, 128 + SIGTERM);
	assert_true(time(NULL) - t0 < 5);
}

static void
test_missing_program(void **state)
{
	const char *argv[] = { "prscan-no-such-program", NULL };
	const char *abs[] = { "/nonexistent/prog", NULL };
	struct prs_proc_opts o = { argv, test_env, NULL, 10, NULL, NULL,
	    0, 0, 0 };
	int status, to;

	(void)state;
	assert_int_equal(prs_proc_run(&o, &status, &to), -1);
	assert_string_equal(prs_error_last(),
	    "prscan-no-such-program: No such file or directory");

	o.argv = abs;
	assert_int_equal(prs_proc_run(&o, &status, &to), -1);
	assert_string_equal(prs_error_last(),
	    "/nonexistent/prog: No such file or directory");
}

/* The child's PATH decides, not ours. */
static void
test_path_from_child_env(void **state)
{
	const char *argv[] = { "sh", "-c", "exit 4", NULL };
	const char *env[] = { "PATH=/nonexistent", NULL };
	struct prs_proc_opts o = { argv, env, NULL, 10, NULL, NULL,
	    0, 0, 0 };
	int status, to;

	(void)state;
	assert_int_equal(prs_proc_run(&o, &status, &to), -1);
	assert_string_equal(prs_error_last(),
	    "sh: No such file or directory");
}

static void
test_output_captured(void **state)
{
	struct test_dir *d = *state;
	int status, to;
	char *s;

	assert_int_equal(run_sh("echo out; echo err >&2; read x; echo r=$x",
	    d->out, 10, &status, &to), 0);
	assert_int_equal(status, 0);
	s = slurp(d->out);
	assert_string_equal(s, "out\nerr\nr=\n");
	free(s);

	/* Truncated on the next run, mode 0600. */
	assert_int_equal(run_sh("echo again", d->out, 10, &status, &to), 0);
	s = slurp(d->out);
	assert_string_equal(s, "again\n");
	free(s);
	{
		struct stat st;

		assert_int_equal(stat(d->out, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
}

static void
test_env_exact(void **state)
{
	struct test_dir *d = *state;
	const char *argv[] = { "env", NULL };
	const char *abs[] = { "/usr/bin/env", NULL };
	const char *env[] = { "A=1", "PATH=/usr/bin:/bin", "B=two words",
		NULL };
	struct prs_proc_opts o = { argv, env, NULL, 10, d->out, NULL,
	    0, 0, 0 };
	int status, to;
	char *s;

	assert_int_equal(setenv("PRSCAN_TEST_SECRET", "leak", 1), 0);
	assert_int_equal(prs_proc_run(&o, &status, &to), 0);
	assert_int_equal(status, 0);
	s = slurp(d->out);
	assert_string_equal(s, "A=1\nPATH=/usr/bin:/bin\nB=two words\n");
	free(s);

	o.argv = abs;
	o.envp = NULL;
	assert_int_equal(prs_proc_run(&o, &status, &to), 0);
	s = slurp(d->out);
	assert_string_equal(s, "");
	free(s);
}

static void
test_cwd(void **state)
{
	struct test_dir *d = *state;
	const char *argv[] = { "pwd", NULL };
	struct prs_proc_opts o = { argv, test_env, d->path, 10, d->out, NULL,
	    0, 0, 0 };
	char real[PATH_MAX], expect[PATH_MAX + 2];
	int status, to;
	char *s;

	assert_non_null(realpath(d->path, real));
	snprintf(expect, sizeof(expect), "%s\n", real);
	assert_int_equal(prs_proc_run(&o, &status, &to), 0);
	s = slurp(d->out);
	assert_string_equal(s, expect);
	free(s);

	o.cwd = "/nonexistent-dir";
	assert_int_equal(prs_proc_run(&o, &status, &to), -1);
	assert_string_equal(prs_error_last(),
	    "chdir /nonexistent-dir: No such file or directory");
}

/* Only 0, 1 and 2 reach the program, and no core dumps. */
static void
test_fds_closed_and_limits(void **state)
{
	struct test_dir *d = *state;
	int fd = open("/dev/null", O_RDONLY);	/* inheritable */
	int status, to;
	char *s;

	assert_true(fd > 2);
	/* No pipeline: the shell would hold the pipe's ends for a while. */
	assert_int_equal(run_sh("ls /proc/$$/fd; ulimit -c", d->out, 10,
	    &status, &to), 0);
	close(fd);
	s = slurp(d->out);
	assert_string_equal(s, "0\n1\n2\n0\n");
	free(s);
}

static int
run_limited(const char *script, const char *out, long long memory,
    long long output, long files, int *status)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct prs_proc_opts o = { argv, test_env, NULL, 10, out, NULL,
	    memory, output, files };
	int to;

	return prs_proc_run(&o, status, &to);
}

/* The limits asked for are the ones the program runs under. */
static void
test_limits_set(void **state)
{
	struct test_dir *d = *state;
	char expect[128];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int status;
	char *s;

	/* ulimit -d counts KiB, -f 512-byte blocks, -t seconds. */
	assert_int_equal(run_limited("ulimit -d; ulimit -f; ulimit -n; "
	    "ulimit -t", d->out, 512LL << 20, 64LL << 20, 100, &status), 0);
	assert_int_equal(status, 0);
	snprintf(expect, sizeof(expect), "524288\n131072\n100\n%ld\n",
	    10 * (ncpu > 0 ? ncpu : 1) + 5);
	s = slurp(d->out);
	assert_string_equal(s, expect);
	free(s);

	/* 0: the defaults. */
	assert_int_equal(run_limited("ulimit -d; ulimit -f; ulimit -n",
	    d->out, 0, 0, 0, &status), 0);
	snprintf(expect, sizeof(expect), "%lld\n%lld\n%ld\n",
	    PRS_PROC_DEFAULT_MEMORY / 1024, PRS_PROC_DEFAULT_OUTPUT / 512,
	    PRS_PROC_DEFAULT_FILES);
	s = slurp(d->out);
	assert_string_equal(s, expect);
	free(s);
}

/* A program writing past max_output is stopped by SIGXFSZ. */
static void
test_output_limit_kills(void **state)
{
	struct test_dir *d = *state;
	char script[256], big[128];
	struct stat st;
	int status;

	snprintf(big, sizeof(big), "%s/big", d->path);
	snprintf(script, sizeof(script), "exec head -c 1000000 /dev/zero "
	    "> '%s'", big);
	assert_int_equal(run_limited(script, d->out, 0, 65536, 0, &status),
	    0);
	assert_int_equal(status, 128 + SIGXFSZ);
	assert_int_equal(stat(big, &st), 0);
	assert_true(st.st_size <= 65536);

	/* Its own output file counts too. */
	assert_int_equal(run_limited("exec head -c 1000000 /dev/zero",
	    d->out, 0, 4096, 0, &status), 0);
	assert_int_equal(status, 128 + SIGXFSZ);
	assert_int_equal(stat(d->out, &st), 0);
	assert_true(st.st_size <= 4096);
}

/* Opens N descriptors more, exits with the errno of a failure. */
#define OPEN_N "exec python3 -c 'import os, sys\n" \
	"try:\n" \
	"    fds = [os.open(\"/dev/null\", 0) for _ in range(%d)]\n" \
	"except OSError as e:\n" \
	"    sys.exit(e.errno)'"

/* With max_files 8, the ninth descriptor cannot be opened. */
static void
test_files_limit(void **state)
{
	struct test_dir *d = *state;
	char script[512];
	int status;

	snprintf(script, sizeof(script), OPEN_N, 4);
	assert_int_equal(run_limited(script, d->out, 0, 0, 8, &status), 0);
	assert_int_equal(status, 0);
	snprintf(script, sizeof(script), OPEN_N, 6);
	assert_int_equal(run_limited(script, d->out, 0, 0, 8, &status), 0);
	assert_int_equal(status, EMFILE);
}

/* A program allocating past max_memory gets no memory. */
static void
test_memory_limit(void **state)
{
	struct test_dir *d = *state;
	int status;

	const char *script = "x=$(head -c 67108864 /dev/zero | tr '\\0' a);"
	    " echo ${#x}";
	char *out;

	/* 64 MiB in one shell variable: fine by default, not in 16 MiB. */
	assert_int_equal(run_limited(script, d->out, 0, 0, 0, &status), 0);
	assert_int_equal(status, 0);
	out = slurp(d->out);
	assert_string_equal(out, "67108864\n");
	free(out);
	assert_int_equal(run_limited(script, d->out, 16LL << 20, 0, 0,
	    &status), 0);
	assert_int_not_equal(status, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test_setup_teardown(test_timeout_kills_group,
		    setup, teardown),
		cmocka_unit_test(test_term_ignored_gets_kill),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_path_from_child_env),
		cmocka_unit_test_setup_teardown(test_output_captured, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_env_exact, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_closed_and_limits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_set, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_output_limit_kills, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_files_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_memory_limit, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
