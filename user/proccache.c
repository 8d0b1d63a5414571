// SPDX-License-Identifier: GPL-2.0
#include "proccache.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "procinfo.h"

struct proc_entry {
	struct ht_node node;
	uint32_t tgid;
	char comm[EW_COMM_LEN];
	char *exe; /* NULL: not readable */
	double last_used;
};

int proccache_init(struct proc_cache *pc)
{
	return ht_init(&pc->ht);
}

static void entry_free(struct proc_cache *pc, struct proc_entry *e)
{
	ht_remove(&pc->ht, &e->node);
	free(e->exe);
	free(e);
}

void proccache_free(struct proc_cache *pc)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, &pc->ht);
	while ((n = ht_iter_next(&it)))
		entry_free(pc, container_of(n, struct proc_entry, node));
	ht_free(&pc->ht);
}

/* A pid can be reused once its process is gone: /proc is trusted only while
 * the process there still has the comm the kernel recorded. */
static char *read_exe(const struct ew_owner *o)
{
	char comm[EW_COMM_LEN], exe[PATH_MAX];

	if (proc_comm(o->tgid, comm, sizeof(comm)) || strncmp(comm, o->comm, EW_COMM_LEN))
		return NULL;
	if (proc_exe(o->tgid, exe, sizeof(exe)))
		return NULL;
	return strdup(exe);
}

static struct proc_entry *find(struct proc_cache *pc, uint32_t tgid)
{
	struct ht_node *n = ht_find(&pc->ht, &tgid, sizeof(tgid));

	return n ? container_of(n, struct proc_entry, node) : NULL;
}

void proccache_learn(struct proc_cache *pc, const struct ew_owner *o, double now)
{
	struct proc_entry *e = find(pc, o->tgid);

	if (e)
		entry_free(pc, e); /* an exec, or a reused pid: learn it anew */
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->tgid = o->tgid;
	memcpy(e->comm, o->comm, EW_COMM_LEN);
	e->exe = read_exe(o);
	e->last_used = now;
	e->node.key = &e->tgid;
	e->node.key_len = sizeof(e->tgid);
	ht_insert(&pc->ht, &e->node);
}

const char *proccache_exe(struct proc_cache *pc, const struct ew_owner *o, double now)
{
	struct proc_entry *e = find(pc, o->tgid);

	if (!e || memcmp(e->comm, o->comm, EW_COMM_LEN)) {
		proccache_learn(pc, o, now);
		e = find(pc, o->tgid);
		if (!e)
			return NULL;
	}
	e->last_used = now;
	return e->exe;
}

void proccache_prune(struct proc_cache *pc, double now, double max_age)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, &pc->ht);
	while ((n = ht_iter_next(&it))) {
		struct proc_entry *e = container_of(n, struct proc_entry, node);

		if (now - e->last_used >= max_age)
			entry_free(pc, e);
	}
}
