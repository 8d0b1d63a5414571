/* SPDX-License-Identifier: GPL-2.0 */
/* What egresswatch has learned about the names behind flows: the name a client
 * put in its first payload (TLS SNI, HTTP Host), per socket, and the names DNS
 * answers gave for addresses, per process and host-wide. */
#ifndef EW_NAMES_H
#define EW_NAMES_H

#include <stdbool.h>
#include <stdint.h>
#include "dns.h"
#include "egresswatch.h"
#include "hashtab.h"

enum name_state {
	NAME_PENDING, /* a ClientHello or request head so far, cut short */
	NAME_KNOWN,
	NAME_NONE,    /* the first payload names nothing (or is not TLS/HTTP) */
};

struct flow_name {
	struct ht_node node;
	uint64_t cookie;
	enum name_state state;
	const char *by;        /* "sni" or "http" */
	char host[DNS_NAME_MAX];
	char path[256];        /* first HTTP request path (plaintext HTTP only) */
	double first_seen;
	uint32_t have;         /* bytes gathered while pending */
	uint8_t *buf;
};

struct names {
	struct hashtab flows; /* struct flow_name by cookie */
	struct hashtab dns;   /* address (and process) to name */
	unsigned int dns_max;
	uint64_t dns_dropped; /* answers not stored: table full */
};

int names_init(struct names *n, unsigned int dns_max);
void names_free(struct names *n);

/* A sample of a flow's first client payload (EW_EV_SAMPLE_CLIENT). */
void names_client_sample(struct names *n, const struct ew_sample *s, double now);
/* A DNS answer seen by process tgid (EW_EV_SAMPLE_DNS). */
void names_dns_sample(struct names *n, const struct ew_sample *s, double now);

const struct flow_name *names_of_flow(const struct names *n, uint64_t cookie);
void names_forget_flow(struct names *n, uint64_t cookie);
/* The name a DNS answer gave for addr: the one process tgid was told first,
 * else the one name any process was told (for clients of a caching daemon,
 * which never see the answer themselves). NULL when none is current, or when
 * the address was given under several names host-wide. */
const char *names_dns_lookup(const struct names *n, uint32_t tgid, const uint8_t addr[16],
			     double now);
/* Drops expired DNS names and flow names never claimed for max_age seconds. */
void names_prune(struct names *n, double now, double max_age);

/* DNS names are kept for their TTL, but never less than this: clients cache
 * answers past a short TTL, and a name dropped too early leaves a flow with
 * only its address. */
#define DNS_MIN_TTL_S 60.0
/* A ClientHello still incomplete after this long is given up on. */
#define NAME_PENDING_MAX_S 2.0

#endif
