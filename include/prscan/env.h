/* Configuration from the environment; secrets also from NAME_FILE. */
#ifndef PRSCAN_ENV_H
#define PRSCAN_ENV_H

#include <stddef.h>

/*
 * Reads NAME into *out (a new string, the caller frees), or a copy of def
 * when unset or empty; *out is NULL when both are missing.  Returns 0.
 */
int prs_env_string(const char *name, const char *def, char **out);

/*
 * Reads a secret from NAME, or from the file named by NAME_FILE, into *out
 * (free with prs_secret_free).  One trailing newline of a file is dropped.
 * Both set, an unreadable or empty file: -1 with prs_error_last() naming
 * the variable (never the value).  Neither set: 0 and *out NULL.
 */
int prs_env_secret(const char *name, char **out);

/*
 * Reads NAME as a decimal integer in [min, max], def when unset or empty.
 * Returns 0, or -1 with a message naming the variable and the range.
 */
int prs_env_long(const char *name, long def, long min, long max, long *out);

/* Zeroes a secret string before freeing it; accepts NULL. */
void prs_secret_free(char *s);

/* Zeroes n bytes in a way the compiler keeps. */
void prs_secret_wipe(void *p, size_t n);

#endif
