/* SPDX-License-Identifier: GPL-2.0 */
/* Names the remote end of a flow and says whether it is an LLM API, in order
 * of trust: the name the client sent (TLS SNI, HTTP Host), then a DNS answer
 * the process (or the host) received, then a configured CIDR. One address
 * often serves many unrelated names behind a CDN, so an address never makes a
 * flow an LLM flow when a name says otherwise. */
#ifndef EW_CLASSIFY_H
#define EW_CLASSIFY_H

#include <stdbool.h>
#include "accountant.h"
#include "catalog.h"
#include "egresswatch.h"
#include "names.h"
#include "rows.h"

/* Requests to LLM-shaped paths on hosts outside the catalog. */
#define PROVIDER_UNCATALOGUED "uncatalogued"

struct classifier {
	const struct catalog *catalog;
	struct names *names;
};

/* Returns false while the flow's name may still come (a ClientHello cut short,
 * for at most NAME_PENDING_MAX_S); final asks for the best answer now. */
bool classify_flow(struct classifier *c, const struct ew_flow_key *key, uint32_t tgid,
		   bool final, double now, struct classification *out);

/* A flow or request known by name: its provider from the catalog, or
 * "uncatalogued" when path is LLM-shaped. */
void classify_name(const struct catalog *cat, const char *host, const char *by,
		   const char *path, struct classification *out);
/* The classifier as the accountant's flow namer. */
struct flow_namer classifier_namer(struct classifier *c);

#endif
