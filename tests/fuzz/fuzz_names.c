// SPDX-License-Identifier: GPL-2.0
/* The names table fed a hostile sequence of samples, as the ring buffer
 * would deliver them. Each record:
 *   byte 0  bit 0: 0 client payload (EW_EV_SAMPLE_CLIENT), 1 DNS answer
 *           bit 1: 0 offset follows what this cookie sent so far,
 *                  1 offset 0 (a retransmission, or a new flow)
 *           bit 2: forget the flow first
 *           bit 3: prune after the sample, 100 s later (DNS names expire)
 *           bits 4-7: tgid
 *   byte 1  cookie
 *   byte 2-3 length, big-endian (over EW_SAMPLE_MAX tests the clamp)
 *   data    that many bytes, or what is left
 * At the end names_free must release everything (LeakSanitizer). */
#include "fuzz_common.h"
#include "names.h"

static void check_flow(const struct names *n, uint64_t cookie)
{
	const struct flow_name *f = names_of_flow(n, cookie);
	size_t len;

	if (!f)
		return;
	FUZZ_CHECK(f->cookie == cookie);
	FUZZ_CHECK(f->state == NAME_PENDING || f->state == NAME_KNOWN || f->state == NAME_NONE);
	len = strnlen(f->host, sizeof(f->host));
	FUZZ_CHECK(len < sizeof(f->host));
	FUZZ_CHECK(strnlen(f->path, sizeof(f->path)) < sizeof(f->path));
	if (f->state == NAME_KNOWN)
		FUZZ_CHECK(len > 0 && f->by);
	if (f->state == NAME_PENDING)
		FUZZ_CHECK(f->buf && f->have <= 2 * EW_SAMPLE_MAX);
	else
		FUZZ_CHECK(!f->buf && f->have == 0);
}

struct answers {
	int count;
	uint8_t addr[8][16];
};

static void collect(void *ctx, const char *name, const uint8_t addr[16], uint32_t ttl)
{
	struct answers *a = ctx;

	if (a->count < 8)
		memcpy(a->addr[a->count++], addr, 16);
}

/* Every address the answer gave is now known, to the process and host-wide,
 * unless the table was full. */
static void check_dns(const struct names *n, const struct ew_sample *s, uint64_t dropped, double now)
{
	struct answers a = { 0 };

	dns_parse_response(s->data, s->len > EW_SAMPLE_MAX ? EW_SAMPLE_MAX : s->len, collect, &a);
	for (int i = 0; i < a.count; i++) {
		const char *tgid = names_dns_lookup(n, s->tgid, a.addr[i], now);
		const char *any = names_dns_lookup(n, 0xffffffff, a.addr[i], now);

		if (n->dns_dropped == dropped)
			FUZZ_CHECK(tgid && any);
		/* (empty for an answer to the root's question) */
		if (tgid)
			FUZZ_CHECK(strnlen(tgid, DNS_NAME_MAX) < DNS_NAME_MAX);
		if (any)
			FUZZ_CHECK(strnlen(any, DNS_NAME_MAX) < DNS_NAME_MAX);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ew_sample *s = malloc(sizeof(*s));
	uint64_t sent[256] = { 0 }; /* stream offset reached, per cookie */
	struct names n;
	double now = 1000;
	size_t pos = 0;

	FUZZ_CHECK(s);
	FUZZ_CHECK(names_init(&n, 16) == 0); /* small: the table-full path too */
	while (pos + 4 <= size) {
		uint8_t op = data[pos], cookie = data[pos + 1];
		uint32_t want = (uint32_t)data[pos + 2] << 8 | data[pos + 3];
		size_t take, copy;

		pos += 4;
		take = size - pos < want ? size - pos : want;
		copy = take > EW_SAMPLE_MAX ? EW_SAMPLE_MAX : take;

		memset(s, 0, sizeof(*s));
		s->type = op & 1 ? EW_EV_SAMPLE_DNS : EW_EV_SAMPLE_CLIENT;
		s->len = take;
		s->offset = op & 2 ? 0 : sent[cookie];
		s->key.cookie = cookie;
		s->tgid = op >> 4;
		memcpy(s->data, data + pos, copy);
		pos += take;
		/* ASan: nothing past len may be read */
		FUZZ_POISON(s->data + copy, EW_SAMPLE_MAX - copy);

		if (op & 4)
			names_forget_flow(&n, cookie);
		if (op & 1) {
			uint64_t dropped = n.dns_dropped;

			names_dns_sample(&n, s, now);
			check_dns(&n, s, dropped, now);
		} else {
			names_client_sample(&n, s, now);
			sent[cookie] = s->offset + copy;
			check_flow(&n, cookie);
		}
		FUZZ_UNPOISON(s->data, EW_SAMPLE_MAX);
		if (op & 8) {
			now += 100;
			names_prune(&n, now, NAME_PENDING_MAX_S);
		}
		now += 0.5;
	}
	for (unsigned int c = 0; c < 256; c++)
		check_flow(&n, c);
	names_free(&n);
	free(s);
	return 0;
}
