// SPDX-License-Identifier: GPL-2.0
#include "fingerprint.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

static uint8_t run_key[crypto_generichash_KEYBYTES];

int fingerprint_init(void)
{
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(run_key, sizeof(run_key));
	return 0;
}

void fingerprint_of(const void *secret, size_t len, struct fingerprint *out)
{
	crypto_generichash(out->b, sizeof(out->b), secret, len, run_key, sizeof(run_key));
}

bool credential_of(const char *value, size_t len, const char **cred, size_t *cred_len)
{
	static const char bearer[] = "Bearer ", sigv4[] = "AWS4-HMAC-SHA256 ",
			  credential[] = "Credential=";

	while (len && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	if (len > sizeof(bearer) - 1 && !strncasecmp(value, bearer, sizeof(bearer) - 1)) {
		value += sizeof(bearer) - 1;
		len -= sizeof(bearer) - 1;
	} else if (len > sizeof(sigv4) - 1 && !strncmp(value, sigv4, sizeof(sigv4) - 1)) {
		/* SigV4 signs every request anew: the access key id is the account */
		const char *c = memmem(value, len, credential, sizeof(credential) - 1);
		const char *slash;

		if (!c)
			return false;
		c += sizeof(credential) - 1;
		slash = memchr(c, '/', value + len - c);
		len = slash ? (size_t)(slash - c) : (size_t)(value + len - c);
		value = c;
	}
	while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	*cred = value;
	*cred_len = len;
	return len > 0;
}
