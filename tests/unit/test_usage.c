// SPDX-License-Identifier: GPL-2.0
/* Response bodies to token usage: every provider shape body.c and usage.c
 * read, as the provider sends it, whole, in pieces of 1, 3 and 7 bytes
 * (splits inside SSE lines, JSON and the gzip stream) and gzip-encoded; bodies
 * past the bounds; and bodies that must give no usage, never a made-up one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "body.h"
#include "exchange.h"
#include "compress.h"
#include "usage_assert.h"

static const char JSON[] = "application/json";
static const char SSE[] = "text/event-stream; charset=utf-8";

/* The usage of a body fed in pieces of piece bytes (0: whole). */
static struct usage usage_of(const char *type, const char *encoding, const void *data, size_t len,
			     size_t piece)
{
	const uint8_t *p = data;
	struct body b;
	struct usage u;

	body_init(&b, type, encoding);
	for (size_t at = 0, n; at < len; at += n) {
		n = piece && piece < len - at ? piece : len - at;
		body_feed(&b, p + at, n);
	}
	body_end(&b);
	u = b.usage;
	body_free(&b);
	return u;
}

/* The same usage whole, in small pieces, and gzip-encoded in small pieces. */
static void expect_usage_of(const char *type, const void *body, size_t len, uint64_t in, uint64_t out)
{
	static const size_t pieces[] = { 0, 1, 3, 7 };
	size_t cap = len + 1024, gz_len;
	uint8_t *gz = malloc(cap);
	struct usage u;

	gz_len = gzip(body, len, gz, cap);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		u = usage_of(type, NULL, body, len, pieces[i]);
		assert_usage(&u, in, out);
		u = usage_of(type, "gzip", gz, gz_len, pieces[i]);
		assert_usage(&u, in, out);
	}
	free(gz);
}

static void expect_usage(const char *type, const char *body, uint64_t in, uint64_t out)
{
	expect_usage_of(type, body, strlen(body), in, out);
}

/* ---- OpenAI ---- */

static const char openai_chat[] =
	"{\n  \"id\": \"chatcmpl-AY1xKq7\",\n  \"object\": \"chat.completion\",\n"
	"  \"created\": 1732800000,\n  \"model\": \"gpt-4o-mini-2024-07-18\",\n"
	"  \"choices\": [\n    {\n      \"index\": 0,\n      \"message\": {\n"
	"        \"role\": \"assistant\",\n        \"content\": \"Hello! How can I help?\",\n"
	"        \"refusal\": null\n      },\n      \"logprobs\": null,\n"
	"      \"finish_reason\": \"stop\"\n    }\n  ],\n"
	"  \"usage\": {\n    \"prompt_tokens\": 19,\n    \"completion_tokens\": 10,\n"
	"    \"total_tokens\": 29,\n    \"prompt_tokens_details\": {\n      \"cached_tokens\": 0,\n"
	"      \"audio_tokens\": 0\n    },\n    \"completion_tokens_details\": {\n"
	"      \"reasoning_tokens\": 0,\n      \"audio_tokens\": 0,\n"
	"      \"accepted_prediction_tokens\": 0,\n      \"rejected_prediction_tokens\": 0\n    }\n  },\n"
	"  \"service_tier\": \"default\",\n  \"system_fingerprint\": \"fp_0ba0d124f1\"\n}\n";

#define OPENAI_CHUNK(delta, finish)                                                                \
	"data: {\"id\":\"chatcmpl-AY2\",\"object\":\"chat.completion.chunk\",\"created\":1732800001,"    \
	"\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":"   \
	"[{\"index\":0,\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":" finish "}],"         \
	"\"usage\":null}\n\n"

static const char openai_chat_stream[] =
	OPENAI_CHUNK("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null")
	OPENAI_CHUNK("{\"content\":\"Hello\"}", "null")
	OPENAI_CHUNK("{\"content\":\"!\"}", "null")
	OPENAI_CHUNK("{}", "\"stop\"")
	"data: {\"id\":\"chatcmpl-AY2\",\"object\":\"chat.completion.chunk\",\"created\":1732800001,"
	"\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[],"
	"\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
	"\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n"
	"data: [DONE]\n\n";

static void openai_chat_completion(void **state)
{
	expect_usage(JSON, openai_chat, 19, 10);
}

