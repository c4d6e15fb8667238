/* HMAC-SHA256 signatures: GitHub's webhooks and prscan's callbacks. */
#include "prscan/sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "prscan/error.h"

#define PRS_SIG_PREFIX "sha256="
#define PRS_SIG_PREFIX_LEN 7
#define PRS_SIG_BYTES 32
/* Enough digits for any long long, and a little more to refuse. */
#define PRS_SIG_TS_MAX_DIGITS 19

struct prs_sig_part {
	const void *p;
	size_t len;
};

/* The HMAC-SHA256 of the concatenated parts under key.  0 or -1. */
static int
prs_sig_hmac(const void *key, size_t keylen, const struct prs_sig_part *parts,
    size_t nparts, unsigned char md[PRS_SIG_BYTES])
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	char digest[] = "SHA256";
	size_t mdlen = 0, i;
	int rc = -1;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto out;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, keylen, params))
		goto out;
	for (i = 0; i < nparts; i++)
		if (parts[i].len > 0 &&
		    !EVP_MAC_update(ctx, parts[i].p, parts[i].len))
			goto out;
	if (!EVP_MAC_final(ctx, md, &mdlen, PRS_SIG_BYTES) ||
	    mdlen != PRS_SIG_BYTES)
		goto out;
	rc = 0;

out:
	if (rc < 0)
		prs_error_set("HMAC-SHA256 failed in OpenSSL");
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

static void
prs_sig_hex(const unsigned char *md, char out[PRS_SIG_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < PRS_SIG_BYTES; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0x0f];
	}
	out[PRS_SIG_HEX_LEN] = '\0';
}

static int
prs_sig_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes "sha256=" followed by exactly 64 hex digits (either case) into
 * 32 bytes.  Returns 0, or -1 when the header is malformed.
 */
static int
prs_sig_decode(const char *header, unsigned char md[PRS_SIG_BYTES])
{
	const char *h = NULL;
	size_t i;

	if (header == NULL ||
	    strncmp(header, PRS_SIG_PREFIX, PRS_SIG_PREFIX_LEN) != 0)
		return -1;
	h = header + PRS_SIG_PREFIX_LEN;
	if (strlen(h) != PRS_SIG_HEX_LEN)
		return -1;
	for (i = 0; i < PRS_SIG_BYTES; i++) {
		int hi = prs_sig_nibble(h[2 * i]);
		int lo = prs_sig_nibble(h[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		md[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
prs_hmac_sha256_hex(const void *key, size_t keylen, const void *msg,
    size_t len, char out[PRS_SIG_HEX_LEN + 1])
{
	struct prs_sig_part part = { msg, len };
	unsigned char md[PRS_SIG_BYTES];

	if (prs_sig_hmac(key, keylen, &part, 1, md) < 0)
		return -1;
	prs_sig_hex(md, out);
	return 0;
}

int
prs_sig_check_github(const char *secret, const void *body, size_t len,
    const char *header)
{
	struct prs_sig_part part = { body, len };
	unsigned char want[PRS_SIG_BYTES];
	unsigned char got[PRS_SIG_BYTES];

	if (secret == NULL || *secret == '\0')
		return prs_error_set("no webhook secret configured");
	if (header == NULL)
		return prs_error_set("missing signature");
	if (prs_sig_decode(header, got) < 0)
		return prs_error_set("malformed signature");
	if (prs_sig_hmac(secret, strlen(secret), &part, 1, want) < 0)
		return -1;
	if (CRYPTO_memcmp(want, got, PRS_SIG_BYTES) != 0)
		return prs_error_set("signature mismatch");
	return 0;
}

/* The HMAC of "<ts>.<body>", ts given as the text that was signed. */
static int
prs_sig_callback_hmac(const char *secret, const char *ts, const void *body,
    size_t len, unsigned char md[PRS_SIG_BYTES])
{
	struct prs_sig_part parts[3] = {
		{ ts, strlen(ts) }, { ".", 1 }, { body, len }
	};

	return prs_sig_hmac(secret, strlen(secret), parts, 3, md);
}

int
prs_sig_callback_make(const char *secret, long long ts, const void *body,
    size_t len, char out[PRS_SIG_HEADER_SIZE])
{
	char tsbuf[32];
	unsigned char md[PRS_SIG_BYTES];

	if (secret == NULL || *secret == '\0')
		return prs_error_set("no callback secret configured");
	snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);
	if (prs_sig_callback_hmac(secret, tsbuf, body, len, md) < 0)
		return -1;
	memcpy(out, PRS_SIG_PREFIX, PRS_SIG_PREFIX_LEN);
	prs_sig_hex(md, out + PRS_SIG_PREFIX_LEN);
	return 0;
}

/* A timestamp is 1 to 19 decimal digits and nothing else. */
static int
prs_sig_parse_ts(const char *s, long long *out)
{
	size_t n = strspn(s, "0123456789");
	char *end = NULL;

	if (n == 0 || n > PRS_SIG_TS_MAX_DIGITS || s[n] != '\0')
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

int
prs_sig_callback_precheck(const char *ts_header, const char *sig_header,
    long long now, long max_skew)
{
	unsigned char got[PRS_SIG_BYTES];
	long long ts, skew;

	if (ts_header == NULL || sig_header == NULL ||
	    *ts_header == '\0' || *sig_header == '\0')
		return prs_error_set("missing signature");
	if (prs_sig_parse_ts(ts_header, &ts) < 0)
		return prs_error_set("bad timestamp");
	if (now < 0)
		return prs_error_set("stale timestamp");

	/* both are >= 0 here, so neither difference can overflow */
	skew = now > ts ? now - ts : ts - now;
	if (skew > (max_skew > 0 ? max_skew : 0))
		return prs_error_set("stale timestamp");
	if (prs_sig_decode(sig_header, got) < 0)
		return prs_error_set("malformed signature");
	return 0;
}

int
prs_sig_callback_check(const char *secret, const char *ts_header,
    const char *sig_header, const void *body, size_t len, long long now,
    long max_skew)
{
	unsigned char want[PRS_SIG_BYTES];
	unsigned char got[PRS_SIG_BYTES];

	if (secret == NULL || *secret == '\0')
		return prs_error_set("no callback secret configured");
	if (prs_sig_callback_precheck(ts_header, sig_header, now,
	    max_skew) < 0)
		return -1;
	if (prs_sig_decode(sig_header, got) < 0)
		return prs_error_set("malformed signature");
	if (prs_sig_callback_hmac(secret, ts_header, body, len, want) < 0)
		return -1;
	if (CRYPTO_memcmp(want, got, PRS_SIG_BYTES) != 0)
		return prs_error_set("signature mismatch");
	return 0;
}
