// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.1 and HTTP/2 on one TLS connection, both directions, as the client
 * library's calls hand the plaintext over: what the sink is told of each
 * request and response, whatever pieces the bytes come in, and broken input
 * that loses step without a crash or a made-up request. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http1.h"
#include "http2.h"
#include "compress.h"
#include "usage_assert.h"

#define SEEN_MAX 8

struct seen_request {
	char method[16], path[512], authority[256];
	bool has_key;
	struct fingerprint key;
};

struct seen_response {
	char path[512]; /* of the request it answers */
	int status;
	struct usage usage;
	bool has_org;
	struct fingerprint org;
};

struct recorder {
	int requests, responses;
	struct seen_request req[SEEN_MAX];
	struct seen_response resp[SEEN_MAX];
};

static void on_request(void *ctx, struct exchange *x)
{
	struct recorder *r = ctx;
	struct seen_request *q;

	assert_true(r->requests < SEEN_MAX);
	q = &r->req[r->requests++];
	strcpy(q->method, x->method);
	strcpy(q->path, x->path);
	strcpy(q->authority, x->authority);
	q->has_key = x->has_key;
	q->key = x->key;
}

static void on_response(void *ctx, struct exchange *x)
{
	struct recorder *r = ctx;
	struct seen_response *s;

	assert_true(r->responses < SEEN_MAX);
	s = &r->resp[r->responses++];
	strcpy(s->path, x->path);
	s->status = x->status;
	s->usage = exchange_usage(x); /* as the monitor reads it */
	s->has_org = x->has_org;
	s->org = x->org;
}

static struct h1_sink recording(struct recorder *r)
{
	return (struct h1_sink){ on_request, on_response, r };
}

static void assert_same_record(const struct recorder *a, const struct recorder *b)
{
	assert_int_equal(a->requests, b->requests);
	assert_int_equal(a->responses, b->responses);
	for (int i = 0; i < a->requests; i++) {
		assert_string_equal(a->req[i].method, b->req[i].method);
		assert_string_equal(a->req[i].path, b->req[i].path);
		assert_string_equal(a->req[i].authority, b->req[i].authority);
		assert_int_equal(a->req[i].has_key, b->req[i].has_key);
		assert_memory_equal(&a->req[i].key, &b->req[i].key, sizeof(a->req[i].key));
	}
	for (int i = 0; i < a->responses; i++) {
		assert_string_equal(a->resp[i].path, b->resp[i].path);
		assert_int_equal(a->resp[i].status, b->resp[i].status);
		assert_int_equal(a->resp[i].usage.has_input, b->resp[i].usage.has_input);
		assert_int_equal(a->resp[i].usage.input, b->resp[i].usage.input);
		assert_int_equal(a->resp[i].usage.has_output, b->resp[i].usage.has_output);
		assert_int_equal(a->resp[i].usage.output, b->resp[i].usage.output);
		assert_int_equal(a->resp[i].has_org, b->resp[i].has_org);
	}
}

/* ---- bodies as the providers send them (shortened) ---- */

static const char openai_key[] = "Bearer sk-proj-7QxZ2v9Kp4mT1aB8cD3eF6gH0iJ5kL2n";
static const char chat_body[] =
	"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
static const char stream_body[] =
	"{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
	"\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
static const char models_json[] =
	"{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o-mini\",\"object\":\"model\","
	"\"created\":1721172741,\"owned_by\":\"system\"}]}";

/* A chat completion with the given usage. */
static void openai_json(char *out, size_t cap, int prompt, int completion)
{
	int n = snprintf(out, cap,
		"{\n  \"id\": \"chatcmpl-AY1xKq7\",\n  \"object\": \"chat.completion\",\n"
		"  \"created\": 1732800000,\n  \"model\": \"gpt-4o-mini-2024-07-18\",\n"
		"  \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\",\n"
		"    \"content\": \"Hello! How can I help?\", \"refusal\": null},\n"
		"    \"logprobs\": null, \"finish_reason\": \"stop\"}],\n"
		"  \"usage\": {\"prompt_tokens\": %d, \"completion_tokens\": %d, \"total_tokens\": %d,\n"
		"    \"prompt_tokens_details\": {\"cached_tokens\": 0, \"audio_tokens\": 0}},\n"
		"  \"system_fingerprint\": \"fp_0ba0d124f1\"\n}\n",
		prompt, completion, prompt + completion);

	assert_true(n > 0 && (size_t)n < cap);
}

/* stream_options.include_usage: the usage comes alone in the last chunk. */
static const char openai_sse[] =
	"data: {\"id\":\"chatcmpl-AY2\",\"object\":\"chat.completion.chunk\",\"created\":1732800001,"
	"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	"\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
	"data: {\"id\":\"chatcmpl-AY2\",\"object\":\"chat.completion.chunk\",\"created\":1732800001,"
	"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello!\"},"
	"\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
	"data: {\"id\":\"chatcmpl-AY2\",\"object\":\"chat.completion.chunk\",\"created\":1732800001,"
	"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
	"\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
	"data: {\"id\":\"chatcmpl-AY2\",\"object\":\"chat.completion.chunk\",\"created\":1732800001,"
	"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,"
	"\"completion_tokens\":5,\"total_tokens\":35}}\n\n"
	"data: [DONE]\n\n";

static const char anthropic_sse[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\","
	"\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5-20250929\","
	"\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
	"\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	"event: ping\ndata: {\"type\": \"ping\"}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
	"\"usage\":{\"output_tokens\":15}}\n\n"
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

/* The Responses API streamed: the usage is in response.completed. */
static const char responses_sse[] =
	"event: response.created\n"
	"data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_67c9fdcecf\","
	"\"object\":\"response\",\"created_at\":1741290958,\"status\":\"in_progress\","
	"\"model\":\"gpt-4.1-2025-04-14\",\"output\":[],\"usage\":null}}\n\n"
	"event: response.output_text.delta\n"
	"data: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"item_id\":\"msg_67c9fdcf\","
	"\"output_index\":0,\"content_index\":0,\"delta\":\"Hi there!\"}\n\n"
	"event: response.completed\n"
	"data: {\"type\":\"response.completed\",\"sequence_number\":9,\"response\":{\"id\":\"resp_67c9fdcecf\","
	"\"object\":\"response\",\"created_at\":1741290958,\"status\":\"completed\","
	"\"model\":\"gpt-4.1-2025-04-14\",\"output\":[{\"type\":\"message\",\"id\":\"msg_67c9fdcf\","
	"\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
	"\"text\":\"Hi there!\",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":37,"
	"\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":11,"
	"\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":48}}}\n\n";

