/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP/2 over one TLS connection, both directions: frames per stream, header
 * blocks (HEADERS and CONTINUATION) decoded with libnghttp2's HPACK inflater,
 * DATA frames of responses decoded for usage. HPACK state cannot be rebuilt
 * from the middle of a connection: a connection joined after its preface, or
 * one whose plaintext was cut outside a DATA frame, is given up (counted). */
#ifndef EW_HTTP2_H
#define EW_HTTP2_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "exchange.h"
#include "http1.h"

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define H2_STREAMS_MAX 128
#define H2_BLOCK_MAX (64u << 10)

struct h2_stream {
	uint32_t id; /* 0: free slot */
	struct exchange x;
	bool request_seen; /* a later block of the client's is its trailers */
	bool response_started;
};

struct h2_dir {
	nghttp2_hd_inflater *inflater;
	uint8_t head[9];
	size_t head_len;
	uint32_t left;     /* payload bytes of the current frame still to come */
	uint8_t type, flags;
	uint32_t stream;
	uint8_t pad;       /* padding at the end of the current frame */
	bool pad_known;    /* the pad length byte was read */
	uint8_t prio_left; /* HEADERS priority bytes still to skip */
	uint8_t *block;    /* the header block being gathered */
	size_t block_len;
	uint32_t block_stream;
	bool block_end_stream; /* the HEADERS frame that opened the block ended its stream */
	uint8_t settings[6]; /* a SETTINGS entry being gathered */
	size_t settings_len;
};

struct h2_conn {
	struct h2_dir out, in; /* out: client to server */
	size_t preface_seen;
	bool lost;
	struct h2_stream *streams[H2_STREAMS_MAX]; /* allocated while a stream is open */
	struct h1_sink sink;
};

int h2_init(struct h2_conn *c, const struct h1_sink *sink);
void h2_write(struct h2_conn *c, const uint8_t *data, size_t captured, uint64_t len);
void h2_read(struct h2_conn *c, const uint8_t *data, size_t captured, uint64_t len);
void h2_free(struct h2_conn *c);

#endif
