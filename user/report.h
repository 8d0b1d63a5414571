/* SPDX-License-Identifier: GPL-2.0 */
/* One refresh of top in batch mode: a JSON line (the contract) or a text table. */
#ifndef EW_REPORT_H
#define EW_REPORT_H

#include <stdio.h>
#include "egresswatch.h"
#include "tls.h"
#include "rows.h"

struct detector;

struct report {
	double time;       /* wall clock, seconds since the epoch */
	double interval_s; /* length of the interval just ended */
	struct row **rows;
	int nrows;
	/* What could not be accounted: kernel counters and sockets open at start
	 * that could not be inspected. */
	__u64 stats[EW_STAT_MAX];
	unsigned int preexisting_failed;
	__u64 tls_stats[EW_TLS_STAT_MAX]; /* TLS plaintext events lost */
	const struct detector *detector; /* for the rows' alert marker, or NULL */
};

/* Returns 0, or -1 when stdout is gone. */
int report_json(FILE *out, const struct report *r);
int report_text(FILE *out, const struct report *r);

#endif
