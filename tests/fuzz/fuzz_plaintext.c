// SPDX-License-Identifier: GPL-2.0
/* The TLS plaintext streams (connection table, protocol detection, HTTP/1.1
 * and HTTP/2 parsers, bodies, usage) fed a hostile sequence of ring buffer
 * events from a few processes and connections. Each record:
 *   byte 0    bit 0: 0 EW_TLS_EV_DATA, 1 EW_TLS_EV_CLOSE (the record ends here)
 *             bit 1: dir, 0 EW_TLS_WRITE, 1 EW_TLS_READ
 *             bits 2-3: tgid (4 processes), bits 4-5: conn (4 objects each)
 *             bits 6-7: 0 the call was copied whole; else it was cut,
 *             len = captured + 1, + 16 KiB, or + 4 GiB
 *   bytes 1-2 captured, big-endian (clamped to what is left)
 *   data      that many bytes
 * The event is handed over with size = its header + captured, the rest of
 * data[] poisoned. The sink wants the requests whose authority contains
 * "openai", so both followed and dropped connections run. At the end
 * tls_streams_free must release everything (LeakSanitizer). */
#include "fuzz_exchange.h"
#include "plaintext.h"

static int initialized;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FUZZ_CHECK(fingerprint_init() == 0);
	initialized = 1;
	return 0;
}

struct tally {
	unsigned long wanted, requests, responses;
};

static void check_peer(const struct tls_peer *who)
{
	FUZZ_CHECK(who->tgid >= 1000 && who->tgid < 1004);
	FUZZ_CHECK_STR(who->comm);
}

static bool wanted(void *ctx, const struct exchange *x)
{
	struct tally *t = ctx;

	fuzz_check_exchange(x);
	t->wanted++;
	return strstr(x->authority, "openai") != NULL;
}

static void on_request(void *ctx, const struct tls_peer *who, const struct exchange *x)
{
	struct tally *t = ctx;

	check_peer(who);
	fuzz_check_exchange(x);
	t->requests++;
}

static void on_response(void *ctx, const struct tls_peer *who, struct exchange *x)
{
	struct tally *t = ctx;

	check_peer(who);
	fuzz_finish_exchange(x);
	t->responses++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t extra[4] = { 0, 1, 16384, 1ull << 32 };
	const size_t header = offsetof(struct ew_tls_event, data);
	struct tally t = { 0 };
	struct plaintext_sink sink = { wanted, on_request, on_response, &t };
	struct ew_tls_event *ev = malloc(sizeof(*ev));
	struct tls_streams ts;
	size_t pos = 0;

	if (!initialized)
		LLVMFuzzerInitialize(NULL, NULL);
	FUZZ_CHECK(ev);
	FUZZ_CHECK(tls_streams_init(&ts, &sink, &NO_KERNEL_MAPS) == 0);
	while (pos < size) {
		uint8_t op = data[pos++];
		size_t want = 0, captured;

		memset(ev, 0, header);
		ev->type = op & 1 ? EW_TLS_EV_CLOSE : EW_TLS_EV_DATA;
		ev->dir = op & 2 ? EW_TLS_READ : EW_TLS_WRITE;
		ev->tgid = 1000 + ((op >> 2) & 3);
		ev->tid = ev->tgid;
		ev->conn = 0x55d0c0de0000ull + 0x40 * ((op >> 4) & 3);
		ev->uid = 1000;
		memcpy(ev->comm, "python3.11-fuzz!", sizeof(ev->comm)); /* no NUL: 16 bytes */
		if (ev->type == EW_TLS_EV_CLOSE) {
			tls_streams_event(&ts, ev, header);
			continue;
		}
		if (pos + 2 <= size) {
			want = (size_t)data[pos] << 8 | data[pos + 1];
			pos += 2;
		} else {
			pos = size;
		}
		captured = size - pos < want ? size - pos : want;
		if (captured > EW_TLS_CAPTURE_MAX)
			captured = EW_TLS_CAPTURE_MAX;
		memcpy(ev->data, data + pos, captured);
		pos += captured;
		ev->captured = captured;
		ev->len = captured + extra[op >> 6];
		/* ASan: nothing past captured may be read */
		FUZZ_POISON(ev->data + captured, EW_TLS_CAPTURE_MAX - captured);
		tls_streams_event(&ts, ev, header + captured);
		FUZZ_UNPOISON(ev->data, EW_TLS_CAPTURE_MAX);
		FUZZ_CHECK(ts.stats.streams <= t.wanted);
	}
	FUZZ_CHECK(t.requests >= ts.stats.streams);
	tls_streams_free(&ts);
	free(ev);
	return 0;
}