static void openai_chat_stream_usage_in_the_last_chunk(void **state)
{
	expect_usage(SSE, openai_chat_stream, 19, 10);
}

static void openai_chat_stream_without_include_usage_has_none(void **state)
{
	static const char stream[] =
		OPENAI_CHUNK("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null")
		OPENAI_CHUNK("{\"content\":\"Hello\"}", "null")
		OPENAI_CHUNK("{}", "\"stop\"")
		"data: [DONE]\n\n";

	expect_usage(SSE, stream, NONE, NONE);
}

static void openai_responses_api(void **state)
{
	static const char body[] =
		"{\"id\":\"resp_67ccd2bed1ec8190\",\"object\":\"response\",\"created_at\":1741476542,"
		"\"status\":\"completed\",\"error\":null,\"model\":\"gpt-4.1-2025-04-14\","
		"\"output\":[{\"type\":\"message\",\"id\":\"msg_67ccd2bf\",\"status\":\"completed\","
		"\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"In a peaceful grove...\","
		"\"annotations\":[]}]}],\"parallel_tool_calls\":true,\"store\":true,\"temperature\":1.0,"
		"\"usage\":{\"input_tokens\":36,\"input_tokens_details\":{\"cached_tokens\":0},"
		"\"output_tokens\":87,\"output_tokens_details\":{\"reasoning_tokens\":0},"
		"\"total_tokens\":123},\"user\":null,\"metadata\":{}}";

	expect_usage(JSON, body, 36, 87);
}

static void openai_responses_stream_completed_event(void **state)
{
	/* response.created and .in_progress carry "usage": null */
	static const char stream[] =
		"event: response.created\n"
		"data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_67c9fdcecf\","
		"\"object\":\"response\",\"created_at\":1741290958,\"status\":\"in_progress\","
		"\"model\":\"gpt-4.1-2025-04-14\",\"output\":[],\"usage\":null}}\n\n"
		"event: response.in_progress\n"
		"data: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":"
		"\"resp_67c9fdcecf\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[],"
		"\"usage\":null}}\n\n"
		"event: response.output_text.delta\n"
		"data: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"item_id\":\"msg_67c9fdcf\","
		"\"output_index\":0,\"content_index\":0,\"delta\":\"Hi there!\"}\n\n"
		"event: response.output_text.done\n"
		"data: {\"type\":\"response.output_text.done\",\"sequence_number\":5,\"item_id\":\"msg_67c9fdcf\","
		"\"output_index\":0,\"content_index\":0,\"text\":\"Hi there!\"}\n\n"
		"event: response.completed\n"
		"data: {\"type\":\"response.completed\",\"sequence_number\":9,\"response\":{\"id\":\"resp_67c9fdcecf\","
		"\"object\":\"response\",\"created_at\":1741290958,\"status\":\"completed\","
		"\"model\":\"gpt-4.1-2025-04-14\",\"output\":[{\"type\":\"message\",\"id\":\"msg_67c9fdcf\","
		"\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
		"\"text\":\"Hi there!\",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":37,"
		"\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":11,"
		"\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":48}}}\n\n";

	expect_usage(SSE, stream, 37, 11);
}

/* ---- Anthropic ---- */

static void anthropic_message(void **state)
{
	static const char body[] =
		"{\"id\":\"msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"type\":\"message\",\"role\":\"assistant\","
		"\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":\"text\","
		"\"text\":\"Hi! My name is Claude.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
		"\"usage\":{\"input_tokens\":2095,\"cache_creation_input_tokens\":0,"
		"\"cache_read_input_tokens\":0,\"output_tokens\":503}}";

	expect_usage(JSON, body, 2095, 503);
}

static void anthropic_stream_total_is_the_last_delta_not_a_sum(void **state)
{
	/* message_start gives the input (and 1 output token); message_delta's
	 * output_tokens are cumulative: of 1, 10 and 15 the total is 15, not 26 */
	static const char stream[] =
		"event: message_start\n"
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\","
		"\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5-20250929\","
		"\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
		"\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n"
		"event: content_block_start\n"
		"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
		"\"text\":\"\"}}\n\n"
		"event: ping\n"
		"data: {\"type\": \"ping\"}\n\n"
		"event: content_block_delta\n"
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
		"\"text\":\"Hello\"}}\n\n"
		"event: message_delta\n"
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null,\"stop_sequence\":null},"
		"\"usage\":{\"output_tokens\":10}}\n\n"
		"event: content_block_stop\n"
		"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
		"event: message_delta\n"
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
		"\"usage\":{\"output_tokens\":15}}\n\n"
		"event: message_stop\n"
		"data: {\"type\":\"message_stop\"}\n\n";

	expect_usage(SSE, stream, 25, 15);
}

