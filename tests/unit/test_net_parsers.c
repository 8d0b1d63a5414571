// SPDX-License-Identifier: GPL-2.0
/* Parsers of bytes from the network: TLS ClientHello SNI, HTTP request heads,
 * DNS responses. Real-shaped input, every cut of it, and hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dns.h"
#include "http_request.h"
#include "tls_hello.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* ---- TLS ClientHello ---- */

static void real_client_hello_gives_its_sni(void **state)
{
	uint8_t buf[4096];
	size_t n = load("client_hello_openssl3.bin", buf, sizeof(buf));
	char name[256];

	assert_int_equal(tls_client_hello_sni(buf, n, name, sizeof(name)), HELLO_SNI);
	assert_string_equal(name, "api.openai.com");
	/* every cut short of the whole is "need more", never a wrong answer */
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(tls_client_hello_sni(buf, cut, name, sizeof(name)), HELLO_NEED_MORE);
}

/* Builds record(s) around a ClientHello with the given extensions. */
static size_t hello(uint8_t *out, const uint8_t *exts, size_t extlen, size_t split)
{
	uint8_t body[8192];
	size_t b = 0, o = 0, hs_len;
	uint8_t hs[8192];

	body[b++] = 3;
	body[b++] = 3;
	memset(body + b, 0x42, 32);
	b += 32;
	body[b++] = 0;                      /* session id */
	body[b++] = 0, body[b++] = 4;       /* cipher suites */
	body[b++] = 0x0a, body[b++] = 0x0a; /* GREASE */
	body[b++] = 0x13, body[b++] = 0x01;
	body[b++] = 1, body[b++] = 0;       /* compression */
	body[b++] = extlen >> 8, body[b++] = extlen & 0xff;
	memcpy(body + b, exts, extlen);
	b += extlen;
	hs[0] = 1;
	hs[1] = b >> 16, hs[2] = b >> 8, hs[3] = b;
	memcpy(hs + 4, body, b);
	hs_len = b + 4;
	if (!split || split >= hs_len)
		split = hs_len;
	for (size_t at = 0; at < hs_len; at += split) {
		size_t len = hs_len - at < split ? hs_len - at : split;

		out[o++] = 0x16, out[o++] = 3, out[o++] = 1;
		out[o++] = len >> 8, out[o++] = len & 0xff;
		memcpy(out + o, hs + at, len);
		o += len;
	}
	return o;
}

static size_t sni_ext(uint8_t *e, const char *name)
{
	size_t n = strlen(name), o = 0;

	e[o++] = 0, e[o++] = 0;
	e[o++] = (n + 5) >> 8, e[o++] = (n + 5) & 0xff;
	e[o++] = (n + 3) >> 8, e[o++] = (n + 3) & 0xff;
	e[o++] = 0;
	e[o++] = n >> 8, e[o++] = n & 0xff;
	memcpy(e + o, name, n);
	return o + n;
}

static void grease_and_other_extensions_before_sni(void **state)
{
	uint8_t exts[512], rec[4096];
	size_t e = 0, n;
	char name[256];

	exts[e++] = 0x1a, exts[e++] = 0x1a, exts[e++] = 0, exts[e++] = 0; /* GREASE, empty */
	exts[e++] = 0, exts[e++] = 23, exts[e++] = 0, exts[e++] = 0;      /* extended master secret */
	e += sni_ext(exts + e, "API.Anthropic.COM");
	n = hello(rec, exts, e, 0);
	assert_int_equal(tls_client_hello_sni(rec, n, name, sizeof(name)), HELLO_SNI);
	assert_string_equal(name, "api.anthropic.com");
}

static void hello_split_over_several_records(void **state)
{
	uint8_t exts[2048], rec[8192];
	size_t e = 0, n;
	char name[256];

	exts[e++] = 0, exts[e++] = 21, exts[e++] = 0x05, exts[e++] = 0xdc; /* padding 1500 */
	memset(exts + e, 0, 1500);
	e += 1500;
	e += sni_ext(exts + e, "generativelanguage.googleapis.com");
	n = hello(rec, exts, e, 500);
	assert_int_equal(tls_client_hello_sni(rec, n, name, sizeof(name)), HELLO_SNI);
	assert_string_equal(name, "generativelanguage.googleapis.com");
	assert_int_equal(tls_client_hello_sni(rec, n - 1, name, sizeof(name)), HELLO_NEED_MORE);
}

static void hello_without_sni_or_extensions(void **state)
{
	uint8_t exts[8] = { 0, 23, 0, 0 }, rec[1024];
	size_t n = hello(rec, exts, 4, 0);
	char name[256];

	assert_int_equal(tls_client_hello_sni(rec, n, name, sizeof(name)), HELLO_NO_SNI);
}

