// SPDX-License-Identifier: GPL-2.0
#include "loader.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cgroup.h"
#include "egresswatch.skel.h"

static bool verbose_libbpf;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !verbose_libbpf))
		return 0;
	return vfprintf(stderr, fmt, args);
}

void loader_set_verbose(bool verbose)
{
	verbose_libbpf = verbose;
	libbpf_set_print(print_libbpf);
}

static int attach_cgroup(struct bpf_program *prog, int cgroup_fd, struct bpf_link **link)
{
	*link = bpf_program__attach_cgroup(prog, cgroup_fd);
	if (!*link) {
		int err = -errno;

		fprintf(stderr, "egresswatch: cannot attach %s to the cgroup v2 root: %s\n",
			bpf_program__name(prog), strerror(-err));
		return err;
	}
	return 0;
}

/* ew_refresh's program type and helpers: a kernel without them (or one that
 * refuses them) counts TCP from each packet instead. */
static bool refresh_supported(void)
{
	return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) == 1 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_SYSCALL, BPF_FUNC_for_each_map_elem, NULL) == 1 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_SYSCALL, BPF_FUNC_probe_read_kernel, NULL) == 1;
}

static int open_and_load(struct loader *l, const struct loader_opts *opts)
{
	struct egresswatch_bpf *s;
	int err;

	egresswatch_bpf__destroy(l->skel);
	s = l->skel = egresswatch_bpf__open();
	if (!s) {
		err = -errno;
		fprintf(stderr, "egresswatch: cannot open the BPF object: %s\n", strerror(-err));
		return err;
	}
	if (opts->max_flows)
		bpf_map__set_max_entries(s->maps.flows, opts->max_flows);
	bpf_program__set_autoload(s->progs.ew_exec, opts->exec_events);
	bpf_program__set_autoload(s->progs.ew_refresh, l->tcp_from_socket);
	s->rodata->counts_from_socket = l->tcp_from_socket;
	return egresswatch_bpf__load(s);
}

int loader_start(struct loader *l, const struct loader_opts *opts)
{
	struct egresswatch_bpf *s;
	int err;

	memset(l, 0, sizeof(*l));
	l->cgroup_fd = -1;
	err = cgroup2_mount(l->cgroup_root, sizeof(l->cgroup_root));
	if (err) {
		fprintf(stderr, "egresswatch: no cgroup v2 hierarchy is mounted (/proc/self/mounts): "
				"the socket hooks attach there\n");
		return err;
	}
	l->cgroup_fd = open(l->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->cgroup_fd < 0) {
		err = -errno;
		fprintf(stderr, "egresswatch: cannot open %s: %s\n", l->cgroup_root, strerror(-err));
		return err;
	}
	l->tcp_from_socket = opts->tcp_from_socket && refresh_supported();
	if (opts->tcp_from_socket && !l->tcp_from_socket)
		fprintf(stderr, "egresswatch: this kernel cannot run a syscall program that reads "
				"TCP's own byte counters: TCP bytes are counted from each packet\n");
	for (;;) {
		const char *what = "load";

		err = open_and_load(l, opts);
		/* run once here, while egresswatch still has its privileges */
		if (!err && l->tcp_from_socket && (err = loader_refresh(l)))
			what = "run";
		if (!err)
			break;
		if (!l->tcp_from_socket) {
			fprintf(stderr, "egresswatch: cannot load the BPF programs: %s "
					"(run 'egresswatch check' for each hook)\n", strerror(-err));
			return err;
		}
		fprintf(stderr, "egresswatch: cannot %s the programs that read TCP's own byte counters "
				"(%s): trying with TCP bytes counted from each packet\n", what,
			strerror(-err));
		l->tcp_from_socket = false;
	}
	s = l->skel;
	if ((err = attach_cgroup(s->progs.ew_connect4, l->cgroup_fd, &s->links.ew_connect4)) ||
	    (err = attach_cgroup(s->progs.ew_connect6, l->cgroup_fd, &s->links.ew_connect6)) ||
	    (err = attach_cgroup(s->progs.ew_sendmsg4, l->cgroup_fd, &s->links.ew_sendmsg4)) ||
	    (err = attach_cgroup(s->progs.ew_sendmsg6, l->cgroup_fd, &s->links.ew_sendmsg6)) ||
	    (err = attach_cgroup(s->progs.ew_egress, l->cgroup_fd, &s->links.ew_egress)) ||
	    (err = attach_cgroup(s->progs.ew_ingress, l->cgroup_fd, &s->links.ew_ingress)) ||
	    (err = attach_cgroup(s->progs.ew_sock_release, l->cgroup_fd, &s->links.ew_sock_release)))
		return err;
	s->links.ew_tcp_state = bpf_program__attach(s->progs.ew_tcp_state);
	if (!s->links.ew_tcp_state) {
		err = -errno;
		fprintf(stderr, "egresswatch: cannot attach to raw tracepoint inet_sock_set_state: %s\n",
			strerror(-err));
		return err;
	}
	if (opts->exec_events) {
		s->links.ew_exec = bpf_program__attach(s->progs.ew_exec);
		if (!s->links.ew_exec) {
			err = -errno;
			fprintf(stderr, "egresswatch: cannot attach to raw tracepoint sched_process_exec: %s\n",
				strerror(-err));
			return err;
		}
	}
	l->rb = ring_buffer__new(bpf_map__fd(s->maps.events), opts->on_event, opts->event_ctx, NULL);
	if (!l->rb) {
		err = -errno;
		fprintf(stderr, "egresswatch: cannot open the event ring buffer: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

void loader_stop(struct loader *l)
{
	ring_buffer__free(l->rb);
	l->rb = NULL;
	egresswatch_bpf__destroy(l->skel); /* destroys the links: nothing stays attached */
	l->skel = NULL;
	if (l->cgroup_fd >= 0)
		close(l->cgroup_fd);
	l->cgroup_fd = -1;
}

int loader_refresh(const struct loader *l)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);

	if (!l->tcp_from_socket)
		return 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(l->skel->progs.ew_refresh), &run))
		return -errno;
	return 0;
}

int loader_flows_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.flows);
}

int loader_owners_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.owners);
}

int percpu_array_sum(int fd, __u32 n, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0)
		return ncpu;
	__u64 values[ncpu];

	/* zeroed: valgrind does not know the kernel fills every CPU's slot */
	memset(values, 0, sizeof(values));
	for (__u32 id = 0; id < n; id++) {
		out[id] = 0;
		if (bpf_map_lookup_elem(fd, &id, values))
			return -errno;
		for (int c = 0; c < ncpu; c++)
			out[id] += values[c];
	}
	return 0;
}

int loader_read_stats(const struct loader *l, __u64 out[EW_STAT_MAX])
{
	return percpu_array_sum(bpf_map__fd(l->skel->maps.stats), EW_STAT_MAX, out);
}
