// SPDX-License-Identifier: GPL-2.0
#include "http1.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const methods[] = { "GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "HEAD ",
				       "OPTIONS ", NULL };

bool h1_starts_request(const uint8_t *data, size_t len)
{
	for (size_t i = 0; methods[i]; i++) {
		size_t n = strlen(methods[i]);

		if (!memcmp(data, methods[i], len < n ? len : n))
			return len > 0;
	}
	return false;
}

bool h1_starts_response(const uint8_t *data, size_t len)
{
	static const char prefix[] = "HTTP/1.";

	return len > 0 && !memcmp(data, prefix, len < 7 ? len : 7);
}

void h1_init(struct h1_conn *c, const struct h1_sink *sink)
{
	memset(c, 0, sizeof(*c));
	c->sink = *sink;
}

static void drop_exchange(struct exchange *x)
{
	exchange_free(x);
	free(x);
}

/* A parsed head is wiped (a request's carried credentials) and its memory
 * returned: a connection between messages holds no buffer. */
static void head_release(struct h1_dir *d)
{
	if (d->head)
		explicit_bzero(d->head, d->head_cap);
	free(d->head);
	d->head = NULL;
	d->head_len = d->head_cap = 0;
}

void h1_free(struct h1_conn *c)
{
	for (int i = 0; i < c->qlen; i++)
		drop_exchange(c->queue[(c->qhead + i) % H1_PIPELINE_MAX]);
	c->qlen = 0;
	head_release(&c->req);
	head_release(&c->resp);
}

static void lose(struct h1_conn *c, struct h1_dir *d)
{
	d->state = H1_LOST;
	head_release(d);
	c->resyncs++;
}

static bool head_room(struct h1_dir *d, size_t need)
{
	size_t cap = d->head_cap ? d->head_cap : 1024;
	char *grown;

	if (need <= d->head_cap)
		return true;
	while (cap < need)
		cap *= 2;
	if (cap > H1_HEAD_MAX)
		cap = H1_HEAD_MAX;
	grown = malloc(cap);
	if (!grown)
		return false;
	if (d->head) {
		memcpy(grown, d->head, d->head_len);
		explicit_bzero(d->head, d->head_cap);
		free(d->head);
	}
	d->head = grown;
	d->head_cap = cap;
	return true;
}

/* ---- heads ---- */

static const char *find_crlf(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', end - p);

	return nl;
}

/* Calls fn for each "name: value" line of a head (after its first line). */
static void each_header(const char *p, const char *end, struct exchange *x,
			void (*fn)(struct exchange *, const char *, size_t, const char *, size_t))
{
	while (p < end) {
		const char *nl = find_crlf(p, end), *colon, *v, *ve;

		if (!nl)
			nl = end;
		ve = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		colon = memchr(p, ':', ve - p);
		if (colon && colon > p) {
			v = colon + 1;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			fn(x, p, colon - p, v, ve - v);
		}
		p = nl + 1;
	}
}

/* Framing headers, read whichever direction: chunked wins over a length. */
static void framing(const char *p, const char *end, bool *chunked, bool *has_length,
		    uint64_t *length)
{
	*chunked = *has_length = false;
	while (p < end) {
		const char *nl = find_crlf(p, end);
		size_t n;

		if (!nl)
			nl = end;
		n = nl - p;
		if (n > 18 && !strncasecmp(p, "transfer-encoding:", 18) &&
		    memmem(p, n, "chunked", 7))
			*chunked = true;
		else if (n > 15 && !strncasecmp(p, "content-length:", 15)) {
			char buf[24] = { 0 };
			const char *v = p + 15;
			char *e;

			while (v < nl && *v == ' ')
				v++;
			memcpy(buf, v, (size_t)(nl - v) < sizeof(buf) - 1 ? (size_t)(nl - v) : sizeof(buf) - 1);
			*length = strtoull(buf, &e, 10);
			*has_length = e != buf;
		}
		p = nl + 1;
	}
}

/* Appends to the head buffer until the blank line; returns the bytes of data
 * used, and sets *complete. Past H1_HEAD_MAX the direction is lost. */
