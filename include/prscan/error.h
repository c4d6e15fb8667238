/* Per-thread last error, as libgit2 keeps it. */
#ifndef PRSCAN_ERROR_H
#define PRSCAN_ERROR_H

/* Outcome codes a caller branches on; anything else is -1. */
enum {
	PRS_OK = 0,
	PRS_ERR = -1,
	PRS_ENOTFOUND = -2,	/* the thing asked for does not exist */
	PRS_ERETRY = -3,	/* transient: try again later */
	PRS_EDUP = -4,		/* already done */
	PRS_EINPUT = -5		/* the input is malformed */
};

/*
 * Records a message for the calling thread, printf-style, replacing the
 * previous one; the arguments may include prs_error_last(). Always
 * returns -1 so that `return prs_error_set(...)` reads.
 */
int prs_error_set(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Puts "what: " before the calling thread's last message.  Always
 * returns -1.
 */
int prs_error_prefix(const char *what);

/* The calling thread's last message; borrowed, never NULL. */
const char *prs_error_last(void);

/* Forgets the calling thread's last message. */
void prs_error_clear(void);

#endif
