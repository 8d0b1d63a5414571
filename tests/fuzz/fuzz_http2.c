// SPDX-License-Identifier: GPL-2.0
/* The HTTP/2 parser (frames, HPACK through libnghttp2, DATA bodies) fed a
 * hostile sequence of TLS calls on one connection, records as fuzz_http1's
 * (fuzz_next_call in fuzz_common.h). The seeds start the write direction with
 * the client preface, else the connection is given up at once. The sink checks
 * each exchange and reads each response's usage; the connection's state is
 * checked after every call, and h2_free must release everything
 * (LeakSanitizer). */
#include "fuzz_exchange.h"
#include "http2.h"

static int initialized;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FUZZ_CHECK(fingerprint_init() == 0);
	initialized = 1;
	return 0;
}

static void on_request(void *ctx, struct exchange *x)
{
	fuzz_check_exchange(x);
	FUZZ_CHECK(x->method[0]); /* only a request with a method is reported */
}

static void on_response(void *ctx, struct exchange *x)
{
	fuzz_finish_exchange(x);
}

static void check_dir(const struct h2_dir *d)
{
	FUZZ_CHECK(d->inflater);
	FUZZ_CHECK(d->head_len <= sizeof(d->head));
	FUZZ_CHECK(d->block_len <= H2_BLOCK_MAX);
	FUZZ_CHECK(!d->block_len || d->block);
	FUZZ_CHECK(d->settings_len < sizeof(d->settings));
	FUZZ_CHECK(d->prio_left <= 5);
}

static void check_conn(const struct h2_conn *c)
{
	check_dir(&c->out);
	check_dir(&c->in);
	FUZZ_CHECK(c->preface_seen <= H2_PREFACE_LEN);
	for (int i = 0; i < H2_STREAMS_MAX; i++) {
		const struct h2_stream *s = c->streams[i];

		if (!s)
			continue;
		fuzz_check_exchange(&s->x);
		FUZZ_CHECK(s->id != 0); /* stream 0 is the connection: never a stream */
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(!c->streams[j] || c->streams[j]->id != s->id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h1_sink sink = { on_request, on_response, NULL };
	struct h2_conn *c = malloc(sizeof(*c));
	struct fuzz_call call;
	size_t pos = 0;

	if (!initialized)
		LLVMFuzzerInitialize(NULL, NULL);
	FUZZ_CHECK(c);
	FUZZ_CHECK(h2_init(c, &sink) == 0);
	while (fuzz_next_call(data, size, &pos, &call)) {
		if (call.read)
			h2_read(c, call.data, call.captured, call.len);
		else
			h2_write(c, call.data, call.captured, call.len);
		free(call.data);
		check_conn(c);
	}
	h2_free(c);
	free(c);
	return 0;
}
