// SPDX-License-Identifier: GPL-2.0
/* The catalog's matchers on hostile patterns and names: the input is a
 * pattern, a NUL byte, then the subject (host name, path or CIDR text). */
#include "fuzz_common.h"
#include "catalog.h"

static void check_cidr(const char *text)
{
	struct cidr c;
	uint8_t other[16];

	if (cidr_parse(text, &c))
		return;
	FUZZ_CHECK(c.prefix <= 128);
	FUZZ_CHECK(cidr_contains(&c, c.addr)); /* its own address is in it */
	memcpy(other, c.addr, 16);
	if (c.prefix < 128) {
		other[15] ^= 1; /* the last bit is outside any prefix shorter than 128 */
		FUZZ_CHECK(cidr_contains(&c, other));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t plen = nul ? (size_t)(nul - data) : size;
	char *pattern = fuzz_strndup(data, plen);
	char *subject = nul ? fuzz_strndup(nul + 1, size - plen - 1) : fuzz_strndup(data, 0);
	size_t slen = strlen(subject);

	(void)host_pattern_match(pattern, subject);
	(void)path_pattern_match(pattern, subject);
	/* a name without '*' is a pattern that matches itself */
	if (!strchr(subject, '*') && !(slen && subject[slen - 1] == '.'))
		FUZZ_CHECK(host_pattern_match(subject, subject));
	check_cidr(pattern);
	check_cidr(subject);
	free(subject);
	free(pattern);
	return 0;
}
