/* prscanctl: the operator's command.  Shared between its subcommands. */
#ifndef PRSCAN_CTL_H
#define PRSCAN_CTL_H

#include <stddef.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#define CTL_USAGE 2		/* exit status of a command line error */

/* Options given anywhere on the command line. */
struct ctl {
	int json;		/* --json */
	int dry_run;		/* --dry-run */
	const char *stream;	/* --stream NAME */
	const char *since;	/* --since DURATION */
	const char *user;	/* --user LOGIN */
	char **args;		/* the positional arguments after the command */
	int nargs;
	redisContext *redis;	/* connected on first ctl_redis() */
};

/* The connection from REDIS_* / REDIS_URL; NULL after printing why. */
redisContext *ctl_redis(struct ctl *ctl);

/*
 * One command (printf-style, as redisCommand); NULL after recording
 * Redis's error (an error reply included) in prs_error_last().
 */
redisReply *ctl_cmd(struct ctl *ctl, const char *fmt, ...);

/* Like ctl_cmd with an argument vector. */
redisReply *ctl_cmdv(struct ctl *ctl, int argc, const char **argv);

/*
 * Every key matching pattern (of type type when not NULL), walked with
 * SCAN: a new JSON array of strings, sorted; NULL after an error.
 */
json_t *ctl_scan_keys(struct ctl *ctl, const char *pattern,
    const char *type);

/*
 * Calls fn for every entry of stream, oldest first, 500 at a time; fields
 * is the flat [k, v, ...] reply (borrowed).  fn returns 0 to go on, 1 to
 * stop, -1 to fail.  Returns 0, or -1 (Redis or fn failed).
 */
int ctl_stream_each(struct ctl *ctl, const char *stream,
    int (*fn)(struct ctl *ctl, const char *stream, const char *id,
    const redisReply *fields, void *arg), void *arg);

/* The server's clock in milliseconds (TIME); -1 on error. */
long long ctl_now_ms(struct ctl *ctl);

/* The milliseconds part of a stream entry id "<ms>-<seq>". */
long long ctl_entry_ms(const char *id);

/* Formats ms as "850ms", "4.2s", "3m07s", "2h05m", "3d04h". */
const char *ctl_duration(long long ms, char *buf, size_t n);

/* Parses "90", "90s", "30m", "2h", "3d" into seconds; 0 or -1. */
int ctl_parse_duration(const char *s, long long *seconds);

/* A field's value in a flat [k, v, k, v] reply; NULL when absent. */
const redisReply *ctl_field(const redisReply *fields, const char *name);

/* Prints j as indented JSON on stdout with a newline. */
void ctl_print_json(const json_t *j);

/*
 * Splits "owner/repo" into owner (on bytes) and repo (rn bytes), both
 * checked as GitHub names.  0, or -1 after printing why.
 */
int ctl_split_repo(const char *arg, char *owner, size_t on, char *repo,
    size_t rn);

/* Prints j as ctl_print_json() does, then releases it; accepts NULL. */
void ctl_print_new(json_t *j);

/* Prints "prscanctl: <what>: <prs_error_last()>" on stderr; returns 1. */
int ctl_fail(const char *what);

int ctl_status(struct ctl *ctl);
int ctl_dead(struct ctl *ctl);
int ctl_scan(struct ctl *ctl);
int ctl_redeliver(struct ctl *ctl);
int ctl_purge(struct ctl *ctl);

#endif
