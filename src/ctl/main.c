/*
 * prscanctl: looks at and repairs a running prscan through Redis, the
 * API's /fanout and GitHub.  See docs/operations.md.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"
#include "prscan/redis.h"

#define CTL_REDIS_TIMEOUT_MS 5000

static const char usage_text[] =
"usage: prscanctl [--json] COMMAND ...\n"
"\n"
"  status                        streams, pending entries, dead letters\n"
"  dead list [--stream S]        dead letters (all worker-* streams)\n"
"  dead show ID [--stream S]     one dead letter (entry or job id)\n"
"  dead replay ID [--stream S]   queue its job again, remove the letter\n"
"  dead drop ID [--stream S]     remove the letter\n"
"  scan OWNER/REPO PR            queue a scan of the pull request's head\n"
"  redeliver --since DURATION [--dry-run]\n"
"                                ask GitHub to redeliver failed deliveries\n"
"                                prscan never recorded (e.g. 2h, 30m)\n"
"  purge OWNER/REPO [--dry-run]  remove every record of a repository\n"
"  purge --user LOGIN [--dry-run]\n"
"                                remove every record naming a person\n"
"\n"
"Redis from REDIS_URL or REDIS_HOST, REDIS_PORT, REDIS_USERNAME,\n"
"REDIS_PASSWORD(_FILE); scan from API_URL and ADMIN_TOKEN(_FILE); scan and\n"
"redeliver from GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY(_FILE),\n"
"GITHUB_API_URL; purge also removes audit rows from DATABASE_URL(_FILE).\n";

static int
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "prscanctl: %s\n", why);
	fputs(usage_text, stderr);
	return CTL_USAGE;
}

/* The value of an option that takes one; NULL after a usage line. */
static const char *
opt_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "prscanctl: %s needs a value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* Where an option that takes a value keeps it; NULL for others. */
static const char **
opt_slot(struct ctl *ctl, const char *arg)
{
	if (strcmp(arg, "--stream") == 0)
		return &ctl->stream;
	if (strcmp(arg, "--since") == 0)
		return &ctl->since;
	if (strcmp(arg, "--user") == 0)
		return &ctl->user;
	return NULL;
}

/*
 * Splits options from positional arguments (kept in argv order).
 * Returns 0, -1 for --help, -2 after a usage line.
 */
static int
parse_args(struct ctl *ctl, int argc, char **argv)
{
	const char **slot;
	int i;

	for (i = 1; i < argc; i++) {
		slot = opt_slot(ctl, argv[i]);
		if (slot != NULL) {
			if ((*slot = opt_value(argc, argv, &i)) == NULL)
				return -2;
		} else if (strcmp(argv[i], "--json") == 0) {
			ctl->json = 1;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			ctl->dry_run = 1;
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			return -1;
		} else if (strncmp(argv[i], "--", 2) == 0) {
			usage("unknown option");
			return -2;
		} else {
			ctl->args[ctl->nargs++] = argv[i];
		}
	}
	return 0;
}

static int
dispatch(struct ctl *ctl)
{
	static const struct {
		const char *name;
		int (*fn)(struct ctl *);
	} cmds[] = {
		{ "status", ctl_status },
		{ "dead", ctl_dead },
		{ "scan", ctl_scan },
		{ "redeliver", ctl_redeliver },
		{ "purge", ctl_purge },
	};
	const char *name = ctl->args[0];
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
		if (strcmp(name, cmds[i].name) == 0) {
			ctl->args++;
			ctl->nargs--;
			return cmds[i].fn(ctl);
		}
	}
	return usage("unknown command");
}

redisContext *
ctl_redis(struct ctl *ctl)
{
	struct prs_redis_config cfg;

	if (ctl->redis != NULL)
		return ctl->redis;
	memset(&cfg, 0, sizeof(cfg));
	if (prs_redis_config_load(&cfg) < 0) {
		ctl_fail("configuration");
		return NULL;
	}
	ctl->redis = prs_redis_connect(&cfg, CTL_REDIS_TIMEOUT_MS);
	if (ctl->redis == NULL)
		ctl_fail("redis");
	prs_redis_config_dispose(&cfg);
	return ctl->redis;
}

int
main(int argc, char **argv)
{
	struct ctl ctl;
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int rc;

	memset(&ctl, 0, sizeof(ctl));
	if (args == NULL)
		return 1;
	ctl.args = args;
	rc = parse_args(&ctl, argc, argv);
	if (rc == -1) {
		fputs(usage_text, stdout);
		rc = 0;
	} else if (rc < 0) {
		rc = CTL_USAGE;
	} else if (ctl.nargs == 0) {
		rc = usage("a command is required");
	} else {
		rc = dispatch(&ctl);
	}
	if (ctl.redis != NULL)
		redisFree(ctl.redis);
	free(args);
	return rc;
}
