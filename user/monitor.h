/* SPDX-License-Identifier: GPL-2.0 */
/* A running monitor: the BPF side loaded and attached, the flows accounted into
 * rows at every refresh. Shared by top and run. */
#ifndef EW_MONITOR_H
#define EW_MONITOR_H

#include <signal.h>
#include "accountant.h"
#include "classify.h"
#include "names.h"
#include "loader.h"
#include "plaintext.h"
#include "tls_probes.h"
#include "preexisting.h"
#include "report.h"
#include "rows.h"

struct monitor_opts {
	const struct catalog *catalog;
	unsigned int max_flows;
	double grace_s; /* how long an idle row with no connection stays */
	bool payload;   /* TLS plaintext inspection (uprobes) */
	unsigned int payload_capture; /* bytes of plaintext copied per capture */
	bool tls_socket_link;         /* tie TLS calls to sockets (sys_enter tracepoint) */
	bool tcp_from_socket;         /* TCP bytes from the sockets' counters where the kernel allows */
};

struct monitor {
	struct loader loader;
	struct accountant acct;
	struct row_table rows;
	struct names names;
	struct classifier classifier;
	struct preexisting_result preexisting;
	struct tls_probes tls;
	struct tls_streams streams;
	bool tls_on;
	bool refresh_failing; /* the last loader_refresh failed (said once) */
	struct monitor_opts opts;
	double last_refresh; /* monotonic */
	double events_now;   /* the time of the events being read: one clock read per batch */
	double last_prune;   /* of TLS streams and names, every PRUNE_EVERY_S */
};

extern volatile sig_atomic_t monitor_exiting;
extern volatile sig_atomic_t monitor_reload;

/* Installs SIGINT/SIGTERM handlers that end the loop. */
void monitor_handle_signals(void);
/* SIGHUP sets monitor_reload and ends the current wait (the daemon). */
void monitor_handle_reload(void);
/* A new catalog (reload): flows named from now on use it. */
void monitor_set_catalog(struct monitor *m, const struct catalog *catalog);
int monitor_start(struct monitor *m, const struct monitor_opts *opts);
/* Reads the events the kernel has queued, without waiting. */
void monitor_consume(struct monitor *m);
/* Waits for kernel events until deadline (monotonic seconds) or a signal. */
void monitor_wait(struct monitor *m, double deadline);
/* Accounts everything up to now and fills the report, valid until
 * monitor_report_done, which also starts the next interval. Returns 0 or -errno. */
int monitor_refresh(struct monitor *m, enum row_sort by, bool all, struct report *out);
void monitor_report_done(struct monitor *m, struct report *r);
void monitor_stop(struct monitor *m);

double monotonic_now(void);
double wall_now(void);

#endif
