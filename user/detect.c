// SPDX-License-Identifier: GPL-2.0
/* Detection rules over sliding windows. Each entity (a process, a workload, the
 * host) keeps a ring of per-interval buckets that covers the window, and the
 * rules read window sums from it once per interval. All rings share one length
 * and one head, so that time moves by the same step for every entity. */
#include "detect.h"
#include "classify.h"
#include "seen_set.h"
#include "units.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define RING_MAX 4096
/* Providers one bucket, and one window, tell apart: a workload spread wider
 * than that is far past any multi-provider threshold already. */
#define BUCKET_PROVIDERS_MAX 16
#define WINDOW_PROVIDERS_MAX 64
/* Fingerprints and pids an entity remembers; more are not counted. */
#define SEEN_MAX 4096
/* The workloads a host-level alert names, biggest first. */
#define HOST_WORKLOADS_MAX 8
#define WORKLOAD_NAME_MAX 512
/* An executable path and a cgroup path, each at most PATH_MAX. */
#define WORKLOAD_KEY_MAX 8194
#define RATE_PERIOD_S 60.0

/* llm_sustained_automation describes the shape of machine traffic, not a volume
 * an operator tunes, so its constants are fixed. Fewer than 12 sub-intervals say
 * nothing about pace. A person pauses in more than 1 of 10 of them, and a
 * person's bursts make the per-interval figures vary by more than half their
 * mean, where a paced loop stays near its mean. A tenth of the warning volume
 * (critical: half, and every interval busy) keeps slow pollers, such as a health
 * check, from firing. */
#define SUSTAINED_MIN_BUCKETS 12
#define SUSTAINED_ACTIVE_FRACTION 0.9
#define SUSTAINED_MAX_CV 0.5
#define SUSTAINED_WARNING_SHARE 10.0
#define SUSTAINED_CRITICAL_SHARE 2.0
/* llm_batch_harvest: one batch job already carries thousands of requests. */
#define BATCH_WARNING 1
#define BATCH_CRITICAL 10
/* llm_router: a mebibyte of answers through a router is more than a probe. */
#define ROUTER_RX_WARNING (1ull << 20)
/* llm_multi_provider: a main provider and a fallback are ordinary. */
#define PROVIDERS_WARNING 3
#define PROVIDERS_CRITICAL 5

enum rule {
	RULE_OUTPUT_VOLUME,
	RULE_REQUEST_RATE,
	RULE_CONCURRENCY,
	RULE_KEY_ROTATION,
	RULE_SUSTAINED_AUTOMATION,
	RULE_BATCH_HARVEST,
	RULE_ROUTER,
	RULE_MULTI_PROVIDER,
	RULE_COUNT
};

enum severity { SEVERITY_WARNING, SEVERITY_CRITICAL, SEVERITY_COUNT };

static const char *const severity_names[SEVERITY_COUNT] = { "warning", "critical" };

/* Alert state bits, per entity, rule and severity. */
#define STATE_FIRING 1
#define STATE_HELD_BACK 2 /* its firing line was held back, so its resolution is too */

struct provider_share {
	const char *provider; /* stable for the program's life */
	uint64_t rx_bytes;
	bool counted; /* a provider of its own: not a router, not uncatalogued */
};

struct bucket {
	uint64_t rx_bytes, tx_bytes, requests, output_tokens, batch_requests;
	uint64_t routed_rx_bytes, routed_requests; /* through routers and uncatalogued hosts */
	uint32_t connections;
	bool plaintext;
	unsigned int nproviders;
	struct provider_share providers[BUCKET_PROVIDERS_MAX];
	/* The remote host that sent the most in this interval. */
	const char *host_provider;
	uint64_t host_rx_bytes;
	char host[EW_HOST_MAX];
};

struct entity {
	struct ht_node node;
	enum detect_level level;
	uint32_t pid, uid;         /* of the latest row */
	char comm[EW_COMM_LEN];    /* of the latest row */
	char *exe, *cgroup;        /* NULL when unknown, and at host level */
	struct bucket *ring;
	uint64_t last_active_tick;
	struct hashtab keys, orgs; /* seen sets of fingerprints */
	struct hashtab pids;       /* seen set of pids, at workload and host levels */
	uint8_t state[RULE_COUNT][SEVERITY_COUNT];
	size_t key_len;
	unsigned char key[];       /* the pid; the program and cgroup; nothing for the host */
};

struct rule_budget {
	double emitted_at[ALERTS_PER_RULE_MINUTE]; /* a ring of the latest firing lines */
	unsigned int next;
};

struct detector {
	struct detect_config cfg;
	double interval_s, window_s;
	char hostname[256];
	unsigned int nbuckets, head;
	uint64_t tick; /* intervals since the start */
	bool began;
	double now, wall;
	struct hashtab entities[LEVEL_HOST + 1];
	struct rule_budget budget[RULE_COUNT];
	uint64_t emitted[RULE_COUNT][SEVERITY_COUNT];
	uint64_t suppressed[RULE_COUNT][SEVERITY_COUNT];
	/* A host-level alert's workloads, valid during its callback. */
	char workload_names[HOST_WORKLOADS_MAX][WORKLOAD_NAME_MAX];
	const char *workloads[HOST_WORKLOADS_MAX + 1];
};

