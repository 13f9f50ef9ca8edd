/*
 * The kernel's own ML-DSA verifier (lib/crypto/mldsa.c, with lib/crypto/sha3.c for
 * SHAKE) run in user space, as an oracle for KernelKit's ML-DSA module signatures.
 *
 *   mldsa-verify 44|65|87 PUBLIC_KEY SIGNATURE MESSAGE   exit 0: valid, 1: rejected
 *   mldsa-verify --self-test                              the kernel's FIPS vector
 *
 * PUBLIC_KEY is the raw FIPS 204 encoding (the SubjectPublicKeyInfo BIT STRING
 * contents), SIGNATURE the raw signature; the message is signed in pure mode with an
 * empty context, as pkcs7_verify.c hands the module (or authattrs) to mldsa_verify().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <crypto/mldsa.h>
#include "fips-mldsa.h"

static u8 *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(2); }
	size_t cap = 1 << 16, n = 0;
	u8 *buf = malloc(cap);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--self-test") == 0) {
		int err = mldsa_verify(MLDSA65, fips_test_mldsa65_signature, sizeof(fips_test_mldsa65_signature),
				       fips_test_mldsa65_message, sizeof(fips_test_mldsa65_message),
				       fips_test_mldsa65_public_key, sizeof(fips_test_mldsa65_public_key));
		printf("self-test: %s (%d)\n", err ? "FAILED" : "ok", err);
		return err ? 1 : 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: %s 44|65|87 PUBLIC_KEY SIGNATURE MESSAGE\n", argv[0]);
		return 2;
	}
	enum mldsa_alg alg = strcmp(argv[1], "44") == 0 ? MLDSA44 : strcmp(argv[1], "65") == 0 ? MLDSA65 : MLDSA87;
	size_t pk_len, sig_len, msg_len;
	u8 *pk = slurp(argv[2], &pk_len), *sig = slurp(argv[3], &sig_len), *msg = slurp(argv[4], &msg_len);
	int err = mldsa_verify(alg, sig, sig_len, msg, msg_len, pk, pk_len);
	printf("%s (%d)\n", err ? "rejected" : "valid", err);
	return err ? 1 : 0;
}
