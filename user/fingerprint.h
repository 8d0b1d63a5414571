/* SPDX-License-Identifier: GPL-2.0 */
/* Fingerprints of API keys and organization ids: a keyed BLAKE2b hash with a
 * random key made at start, so a fingerprint cannot be reversed, nor joined
 * with another host's or another run's. The secret itself is never stored. */
#ifndef EW_FINGERPRINT_H
#define EW_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FINGERPRINT_LEN 16

struct fingerprint {
	uint8_t b[FINGERPRINT_LEN];
};

/* Once per process, before any fingerprint. 0 or -1. */
int fingerprint_init(void);
void fingerprint_of(const void *secret, size_t len, struct fingerprint *out);
/* The credential in an authorization header value: the token of "Bearer X",
 * the access key id of an AWS SigV4 "Credential=AKID/...", else the whole
 * value. Returns false when nothing is left. */
bool credential_of(const char *value, size_t len, const char **cred, size_t *cred_len);

#endif
