// SPDX-License-Identifier: GPL-2.0
#include "http2.h"

#include <stdlib.h>
#include <string.h>

enum { DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, CONTINUATION = 9 };
enum { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIORITY = 0x20 };
#define SETTINGS_HEADER_TABLE_SIZE 1

int h2_init(struct h2_conn *c, const struct h1_sink *sink)
{
	memset(c, 0, sizeof(*c));
	c->sink = *sink;
	if (nghttp2_hd_inflate_new(&c->out.inflater))
		return -1;
	if (nghttp2_hd_inflate_new(&c->in.inflater)) {
		nghttp2_hd_inflate_del(c->out.inflater);
		return -1;
	}
	return 0;
}

static void stream_free(struct h2_conn *c, struct h2_stream *s)
{
	for (int i = 0; i < H2_STREAMS_MAX; i++)
		if (c->streams[i] == s)
			c->streams[i] = NULL;
	exchange_free(&s->x);
	free(s);
}

void h2_free(struct h2_conn *c)
{
	for (int i = 0; i < H2_STREAMS_MAX; i++)
		if (c->streams[i])
			stream_free(c, c->streams[i]);
	nghttp2_hd_inflate_del(c->out.inflater);
	nghttp2_hd_inflate_del(c->in.inflater);
	if (c->out.block)
		explicit_bzero(c->out.block, H2_BLOCK_MAX);
	free(c->out.block);
	free(c->in.block);
}

static struct h2_stream *stream_get(struct h2_conn *c, uint32_t id, bool create)
{
	struct h2_stream **free_slot = NULL;

	if (id == 0)
		return NULL; /* stream 0 is the connection itself: it carries no request */
	for (int i = 0; i < H2_STREAMS_MAX; i++) {
		if (c->streams[i] && c->streams[i]->id == id)
			return c->streams[i];
		if (!c->streams[i] && !free_slot)
			free_slot = &c->streams[i];
	}
	if (!create || !free_slot)
		return NULL;
	*free_slot = calloc(1, sizeof(**free_slot));
	if (!*free_slot)
		return NULL;
	(*free_slot)->id = id;
	exchange_init(&(*free_slot)->x);
	return *free_slot;
}

static void stream_end(struct h2_conn *c, struct h2_stream *s)
{
	if (s->response_started)
		c->sink.response(c->sink.ctx, &s->x);
	stream_free(c, s);
}

/* Decodes a complete header block; HPACK must see every block in order. */
static void header_block(struct h2_conn *c, struct h2_dir *d, bool end_stream)
{
	bool out = d == &c->out;
	struct h2_stream *s = stream_get(c, d->block_stream, out);
	/* an empty first block leaves no buffer: nghttp2 still must see it */
	const uint8_t *in = d->block ? d->block : (const uint8_t *)"";
	size_t left = d->block_len;

	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t used = nghttp2_hd_inflate_hd2(d->inflater, &nv, &flags, in, left, 1);

		if (used < 0) {
			c->lost = true;
			return;
		}
		in += used;
		left -= used;
		if ((flags & NGHTTP2_HD_INFLATE_EMIT) && s) {
			if (out)
				exchange_request_header(&s->x, (const char *)nv.name, nv.namelen,
							(const char *)nv.value, nv.valuelen);
			else
				exchange_response_header(&s->x, (const char *)nv.name, nv.namelen,
							 (const char *)nv.value, nv.valuelen);
		}
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inflater);
			break;
		}
		if (!used && !left)
			break;
	}
	if (out && d->block)
		explicit_bzero(d->block, d->block_len); /* credentials were in it */
	d->block_len = 0;
	if (!s)
		return;
	if (out) {
		if (s->x.method[0] && !s->request_seen) {
			s->request_seen = true;
			c->sink.request(c->sink.ctx, &s->x);
		}
		return;
	}
	if (s->x.status >= 100 && s->x.status < 200)
		return; /* interim response: the final headers follow */
	s->response_started = true;
	exchange_start_body(&s->x);
	if (end_stream)
		stream_end(c, s);
}

static void block_append(struct h2_conn *c, struct h2_dir *d, const uint8_t *p, size_t n)
{
	if (!d->block) {
		d->block = malloc(H2_BLOCK_MAX);
		if (!d->block) {
			c->lost = true;
			return;
		}
	}
	if (d->block_len + n > H2_BLOCK_MAX) {
		c->lost = true; /* HPACK cannot skip a block: the connection is given up */
		return;
	}
	memcpy(d->block + d->block_len, p, n);
	d->block_len += n;
}

static void settings_entry(struct h2_conn *c, struct h2_dir *d)
{
	uint16_t id = d->settings[0] << 8 | d->settings[1];
	uint32_t v = (uint32_t)d->settings[2] << 24 | d->settings[3] << 16 | d->settings[4] << 8 |
		     d->settings[5];
	/* A side's SETTINGS bound the table of the headers it receives. */
	struct h2_dir *other = d == &c->out ? &c->in : &c->out;

	if (id == SETTINGS_HEADER_TABLE_SIZE && nghttp2_hd_inflate_change_table_size(other->inflater, v))
		c->lost = true;
}