/* ---- Gemini and Vertex AI (the same usageMetadata) ---- */

static void gemini_usage_metadata_counts_thoughts_as_output(void **state)
{
	static const char body[] =
		"{\n \"candidates\": [\n  {\n   \"content\": {\n    \"parts\": [\n     {\n"
		"      \"text\": \"AI learns patterns from data.\"\n     }\n    ],\n    \"role\": \"model\"\n"
		"   },\n   \"finishReason\": \"STOP\",\n   \"index\": 0\n  }\n ],\n"
		" \"usageMetadata\": {\n  \"promptTokenCount\": 8,\n  \"candidatesTokenCount\": 12,\n"
		"  \"totalTokenCount\": 45,\n  \"promptTokensDetails\": [\n   {\n    \"modality\": \"TEXT\",\n"
		"    \"tokenCount\": 8\n   }\n  ],\n  \"thoughtsTokenCount\": 25\n },\n"
		" \"modelVersion\": \"gemini-2.5-flash\",\n \"responseId\": \"8Y0iaPq9Gqy\"\n}";

	expect_usage("application/json; charset=UTF-8", body, 8, 12 + 25);
}

static void gemini_sse_stream_last_chunk_wins(void **state)
{
	/* ?alt=sse, lines ended by CRLF */
	static const char stream[] =
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"},"
		"\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},"
		"\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n"
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" sky is blue.\"}],"
		"\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": "
		"{\"promptTokenCount\": 9,\"candidatesTokenCount\": 6,\"totalTokenCount\": 40,"
		"\"thoughtsTokenCount\": 25},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n";

	expect_usage("text/event-stream", stream, 9, 6 + 25);
}

static void gemini_json_array_stream_last_chunk_wins(void **state)
{
	/* streamGenerateContent without alt=sse: one JSON array of chunks */
	static const char stream[] =
		"[{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"},"
		"\"index\": 0}],\n  \"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},\n"
		"  \"modelVersion\": \"gemini-2.0-flash\"\n}\n,\r\n"
		"{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \" sky is blue.\"}],"
		"\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\n  \"usageMetadata\": "
		"{\"promptTokenCount\": 9,\"candidatesTokenCount\": 6,\"totalTokenCount\": 15},\n"
		"  \"modelVersion\": \"gemini-2.0-flash\"\n}\n]";

	expect_usage("application/json; charset=UTF-8", stream, 9, 6);
}

/* ---- Bedrock ---- */

static void response_header(struct exchange *x, const char *name, const char *value)
{
	exchange_response_header(x, name, strlen(name), value, strlen(value));
}

static void bedrock_invoke_counts_from_headers(void **state)
{
	/* Titan's body names its counts its own way: the headers give them */
	static const char titan[] =
		"{\"inputTextTokenCount\":5,\"results\":[{\"tokenCount\":10,"
		"\"outputText\":\"\\nHello there.\",\"completionReason\":\"FINISH\"}]}";
	static const char claude[] =
		"{\"id\":\"msg_bdrk_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":"
		"[{\"type\":\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\","
		"\"usage\":{\"input_tokens\":2095,\"output_tokens\":503}}";
	struct exchange x;
	struct usage u;

	exchange_init(&x);
	response_header(&x, ":status", "200");
	response_header(&x, "Content-Type", "application/json");
	response_header(&x, "X-Amzn-Bedrock-Input-Token-Count", "5");
	response_header(&x, "X-Amzn-Bedrock-Output-Token-Count", "10");
	response_header(&x, "X-Amzn-Bedrock-Invocation-Latency", "609");
	exchange_start_body(&x);
	body_feed(&x.body, (const uint8_t *)titan, strlen(titan));
	u = exchange_usage(&x);
	assert_usage(&u, 5, 10);
	exchange_free(&x);

	/* a body with its own usage is what counts */
	exchange_init(&x);
	response_header(&x, "content-type", "application/json");
	response_header(&x, "x-amzn-bedrock-input-token-count", "1");
	response_header(&x, "x-amzn-bedrock-output-token-count", "2");
	exchange_start_body(&x);
	body_feed(&x.body, (const uint8_t *)claude, strlen(claude));
	u = exchange_usage(&x);
	assert_usage(&u, 2095, 503);
	exchange_free(&x);

	/* a count that is not a number is none */
	exchange_init(&x);
	response_header(&x, "x-amzn-bedrock-input-token-count", "12abc");
	response_header(&x, "x-amzn-bedrock-output-token-count", "");
	u = exchange_usage(&x);
	assert_usage(&u, NONE, NONE);
	exchange_free(&x);
}

