// SPDX-License-Identifier: GPL-2.0
#include "classify.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"

void classify_name(const struct catalog *cat, const char *host, const char *by,
		   const char *path, struct classification *out)
{
	const struct endpoint *e = catalog_match_host(cat, host);
	bool batch;

	memset(out, 0, sizeof(*out));
	snprintf(out->host, sizeof(out->host), "%s", host);
	out->by = by;
	if (e) {
		out->provider = provider_intern(e->provider);
		out->router = e->router;
	} else if (path && path[0] && catalog_llm_path(cat, path, &batch)) {
		out->provider = PROVIDER_UNCATALOGUED;
	}
}

bool classify_flow(struct classifier *c, const struct ew_flow_key *key, uint32_t tgid,
		   bool final, double now, struct classification *out)
{
	const struct flow_name *fn = NULL;
	const struct endpoint *e;
	const char *dns;

	memset(out, 0, sizeof(*out));
	if (key->proto == IPPROTO_TCP)
		fn = names_of_flow(c->names, key->cookie);
	if (fn && fn->state == NAME_PENDING && !final && now - fn->first_seen < NAME_PENDING_MAX_S)
		return false;
	if (fn && fn->state == NAME_KNOWN) {
		classify_name(c->catalog, fn->host, fn->by, fn->path, out);
		return true;
	}
	dns = names_dns_lookup(c->names, tgid, key->peer, now);
	if (dns) {
		classify_name(c->catalog, dns, "dns", NULL, out);
		return true;
	}
	addr_format(key->peer, out->host, sizeof(out->host));
	e = catalog_match_addr(c->catalog, key->peer);
	out->provider = e ? provider_intern(e->provider) : NULL;
	out->router = e && e->router;
	out->by = e ? "cidr" : "ip";
	return true;
}

static bool namer_classify(void *ctx, const struct ew_flow_key *key, uint32_t tgid, bool final,
			   double now, struct classification *out)
{
	return classify_flow(ctx, key, tgid, final, now, out);
}

static void namer_forget(void *ctx, const struct ew_flow_key *key)
{
	struct classifier *c = ctx;

	if (key->proto == IPPROTO_TCP)
		names_forget_flow(c->names, key->cookie);
}

struct flow_namer classifier_namer(struct classifier *c)
{
	return (struct flow_namer){ namer_classify, namer_forget, c };
}
