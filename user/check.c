// SPDX-License-Identifier: GPL-2.0
#include "check.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cgroup.h"
#include "privileges.h"
#include "egresswatch.skel.h"
#include "tls.skel.h"

static void line(const char *hook, int err, const char *detail)
{
	if (!err)
		printf("%-34s ok%s%s\n", hook, detail ? "   " : "", detail ? detail : "");
	else
		printf("%-34s missing (%s%s%s)\n", hook, strerror(-err), detail ? ": " : "",
		       detail ? detail : "");
}

/* Loads only the named program (with the maps it shares) and attaches it where
 * egresswatch would. */
static int probe_program(const char *name, int cgroup_fd, char *why, size_t len)
{
	struct egresswatch_bpf *s = egresswatch_bpf__open();
	struct bpf_program *p, *target = NULL;
	struct bpf_link *link = NULL;
	int err;

	if (!s)
		return -errno;
	bpf_object__for_each_program(p, s->obj) {
		bool me = !strcmp(bpf_program__name(p), name);

		bpf_program__set_autoload(p, me);
		if (me)
			target = p;
	}
	if (target == s->progs.ew_refresh) {
		/* and the packet hooks as they run beside it */
		s->rodata->counts_from_socket = true;
		bpf_program__set_autoload(s->progs.ew_egress, true);
		bpf_program__set_autoload(s->progs.ew_ingress, true);
	}
	err = egresswatch_bpf__load(s);
	if (err) {
		snprintf(why, len, "load refused");
		goto cleanup;
	}
	if (bpf_program__type(target) == BPF_PROG_TYPE_SYSCALL) {
		/* not attached anywhere: user space runs it */
		LIBBPF_OPTS(bpf_test_run_opts, run);

		if (bpf_prog_test_run_opts(bpf_program__fd(target), &run)) {
			err = -errno;
			snprintf(why, len, "run refused");
		}
		goto cleanup;
	}
	if (bpf_program__type(target) == BPF_PROG_TYPE_RAW_TRACEPOINT)
		link = bpf_program__attach(target);
	else
		link = bpf_program__attach_cgroup(target, cgroup_fd);
	if (!link) {
		err = -errno;
		snprintf(why, len, "attach refused");
	}
cleanup:
	bpf_link__destroy(link);
	egresswatch_bpf__destroy(s);
	return err;
}

/* Loads the TLS uprobe programs and attaches them to this program's own libc
 * read(), a function every process has, to prove uprobes work here. */
static int probe_tls(char *why, size_t len)
{
	struct tls_bpf *s = tls_bpf__open_and_load();
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "read");
	struct bpf_link *link;
	int err = 0;

	if (!s) {
		snprintf(why, len, "load refused");
		return -errno;
	}
	link = bpf_program__attach_uprobe_opts(s->progs.ssl_read, 0, "libc.so.6", 0, &opts);
	if (!link) {
		err = -errno;
		snprintf(why, len, "attach refused");
	}
	bpf_link__destroy(link);
	tls_bpf__destroy(s);
	return err;
}

static int file_present(const char *path)
{
	return access(path, F_OK) ? -errno : 0;
}

int check_main(void)
{
	static const struct { const char *prog; const char *hook; bool core; } hooks[] = {
		{ "ew_connect4", "cgroup/connect4", true },
		{ "ew_connect6", "cgroup/connect6", true },
		{ "ew_sendmsg4", "cgroup/sendmsg4", true },
		{ "ew_sendmsg6", "cgroup/sendmsg6", true },
		{ "ew_egress", "cgroup_skb/egress", true },
		{ "ew_ingress", "cgroup_skb/ingress", true },
		{ "ew_sock_release", "cgroup/sock_release", true },
		{ "ew_tcp_state", "raw_tp/inet_sock_set_state", true },
		{ "ew_refresh", "syscall/tcp_counters", false },
		{ "ew_exec", "raw_tp/sched_process_exec (TLS)", false },
	};
	char root[PATH_MAX], why[64];
	int cgroup_fd = -1, failed = 0, err;

	libbpf_set_print(NULL);
	/* without privileges every hook reads "missing": say why first */
	if (require_bpf_privileges("check"))
		fprintf(stderr, "egresswatch check: the hooks below cannot be probed without them\n");
	err = file_present("/sys/kernel/btf/vmlinux");
	line("btf (/sys/kernel/btf/vmlinux)", err, err ? "CO-RE relocations need kernel BTF" : NULL);
	failed |= err != 0;

	err = cgroup2_mount(root, sizeof(root));
	if (!err) {
		cgroup_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgroup_fd < 0)
			err = -errno;
	}
	line("cgroup v2", err, err ? "no cgroup2 mount in /proc/self/mounts" : root);
	failed |= err != 0;

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (cgroup_fd < 0) {
			line(hooks[i].hook, -ENOENT, "no cgroup v2 to attach to");
			failed |= hooks[i].core;
			continue;
		}
		why[0] = '\0';
		err = probe_program(hooks[i].prog, cgroup_fd, why, sizeof(why));
		line(hooks[i].hook, err, why[0] ? why : NULL);
		failed |= hooks[i].core && err != 0;
	}
	/* TLS plaintext: without it, socket metadata only (figures null). */
	err = probe_tls(why, sizeof(why));
	line("uprobe (TLS plaintext)", err, err ? why : NULL);
	err = file_present("/sys/bus/event_source/devices/kprobe/type");
	line("kprobe (not used)", err, err ? "egresswatch does not need it" : NULL);

	if (cgroup_fd >= 0)
		close(cgroup_fd);
	printf("socket-accounting core: %s\n", failed ? "cannot run" : "can run");
	return failed ? 1 : 0;
}
