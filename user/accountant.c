// SPDX-License-Identifier: GPL-2.0
#include "accountant.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "cgroup.h"
#include "procinfo.h"

struct flow_entry {
	struct ht_node node;
	struct ew_flow_key key;
	uint64_t tx_bytes, rx_bytes; /* as of the last read */
	struct row *row;
	double last_change;
	uint32_t seen_pass;
	bool missing; /* not in the map at the last pass */
	bool closed;  /* its close event was read: dropped at the end of the pass */
};

struct cookie_entry {
	struct ht_node node;
	uint64_t cookie;
};

/* Cgroup ids resolved to paths: the walk of the hierarchy is done once per
 * cgroup, not once per flow. */
struct cgroup_entry {
	struct ht_node node;
	uint64_t id;
	char path[];
};

int accountant_init(struct accountant *a, struct row_table *rows, const struct flow_namer *namer)
{
	memset(a, 0, sizeof(*a));
	a->rows = rows;
	a->namer = *namer;
	a->udp_idle_s = 300;
	if (cgroup2_mount(a->cgroup_root, sizeof(a->cgroup_root)))
		a->cgroup_root[0] = '\0';
	if (ht_init(&a->flows))
		return -ENOMEM;
	if (ht_init(&a->released) || ht_init(&a->cgroups) || proccache_init(&a->procs)) {
		accountant_free(a);
		return -ENOMEM;
	}
	return 0;
}

void accountant_free(struct accountant *a)
{
	ht_drain(&a->flows, offsetof(struct flow_entry, node));
	ht_drain(&a->released, offsetof(struct cookie_entry, node));
	ht_drain(&a->cgroups, offsetof(struct cgroup_entry, node));
	ht_free(&a->flows);
	ht_free(&a->released);
	ht_free(&a->cgroups);
	proccache_free(&a->procs);
}

static const char *cgroup_path(struct accountant *a, uint64_t id)
{
	struct ht_node *n = ht_find(&a->cgroups, &id, sizeof(id));
	struct cgroup_entry *c;
	char path[PATH_MAX];

	if (n)
		return container_of(n, struct cgroup_entry, node)->path;
	if (!a->cgroup_root[0] || cgroup_path_by_id(a->cgroup_root, id, path, sizeof(path)))
		return NULL; /* gone already: not cached, the id is never reused */
	c = malloc(sizeof(*c) + strlen(path) + 1);
	if (!c)
		return NULL;
	c->id = id;
	strcpy(c->path, path);
	c->node.key = &c->id;
	c->node.key_len = sizeof(c->id);
	ht_insert(&a->cgroups, &c->node);
	return c->path;
}

void accountant_identity(struct accountant *a, const struct ew_owner *o, struct identity *id,
			 double now)
{
	memset(id, 0, sizeof(*id));
	id->pid = o->tgid;
	id->uid = o->uid;
	memcpy(id->comm, o->comm, EW_COMM_LEN);
	id->comm[EW_COMM_LEN - 1] = '\0';
	id->preexisting = o->flags & EW_OWNER_PREEXISTING;
	id->exe = proccache_exe(&a->procs, o, now);
	id->cgroup = cgroup_path(a, o->cgroup_id);
	if (!o->cgroup_id && !proc_cgroup_path(o->tgid, a->scratch_cgroup, sizeof(a->scratch_cgroup)))
		id->cgroup = a->scratch_cgroup; /* no id known: what /proc says now */
}

/* A flow is made in user space once it carries payload, or its first payload
 * was sampled, and has its name (or at its end): a TCP flow is named by its
 * first payload, which may follow its handshake by a pass. (TCP counted from
 * the socket shows its bytes at the next refresh: the sample says the flow is
 * there, so that TLS plaintext read before then finds its row.) */
