// SPDX-License-Identifier: GPL-2.0
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "detect.h"

#define LABEL_MAX 256
#define OTHER "other"
/* Series tracked one by one (folded or not); past this, new ones go straight
 * to their provider's "other" series. */
#define SERIES_TRACKED_MAX 100000

struct counters {
	uint64_t tx, rx, requests, input_tokens, output_tokens, opened;
};

struct series {
	struct ht_node node;
	char key[4 * LABEL_MAX];
	char provider[LABEL_MAX], host[LABEL_MAX], comm[LABEL_MAX], cgroup[LABEL_MAX];
	struct counters c;
	bool folded;     /* counted in its provider's other series from now on */
	bool other;      /* is an other series */
	uint32_t active; /* open connections now (set at format time) */
};

int exporter_init(struct exporter *e, unsigned int max_series)
{
	memset(e, 0, sizeof(*e));
	e->max_series = max_series ? max_series : 1;
	return ht_init(&e->series) ? -ENOMEM : 0;
}

void exporter_free(struct exporter *e)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, &e->series);
	while ((n = ht_iter_next(&it))) {
		ht_remove(&e->series, n);
		free(container_of(n, struct series, node));
	}
	ht_free(&e->series);
}

static struct series *series_get(struct exporter *e, const char *provider, const char *host,
				 const char *comm, const char *cgroup, bool other)
{
	char key[4 * LABEL_MAX];
	int len = snprintf(key, sizeof(key), "%s%c%s%c%s%c%s", provider, 0, host, 0, comm, 0, cgroup);
	struct ht_node *n;
	struct series *s;

	if (len >= (int)sizeof(key))
		len = sizeof(key) - 1;
	n = ht_find(&e->series, key, len);
	if (n)
		return container_of(n, struct series, node);
	if (!other && e->series.count >= SERIES_TRACKED_MAX)
		return series_get(e, provider, OTHER, OTHER, OTHER, true);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->key, key, len);
	s->node.key = s->key;
	s->node.key_len = len;
	snprintf(s->provider, LABEL_MAX, "%s", provider);
	snprintf(s->host, LABEL_MAX, "%s", host);
	snprintf(s->comm, LABEL_MAX, "%s", comm);
	snprintf(s->cgroup, LABEL_MAX, "%s", cgroup);
	s->other = other;
	ht_insert(&e->series, &s->node);
	if (!other)
		e->explicit_count++;
	return s;
}

static void add_counters(struct counters *to, const struct counters *c)
{
	to->tx += c->tx;
	to->rx += c->rx;
	to->requests += c->requests;
	to->input_tokens += c->input_tokens;
	to->output_tokens += c->output_tokens;
	to->opened += c->opened;
}

static struct series *series_of_row(struct exporter *e, const struct row *r)
{
	struct series *s = series_get(e, r->cls.provider, r->cls.host, r->comm,
				      r->cgroup ? r->cgroup : "", false);

	/* A folded series adds to its provider's other series, never back to
	 * its own: a counter must not go down. */
	if (s && s->folded)
		s = series_get(e, s->provider, OTHER, OTHER, OTHER, true);
	return s;
}

void exporter_add(struct exporter *e, struct row *const *rows, int nrows)
{
	for (int i = 0; i < nrows; i++) {
		const struct row *r = rows[i];
		struct counters c = { r->tx_bytes, r->rx_bytes, r->requests, r->input_tokens,
				      r->output_tokens, r->connections_opened };
		struct series *s;

		if (!r->cls.provider)
			continue;
		s = series_of_row(e, r);
		if (s)
			add_counters(&s->c, &c);
	}
}

static int by_rx(const void *a, const void *b)
{
	const struct series *x = *(struct series *const *)a, *y = *(struct series *const *)b;

	return x->c.rx < y->c.rx ? -1 : x->c.rx > y->c.rx;
}

/* Folds the smallest explicit series until at most max_series are left. */
static void fold(struct exporter *e)
{
	struct series **v;
	struct ht_iter it;
	struct ht_node *n;
	size_t count = 0;

	if (e->explicit_count <= e->max_series)
		return;
	v = malloc(e->series.count * sizeof(*v));
	if (!v)
		return;
	ht_iter_init(&it, &e->series);
	while ((n = ht_iter_next(&it))) {
		struct series *s = container_of(n, struct series, node);

		if (!s->other && !s->folded)
			v[count++] = s;
	}
	qsort(v, count, sizeof(*v), by_rx);
	for (size_t i = 0; i < count && e->explicit_count > e->max_series; i++) {
		struct series *o = series_get(e, v[i]->provider, OTHER, OTHER, OTHER, true);

		if (!o)
			break;
		add_counters(&o->c, &v[i]->c);
		v[i]->folded = true;
		e->explicit_count--;
	}
	free(v);
}

