/* SPDX-License-Identifier: GPL-2.0 */
/* What /proc says of a process: its executable and its cgroup v2 path. */
#ifndef EW_PROCINFO_H
#define EW_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

/* Parses a /proc/PID/cgroup text for the unified ("0::") line. */
int cgroup_path_from_text(const char *text, char *out, size_t len);

/* Each returns 0, or -errno (-ENOENT once the process is gone). */
int proc_exe(uint32_t pid, char *out, size_t len);
int proc_cgroup_path(uint32_t pid, char *out, size_t len);
int proc_comm(uint32_t pid, char *out, size_t len);
int proc_uid(uint32_t pid, uint32_t *uid);

#endif
