/* The monotonic clock every deadline and backoff is measured on. */
#include "prscan/clock.h"

#include <time.h>

long long
prs_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