void escape_label(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void series_labels(FILE *out, const struct series *s)
{
	char p[2 * LABEL_MAX], h[2 * LABEL_MAX], c[2 * LABEL_MAX], g[2 * LABEL_MAX];

	escape_label(s->provider, p, sizeof(p));
	escape_label(s->host, h, sizeof(h));
	escape_label(s->comm, c, sizeof(c));
	escape_label(s->cgroup, g, sizeof(g));
	fprintf(out, "{provider=\"%s\",host=\"%s\",comm=\"%s\",cgroup=\"%s\"}", p, h, c, g);
}

static const struct {
	const char *name, *type, *help;
	size_t offset; /* in struct counters; SIZE_MAX: the active gauge */
} llm_families[] = {
	{ "egresswatch_llm_tx_bytes_total", "counter",
	  "Transport payload bytes sent to LLM API endpoints.", offsetof(struct counters, tx) },
	{ "egresswatch_llm_rx_bytes_total", "counter",
	  "Transport payload bytes received from LLM API endpoints.", offsetof(struct counters, rx) },
	{ "egresswatch_llm_requests_total", "counter",
	  "Requests to LLM API endpoints seen in TLS plaintext.", offsetof(struct counters, requests) },
	{ "egresswatch_llm_input_tokens_total", "counter",
	  "Input tokens reported by LLM API responses.", offsetof(struct counters, input_tokens) },
	{ "egresswatch_llm_output_tokens_total", "counter",
	  "Output tokens reported by LLM API responses.", offsetof(struct counters, output_tokens) },
	{ "egresswatch_llm_connections_opened_total", "counter",
	  "Connections (sockets, or UDP socket and peer) opened to LLM API endpoints.",
	  offsetof(struct counters, opened) },
	{ "egresswatch_llm_active_connections", "gauge",
	  "Connections to LLM API endpoints open now.", SIZE_MAX },
};

struct alert_line_ctx {
	FILE *out;
	struct hashtab seen; /* one line per label set */
};

struct seen_labels {
	struct ht_node node;
	char key[4 * LABEL_MAX];
};

static void active_line(void *ctx, const struct active_alert *a)
{
	struct alert_line_ctx *c = ctx;
	char comm[2 * LABEL_MAX], cg[2 * LABEL_MAX];
	struct seen_labels *s = calloc(1, sizeof(*s));
	int len;

	if (!s)
		return;
	escape_label(a->comm ? a->comm : "", comm, sizeof(comm));
	escape_label(a->cgroup ? a->cgroup : "", cg, sizeof(cg));
	len = snprintf(s->key, sizeof(s->key), "{rule=\"%s\",severity=\"%s\",comm=\"%s\",cgroup=\"%s\"}",
		       a->rule, a->severity, comm, cg);
	if (len >= (int)sizeof(s->key))
		len = sizeof(s->key) - 1;
	s->node.key = s->key;
	s->node.key_len = len;
	if (ht_find(&c->seen, s->key, len)) {
		free(s);
		return;
	}
	ht_insert(&c->seen, &s->node);
	fprintf(c->out, "egresswatch_alert_active%s 1\n", s->key);
}

static void count_line(void *ctx, const char *rule, const char *severity, uint64_t emitted,
		       uint64_t suppressed)
{
	FILE *out = ctx;

	fprintf(out, "egresswatch_alerts_total{rule=\"%s\",severity=\"%s\"} %llu\n", rule, severity,
		(unsigned long long)emitted);
}

static void suppressed_line(void *ctx, const char *rule, const char *severity, uint64_t emitted,
			    uint64_t suppressed)
{
	FILE *out = ctx;

	fprintf(out, "egresswatch_alerts_suppressed_total{rule=\"%s\",severity=\"%s\"} %llu\n", rule,
		severity, (unsigned long long)suppressed);
}

static void alert_families(FILE *out, const struct detector *d)
{
	struct alert_line_ctx c = { out };
	struct ht_iter it;
	struct ht_node *n;

	family(out, "egresswatch_alert_active", "gauge",
	       "1 while a detection rule is firing for a process, workload or the host.");
	if (d && !ht_init(&c.seen)) {
		detector_each_active(d, active_line, &c);
		ht_iter_init(&it, &c.seen);
		while ((n = ht_iter_next(&it))) {
			ht_remove(&c.seen, n);
			free(container_of(n, struct seen_labels, node));
		}
		ht_free(&c.seen);
	}
	family(out, "egresswatch_alerts_total", "counter", "Firing alerts emitted.");
	if (d)
		detector_each_count(d, count_line, out);
	family(out, "egresswatch_alerts_suppressed_total", "counter",
	       "Firing alerts held back by the per-rule rate limit.");
	if (d)
		detector_each_count(d, suppressed_line, out);
}

static void self_families(FILE *out, const struct self_metrics *m)
{
	family(out, "egresswatch_events_lost_total", "counter",
	       "Kernel events and sockets egresswatch could not account, by source.");
	for (size_t i = 0; m->lost_sources && m->lost_sources[i]; i++)
		fprintf(out, "egresswatch_events_lost_total{source=\"%s\"} %llu\n", m->lost_sources[i],
			(unsigned long long)m->lost[i]);
	family(out, "egresswatch_unaccounted_bytes_total", "counter",
	       "Payload bytes of tracked sockets not counted because the flow map was full.");
	fprintf(out, "egresswatch_unaccounted_bytes_total %llu\n",
		(unsigned long long)m->bytes_unaccounted);
	family(out, "egresswatch_flows", "gauge", "Flows followed now.");
	fprintf(out, "egresswatch_flows %llu\n", (unsigned long long)m->flows);
	family(out, "egresswatch_flows_max", "gauge", "Entries of the kernel flow map.");
	fprintf(out, "egresswatch_flows_max %llu\n", (unsigned long long)m->flows_max);
	family(out, "egresswatch_tls_libraries", "gauge", "TLS libraries with uprobes attached.");
	fprintf(out, "egresswatch_tls_libraries %llu\n", (unsigned long long)m->tls_libraries);
	family(out, "egresswatch_build_info", "gauge", "egresswatch's version; always 1.");
	fprintf(out, "egresswatch_build_info{version=\"%s\"} 1\n", m->version);
	family(out, "egresswatch_last_update_timestamp_seconds", "gauge",
	       "When egresswatch last wrote this file, in seconds since the epoch.");
	fprintf(out, "egresswatch_last_update_timestamp_seconds %.3f\n", m->wall_time);
}

int exporter_format(struct exporter *e, FILE *out, struct row *const *rows, int nrows,
		    const struct detector *d, const struct self_metrics *self)
{
	struct ht_iter it;
	struct ht_node *n;

	fold(e);
	/* open connections are a gauge of now: counted afresh each time */
	ht_iter_init(&it, &e->series);
	while ((n = ht_iter_next(&it)))
		container_of(n, struct series, node)->active = 0;
	for (int i = 0; i < nrows; i++) {
		struct series *s;

		if (rows[i]->cls.provider && (s = series_of_row(e, rows[i])))
			s->active += rows[i]->connections;
	}
	for (size_t f = 0; f < sizeof(llm_families) / sizeof(llm_families[0]); f++) {
		family(out, llm_families[f].name, llm_families[f].type, llm_families[f].help);
		ht_iter_init(&it, &e->series);
		while ((n = ht_iter_next(&it))) {
			struct series *s = container_of(n, struct series, node);
			uint64_t v = llm_families[f].offset == SIZE_MAX
					     ? s->active
					     : *(uint64_t *)((char *)&s->c + llm_families[f].offset);

			if (s->folded)
				continue;
			fputs(llm_families[f].name, out);
			series_labels(out, s);
			fprintf(out, " %llu\n", (unsigned long long)v);
		}
	}
	alert_families(out, d);
	self_families(out, self);
	return ferror(out) ? -1 : 0;
}

int exporter_write(struct exporter *e, const char *dir, struct row *const *rows, int nrows,
		   const struct detector *d, const struct self_metrics *self)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	FILE *out;
	int fd, err = 0;

	/* node_exporter reads only *.prom: the temporary name is never read */
	snprintf(tmp, sizeof(tmp), "%s/.egresswatch.prom.tmp", dir);
	snprintf(final, sizeof(final), "%s/egresswatch.prom", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0644); /* whatever the umask: node_exporter reads it */
	out = fdopen(fd, "w");
	if (!out) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	if (exporter_format(e, out, rows, nrows, d, self) || fflush(out) || fsync(fd))
		err = errno ? -errno : -EIO;
	if (fclose(out) && !err)
		err = -errno;
	if (!err && rename(tmp, final))
		err = -errno;
	if (err) {
		unlink(tmp);
		e->write_failures++;
	}
	return err;
}
