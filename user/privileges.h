/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EW_PRIVILEGES_H
#define EW_PRIVILEGES_H

#include <stdbool.h>

/* Returns 0 when this process holds what loading and attaching need, else
 * prints which capabilities are missing, naming the command, and returns -EPERM. */
int require_bpf_privileges(const char *command);

/* After loading and attaching: keeps only what the running monitor still
 * needs, for good (permitted, effective and bounding sets), and sets
 * no_new_privs. CAP_SYS_PTRACE reads /proc/PID/exe and /proc/PID/maps of
 * other users' processes; with TLS plaintext on, CAP_BPF, CAP_PERFMON and
 * (on this kernel, for perf_event_open of uprobes) CAP_SYS_ADMIN attach
 * uprobes to libraries found later, and CAP_DAC_READ_SEARCH opens them
 * through /proc/PID/root. Maps are read through descriptors already held,
 * which needs no capability. 0 or -errno. */
int drop_privileges(bool tls);

#endif
