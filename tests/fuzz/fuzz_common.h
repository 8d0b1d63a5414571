/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the fuzz targets: a check that aborts (so libFuzzer and the
 * replayer both report it) and helpers to make ASan see exact bounds. */
#ifndef EW_FUZZ_COMMON_H
#define EW_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* ASan manual poisoning, where ASan is on (clang or gcc). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A heap copy of exactly n bytes, so that any read past the end is caught. */
static inline uint8_t *fuzz_dup(const uint8_t *data, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	FUZZ_CHECK(p);
	if (n)
		memcpy(p, data, n);
	return p;
}

/* A NUL-terminated heap copy of n bytes (inner NULs end the string early). */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *p = malloc(n + 1);

	FUZZ_CHECK(p);
	if (n)
		memcpy(p, data, n);
	p[n] = '\0';
	return p;
}

/* Fills an output buffer with a non-NUL byte so a missing terminator shows. */
static inline char *fuzz_outbuf(size_t n)
{
	char *p = malloc(n);

	FUZZ_CHECK(p);
	memset(p, 'Z', n);
	return p;
}

/* One TLS call of a recorded connection (fuzz_http1, fuzz_http2):
 *   byte 0    bit 0: 0 a write (client to server), 1 a read
 *             bits 1-2: 0 the call was copied whole (captured == len); else it
 *             was cut, len = captured + extra, extra by bits 3-7 (0-31):
 *             1: 1 + x bytes, 2: (x + 1) KiB, 3: 4 GiB + x
 *   bytes 1-2 captured, big-endian (clamped to what is left)
 *   data      that many bytes, in an exact-size heap copy (ASan sees past its
 *             end); the caller frees it. */
struct fuzz_call {
	int read;
	uint8_t *data;
	size_t captured;
	uint64_t len;
};

static inline int fuzz_next_call(const uint8_t *in, size_t size, size_t *pos, struct fuzz_call *c)
{
	uint8_t op;
	size_t want, x;

	if (*pos + 3 > size)
		return 0;
	op = in[*pos];
	want = (size_t)in[*pos + 1] << 8 | in[*pos + 2];
	*pos += 3;
	c->captured = size - *pos < want ? size - *pos : want;
	c->data = fuzz_dup(in + *pos, c->captured);
	*pos += c->captured;
	c->read = op & 1;
	x = op >> 3;
	switch ((op >> 1) & 3) {
	case 0: c->len = c->captured; break;
	case 1: c->len = c->captured + 1 + x; break;
	case 2: c->len = c->captured + ((uint64_t)x + 1) * 1024; break;
	default: c->len = c->captured + (1ull << 32) + x; break;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