/* What the rules read: an entity's buckets summed over the window. */
struct window {
	uint64_t rx_bytes, tx_bytes, requests, output_tokens, batch_requests;
	uint64_t routed_rx_bytes, routed_requests;
	uint32_t connections_now, connections_max;
	bool plaintext;
	double active_fraction; /* of intervals with requests (bytes received without plaintext) */
	double pace_cv2;        /* squared coefficient of variation of those per-interval figures */
	uint64_t pace_total;
	unsigned int providers; /* distinct, routers and uncatalogued hosts apart */
	const char *provider, *host;
	uint64_t keys, orgs;
	uint32_t processes;
};

/* A rule's figure against one threshold. reach is value / threshold, or for a
 * rule of several conditions the least of their ratios: the rule holds from 1
 * and lets go below RESOLVE_RATIO. */
struct measure {
	double value, threshold, reach;
	bool tokens; /* llm_output_volume counted output tokens, not bytes */
};

/* An alert sentence being written: appends never overflow, they truncate. */
struct text {
	char *buf;
	size_t size, len;
};

struct rule_def {
	const char *name;
	bool per_process;
	void (*measure)(const struct detector *d, const struct window *w, enum severity s,
			struct measure *m);
	/* The sentence's verb phrase; dest names where the traffic went. */
	void (*describe)(struct text *t, const struct detector *d, const struct window *w,
			 const struct measure *m, const char *dest);
};

/* One entity's evaluation: what its rules read, and where its alerts go. */
struct evaluation {
	struct detector *d;
	struct entity *e;
	struct window w;
	alert_fn emit;
	void *ctx;
};

__attribute__((format(printf, 2, 3)))
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = t->len + n < t->size ? t->len + n : t->size - 1;
}

static double least(double a, double b)
{
	return a < b ? a : b;
}

/* ---- Buckets ---- */

static unsigned int shares_add(struct provider_share *shares, unsigned int n, unsigned int max,
			       const struct provider_share *add)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!strcmp(shares[i].provider, add->provider)) {
			shares[i].rx_bytes += add->rx_bytes;
			return n;
		}
	}
	if (n == max)
		return n;
	shares[n] = *add;
	return n + 1;
}

static void bucket_add_host(struct bucket *b, const char *host, const char *provider,
			    uint64_t rx_bytes)
{
	if (!host[0])
		return;
	if (!strcmp(b->host, host)) {
		b->host_rx_bytes += rx_bytes;
		return;
	}
	if (b->host[0] && rx_bytes <= b->host_rx_bytes)
		return;
	snprintf(b->host, sizeof(b->host), "%s", host);
	b->host_provider = provider;
	b->host_rx_bytes = rx_bytes;
}

static void bucket_add(struct bucket *b, const struct row *r, const char *provider, bool routed)
{
	struct provider_share share = { provider, r->rx_bytes, !routed };

	b->rx_bytes += r->rx_bytes;
	b->tx_bytes += r->tx_bytes;
	b->requests += r->requests;
	b->output_tokens += r->output_tokens;
	b->batch_requests += r->batch_requests;
	b->connections += r->connections;
	b->plaintext |= r->plaintext;
	if (routed) {
		b->routed_rx_bytes += r->rx_bytes;
		b->routed_requests += r->requests;
	}
	b->nproviders = shares_add(b->providers, b->nproviders, BUCKET_PROVIDERS_MAX, &share);
	bucket_add_host(b, r->cls.host, provider, r->rx_bytes);
}

/* ---- Entities ---- */

static void entity_free(struct entity *e)
{
	seen_free(&e->keys);
	seen_free(&e->orgs);
	seen_free(&e->pids);
	free(e->ring);
	free(e->exe);
	free(e->cgroup);
	free(e);
}

static struct entity *entity_new(const struct detector *d, enum detect_level level,
				 const void *key, size_t key_len, const struct row *r)
{
	struct entity *e = calloc(1, sizeof(*e) + key_len);

	if (!e)
		return NULL;
	e->ring = calloc(d->nbuckets, sizeof(*e->ring));
	if (!e->ring) {
		free(e);
		return NULL;
	}
	e->level = level;
	memcpy(e->key, key, key_len);
	e->key_len = key_len;
	e->node.key = e->key;
	e->node.key_len = key_len;
	if (level != LEVEL_HOST) {
		/* Out of memory, a path is reported as unknown. */
		e->exe = r->exe ? strdup(r->exe) : NULL;
		e->cgroup = r->cgroup ? strdup(r->cgroup) : NULL;
	}
	return e;
}

