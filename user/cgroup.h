/* SPDX-License-Identifier: GPL-2.0 */
/* Where cgroup v2 is mounted, and the path of a cgroup from its id. */
#ifndef EW_CGROUP_H
#define EW_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Finds the cgroup2 mount in a mounts table (/proc/self/mounts format).
 * Returns 0 and fills out, or -ENOENT. */
int cgroup2_mount_from(FILE *mounts, char *out, size_t len);
int cgroup2_mount(char *out, size_t len);

/* The path of the cgroup below the cgroup2 root ("/system.slice/x.service",
 * "/" for the root), found by walking the hierarchy for the directory whose
 * inode is the id. Returns 0 or -ENOENT (the cgroup is gone). */
int cgroup_path_by_id(const char *root, uint64_t id, char *out, size_t len);

#endif
