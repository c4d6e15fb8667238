/*
 * The App's JWT: decoded with OpenSSL and verified with the public half of
 * a key generated in the test, so the signature is really RS256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "prscan/error.h"
#include "prscan/github.h"

#define NOW ((time_t)1764792000)

struct fixture {
	EVP_PKEY *key;
	char *pem;
	size_t pemlen;
	struct prs_github *gh;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;

	assert_non_null(f);
	assert_non_null(bio);
	f->key = EVP_RSA_gen(2048);
	assert_non_null(f->key);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, f->key, NULL, NULL, 0,
	    NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0);
	f->pem = malloc((size_t)n);
	assert_non_null(f->pem);
	memcpy(f->pem, data, (size_t)n);
	f->pemlen = (size_t)n;
	BIO_free(bio);

	assert_int_equal(prs_github_new("https://ghe.example/api/v3/",
	    "123456", f->pem, f->pemlen, &f->gh), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	prs_github_free(f->gh);
	EVP_PKEY_free(f->key);
	free(f->pem);
	free(f);
	return 0;
}

/* base64url text of n characters to bytes; *len gets the byte count. */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *len)
{
	size_t padded = (n + 3) / 4 * 4;
	char *b = malloc(padded + 1);
	unsigned char *out = malloc(padded);
	size_t i;
	int got;

	assert_non_null(b);
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		assert_true(s[i] != '+' && s[i] != '/' && s[i] != '=');
		b[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	for (; i < padded; i++)
		b[i] = '=';
	b[padded] = '\0';

	got = EVP_DecodeBlock(out, (unsigned char *)b, (int)padded);
	assert_true(got >= 0);
	*len = (size_t)got - (padded - n);
	free(b);
	return out;
}

static json_t *decode_json_part(const char *s, size_t n)
{
	size_t len = 0;
	unsigned char *raw = b64url_decode(s, n, &len);
	json_t *j = json_loadb((const char *)raw, len, 0, NULL);

	free(raw);
	assert_non_null(j);
	return j;
}

static int verify(EVP_PKEY *key, const char *msg, size_t msglen,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    key), 1);
	ok = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)msg,
	    msglen);
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void test_claims_and_signature(void **state)
{
	struct fixture *f = *state;
	char *jwt = NULL;
	const char *dot1;
	const char *dot2;
	json_t *hdr;
	json_t *claims;
	unsigned char *sig;
	size_t siglen = 0;

	assert_int_equal(prs_github_jwt(f->gh, NOW, &jwt), 0);
	dot1 = strchr(jwt, '.');
	assert_non_null(dot1);
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));

	hdr = decode_json_part(jwt, (size_t)(dot1 - jwt));
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
	    "RS256");
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")),
	    "JWT");
	assert_int_equal(json_object_size(hdr), 2);

	claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	assert_int_equal(json_integer_value(json_object_get(claims, "iat")),
	    NOW - 60);
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")),
	    NOW + 540);
	assert_string_equal(json_string_value(json_object_get(claims, "iss")),
	    "123456");

	sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
	assert_int_equal(siglen, 256);
	assert_int_equal(verify(f->key, jwt, (size_t)(dot2 - jwt), sig,
	    siglen), 1);

	free(sig);
	json_decref(hdr);
	json_decref(claims);
	free(jwt);
}

static void test_tampered_payload_fails(void **state)
{
	struct fixture *f = *state;
	char *jwt = NULL;
	char *dot2;
	unsigned char *sig;
	size_t siglen = 0;

	assert_int_equal(prs_github_jwt(f->gh, NOW, &jwt), 0);
	dot2 = strrchr(jwt, '.');
	assert_non_null(dot2);
	sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);

	/* One character of the claims changed: the signature must fail. */
	jwt[strchr(jwt, '.') - jwt + 3] ^= 1;
	assert_int_not_equal(verify(f->key, jwt, (size_t)(dot2 - jwt), sig,
	    siglen), 1);

	free(sig);
	free(jwt);
}

static void test_other_key_fails(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *other = EVP_RSA_gen(2048);
	char *jwt = NULL;
	char *dot2;
	unsigned char *sig;
	size_t siglen = 0;

	assert_non_null(other);
	assert_int_equal(prs_github_jwt(f->gh, NOW, &jwt), 0);
	dot2 = strrchr(jwt, '.');
	sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
	assert_int_not_equal(verify(other, jwt, (size_t)(dot2 - jwt), sig,
	    siglen), 1);

	free(sig);
	free(jwt);
	EVP_PKEY_free(other);
}

static void test_garbage_pem_rejected(void **state)
{
	static const char pem[] =
	    "-----BEGIN RSA PRIVATE KEY-----\n"
	    "U2VjcmV0S2V5TWF0ZXJpYWxOb3RSZWFsbHlBS2V5QXRBbGw=\n"
	    "-----END RSA PRIVATE KEY-----\n";
	struct prs_github *gh = (struct prs_github *)1;

	(void)state;
	assert_int_equal(prs_github_new("https://api.github.com", "1", pem,
	    sizeof(pem) - 1, &gh), -1);
	assert_null(gh);
	assert_non_null(strstr(prs_error_last(), "GITHUB_APP_PRIVATE_KEY"));
	assert_null(strstr(prs_error_last(), "U2VjcmV0"));
	assert_null(strstr(prs_error_last(), "BEGIN"));

	assert_int_equal(prs_github_new("https://api.github.com", "1",
	    "not a key", 9, &gh), -1);
	assert_null(strstr(prs_error_last(), "not a key"));
}

static void test_non_rsa_key_rejected(void **state)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	struct prs_github *gh = NULL;
	char *data = NULL;
	long n;

	(void)state;
	assert_non_null(ec);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0,
	    NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_int_equal(prs_github_new("https://api.github.com", "1", data,
	    (size_t)n, &gh), -1);
	assert_null(gh);
	assert_non_null(strstr(prs_error_last(), "RSA"));
	BIO_free(bio);
	EVP_PKEY_free(ec);
}

static void test_bad_app_id_rejected(void **state)
{
	struct fixture *f = *state;
	struct prs_github *gh = NULL;

	assert_int_equal(prs_github_new("https://api.github.com", "",
	    f->pem, f->pemlen, &gh), -1);
	assert_int_equal(prs_github_new("https://api.github.com", "1\"2",
	    f->pem, f->pemlen, &gh), -1);
	assert_null(gh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims_and_signature),
		cmocka_unit_test(test_tampered_payload_fails),
		cmocka_unit_test(test_other_key_fails),
		cmocka_unit_test(test_garbage_pem_rejected),
		cmocka_unit_test(test_non_rsa_key_rejected),
		cmocka_unit_test(test_bad_app_id_rejected),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