/* The entity of that key, made on first use; NULL when out of memory. */
static struct entity *entity_get(struct detector *d, enum detect_level level, const void *key,
				 size_t key_len, const struct row *r)
{
	struct ht_node *n = ht_find(&d->entities[level], key, key_len);
	struct entity *e;

	if (n)
		return container_of(n, struct entity, node);
	e = entity_new(d, level, key, key_len, r);
	if (e)
		ht_insert(&d->entities[level], &e->node);
	return e;
}

static bool entity_firing(const struct entity *e)
{
	for (int r = 0; r < RULE_COUNT; r++)
		for (int s = 0; s < SEVERITY_COUNT; s++)
			if (e->state[r][s] & STATE_FIRING)
				return true;
	return false;
}

static bool entity_active(const struct detector *d, const struct entity *e)
{
	return d->tick - e->last_active_tick < d->nbuckets;
}

static const char *entity_program(const struct entity *e)
{
	return e->exe ? e->exe : e->comm;
}

static void entity_add(struct detector *d, struct entity *e, const struct row *r,
		       const char *provider, bool routed)
{
	double since = d->now - d->window_s;

	if (!e)
		return; /* out of memory: this level misses the row */
	e->pid = r->pid;
	e->uid = r->uid;
	memcpy(e->comm, r->comm, sizeof(e->comm));
	e->comm[sizeof(e->comm) - 1] = '\0';
	bucket_add(&e->ring[d->head], r, provider, routed);
	e->last_active_tick = d->tick;
	seen_merge(&e->keys, &r->keys, since, SEEN_MAX);
	seen_merge(&e->orgs, &r->orgs, since, SEEN_MAX);
	if (e->level != LEVEL_PROCESS)
		seen_note(&e->pids, &r->pid, sizeof(r->pid), d->now, SEEN_MAX);
}

/* ---- Time and ring geometry ---- */

static unsigned int ring_length(double window_s, double interval_s)
{
	double n = window_s / interval_s + 0.5;

	if (n < 1)
		return 1;
	return n > RING_MAX ? RING_MAX : (unsigned int)n;
}

/* A late or stalled loop ages the window by the time that passed, so that a
 * pause does not stretch the window. */
static unsigned int intervals_since(const struct detector *d, double now)
{
	double steps = (now - d->now) / d->interval_s + 0.5;

	if (!d->began || steps < 1)
		return 1;
	return steps > d->nbuckets ? d->nbuckets : (unsigned int)steps;
}

static void advance(struct detector *d, unsigned int steps)
{
	struct ht_iter it;
	struct ht_node *n;
	struct entity *e;

	for (int level = 0; level <= LEVEL_HOST; level++) {
		ht_iter_init(&it, &d->entities[level]);
		while ((n = ht_iter_next(&it))) {
			e = container_of(n, struct entity, node);
			for (unsigned int s = 1; s <= steps; s++)
				memset(&e->ring[(d->head + s) % d->nbuckets], 0, sizeof(*e->ring));
		}
	}
	d->head = (d->head + steps) % d->nbuckets;
	d->tick += steps;
}

static size_t entity_count(const struct detector *d)
{
	return d->entities[LEVEL_PROCESS].count + d->entities[LEVEL_WORKLOAD].count +
	       d->entities[LEVEL_HOST].count;
}

static struct entity **entity_list(const struct detector *d)
{
	struct entity **list = calloc(entity_count(d) + 1, sizeof(*list));
	struct ht_iter it;
	struct ht_node *n;
	size_t i = 0;

	if (!list)
		return NULL;
	for (int level = 0; level <= LEVEL_HOST; level++) {
		ht_iter_init(&it, &d->entities[level]);
		while ((n = ht_iter_next(&it)))
			list[i++] = container_of(n, struct entity, node);
	}
	return list;
}

/* The newest buckets that fit, the newest at index 0 (the new head). */
static void ring_copy(struct bucket *to, unsigned int to_len, const struct bucket *from,
		      unsigned int from_len, unsigned int from_head)
{
	unsigned int keep = to_len < from_len ? to_len : from_len;

	for (unsigned int age = 0; age < keep; age++)
		to[(to_len - age) % to_len] = from[(from_head + from_len - age) % from_len];
}

/* Gives every ring len buckets: all or none, as the rings share one length. */
static int resize_rings(struct detector *d, unsigned int len)
{
	size_t count = entity_count(d), made = 0;
	struct entity **list = entity_list(d);
	struct bucket **rings = calloc(count + 1, sizeof(*rings));

	if (!list || !rings)
		goto fail;
	for (; made < count; made++)
		if (!(rings[made] = calloc(len, sizeof(**rings))))
			goto fail;
	for (size_t i = 0; i < count; i++) {
		ring_copy(rings[i], len, list[i]->ring, d->nbuckets, d->head);
		free(list[i]->ring);
		list[i]->ring = rings[i];
	}
	d->head = 0;
	d->nbuckets = len;
	d->window_s = len * d->interval_s;
	free(rings);
	free(list);
	return 0;
fail:
	while (made)
		free(rings[--made]);
	free(rings);
	free(list);
	return -ENOMEM;
}

