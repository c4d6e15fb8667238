/* Per-thread last error message. */
#include "prscan/error.h"

#include <stdarg.h>
#include <stdio.h>

#define PRS_ERROR_SIZE 512

static _Thread_local char prs_error_buf[PRS_ERROR_SIZE];

int
prs_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prs_error_buf, sizeof(prs_error_buf), fmt, ap);
	va_end(ap);
	return -1;
}

int
prs_error_prefix(const char *what)
{
	char copy[sizeof(prs_error_buf)];

	snprintf(copy, sizeof(copy), "%s", prs_error_buf);
	return prs_error_set("%s: %s", what, copy);
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
