// SPDX-License-Identifier: GPL-2.0
/* tls_client_hello_sni on hostile first payloads. */
#include "fuzz_common.h"
#include "dns.h"
#include "tls_hello.h"

#define SMALL 16

static void check_result(enum hello_result r, const char *name, size_t namelen)
{
	size_t n;

	FUZZ_CHECK(r == HELLO_SNI || r == HELLO_NEED_MORE || r == HELLO_NO_SNI ||
		   r == HELLO_NOT_TLS || r == HELLO_MALFORMED);
	if (r != HELLO_SNI)
		return;
	n = strnlen(name, namelen);
	FUZZ_CHECK(n < namelen); /* NUL-terminated within the buffer */
	FUZZ_CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = name[i];

		FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
		FUZZ_CHECK(c > ' ' && c < 0x7f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_dup(data, size);
	char *big = fuzz_outbuf(DNS_NAME_MAX), *small = fuzz_outbuf(SMALL);
	enum hello_result r = tls_client_hello_sni(buf, size, big, DNS_NAME_MAX);
	enum hello_result rs = tls_client_hello_sni(buf, size, small, SMALL);

	check_result(r, big, DNS_NAME_MAX);
	check_result(rs, small, SMALL);
	/* The output size only decides whether a name fits: same answer
	 * otherwise (and no state left over from the call before). */
	if (r == HELLO_SNI && strlen(big) >= SMALL)
		FUZZ_CHECK(rs == HELLO_MALFORMED);
	else
		FUZZ_CHECK(rs == r);
	if (r == HELLO_SNI && rs == HELLO_SNI)
		FUZZ_CHECK(!strcmp(big, small));
	free(small);
	free(big);
	free(buf);
	return 0;
}
