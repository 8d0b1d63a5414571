/* SPDX-License-Identifier: GPL-2.0 */
/* Executable paths of the processes that own flows, read from /proc when the
 * kernel announces a process (it may be gone by the time its flows are read),
 * and kept while in use. */
#ifndef EW_PROCCACHE_H
#define EW_PROCCACHE_H

#include "egresswatch.h"
#include "hashtab.h"

struct proc_cache {
	struct hashtab ht;
};

int proccache_init(struct proc_cache *pc);
void proccache_free(struct proc_cache *pc);
/* Reads /proc/PID/exe now, while the process that owns a new socket lives. */
void proccache_learn(struct proc_cache *pc, const struct ew_owner *o, double now);
/* The executable of the owner, or NULL when it is not known. */
const char *proccache_exe(struct proc_cache *pc, const struct ew_owner *o, double now);
/* Forgets processes not asked about for max_age seconds. */
void proccache_prune(struct proc_cache *pc, double now, double max_age);

#endif
