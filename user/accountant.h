/* SPDX-License-Identifier: GPL-2.0 */
/* Turns the kernel's per-flow counters into per-row figures: each pass over the
 * flows map adds what every flow gained since the last pass, and close events
 * add the last bytes of flows that ended in between, so nothing is counted
 * twice and nothing between two reads is lost. */
#ifndef EW_ACCOUNTANT_H
#define EW_ACCOUNTANT_H

#include <limits.h>
#include "egresswatch.h"
#include "hashtab.h"
#include "proccache.h"
#include "rows.h"

/* Names the remote end of a new flow; false to ask again at the next pass
 * (unless final). Forget: the flow has ended. */
struct flow_namer {
	bool (*classify)(void *ctx, const struct ew_flow_key *key, uint32_t tgid, bool final,
			 double now, struct classification *out);
	void (*forget)(void *ctx, const struct ew_flow_key *key);
	void *ctx;
};

struct accountant {
	struct hashtab flows;    /* struct flow_entry by ew_flow_key */
	struct hashtab released; /* cookies of UDP sockets closed since the last pass */
	struct hashtab cgroups;  /* cgroup id to path */
	struct proc_cache procs;
	char scratch_cgroup[PATH_MAX];
	struct row_table *rows;
	struct flow_namer namer;
	char cgroup_root[PATH_MAX];
	double udp_idle_s;       /* an idle UDP flow is finalized after this long */
	uint32_t pass;
	size_t seen;             /* flows seen in this pass */
	size_t closing;          /* flows whose close event was read, dropped at its end */
};

int accountant_init(struct accountant *a, struct row_table *rows, const struct flow_namer *namer);
void accountant_free(struct accountant *a);
/* A ring buffer event from the kernel. */
void accountant_event(struct accountant *a, const struct ew_event *ev, double now);
/* One flow as read from the flows map. Returns true when the kernel entry is
 * finished (closed, released or idle) and should be deleted by the caller. */
bool accountant_flow(struct accountant *a, const struct ew_flow_key *key,
		     const struct ew_flow *flow, double now);
/* The row a TCP flow's bytes go to, for TLS plaintext tied to its socket: a
 * flow not read yet is read from the map now. NULL when the flow is unknown or
 * not named yet. */
struct row *accountant_flow_row(struct accountant *a, int flows_fd, const struct ew_flow_key *key,
				double now);
/* Ends a pass over the map: flows the kernel no longer has are dropped. */
void accountant_end_pass(struct accountant *a, double now);
/* Who owns a row: comm, uid and exe, and the cgroup by id (or, with id 0,
 * from /proc). The strings live until the next call. */
void accountant_identity(struct accountant *a, const struct ew_owner *o, struct identity *id,
			 double now);
/* Reads the whole flows map (batched) and accounts every flow. */
int accountant_sweep(struct accountant *a, int flows_fd, double now);

#endif