/* ---- HTTP/1.1 messages ---- */

static size_t request(char *out, size_t cap, const char *method, const char *path, const char *host,
		      const char *headers, const char *body)
{
	int n = snprintf(out, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n%sUser-Agent: OpenAI/Python 1.54.0\r\n"
			 "Content-Length: %zu\r\n\r\n%s", method, path, host, headers, strlen(body), body);

	assert_true(n > 0 && (size_t)n < cap);
	return n;
}

/* POST of a chat completion to OpenAI, as the Python SDK sends it. */
static size_t chat_request(char *out, size_t cap, const char *path, const char *body)
{
	char headers[256];

	snprintf(headers, sizeof(headers), "Authorization: %s\r\nContent-Type: application/json\r\n",
		 openai_key);
	return request(out, cap, "POST", path, "api.openai.com", headers, body);
}

/* A response head; the body (len bytes) follows it in out. */
static size_t response(uint8_t *out, size_t cap, const char *headers, const void *body, size_t len)
{
	int n = snprintf((char *)out, cap, "HTTP/1.1 200 OK\r\nDate: Thu, 28 Nov 2024 16:53:00 GMT\r\n"
			 "%s\r\n", headers);

	assert_true(n > 0 && n + len <= cap);
	memcpy(out + n, body, len);
	return n + len;
}

static size_t json_response(uint8_t *out, size_t cap, const char *encoding, const void *body, size_t len)
{
	char headers[512];

	snprintf(headers, sizeof(headers), "Content-Type: application/json\r\n%s%s%sContent-Length: %zu\r\n"
		 "openai-organization: user-abc123\r\nx-request-id: req_7c1d0a8b\r\n",
		 encoding ? "Content-Encoding: " : "", encoding ? encoding : "", encoding ? "\r\n" : "",
		 len);
	return response(out, cap, headers, body, len);
}

/* body in chunks of size bytes, the second with an extension, then trailers. */
static size_t chunked(uint8_t *out, size_t cap, const char *body, size_t size)
{
	size_t len = strlen(body), o = 0;

	for (size_t at = 0, k = 0; at < len; at += size, k++) {
		size_t n = len - at < size ? len - at : size;

		o += snprintf((char *)out + o, cap - o, "%zx%s\r\n", n, k == 1 ? ";ext=1" : "");
		assert_true(o + n + 2 < cap);
		memcpy(out + o, body + at, n);
		o += n;
		memcpy(out + o, "\r\n", 2);
		o += 2;
	}
	o += snprintf((char *)out + o, cap - o, "0\r\nX-Trailer: done\r\n\r\n");
	assert_true(o < cap);
	return o;
}

static size_t sse_response(uint8_t *out, size_t cap, const char *extra, const char *sse, size_t size)
{
	uint8_t body[8192];
	size_t len = chunked(body, sizeof(body), sse, size);
	char headers[512];

	snprintf(headers, sizeof(headers), "Content-Type: text/event-stream; charset=utf-8\r\n"
		 "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n%s", extra);
	return response(out, cap, headers, body, len);
}

static void client_writes(struct h1_conn *c, const void *p, size_t n)
{
	h1_write(c, p, n, n);
}

static void client_reads(struct h1_conn *c, const void *p, size_t n)
{
	h1_read(c, p, n, n);
}

/* ---- HTTP/1.1 ---- */

static void h1_request_line_host_and_length_body(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024], body[1024];
	uint8_t resp[2048];
	size_t n;

	h1_init(&c, &sink);
	n = request(req, sizeof(req), "POST", "/v1/chat/completions?api-version=2024-10-21",
		    "API.OpenAI.com:443", "Authorization: Bearer sk-x\r\n", chat_body);
	client_writes(&c, req, n);
	assert_int_equal(r.requests, 1);
	assert_string_equal(r.req[0].method, "POST");
	assert_string_equal(r.req[0].path, "/v1/chat/completions"); /* the query may carry a key */
	assert_string_equal(r.req[0].authority, "api.openai.com");
	assert_true(r.req[0].has_key);

	openai_json(body, sizeof(body), 19, 10);
	n = json_response(resp, sizeof(resp), NULL, body, strlen(body));
	client_reads(&c, resp, 200);
	assert_int_equal(r.responses, 0); /* not until the whole Content-Length */
	client_reads(&c, resp + 200, n - 200);
	assert_int_equal(r.responses, 1);
	assert_int_equal(r.resp[0].status, 200);
	assert_usage(&r.resp[0].usage, 19, 10);
	assert_true(r.resp[0].has_org);
	h1_free(&c);
}

static void h1_chunked_response_body(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024];
	uint8_t resp[8192];
	size_t n;

	h1_init(&c, &sink);
	n = request(req, sizeof(req), "POST", "/v1/messages", "api.anthropic.com",
		    "x-api-key: sk-ant-api03-Zx9\r\nanthropic-version: 2023-06-01\r\n"
		    "content-type: application/json\r\n", "{\"model\":\"claude-sonnet-4-5\",\"stream\":true}");
	client_writes(&c, req, n);
	n = sse_response(resp, sizeof(resp), "anthropic-organization-id: 2b3c4d5e-0000-1111-2222-333344445555\r\n",
			 anthropic_sse, 333);
	/* reads that end inside chunk sizes, data and trailers */
	client_reads(&c, resp, 400);
	client_reads(&c, resp + 400, 1);
	client_reads(&c, resp + 401, n - 401 - 10);
	assert_int_equal(r.responses, 0);
	client_reads(&c, resp + n - 10, 10);
	assert_int_equal(r.responses, 1);
	assert_string_equal(r.resp[0].path, "/v1/messages");
	assert_usage(&r.resp[0].usage, 25, 15);
	assert_true(r.resp[0].has_org);
	h1_free(&c);
}

