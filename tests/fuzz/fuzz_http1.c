// SPDX-License-Identifier: GPL-2.0
/* The HTTP/1.1 parser fed a hostile sequence of TLS calls on one connection,
 * both directions, some of them cut (captured < len): the records are
 * fuzz_next_call's (fuzz_common.h). The sink checks each exchange it is handed
 * and reads each response's usage (body_end runs, as in the monitor); the
 * connection's state is checked after every call. At the end h1_close and
 * h1_free must release everything (LeakSanitizer). */
#include "fuzz_exchange.h"
#include "http1.h"

static int initialized;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FUZZ_CHECK(fingerprint_init() == 0);
	initialized = 1;
	return 0;
}

struct tally {
	unsigned long requests, responses;
};

static void on_request(void *ctx, struct exchange *x)
{
	struct tally *t = ctx;

	fuzz_check_exchange(x);
	t->requests++;
}

static void on_response(void *ctx, struct exchange *x)
{
	struct tally *t = ctx;

	fuzz_finish_exchange(x);
	t->responses++;
	FUZZ_CHECK(t->responses <= t->requests); /* each response answers a request */
}

static void check_dir(const struct h1_dir *d)
{
	FUZZ_CHECK(d->state >= H1_HEAD && d->state <= H1_LOST);
	FUZZ_CHECK(d->head_len <= H1_HEAD_MAX);
	FUZZ_CHECK(d->line_len < sizeof(d->line));
}

static void check_conn(const struct h1_conn *c)
{
	check_dir(&c->req);
	check_dir(&c->resp);
	FUZZ_CHECK(c->qlen >= 0 && c->qlen <= H1_PIPELINE_MAX);
	FUZZ_CHECK(c->qhead >= 0 && c->qhead < H1_PIPELINE_MAX);
	for (int i = 0; i < c->qlen; i++)
		fuzz_check_exchange(c->queue[(c->qhead + i) % H1_PIPELINE_MAX]);
	/* the response being read is the oldest request's */
	if (c->current)
		FUZZ_CHECK(c->qlen > 0 && c->current == c->queue[c->qhead]);
	switch (c->resp.state) {
	case H1_HEAD:
		FUZZ_CHECK(!c->current);
		break;
	case H1_LOST:
		break;
	default: /* inside a body: it belongs to a request */
		FUZZ_CHECK(c->current);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally t = { 0 };
	struct h1_sink sink = { on_request, on_response, &t };
	struct h1_conn *c = malloc(sizeof(*c));
	struct fuzz_call call;
	size_t pos = 0;

	if (!initialized)
		LLVMFuzzerInitialize(NULL, NULL);
	FUZZ_CHECK(c);
	h1_init(c, &sink);
	while (fuzz_next_call(data, size, &pos, &call)) {
		if (call.read)
			h1_read(c, call.data, call.captured, call.len);
		else
			h1_write(c, call.data, call.captured, call.len);
		free(call.data);
		check_conn(c);
	}
	h1_close(c);
	check_conn(c);
	h1_free(c);
	free(c);
	return 0;
}