/* ---- Window summaries ---- */

static void window_add(struct window *w, const struct bucket *b)
{
	w->rx_bytes += b->rx_bytes;
	w->tx_bytes += b->tx_bytes;
	w->requests += b->requests;
	w->output_tokens += b->output_tokens;
	w->batch_requests += b->batch_requests;
	w->routed_rx_bytes += b->routed_rx_bytes;
	w->routed_requests += b->routed_requests;
	w->connections_max = MAX(w->connections_max, b->connections);
	w->plaintext |= b->plaintext;
}

static double pace_of(const struct bucket *b, bool plaintext)
{
	return plaintext ? b->requests : b->rx_bytes;
}

/* How steadily the window was busy: the share of intervals with requests (bytes
 * received, where no plaintext is seen), and how much the intervals varied. */
static void measure_pace(const struct detector *d, const struct entity *e, struct window *w)
{
	double n = d->nbuckets, mean, variance = 0;
	unsigned int active = 0;

	w->pace_total = w->plaintext ? w->requests : w->rx_bytes;
	mean = w->pace_total / n;
	for (unsigned int i = 0; i < d->nbuckets; i++) {
		double x = pace_of(&e->ring[i], w->plaintext);

		active += x > 0;
		variance += (x - mean) * (x - mean);
	}
	variance /= n;
	w->active_fraction = active / n;
	w->pace_cv2 = mean > 0 ? variance / (mean * mean) : 0;
}

/* The provider that sent the most, and its host that sent the most in one interval. */
static void find_dominant(const struct detector *d, const struct entity *e, struct window *w)
{
	struct provider_share shares[WINDOW_PROVIDERS_MAX];
	const struct bucket *top = NULL, *b;
	unsigned int n = 0, best = 0;

	for (unsigned int i = 0; i < d->nbuckets; i++) {
		b = &e->ring[i];
		for (unsigned int j = 0; j < b->nproviders; j++)
			n = shares_add(shares, n, WINDOW_PROVIDERS_MAX, &b->providers[j]);
	}
	for (unsigned int i = 0; i < n; i++) {
		w->providers += shares[i].counted;
		if (shares[i].rx_bytes > shares[best].rx_bytes)
			best = i;
	}
	if (!n)
		return;
	w->provider = shares[best].provider;
	for (unsigned int i = 0; i < d->nbuckets; i++) {
		b = &e->ring[i];
		if (b->host[0] && !strcmp(b->host_provider, w->provider) &&
		    (!top || b->host_rx_bytes > top->host_rx_bytes))
			top = b;
	}
	w->host = top ? top->host : NULL;
}

static void summarize(const struct detector *d, const struct entity *e, struct window *w)
{
	memset(w, 0, sizeof(*w));
	for (unsigned int i = 0; i < d->nbuckets; i++)
		window_add(w, &e->ring[i]);
	w->connections_now = e->ring[d->head].connections;
	w->keys = e->keys.count;
	w->orgs = e->orgs.count;
	w->processes = e->pids.count;
	measure_pace(d, e, w);
	find_dominant(d, e, w);
}

/* ---- Rules: measures ---- */

static double threshold_of(const struct threshold *t, enum severity s)
{
	return s == SEVERITY_WARNING ? t->warning : t->critical;
}

static void measure_against(struct measure *m, double value, double threshold)
{
	m->value = value;
	m->threshold = threshold;
	m->reach = value / threshold;
}

static void measure_volume(const struct detector *d, const struct window *w, enum severity s,
			   struct measure *m)
{
	struct measure tokens = { .tokens = true };

	measure_against(m, w->rx_bytes, threshold_of(&d->cfg.rx_bytes, s));
	if (!w->plaintext)
		return;
	measure_against(&tokens, w->output_tokens, threshold_of(&d->cfg.output_tokens, s));
	/* Tokens say more precisely what was harvested: they win when both hold. */
	if (tokens.reach >= 1 || tokens.reach > m->reach)
		*m = tokens;
}

static void measure_requests(const struct detector *d, const struct window *w, enum severity s,
			     struct measure *m)
{
	/* Requests are counted in plaintext only: without it the rule cannot fire. */
	if (w->plaintext)
		measure_against(m, w->requests, threshold_of(&d->cfg.requests, s));
}

static void measure_concurrency(const struct detector *d, const struct window *w,
				enum severity s, struct measure *m)
{
	measure_against(m, w->connections_now, threshold_of(&d->cfg.connections, s));
}

static void measure_keys(const struct detector *d, const struct window *w, enum severity s,
			 struct measure *m)
{
	measure_against(m, MAX(w->keys, w->orgs), threshold_of(&d->cfg.api_keys, s));
}