static void h1_keep_alive_exchanges_in_turn(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024], body[1024];
	uint8_t resp[8192];
	size_t n;

	h1_init(&c, &sink);
	client_writes(&c, req, chat_request(req, sizeof(req), "/v1/chat/completions", chat_body));
	openai_json(body, sizeof(body), 19, 10);
	client_reads(&c, resp, json_response(resp, sizeof(resp), NULL, body, strlen(body)));

	n = request(req, sizeof(req), "GET", "/v1/models", "api.openai.com", "", "");
	client_writes(&c, req, n);
	client_reads(&c, resp, json_response(resp, sizeof(resp), NULL, models_json, strlen(models_json)));

	client_writes(&c, req, chat_request(req, sizeof(req), "/v1/chat/completions", stream_body));
	client_reads(&c, resp, sse_response(resp, sizeof(resp), "", openai_sse, 200));

	assert_int_equal(r.requests, 3);
	assert_int_equal(r.responses, 3);
	assert_string_equal(r.req[1].method, "GET");
	assert_usage(&r.resp[0].usage, 19, 10);
	assert_string_equal(r.resp[1].path, "/v1/models");
	assert_usage(&r.resp[1].usage, NONE, NONE); /* no usage: never a made-up 0 */
	assert_usage(&r.resp[2].usage, 30, 5);
	h1_free(&c);
}

static void h1_pipelined_responses_answer_requests_in_order(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[2048], body[1024];
	uint8_t resp[8192];
	size_t n;

	h1_init(&c, &sink);
	/* both requests in one write, before either response */
	n = chat_request(req, sizeof(req), "/v1/chat/completions", chat_body);
	n += chat_request(req + n, sizeof(req) - n, "/v1/embeddings",
			  "{\"model\":\"text-embedding-3-small\",\"input\":\"hello\"}");
	client_writes(&c, req, n);
	assert_int_equal(r.requests, 2);

	openai_json(body, sizeof(body), 19, 10);
	n = json_response(resp, sizeof(resp), NULL, body, strlen(body));
	strcpy(body, "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
		     "\"embedding\":[0.0023,-0.0093]}],\"model\":\"text-embedding-3-small\","
		     "\"usage\":{\"prompt_tokens\":1,\"total_tokens\":1}}");
	n += json_response(resp + n, sizeof(resp) - n, NULL, body, strlen(body));
	client_reads(&c, resp, n);

	assert_int_equal(r.responses, 2);
	assert_string_equal(r.resp[0].path, "/v1/chat/completions");
	assert_usage(&r.resp[0].usage, 19, 10);
	assert_string_equal(r.resp[1].path, "/v1/embeddings");
	assert_usage(&r.resp[1].usage, 1, NONE);
	h1_free(&c);
}

struct call {
	bool read;
	size_t at, len; /* in the conversation's bytes */
};

struct conversation {
	struct call calls[16];
	int n;
	uint8_t bytes[32768];
	size_t len;
};

static void said(struct conversation *cv, bool read, const void *p, size_t n)
{
	assert_true(cv->n < 16 && cv->len + n <= sizeof(cv->bytes));
	memcpy(cv->bytes + cv->len, p, n);
	cv->calls[cv->n++] = (struct call){ read, cv->len, n };
	cv->len += n;
}

/* Keep-alive, chunks, gzip and pipelining on one connection. */
static void h1_conversation(struct conversation *cv)
{
	char req[2048], body[1024];
	uint8_t resp[8192], gz[1024];
	size_t n;

	said(cv, false, req, chat_request(req, sizeof(req), "/v1/chat/completions", chat_body));
	openai_json(body, sizeof(body), 19, 10);
	said(cv, true, resp, json_response(resp, sizeof(resp), NULL, body, strlen(body)));
	said(cv, false, req, chat_request(req, sizeof(req), "/v1/chat/completions", stream_body));
	said(cv, true, resp, sse_response(resp, sizeof(resp), "", openai_sse, 97));
	n = chat_request(req, sizeof(req), "/v1/chat/completions", chat_body);
	n += request(req + n, sizeof(req) - n, "GET", "/v1/models", "api.openai.com", "", "");
	said(cv, false, req, n);
	openai_json(body, sizeof(body), 7, 3);
	n = gzip(body, strlen(body), gz, sizeof(gz));
	n = json_response(resp, sizeof(resp), "gzip", gz, n);
	n += json_response(resp + n, sizeof(resp) - n, NULL, models_json, strlen(models_json));
	said(cv, true, resp, n);
}

/* Each call of the conversation as calls of piece bytes (0: whole). */
static void play_h1(const struct conversation *cv, size_t piece, struct recorder *r)
{
	struct h1_sink sink = recording(r);
	struct h1_conn c;

	h1_init(&c, &sink);
	for (int i = 0; i < cv->n; i++) {
		const uint8_t *p = cv->bytes + cv->calls[i].at;
		size_t left = cv->calls[i].len;

		while (left) {
			size_t n = piece && piece < left ? piece : left;

			(cv->calls[i].read ? client_reads : client_writes)(&c, p, n);
			p += n;
			left -= n;
		}
	}
	h1_free(&c);
}

static void h1_split_buffers_give_the_same_result(void **state)
{
	static const size_t pieces[] = { 1, 3, 7 };
	struct conversation *cv = calloc(1, sizeof(*cv));
	struct recorder whole = { 0 };

	h1_conversation(cv);
	play_h1(cv, 0, &whole);
	assert_int_equal(whole.requests, 4);
	assert_int_equal(whole.responses, 4);
	assert_usage(&whole.resp[0].usage, 19, 10);
	assert_usage(&whole.resp[1].usage, 30, 5);
	assert_usage(&whole.resp[2].usage, 7, 3); /* gzip */
	assert_string_equal(whole.resp[3].path, "/v1/models");
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		struct recorder split = { 0 };

		play_h1(cv, pieces[i], &split);
		assert_same_record(&split, &whole);
	}
	free(cv);
}