static void bedrock_invocation_metrics(void **state)
{
	static const char body[] =
		"{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":16,"
		"\"outputTokenCount\":11,\"invocationLatency\":609,\"firstByteLatency\":372}}";

	expect_usage(JSON, body, 16, 11);
}

static void bedrock_converse(void **state)
{
	static const char body[] =
		"{\"metrics\":{\"latencyMs\":512},\"output\":{\"message\":{\"content\":[{\"text\":"
		"\"Hello there.\"}],\"role\":\"assistant\"}},\"stopReason\":\"end_turn\","
		"\"usage\":{\"inputTokens\":12,\"outputTokens\":5,\"totalTokens\":17}}";

	expect_usage(JSON, body, 12, 5);
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* One message of application/vnd.amazon.eventstream: prelude (lengths and
 * their CRC), string headers, the JSON payload, the message CRC. */
static size_t aws_event(uint8_t *out, const char *event_type, const char *payload)
{
	const char *const headers[] = { ":event-type", event_type, ":content-type", "application/json",
					":message-type", "event" };
	size_t h = 12, plen = strlen(payload), total;

	for (int i = 0; i < 6; i += 2) {
		size_t n = strlen(headers[i]), v = strlen(headers[i + 1]);

		out[h++] = n;
		memcpy(out + h, headers[i], n);
		h += n;
		out[h++] = 7; /* string */
		out[h++] = v >> 8;
		out[h++] = v;
		memcpy(out + h, headers[i + 1], v);
		h += v;
	}
	total = h + plen + 4;
	be32(out, total);
	be32(out + 4, h - 12);
	be32(out + 8, crc32(0, out, 8));
	memcpy(out + h, payload, plen);
	be32(out + h + plen, crc32(0, out, h + plen));
	return total;
}

static void bedrock_converse_stream_in_eventstream_frames(void **state)
{
	uint8_t stream[2048];
	size_t n = 0;

	n += aws_event(stream + n, "messageStart", "{\"p\":\"abcdefgh\",\"role\":\"assistant\"}");
	n += aws_event(stream + n, "contentBlockDelta",
		       "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"},\"p\":\"abcd\"}");
	n += aws_event(stream + n, "contentBlockStop", "{\"contentBlockIndex\":0,\"p\":\"abcdefghijklm\"}");
	n += aws_event(stream + n, "messageStop", "{\"p\":\"abcdefghijk\",\"stopReason\":\"end_turn\"}");
	n += aws_event(stream + n, "metadata", "{\"metrics\":{\"latencyMs\":300},\"p\":\"abc\","
		       "\"usage\":{\"inputTokens\":21,\"outputTokens\":7,\"totalTokens\":28}}");
	expect_usage_of("application/vnd.amazon.eventstream", stream, n, 21, 7);
}

/* InvokeModelWithResponseStream: each payload is {"bytes":"<base64>"} of the
 * model's own chunk (here Anthropic's), the last with Bedrock's metrics. */
static size_t invoke_chunk(uint8_t *out, const char *chunk)
{
	char b64[1024], payload[1200];

	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)chunk, strlen(chunk),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(payload, sizeof(payload), "{\"bytes\":\"%s\",\"p\":\"abcdefghijklmnopqr\"}", b64);
	return aws_event(out, "chunk", payload);
}