static struct flow_entry *flow_new(struct accountant *a, const struct ew_flow_key *key,
				   const struct ew_flow *flow, bool final, double now)
{
	const struct ew_owner *owner = &flow->owner;
	struct classification cls;
	struct flow_entry *f;
	struct identity id;

	if (!final && key->proto == IPPROTO_TCP && !flow->tx_bytes && !flow->rx_bytes &&
	    !flow->samples)
		return NULL;
	if (!a->namer.classify(a->namer.ctx, key, owner->tgid, final, now, &cls))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->row = rows_find(a->rows, owner->tgid, cls.host);
	if (f->row) {
		rows_prefer(f->row, &cls);
	} else {
		accountant_identity(a, owner, &id, now);
		f->row = rows_get(a->rows, &id, &cls, now);
	}
	if (!f->row) {
		free(f);
		return NULL;
	}
	f->key = *key;
	f->node.key = &f->key;
	f->node.key_len = sizeof(f->key);
	f->last_change = now;
	f->seen_pass = a->pass - 1; /* not yet seen in this pass */
	f->row->connections++;
	f->row->connections_opened++;
	f->row->connections_total++;
	ht_insert(&a->flows, &f->node);
	return f;
}

static void flow_drop(struct accountant *a, struct flow_entry *f)
{
	if (a->namer.forget)
		a->namer.forget(a->namer.ctx, &f->key);
	f->row->connections--;
	if (f->seen_pass == a->pass)
		a->seen--;
	if (f->closed)
		a->closing--;
	ht_remove(&a->flows, &f->node);
	free(f);
}

/* Counters only grow while a flow lives; a smaller value means the kernel entry
 * was deleted and made anew, and then all of it is new. */
