// SPDX-License-Identifier: GPL-2.0
#include "privileges.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

/* CAP_BPF and CAP_PERFMON load the programs (CAP_SYS_ADMIN stands in for both
 * on older kernels), CAP_NET_ADMIN attaches them to the cgroup, CAP_SYS_PTRACE
 * reaches sockets open before start. */
int require_bpf_privileges(const char *command)
{
	static const struct { cap_value_t cap; const char *name; } needed[] = {
		{ CAP_BPF, "CAP_BPF" },
		{ CAP_PERFMON, "CAP_PERFMON" },
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
	};
	cap_t caps = cap_get_proc();
	char missing[128] = "";
	cap_flag_value_t v;
	bool admin;

	if (!caps) {
		fprintf(stderr, "egresswatch %s: cannot read this process's capabilities: %s\n",
			command, strerror(errno));
		return -EPERM;
	}
	admin = !cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &v) && v == CAP_SET;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		bool covered = admin && (needed[i].cap == CAP_BPF || needed[i].cap == CAP_PERFMON);

		if (covered || (!cap_get_flag(caps, needed[i].cap, CAP_EFFECTIVE, &v) && v == CAP_SET))
			continue;
		if (missing[0])
			strcat(missing, ", ");
		strcat(missing, needed[i].name);
	}
	cap_free(caps);
	if (!missing[0])
		return 0;
	fprintf(stderr, "egresswatch %s: needs root (missing %s): run it as root, e.g. "
			"'sudo egresswatch %s'\n", command, missing, command);
	return -EPERM;
}

static bool have_effective(cap_value_t cap)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (caps)
		cap_get_flag(caps, cap, CAP_EFFECTIVE, &v);
	cap_free(caps);
	return v == CAP_SET;
}

int drop_privileges(bool tls)
{
	cap_value_t keep[5] = { CAP_SYS_PTRACE };
	bool can_bound = have_effective(CAP_SETPCAP);
	int nkeep = 1, err = 0;
	cap_t caps;

	if (tls) {
		keep[nkeep++] = CAP_BPF;
		keep[nkeep++] = CAP_PERFMON;
		keep[nkeep++] = CAP_DAC_READ_SEARCH;
		/* measured on 6.18: perf_event_open of a uprobe is refused with
		 * EACCES without it, CAP_PERFMON notwithstanding */
		keep[nkeep++] = CAP_SYS_ADMIN;
	}
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which goes
	 * next. Under a service manager that already bounded the set, there is
	 * no CAP_SETPCAP, and nothing to do. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP && can_bound; c++) {
		bool kept = false;

		for (int i = 0; i < nkeep; i++)
			kept |= keep[i] == c;
		if (!kept && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) && errno != EINVAL) {
			err = -errno;
			break;
		}
	}
	caps = cap_init();
	if (!caps)
		return -ENOMEM;
	if (!err && (cap_set_flag(caps, CAP_PERMITTED, nkeep, keep, CAP_SET) ||
		     cap_set_flag(caps, CAP_EFFECTIVE, nkeep, keep, CAP_SET) || cap_set_proc(caps)))
		err = -errno;
	cap_free(caps);
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = -errno;
	return err;
}
