/* HMAC-SHA256 signatures: GitHub's webhooks and prscan's callbacks. */
#ifndef PRSCAN_SIG_H
#define PRSCAN_SIG_H

#include <stddef.h>

#define PRS_SIG_HEX_LEN 64
/* "sha256=" + 64 hex digits + NUL */
#define PRS_SIG_HEADER_SIZE 72

/* Writes the lowercase hex HMAC-SHA256 of msg under key (65 bytes). */
int prs_hmac_sha256_hex(const void *key, size_t keylen, const void *msg,
    size_t len, char out[PRS_SIG_HEX_LEN + 1]);

/*
 * Checks an X-Hub-Signature-256 header ("sha256=" + hex) against the raw
 * body, in constant time.  Returns 0 on a match, -1 otherwise (a malformed
 * header included).
 */
int prs_sig_check_github(const char *secret, const void *body, size_t len,
    const char *header);

/* Writes "sha256=" + hex HMAC of "<ts>.<body>" under secret. */
int prs_sig_callback_make(const char *secret, long long ts, const void *body,
    size_t len, char out[PRS_SIG_HEADER_SIZE]);

/*
 * What of X-Prscan-Timestamp and X-Prscan-Signature can be checked before
 * the body is read: both present, the timestamp decimal and within
 * max_skew seconds of now, the signature well formed.  Returns 0 or -1
 * with prs_error_last() saying which.
 */
int prs_sig_callback_precheck(const char *ts_header, const char *sig_header,
    long long now, long max_skew);

/*
 * Checks X-Prscan-Timestamp and X-Prscan-Signature: the timestamp must be
 * decimal and within max_skew seconds of now, the signature must match in
 * constant time.  Returns 0 or -1 with prs_error_last() saying which.
 */
int prs_sig_callback_check(const char *secret, const char *ts_header,
    const char *sig_header, const void *body, size_t len, long long now,
    long max_skew);

#endif