static void h1_calls_cut_by_the_capture_keep_step(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char *req = malloc(16384), *big = malloc(16384), body[1024];
	uint8_t *resp = malloc(32768);
	size_t n, head;

	h1_init(&c, &sink);
	/* an upload of 12000 bytes of which the first 3000 of the call were copied */
	memset(big, 'A', 12000);
	big[12000] = '\0';
	n = chat_request(req, 16384, "/v1/files", big);
	h1_write(&c, (uint8_t *)req, 3000, n);
	assert_int_equal(r.requests, 1);

	/* its response's body read with 5000 bytes not copied, the usage after them */
	n = snprintf(big, 16384, "{\"id\":\"file-abc123\",\"object\":\"file\",\"data\":\"%0*d\","
		     "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":8}}", 12000, 0);
	n = json_response(resp, 32768, NULL, big, n);
	head = strstr((char *)resp, "\r\n\r\n") + 4 - (char *)resp;
	h1_read(&c, resp, head + 4000, head + 9000);
	client_reads(&c, resp + head + 9000, n - head - 9000);
	assert_int_equal(r.responses, 1);
	assert_usage(&r.resp[0].usage, 7, 8);

	/* the next exchange is read in step */
	client_writes(&c, req, chat_request(req, 16384, "/v1/chat/completions", chat_body));
	openai_json(body, sizeof(body), 19, 10);
	client_reads(&c, resp, json_response(resp, 32768, NULL, body, strlen(body)));
	assert_int_equal(r.requests, 2);
	assert_int_equal(r.responses, 2);
	assert_string_equal(r.resp[1].path, "/v1/chat/completions");
	assert_usage(&r.resp[1].usage, 19, 10);
	h1_free(&c);
	free(req);
	free(big);
	free(resp);
}

static void h1_joined_mid_connection_resynchronizes_at_next_request(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024], body[1024];
	uint8_t resp[2048];
	size_t n;

	h1_init(&c, &sink);
	/* a response to a request never seen, its body over two reads */
	openai_json(body, sizeof(body), 1, 1);
	n = json_response(resp, sizeof(resp), NULL, body, strlen(body));
	client_reads(&c, resp, n - 100);
	client_reads(&c, resp + n - 100, 100);
	assert_int_equal(r.responses, 0);

	client_writes(&c, req, chat_request(req, sizeof(req), "/v1/chat/completions", chat_body));
	openai_json(body, sizeof(body), 19, 10);
	client_reads(&c, resp, json_response(resp, sizeof(resp), NULL, body, strlen(body)));
	assert_int_equal(r.requests, 1);
	assert_int_equal(r.responses, 1);
	assert_usage(&r.resp[0].usage, 19, 10);
	h1_free(&c);
}

static void h1_bad_chunk_lines_lose_only_that_response(void **state)
{
	static const char *const bodies[] = {
		"zz\r\ndata: {}\r\n0\r\n\r\n",                       /* not hexadecimal */
		"a;" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", /* past the line */
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct recorder r = { 0 };
		struct h1_sink sink = recording(&r);
		struct h1_conn c;
		char req[1024], body[1024];
		uint8_t resp[2048];

		h1_init(&c, &sink);
		client_writes(&c, req, chat_request(req, sizeof(req), "/v1/chat/completions", stream_body));
		client_reads(&c, resp, response(resp, sizeof(resp), "Content-Type: text/event-stream\r\n"
						"Transfer-Encoding: chunked\r\n", bodies[i], strlen(bodies[i])));
		assert_int_equal(r.responses, 0);

		client_writes(&c, req, chat_request(req, sizeof(req), "/v1/chat/completions", chat_body));
		openai_json(body, sizeof(body), 19, 10);
		client_reads(&c, resp, json_response(resp, sizeof(resp), NULL, body, strlen(body)));
		/* the lost one ends unparsed when the next response starts */
		assert_int_equal(r.requests, 2);
		assert_int_equal(r.responses, 2);
		assert_usage(&r.resp[0].usage, NONE, NONE);
		assert_usage(&r.resp[1].usage, 19, 10);
		h1_free(&c);
	}
}

static void h1_overlong_head_is_not_a_request(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char *req = malloc(H1_HEAD_MAX + 1024), body[1024];
	uint8_t resp[2048];
	size_t n;

	h1_init(&c, &sink);
	n = sprintf(req, "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nCookie: ");
	memset(req + n, 'c', H1_HEAD_MAX);
	n += H1_HEAD_MAX;
	n += sprintf(req + n, "\r\nContent-Length: 2\r\n\r\n{}");
	for (size_t at = 0; at < n; at += 4096)
		client_writes(&c, req + at, n - at < 4096 ? n - at : 4096);
	client_reads(&c, resp, response(resp, sizeof(resp), "Content-Length: 0\r\n", "", 0));
	assert_int_equal(r.requests, 0);
	assert_int_equal(r.responses, 0);

	client_writes(&c, req, chat_request(req, H1_HEAD_MAX, "/v1/chat/completions", chat_body));
	openai_json(body, sizeof(body), 19, 10);
	client_reads(&c, resp, json_response(resp, sizeof(resp), NULL, body, strlen(body)));
	assert_int_equal(r.requests, 1);
	assert_int_equal(r.responses, 1);
	assert_usage(&r.resp[0].usage, 19, 10);
	h1_free(&c);
	free(req);
}

static void h1_garbage_is_not_a_request(void **state)
{
#define TEXT(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *p;
		size_t n;
	} garbage[] = {
		TEXT("\x00\r\n\r\n"),
		TEXT("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 \xde\xad \r\n\r\n"),
		/* a body sent without framing, then what looks like a header */
		TEXT("{\"model\": \"gpt-4o\", \"stream\": true}\r\nHost: api.openai.com\r\n\r\n"),
		TEXT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), /* a response, written */
	};
#undef TEXT

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		struct recorder r = { 0 };
		struct h1_sink sink = recording(&r);
		struct h1_conn c;
		char req[1024], body[1024];
		uint8_t resp[2048];

		h1_init(&c, &sink);
		client_writes(&c, req, chat_request(req, sizeof(req), "/v1/chat/completions", chat_body));
		openai_json(body, sizeof(body), 19, 10);
		client_reads(&c, resp, json_response(resp, sizeof(resp), NULL, body, strlen(body)));
		client_writes(&c, garbage[i].p, garbage[i].n);
		assert_int_equal(r.requests, 1);

		/* the next request is read again */
		client_writes(&c, req, chat_request(req, sizeof(req), "/v1/embeddings", chat_body));
		assert_int_equal(r.requests, 2);
		assert_string_equal(r.req[1].path, "/v1/embeddings");
		h1_free(&c);
	}
}

