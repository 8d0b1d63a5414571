/* SPDX-License-Identifier: GPL-2.0 */
/* Bodies compressed as servers send them, for the decoders' tests: zlib's
 * gzip (window bits 15 + 16) or zlib format (15). Include after cmocka.h. */
#ifndef EW_TEST_COMPRESS_H
#define EW_TEST_COMPRESS_H

#include <stdint.h>
#include <zlib.h>

static inline size_t compress_as(int window_bits, const void *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z = { 0 };
	size_t n;

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = len;
	z.next_out = out;
	z.avail_out = cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	return n;
}

static inline size_t gzip(const void *in, size_t len, uint8_t *out, size_t cap)
{
	return compress_as(15 + 16, in, len, out, cap);
}

#endif
