// SPDX-License-Identifier: GPL-2.0
#include "monitor.h"
#include "privileges.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t monitor_exiting;
volatile sig_atomic_t monitor_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		monitor_reload = 1;
	else
		monitor_exiting = 1;
}

void monitor_handle_reload(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

void monitor_set_catalog(struct monitor *m, const struct catalog *catalog)
{
	m->opts.catalog = catalog;
	m->classifier.catalog = catalog;
}

void monitor_handle_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static double clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double monotonic_now(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}

double wall_now(void)
{
	return clock_seconds(CLOCK_REALTIME);
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct ew_sample *s = data;
	struct monitor *m = ctx;
	double now = m->events_now;

	if (size < sizeof(__u32))
		return 0;
	switch (s->type) {
	case EW_EV_SAMPLE_CLIENT:
	case EW_EV_SAMPLE_DNS:
		if (size < offsetof(struct ew_sample, data) || size < offsetof(struct ew_sample, data) + s->len)
			return 0;
		if (s->type == EW_EV_SAMPLE_CLIENT)
			names_client_sample(&m->names, s, now);
		else
			names_dns_sample(&m->names, s, now);
		return 0;
	default:
		if (size < sizeof(struct ew_event))
			return 0;
		accountant_event(&m->acct, data, now);
		/* A process's first outbound socket, or a new program: its TLS
		 * libraries are looked for before it can send plaintext. */
		if (m->tls_on && s->type == EW_EV_NEW_OWNER)
			tls_probes_scan_process(&m->tls, ((struct ew_event *)data)->flow.owner.tgid, true);
		else if (m->tls_on && s->type == EW_EV_EXEC)
			tls_probes_scan_process(&m->tls, ((struct ew_event *)data)->flow.owner.tgid, false);
		return 0;
	}
}

static int on_tls_event(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;

	tls_streams_event(&m->streams, data, size);
	return 0;
}

/* ---- TLS plaintext into rows ---- */

static bool plaintext_wanted(void *ctx, const struct exchange *x)
{
	struct monitor *m = ctx;
	bool batch;

	return (x->authority[0] && catalog_match_host(m->opts.catalog, x->authority)) ||
	       catalog_llm_path(m->opts.catalog, x->path, &batch);
}

/* The row of a request: its socket's, where the call was tied to a socket of
 * the same process whose name (SNI, DNS, CIDR) is an LLM endpoint's;
 * otherwise the row of its process and Host or :authority (a name only the
 * plaintext gives, as behind a fronting CDN or a proxy, or a socket not
 * tied). */
static struct row *plaintext_row(struct monitor *m, const struct tls_peer *who,
				 const struct exchange *x)
{
	struct ew_owner owner = { .tgid = who->tgid, .uid = who->uid };
	struct classification cls;
	struct identity id;
	double now = m->events_now;
	struct row *r = NULL;

	if (who->sock.cookie)
		r = accountant_flow_row(&m->acct, loader_flows_fd(&m->loader), &who->sock, now);
	/* a socket inherited or passed on is its creator's: not this row's */
	if (r && r->cls.provider && r->pid == who->tgid)
		return r;
	r = rows_find(&m->rows, who->tgid, x->authority);
	if (r)
		return r;
	memcpy(owner.comm, who->comm, sizeof(owner.comm));
	classify_name(m->opts.catalog, x->authority[0] ? x->authority : "unknown", "http", x->path,
		      &cls);
	accountant_identity(&m->acct, &owner, &id, now);
	return rows_get(&m->rows, &id, &cls, now);
}

static void plaintext_request(void *ctx, const struct tls_peer *who, const struct exchange *x)
{
	struct monitor *m = ctx;
	struct row *r = plaintext_row(m, who, x);
	bool batch = false;

	catalog_llm_path(m->opts.catalog, x->path, &batch);
	if (r)
		rows_add_request(r, x->has_key ? &x->key : NULL, batch, m->events_now);
}

static void plaintext_response(void *ctx, const struct tls_peer *who, struct exchange *x)
{
	struct monitor *m = ctx;
	struct row *r = plaintext_row(m, who, x);
	struct usage u = exchange_usage(x);

	if (r)
		rows_add_response(r, &u, x->has_org ? &x->org : NULL, m->events_now);
}

static int start_tls(struct monitor *m)
{
	struct plaintext_sink sink = {
		plaintext_wanted, plaintext_request, plaintext_response, m,
	};
	struct tls_kernel_maps maps;
	int err;

	if (fingerprint_init()) {
		fprintf(stderr, "egresswatch: cannot seed the key fingerprints\n");
		return -EINVAL;
	}
	err = tls_probes_start(&m->tls, m->opts.payload_capture, m->opts.tls_socket_link, m->loader.rb,
			       on_tls_event, m);
	if (err)
		return err;
	maps = tls_probes_maps(&m->tls);
	err = tls_streams_init(&m->streams, &sink, &maps);
	if (err)
		return err;
	m->tls_on = true;
	tls_probes_scan_system(&m->tls);
	return 0;
}

/* How long kernel events may wait for user space: they are sent without a
 * wakeup (see lazy_wakeup in the BPF programs). */
#define POLL_S 0.1

/* Expired names and the TLS streams of exited processes are looked for this
 * often: a walk of every entry each refresh costs more than they hold. */
#define PRUNE_EVERY_S 10.0

/* Flow names not claimed by a flow within this long are dropped. */
#define NAME_UNCLAIMED_MAX_S 60
#define DNS_TABLE_MAX 65536

int monitor_start(struct monitor *m, const struct monitor_opts *opts)
{
	struct loader_opts lo = {
		.max_flows = opts->max_flows,
		.exec_events = opts->payload,
		.tcp_from_socket = opts->tcp_from_socket,
		.on_event = on_event,
		.event_ctx = m,
	};
	struct flow_namer namer;
	int err;

	memset(m, 0, sizeof(*m));
	m->opts = *opts;
	m->loader.cgroup_fd = -1;
	m->classifier.catalog = opts->catalog;
	m->classifier.names = &m->names;
	namer = classifier_namer(&m->classifier);
	if (rows_init(&m->rows) || names_init(&m->names, DNS_TABLE_MAX) ||
	    accountant_init(&m->acct, &m->rows, &namer)) {
		fprintf(stderr, "egresswatch: out of memory\n");
		return -ENOMEM;
	}
	err = loader_start(&m->loader, &lo);
	if (err)
		return err;
	if (opts->payload) {
		err = start_tls(m);
		if (err)
			return err;
	}
	err = preexisting_attribute(loader_owners_fd(&m->loader), &m->preexisting);
	if (err)
		fprintf(stderr, "egresswatch: cannot scan /proc for sockets open before start: %s\n",
			strerror(-err));
	err = drop_privileges(m->tls_on);
	if (err) {
		fprintf(stderr, "egresswatch: cannot drop capabilities: %s\n", strerror(-err));
		return err;
	}
	m->last_refresh = m->last_prune = m->events_now = monotonic_now();
	return 0;
}

/* Reads what the kernel queued. Events are at most POLL_S old when read, so
 * one clock read stands for all of them. */
void monitor_consume(struct monitor *m)
{
	m->events_now = monotonic_now();
	ring_buffer__consume(m->loader.rb);
}

void monitor_wait(struct monitor *m, double deadline)
{
	while (!monitor_exiting && !monitor_reload) {
		double left;

		m->events_now = monotonic_now();
		left = deadline - m->events_now;
		if (left <= 0)
			return;
		/* EINTR from a signal ends the wait early; the flag says why.
		 * Most events come without a wakeup: read them every 100 ms. */
		ring_buffer__poll(m->loader.rb, left > POLL_S ? POLL_S * 1000 : (int)(left * 1000) + 1);
		monitor_consume(m);
	}
}

int monitor_refresh(struct monitor *m, enum row_sort by, bool all, struct report *out)
{
	double now = monotonic_now();
	int err, n;

	memset(out, 0, sizeof(*out));
	monitor_consume(m);
	err = loader_refresh(&m->loader);
	if (err && !m->refresh_failing)
		fprintf(stderr, "egresswatch: cannot read TCP's byte counters (%s): open TCP "
				"connections show their bytes when they close\n", strerror(-err));
	m->refresh_failing = err != 0;
	err = accountant_sweep(&m->acct, loader_flows_fd(&m->loader), now);
	if (err)
		return err;
	monitor_consume(m);
	rows_expire(&m->rows, now, m->opts.grace_s);
	if (now - m->last_prune >= PRUNE_EVERY_S) {
		names_prune(&m->names, now, NAME_UNCLAIMED_MAX_S);
		if (m->tls_on)
			tls_streams_prune(&m->streams);
		m->last_prune = now;
	}
	n = rows_sorted(&m->rows, by, all, &out->rows);
	if (n < 0)
		return n;
	out->nrows = n;
	out->time = wall_now();
	out->interval_s = now - m->last_refresh;
	m->last_refresh = now;
	loader_read_stats(&m->loader, out->stats);
	out->preexisting_failed = m->preexisting.failed;
	if (m->tls_on)
		tls_probes_read_stats(&m->tls, out->tls_stats);
	return 0;
}

void monitor_report_done(struct monitor *m, struct report *r)
{
	free(r->rows);
	r->rows = NULL;
	rows_begin_interval(&m->rows);
}

void monitor_stop(struct monitor *m)
{
	if (m->tls_on)
		tls_streams_free(&m->streams);
	tls_probes_stop(&m->tls);
	loader_stop(&m->loader);
	accountant_free(&m->acct);
	names_free(&m->names);
	rows_free(&m->rows);
}