static void not_tls_and_garbage(void **state)
{
	char name[256];
	uint8_t http[] = "GET / HTTP/1.1\r\n";
	uint8_t alert[] = { 0x15, 3, 3, 0, 2, 2, 40 };
	uint8_t server_hello[] = { 0x16, 3, 3, 0, 4, 2, 0, 0, 0 };
	uint8_t bad_version[] = { 0x16, 9, 9, 0, 4, 1, 0, 0, 0 };
	uint8_t zero_len[] = { 0x16, 3, 1, 0, 0 };
	uint8_t huge_hs[] = { 0x16, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff };

	assert_int_equal(tls_client_hello_sni(http, sizeof(http) - 1, name, 256), HELLO_NOT_TLS);
	assert_int_equal(tls_client_hello_sni(alert, sizeof(alert), name, 256), HELLO_NOT_TLS);
	assert_int_equal(tls_client_hello_sni(server_hello, sizeof(server_hello), name, 256), HELLO_NOT_TLS);
	assert_int_equal(tls_client_hello_sni(bad_version, sizeof(bad_version), name, 256), HELLO_NOT_TLS);
	assert_int_equal(tls_client_hello_sni(zero_len, sizeof(zero_len), name, 256), HELLO_MALFORMED);
	assert_int_equal(tls_client_hello_sni(huge_hs, sizeof(huge_hs), name, 256), HELLO_MALFORMED);
}

static void lying_lengths_and_bad_names(void **state)
{
	uint8_t exts[512], rec[4096];
	size_t e, n;
	char name[256];

	/* server_name list longer than its extension */
	e = sni_ext(exts, "api.openai.com");
	exts[5] += 10;
	n = hello(rec, exts, e, 0);
	assert_int_equal(tls_client_hello_sni(rec, n, name, sizeof(name)), HELLO_MALFORMED);
	/* a name with a NUL, a space, or an empty label */
	n = hello(rec, exts, sni_ext(exts, "evil\x01name"), 0);
	assert_int_equal(tls_client_hello_sni(rec, n, name, sizeof(name)), HELLO_MALFORMED);
	n = hello(rec, exts, sni_ext(exts, "a..b"), 0);
	assert_int_equal(tls_client_hello_sni(rec, n, name, sizeof(name)), HELLO_MALFORMED);
	/* too long for the caller's buffer */
	n = hello(rec, exts, sni_ext(exts, "api.openai.com"), 0);
	assert_int_equal(tls_client_hello_sni(rec, n, name, 8), HELLO_MALFORMED);
}

/* ---- HTTP/1.x request heads ---- */

static void request_host_and_path(void **state)
{
	const char *req = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nUser-Agent: t\r\n"
			  "HOST:  API.OpenAI.com:443 \r\nContent-Length: 2\r\n\r\n{}";
	char host[256], path[256];

	assert_int_equal(http_request_head((const uint8_t *)req, strlen(req), host, sizeof(host),
					   path, sizeof(path)), HTTP_HOST);
	assert_string_equal(host, "api.openai.com");
	assert_string_equal(path, "/v1/chat/completions?x=1");
	for (size_t cut = 1; cut < strlen(req) - 20; cut++) {
		enum http_result r = http_request_head((const uint8_t *)req, cut, host, sizeof(host),
						       path, sizeof(path));

		assert_true(r == HTTP_NEED_MORE || r == HTTP_HOST);
	}
}

static void request_without_host_and_non_http(void **state)
{
	const char *no_host = "GET / HTTP/1.0\r\nAccept: */*\r\n\r\n";
	const char *ssh = "SSH-2.0-OpenSSH_9.2\r\n";
	const char *bad = "GET /\r\n\r\n";
	const char *ctl = "GET /a\x01 HTTP/1.1\r\n\r\n";
	char host[256], path[256];

	assert_int_equal(http_request_head((const uint8_t *)no_host, strlen(no_host), host, 256, path, 256),
			 HTTP_NO_HOST);
	assert_int_equal(http_request_head((const uint8_t *)ssh, strlen(ssh), host, 256, path, 256),
			 HTTP_NOT_HTTP);
	assert_int_equal(http_request_head((const uint8_t *)bad, strlen(bad), host, 256, path, 256),
			 HTTP_NOT_HTTP);
	assert_int_equal(http_request_head((const uint8_t *)ctl, strlen(ctl), host, 256, path, 256),
			 HTTP_NOT_HTTP);
	assert_int_equal(http_request_head((const uint8_t *)"PO", 2, host, 256, path, 256), HTTP_NEED_MORE);
}

/* ---- DNS ---- */

