// SPDX-License-Identifier: GPL-2.0
#include "exchange.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void exchange_init(struct exchange *x)
{
	memset(x, 0, sizeof(*x));
}

void exchange_free(struct exchange *x)
{
	if (x->body_started)
		body_free(&x->body);
	x->body_started = false;
}

static bool is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && !strncasecmp(name, want, len);
}

static void copy_value(char *dst, size_t cap, const char *v, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static void set_authority(struct exchange *x, const char *v, size_t len)
{
	size_t n = 0;

	/* "host:port" → host; "[v6]:port" kept as is up to the bracket */
	if (len && v[0] != '[') {
		const char *colon = memchr(v, ':', len);

		if (colon)
			len = colon - v;
	}
	for (size_t i = 0; i < len && n + 1 < sizeof(x->authority); i++) {
		unsigned char c = v[i];

		if (c <= ' ' || c >= 0x7f) {
			x->authority[0] = '\0'; /* not a host name: keep none */
			return;
		}
		x->authority[n++] = tolower(c);
	}
	x->authority[n] = '\0';
}

static void fingerprint_credential(struct fingerprint *fp, bool *has, const char *v, size_t len)
{
	const char *cred;
	size_t n;

	if (credential_of(v, len, &cred, &n)) {
		fingerprint_of(cred, n, fp);
		*has = true;
	}
}

/* The path without its query string, which may carry a key (Gemini's ?key=). */
static void set_path(struct exchange *x, const char *v, size_t len)
{
	const char *q = memchr(v, '?', len);

	copy_value(x->path, sizeof(x->path), v, q ? (size_t)(q - v) : len);
	while (q && q < v + len) {
		const char *p = q + 1, *end = memchr(p, '&', v + len - p);

		if (!end)
			end = v + len;
		if (end - p > 4 && !memcmp(p, "key=", 4))
			fingerprint_credential(&x->key, &x->has_key, p + 4, end - p - 4);
		q = end < v + len ? end : NULL;
	}
}

void exchange_request_header(struct exchange *x, const char *name, size_t name_len,
			     const char *value, size_t value_len)
{
	if (is(name, name_len, ":method"))
		copy_value(x->method, sizeof(x->method), value, value_len);
	else if (is(name, name_len, ":path"))
		set_path(x, value, value_len);
	else if (is(name, name_len, ":authority") || is(name, name_len, "host"))
		set_authority(x, value, value_len);
	else if (is(name, name_len, "authorization") || is(name, name_len, "x-api-key") ||
		 is(name, name_len, "x-goog-api-key") || is(name, name_len, "api-key"))
		fingerprint_credential(&x->key, &x->has_key, value, value_len);
}

static void header_count(const char *v, size_t len, uint64_t *out, bool *has)
{
	char buf[24];
	char *end;

	copy_value(buf, sizeof(buf), v, len);
	*out = strtoull(buf, &end, 10);
	*has = end != buf && *end == '\0';
}

void exchange_response_header(struct exchange *x, const char *name, size_t name_len,
			      const char *value, size_t value_len)
{
	char status[4];

	if (is(name, name_len, ":status")) {
		copy_value(status, sizeof(status), value, value_len);
		x->status = atoi(status);
	} else if (is(name, name_len, "content-type"))
		copy_value(x->content_type, sizeof(x->content_type), value, value_len);
	else if (is(name, name_len, "content-encoding"))
		copy_value(x->content_encoding, sizeof(x->content_encoding), value, value_len);
	else if (is(name, name_len, "openai-organization") ||
		 is(name, name_len, "anthropic-organization-id"))
		fingerprint_credential(&x->org, &x->has_org, value, value_len);
	else if (is(name, name_len, "x-amzn-bedrock-input-token-count"))
		header_count(value, value_len, &x->header_usage.input, &x->header_usage.has_input);
	else if (is(name, name_len, "x-amzn-bedrock-output-token-count"))
		header_count(value, value_len, &x->header_usage.output, &x->header_usage.has_output);
}

void exchange_start_body(struct exchange *x)
{
	if (x->body_started)
		return;
	body_init(&x->body, x->content_type[0] ? x->content_type : NULL,
		  x->content_encoding[0] ? x->content_encoding : NULL);
	x->body_started = true;
}

struct usage exchange_usage(struct exchange *x)
{
	struct usage u = x->header_usage;

	if (x->body_started) {
		body_end(&x->body);
		if (x->body.usage.has_input) {
			u.input = x->body.usage.input;
			u.has_input = true;
		}
		if (x->body.usage.has_output) {
			u.output = x->body.usage.output;
			u.has_output = true;
		}
	}
	return u;
}