static void h1_interim_and_bodiless_responses_keep_step(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024], body[1024];
	uint8_t resp[2048];
	size_t n, head;

	h1_init(&c, &sink);
	/* Expect: 100-continue: the body is written after the interim response */
	n = request(req, sizeof(req), "POST", "/v1/chat/completions", "api.openai.com",
		    "Expect: 100-continue\r\n", chat_body);
	head = n - strlen(chat_body);
	client_writes(&c, req, head);
	client_reads(&c, "HTTP/1.1 100 Continue\r\n\r\n", strlen("HTTP/1.1 100 Continue\r\n\r\n"));
	client_writes(&c, req + head, n - head);
	openai_json(body, sizeof(body), 19, 10);
	client_reads(&c, resp, json_response(resp, sizeof(resp), NULL, body, strlen(body)));
	/* HEAD: a length but no body; 204: no body */
	client_writes(&c, req, request(req, sizeof(req), "HEAD", "/v1/models", "api.openai.com", "", ""));
	client_reads(&c, resp, response(resp, sizeof(resp), "Content-Type: application/json\r\n"
					"Content-Length: 1234\r\n", "", 0));
	client_writes(&c, req, request(req, sizeof(req), "DELETE", "/v1/files/file-abc123",
					"api.openai.com", "", ""));
	client_reads(&c, "HTTP/1.1 204 No Content\r\n\r\n", strlen("HTTP/1.1 204 No Content\r\n\r\n"));
	assert_int_equal(r.requests, 3);
	assert_int_equal(r.responses, 3);
	assert_usage(&r.resp[0].usage, 19, 10);
	assert_string_equal(r.resp[2].path, "/v1/files/file-abc123");
	assert_int_equal(r.resp[2].status, 204);
	h1_free(&c);
}

static void h1_body_read_to_the_close(void **state)
{
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024], body[1024];
	uint8_t resp[2048];

	h1_init(&c, &sink);
	client_writes(&c, req, chat_request(req, sizeof(req), "/v1/chat/completions", chat_body));
	openai_json(body, sizeof(body), 19, 10);
	client_reads(&c, resp, response(resp, sizeof(resp), "Content-Type: application/json\r\n"
					"Connection: close\r\n", body, strlen(body)));
	assert_int_equal(r.responses, 0);
	h1_close(&c);
	assert_int_equal(r.responses, 1);
	assert_usage(&r.resp[0].usage, 19, 10);
	h1_free(&c);
}

/* ---- HTTP/2 frames ---- */

struct wire {
	uint8_t b[32768];
	size_t len;
};

