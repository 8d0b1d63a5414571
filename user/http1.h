/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP/1.1 over one TLS connection, both directions, from the plaintext of
 * successive TLS calls: request heads (keep-alive and pipelining), request
 * bodies skipped by Content-Length or chunked framing, responses matched to
 * requests in order, their bodies decoded for usage. A call whose plaintext
 * was cut short, or a stream joined midway, resynchronizes at the next call
 * that starts a message. */
#ifndef EW_HTTP1_H
#define EW_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "exchange.h"

#define H1_HEAD_MAX 16384
#define H1_PIPELINE_MAX 32

struct h1_sink {
	void (*request)(void *ctx, struct exchange *x);  /* a request head was sent */
	void (*response)(void *ctx, struct exchange *x); /* its response is complete */
	void *ctx;
};

enum h1_state {
	H1_HEAD,
	H1_BODY_LENGTH,
	H1_CHUNK_SIZE,
	H1_CHUNK_DATA,
	H1_CHUNK_END,     /* the CRLF after a chunk's data */
	H1_TRAILERS,
	H1_BODY_TO_CLOSE, /* a response with neither length nor chunks */
	H1_LOST,          /* out of step: waiting for a call that starts a message */
};

struct h1_dir {
	enum h1_state state;
	char *head;        /* a head being gathered, allocated only then */
	size_t head_len, head_cap;
	uint64_t remaining;
	char line[64];    /* a chunk-size or trailer line */
	size_t line_len;
};

struct h1_conn {
	struct h1_dir req, resp;
	struct exchange *queue[H1_PIPELINE_MAX]; /* requests waiting for their response */
	int qhead, qlen;
	struct exchange *current; /* the response being read belongs to queue[qhead] */
	struct h1_sink sink;
	uint64_t resyncs;
};

void h1_init(struct h1_conn *c, const struct h1_sink *sink);
/* Plaintext of one TLS call: captured bytes of len (len > captured: the rest was not copied). */
void h1_write(struct h1_conn *c, const uint8_t *data, size_t captured, uint64_t len);
void h1_read(struct h1_conn *c, const uint8_t *data, size_t captured, uint64_t len);
/* Of the response body of known length being read, the bytes from here on
 * that its reader has no use for (body_unneeded), 0 in any other state: what
 * the kernel need not copy. */
uint64_t h1_body_unneeded(const struct h1_conn *c);
/* The connection ended: a body read to the close completes. */
void h1_close(struct h1_conn *c);
void h1_free(struct h1_conn *c);

/* Whether bytes start an HTTP/1 request line ("GET /x HTTP/1.1") or a
 * response ("HTTP/1.1 200"), as far as they go. */
bool h1_starts_request(const uint8_t *data, size_t len);
bool h1_starts_response(const uint8_t *data, size_t len);

#endif