static void frame_start(struct h2_conn *c, struct h2_dir *d)
{
	d->left = (uint32_t)d->head[0] << 16 | d->head[1] << 8 | d->head[2];
	d->type = d->head[3];
	d->flags = d->head[4];
	d->stream = ((uint32_t)d->head[5] << 24 | d->head[6] << 16 | d->head[7] << 8 | d->head[8]) &
		    0x7fffffff;
	d->pad = 0;
	d->pad_known = !((d->type == DATA || d->type == HEADERS) && (d->flags & PADDED));
	d->prio_left = d->type == HEADERS && (d->flags & PRIORITY) ? 5 : 0;
	d->settings_len = 0;
	if (d->type == HEADERS) {
		d->block_stream = d->stream;
		d->block_end_stream = d->flags & END_STREAM;
	}
	if (d->type == CONTINUATION && d->stream != d->block_stream)
		c->lost = true;
}

static void frame_end(struct h2_conn *c, struct h2_dir *d)
{
	struct h2_stream *s;

	switch (d->type) {
	case HEADERS:
	case CONTINUATION:
		if (d->flags & END_HEADERS)
			header_block(c, d, d->block_end_stream);
		break;
	case DATA:
		if (d == &c->in && (d->flags & END_STREAM) && (s = stream_get(c, d->stream, false)))
			stream_end(c, s);
		break;
	case RST_STREAM:
		if ((s = stream_get(c, d->stream, false)))
			stream_free(c, s);
		break;
	}
}

static void payload(struct h2_conn *c, struct h2_dir *d, const uint8_t *p, size_t n)
{
	struct h2_stream *s;

	switch (d->type) {
	case HEADERS:
	case CONTINUATION:
		block_append(c, d, p, n);
		break;
	case DATA:
		if (d == &c->in && (s = stream_get(c, d->stream, false)) && s->response_started)
			body_feed(&s->x.body, p, n);
		break;
	case SETTINGS:
		if (d->flags & ACK)
			break;
		for (size_t i = 0; i < n; i++) {
			d->settings[d->settings_len++] = p[i];
			if (d->settings_len == sizeof(d->settings)) {
				settings_entry(c, d);
				d->settings_len = 0;
			}
		}
		break;
	}
}

static void frames(struct h2_conn *c, struct h2_dir *d, const uint8_t *p, size_t n)
{
	while (n && !c->lost) {
		if (d->head_len < 9) {
			size_t take = 9 - d->head_len < n ? 9 - d->head_len : n;

			memcpy(d->head + d->head_len, p, take);
			d->head_len += take;
			p += take;
			n -= take;
			if (d->head_len == 9) {
				frame_start(c, d);
				if (!d->left) {
					frame_end(c, d);
					d->head_len = 0;
				}
			}
			continue;
		}
		if (!d->pad_known) {
			d->pad = *p++;
			n--;
			d->left--;
			d->pad_known = true;
		} else if (d->prio_left) {
			d->prio_left--;
			p++;
			n--;
			d->left--;
		} else {
			size_t content = d->left > d->pad ? d->left - d->pad : 0;
			size_t take = n < d->left ? n : d->left;
			size_t useful = take < content ? take : content;

			payload(c, d, p, useful);
			p += take;
			n -= take;
			d->left -= take;
		}
		if (!d->left) {
			frame_end(c, d);
			d->head_len = 0;
		}
	}
}

/* Bytes not copied: inside a response DATA frame they are skipped; elsewhere
 * the connection's HPACK state may be gone with them. */
static void skip(struct h2_conn *c, struct h2_dir *d, uint64_t n)
{
	struct h2_stream *s;

	if (!n || c->lost)
		return;
	if (d->head_len == 9 && d->type == DATA && d->pad_known && n <= d->left) {
		if (d == &c->in && (s = stream_get(c, d->stream, false)) && s->response_started)
			body_gap(&s->x.body, n);
		d->left -= n;
		if (!d->left) {
			frame_end(c, d);
			d->head_len = 0;
		}
		return;
	}
	c->lost = true;
}

void h2_write(struct h2_conn *c, const uint8_t *data, size_t captured, uint64_t len)
{
	if (c->preface_seen < H2_PREFACE_LEN) {
		size_t take = H2_PREFACE_LEN - c->preface_seen;

		if (take > captured)
			take = captured;
		if (memcmp(data, &H2_PREFACE[c->preface_seen], take)) {
			c->lost = true;
			return;
		}
		c->preface_seen += take;
		data += take;
		captured -= take;
		len -= take;
	}
	frames(c, &c->out, data, captured);
	skip(c, &c->out, len - captured);
}

void h2_read(struct h2_conn *c, const uint8_t *data, size_t captured, uint64_t len)
{
	frames(c, &c->in, data, captured);
	skip(c, &c->in, len - captured);
}