struct answers {
	int n;
	char name[4][DNS_NAME_MAX];
	uint8_t addr[4][16];
	uint32_t ttl[4];
};

static void collect(void *ctx, const char *name, const uint8_t addr[16], uint32_t ttl)
{
	struct answers *a = ctx;

	if (a->n < 4) {
		strcpy(a->name[a->n], name);
		memcpy(a->addr[a->n], addr, 16);
		a->ttl[a->n] = ttl;
	}
	a->n++;
}

/* api.openai.com CNAME api.openai.com.cdn.example (compressed), A, AAAA */
static const uint8_t cname_response[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
	3, 'a', 'p', 'i', 6, 'o', 'p', 'e', 'n', 'a', 'i', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
	/* answer 1 @32: CNAME */
	0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 13,
	3, 'c', 'd', 'n', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	/* answer 2 @57: A for the CNAME target (pointer to 44) */
	0xc0, 44, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 198, 51, 100, 9,
	/* answer 3: AAAA */
	0xc0, 44, 0, 28, 0, 1, 0, 0, 1, 44, 0, 16,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
};

static void answers_through_cname_chain(void **state)
{
	struct answers a = { 0 };

	assert_int_equal(dns_parse_response(cname_response, sizeof(cname_response), collect, &a), 2);
	assert_string_equal(a.name[0], "api.openai.com");
	assert_int_equal(a.addr[0][10], 0xff);
	assert_int_equal(a.addr[0][15], 9);
	assert_int_equal(a.ttl[0], 300);
	assert_string_equal(a.name[1], "api.openai.com");
	assert_int_equal(a.addr[1][0], 0x20);
	/* cut anywhere: what came before the cut, never more, never a crash */
	for (size_t cut = 0; cut < sizeof(cname_response); cut++) {
		struct answers b = { 0 };
		int r = dns_parse_response(cname_response, cut, collect, &b);

		assert_true(r <= 2);
	}
}

static void unrelated_records_are_ignored(void **state)
{
	uint8_t msg[sizeof(cname_response)];
	struct answers a = { 0 };

	memcpy(msg, cname_response, sizeof(msg));
	/* the A and AAAA records now belong to "example", not to the chain */
	msg[58] = 48;
	msg[74] = 48;
	assert_int_equal(dns_parse_response(msg, sizeof(msg), collect, &a), 0);
}

static void pointer_loops_and_queries_are_refused(void **state)
{
	uint8_t loop[] = { 0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 };
	uint8_t query[sizeof(cname_response)];
	struct answers a = { 0 };
	size_t off = 12;
	char name[DNS_NAME_MAX];

	assert_int_equal(dns_parse_response(loop, sizeof(loop), collect, &a), -1);
	assert_int_equal(dns_read_name(loop, sizeof(loop), &off, name), -1);
	memcpy(query, cname_response, sizeof(query));
	query[2] = 0x01; /* QR clear: a query, not an answer */
	assert_int_equal(dns_parse_response(query, sizeof(query), collect, &a), -1);
	query[2] = 0x81;
	query[3] = 0x83; /* NXDOMAIN */
	assert_int_equal(dns_parse_response(query, sizeof(query), collect, &a), -1);
	assert_int_equal(a.n, 0);
}

static void names_with_odd_bytes_are_refused(void **state)
{
	uint8_t msg[] = { 3, 'a', '.', 'b', 0 };
	uint8_t longname[5 * 64 + 1];
	size_t off = 0;
	char name[DNS_NAME_MAX];

	assert_int_equal(dns_read_name(msg, sizeof(msg), &off, name), -1);
	/* 5 labels of 63: over 253 characters */
	for (int i = 0; i < 5; i++) {
		longname[i * 64] = 63;
		memset(longname + i * 64 + 1, 'a', 63);
	}
	longname[5 * 64] = 0;
	off = 0;
	assert_int_equal(dns_read_name(longname, sizeof(longname), &off, name), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_client_hello_gives_its_sni),
		cmocka_unit_test(grease_and_other_extensions_before_sni),
		cmocka_unit_test(hello_split_over_several_records),
		cmocka_unit_test(hello_without_sni_or_extensions),
		cmocka_unit_test(not_tls_and_garbage),
		cmocka_unit_test(lying_lengths_and_bad_names),
		cmocka_unit_test(request_host_and_path),
		cmocka_unit_test(request_without_host_and_non_http),
		cmocka_unit_test(answers_through_cname_chain),
		cmocka_unit_test(unrelated_records_are_ignored),
		cmocka_unit_test(pointer_loops_and_queries_are_refused),
		cmocka_unit_test(names_with_odd_bytes_are_refused),
	};

	return cmocka_run_group_tests_name("network parsers", tests, NULL, NULL);
}
