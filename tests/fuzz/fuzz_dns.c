// SPDX-License-Identifier: GPL-2.0
/* dns_parse_response and dns_read_name on hostile DNS messages. */
#include "fuzz_common.h"
#include "dns.h"

struct answers {
	int count;
	unsigned int sum; /* keeps the reads of addr from being optimised out */
};

static void check_name(const char *name)
{
	size_t n;

	FUZZ_CHECK(name);
	n = strnlen(name, DNS_NAME_MAX);
	FUZZ_CHECK(n < DNS_NAME_MAX); /* NUL-terminated, at most 253 characters */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = name[i];

		/* printable, lower case, no empty label */
		FUZZ_CHECK(c >= 0x21 && c <= 0x7e);
		FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
		if (c == '.')
			FUZZ_CHECK(i > 0 && i + 1 < n && name[i + 1] != '.');
	}
}

static void on_answer(void *ctx, const char *name, const uint8_t addr[16], uint32_t ttl)
{
	struct answers *a = ctx;
	volatile const uint8_t *p = addr;

	check_name(name);
	for (int i = 0; i < 16; i++)
		a->sum += p[i]; /* ASan: all 16 bytes readable */
	FUZZ_CHECK(ttl <= 0x7fffffff);
	a->count++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *msg = fuzz_dup(data, size);
	struct answers a = { 0 };
	int r = dns_parse_response(msg, size, on_answer, &a);

	FUZZ_CHECK(r == -1 || r >= 0);
	FUZZ_CHECK(r == -1 ? a.count == 0 : r == a.count);

	if (size >= 12) {
		char *out = fuzz_outbuf(DNS_NAME_MAX);
		size_t off = 12;

		if (dns_read_name(msg, size, &off, out) == 0) {
			check_name(out);
			FUZZ_CHECK(off > 12 && off <= size);
		} else {
			FUZZ_CHECK(off == 12); /* not advanced on failure */
		}
		free(out);
	}
	free(msg);
	return 0;
}
