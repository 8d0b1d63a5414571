// SPDX-License-Identifier: GPL-2.0
#include "report.h"

#include <jansson.h>
#include "detect.h"
#include "units.h"
#include <string.h>
#include <time.h>

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *row_json(const struct row *r, const struct detector *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "pid", json_integer(r->pid));
	json_object_set_new(o, "comm", json_string(r->comm));
	json_object_set_new(o, "exe", string_or_null(r->exe));
	json_object_set_new(o, "uid", json_integer(r->uid));
	json_object_set_new(o, "cgroup", string_or_null(r->cgroup));
	json_object_set_new(o, "provider", string_or_null(r->cls.provider));
	json_object_set_new(o, "host", json_string(r->cls.host));
	json_object_set_new(o, "classified_by", json_string(r->cls.by));
	json_object_set_new(o, "tx_bytes", json_integer(r->tx_bytes));
	json_object_set_new(o, "rx_bytes", json_integer(r->rx_bytes));
	json_object_set_new(o, "tx_bytes_total", json_integer(r->tx_bytes_total));
	json_object_set_new(o, "rx_bytes_total", json_integer(r->rx_bytes_total));
	json_object_set_new(o, "connections", json_integer(r->connections));
	json_object_set_new(o, "connections_total", json_integer(r->connections_total));
	/* Plaintext figures: null until TLS plaintext of the row is seen,
	 * never a made-up 0. */
	json_object_set_new(o, "requests_total", r->plaintext ? json_integer(r->requests_total) : json_null());
	json_object_set_new(o, "input_tokens_total",
			    r->plaintext ? json_integer(r->input_tokens_total) : json_null());
	json_object_set_new(o, "output_tokens_total",
			    r->plaintext ? json_integer(r->output_tokens_total) : json_null());
	json_object_set_new(o, "api_keys", r->plaintext ? json_integer(r->keys.count) : json_null());
	json_object_set_new(o, "organizations", r->plaintext ? json_integer(r->orgs.count) : json_null());
	json_object_set_new(o, "preexisting", json_boolean(r->preexisting));
	json_object_set_new(o, "alerting", json_boolean(d && detector_pid_alerting(d, r->pid)));
	return o;
}

static const char *const stat_names[EW_STAT_MAX] = {
	[EW_STAT_FLOW_MAP_FULL] = "flow_map_full",
	[EW_STAT_BYTES_UNACCOUNTED] = "bytes_unaccounted",
	[EW_STAT_OWNER_STORAGE_FULL] = "owner_storage_full",
	[EW_STAT_CLOSE_DEFERRED] = "close_deferred",
	[EW_STAT_RELEASE_LOST] = "release_event_lost",
	[EW_STAT_OWNER_EVENT_LOST] = "owner_event_lost",
	[EW_STAT_SAMPLE_LOST] = "sample_lost",
};

int report_json(FILE *out, const struct report *r)
{
	json_t *root = json_object(), *rows = json_array(), *lost = json_object();
	int err;

	json_object_set_new(root, "time", json_real(r->time));
	json_object_set_new(root, "interval_s", json_real(r->interval_s));
	for (int i = 0; i < r->nrows; i++)
		json_array_append_new(rows, row_json(r->rows[i], r->detector));
	json_object_set_new(root, "rows", rows);
	for (int i = 0; i < EW_STAT_MAX; i++)
		json_object_set_new(lost, stat_names[i], json_integer(r->stats[i]));
	json_object_set_new(lost, "preexisting_sockets_uninspected",
			    json_integer(r->preexisting_failed));
	json_object_set_new(lost, "tls_event_lost", json_integer(r->tls_stats[EW_TLS_STAT_LOST]));
	json_object_set_new(lost, "tls_calls_untracked",
			    json_integer(r->tls_stats[EW_TLS_STAT_CALLS_FULL]));
	json_object_set_new(root, "lost", lost);
	err = json_dumpf(root, out, JSON_COMPACT);
	json_decref(root);
	if (err || fputc('\n', out) == EOF || fflush(out))
		return -1;
	return 0;
}

int report_text(FILE *out, const struct report *r)
{
	char when[32], rx[16], tx[16], rxt[16];
	time_t t = (time_t)r->time;
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
	fprintf(out, "%s  %d rows  (lost: %llu packets, %llu bytes)\n", when, r->nrows,
		(unsigned long long)r->stats[EW_STAT_FLOW_MAP_FULL],
		(unsigned long long)r->stats[EW_STAT_BYTES_UNACCOUNTED]);
	fprintf(out, "%7s %6s %-15s %-12s %-32s %11s %11s %11s %5s\n", "PID", "UID", "COMM",
		"PROVIDER", "HOST", "RX/s", "TX/s", "RX TOTAL", "CONN");
	for (int i = 0; i < r->nrows; i++) {
		const struct row *w = r->rows[i];

		format_bytes(w->rx_bytes / r->interval_s, rx, sizeof(rx));
		format_bytes(w->tx_bytes / r->interval_s, tx, sizeof(tx));
		format_bytes(w->rx_bytes_total, rxt, sizeof(rxt));
		fprintf(out, "%7u %6u %-15s %-12s %-32.32s %11s %11s %11s %5u\n", w->pid, w->uid,
			w->comm, w->cls.provider ? w->cls.provider : "-", w->cls.host, rx, tx, rxt,
			w->connections);
	}
	fputc('\n', out);
	return fflush(out) ? -1 : 0;
}
