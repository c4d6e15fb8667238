/* Base64 decoding (OpenSSL's EVP decoder), for keys and file contents. */
#ifndef PRSCAN_BASE64_H
#define PRSCAN_BASE64_H

#include <stddef.h>

/*
 * Decodes n bytes of base64 text, line breaks allowed, into a new buffer
 * *out (the caller's, NUL-terminated) of *len bytes.  Returns 0, or
 * PRS_EINPUT when the text is not base64 and -1 when out of memory, with
 * prs_error_last() set and *out untouched; a partly decoded buffer is
 * wiped before it is freed, as the text may be a key.
 */
int prs_base64_decode(const char *text, size_t n, char **out, size_t *len);

#endif
