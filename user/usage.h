/* SPDX-License-Identifier: GPL-2.0 */
/* Token usage in LLM API responses: OpenAI (chat: prompt_tokens and
 * completion_tokens; Responses API: input_tokens and output_tokens), Anthropic
 * (input_tokens, output_tokens; streaming deltas are cumulative), Gemini and
 * Vertex (usageMetadata), Bedrock Converse (inputTokens, outputTokens), Cohere
 * (billed_units, under "usage" in v2 and "meta" in v1). The last value seen
 * wins: streams repeat cumulative counts. */
#ifndef EW_USAGE_H
#define EW_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usage {
	uint64_t input, output;
	bool has_input, has_output;
};

/* Finds the usage objects in a JSON text (a whole body, an SSE event's data,
 * or the tail of a long body) and updates u. Text that is not JSON is fine. */
void usage_scan(const char *text, size_t len, struct usage *u);

#endif
