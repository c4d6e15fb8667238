/* Base64 decoding through OpenSSL's EVP encoder context. */
#include "prscan/base64.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "prscan/env.h"
#include "prscan/error.h"

int
prs_base64_decode(const char *text, size_t n, char **out, size_t *len)
{
	unsigned char *buf = NULL;
	EVP_ENCODE_CTX *ctx = NULL;
	int outl = 0, fin = 0, rc = -1;

	if (n > INT_MAX - 1 || (buf = malloc(n + 1)) == NULL ||
	    (ctx = EVP_ENCODE_CTX_new()) == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	EVP_DecodeInit(ctx);
	/*
	 * OpenSSL stops at a '-' as at the end of the data: text that yields
	 * nothing but is not blank ("-----BEGIN ...") is no base64 either.
	 */
	if (EVP_DecodeUpdate(ctx, buf, &outl, (const unsigned char *)text,
	    (int)n) < 0 || EVP_DecodeFinal(ctx, buf + outl, &fin) != 1 ||
	    (outl + fin == 0 && strspn(text, " \t\r\n") < n)) {
		prs_error_set("not base64");
		rc = PRS_EINPUT;
		goto out;
	}
	*len = (size_t)outl + (size_t)fin;
	buf[*len] = '\0';
	*out = (char *)buf;
	buf = NULL;
	rc = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	if (buf != NULL)
		prs_secret_wipe(buf, n + 1);
	free(buf);
	return rc;
}
