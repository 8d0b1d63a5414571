// SPDX-License-Identifier: GPL-2.0
#include "usage.h"

#include <jansson.h>
#include <string.h>

/* The keys whose values hold token counts, and what each count is. */
static const char *const input_fields[] = { "prompt_tokens", "input_tokens", "inputTokens",
					    "promptTokenCount", "inputTokenCount", NULL };
static const char *const output_fields[] = { "completion_tokens", "output_tokens", "outputTokens",
					     "candidatesTokenCount", "outputTokenCount", NULL };
/* Reasoning the model did but did not show is output it was paid to make. */
static const char *const extra_output_fields[] = { "thoughtsTokenCount", NULL };

static bool count_of(json_t *obj, const char *const *names, uint64_t *out)
{
	for (size_t i = 0; names[i]; i++) {
		json_t *v = json_object_get(obj, names[i]);

		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			*out = json_integer_value(v);
			return true;
		}
	}
	return false;
}

static void take_usage(json_t *obj, struct usage *u)
{
	json_t *billed = json_object_get(obj, "billed_units");
	uint64_t v, extra;

	if (json_is_object(billed))
		obj = billed; /* Cohere: what was billed is what was made */
	if (count_of(obj, input_fields, &v)) {
		u->input = v;
		u->has_input = true;
	}
	if (count_of(obj, output_fields, &v)) {
		if (count_of(obj, extra_output_fields, &extra))
			v = v + extra < v ? UINT64_MAX : v + extra; /* hostile counts: saturate */
		u->output = v;
		u->has_output = true;
	}
}

/* Cohere's v1 API gives its billed_units under "meta", v2 under "usage". */
static const char *const usage_keys[] = { "\"usage\"", "\"usageMetadata\"",
					  "\"amazon-bedrock-invocationMetrics\"", "\"meta\"", NULL };

void usage_scan(const char *text, size_t len, struct usage *u)
{
	const char *end = text + len;

	for (const char *p = text; p < end; p++) {
		if (*p != '"')
			continue;
		for (size_t k = 0; usage_keys[k]; k++) {
			size_t kl = strlen(usage_keys[k]);
			const char *v;
			json_error_t err;
			json_t *obj;

			if ((size_t)(end - p) < kl || memcmp(p, usage_keys[k], kl))
				continue;
			/* an escaped quote is text inside a string, not a key */
			if (p > text && p[-1] == '\\')
				continue;
			v = p + kl;
			while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
				v++;
			if (v >= end || *v != ':')
				continue;
			v++;
			while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
				v++;
			if (v >= end || *v != '{')
				continue; /* "usage": null in the chunks before the last */
			obj = json_loadb(v, end - v, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &err);
			if (obj) {
				take_usage(obj, u);
				json_decref(obj);
			}
			p += kl - 1;
			break;
		}
	}
}
