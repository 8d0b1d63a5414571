// SPDX-License-Identifier: GPL-2.0
#include "rows.h"
#include "seen_set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rows_init(struct row_table *t)
{
	return ht_init(&t->ht);
}

static void row_free(struct row *r)
{
	seen_free(&r->keys);
	seen_free(&r->orgs);
	free(r->exe);
	free(r->cgroup);
	free(r);
}

void rows_add_request(struct row *r, const struct fingerprint *key, bool batch, double now)
{
	r->plaintext = true;
	r->requests++;
	r->requests_total++;
	if (batch)
		r->batch_requests++;
	if (key)
		seen_note(&r->keys, key, sizeof(*key), now, ROW_FINGERPRINTS_MAX);
	r->last_active = now;
}

void rows_add_response(struct row *r, const struct usage *u, const struct fingerprint *org,
		       double now)
{
	r->plaintext = true;
	if (u->has_input) {
		r->input_tokens_total += u->input;
		r->input_tokens += u->input;
	}
	if (u->has_output) {
		r->output_tokens_total += u->output;
		r->output_tokens += u->output;
	}
	if (org)
		seen_note(&r->orgs, org, sizeof(*org), now, ROW_FINGERPRINTS_MAX);
	r->last_active = now;
}

void rows_free(struct row_table *t)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, &t->ht);
	while ((n = ht_iter_next(&it)))
		row_free(container_of(n, struct row, node));
	ht_free(&t->ht);
}

static size_t make_key(unsigned char *key, uint32_t pid, const char *host)
{
	size_t hl = strnlen(host, EW_HOST_MAX - 1);

	memcpy(key, &pid, sizeof(pid));
	memcpy(key + sizeof(pid), host, hl);
	return sizeof(pid) + hl;
}

struct row *rows_find(const struct row_table *t, uint32_t pid, const char *host)
{
	unsigned char key[sizeof(uint32_t) + EW_HOST_MAX];
	size_t klen = make_key(key, pid, host);
	struct ht_node *n = ht_find(&t->ht, key, klen);

	return n ? container_of(n, struct row, node) : NULL;
}

struct row *rows_get(struct row_table *t, const struct identity *id,
		     const struct classification *cls, double now)
{
	unsigned char key[sizeof(uint32_t) + EW_HOST_MAX];
	size_t klen = make_key(key, id->pid, cls->host);
	struct row *r = rows_find(t, id->pid, cls->host);

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	memcpy(r->key, key, klen);
	r->node.key = r->key;
	r->node.key_len = klen;
	r->pid = id->pid;
	r->uid = id->uid;
	memcpy(r->comm, id->comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = '\0';
	r->exe = id->exe ? strdup(id->exe) : NULL;
	r->cgroup = id->cgroup ? strdup(id->cgroup) : NULL;
	r->cls = *cls;
	r->cls.host[EW_HOST_MAX - 1] = '\0';
	r->preexisting = id->preexisting;
	r->last_active = now;
	ht_insert(&t->ht, &r->node);
	return r;
}

void rows_add_bytes(struct row *r, uint64_t tx, uint64_t rx, double now)
{
	if (!tx && !rx)
		return;
	r->tx_bytes += tx;
	r->rx_bytes += rx;
	r->tx_bytes_total += tx;
	r->rx_bytes_total += rx;
	r->last_active = now;
}

void rows_begin_interval(struct row_table *t)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, &t->ht);
	while ((n = ht_iter_next(&it))) {
		struct row *r = container_of(n, struct row, node);

		r->tx_bytes = r->rx_bytes = 0;
		r->requests = r->input_tokens = r->output_tokens = r->batch_requests = 0;
		r->connections_opened = 0;
	}
}

void rows_expire(struct row_table *t, double now, double grace)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, &t->ht);
	while ((n = ht_iter_next(&it))) {
		struct row *r = container_of(n, struct row, node);

		if (r->connections == 0 && now - r->last_active >= grace) {
			ht_remove(&t->ht, n);
			row_free(r);
		}
	}
}

static uint64_t sort_value(const struct row *r, enum row_sort by)
{
	switch (by) {
	case SORT_TX:
		return r->tx_bytes;
	case SORT_RX:
		return r->rx_bytes;
	case SORT_REQ:
		return r->requests;
	case SORT_TOKENS:
		return r->output_tokens;
	}
	return 0;
}

static enum row_sort qsort_by;

static int compare_rows(const void *a, const void *b)
{
	const struct row *ra = *(const struct row *const *)a;
	const struct row *rb = *(const struct row *const *)b;
	uint64_t va = sort_value(ra, qsort_by), vb = sort_value(rb, qsort_by);

	if (va != vb)
		return va < vb ? 1 : -1;
	if (ra->rx_bytes_total != rb->rx_bytes_total)
		return ra->rx_bytes_total < rb->rx_bytes_total ? 1 : -1;
	if (ra->pid != rb->pid)
		return ra->pid < rb->pid ? -1 : 1;
	return strcmp(ra->cls.host, rb->cls.host);
}

int rows_sorted(const struct row_table *t, enum row_sort by, bool all, struct row ***out)
{
	struct row **v = calloc(t->ht.count ? t->ht.count : 1, sizeof(*v));
	struct ht_iter it;
	struct ht_node *n;
	int count = 0;

	if (!v)
		return -ENOMEM;
	ht_iter_init(&it, &t->ht);
	while ((n = ht_iter_next(&it))) {
		struct row *r = container_of(n, struct row, node);

		if (all || r->cls.provider)
			v[count++] = r;
	}
	rows_sort_array(v, count, by);
	*out = v;
	return count;
}

void rows_sort_array(struct row **v, int n, enum row_sort by)
{
	qsort_by = by;
	qsort(v, n, sizeof(*v), compare_rows);
}

int row_sort_parse(const char *s, enum row_sort *out)
{
	static const struct { const char *name; enum row_sort by; } names[] = {
		{ "rx", SORT_RX }, { "tx", SORT_TX }, { "req", SORT_REQ }, { "tokens", SORT_TOKENS },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*out = names[i].by;
			return 0;
		}
	}
	return -EINVAL;
}

static int trust(const char *by)
{
	static const char *const order[] = { "ip", "cidr", "dns", "http", "sni" };

	for (int i = 0; i < 5; i++)
		if (by && !strcmp(by, order[i]))
			return i;
	return -1;
}

void rows_prefer(struct row *r, const struct classification *cls)
{
	if (trust(cls->by) > trust(r->cls.by) && !strcmp(cls->host, r->cls.host)) {
		r->cls.by = cls->by;
		if (cls->provider) {
			r->cls.provider = cls->provider;
			r->cls.router = cls->router;
		}
	}
}
