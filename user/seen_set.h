/* SPDX-License-Identifier: GPL-2.0 */
/* A bounded set of small keys (fingerprints, pids), each with when it was
 * last seen: distinct API keys per row, and per detection entity over its
 * window. The set is a hashtab of struct seen_entry, empty until first use. */
#ifndef EW_SEEN_SET_H
#define EW_SEEN_SET_H

#include <stddef.h>
#include "hashtab.h"

#define SEEN_KEY_MAX 16

struct seen_entry {
	struct ht_node node;
	double last_seen;
	unsigned char key[SEEN_KEY_MAX];
};

/* Notes key (len <= SEEN_KEY_MAX) as seen at when; a set already holding max
 * keys takes no new one. */
void seen_note(struct hashtab *set, const void *key, size_t len, double when, size_t max);
/* Notes every key of from seen since then. */
void seen_merge(struct hashtab *set, const struct hashtab *from, double since, size_t max);
/* Forgets keys last seen before since. */
void seen_prune(struct hashtab *set, double since);
void seen_free(struct hashtab *set);

#endif