static void measure_sustained(const struct detector *d, const struct window *w, enum severity s,
			      struct measure *m)
{
	bool critical = s == SEVERITY_CRITICAL;
	double busy = critical ? 1.0 : SUSTAINED_ACTIVE_FRACTION;
	double warning = w->plaintext ? d->cfg.requests.warning : d->cfg.rx_bytes.warning;
	double volume = warning / (critical ? SUSTAINED_CRITICAL_SHARE : SUSTAINED_WARNING_SHARE);
	/* Compared squared: the variance is what we have. */
	double cv2_max = SUSTAINED_MAX_CV * SUSTAINED_MAX_CV;
	double regularity = w->pace_cv2 > 0 ? cv2_max / w->pace_cv2 : INFINITY;

	m->value = w->active_fraction;
	m->threshold = busy;
	if (d->nbuckets < SUSTAINED_MIN_BUCKETS)
		return;
	m->reach = least(least(w->active_fraction / busy, regularity), w->pace_total / volume);
}

static void measure_batch(const struct detector *d, const struct window *w, enum severity s,
			  struct measure *m)
{
	measure_against(m, w->batch_requests,
			s == SEVERITY_WARNING ? BATCH_WARNING : BATCH_CRITICAL);
}

static void measure_router(const struct detector *d, const struct window *w, enum severity s,
			   struct measure *m)
{
	struct measure requests = { 0 };

	if (s == SEVERITY_CRITICAL) {
		measure_against(m, w->routed_rx_bytes, d->cfg.rx_bytes.warning);
		return;
	}
	measure_against(m, w->routed_rx_bytes, ROUTER_RX_WARNING);
	measure_against(&requests, w->routed_requests, 1);
	if (requests.reach >= m->reach)
		*m = requests;
}

static void measure_providers(const struct detector *d, const struct window *w, enum severity s,
			      struct measure *m)
{
	measure_against(m, w->providers,
			s == SEVERITY_WARNING ? PROVIDERS_WARNING : PROVIDERS_CRITICAL);
}

/* ---- Rules: sentences ---- */

static void describe_volume(struct text *t, const struct detector *d, const struct window *w,
			    const struct measure *m, const char *dest)
{
	char size[32];

	if (m->tokens) {
		text_add(t, "received %" PRIu64 " output tokens from %s in %g s", w->output_tokens,
			 dest, d->window_s);
		return;
	}
	format_bytes(w->rx_bytes, size, sizeof(size));
	text_add(t, "received %s from %s in %g s", size, dest, d->window_s);
}

static void describe_requests(struct text *t, const struct detector *d, const struct window *w,
			      const struct measure *m, const char *dest)
{
	text_add(t, "made %" PRIu64 " requests to %s in %g s", w->requests, dest, d->window_s);
}

static void describe_concurrency(struct text *t, const struct detector *d,
				 const struct window *w, const struct measure *m, const char *dest)
{
	text_add(t, "held %" PRIu32 " connections open to %s at once (window %g s)",
		 w->connections_now, dest, d->window_s);
}

static void describe_keys(struct text *t, const struct detector *d, const struct window *w,
			  const struct measure *m, const char *dest)
{
	if (w->orgs > w->keys)
		text_add(t, "got answers for %" PRIu64 " distinct organizations from %s in %g s",
			 w->orgs, dest, d->window_s);
	else
		text_add(t, "used %" PRIu64 " distinct API keys with %s in %g s", w->keys, dest,
			 d->window_s);
}

static void describe_sustained(struct text *t, const struct detector *d, const struct window *w,
			       const struct measure *m, const char *dest)
{
	text_add(t, "%s %s in %.0f%% of its %g s intervals over %g s",
		 w->plaintext ? "sent requests to" : "received data from", dest,
		 w->active_fraction * 100, d->interval_s, d->window_s);
}

static void describe_batch(struct text *t, const struct detector *d, const struct window *w,
			   const struct measure *m, const char *dest)
{
	text_add(t, "submitted or fetched %" PRIu64 " batch jobs at %s in %g s", w->batch_requests,
		 dest, d->window_s);
}

static void describe_router(struct text *t, const struct detector *d, const struct window *w,
			    const struct measure *m, const char *dest)
{
	char size[32];

	format_bytes(w->routed_rx_bytes, size, sizeof(size));
	if (w->plaintext)
		text_add(t, "sent %" PRIu64 " requests and ", w->routed_requests);
	text_add(t, "received %s through LLM routers or uncatalogued LLM endpoints in %g s", size,
		 d->window_s);
}

static void describe_providers(struct text *t, const struct detector *d, const struct window *w,
			       const struct measure *m, const char *dest)
{
	text_add(t, "used %u LLM providers in %g s", w->providers, d->window_s);
	if (w->provider)
		text_add(t, ", most traffic to %s", w->provider);
}

