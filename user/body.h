/* SPDX-License-Identifier: GPL-2.0 */
/* A response body after transfer framing: gzip or deflate decoded with zlib,
 * then read as Server-Sent Events, AWS event-stream messages or one JSON
 * document, for its token usage. Bounded: a JSON body longer than the buffer
 * keeps its tail (where the usage is), an SSE event longer than the buffer is
 * skipped, an event-stream message longer than it ends the reading, and
 * decoding stops past a ratio no real response reaches. */
#ifndef EW_BODY_H
#define EW_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include "usage.h"

enum body_mode { BODY_IGNORE, BODY_JSON, BODY_SSE, BODY_EVENTSTREAM };

struct body {
	enum body_mode mode;
	bool compressed;
	bool broken;        /* bytes were missed or did not decode: usage is what came before */
	z_stream z;
	uint64_t decoded;   /* bytes after decoding */
	char *buf;          /* JSON: the body (or its tail); SSE: the current event's
			     * data; event-stream: the current message */
	size_t len, cap;
	char line[512];     /* SSE: the start of the current line */
	size_t line_len;
	bool line_long;     /* SSE: the current line outgrew line[]: it is a data line being copied */
	bool in_data;       /* SSE: the current line is a data: line */
	bool event_long;    /* SSE: the current event outgrew buf */
	struct usage usage;
};

/* content_type and content_encoding as the response headers gave them, or NULL. */
void body_init(struct body *b, const char *content_type, const char *content_encoding);
void body_feed(struct body *b, const uint8_t *data, size_t len);
/* len bytes of the body were not captured. */
void body_gap(struct body *b, size_t len);
/* How many of the next left bytes of the body its reader has no use for:
 * all of a body it ignores, all but the tail of a long JSON body (json_bytes
 * keeps only that), none of the rest. */
uint64_t body_unneeded(const struct body *b, uint64_t left);
/* The body is complete: the last scan. */
void body_end(struct body *b);
void body_free(struct body *b);

#define BODY_JSON_MAX (1u << 20)   /* a JSON body kept whole up to this */
#define BODY_JSON_TAIL (64u << 10) /* past it, the tail kept */
#define BODY_EVENT_MAX (256u << 10)
#define BODY_DECODED_MAX (256u << 20)

#endif
