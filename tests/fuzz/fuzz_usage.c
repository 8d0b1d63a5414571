// SPDX-License-Identifier: GPL-2.0
/* usage_scan on hostile text (a body, an SSE event's data, or a tail cut
 * anywhere), not NUL-terminated: an exact-size heap copy. A count is only
 * changed with its flag, and what a scan finds does not depend on what the
 * usage held before. */
#include "fuzz_exchange.h"
#include "usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = (char *)fuzz_dup(data, size);
	struct usage fresh = { 0 };
	struct usage prior = { .input = 7, .output = 9, .has_input = true, .has_output = false };
	struct usage before = prior;

	usage_scan(text, size, &fresh);
	fuzz_check_usage(&fresh, 1);

	usage_scan(text, size, &prior);
	fuzz_check_usage(&prior, 0);
	if (fresh.has_input)
		FUZZ_CHECK(prior.has_input && prior.input == fresh.input);
	else
		FUZZ_CHECK(prior.has_input == before.has_input && prior.input == before.input);
	if (fresh.has_output)
		FUZZ_CHECK(prior.has_output && prior.output == fresh.output);
	else
		FUZZ_CHECK(prior.has_output == before.has_output && prior.output == before.output);
	free(text);
	return 0;
}
