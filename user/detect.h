/* SPDX-License-Identifier: GPL-2.0 */
/* Detection of model-output harvesting: sliding-window rules evaluated at
 * three levels, the process, the workload (same executable and cgroup: 32
 * workers under a threshold each still add up, and a restarted harvester keeps
 * its history) and the host. Each rule has a warning and a critical level; an
 * alert fires when its value reaches the threshold and resolves when it falls
 * below RESOLVE_RATIO of it (hysteresis), and firing alerts are rate-limited
 * per rule, what was held back being counted.
 *
 * Rules (stable ids):
 *   llm_output_volume         bytes received from LLM endpoints in the window,
 *                             or output tokens where plaintext is seen
 *   llm_request_rate          requests in the window
 *   llm_concurrency           connections to LLM endpoints open at once
 *   llm_key_rotation          distinct API key fingerprints (or organization ids) in the window
 *   llm_sustained_automation  requests in most sub-intervals of the window, with machine-regular pace
 *   llm_batch_harvest         batch job submissions and batch result downloads
 *   llm_router                traffic to routers/aggregators and LLM-shaped requests to
 *                             uncatalogued hosts
 *   llm_multi_provider        one workload spread over several providers
 */
#ifndef EW_DETECT_H
#define EW_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "hashtab.h"
#include "rows.h"

#define RESOLVE_RATIO 0.8
/* Firing alerts emitted per rule and minute; more are held back and counted. */
#define ALERTS_PER_RULE_MINUTE 10

enum detect_level { LEVEL_PROCESS, LEVEL_WORKLOAD, LEVEL_HOST };

/* One alert state change, as the contract's JSON line carries it. Strings are
 * valid during the callback only. A figure that could not be measured has its
 * has_ flag false (null in JSON). */
struct alert {
	const char *rule;
	const char *severity;   /* "warning" or "critical" */
	const char *state;      /* "firing" or "resolved" */
	enum detect_level level;
	char output[768];       /* one sentence a person can act on */
	double wall_time;       /* seconds since the epoch */
	/* fields */
	bool has_pid;           /* process level only */
	uint32_t pid;
	const char *comm, *exe, *cgroup; /* NULL when unknown or not one */
	bool has_uid;
	uint32_t uid;
	const char *provider, *host;     /* the dominant one in the window, NULL if none */
	double window_s;
	uint64_t rx_bytes, tx_bytes;
	bool has_requests, has_output_tokens, has_api_keys;
	uint64_t requests, output_tokens, api_keys;
	uint32_t connections_max;
	uint32_t processes;     /* workload and host levels: processes behind it */
	double value, threshold;/* what the rule measured, and the threshold crossed */
	/* host level: the workloads behind it, "exe (cgroup)" each, NULL-terminated */
	const char *const *workloads;
};

typedef void (*alert_fn)(void *ctx, const struct alert *a);

/* A firing alert, for egresswatch_alert_active and for top's marker. */
struct active_alert {
	const char *rule, *severity, *comm, *cgroup;
	enum detect_level level;
	uint32_t pid; /* process level; 0 otherwise */
};

struct detector; /* opaque: see detect.c */

struct detector *detector_new(const struct detect_config *cfg, double interval_s,
			      const char *hostname);
void detector_free(struct detector *d);
/* New thresholds (SIGHUP): windows and alert states are kept. */
void detector_configure(struct detector *d, const struct detect_config *cfg);

/* One evaluation per interval: begin, one add per LLM row (rows whose
 * cls.provider is set), end. The row's per-interval counters (rx_bytes,
 * tx_bytes, requests, output_tokens, batch_requests), its open connections,
 * and its keys and orgs sets (entries with last_seen) are what is read.
 * now is monotonic seconds, wall the epoch time for the alert lines. */
void detector_begin(struct detector *d, double now, double wall);
void detector_add(struct detector *d, const struct row *r, const char *provider, bool router,
		  bool uncatalogued);
void detector_end(struct detector *d, alert_fn emit, void *ctx);
/* The three steps over one refresh's rows (the LLM ones are added). emit may
 * be NULL: states change, no line is written (top). */
void detector_evaluate(struct detector *d, struct row *const *rows, int nrows, double now,
		       double wall, alert_fn emit, void *ctx);

/* The firing alerts, for the textfile and top. Calls fn for each. */
void detector_each_active(const struct detector *d,
			  void (*fn)(void *ctx, const struct active_alert *a), void *ctx);
bool detector_pid_alerting(const struct detector *d, uint32_t pid);
/* Firing alerts emitted, and held back by the rate limit, per rule and severity. */
void detector_each_count(const struct detector *d,
			 void (*fn)(void *ctx, const char *rule, const char *severity,
				    uint64_t emitted, uint64_t suppressed),
			 void *ctx);

#endif
