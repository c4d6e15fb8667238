/*
 * Signature checks with arbitrary headers and bodies: the first line of
 * the input is the header, the rest the body.  A header never matches
 * unless it is the right one; the right one always does.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/sig.h"

#define SECRET "fuzz-webhook-secret"
#define NOW 1700000000LL

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	return 0;
}

static void
check_github(const char *header, const uint8_t *body, size_t len)
{
	char hex[PRS_SIG_HEX_LEN + 1], right[PRS_SIG_HEADER_SIZE];

	if (prs_hmac_sha256_hex(SECRET, strlen(SECRET), body, len, hex) != 0)
		abort();
	snprintf(right, sizeof(right), "sha256=%s", hex);
	if (prs_sig_check_github(SECRET, body, len, right) != 0)
		abort();
	if (prs_sig_check_github(SECRET, body, len, header) == 0 &&
	    strcmp(header, right) != 0)
		abort();
}

static void
check_callback(const char *header, const uint8_t *body, size_t len)
{
	char right[PRS_SIG_HEADER_SIZE], ts[32];
	const char *sep = strchr(header, ' ');
	char *ts_header = NULL;

	if (prs_sig_callback_make(SECRET, NOW, body, len, right) != 0)
		abort();
	snprintf(ts, sizeof(ts), "%lld", NOW);
	if (prs_sig_callback_check(SECRET, ts, right, body, len, NOW,
	    300) != 0)
		abort();
	/* "<timestamp> <signature>" from the input. */
	if (sep == NULL)
		return;
	ts_header = strndup(header, (size_t)(sep - header));
	if (ts_header == NULL)
		abort();
	if (prs_sig_callback_check(SECRET, ts_header, sep + 1, body, len,
	    NOW, 300) == 0 && strcmp(sep + 1, right) != 0)
		abort();
	free(ts_header);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl != NULL ? (size_t)(nl - data) : size;
	char *header = fuzz_strndup(data, hlen);
	const uint8_t *body = nl != NULL ? nl + 1 : data + size;
	size_t blen = size - (size_t)(body - data);

	check_github(header, body, blen);
	check_callback(header, body, blen);
	free(header);
	return 0;
}
