/* Per-thread last error message. */
#include "prscan/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PRS_ERROR_SIZE 512

static _Thread_local char prs_error_buf[PRS_ERROR_SIZE];

/*
 * Formats into a copy first, so that the arguments may include
 * prs_error_last() itself ("publisher: %s").
 */
int
prs_error_set(const char *fmt, ...)
{
	char tmp[sizeof(prs_error_buf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(prs_error_buf, tmp, sizeof(prs_error_buf));
	return -1;
}

int
prs_error_prefix(const char *what)
{
	return prs_error_set("%s: %s", what, prs_error_buf);
}

const char *
prs_error_last(void)
{
	return prs_error_buf;
}

void
prs_error_clear(void)
{
	prs_error_buf[0] = '\0';
}
