/* SPDX-License-Identifier: GPL-2.0 */
/* A chained hash table of caller-owned nodes keyed by bytes: the flow, row and
 * process tables all need lookup by a composite key and removal while
 * iterating. */
#ifndef EW_HASHTAB_H
#define EW_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct ht_node {
	struct ht_node *next;
	uint64_t hash;
	const void *key; /* points into the structure that embeds the node */
	size_t key_len;
};

struct hashtab {
	struct ht_node **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

int ht_init(struct hashtab *ht);
void ht_free(struct hashtab *ht); /* frees the buckets, not the nodes */
/* Frees every node (each malloc'd, its ht_node node_offset bytes in); the
 * table stays usable. */
void ht_drain(struct hashtab *ht, size_t node_offset);
struct ht_node *ht_find(const struct hashtab *ht, const void *key, size_t key_len);
/* node->key and node->key_len must be set; the key must not be present. */
int ht_insert(struct hashtab *ht, struct ht_node *node);
void ht_remove(struct hashtab *ht, struct ht_node *node);

/* Iteration that tolerates removal of the current node. */
struct ht_iter {
	const struct hashtab *ht;
	size_t bucket;
	struct ht_node *next;
};
void ht_iter_init(struct ht_iter *it, const struct hashtab *ht);
struct ht_node *ht_iter_next(struct ht_iter *it);

#endif
