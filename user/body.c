// SPDX-License-Identifier: GPL-2.0
#include "body.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "eventstream.h"

void body_init(struct body *b, const char *content_type, const char *content_encoding)
{
	memset(b, 0, sizeof(*b));
	if (content_type && !strncasecmp(content_type, "text/event-stream", 17))
		b->mode = BODY_SSE;
	else if (content_type && strcasestr(content_type, "vnd.amazon.eventstream"))
		b->mode = BODY_EVENTSTREAM;
	else if (content_type && strcasestr(content_type, "json"))
		b->mode = BODY_JSON;
	else
		b->mode = BODY_IGNORE;
	if (b->mode != BODY_IGNORE && content_encoding &&
	    (!strcasecmp(content_encoding, "gzip") || !strcasecmp(content_encoding, "deflate"))) {
		/* 15 + 32: zlib or gzip header, detected */
		if (inflateInit2(&b->z, 15 + 32) == Z_OK)
			b->compressed = true;
		else
			b->broken = true;
	} else if (b->mode != BODY_IGNORE && content_encoding && strcasecmp(content_encoding, "identity")) {
		b->broken = true; /* br, zstd: not decoded, no usage */
	}
}

static bool grow(struct body *b, size_t need, size_t max)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *n;

	if (need > max)
		return false;
	while (cap < need)
		cap *= 2;
	if (cap > max)
		cap = max;
	if (cap == b->cap)
		return true;
	n = realloc(b->buf, cap);
	if (!n)
		return false;
	b->buf = n;
	b->cap = cap;
	return true;
}

static void json_bytes(struct body *b, const uint8_t *p, size_t n)
{
	if (b->len + n > BODY_JSON_MAX) {
		/* keep the tail: the usage object closes a JSON response */
		size_t keep = BODY_JSON_TAIL;

		if (n >= keep) {
			p += n - keep;
			n = keep;
			b->len = 0;
		} else if (b->len + n > keep) {
			size_t drop = b->len + n - keep;

			memmove(b->buf, b->buf + drop, b->len - drop);
			b->len -= drop;
		}
	}
	if (!grow(b, b->len + n, BODY_JSON_MAX)) {
		b->broken = true;
		return;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void event_append(struct body *b, const char *p, size_t n)
{
	if (b->event_long)
		return;
	if (!grow(b, b->len + n + 1, BODY_EVENT_MAX)) {
		b->event_long = true; /* an event past the bound tells nothing reliably */
		return;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void event_dispatch(struct body *b)
{
	if (!b->event_long && b->len)
		usage_scan(b->buf, b->len, &b->usage);
	b->len = 0;
	b->event_long = false;
}

/* The first bytes of a line decide: "data:" lines go to the event. */
static void line_start_decided(struct body *b)
{
	const char *v = b->line + 5;
	size_t n = b->line_len - 5;

	b->in_data = b->line_len >= 5 && !memcmp(b->line, "data:", 5);
	if (!b->in_data)
		return;
	if (n && *v == ' ') {
		v++;
		n--;
	}
	event_append(b, v, n);
}

static void sse_bytes(struct body *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			if (!b->line_long) {
				if (b->line_len == 0) {
					event_dispatch(b);
					continue;
				}
				line_start_decided(b);
			}
			if (b->in_data)
				event_append(b, "\n", 1);
			b->line_len = 0;
			b->line_long = false;
			b->in_data = false;
			continue;
		}
		if (b->line_long) {
			if (b->in_data)
				event_append(b, &c, 1);
			continue;
		}
		b->line[b->line_len++] = c;
		if (b->line_len == sizeof(b->line)) {
			line_start_decided(b);
			b->line_long = true;
		}
	}
}

/* Messages are gathered whole, then read; a message longer than the bound, or
 * a length no message has, ends the reading (there is no resynchronizing in a
 * binary stream). */
static void eventstream_bytes(struct body *b, const uint8_t *p, size_t n)
{
	while (n && !b->broken) {
		size_t need = b->len < EVENTSTREAM_PRELUDE_LEN
				      ? EVENTSTREAM_PRELUDE_LEN
				      : eventstream_message_len((const uint8_t *)b->buf);
		size_t take = need - b->len < n ? need - b->len : n;

		if (!grow(b, need, BODY_EVENT_MAX)) {
			b->broken = true;
			return;
		}
		memcpy(b->buf + b->len, p, take);
		b->len += take;
		p += take;
		n -= take;
		if (b->len == EVENTSTREAM_PRELUDE_LEN) {
			uint32_t total = eventstream_message_len((const uint8_t *)b->buf);

			if (total < EVENTSTREAM_MIN_LEN || total > BODY_EVENT_MAX)
				b->broken = true;
		} else if (b->len == need) {
			eventstream_message((const uint8_t *)b->buf, b->len, &b->usage);
			b->len = 0;
		}
	}
}

static void decoded(struct body *b, const uint8_t *p, size_t n)
{
	b->decoded += n;
	if (b->decoded > BODY_DECODED_MAX) {
		b->broken = true;
		return;
	}
	if (b->mode == BODY_JSON)
		json_bytes(b, p, n);
	else if (b->mode == BODY_EVENTSTREAM)
		eventstream_bytes(b, p, n);
	else
		sse_bytes(b, p, n);
}

void body_feed(struct body *b, const uint8_t *data, size_t len)
{
	uint8_t out[16384];
	int r;

	if (b->mode == BODY_IGNORE || b->broken || !len)
		return;
	if (!b->compressed) {
		decoded(b, data, len);
		return;
	}
	b->z.next_in = (Bytef *)data;
	b->z.avail_in = len;
	/* A full output buffer may leave output pending with all input read:
	 * inflate again until it has none, or the last piece would lose it. */
	do {
		b->z.next_out = out;
		b->z.avail_out = sizeof(out);
		r = inflate(&b->z, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
			b->broken = true;
			return;
		}
		decoded(b, out, sizeof(out) - b->z.avail_out);
	} while (r == Z_OK && !b->broken && (b->z.avail_in || !b->z.avail_out));
}

uint64_t body_unneeded(const struct body *b, uint64_t left)
{
	if (b->mode == BODY_IGNORE)
		return left;
	/* a gap in a long JSON body loses nothing its tail does not hold; a
	 * compressed one cannot resume after a gap */
	if (b->mode == BODY_JSON && !b->compressed && !b->broken && left > BODY_JSON_MAX)
		return left - BODY_JSON_TAIL;
	return 0;
}

void body_gap(struct body *b, size_t len)
{
	if (b->mode == BODY_IGNORE || !len)
		return;
	if (b->compressed || b->mode == BODY_EVENTSTREAM) {
		b->broken = true; /* neither a gzip stream nor binary framing can resume */
		return;
	}
	if (b->mode == BODY_SSE) {
		/* the event being read is incomplete: drop it, resync at its end */
		b->event_long = true;
	} else {
		/* a JSON body keeps its tail: what came after the gap may hold usage */
		b->len = 0;
	}
}

void body_end(struct body *b)
{
	if (b->mode == BODY_SSE) {
		if (!b->line_long && b->line_len) {
			line_start_decided(b);
			b->line_len = 0;
		}
		event_dispatch(b);
	} else if (b->mode == BODY_JSON && b->len && !b->broken) {
		usage_scan(b->buf, b->len, &b->usage);
	}
}

void body_free(struct body *b)
{
	if (b->compressed)
		inflateEnd(&b->z);
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}