static const struct rule_def rules[RULE_COUNT] = {
	[RULE_OUTPUT_VOLUME] = { "llm_output_volume", true, measure_volume, describe_volume },
	[RULE_REQUEST_RATE] = { "llm_request_rate", true, measure_requests, describe_requests },
	[RULE_CONCURRENCY] = { "llm_concurrency", true, measure_concurrency, describe_concurrency },
	[RULE_KEY_ROTATION] = { "llm_key_rotation", true, measure_keys, describe_keys },
	[RULE_SUSTAINED_AUTOMATION] = { "llm_sustained_automation", true, measure_sustained,
					describe_sustained },
	[RULE_BATCH_HARVEST] = { "llm_batch_harvest", true, measure_batch, describe_batch },
	[RULE_ROUTER] = { "llm_router", true, measure_router, describe_router },
	/* One process talking to several providers is a client library's fallback. */
	[RULE_MULTI_PROVIDER] = { "llm_multi_provider", false, measure_providers,
				  describe_providers },
};

static void describe_subject(struct text *t, const struct detector *d, const struct entity *e,
			     const struct window *w)
{
	switch (e->level) {
	case LEVEL_PROCESS:
		text_add(t, "%s (pid %" PRIu32 ", uid %" PRIu32 "%s%s)", e->comm, e->pid, e->uid,
			 e->cgroup ? ", " : "", e->cgroup ? e->cgroup : "");
		break;
	case LEVEL_WORKLOAD:
		text_add(t, "workload %s%s%s (%" PRIu32 " process%s)", entity_program(e),
			 e->cgroup ? " in " : "", e->cgroup ? e->cgroup : "", w->processes,
			 w->processes == 1 ? "" : "es");
		break;
	case LEVEL_HOST:
		text_add(t, "this host (%s)", d->hostname);
		break;
	}
}

static void destination(char *buf, size_t size, const struct entity *e, const struct window *w)
{
	if (e->level == LEVEL_HOST || !w->provider)
		snprintf(buf, size, "LLM endpoints");
	else if (w->host)
		snprintf(buf, size, "%s (%s)", w->host, w->provider);
	else
		snprintf(buf, size, "%s", w->provider);
}

/* Process names, paths and host names come from other parties: no control
 * character may break the alert line. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void describe_workloads(struct text *t, const char *const *workloads)
{
	for (size_t i = 0; workloads[i]; i++)
		text_add(t, "%s%s", i ? ", " : ", by ", workloads[i]);
}

static void describe(struct text *t, const struct evaluation *ev, enum rule r, enum severity s,
		     const struct measure *m, bool firing)
{
	char dest[EW_HOST_MAX + 64];

	destination(dest, sizeof(dest), ev->e, &ev->w);
	describe_subject(t, ev->d, ev->e, &ev->w);
	if (!firing)
		text_add(t, " is no longer over the %s threshold:", severity_names[s]);
	else if (ev->e->level == LEVEL_HOST)
		text_add(t, " may be harvesting model outputs:");
	text_add(t, " ");
	rules[r].describe(t, ev->d, &ev->w, m, dest);
	if (ev->e->level == LEVEL_HOST)
		describe_workloads(t, ev->d->workloads);
	sanitize(t->buf);
}

/* ---- Alerts ---- */

static uint64_t window_rx(const struct detector *d, const struct entity *e)
{
	uint64_t rx = 0;

	for (unsigned int i = 0; i < d->nbuckets; i++)
		rx += e->ring[i].rx_bytes;
	return rx;
}

/* Inserts e into top (n long, at most HOST_WORKLOADS_MAX), biggest first. */
static unsigned int rank_insert(const struct entity **top, uint64_t *top_rx, unsigned int n,
				const struct entity *e, uint64_t rx)
{
	unsigned int i = n < HOST_WORKLOADS_MAX ? n : HOST_WORKLOADS_MAX - 1;

	if (n == HOST_WORKLOADS_MAX && rx <= top_rx[i])
		return n;
	for (; i > 0 && top_rx[i - 1] < rx; i--) {
		top[i] = top[i - 1];
		top_rx[i] = top_rx[i - 1];
	}
	top[i] = e;
	top_rx[i] = rx;
	return n < HOST_WORKLOADS_MAX ? n + 1 : n;
}

/* A host-level alert's workloads: the active ones that received the most. */
static void name_workloads(struct detector *d)
{
	const struct entity *top[HOST_WORKLOADS_MAX];
	uint64_t top_rx[HOST_WORKLOADS_MAX];
	unsigned int n = 0;
	const struct entity *e;
	struct ht_iter it;
	struct ht_node *node;

	ht_iter_init(&it, &d->entities[LEVEL_WORKLOAD]);
	while ((node = ht_iter_next(&it))) {
		e = container_of(node, struct entity, node);
		if (entity_active(d, e))
			n = rank_insert(top, top_rx, n, e, window_rx(d, e));
	}
	for (unsigned int i = 0; i < n; i++) {
		if (top[i]->cgroup)
			snprintf(d->workload_names[i], WORKLOAD_NAME_MAX, "%s (%s)",
				 entity_program(top[i]), top[i]->cgroup);
		else
			snprintf(d->workload_names[i], WORKLOAD_NAME_MAX, "%s",
				 entity_program(top[i]));
		d->workloads[i] = d->workload_names[i];
	}
	d->workloads[n] = NULL;
}

