/* SPDX-License-Identifier: GPL-2.0 */
/* Checks shared by the targets that see exchanges and bodies (fuzz_http1,
 * fuzz_http2, fuzz_plaintext, fuzz_body): what a sink is handed must be sound
 * whatever bytes built it. */
#ifndef EW_FUZZ_EXCHANGE_H
#define EW_FUZZ_EXCHANGE_H

#include "fuzz_common.h"
#include "body.h"
#include "exchange.h"
#include "fingerprint.h"

/* NUL-terminated within its array. */
#define FUZZ_CHECK_STR(arr) FUZZ_CHECK(strnlen((arr), sizeof(arr)) < sizeof(arr))

/* The bools are read as bools: UBSan (-fsanitize=bool) reports any other value. */
static inline void fuzz_check_usage(const struct usage *u, int strict)
{
	volatile uint64_t sink;

	if (u->has_input)
		sink = u->input;
	if (u->has_output)
		sink = u->output;
	(void)sink;
	/* from a body, a count is only ever set with its flag */
	if (strict) {
		if (!u->has_input)
			FUZZ_CHECK(u->input == 0);
		if (!u->has_output)
			FUZZ_CHECK(u->output == 0);
	}
}

static inline void fuzz_check_body(const struct body *b)
{
	FUZZ_CHECK(b->mode == BODY_IGNORE || b->mode == BODY_JSON || b->mode == BODY_SSE ||
		   b->mode == BODY_EVENTSTREAM);
	FUZZ_CHECK(b->len <= b->cap);
	FUZZ_CHECK(!b->cap == !b->buf);
	FUZZ_CHECK(b->line_len <= sizeof(b->line));
	FUZZ_CHECK(b->cap <= (b->mode == BODY_JSON ? BODY_JSON_MAX : BODY_EVENT_MAX));
	if (b->mode == BODY_IGNORE)
		FUZZ_CHECK(!b->buf && !b->compressed);
	if (b->compressed)
		FUZZ_CHECK(b->z.state != NULL);
	(void)(b->broken && b->line_long && b->in_data && b->event_long);
	fuzz_check_usage(&b->usage, 1);
}

static inline void fuzz_check_exchange(const struct exchange *x)
{
	size_t n;

	FUZZ_CHECK_STR(x->method);
	FUZZ_CHECK_STR(x->path);
	FUZZ_CHECK_STR(x->authority);
	FUZZ_CHECK_STR(x->content_type);
	FUZZ_CHECK_STR(x->content_encoding);
	/* the query string (where Gemini's ?key= is) is never kept */
	FUZZ_CHECK(!memchr(x->path, '?', strlen(x->path)));
	/* a lower case host name, without its port */
	n = strlen(x->authority);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = x->authority[i];

		FUZZ_CHECK(c > ' ' && c < 0x7f);
		FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
	}
	if (n && x->authority[0] != '[')
		FUZZ_CHECK(!strchr(x->authority, ':'));
	FUZZ_CHECK(x->has_key == 0 || x->has_key == 1);
	FUZZ_CHECK(x->has_org == 0 || x->has_org == 1);
	fuzz_check_usage(&x->header_usage, 0);
	if (x->body_started)
		fuzz_check_body(&x->body);
}

/* A finished response: its usage is read, as the monitor reads it (body_end runs). */
static inline struct usage fuzz_finish_exchange(struct exchange *x)
{
	struct usage u;

	fuzz_check_exchange(x);
	u = exchange_usage(x);
	fuzz_check_usage(&u, 0);
	if (x->body_started)
		fuzz_check_body(&x->body);
	return u;
}

#endif
