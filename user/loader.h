/* SPDX-License-Identifier: GPL-2.0 */
/* Loads the BPF programs, attaches them to the cgroup v2 root and the
 * tracepoint, and gives the maps to the rest of the loader. */
#ifndef EW_LOADER_H
#define EW_LOADER_H

#include <bpf/libbpf.h>
#include <limits.h>
#include <stdbool.h>
#include "egresswatch.h"

struct egresswatch_bpf;

typedef int (*event_fn)(void *ctx, void *data, size_t size);

struct loader {
	struct egresswatch_bpf *skel;
	struct ring_buffer *rb;
	int cgroup_fd;
	bool tcp_from_socket; /* TCP bytes from the sockets' counters (ew_refresh) */
	char cgroup_root[PATH_MAX];
};

struct loader_opts {
	unsigned int max_flows; /* entries of the flows map */
	bool exec_events;       /* send EW_EV_EXEC (for TLS plaintext inspection) */
	bool tcp_from_socket;   /* TCP bytes from the sockets' counters where the kernel allows */
	event_fn on_event;
	void *event_ctx;
};

/* Returns 0, or -errno with a message already printed to stderr. */
int loader_start(struct loader *l, const struct loader_opts *opts);
/* Detaches and unloads everything; safe on a partly started loader. */
void loader_stop(struct loader *l);
/* Copies the live TCP flows' counters from their sockets into the flows map:
 * run before each read of it. 0 or -errno. */
int loader_refresh(const struct loader *l);
int loader_flows_fd(const struct loader *l);
int loader_owners_fd(const struct loader *l);
/* Sums each of the first n entries of a per-CPU array over the CPUs. */
int percpu_array_sum(int fd, __u32 n, __u64 *out);
/* Sums the per-CPU loss counters. */
int loader_read_stats(const struct loader *l, __u64 out[EW_STAT_MAX]);

/* libbpf's messages: warnings and errors always, the rest with -v. */
void loader_set_verbose(bool verbose);

#endif