static void put(struct wire *w, const void *p, size_t n)
{
	assert_true(w->len + n <= sizeof(w->b));
	if (n)
		memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void frame_head(struct wire *w, size_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
	uint8_t h[9] = { len >> 16, len >> 8, len, type, flags,
			 stream >> 24 & 0x7f, stream >> 16, stream >> 8, stream };

	put(w, h, sizeof(h));
}

static void frame(struct wire *w, uint8_t type, uint8_t flags, uint32_t stream, const void *p, size_t n)
{
	frame_head(w, n, type, flags, stream);
	put(w, p, n);
}

/* DATA or HEADERS with PADDED: the pad length, the payload, pad zero bytes. */
static void padded(struct wire *w, uint8_t type, uint8_t flags, uint32_t stream, const void *p, size_t n,
		   uint8_t pad)
{
	static const uint8_t zeros[255];

	frame_head(w, 1 + n + pad, type, flags | NGHTTP2_FLAG_PADDED, stream);
	put(w, &pad, 1);
	put(w, p, n);
	put(w, zeros, pad);
}

static void settings(struct wire *w, const uint32_t (*entries)[2], size_t n)
{
	uint8_t p[60];

	for (size_t i = 0; i < n; i++) {
		uint8_t *e = p + 6 * i;

		e[0] = entries[i][0] >> 8, e[1] = entries[i][0];
		e[2] = entries[i][1] >> 24, e[3] = entries[i][1] >> 16;
		e[4] = entries[i][1] >> 8, e[5] = entries[i][1];
	}
	frame(w, NGHTTP2_SETTINGS, 0, 0, p, 6 * n);
}

/* An HPACK block by libnghttp2's encoder, of name, value pairs up to a NULL:
 * its dynamic table carries from block to block, as on a real connection. */
static size_t hpack(nghttp2_hd_deflater *d, uint8_t *out, size_t cap, const char *const *fields)
{
	nghttp2_nv nv[16];
	size_t n = 0;
	ssize_t len;

	for (; fields[2 * n]; n++)
		nv[n] = (nghttp2_nv){ (uint8_t *)fields[2 * n], (uint8_t *)fields[2 * n + 1],
				      strlen(fields[2 * n]), strlen(fields[2 * n + 1]), NGHTTP2_NV_FLAG_NONE };
	len = nghttp2_hd_deflate_hd(d, out, cap, nv, n);
	assert_true(len > 0);
	return len;
}

static void headers(struct wire *w, nghttp2_hd_deflater *d, uint8_t flags, uint32_t stream,
		    const char *const *fields)
{
	uint8_t block[2048];

	frame(w, NGHTTP2_HEADERS, flags | NGHTTP2_FLAG_END_HEADERS, stream, block,
	      hpack(d, block, sizeof(block), fields));
}

static const char *const chat_fields[] = {
	":method", "POST", ":scheme", "https", ":authority", "API.OpenAI.com:443",
	":path", "/v1/chat/completions", "authorization", openai_key,
	"content-type", "application/json", "accept-encoding", "gzip, deflate",
	"user-agent", "OpenAI/Python 1.54.0", NULL,
};

/* Three streams of one connection, as a client and server write them:
 *   1  POST /v1/chat/completions, a gzip JSON response in two DATA frames
 *   3  POST /v1/responses, its head in HEADERS (priority, padded) and
 *      CONTINUATION, an SSE response in padded DATA frames
 *   5  GET /v1/models, no body, a JSON response without usage
 * Responses interleave; they end in the order 5, 3, 1. */
static void h2_conversation(struct wire *out, struct wire *in)
{
	static const uint32_t client_settings[][2] = {
		{ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 65536 }, { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 6291456 },
	};
	static const uint32_t server_settings[][2] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 },
		{ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 4096 },
	};
	static const char *const responses_fields[] = {
		":method", "POST", ":scheme", "https", ":authority", "api.openai.com",
		":path", "/v1/responses", "authorization", openai_key,
		"content-type", "application/json", "accept", "text/event-stream", NULL,
	};
	static const char *const models_fields[] = {
		":method", "GET", ":scheme", "https", ":authority", "api.openai.com",
		":path", "/v1/models", "authorization", openai_key, NULL,
	};
	static const char *const gzip_json_fields[] = {
		":status", "200", "content-type", "application/json", "content-encoding", "gzip",
		"openai-organization", "user-abc123", "openai-processing-ms", "512", NULL,
	};
	static const char *const sse_fields[] = {
		":status", "200", "content-type", "text/event-stream; charset=utf-8",
		"openai-organization", "user-abc123", NULL,
	};
	static const char *const json_fields[] = {
		":status", "200", "content-type", "application/json", NULL,
	};
	static const uint8_t window[4] = { 0, 0xef, 0, 1 }, prio[5] = { 0, 0, 0, 0, 15 };
	nghttp2_hd_deflater *client, *server;
	uint8_t block[2048], gz[2048];
	char body[1024];
	size_t n, sse_half = 700;

	assert_int_equal(nghttp2_hd_deflate_new(&client, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&server, 4096), 0);

	put(out, H2_PREFACE, H2_PREFACE_LEN);
	settings(out, client_settings, 3);
	frame(out, NGHTTP2_WINDOW_UPDATE, 0, 0, window, 4);
	headers(out, client, 0, 1, chat_fields);
	frame(out, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 1, chat_body, strlen(chat_body));
	/* HEADERS with a priority and padding, the block continued */
	n = hpack(client, block, sizeof(block), responses_fields);
	frame_head(out, 1 + 5 + 10 + 4, NGHTTP2_HEADERS, NGHTTP2_FLAG_PADDED | NGHTTP2_FLAG_PRIORITY, 3);
	put(out, "\x04", 1);
	put(out, prio, 5);
	put(out, block, 10);
	put(out, "\0\0\0\0", 4);
	frame(out, NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_HEADERS, 3, block + 10, n - 10);
	frame(out, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 3, stream_body, strlen(stream_body));
	headers(out, client, NGHTTP2_FLAG_END_STREAM, 5, models_fields);

	settings(in, server_settings, 2);
	frame(in, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, NULL, 0);
	headers(in, server, 0, 3, sse_fields);
	headers(in, server, 0, 1, gzip_json_fields);
	padded(in, NGHTTP2_DATA, 0, 3, responses_sse, sse_half, 16);
	openai_json(body, sizeof(body), 19, 10);
	n = gzip(body, strlen(body), gz, sizeof(gz));
	frame(in, NGHTTP2_DATA, 0, 1, gz, n / 2);
	headers(in, server, 0, 5, json_fields);
	frame(in, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 5, models_json, strlen(models_json));
	frame(in, NGHTTP2_PING, 0, 0, "\0\0\0\0\0\0\0\1", 8);
	padded(in, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 3, responses_sse + sse_half,
	       strlen(responses_sse) - sse_half, 0);
	frame(in, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 1, gz + n / 2, n - n / 2);

	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* The client's bytes then the server's, as calls of piece bytes (0: whole). */
static bool play_h2(const struct wire *out, const struct wire *in, size_t piece, struct recorder *r)
{
	struct h1_sink sink = recording(r);
	struct h2_conn c;
	bool lost;

	assert_int_equal(h2_init(&c, &sink), 0);
	for (size_t at = 0, n; at < out->len; at += n) {
		n = piece && piece < out->len - at ? piece : out->len - at;
		h2_write(&c, out->b + at, n, n);
	}
	for (size_t at = 0, n; at < in->len; at += n) {
		n = piece && piece < in->len - at ? piece : in->len - at;
		h2_read(&c, in->b + at, n, n);
	}
	lost = c.lost;
	h2_free(&c);
	return lost;
}

/* ---- HTTP/2 ---- */

static void h2_one_request_per_stream_with_its_pseudo_headers(void **state)
{
	struct wire *out = calloc(1, sizeof(*out)), *in = calloc(1, sizeof(*in));
	struct recorder r = { 0 };

	h2_conversation(out, in);
	assert_false(play_h2(out, in, 0, &r));
	assert_int_equal(r.requests, 3);
	assert_string_equal(r.req[0].method, "POST");
	assert_string_equal(r.req[0].path, "/v1/chat/completions");
	assert_string_equal(r.req[0].authority, "api.openai.com");
	assert_true(r.req[0].has_key);
	/* HEADERS with priority and padding, then CONTINUATION */
	assert_string_equal(r.req[1].path, "/v1/responses");
	assert_string_equal(r.req[1].authority, "api.openai.com");
	/* the key again, from HPACK's dynamic table */
	assert_memory_equal(&r.req[1].key, &r.req[0].key, sizeof(r.req[0].key));
	assert_string_equal(r.req[2].method, "GET");
	assert_string_equal(r.req[2].path, "/v1/models");
	free(out);
	free(in);
}

static void h2_response_usage_from_data_frames(void **state)
{
	struct wire *out = calloc(1, sizeof(*out)), *in = calloc(1, sizeof(*in));
	struct recorder r = { 0 };

	h2_conversation(out, in);
	play_h2(out, in, 0, &r);
	assert_int_equal(r.responses, 3);
	assert_string_equal(r.resp[0].path, "/v1/models");
	assert_usage(&r.resp[0].usage, NONE, NONE);
	assert_false(r.resp[0].has_org);
	/* SSE in padded DATA frames */
	assert_string_equal(r.resp[1].path, "/v1/responses");
	assert_int_equal(r.resp[1].status, 200);
	assert_usage(&r.resp[1].usage, 37, 11);
	assert_true(r.resp[1].has_org);
	/* content-encoding: gzip over two DATA frames */
	assert_string_equal(r.resp[2].path, "/v1/chat/completions");
	assert_usage(&r.resp[2].usage, 19, 10);
	free(out);
	free(in);
}