static size_t gather_head(struct h1_conn *c, struct h1_dir *d, const uint8_t *data, size_t len,
			  bool *complete)
{
	size_t start = d->head_len >= 3 ? d->head_len - 3 : 0;
	size_t take = len < H1_HEAD_MAX - d->head_len ? len : H1_HEAD_MAX - d->head_len;
	const char *end;

	if (!head_room(d, d->head_len + take)) {
		lose(c, d);
		*complete = false;
		return len;
	}
	memcpy(d->head + d->head_len, data, take);
	d->head_len += take;
	end = memmem(d->head + start, d->head_len - start, "\r\n\r\n", 4);
	*complete = end != NULL;
	if (!end) {
		if (d->head_len == H1_HEAD_MAX)
			lose(c, d);
		return take;
	}
	{
		size_t head_end = end + 4 - d->head;
		size_t used = take - (d->head_len - head_end);

		d->head_len = head_end;
		return used;
	}
}

static void request_head(struct h1_conn *c)
{
	struct h1_dir *d = &c->req;
	char *line_end = memchr(d->head, '\n', d->head_len), *sp1, *sp2;
	char *end = d->head + d->head_len;
	struct exchange *x;
	bool chunked, has_length;
	uint64_t length = 0;

	sp1 = memchr(d->head, ' ', line_end - d->head);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', line_end - sp1 - 1) : NULL;
	/* a head without a method (a body sent without framing, bytes out of
	 * step) is no request: resynchronize at the next call that starts one */
	if (!sp1 || !sp2 || c->qlen == H1_PIPELINE_MAX ||
	    !h1_starts_request((const uint8_t *)d->head, sp1 - d->head + 1)) {
		lose(c, d);
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		lose(c, d);
		return;
	}
	exchange_init(x);
	exchange_request_header(x, ":method", 7, d->head, sp1 - d->head);
	exchange_request_header(x, ":path", 5, sp1 + 1, sp2 - sp1 - 1);
	each_header(line_end + 1, end, x, exchange_request_header);
	framing(line_end + 1, end, &chunked, &has_length, &length);
	head_release(d); /* credentials were in it */
	c->queue[(c->qhead + c->qlen++) % H1_PIPELINE_MAX] = x;
	c->sink.request(c->sink.ctx, x);
	if (chunked)
		d->state = H1_CHUNK_SIZE;
	else if (has_length && length)
		d->state = H1_BODY_LENGTH, d->remaining = length;
	else
		d->state = H1_HEAD;
}

static void response_done(struct h1_conn *c)
{
	struct exchange *x = c->current;

	c->current = NULL;
	c->resp.state = H1_HEAD;
	if (!x)
		return;
	c->sink.response(c->sink.ctx, x);
	c->qhead = (c->qhead + 1) % H1_PIPELINE_MAX;
	c->qlen--;
	drop_exchange(x);
}

static void response_head(struct h1_conn *c)
{
	struct h1_dir *d = &c->resp;
	char *line_end = memchr(d->head, '\n', d->head_len), *end = d->head + d->head_len;
	bool chunked, has_length, no_body;
	uint64_t length = 0;
	struct exchange *x;
	int status;

	if (d->head_len < 12 || d->head[8] != ' ' || !isdigit((unsigned char)d->head[9])) {
		lose(c, d);
		return;
	}
	status = atoi(d->head + 9);
	if (status >= 100 && status < 200) { /* interim: the final response follows */
		head_release(d);
		return;
	}
	if (!c->qlen) { /* a response to no request we saw */
		lose(c, d);
		return;
	}
	x = c->current = c->queue[c->qhead];
	exchange_response_header(x, ":status", 7, d->head + 9, 3);
	each_header(line_end + 1, end, x, exchange_response_header);
	framing(line_end + 1, end, &chunked, &has_length, &length);
	head_release(d);
	exchange_start_body(x);
	no_body = !strcmp(x->method, "HEAD") || status == 204 || status == 304;
	if (no_body || (has_length && !chunked && length == 0))
		response_done(c);
	else if (chunked)
		d->state = H1_CHUNK_SIZE;
	else if (has_length)
		d->state = H1_BODY_LENGTH, d->remaining = length;
	else
		d->state = H1_BODY_TO_CLOSE;
}

/* ---- bodies ---- */

static void body_bytes(struct h1_conn *c, struct h1_dir *d, const uint8_t *p, size_t n)
{
	if (d == &c->resp && c->current)
		body_feed(&c->current->body, p, n);
}

static void message_done(struct h1_conn *c, struct h1_dir *d)
{
	if (d == &c->resp)
		response_done(c);
	else
		d->state = H1_HEAD;
}