static uint64_t gained(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

static struct flow_entry *account(struct accountant *a, const struct ew_flow_key *key,
				  const struct ew_flow *flow, bool final, double now)
{
	struct ht_node *n = ht_find(&a->flows, key, sizeof(*key));
	struct flow_entry *f = n ? container_of(n, struct flow_entry, node) : NULL;
	uint64_t tx, rx;

	/* An entry under the key of a flow whose close event was read is the
	 * kernel's next one: the same socket connected again to the same peer
	 * (after connect(AF_UNSPEC)). Its counts start from zero. */
	if (f && f->closed) {
		flow_drop(a, f);
		f = NULL;
	}
	if (!f)
		f = flow_new(a, key, flow, final, now);
	if (!f)
		return NULL;
	tx = gained(flow->tx_bytes, f->tx_bytes);
	rx = gained(flow->rx_bytes, f->rx_bytes);
	if (tx || rx)
		f->last_change = now;
	rows_add_bytes(f->row, tx, rx, now);
	f->tx_bytes = flow->tx_bytes;
	f->rx_bytes = flow->rx_bytes;
	if (f->seen_pass != a->pass) {
		f->seen_pass = a->pass;
		a->seen++;
	}
	f->missing = false;
	return f;
}

/* A close event's counters in the map's layout. */
static struct ew_flow flow_of_final(const struct ew_flow_final *e)
{
	return (struct ew_flow){
		.owner = e->owner,
		.tx_bytes = e->tx_bytes,
		.flags = e->flags,
		.samples = e->samples,
		.rx_bytes = e->rx_bytes,
	};
}

void accountant_event(struct accountant *a, const struct ew_event *ev, double now)
{
	struct cookie_entry *c;
	struct flow_entry *f;
	struct ew_flow final;

	switch (ev->type) {
	case EW_EV_TCP_CLOSED:
		/* Kept to the end of the pass: the TLS plaintext of its last
		 * calls, read after this event, still finds its row. */
		final = flow_of_final(&ev->flow);
		f = account(a, &ev->key, &final, true, now);
		if (f) {
			f->closed = true;
			a->closing++;
		}
		break;
	case EW_EV_NEW_OWNER:
		proccache_learn(&a->procs, &ev->flow.owner, now);
		break;
	case EW_EV_SOCK_RELEASED:
		if (ht_find(&a->released, &ev->key.cookie, sizeof(ev->key.cookie)))
			break;
		c = calloc(1, sizeof(*c));
		if (!c)
			break;
		c->cookie = ev->key.cookie;
		c->node.key = &c->cookie;
		c->node.key_len = sizeof(c->cookie);
		ht_insert(&a->released, &c->node);
		break;
	}
}

bool accountant_flow(struct accountant *a, const struct ew_flow_key *key,
		     const struct ew_flow *flow, double now)
{
	bool released = key->proto == IPPROTO_UDP &&
			ht_find(&a->released, &key->cookie, sizeof(key->cookie));
	bool closed = (flow->flags & EW_FLOW_CLOSED) || released;
	struct flow_entry *f = account(a, key, flow, closed, now);
	bool finished;

	if (!f)
		return false;
	/* A UDP flow counted in its socket ends with the socket: its entry is
	 * where the kernel copies those counts. */
	finished = closed || (key->proto == IPPROTO_UDP && !(flow->flags & EW_FLOW_COUNTED_IN_SOCKET) &&
			      now - f->last_change >= a->udp_idle_s);
	if (finished)
		flow_drop(a, f);
	return finished;
}

struct row *accountant_flow_row(struct accountant *a, int flows_fd, const struct ew_flow_key *key,
				double now)
{
	struct ht_node *n = ht_find(&a->flows, key, sizeof(*key));
	struct flow_entry *f;
	struct ew_flow flow;

	if (n)
		return container_of(n, struct flow_entry, node)->row;
	if (bpf_map_lookup_elem(flows_fd, key, &flow))
		return NULL;
	f = account(a, key, &flow, false, now);
	return f ? f->row : NULL;
}

/* Long enough to outlive a row's grace period: a process's exe is asked for
 * when its rows are made. */
#define PROCESS_CACHE_AGE_S 600

/* A flow missing from the map was closed by the kernel. Its close event was
 * queued right after the delete, so it is read at the start of the next pass:
 * only a flow missing twice is dropped without one. */
static void drop_ended(struct accountant *a)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, &a->flows);
	while ((n = ht_iter_next(&it))) {
		struct flow_entry *f = container_of(n, struct flow_entry, node);

		if (f->closed)
			flow_drop(a, f);
		else if (f->seen_pass == a->pass)
			continue;
		else if (f->missing)
			flow_drop(a, f);
		else
			f->missing = true;
	}
}

void accountant_end_pass(struct accountant *a, double now)
{
	/* With every flow seen and none closed, as in most passes, none is to
	 * be dropped: no walk over them all. */
	if (a->seen < a->flows.count || a->closing)
		drop_ended(a);
	a->seen = 0;
	ht_drain(&a->released, offsetof(struct cookie_entry, node));
	proccache_prune(&a->procs, now, PROCESS_CACHE_AGE_S);
	a->pass++;
}

#define SWEEP_BATCH 1024

int accountant_sweep(struct accountant *a, int flows_fd, double now)
{
	static struct ew_flow_key keys[SWEEP_BATCH];
	static struct ew_flow values[SWEEP_BATCH];
	struct ew_flow_key done[SWEEP_BATCH];
	__u64 batch = 0;
	bool first = true;
	int err = 0;

	for (;;) {
		__u32 count = SWEEP_BATCH, ndone = 0;

		err = bpf_map_lookup_batch(flows_fd, first ? NULL : &batch, &batch, keys, values,
					   &count, NULL);
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		first = false;
		for (__u32 i = 0; i < count; i++)
			if (accountant_flow(a, &keys[i], &values[i], now))
				done[ndone++] = keys[i];
		for (__u32 i = 0; i < ndone; i++)
			bpf_map_delete_elem(flows_fd, &done[i]);
		if (err) { /* ENOENT: that was the last batch */
			err = 0;
			break;
		}
	}
	accountant_end_pass(a, now);
	return err;
}