static void h2_small_pieces_give_the_same_result(void **state)
{
	static const size_t pieces[] = { 1, 3, 7 };
	struct wire *out = calloc(1, sizeof(*out)), *in = calloc(1, sizeof(*in));
	struct recorder whole = { 0 };

	h2_conversation(out, in);
	play_h2(out, in, 0, &whole);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		struct recorder split = { 0 };

		assert_false(play_h2(out, in, pieces[i], &split));
		assert_same_record(&split, &whole);
	}
	free(out);
	free(in);
}

static void h2_trailers_and_resets(void **state)
{
	static const char *const trailer[] = { "x-client-checksum", "abc123", NULL };
	static const char *const status[] = { ":status", "200", "content-type", "application/json", NULL };
	struct wire *out = calloc(1, sizeof(*out)), *in = calloc(1, sizeof(*in));
	nghttp2_hd_deflater *client, *server;
	struct recorder r = { 0 };
	char body[1024];

	assert_int_equal(nghttp2_hd_deflate_new(&client, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&server, 4096), 0);
	put(out, H2_PREFACE, H2_PREFACE_LEN);
	settings(out, NULL, 0);
	/* a request ended by trailers: still one request */
	headers(out, client, 0, 1, chat_fields);
	frame(out, NGHTTP2_DATA, 0, 1, chat_body, strlen(chat_body));
	headers(out, client, NGHTTP2_FLAG_END_STREAM, 1, trailer);
	/* a request the server resets: no response */
	headers(out, client, NGHTTP2_FLAG_END_STREAM, 3, chat_fields);

	headers(in, server, 0, 3, status);
	frame(in, NGHTTP2_RST_STREAM, 0, 3, "\0\0\0\x08", 4);
	/* a response whose body ends with trailers */
	headers(in, server, 0, 1, status);
	openai_json(body, sizeof(body), 19, 10);
	frame(in, NGHTTP2_DATA, 0, 1, body, strlen(body));
	headers(in, server, NGHTTP2_FLAG_END_STREAM, 1, trailer);

	assert_false(play_h2(out, in, 0, &r));
	assert_int_equal(r.requests, 2);
	assert_int_equal(r.responses, 1);
	assert_string_equal(r.resp[0].path, "/v1/chat/completions");
	assert_usage(&r.resp[0].usage, 19, 10);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
	free(out);
	free(in);
}

static void h2_cut_in_a_response_body_is_skipped(void **state)
{
	static const char *const status[] = { ":status", "200", "content-type", "application/json", NULL };
	struct wire *out = calloc(1, sizeof(*out)), *in = calloc(1, sizeof(*in));
	nghttp2_hd_deflater *client, *server;
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h2_conn c;
	char body[4096];
	size_t n, data;

	assert_int_equal(nghttp2_hd_deflate_new(&client, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&server, 4096), 0);
	put(out, H2_PREFACE, H2_PREFACE_LEN);
	headers(out, client, NGHTTP2_FLAG_END_STREAM, 1, chat_fields);
	headers(in, server, 0, 1, status);
	n = snprintf(body, sizeof(body), "{\"data\":\"%0*d\",\"usage\":{\"prompt_tokens\":7,"
		     "\"completion_tokens\":8}}", 2000, 0);
	data = in->len + 9;
	frame(in, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 1, body, n);

	assert_int_equal(h2_init(&c, &sink), 0);
	h2_write(&c, out->b, out->len, out->len);
	/* 1000 bytes of the DATA payload not copied */
	h2_read(&c, in->b, data + 500, data + 1500);
	h2_read(&c, in->b + data + 1500, in->len - data - 1500, in->len - data - 1500);
	assert_false(c.lost);
	assert_int_equal(r.responses, 1);
	assert_usage(&r.resp[0].usage, 7, 8);
	/* bytes not copied inside a header block: HPACK cannot go on */
	out->len = 0;
	headers(out, client, NGHTTP2_FLAG_END_STREAM, 3, chat_fields);
	h2_write(&c, out->b, 12, out->len);
	assert_true(c.lost);
	h2_free(&c);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
	free(out);
	free(in);
}

static void h2_joined_after_the_preface_is_given_up(void **state)
{
	struct wire *out = calloc(1, sizeof(*out)), *in = calloc(1, sizeof(*in));
	struct recorder r = { 0 };

	h2_conversation(out, in);
	/* the same connection from its first frame on: the preface was missed */
	memmove(out->b, out->b + H2_PREFACE_LEN, out->len - H2_PREFACE_LEN);
	out->len -= H2_PREFACE_LEN;
	assert_true(play_h2(out, in, 0, &r));
	assert_int_equal(r.requests, 0);
	assert_int_equal(r.responses, 0);
	free(out);
	free(in);
}

static void h2_malformed_frames_are_given_up(void **state)
{
	static const uint8_t hpack_garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f }; /* an index past both tables */
	struct wire *w = malloc(sizeof(*w));
	uint8_t *filler = calloc(1, H2_BLOCK_MAX + 1);
	nghttp2_hd_deflater *client;
	uint8_t block[1024];
	size_t n;

	assert_int_equal(nghttp2_hd_deflate_new(&client, 4096), 0);
	n = hpack(client, block, sizeof(block), chat_fields);
	for (int kind = 0; kind < 3; kind++) {
		struct recorder r = { 0 };
		struct h1_sink sink = recording(&r);
		struct h2_conn c;

		w->len = 0;
		put(w, H2_PREFACE, H2_PREFACE_LEN);
		if (kind == 0) { /* HPACK that does not decode */
			frame(w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, hpack_garbage,
			      sizeof(hpack_garbage));
		} else if (kind == 1) { /* CONTINUATION of another stream's block */
			frame(w, NGHTTP2_HEADERS, 0, 1, block, 10);
			frame(w, NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_HEADERS, 3, block + 10, n - 10);
		} else { /* a header block past the bound, in a frame of the largest length */
			frame_head(w, 0xffffff, NGHTTP2_HEADERS, 0, 1);
		}
		assert_int_equal(h2_init(&c, &sink), 0);
		h2_write(&c, w->b, w->len, w->len);
		for (size_t at = 0, len; kind == 2 && at <= H2_BLOCK_MAX; at += len) {
			len = H2_BLOCK_MAX + 1 - at < 16384 ? H2_BLOCK_MAX + 1 - at : 16384;
			h2_write(&c, filler + at, len, len);
		}
		assert_true(c.lost);
		/* and stays so: a later whole request is not parsed */
		w->len = 0;
		frame(w, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 5, block, n);
		h2_write(&c, w->b, w->len, w->len);
		assert_true(c.lost);
		assert_int_equal(r.requests, 0);
		h2_free(&c);
	}
	nghttp2_hd_deflate_del(client);
	free(filler);
	free(w);
}