static void bedrock_invoke_stream_in_base64_chunks(void **state)
{
	uint8_t stream[4096];
	size_t n = 0;

	n += invoke_chunk(stream + n, "{\"type\":\"message_start\",\"message\":{\"usage\":"
				      "{\"input_tokens\":25,\"output_tokens\":1}}}");
	n += invoke_chunk(stream + n, "{\"type\":\"content_block_delta\",\"index\":0,"
				      "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}");
	n += invoke_chunk(stream + n, "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":40}}");
	n += invoke_chunk(stream + n, "{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":"
				      "{\"inputTokenCount\":25,\"outputTokenCount\":40,"
				      "\"invocationLatency\":900,\"firstByteLatency\":300}}");
	expect_usage_of("application/vnd.amazon.eventstream", stream, n, 25, 40);
}

/* A length no message has ends the reading; what came before stands. A gap
 * in a binary stream does too. */
static void eventstream_out_of_step(void **state)
{
	uint8_t stream[2048];
	struct body b;
	size_t n = 0;

	n += aws_event(stream + n, "metadata", "{\"usage\":{\"inputTokens\":3,\"outputTokens\":4}}");
	memset(stream + n, 0xff, 12); /* a prelude announcing 4 GiB */
	body_init(&b, "application/vnd.amazon.eventstream", NULL);
	body_feed(&b, stream, n + 12);
	assert_true(b.broken);
	assert_usage(&b.usage, 3, 4);
	body_free(&b);

	body_init(&b, "application/vnd.amazon.eventstream", NULL);
	body_feed(&b, stream, 20);
	body_gap(&b, 100);
	body_feed(&b, stream + 20, n - 20);
	body_end(&b);
	assert_true(b.broken);
	assert_usage(&b.usage, NONE, NONE);
	body_free(&b);
}

/* ---- Cohere ---- */

static void cohere_billed_units_not_tokens(void **state)
{
	/* v2 chat: billed_units is what was paid for, tokens include the prompt template */
	static const char body[] =
		"{\"id\":\"c14c80c3-18eb-4519-9460-6c92edd8cfb4\",\"finish_reason\":\"COMPLETE\","
		"\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"LLMs are...\"}]},"
		"\"usage\":{\"billed_units\":{\"input_tokens\":5,\"output_tokens\":13},"
		"\"tokens\":{\"input_tokens\":71,\"output_tokens\":13}}}";
	uint8_t z[1024];
	size_t n = compress_as(15, body, strlen(body), z, sizeof(z));
	struct usage u;

	expect_usage(JSON, body, 5, 13);
	/* Content-Encoding: deflate, in zlib format */
	u = usage_of(JSON, "deflate", z, n, 5);
	assert_usage(&u, 5, 13);
}

static void cohere_v1_meta_billed_units(void **state)
{
	/* v1 chat (still in the catalog): the counts under "meta"; streamed,
	 * as JSON lines ending with stream-end, whose response has the meta */
	static const char body[] =
		"{\"response_id\":\"a1b2\",\"text\":\"Hi\",\"generation_id\":\"c3d4\",\"chat_history\":[],"
		"\"finish_reason\":\"COMPLETE\",\"meta\":{\"api_version\":{\"version\":\"1\"},"
		"\"billed_units\":{\"input_tokens\":10,\"output_tokens\":20},"
		"\"tokens\":{\"input_tokens\":75,\"output_tokens\":20}}}";
	static const char stream[] =
		"{\"is_finished\":false,\"event_type\":\"stream-start\",\"generation_id\":\"c3d4\"}\n"
		"{\"is_finished\":false,\"event_type\":\"text-generation\",\"text\":\"Hi\"}\n"
		"{\"is_finished\":true,\"event_type\":\"stream-end\",\"response\":{\"response_id\":\"a1b2\","
		"\"text\":\"Hi\",\"generation_id\":\"c3d4\",\"finish_reason\":\"COMPLETE\",\"meta\":"
		"{\"api_version\":{\"version\":\"1\"},\"billed_units\":{\"input_tokens\":10,"
		"\"output_tokens\":20}}},\"finish_reason\":\"COMPLETE\"}\n";

	expect_usage(JSON, body, 10, 20);
	expect_usage("application/stream+json", stream, 10, 20);
}

