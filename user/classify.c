// SPDX-License-Identifier: GPL-2.0
#include "classify.h"

#include <string.h>
#include "addr.h"

void classify_by_address(void *ctx, const struct ew_flow_key *key, struct classification *out)
{
	memset(out, 0, sizeof(*out));
	addr_format(key->peer, out->host, sizeof(out->host));
	out->provider = NULL;
	out->by = "ip";
}