/* ---- credentials and organizations ---- */

static void every_api_key_header_is_seen(void **state)
{
	static const char *const keys[] = {
		"Authorization: Bearer sk-proj-abc\r\n", /* OpenAI, Mistral, Groq... */
		"x-api-key: sk-ant-api03-abc\r\n",       /* Anthropic */
		"x-goog-api-key: AIzaSyD3x9Qm\r\n",      /* Gemini */
		"api-key: 0123456789abcdef\r\n",         /* Azure OpenAI */
		"",
	};
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024];

	h1_init(&c, &sink);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		client_writes(&c, req, request(req, sizeof(req), "POST", "/v1/x", "api.example.com", keys[i], "{}"));
	/* Gemini's key in the query string */
	client_writes(&c, req, request(req, sizeof(req), "POST",
				       "/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSyD3x9Qm&alt=sse",
				       "generativelanguage.googleapis.com", "", "{}"));
	assert_int_equal(r.requests, 6);
	for (int i = 0; i < 4; i++)
		assert_true(r.req[i].has_key);
	assert_false(r.req[4].has_key);
	assert_true(r.req[5].has_key);
	assert_string_equal(r.req[5].path, "/v1beta/models/gemini-2.5-flash:generateContent");
	/* the same key by header or by query string */
	assert_memory_equal(&r.req[5].key, &r.req[2].key, sizeof(r.req[2].key));
	h1_free(&c);
}

static void same_key_same_fingerprint_other_key_another(void **state)
{
	static const char *const keys[] = {
		"Authorization: Bearer sk-proj-first\r\n",
		"x-api-key: sk-proj-first\r\n", /* the same credential without "Bearer " */
		"Authorization: Bearer sk-proj-second\r\n",
		"Authorization: Bearer sk-proj-first\r\n",
	};
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024];

	h1_init(&c, &sink);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		client_writes(&c, req, request(req, sizeof(req), "POST", "/v1/chat/completions",
					       "api.openai.com", keys[i], "{}"));
	assert_int_equal(r.requests, 4);
	assert_memory_equal(&r.req[0].key, &r.req[1].key, sizeof(r.req[0].key));
	assert_memory_equal(&r.req[0].key, &r.req[3].key, sizeof(r.req[0].key));
	assert_memory_not_equal(&r.req[0].key, &r.req[2].key, sizeof(r.req[0].key));
	/* a keyed hash: not the key's bytes */
	assert_memory_not_equal(&r.req[0].key, "sk-proj-first", FINGERPRINT_LEN - 3);
	h1_free(&c);
}

static void organization_headers_set_has_org(void **state)
{
	static const char *const orgs[] = {
		"openai-organization: org-2Xk9\r\n",
		"anthropic-organization-id: 2b3c4d5e-0000-1111-2222-333344445555\r\n",
		"openai-organization: org-other\r\n",
		"",
	};
	struct recorder r = { 0 };
	struct h1_sink sink = recording(&r);
	struct h1_conn c;
	char req[1024], headers[256];
	uint8_t resp[1024];

	h1_init(&c, &sink);
	for (size_t i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++) {
		client_writes(&c, req, chat_request(req, sizeof(req), "/v1/chat/completions", chat_body));
		snprintf(headers, sizeof(headers), "%sContent-Length: 0\r\n", orgs[i]);
		client_reads(&c, resp, response(resp, sizeof(resp), headers, "", 0));
	}
	assert_int_equal(r.responses, 4);
	assert_true(r.resp[0].has_org);
	assert_true(r.resp[1].has_org);
	assert_true(r.resp[2].has_org);
	assert_false(r.resp[3].has_org);
	assert_memory_not_equal(&r.resp[0].org, &r.resp[2].org, sizeof(r.resp[0].org));
	h1_free(&c);
}

static int init_fingerprints(void **state)
{
	return fingerprint_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(h1_request_line_host_and_length_body),
		cmocka_unit_test(h1_chunked_response_body),
		cmocka_unit_test(h1_keep_alive_exchanges_in_turn),
		cmocka_unit_test(h1_pipelined_responses_answer_requests_in_order),
		cmocka_unit_test(h1_split_buffers_give_the_same_result),
		cmocka_unit_test(h1_calls_cut_by_the_capture_keep_step),
		cmocka_unit_test(h1_joined_mid_connection_resynchronizes_at_next_request),
		cmocka_unit_test(h1_bad_chunk_lines_lose_only_that_response),
		cmocka_unit_test(h1_overlong_head_is_not_a_request),
		cmocka_unit_test(h1_garbage_is_not_a_request),
		cmocka_unit_test(h1_interim_and_bodiless_responses_keep_step),
		cmocka_unit_test(h1_body_read_to_the_close),
		cmocka_unit_test(h2_one_request_per_stream_with_its_pseudo_headers),
		cmocka_unit_test(h2_response_usage_from_data_frames),
		cmocka_unit_test(h2_small_pieces_give_the_same_result),
		cmocka_unit_test(h2_trailers_and_resets),
		cmocka_unit_test(h2_cut_in_a_response_body_is_skipped),
		cmocka_unit_test(h2_joined_after_the_preface_is_given_up),
		cmocka_unit_test(h2_malformed_frames_are_given_up),
		cmocka_unit_test(every_api_key_header_is_seen),
		cmocka_unit_test(same_key_same_fingerprint_other_key_another),
		cmocka_unit_test(organization_headers_set_has_org),
	};

	return cmocka_run_group_tests_name("http", tests, init_fingerprints, NULL);
}
