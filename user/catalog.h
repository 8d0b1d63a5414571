/* SPDX-License-Identifier: GPL-2.0 */
/* The endpoint catalog: which hosts, paths and address ranges are LLM APIs.
 * Built in (catalog_builtin.c), extended or overridden by the configuration. */
#ifndef EW_CATALOG_H
#define EW_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cidr {
	uint8_t addr[16]; /* IPv6, IPv4 as v4-mapped */
	uint8_t prefix;   /* on the 128-bit form */
};

struct endpoint {
	char *provider; /* stable id: "openai" */
	char **hosts;   /* exact names or patterns with '*' for part of one label */
	size_t nhosts;
	char **paths;   /* inference paths; '*' matches within one path segment */
	size_t npaths;
	char **batch_paths;
	size_t nbatch_paths;
	struct cidr *cidrs;
	size_t ncidrs;
	bool router;    /* a router or aggregator in front of other providers */
	bool from_config;
};

struct catalog {
	struct endpoint *entries;
	size_t count;
};

int catalog_init_builtin(struct catalog *c);
void catalog_free(struct catalog *c);
/* Adds an entry, or replaces the one with the same provider id. Takes
 * ownership of e's contents. */
int catalog_put(struct catalog *c, struct endpoint *e);
void endpoint_free(struct endpoint *e);

/* The entry whose host patterns match name (case-insensitive), or NULL. */
const struct endpoint *catalog_match_host(const struct catalog *c, const char *name);
/* The entry one of whose CIDRs holds addr, or NULL. */
const struct endpoint *catalog_match_addr(const struct catalog *c, const uint8_t addr[16]);
/* Whether path (query string ignored) is one of the inference or batch paths
 * of any entry: an LLM-shaped request. */
bool catalog_llm_path(const struct catalog *c, const char *path, bool *batch);

bool host_pattern_match(const char *pattern, const char *name);
bool path_pattern_match(const char *pattern, const char *path);
/* "203.0.113.0/24", "2001:db8::/32"; 0 or -EINVAL. */
int cidr_parse(const char *text, struct cidr *out);
bool cidr_contains(const struct cidr *c, const uint8_t addr[16]);

/* The one copy of a provider id, kept for the program's life: rows and
 * alerts hold provider names across configuration reloads. NULL stays NULL. */
const char *provider_intern(const char *provider);

/* `egresswatch endpoints`: one block per entry. */
void catalog_print(const struct catalog *c, FILE *out);

#endif
