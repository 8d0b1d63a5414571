// SPDX-License-Identifier: GPL-2.0
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_request.h"
#include "tls_hello.h"

/* How much of a flow's first payload is gathered while a name is pending. */
#define PENDING_MAX (2 * EW_SAMPLE_MAX)

struct dns_key {
	uint32_t tgid; /* 0: host-wide */
	uint8_t addr[16];
} __attribute__((packed));

struct dns_entry {
	struct ht_node node;
	struct dns_key key;
	char name[DNS_NAME_MAX];
	double expires;
	bool ambiguous; /* host-wide: several names for the address (a CDN) */
};

int names_init(struct names *n, unsigned int dns_max)
{
	memset(n, 0, sizeof(*n));
	n->dns_max = dns_max;
	if (ht_init(&n->flows))
		return -ENOMEM;
	if (ht_init(&n->dns)) {
		ht_free(&n->flows);
		return -ENOMEM;
	}
	return 0;
}

static void flow_name_free(struct names *n, struct flow_name *f)
{
	ht_remove(&n->flows, &f->node);
	free(f->buf);
	free(f);
}

void names_free(struct names *n)
{
	struct ht_iter it;
	struct ht_node *node;

	ht_iter_init(&it, &n->flows);
	while ((node = ht_iter_next(&it)))
		flow_name_free(n, container_of(node, struct flow_name, node));
	ht_iter_init(&it, &n->dns);
	while ((node = ht_iter_next(&it))) {
		ht_remove(&n->dns, node);
		free(container_of(node, struct dns_entry, node));
	}
	ht_free(&n->flows);
	ht_free(&n->dns);
}

const struct flow_name *names_of_flow(const struct names *n, uint64_t cookie)
{
	struct ht_node *node = ht_find(&n->flows, &cookie, sizeof(cookie));

	return node ? container_of(node, struct flow_name, node) : NULL;
}

void names_forget_flow(struct names *n, uint64_t cookie)
{
	struct ht_node *node = ht_find(&n->flows, &cookie, sizeof(cookie));

	if (node)
		flow_name_free(n, container_of(node, struct flow_name, node));
}

/* Tries TLS, then HTTP, on what has been gathered of the first payload. */
static void parse_first_payload(struct flow_name *f, const uint8_t *data, size_t len)
{
	enum hello_result tls = tls_client_hello_sni(data, len, f->host, sizeof(f->host));
	enum http_result http;

	switch (tls) {
	case HELLO_SNI:
		f->state = NAME_KNOWN;
		f->by = "sni";
		return;
	case HELLO_NEED_MORE:
		f->state = NAME_PENDING;
		return;
	case HELLO_NO_SNI:
	case HELLO_MALFORMED:
		f->state = NAME_NONE;
		return;
	case HELLO_NOT_TLS:
		break;
	}
	http = http_request_head(data, len, f->host, sizeof(f->host), f->path, sizeof(f->path));
	f->state = http == HTTP_HOST ? NAME_KNOWN : http == HTTP_NEED_MORE ? NAME_PENDING : NAME_NONE;
	f->by = "http";
	if (http != HTTP_HOST)
		f->host[0] = '\0';
}

void names_client_sample(struct names *n, const struct ew_sample *s, double now)
{
	struct ht_node *node = ht_find(&n->flows, &s->key.cookie, sizeof(s->key.cookie));
	struct flow_name *f;
	uint32_t len = s->len > EW_SAMPLE_MAX ? EW_SAMPLE_MAX : s->len;

	if (node) {
		f = container_of(node, struct flow_name, node);
		/* Only a pending name takes the next segment, and only the one
		 * that follows what it has (not a retransmission). */
		if (f->state != NAME_PENDING || s->offset != f->have || f->have + len > PENDING_MAX)
			return;
		memcpy(f->buf + f->have, s->data, len);
		f->have += len;
		parse_first_payload(f, f->buf, f->have);
	} else {
		if (s->offset != 0)
			return; /* the first payload was not seen */
		f = calloc(1, sizeof(*f));
		if (!f)
			return;
		f->cookie = s->key.cookie;
		f->first_seen = now;
		f->node.key = &f->cookie;
		f->node.key_len = sizeof(f->cookie);
		ht_insert(&n->flows, &f->node);
		parse_first_payload(f, s->data, len);
		if (f->state == NAME_PENDING) {
			f->buf = malloc(PENDING_MAX);
			if (!f->buf) {
				f->state = NAME_NONE;
				return;
			}
			memcpy(f->buf, s->data, len);
			f->have = len;
		}
	}
	if (f->state != NAME_PENDING) {
		free(f->buf); /* nothing of the payload is kept once it is parsed */
		f->buf = NULL;
		f->have = 0;
	}
}