static void cohere_stream_message_end(void **state)
{
	static const char stream[] =
		"event: message-start\n"
		"data: {\"id\":\"29f14a5a-11de-4cae-9800-25e4747408ea\",\"type\":\"message-start\",\"delta\":"
		"{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],"
		"\"citations\":[]}}}\n\n"
		"event: content-delta\n"
		"data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":"
		"{\"text\":\"Hello\"}}}}\n\n"
		"event: message-end\n"
		"data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":"
		"{\"billed_units\":{\"input_tokens\":3,\"output_tokens\":9},\"tokens\":{\"input_tokens\":69,"
		"\"output_tokens\":9}}}}\n\n";

	expect_usage(SSE, stream, 3, 9);
}

/* ---- SSE framing ---- */

static void sse_long_lines_and_multi_line_data(void **state)
{
	/* a data line longer than the line buffer, the JSON continued on a
	 * second data line, a comment, an id and an event name */
	char stream[2048];
	int n = snprintf(stream, sizeof(stream), ": keep-alive\n\nid: 1\nevent: completion\n"
			 "data: {\"text\": \"%0*d\",\ndata: \"usage\": {\"input_tokens\": 3, "
			 "\"output_tokens\": 900}}\n\n", 900, 0);

	assert_true(n > 0 && (size_t)n < sizeof(stream));
	expect_usage(SSE, stream, 3, 900);
}

/* ---- bounds ---- */

static void json_body_past_the_bound_keeps_its_tail(void **state)
{
	/* an embeddings response of 1.5 MiB: the usage closes it */
	static const char tail[] = "],\"model\":\"text-embedding-3-small\","
				   "\"usage\":{\"prompt_tokens\":8000,\"total_tokens\":8000}}";
	size_t cap = 3u << 19, n = 0, gz_len;
	char *body = malloc(cap);
	uint8_t *gz = malloc(cap);
	struct usage u;

	n += sprintf(body, "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[");
	while (n < cap - sizeof(tail) - 32)
		n += sprintf(body + n, "-0.0093272%04zu,", n % 9973);
	body[n - 1] = ']';
	n += sprintf(body + n, "}%s", tail);
	assert_true(n > BODY_JSON_MAX);
	gz_len = gzip(body, n, gz, cap);

	u = usage_of(JSON, NULL, body, n, 0);
	assert_usage(&u, 8000, NONE);
	u = usage_of(JSON, NULL, body, n, 16384);
	assert_usage(&u, 8000, NONE);
	u = usage_of(JSON, "gzip", gz, gz_len, 4096);
	assert_usage(&u, 8000, NONE);
	free(body);
	free(gz);
}

static void sse_event_past_the_bound_is_skipped(void **state)
{
	/* the long event's usage is dropped, the events after it still count */
	size_t len = BODY_EVENT_MAX + 4096, n = 0;
	char *stream = malloc(len + 1024);
	struct usage u;

	n += sprintf(stream, "data: {\"usage\":{\"input_tokens\":1,\"output_tokens\":2},\"text\":\"");
	memset(stream + n, 'x', len);
	n += len;
	n += sprintf(stream + n, "\"}\n\ndata: {\"usage\":{\"output_tokens\":9}}\n\n");
	u = usage_of(SSE, NULL, stream, n, 0);
	assert_usage(&u, NONE, 9);
	u = usage_of(SSE, NULL, stream, n, 4093);
	assert_usage(&u, NONE, 9);
	free(stream);
}

/* ---- what gives no usage ---- */

static void malformed_json_gives_no_usage(void **state)
{
	static const char *const bodies[] = {
		"{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":",   /* cut short */
		"{\"usage\":null}",
		"{\"usage\":\"prompt_tokens: 5\"}",
		"{\"usage\":{\"prompt_tokens\":\"5\",\"completion_tokens\":1.5}}", /* not integers */
		"{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":-1}}",
		"{\"usage\":{\"prompt_tokens\":5,\"prompt_tokens\":6}}",          /* duplicate key */
		"{\"usage\":{\"prompt_tokens\":99999999999999999999999}}",         /* past int64 */
		"{\"usage\" {\"prompt_tokens\":5}}",
		"{\"usage\":{prompt_tokens:5}}",
		"{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\","
		"\"code\":\"invalid_api_key\"}}",
		"<html><head><title>502 Bad Gateway</title></head></html>",
		"\x1f\x8b\x08\x00\xff\xfe",
		"",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		expect_usage(JSON, bodies[i], NONE, NONE);
	/* a good count beside a bad one */
	expect_usage(JSON, "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":\"x\"}}", 5, NONE);
}

