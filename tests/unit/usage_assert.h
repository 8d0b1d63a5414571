/* SPDX-License-Identifier: GPL-2.0 */
/* A usage as the parsers report it, checked count by count: NONE for a count
 * the response did not give (never a made-up 0). Include after cmocka.h. */
#ifndef EW_TEST_USAGE_ASSERT_H
#define EW_TEST_USAGE_ASSERT_H

#include <stdint.h>
#include "usage.h"

#define NONE UINT64_MAX

static inline void assert_usage(const struct usage *u, uint64_t in, uint64_t out)
{
	assert_int_equal(u->has_input, in != NONE);
	if (in != NONE)
		assert_int_equal(u->input, in);
	assert_int_equal(u->has_output, out != NONE);
	if (out != NONE)
		assert_int_equal(u->output, out);
}

#endif