static struct dns_entry *dns_find(const struct names *n, uint32_t tgid, const uint8_t addr[16])
{
	struct dns_key k = { .tgid = tgid };
	struct ht_node *node;

	memcpy(k.addr, addr, 16);
	node = ht_find(&n->dns, &k, sizeof(k));
	return node ? container_of(node, struct dns_entry, node) : NULL;
}

static void dns_put(struct names *n, uint32_t tgid, const char *name, const uint8_t addr[16],
		    double now, double expires, bool replace)
{
	struct dns_entry *e = dns_find(n, tgid, addr);

	if (e) {
		/* A process keeps the first name it was told for an address, so a
		 * later lookup of another name on the same CDN address does not
		 * rename its flows. Host-wide, an address known under several live
		 * names names nothing: it may be any of them. */
		if (strcmp(e->name, name)) {
			if (!replace)
				return;
			e->ambiguous = e->expires > now;
			snprintf(e->name, sizeof(e->name), "%s", name);
		}
		if (expires > e->expires)
			e->expires = expires;
		return;
	}
	if (n->dns.count >= n->dns_max) {
		n->dns_dropped++;
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->key.tgid = tgid;
	memcpy(e->key.addr, addr, 16);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->expires = expires;
	e->node.key = &e->key;
	e->node.key_len = sizeof(e->key);
	ht_insert(&n->dns, &e->node);
}

struct dns_ctx {
	struct names *n;
	uint32_t tgid;
	double now;
};

static void on_answer(void *ctx, const char *name, const uint8_t addr[16], uint32_t ttl)
{
	struct dns_ctx *c = ctx;
	double expires = c->now + (ttl > DNS_MIN_TTL_S ? ttl : DNS_MIN_TTL_S);

	dns_put(c->n, c->tgid, name, addr, c->now, expires, false);
	dns_put(c->n, 0, name, addr, c->now, expires, true);
}

void names_dns_sample(struct names *n, const struct ew_sample *s, double now)
{
	struct dns_ctx c = { n, s->tgid, now };

	dns_parse_response(s->data, s->len > EW_SAMPLE_MAX ? EW_SAMPLE_MAX : s->len, on_answer, &c);
}

const char *names_dns_lookup(const struct names *n, uint32_t tgid, const uint8_t addr[16],
			     double now)
{
	struct dns_entry *e = dns_find(n, tgid, addr);

	if (e && e->expires > now)
		return e->name;
	e = dns_find(n, 0, addr);
	return e && e->expires > now && !e->ambiguous ? e->name : NULL;
}

void names_prune(struct names *n, double now, double max_age)
{
	struct ht_iter it;
	struct ht_node *node;

	ht_iter_init(&it, &n->dns);
	while ((node = ht_iter_next(&it))) {
		struct dns_entry *e = container_of(node, struct dns_entry, node);

		if (e->expires <= now) {
			ht_remove(&n->dns, node);
			free(e);
		}
	}
	ht_iter_init(&it, &n->flows);
	while ((node = ht_iter_next(&it))) {
		struct flow_name *f = container_of(node, struct flow_name, node);

		if (now - f->first_seen >= max_age)
			flow_name_free(n, f);
	}
}