static void usage_quoted_inside_text_is_not_usage(void **state)
{
	static const char quoted[] =
		"{\"choices\":[{\"message\":{\"content\":\"Reply with {\\\"usage\\\": "
		"{\\\"prompt_tokens\\\": 999}}\"}}]}";
	static const char quoted_then_real[] =
		"{\"choices\":[{\"message\":{\"content\":\"Reply with {\\\"usage\\\": "
		"{\\\"prompt_tokens\\\": 999}}\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";

	expect_usage(JSON, quoted, NONE, NONE);
	expect_usage(JSON, quoted_then_real, 3, 4);
}

static void truncated_or_corrupt_gzip(void **state)
{
	uint8_t gz[2048], bad[2048];
	size_t n = gzip(openai_chat, strlen(openai_chat), gz, sizeof(gz));
	struct usage u;

	/* cut before the usage was decoded: none */
	u = usage_of(JSON, "gzip", gz, n / 2, 0);
	assert_usage(&u, NONE, NONE);
	/* cut in the gzip trailer: the whole JSON was decoded, usage is what came before */
	u = usage_of(JSON, "gzip", gz, n - 4, 0);
	assert_usage(&u, 19, 10);
	/* a corrupt stream: the decoder gives up, no usage */
	memcpy(bad, gz, n);
	for (size_t i = n / 3; i < n / 3 + 16; i++)
		bad[i] ^= 0x5a;
	u = usage_of(JSON, "gzip", bad, n, 0);
	assert_usage(&u, NONE, NONE);
	u = usage_of(JSON, "gzip", bad, n, 1);
	assert_usage(&u, NONE, NONE);
	/* labelled gzip, sent plain */
	u = usage_of(JSON, "gzip", openai_chat, strlen(openai_chat), 0);
	assert_usage(&u, NONE, NONE);
}

static void truncated_gzip_sse_keeps_the_events_before_the_cut(void **state)
{
	/* message_start compressed and flushed, then the rest: a cut after the
	 * flush decodes message_start whole and the message_delta not at all */
	static const char start[] =
		"event: message_start\n"
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\","
		"\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n";
	static const char rest[] =
		"event: content_block_delta\n"
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
		"\"text\":\"Hello\"}}\n\n"
		"event: message_delta\n"
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
		"\"usage\":{\"output_tokens\":15}}\n\n";
	uint8_t gz[2048];
	z_stream z = { 0 };
	size_t flushed;
	struct usage u;

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_out = gz;
	z.avail_out = sizeof(gz);
	z.next_in = (Bytef *)start;
	z.avail_in = strlen(start);
	assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	flushed = z.total_out;
	z.next_in = (Bytef *)rest;
	z.avail_in = strlen(rest);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	assert_true(z.total_out > flushed + 8);
	deflateEnd(&z);

	u = usage_of(SSE, "gzip", gz, flushed + 3, 1);
	assert_usage(&u, 25, 1);
	u = usage_of(SSE, "gzip", gz, z.total_out, 1);
	assert_usage(&u, 25, 15);
}

static void undecodable_or_unread_bodies_give_no_usage(void **state)
{
	/* brotli and zstd are not decoded; a body that is not JSON or SSE is not read */
	static const struct {
		const char *type, *encoding;
	} cases[] = {
		{ JSON, "br" }, { SSE, "zstd" }, { "text/html; charset=utf-8", NULL },
		{ "text/plain", NULL }, { NULL, NULL },
	};

	struct usage u;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u = usage_of(cases[i].type, cases[i].encoding, openai_chat, strlen(openai_chat), 0);
		assert_usage(&u, NONE, NONE);
	}
	/* "identity" is no encoding */
	u = usage_of(JSON, "identity", openai_chat, strlen(openai_chat), 0);
	assert_usage(&u, 19, 10);
}

/* What the kernel need not copy: a body read for nothing, all but the tail of
 * a JSON body longer than is kept whole; nothing of a short or compressed
 * JSON body, SSE or an event stream. */
