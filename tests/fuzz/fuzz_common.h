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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