static void send_alert(struct evaluation *ev, enum rule r, enum severity s,
		       const struct measure *m, bool firing)
{
	const struct entity *e = ev->e;
	const struct window *w = &ev->w;
	struct alert a = {
		.rule = rules[r].name,
		.severity = severity_names[s],
		.state = firing ? "firing" : "resolved",
		.level = e->level,
		.wall_time = ev->d->wall,
		.provider = w->provider,
		.host = w->host,
		.window_s = ev->d->window_s,
		.rx_bytes = w->rx_bytes,
		.tx_bytes = w->tx_bytes,
		/* Requests, tokens and keys are counted from plaintext only. */
		.has_requests = w->plaintext,
		.has_output_tokens = w->plaintext,
		.has_api_keys = w->plaintext,
		.requests = w->requests,
		.output_tokens = w->output_tokens,
		.api_keys = MAX(w->keys, w->orgs),
		.connections_max = w->connections_max,
		.value = m->value,
		.threshold = m->threshold,
	};
	struct text t = { a.output, sizeof(a.output), 0 };

	if (e->level == LEVEL_PROCESS) {
		a.has_pid = a.has_uid = true;
		a.pid = e->pid;
		a.uid = e->uid;
	} else {
		a.processes = w->processes;
	}
	if (e->level == LEVEL_HOST) {
		name_workloads(ev->d);
		a.workloads = ev->d->workloads;
	} else {
		a.comm = e->comm;
		a.exe = e->exe;
		a.cgroup = e->cgroup;
	}
	describe(&t, ev, r, s, m, firing);
	if (ev->emit)
		ev->emit(ev->ctx, &a);
}

/* Whether another firing line fits in the rule's rolling minute; takes it if so. */
static bool budget_take(struct rule_budget *b, double now)
{
	if (now - b->emitted_at[b->next] < RATE_PERIOD_S)
		return false;
	b->emitted_at[b->next] = now;
	b->next = (b->next + 1) % ALERTS_PER_RULE_MINUTE;
	return true;
}

static void transition(struct evaluation *ev, enum rule r, enum severity s,
		       const struct measure *m)
{
	struct detector *d = ev->d;
	uint8_t *state = &ev->e->state[r][s];
	bool held_back = *state & STATE_HELD_BACK;

	if (!(*state & STATE_FIRING) && m->reach >= 1) {
		*state = STATE_FIRING;
		if (!budget_take(&d->budget[r], d->now)) {
			*state |= STATE_HELD_BACK;
			d->suppressed[r][s]++;
			return;
		}
		d->emitted[r][s]++;
		send_alert(ev, r, s, m, true);
	} else if ((*state & STATE_FIRING) && m->reach < RESOLVE_RATIO) {
		*state = 0;
		if (!held_back)
			send_alert(ev, r, s, m, false);
	}
}

static void evaluate(struct detector *d, struct entity *e, alert_fn emit, void *ctx)
{
	struct evaluation ev = { .d = d, .e = e, .emit = emit, .ctx = ctx };
	double since = d->now - d->window_s;

	seen_prune(&e->keys, since);
	seen_prune(&e->orgs, since);
	seen_prune(&e->pids, since);
	summarize(d, e, &ev.w);
	for (int r = 0; r < RULE_COUNT; r++) {
		if (e->level == LEVEL_PROCESS && !rules[r].per_process)
			continue;
		for (int s = 0; s < SEVERITY_COUNT; s++) {
			struct measure m = { 0 };

			rules[r].measure(d, &ev.w, s, &m);
			transition(&ev, r, s, &m);
		}
	}
}

static void expire_idle(struct detector *d, enum detect_level level)
{
	struct ht_iter it;
	struct ht_node *n;
	struct entity *e;

	ht_iter_init(&it, &d->entities[level]);
	while ((n = ht_iter_next(&it))) {
		e = container_of(n, struct entity, node);
		if (entity_active(d, e) || entity_firing(e))
			continue;
		ht_remove(&d->entities[level], n);
		entity_free(e);
	}
}

/* ---- The interface ---- */

struct detector *detector_new(const struct detect_config *cfg, double interval_s,
			      const char *hostname)
{
	struct detector *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	for (int level = 0; level <= LEVEL_HOST; level++) {
		if (ht_init(&d->entities[level])) {
			detector_free(d);
			return NULL;
		}
	}
	for (int r = 0; r < RULE_COUNT; r++)
		for (int i = 0; i < ALERTS_PER_RULE_MINUTE; i++)
			d->budget[r].emitted_at[i] = -INFINITY;
	snprintf(d->hostname, sizeof(d->hostname), "%s", hostname);
	d->cfg = *cfg;
	d->interval_s = interval_s;
	d->nbuckets = ring_length(cfg->window_s, interval_s);
	d->window_s = d->nbuckets * interval_s;
	return d;
}