static void unneeded_bytes_of_each_kind_of_body(void **state)
{
	uint64_t huge = 3 * (uint64_t)BODY_JSON_MAX;
	struct body b;

	(void)state;
	body_init(&b, "application/octet-stream", NULL);
	assert_int_equal(body_unneeded(&b, huge), huge);
	body_free(&b);
	body_init(&b, JSON, NULL);
	assert_int_equal(body_unneeded(&b, huge), huge - BODY_JSON_TAIL);
	assert_int_equal(body_unneeded(&b, BODY_JSON_MAX), 0);
	body_free(&b);
	body_init(&b, JSON, "gzip");
	assert_int_equal(body_unneeded(&b, huge), 0);
	body_free(&b);
	body_init(&b, SSE, NULL);
	assert_int_equal(body_unneeded(&b, huge), 0);
	body_free(&b);
	body_init(&b, "application/vnd.amazon.eventstream", NULL);
	assert_int_equal(body_unneeded(&b, huge), 0);
	body_free(&b);
}

static void gaps_lose_only_what_they_interrupt(void **state)
{
	static const char events[] =
		"data: {\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}\n\n"
		"data: {\"usage\":{\"output_tokens\":15}}\n\n"
		"data: {\"type\":\"message_stop\"}\n\n";
	const char *mid = strstr(events, "15");
	uint8_t gz[2048];
	size_t n = gzip(openai_chat, strlen(openai_chat), gz, sizeof(gz));
	struct body b;

	/* JSON: the body's tail after the gap is read */
	body_init(&b, JSON, NULL);
	body_feed(&b, (const uint8_t *)openai_chat, 100);
	body_gap(&b, 50);
	body_feed(&b, (const uint8_t *)openai_chat + 150, strlen(openai_chat) - 150);
	body_end(&b);
	assert_usage(&b.usage, 19, 10);
	body_free(&b);

	/* SSE: the event the gap fell in is dropped, the next ones are read */
	body_init(&b, SSE, NULL);
	body_feed(&b, (const uint8_t *)events, mid - events);
	body_gap(&b, 2);
	body_feed(&b, (const uint8_t *)mid + 2, strlen(mid + 2));
	body_end(&b);
	assert_usage(&b.usage, 25, 1);
	body_free(&b);

	/* gzip cannot resume after a gap */
	body_init(&b, JSON, "gzip");
	body_feed(&b, gz, 20);
	body_gap(&b, 10);
	body_feed(&b, gz + 30, n - 30);
	body_end(&b);
	assert_usage(&b.usage, NONE, NONE);
	body_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(openai_chat_completion),
		cmocka_unit_test(openai_chat_stream_usage_in_the_last_chunk),
		cmocka_unit_test(openai_chat_stream_without_include_usage_has_none),
		cmocka_unit_test(openai_responses_api),
		cmocka_unit_test(openai_responses_stream_completed_event),
		cmocka_unit_test(anthropic_message),
		cmocka_unit_test(anthropic_stream_total_is_the_last_delta_not_a_sum),
		cmocka_unit_test(gemini_usage_metadata_counts_thoughts_as_output),
		cmocka_unit_test(gemini_sse_stream_last_chunk_wins),
		cmocka_unit_test(gemini_json_array_stream_last_chunk_wins),
		cmocka_unit_test(bedrock_invoke_counts_from_headers),
		cmocka_unit_test(bedrock_invocation_metrics),
		cmocka_unit_test(bedrock_converse),
		cmocka_unit_test(bedrock_converse_stream_in_eventstream_frames),
		cmocka_unit_test(bedrock_invoke_stream_in_base64_chunks),
		cmocka_unit_test(eventstream_out_of_step),
		cmocka_unit_test(cohere_billed_units_not_tokens),
		cmocka_unit_test(cohere_v1_meta_billed_units),
		cmocka_unit_test(cohere_stream_message_end),
		cmocka_unit_test(sse_long_lines_and_multi_line_data),
		cmocka_unit_test(json_body_past_the_bound_keeps_its_tail),
		cmocka_unit_test(sse_event_past_the_bound_is_skipped),
		cmocka_unit_test(malformed_json_gives_no_usage),
		cmocka_unit_test(usage_quoted_inside_text_is_not_usage),
		cmocka_unit_test(truncated_or_corrupt_gzip),
		cmocka_unit_test(truncated_gzip_sse_keeps_the_events_before_the_cut),
		cmocka_unit_test(undecodable_or_unread_bodies_give_no_usage),
		cmocka_unit_test(gaps_lose_only_what_they_interrupt),
		cmocka_unit_test(unneeded_bytes_of_each_kind_of_body),
	};

	return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
