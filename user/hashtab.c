// SPDX-License-Identifier: GPL-2.0
#include "hashtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HT_MIN_BUCKETS 64

/* Eight bytes at a time, then MurmurHash3's finalizer: keys are small (a flow
 * key, a pid and a host name), hashed for every flow at every refresh, and
 * none is chosen by a remote party in a way that could do worse than lengthen
 * a chain. */
static uint64_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = len * 0x9e3779b97f4a7c15ULL, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

int ht_init(struct hashtab *ht)
{
	ht->buckets = calloc(HT_MIN_BUCKETS, sizeof(*ht->buckets));
	if (!ht->buckets)
		return -ENOMEM;
	ht->nbuckets = HT_MIN_BUCKETS;
	ht->count = 0;
	return 0;
}

void ht_free(struct hashtab *ht)
{
	free(ht->buckets);
	ht->buckets = NULL;
	ht->nbuckets = ht->count = 0;
}

void ht_drain(struct hashtab *ht, size_t node_offset)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, ht);
	while ((n = ht_iter_next(&it))) {
		ht_remove(ht, n);
		free((char *)n - node_offset);
	}
}

struct ht_node *ht_find(const struct hashtab *ht, const void *key, size_t key_len)
{
	uint64_t h = hash_bytes(key, key_len);

	for (struct ht_node *n = ht->buckets[h & (ht->nbuckets - 1)]; n; n = n->next)
		if (n->hash == h && n->key_len == key_len && !memcmp(n->key, key, key_len))
			return n;
	return NULL;
}

static void link_node(struct ht_node **buckets, size_t nbuckets, struct ht_node *n)
{
	struct ht_node **head = &buckets[n->hash & (nbuckets - 1)];

	n->next = *head;
	*head = n;
}

static void grow(struct hashtab *ht)
{
	size_t nb = ht->nbuckets * 2;
	struct ht_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < ht->nbuckets; i++) {
		struct ht_node *n = ht->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			link_node(b, nb, n);
		}
	}
	free(ht->buckets);
	ht->buckets = b;
	ht->nbuckets = nb;
}

int ht_insert(struct hashtab *ht, struct ht_node *node)
{
	if (ht->count >= ht->nbuckets)
		grow(ht);
	node->hash = hash_bytes(node->key, node->key_len);
	link_node(ht->buckets, ht->nbuckets, node);
	ht->count++;
	return 0;
}

void ht_remove(struct hashtab *ht, struct ht_node *node)
{
	struct ht_node **pp = &ht->buckets[node->hash & (ht->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			ht->count--;
			return;
		}
	}
}

void ht_iter_init(struct ht_iter *it, const struct hashtab *ht)
{
	it->ht = ht;
	it->bucket = 0;
	it->next = ht->nbuckets ? ht->buckets[0] : NULL;
}

struct ht_node *ht_iter_next(struct ht_iter *it)
{
	struct ht_node *n;

	while (!it->next) {
		if (++it->bucket >= it->ht->nbuckets)
			return NULL;
		it->next = it->ht->buckets[it->bucket];
	}
	n = it->next;
	it->next = n->next;
	return n;
}
