/* SPDX-License-Identifier: GPL-2.0 */
/* Uprobes on the TLS libraries of this host and of its containers. A uprobe is
 * set on a file (an inode), so each library is attached once and covers every
 * process that maps it, now or later. Libraries are found in the system
 * library directories at start, in /proc/PID/maps (through /proc/PID/root,
 * for containers) when a process opens its first outbound socket, and
 * executables that carry the functions themselves (node) when they are
 * executed. */
#ifndef EW_TLS_PROBES_H
#define EW_TLS_PROBES_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "hashtab.h"
#include "plaintext.h"
#include "tls.h"

struct tls_bpf;

struct tls_probes {
	struct tls_bpf *skel;
	struct hashtab files;   /* every file looked at, by device and inode */
	unsigned int libraries; /* files with uprobes attached */
	unsigned int failures;  /* files whose functions could not be attached */
};

/* Loads the programs; their events are read through rb (shared with the
 * socket events, so one poll serves both). socket_link: also the syscall and
 * thread-exit tracepoints that tie each call to its socket. */
int tls_probes_start(struct tls_probes *p, uint32_t capture_max, bool socket_link,
		     struct ring_buffer *rb, ring_buffer_sample_fn on_event, void *ctx);
void tls_probes_stop(struct tls_probes *p);
/* The system library directories and every running process. */
void tls_probes_scan_system(struct tls_probes *p);
/* One process: its executable, and with maps also the libraries it mapped. */
void tls_probes_scan_process(struct tls_probes *p, pid_t pid, bool maps);
struct tls_kernel_maps tls_probes_maps(const struct tls_probes *p);
/* Sums the per-CPU TLS loss counters. */
int tls_probes_read_stats(const struct tls_probes *p, __u64 out[EW_TLS_STAT_MAX]);

/* Whether a file name is one of the TLS libraries hooked ("libssl.so.3",
 * "libgnutls.so.30"; not NSS's "libssl3.so"). Exposed for the tests. */
bool tls_library_name(const char *base, bool *gnutls);

#endif
