/* SPDX-License-Identifier: GPL-2.0 */
/* Where alert lines go: a file (appended, 0600, reopened on SIGHUP for log
 * rotation), stdout, or syslog. One JSON object per line, as in the contract.
 * A destination that fails is reported once per failure streak and retried at
 * the next alert; nothing is written half. */
#ifndef EW_ALERTS_H
#define EW_ALERTS_H

#include <stdbool.h>
#include <stdint.h>
#include "detect.h"

struct alert_sink {
	char *dest;        /* path, "-" or "syslog" */
	int fd;            /* file: -1 until opened */
	bool failing;      /* the last write failed: said once */
	uint64_t written, failures;
	const char *hostname;
};

int alert_sink_open(struct alert_sink *s, const char *dest, const char *hostname);
/* Log rotation: the file is opened anew at the next alert. */
void alert_sink_reopen(struct alert_sink *s);
void alert_sink_close(struct alert_sink *s);
/* An alert_fn: formats and writes one line. */
void alert_sink_emit(void *sink, const struct alert *a);
/* The JSON line (no newline), for the tests. The caller frees it. */
char *alert_json(const struct alert *a, const char *hostname);

#endif
