// SPDX-License-Identifier: GPL-2.0
/* A response body (zlib, SSE, JSON, usage) on hostile bytes:
 *   byte 0  bits 0-1: content type: 0 JSON, 1 text/event-stream,
 *                     2 application/vnd.amazon.eventstream, 3 other
 *           bits 2-3: content encoding: 0 identity, 1 gzip, 2 deflate, 3 br
 *           bit 4: gaps: some pieces are followed by body_gap
 *           bits 5-6: largest piece: 1, 16, 256 or 4096 bytes
 *           bit 7: the other spelling (no header instead of "identity" or
 *                  "text/plain", upper case "GZIP" and "Deflate")
 *   byte 1  seed of the piece sizes and gaps
 *   rest    the body, fed in pieces (each an exact-size heap copy)
 * Then body_end, whose usage must be sane, and body_free (LeakSanitizer).
 * Without gaps the pieces must not matter: the usage is the one of the body
 * fed whole, unless the decoder gave up on it. */
#include "fuzz_exchange.h"

static const char *const types[2][4] = {
	{ "application/json; charset=utf-8", "text/event-stream; charset=utf-8",
	  "application/vnd.amazon.eventstream", "text/plain" },
	{ "Application/JSON", "text/event-stream", "application/vnd.amazon.eventstream", NULL },
};
static const char *const encodings[2][4] = {
	{ "identity", "gzip", "deflate", "br" },
	{ NULL, "GZIP", "Deflate", "zstd" },
};

static uint32_t next(uint32_t *s)
{
	/* xorshift32 */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void feed(struct body *b, const uint8_t *p, size_t n)
{
	uint8_t *copy = fuzz_dup(p, n);

	body_feed(b, copy, n);
	free(copy);
	fuzz_check_body(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_piece[4] = { 1, 16, 256, 4096 };
	struct body pieces, whole;
	const char *type, *encoding;
	uint32_t seed;
	int gaps, alt;
	size_t pos = 2, max;

	if (size < 2)
		return 0;
	alt = data[0] >> 7;
	type = types[alt][data[0] & 3];
	encoding = encodings[alt][(data[0] >> 2) & 3];
	gaps = data[0] & 0x10;
	max = max_piece[(data[0] >> 5) & 3];
	seed = 0x9e3779b9u ^ data[1] ^ (uint32_t)data[0] << 8;

	body_init(&pieces, type, encoding);
	fuzz_check_body(&pieces);
	while (pos < size) {
		size_t n = 1 + next(&seed) % max;

		if (n > size - pos)
			n = size - pos;
		feed(&pieces, data + pos, n);
		pos += n;
		if (gaps && next(&seed) % 4 == 0) {
			body_gap(&pieces, 1 + next(&seed) % 2000);
			fuzz_check_body(&pieces);
		}
	}
	body_end(&pieces);
	fuzz_check_body(&pieces);

	if (!gaps) {
		body_init(&whole, type, encoding);
		if (size > 2)
			feed(&whole, data + 2, size - 2);
		body_end(&whole);
		fuzz_check_body(&whole);
		FUZZ_CHECK(whole.decoded == pieces.decoded || whole.broken || pieces.broken);
		if (!whole.broken && !pieces.broken && whole.decoded <= BODY_JSON_MAX) {
			FUZZ_CHECK(whole.usage.has_input == pieces.usage.has_input);
			FUZZ_CHECK(whole.usage.has_output == pieces.usage.has_output);
			FUZZ_CHECK(whole.usage.input == pieces.usage.input);
			FUZZ_CHECK(whole.usage.output == pieces.usage.output);
		}
		body_free(&whole);
	}
	body_free(&pieces);
	return 0;
}
