// SPDX-License-Identifier: GPL-2.0
#include "catalog.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "catalog_builtin.h"
#include "hashtab.h"

static char **copy_list(const char *const *src, size_t *count)
{
	size_t n = 0;
	char **v;

	while (src[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(src[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	*count = n;
	return v;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void endpoint_free(struct endpoint *e)
{
	free(e->provider);
	free_list(e->hosts, e->nhosts);
	free_list(e->paths, e->npaths);
	free_list(e->batch_paths, e->nbatch_paths);
	free(e->cidrs);
	memset(e, 0, sizeof(*e));
}

void catalog_free(struct catalog *c)
{
	for (size_t i = 0; i < c->count; i++)
		endpoint_free(&c->entries[i]);
	free(c->entries);
	c->entries = NULL;
	c->count = 0;
}

int catalog_put(struct catalog *c, struct endpoint *e)
{
	struct endpoint *v;

	for (size_t i = 0; i < c->count; i++) {
		if (!strcmp(c->entries[i].provider, e->provider)) {
			endpoint_free(&c->entries[i]);
			c->entries[i] = *e;
			memset(e, 0, sizeof(*e));
			return 0;
		}
	}
	v = realloc(c->entries, (c->count + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->entries = v;
	c->entries[c->count++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

int catalog_init_builtin(struct catalog *c)
{
	memset(c, 0, sizeof(*c));
	for (const struct builtin_endpoint *b = builtin_endpoints; b->provider; b++) {
		struct endpoint e = { .router = b->router };

		e.provider = strdup(b->provider);
		e.hosts = copy_list(b->hosts, &e.nhosts);
		e.paths = copy_list(b->paths, &e.npaths);
		e.batch_paths = copy_list(b->batch_paths, &e.nbatch_paths);
		if (!e.provider || !e.hosts || !e.paths || !e.batch_paths || catalog_put(c, &e)) {
			endpoint_free(&e);
			catalog_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Longer paths and names are none of the catalog's. */
#define PATH_MATCH_MAX 2048
#define HOST_MATCH_MAX 256

/* '*' matches one or more characters other than stop; everything else matches
 * itself, case-insensitively for host names. Iterative with one backtrack
 * point per star segment, so hostile names cannot make it exponential. */
static bool glob_match(const char *p, const char *s, char stop, bool fold)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*' && *s != stop) {
			star = p++;
			resume = ++s; /* one character at least */
			continue;
		}
		if (*p && *p != '*' &&
		    (fold ? tolower((unsigned char)*p) == tolower((unsigned char)*s) : *p == *s)) {
			p++;
			s++;
			continue;
		}
		/* Let the last star take one more character, within its segment. */
		if (star && *resume && *resume != stop) {
			p = star + 1;
			s = ++resume;
			continue;
		}
		return false;
	}
	return *p == '\0';
}

/* A fully qualified "api.openai.com." is the same host: the name without its
 * last dot, in buf when it had one. */
static const char *unqualified(const char *name, char buf[HOST_MATCH_MAX])
{
	size_t n = strlen(name);

	if (!n || name[n - 1] != '.' || n >= HOST_MATCH_MAX)
		return name;
	memcpy(buf, name, n - 1);
	buf[n - 1] = '\0';
	return buf;
}

bool host_pattern_match(const char *pattern, const char *name)
{
	char buf[HOST_MATCH_MAX];

	return glob_match(pattern, unqualified(name, buf), '.', true);
}

/* The path as endpoints are matched: no query or fragment, and
 * "/v1/chat/completions/" is the same endpoint as without the last '/'.
 * false for a path too long to be one. */
static bool endpoint_path(const char *path, char buf[PATH_MATCH_MAX])
{
	size_t n = strcspn(path, "?#");

	if (n >= PATH_MATCH_MAX)
		return false;
	memcpy(buf, path, n);
	buf[n] = '\0';
	if (n > 1 && buf[n - 1] == '/')
		buf[n - 1] = '\0';
	return true;
}

bool path_pattern_match(const char *pattern, const char *path)
{
	char buf[PATH_MATCH_MAX];

	return endpoint_path(path, buf) && glob_match(pattern, buf, '/', false);
}

const struct endpoint *catalog_match_host(const struct catalog *c, const char *name)
{
	char buf[HOST_MATCH_MAX];

	name = unqualified(name, buf);
	/* Entries from the configuration come last but win: an override or a
	 * more specific internal gateway. */
	for (size_t i = c->count; i-- > 0;)
		for (size_t j = 0; j < c->entries[i].nhosts; j++)
			if (glob_match(c->entries[i].hosts[j], name, '.', true))
				return &c->entries[i];
	return NULL;
}

const struct endpoint *catalog_match_addr(const struct catalog *c, const uint8_t addr[16])
{
	for (size_t i = c->count; i-- > 0;)
		for (size_t j = 0; j < c->entries[i].ncidrs; j++)
			if (cidr_contains(&c->entries[i].cidrs[j], addr))
				return &c->entries[i];
	return NULL;
}

static bool any_path(char **paths, size_t n, const char *endpoint)
{
	for (size_t i = 0; i < n; i++)
		if (glob_match(paths[i], endpoint, '/', false))
			return true;
	return false;
}

/* Made once per request, not once per pattern: every request to a host
 * outside the catalog is checked against every entry's paths. */
bool catalog_llm_path(const struct catalog *c, const char *path, bool *batch)
{
	char endpoint[PATH_MATCH_MAX];

	if (!endpoint_path(path, endpoint))
		return false;
	for (size_t i = 0; i < c->count; i++) {
		const struct endpoint *e = &c->entries[i];

		if (any_path(e->batch_paths, e->nbatch_paths, endpoint)) {
			*batch = true;
			return true;
		}
		if (any_path(e->paths, e->npaths, endpoint)) {
			*batch = false;
			return true;
		}
	}
	return false;
}

int cidr_parse(const char *text, struct cidr *out)
{
	const char *slash = strchr(text, '/');
	char addr[INET6_ADDRSTRLEN];
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	char *end;
	long prefix;
	bool v4;

	if (!slash || alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	v4 = inet_pton(AF_INET, addr, out->addr + 12) == 1;
	if (v4) {
		out->addr[10] = out->addr[11] = 0xff;
	} else if (inet_pton(AF_INET6, addr, out->addr) != 1) {
		return -EINVAL;
	}
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || prefix < 0 || prefix > (v4 ? 32 : 128))
		return -EINVAL;
	out->prefix = v4 ? 96 + prefix : prefix;
	return 0;
}

bool cidr_contains(const struct cidr *c, const uint8_t addr[16])
{
	unsigned int full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, full))
		return false;
	if (rest) {
		uint8_t mask = 0xff << (8 - rest);

		return (c->addr[full] & mask) == (addr[full] & mask);
	}
	return true;
}

static void print_list(FILE *out, const char *label, char **v, size_t n)
{
	if (!n)
		return;
	fprintf(out, "  %-12s", label);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", v[i]);
	fputc('\n', out);
}

void catalog_print(const struct catalog *c, FILE *out)
{
	for (size_t i = 0; i < c->count; i++) {
		const struct endpoint *e = &c->entries[i];
		char text[INET6_ADDRSTRLEN];

		fprintf(out, "%s%s%s\n", e->provider, e->router ? " (router)" : "",
			e->from_config ? " (config)" : "");
		print_list(out, "hosts", e->hosts, e->nhosts);
		print_list(out, "paths", e->paths, e->npaths);
		print_list(out, "batch_paths", e->batch_paths, e->nbatch_paths);
		if (e->ncidrs) {
			fprintf(out, "  %-12s", "cidrs");
			for (size_t j = 0; j < e->ncidrs; j++) {
				const struct cidr *r = &e->cidrs[j];
				bool v4 = r->prefix >= 96 && r->addr[10] == 0xff && r->addr[11] == 0xff &&
					  !memcmp(r->addr, (uint8_t[10]){ 0 }, 10);

				inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? r->addr + 12 : r->addr, text,
					  sizeof(text));
				fprintf(out, "%s%s/%u", j ? ", " : "", text, v4 ? r->prefix - 96 : r->prefix);
			}
			fputc('\n', out);
		}
	}
}

struct interned {
	struct ht_node node;
	char name[];
};

const char *provider_intern(const char *provider)
{
	static struct hashtab pool;
	struct ht_node *n;
	struct interned *i;
	size_t len;

	if (!provider)
		return NULL;
	len = strlen(provider);
	if (!pool.buckets && ht_init(&pool))
		return NULL;
	n = ht_find(&pool, provider, len);
	if (n)
		return container_of(n, struct interned, node)->name;
	i = malloc(sizeof(*i) + len + 1);
	if (!i)
		return NULL;
	memcpy(i->name, provider, len + 1);
	i->node.key = i->name;
	i->node.key_len = len;
	ht_insert(&pool, &i->node);
	return i->name;
}
