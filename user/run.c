// SPDX-License-Identifier: GPL-2.0
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "alerts.h"
#include "detect.h"
#include "monitor.h"
#include "privileges.h"
#include "textfile.h"

struct daemon {
	struct config *cfg;         /* the configuration in force */
	const char *config_path;
	char hostname[256];
	struct monitor monitor;
	struct detector *detector;
	struct exporter exporter;
	struct alert_sink alerts;
	bool alerts_on;
	int lock_fd;
	bool textfile_failing;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: egresswatch run [--textfile-dir DIR] [--alerts PATH|-|syslog] "
		     "[--interval SEC]\n");
}

static int parse(int argc, char **argv, struct config *cfg)
{
	static const struct option longopts[] = {
		{ "textfile-dir", required_argument, NULL, 't' },
		{ "alerts", required_argument, NULL, 'a' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (optarg[0] != '/') {
				fprintf(stderr, "egresswatch run: --textfile-dir takes an absolute path, "
						"not '%s'\n", optarg);
				return 2;
			}
			config_set_string(&cfg->textfile_dir, optarg);
			break;
		case 'a':
			if (strcmp(optarg, "-") && strcmp(optarg, "syslog") && optarg[0] != '/') {
				fprintf(stderr, "egresswatch run: --alerts takes an absolute path, \"-\" or "
						"\"syslog\", not '%s'\n", optarg);
				return 2;
			}
			config_set_string(&cfg->alerts, optarg);
			break;
		case 'i':
			errno = 0;
			cfg->interval_s = strtod(optarg, &end);
			if (errno || *end || !(cfg->interval_s >= 0.1 && cfg->interval_s <= 3600)) {
				fprintf(stderr, "egresswatch run: --interval takes seconds from 0.1 to 3600, "
						"not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "egresswatch run: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!cfg->textfile_dir && !cfg->alerts) {
		fprintf(stderr, "egresswatch run: nothing to do: give --textfile-dir or --alerts "
				"(or textfile_dir/alerts in the configuration)\n");
		return 2;
	}
	return 0;
}

/* One writer per textfile: a second instance would interleave its counters. */
static int lock_textfile_dir(struct daemon *d)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/.egresswatch.lock", d->cfg->textfile_dir);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		fprintf(stderr, "egresswatch run: cannot use the textfile directory %s: %s\n",
			d->cfg->textfile_dir, strerror(errno));
		return -1;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "egresswatch run: another egresswatch is already writing %s/egresswatch.prom "
				"(lock %s held)\n", d->cfg->textfile_dir, path);
		return -1;
	}
	return 0;
}

static const char *const lost_sources[] = {
	"flow_map_full", "owner_storage_full", "release_event_lost", "owner_event_lost",
	"sample_lost", "tls_event_lost", "tls_calls_untracked", "preexisting_uninspected", NULL,
};

static void write_textfile(struct daemon *d, const struct report *r)
{
	uint64_t lost[] = {
		r->stats[EW_STAT_FLOW_MAP_FULL], r->stats[EW_STAT_OWNER_STORAGE_FULL],
		r->stats[EW_STAT_RELEASE_LOST], r->stats[EW_STAT_OWNER_EVENT_LOST],
		r->stats[EW_STAT_SAMPLE_LOST], r->tls_stats[EW_TLS_STAT_LOST],
		r->tls_stats[EW_TLS_STAT_CALLS_FULL], r->preexisting_failed,
	};
	struct self_metrics self = {
		.version = EW_VERSION,
		.wall_time = r->time,
		.lost_sources = lost_sources,
		.lost = lost,
		.bytes_unaccounted = r->stats[EW_STAT_BYTES_UNACCOUNTED],
		.flows = d->monitor.acct.flows.count,
		.flows_max = d->cfg->max_flows,
	};
	int err;

	if (d->monitor.tls_on)
		self.tls_libraries = d->monitor.tls.libraries;
	err = exporter_write(&d->exporter, d->cfg->textfile_dir, r->rows, r->nrows, d->detector, &self);
	if (err && !d->textfile_failing)
		fprintf(stderr, "egresswatch: cannot write %s/egresswatch.prom: %s (the previous file "
				"stays; will retry)\n", d->cfg->textfile_dir, strerror(-err));
	else if (!err && d->textfile_failing)
		fprintf(stderr, "egresswatch: writing %s/egresswatch.prom again\n", d->cfg->textfile_dir);
	d->textfile_failing = err != 0;
}

static void notice_restart_only(const struct config *old, const struct config *fresh)
{
	if (old->interval_s != fresh->interval_s || old->payload != fresh->payload ||
	    old->payload_capture != fresh->payload_capture ||
	    old->tls_socket_link != fresh->tls_socket_link || old->max_flows != fresh->max_flows ||
	    old->tcp_from_socket != fresh->tcp_from_socket ||
	    strcmp(old->textfile_dir ? old->textfile_dir : "", fresh->textfile_dir ? fresh->textfile_dir : ""))
		fprintf(stderr, "egresswatch: interval, payload, payload_capture, tls_socket_link, max_flows, "
				"tcp_counters and textfile_dir take effect "
				"at the next start\n");
}

/* SIGHUP: the configuration is read again; a bad one is refused and the one
 * in force stays. The alert file is reopened either way (log rotation). */
