// SPDX-License-Identifier: GPL-2.0
#include "seen_set.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void seen_note(struct hashtab *set, const void *key, size_t len, double when, size_t max)
{
	struct seen_entry *s;
	struct ht_node *n;

	if (len > SEEN_KEY_MAX || (!set->buckets && ht_init(set)))
		return;
	n = ht_find(set, key, len);
	if (n) {
		s = container_of(n, struct seen_entry, node);
		if (when > s->last_seen)
			s->last_seen = when;
		return;
	}
	if (set->count >= max)
		return;
	s = malloc(sizeof(*s));
	if (!s)
		return;
	memcpy(s->key, key, len);
	s->last_seen = when;
	s->node.key = s->key;
	s->node.key_len = len;
	ht_insert(set, &s->node);
}

void seen_merge(struct hashtab *set, const struct hashtab *from, double since, size_t max)
{
	struct ht_iter it;
	struct ht_node *n;

	if (!from->buckets)
		return;
	ht_iter_init(&it, from);
	while ((n = ht_iter_next(&it))) {
		const struct seen_entry *s = container_of(n, struct seen_entry, node);

		if (s->last_seen >= since)
			seen_note(set, s->key, n->key_len, s->last_seen, max);
	}
}

void seen_prune(struct hashtab *set, double since)
{
	struct ht_iter it;
	struct ht_node *n;

	if (!set->buckets)
		return;
	ht_iter_init(&it, set);
	while ((n = ht_iter_next(&it))) {
		if (container_of(n, struct seen_entry, node)->last_seen >= since)
			continue;
		ht_remove(set, n);
		free(container_of(n, struct seen_entry, node));
	}
}

void seen_free(struct hashtab *set)
{
	seen_prune(set, INFINITY);
	ht_free(set);
}
