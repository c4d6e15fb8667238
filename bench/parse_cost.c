/*
 * What one webhook costs prscan-api before Redis: json_loadb() of the
 * payload (jansson, as src/api/webhook.c parses it) and its HMAC-SHA256
 * (OpenSSL), each timed over many rounds.  Used by bench/profile.sh.
 *
 *   parse_cost FILE [ROUNDS]
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	static char buf[4 << 20];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
	FILE *f;
	size_t n;
	double t;
	long i;

	if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "usage: parse_cost FILE [ROUNDS]\n");
		return 2;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	t = now_us();
	for (i = 0; i < rounds; i++) {
		json_t *root = json_loadb(buf, n, 0, NULL);

		if (root == NULL)
			return 1;
		json_decref(root);
	}
	printf("jansson json_loadb of %zu bytes: %.0f us\n", n,
	    (now_us() - t) / rounds);
	t = now_us();
	for (i = 0; i < rounds; i++)
		HMAC(EVP_sha256(), "bench-secret", 12, (unsigned char *)buf, n,
		    md, &mdlen);
	printf("OpenSSL HMAC-SHA256 of the same: %.0f us\n",
	    (now_us() - t) / rounds);
	return 0;
}