void detector_free(struct detector *d)
{
	struct ht_iter it;
	struct ht_node *n;

	if (!d)
		return;
	for (int level = 0; level <= LEVEL_HOST; level++) {
		ht_iter_init(&it, &d->entities[level]);
		while ((n = ht_iter_next(&it)))
			entity_free(container_of(n, struct entity, node));
		ht_free(&d->entities[level]);
	}
	free(d);
}

void detector_configure(struct detector *d, const struct detect_config *cfg)
{
	unsigned int len = ring_length(cfg->window_s, d->interval_s);

	d->cfg = *cfg;
	/* Out of memory, the old window stays: the new thresholds still apply. */
	if (len != d->nbuckets)
		resize_rings(d, len);
}

void detector_begin(struct detector *d, double now, double wall)
{
	advance(d, intervals_since(d, now));
	d->began = true;
	d->now = now;
	d->wall = wall;
}

static size_t workload_key(const struct row *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%c%s", r->exe ? r->exe : r->comm, '\0',
			 r->cgroup ? r->cgroup : "");

	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

static bool row_active(const struct row *r)
{
	return r->rx_bytes || r->tx_bytes || r->requests || r->output_tokens ||
	       r->batch_requests || r->connections;
}

void detector_add(struct detector *d, const struct row *r, const char *provider, bool router,
		  bool uncatalogued)
{
	char key[WORKLOAD_KEY_MAX];
	bool routed = router || uncatalogued;

	/* An idle row adds nothing, and would keep an entity alive for a window. */
	if (!provider || !row_active(r))
		return;
	entity_add(d, entity_get(d, LEVEL_PROCESS, &r->pid, sizeof(r->pid), r), r, provider,
		   routed);
	entity_add(d, entity_get(d, LEVEL_WORKLOAD, key, workload_key(r, key, sizeof(key)), r),
		   r, provider, routed);
	entity_add(d, entity_get(d, LEVEL_HOST, "", 0, r), r, provider, routed);
}

void detector_end(struct detector *d, alert_fn emit, void *ctx)
{
	struct ht_iter it;
	struct ht_node *n;

	/* Aggregates first: when the rate limit holds lines back, the lines about the
	 * host and the workloads are the ones to keep. */
	for (int level = LEVEL_HOST; level >= LEVEL_PROCESS; level--) {
		ht_iter_init(&it, &d->entities[level]);
		while ((n = ht_iter_next(&it)))
			evaluate(d, container_of(n, struct entity, node), emit, ctx);
	}
	for (int level = 0; level <= LEVEL_HOST; level++)
		expire_idle(d, level);
}

static void entity_each_active(const struct entity *e,
			       void (*fn)(void *ctx, const struct active_alert *a), void *ctx)
{
	struct active_alert a = {
		.comm = e->level == LEVEL_HOST ? NULL : e->comm,
		.cgroup = e->cgroup,
		.level = e->level,
		.pid = e->level == LEVEL_PROCESS ? e->pid : 0,
	};

	for (int r = 0; r < RULE_COUNT; r++) {
		for (int s = 0; s < SEVERITY_COUNT; s++) {
			if (!(e->state[r][s] & STATE_FIRING))
				continue;
			a.rule = rules[r].name;
			a.severity = severity_names[s];
			fn(ctx, &a);
		}
	}
}

void detector_each_active(const struct detector *d,
			  void (*fn)(void *ctx, const struct active_alert *a), void *ctx)
{
	struct ht_iter it;
	struct ht_node *n;

	for (int level = 0; level <= LEVEL_HOST; level++) {
		ht_iter_init(&it, &d->entities[level]);
		while ((n = ht_iter_next(&it)))
			entity_each_active(container_of(n, struct entity, node), fn, ctx);
	}
}

bool detector_pid_alerting(const struct detector *d, uint32_t pid)
{
	struct ht_node *n = ht_find(&d->entities[LEVEL_PROCESS], &pid, sizeof(pid));

	return n && entity_firing(container_of(n, struct entity, node));
}

void detector_each_count(const struct detector *d,
			 void (*fn)(void *ctx, const char *rule, const char *severity,
				    uint64_t emitted, uint64_t suppressed),
			 void *ctx)
{
	for (int r = 0; r < RULE_COUNT; r++)
		for (int s = 0; s < SEVERITY_COUNT; s++)
			fn(ctx, rules[r].name, severity_names[s], d->emitted[r][s],
			   d->suppressed[r][s]);
}

void detector_evaluate(struct detector *d, struct row *const *rows, int nrows, double now,
		       double wall, alert_fn emit, void *ctx)
{
	detector_begin(d, now, wall);
	for (int i = 0; i < nrows; i++) {
		const struct classification *c = &rows[i]->cls;

		if (c->provider)
			detector_add(d, rows[i], c->provider, c->router,
				     !strcmp(c->provider, PROVIDER_UNCATALOGUED));
	}
	detector_end(d, emit, ctx);
}
