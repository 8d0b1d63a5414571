// SPDX-License-Identifier: GPL-2.0
#include "privileges.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

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
