/* One small logging API: level, daemon and key=value fields on a line. */
#ifndef PRSCAN_LOG_H
#define PRSCAN_LOG_H

enum prs_log_level {
	PRS_LOG_DEBUG,
	PRS_LOG_INFO,
	PRS_LOG_WARN,
	PRS_LOG_ERROR,
	PRS_LOG_FATAL
};

/*
 * Names the daemon on every line and reads LOG_LEVEL (debug, info, warn,
 * error; default info) and LOG_FORMAT (text or json; default text).
 * Returns 0, or -1 with prs_error_last() naming the bad variable.
 */
int prs_log_init(const char *daemon);

/* Nonzero when a line at this level would be written. */
int prs_log_enabled(enum prs_log_level level);

/*
 * Writes one line to stderr: time, level, daemon, msg, then the fields,
 * which the caller formats as `key=value key=value`.  Values that may hold
 * spaces, quotes or `=` (anything from outside) must be passed through
 * prs_log_q() or prs_log_quote() first, never put in `key="%s"`.  The
 * level is checked before anything is formatted.  Never pass a secret.
 */
void prs_log(enum prs_log_level level, const char *msg, const char *fields,
    ...) __attribute__((format(printf, 3, 4)));

#define prs_debug(...) prs_log(PRS_LOG_DEBUG, __VA_ARGS__)
#define prs_info(...) prs_log(PRS_LOG_INFO, __VA_ARGS__)
#define prs_warn(...) prs_log(PRS_LOG_WARN, __VA_ARGS__)
#define prs_err(...) prs_log(PRS_LOG_ERROR, __VA_ARGS__)

/*
 * Copies s into buf (size n) in a form safe as one field value: printable
 * ASCII only, quoted with "" when it holds spaces or quotes.  Returns buf.
 */
const char *prs_log_quote(const char *s, char *buf, unsigned long n);

/*
 * prs_log_quote() into a buffer of the calling thread, for a value from
 * outside (an action, a ref name, an error text) passed straight to
 * prs_log() as `key=%s`: it can then neither end its field nor add one.
 * NULL reads as "-".  The buffer holds up to PRS_LOG_Q_SIZE - 1 bytes and
 * is reused after PRS_LOG_Q_SLOTS further calls on the thread, so one log
 * call may quote at most that many values.
 */
#define PRS_LOG_Q_SLOTS 8
#define PRS_LOG_Q_SIZE 512
const char *prs_log_q(const char *s);

#endif
