/* SPDX-License-Identifier: GPL-2.0 */
/* The Prometheus textfile for node_exporter's textfile collector: counters per
 * provider, host, comm and cgroup kept by the exporter itself (rows age out,
 * counters must not go down), a bounded number of series (the smallest fold,
 * for good, into comm="other"), self-metrics, and an atomic replace of
 * DIR/egresswatch.prom so that a reader never sees half a file. */
#ifndef EW_TEXTFILE_H
#define EW_TEXTFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "hashtab.h"
#include "rows.h"

struct detector;

struct exporter {
	struct hashtab series;   /* struct series by label set */
	unsigned int max_series; /* explicit series in the file; the rest fold */
	unsigned int explicit_count;
	uint64_t write_failures;
};

struct self_metrics {
	const char *version;
	double wall_time;
	/* egresswatch_events_lost_total by source, NULL-terminated names */
	const char *const *lost_sources;
	const uint64_t *lost;
	uint64_t bytes_unaccounted;
	uint64_t flows, flows_max; /* flow map use */
	uint64_t tls_libraries;
};

int exporter_init(struct exporter *e, unsigned int max_series);
void exporter_free(struct exporter *e);
/* Adds what the rows gained this interval (LLM rows only). */
void exporter_add(struct exporter *e, struct row *const *rows, int nrows);
/* The whole text. 0 or -1 (out). */
int exporter_format(struct exporter *e, FILE *out, struct row *const *rows, int nrows,
		    const struct detector *d, const struct self_metrics *self);
/* Writes DIR/egresswatch.prom atomically; 0 or -errno (nothing replaced). */
int exporter_write(struct exporter *e, const char *dir, struct row *const *rows, int nrows,
		   const struct detector *d, const struct self_metrics *self);

/* Escapes a label value as the exposition format wants (\\, \", \n). */
void escape_label(const char *in, char *out, size_t len);

#endif