static void reload(struct daemon *d)
{
	struct config *fresh = malloc(sizeof(*fresh));
	char err[512];

	monitor_reload = 0;
	if (d->alerts_on)
		alert_sink_reopen(&d->alerts);
	if (!d->config_path || !fresh) {
		free(fresh);
		return;
	}
	if (config_init(fresh) || config_load(fresh, d->config_path, err, sizeof(err))) {
		fprintf(stderr, "egresswatch: reload refused, the running configuration stays: %s\n", err);
		config_free(fresh);
		free(fresh);
		return;
	}
	notice_restart_only(d->cfg, fresh);
	/* kept from the running configuration: what needs a restart */
	fresh->interval_s = d->cfg->interval_s;
	fresh->payload = d->cfg->payload;
	fresh->payload_capture = d->cfg->payload_capture;
	fresh->tls_socket_link = d->cfg->tls_socket_link;
	fresh->max_flows = d->cfg->max_flows;
	fresh->tcp_from_socket = d->cfg->tcp_from_socket;
	config_set_string(&fresh->textfile_dir, d->cfg->textfile_dir);
	if (!fresh->alerts && d->cfg->alerts)
		config_set_string(&fresh->alerts, d->cfg->alerts); /* given on the command line */
	if (d->alerts_on && fresh->alerts && strcmp(fresh->alerts, d->alerts.dest)) {
		alert_sink_close(&d->alerts);
		if (alert_sink_open(&d->alerts, fresh->alerts, d->hostname))
			fprintf(stderr, "egresswatch: cannot open %s for alerts: %s (will retry)\n",
				fresh->alerts, strerror(errno));
	}
	detector_configure(d->detector, &fresh->detect);
	monitor_set_catalog(&d->monitor, &fresh->catalog);
	config_free(d->cfg);
	*d->cfg = *fresh; /* the caller's struct now holds the new configuration */
	free(fresh);
	monitor_set_catalog(&d->monitor, &d->cfg->catalog);
	fprintf(stderr, "egresswatch: configuration reloaded from %s\n", d->config_path);
}

static int loop(struct daemon *d)
{
	double next = monotonic_now() + d->cfg->interval_s;

	while (!monitor_exiting) {
		struct report r;
		int err;

		monitor_wait(&d->monitor, next);
		if (monitor_exiting)
			break;
		if (monitor_reload) {
			reload(d);
			continue;
		}
		next += d->cfg->interval_s;
		err = monitor_refresh(&d->monitor, SORT_RX, false, &r);
		if (err) {
			fprintf(stderr, "egresswatch: cannot read the flows map: %s\n", strerror(-err));
			return 1;
		}
		detector_evaluate(d->detector, r.rows, r.nrows, monotonic_now(), r.time,
				  d->alerts_on ? alert_sink_emit : NULL, &d->alerts);
		exporter_add(&d->exporter, r.rows, r.nrows);
		if (d->cfg->textfile_dir)
			write_textfile(d, &r);
		monitor_report_done(&d->monitor, &r);
	}
	return 0;
}

int run_main(int argc, char **argv, struct config *cfg, const char *config_path)
{
	struct daemon d = { .cfg = cfg, .config_path = config_path, .lock_fd = -1 };
	struct monitor_opts mo;
	int status = parse(argc, argv, cfg);

	if (status)
		return status < 0 ? 0 : status;
	if (require_bpf_privileges("run"))
		return 1;
	if (gethostname(d.hostname, sizeof(d.hostname) - 1))
		strcpy(d.hostname, "unknown");
	if (cfg->textfile_dir && lock_textfile_dir(&d))
		goto out;
	if (cfg->alerts) {
		if (alert_sink_open(&d.alerts, cfg->alerts, d.hostname) && d.alerts.dest)
			fprintf(stderr, "egresswatch: cannot open %s for alerts: %s (will retry)\n",
				cfg->alerts, strerror(errno));
		d.alerts_on = d.alerts.dest != NULL;
	}
	d.detector = detector_new(&cfg->detect, cfg->interval_s, d.hostname);
	if (!d.detector || exporter_init(&d.exporter, cfg->max_series)) {
		fprintf(stderr, "egresswatch: out of memory\n");
		goto out;
	}
	monitor_handle_signals();
	monitor_handle_reload();
	mo = (struct monitor_opts){ .catalog = &cfg->catalog, .max_flows = cfg->max_flows,
				    .grace_s = 10 > cfg->interval_s * 3 ? 10 : cfg->interval_s * 3,
				    .payload = cfg->payload, .payload_capture = cfg->payload_capture,
				    .tls_socket_link = cfg->tls_socket_link,
				    .tcp_from_socket = cfg->tcp_from_socket };
	if (monitor_start(&d.monitor, &mo)) {
		monitor_stop(&d.monitor);
		goto out;
	}
	fprintf(stderr, "egresswatch %s: watching every %.3g s%s%s%s%s; TLS plaintext %s; TCP bytes from %s\n",
		EW_VERSION, cfg->interval_s, cfg->textfile_dir ? ", textfile " : "",
		cfg->textfile_dir ? cfg->textfile_dir : "", d.alerts_on ? ", alerts to " : "",
		d.alerts_on ? cfg->alerts : "", cfg->payload ? "on" : "off",
		d.monitor.loader.tcp_from_socket ? "the sockets' counters" : "each packet");
	status = loop(&d);
	monitor_stop(&d.monitor);
	goto done;
out:
	status = 1;
done:
	if (d.detector)
		detector_free(d.detector);
	if (d.exporter.series.buckets)
		exporter_free(&d.exporter);
	if (d.alerts_on)
		alert_sink_close(&d.alerts);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	return status;
}
