/* SPDX-License-Identifier: GPL-2.0 */
/* Names the remote end of a flow. */
#ifndef EW_CLASSIFY_H
#define EW_CLASSIFY_H

#include "accountant.h"

/* No name known: the host is the address as text, classified_by "ip". */
void classify_by_address(void *ctx, const struct ew_flow_key *key, struct classification *out);

#endif
