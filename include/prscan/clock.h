/* A clock for deadlines and intervals, which wall-clock changes leave alone. */
#ifndef PRSCAN_CLOCK_H
#define PRSCAN_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
long long prs_clock_ms(void);

#endif