/* A chunk-size or trailer line; returns bytes used, sets *line_done. */
static size_t gather_line(struct h1_conn *c, struct h1_dir *d, const uint8_t *p, size_t n,
			  bool *line_done)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p + 1) : n;

	*line_done = nl != NULL;
	if (d->line_len + take >= sizeof(d->line)) {
		/* chunk extensions this long are not real traffic */
		lose(c, d);
		return n;
	}
	memcpy(d->line + d->line_len, p, take);
	d->line_len += take;
	d->line[d->line_len] = '\0';
	return take;
}

static void process(struct h1_conn *c, struct h1_dir *d, const uint8_t *p, size_t n)
{
	while (n && d->state != H1_LOST) {
		size_t used = 0;
		bool done;

		switch (d->state) {
		case H1_HEAD:
			used = gather_head(c, d, p, n, &done);
			if (done)
				(d == &c->req ? request_head : response_head)(c);
			break;
		case H1_BODY_LENGTH:
			used = n < d->remaining ? n : d->remaining;
			body_bytes(c, d, p, used);
			d->remaining -= used;
			if (!d->remaining)
				message_done(c, d);
			break;
		case H1_BODY_TO_CLOSE:
			used = n;
			body_bytes(c, d, p, used);
			break;
		case H1_CHUNK_SIZE:
			used = gather_line(c, d, p, n, &done);
			if (done && d->state != H1_LOST) {
				char *e;

				d->remaining = strtoull(d->line, &e, 16);
				if (e == d->line) {
					lose(c, d);
					break;
				}
				d->line_len = 0;
				d->state = d->remaining ? H1_CHUNK_DATA : H1_TRAILERS;
			}
			break;
		case H1_CHUNK_DATA:
			used = n < d->remaining ? n : d->remaining;
			body_bytes(c, d, p, used);
			d->remaining -= used;
			if (!d->remaining)
				d->state = H1_CHUNK_END;
			break;
		case H1_CHUNK_END:
			used = gather_line(c, d, p, n, &done);
			if (done && d->state != H1_LOST) {
				d->line_len = 0;
				d->state = H1_CHUNK_SIZE;
			}
			break;
		case H1_TRAILERS:
			used = gather_line(c, d, p, n, &done);
			if (done && d->state != H1_LOST) {
				bool blank = d->line_len <= 2;

				d->line_len = 0;
				if (blank)
					message_done(c, d);
			}
			break;
		case H1_LOST:
			break;
		}
		p += used;
		n -= used;
	}
}

/* Bytes of a call that were not copied: framing can skip them inside a body
 * of known length; anywhere else the direction loses step. */
static void skip(struct h1_conn *c, struct h1_dir *d, uint64_t n)
{
	if (!n || d->state == H1_LOST)
		return;
	if (d->state == H1_BODY_LENGTH && n <= d->remaining) {
		if (d == &c->resp && c->current)
			body_gap(&c->current->body, n);
		d->remaining -= n;
		if (!d->remaining)
			message_done(c, d);
		return;
	}
	if (d->state == H1_BODY_TO_CLOSE) {
		if (c->current)
			body_gap(&c->current->body, n);
		return;
	}
	lose(c, d);
}

static void call(struct h1_conn *c, struct h1_dir *d, const uint8_t *data, size_t captured,
		 uint64_t len, bool (*starts)(const uint8_t *, size_t))
{
	if (d->state == H1_LOST) {
		if (!starts(data, captured))
			return;
		d->state = H1_HEAD;
		d->head_len = 0;
		if (d == &c->resp && c->current) { /* the lost response ends unparsed */
			exchange_free(c->current);
			response_done(c);
		}
	}
	process(c, d, data, captured);
	skip(c, d, len - captured);
}

void h1_write(struct h1_conn *c, const uint8_t *data, size_t captured, uint64_t len)
{
	call(c, &c->req, data, captured, len, h1_starts_request);
}

void h1_read(struct h1_conn *c, const uint8_t *data, size_t captured, uint64_t len)
{
	call(c, &c->resp, data, captured, len, h1_starts_response);
}

uint64_t h1_body_unneeded(const struct h1_conn *c)
{
	if (c->resp.state != H1_BODY_LENGTH || !c->current || !c->current->body_started)
		return 0;
	return body_unneeded(&c->current->body, c->resp.remaining);
}

void h1_close(struct h1_conn *c)
{
	if (c->resp.state == H1_BODY_TO_CLOSE)
		response_done(c);
}
