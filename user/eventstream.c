// SPDX-License-Identifier: GPL-2.0
#include "eventstream.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t eventstream_message_len(const uint8_t *prelude)
{
	return be32(prelude);
}

/* The base64 text of a {"bytes":"..."} payload, or NULL. */
static const char *chunk_bytes(const char *payload, size_t len, size_t *b64_len)
{
	static const char key[] = "\"bytes\":\"";
	const char *start = memmem(payload, len, key, sizeof(key) - 1), *end;

	if (!start)
		return NULL;
	start += sizeof(key) - 1;
	end = memchr(start, '"', payload + len - start);
	if (!end)
		return NULL;
	*b64_len = end - start;
	return start;
}

void eventstream_message(const uint8_t *msg, size_t len, struct usage *u)
{
	const char *payload, *b64;
	size_t plen, b64_len, bin_len;
	uint32_t headers;
	unsigned char *bin;

	if (len < EVENTSTREAM_MIN_LEN)
		return;
	headers = be32(msg + 4);
	if (headers > len - EVENTSTREAM_MIN_LEN)
		return;
	payload = (const char *)msg + EVENTSTREAM_PRELUDE_LEN + headers;
	plen = len - EVENTSTREAM_MIN_LEN - headers;
	b64 = chunk_bytes(payload, plen, &b64_len);
	if (!b64) {
		usage_scan(payload, plen, u);
		return;
	}
	bin = malloc(b64_len / 4 * 3 + 3);
	if (!bin)
		return;
	if (!sodium_base642bin(bin, b64_len / 4 * 3 + 3, b64, b64_len, NULL, &bin_len, NULL,
			       sodium_base64_VARIANT_ORIGINAL))
		usage_scan((const char *)bin, bin_len, u);
	free(bin);
}
