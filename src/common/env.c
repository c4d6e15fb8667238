/* Configuration from the environment; secrets also from NAME_FILE. */
#include "prscan/env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "prscan/error.h"

/* A secret file larger than this is refused: keys and tokens are small. */
#define PRS_SECRET_MAX (1024L * 1024L)

static const char *
prs_env_get(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0') ? v : NULL;
}

int
prs_env_string(const char *name, const char *def, char **out)
{
	const char *v = prs_env_get(name);

	*out = NULL;
	if (v == NULL)
		v = def;
	if (v == NULL)
		return 0;
	*out = strdup(v);
	if (*out == NULL)
		return prs_error_set("%s: out of memory", name);
	return 0;
}

void
prs_secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
prs_secret_free(char *s)
{
	if (s == NULL)
		return;
	prs_secret_wipe(s, strlen(s));
	free(s);
}

/* Doubles buf's capacity, wiping the old copy.  Returns 0 or -1. */
static int
prs_env_grow(char **buf, size_t len, size_t *cap)
{
	size_t ncap = *cap * 2;
	char *nbuf = malloc(ncap);

	if (nbuf == NULL)
		return -1;
	memcpy(nbuf, *buf, len);
	prs_secret_wipe(*buf, *cap);
	free(*buf);
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/*
 * Reads the whole file at path into a new NUL-terminated buffer.  On
 * failure returns -1 with errno set (EFBIG when over PRS_SECRET_MAX).
 */
static int
prs_env_slurp(const char *path, char **out, size_t *outlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t cap = 4096, len = 0, got;
	int rc = -1;

	f = fopen(path, "rb");
	if (f == NULL)
		goto out;
	buf = malloc(cap);
	if (buf == NULL)
		goto out;

	for (;;) {
		if (len + 1 == cap && prs_env_grow(&buf, len, &cap) < 0)
			goto out;
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (len > (size_t)PRS_SECRET_MAX) {
			errno = EFBIG;
			goto out;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		errno = EIO;
		goto out;
	}

	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;

out:
	if (buf != NULL) {
		prs_secret_wipe(buf, cap);
		free(buf);
	}
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
prs_env_secret_file(const char *name, const char *path, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return prs_error_set("%s_FILE: cannot read the file: "
		    "it is a directory", name);
	if (prs_env_slurp(path, &buf, &len) < 0)
		return prs_error_set("%s_FILE: cannot read the file: %s",
		    name, strerror(errno));

	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	}
	if (len == 0) {
		free(buf);
		return prs_error_set("%s_FILE: the file is empty", name);
	}
	*out = buf;
	return 0;
}

int
prs_env_secret(const char *name, char **out)
{
	char fname[256];
	const char *v = NULL;
	const char *path = NULL;

	*out = NULL;
	if ((size_t)snprintf(fname, sizeof(fname), "%s_FILE", name) >=
	    sizeof(fname))
		return prs_error_set("secret variable name too long");

	v = prs_env_get(name);
	path = prs_env_get(fname);
	if (v != NULL && path != NULL)
		return prs_error_set("%s and %s are both set; use only one",
		    name, fname);
	if (path != NULL)
		return prs_env_secret_file(name, path, out);
	if (v == NULL)
		return 0;

	*out = strdup(v);
	if (*out == NULL)
		return prs_error_set("%s: out of memory", name);
	return 0;
}

/* Strict decimal: an optional sign, then digits only. */
static int
prs_env_parse_long(const char *s, long *out)
{
	const char *p = s;
	char *end = NULL;
	long v;

	if (*p == '-' || *p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return -1;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
prs_env_long(const char *name, long def, long min, long max, long *out)
{
	const char *s = prs_env_get(name);
	long v = def;

	if (s != NULL && (prs_env_parse_long(s, &v) < 0 || v < min || v > max))
		return prs_error_set("%s: must be an integer between %ld "
		    "and %ld", name, min, max);
	*out = v;
	return 0;
}
