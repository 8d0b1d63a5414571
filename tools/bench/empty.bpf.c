// SPDX-License-Identifier: GPL-2.0
/* The baseline of `make bench`: programs that do nothing, one of each type at
 * each hook egresswatch uses. Their ns per run, measured next to egresswatch's
 * on the same events, is the fixed cost of the hook and of the statistics
 * themselves; cgroup programs return 1 (allow). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("cgroup/connect4")
int bx_connect4(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/connect6")
int bx_connect6(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/sendmsg4")
int bx_sendmsg4(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/sendmsg6")
int bx_sendmsg6(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup_skb/egress")
int bx_egress(struct __sk_buff *skb) { return 1; }

SEC("cgroup_skb/ingress")
int bx_ingress(struct __sk_buff *skb) { return 1; }

SEC("cgroup/sock_release")
int bx_sock_release(struct bpf_sock *sk) { return 1; }

SEC("raw_tp/inet_sock_set_state")
int bx_tcp_state(struct bpf_raw_tracepoint_args *ctx) { return 0; }

SEC("raw_tp/sched_process_exec")
int bx_exec(struct bpf_raw_tracepoint_args *ctx) { return 0; }

SEC("raw_tp/sys_enter")
int bx_syscall(struct bpf_raw_tracepoint_args *ctx) { return 0; }

SEC("uprobe")
int bx_ssl_write(void *ctx) { return 0; }

SEC("uretprobe")
int bx_ssl_write_ret(void *ctx) { return 0; }

SEC("uprobe")
int bx_ssl_read(void *ctx) { return 0; }

SEC("uretprobe")
int bx_ssl_read_ret(void *ctx) { return 0; }

SEC("uprobe")
int bx_ssl_write_ex(void *ctx) { return 0; }

SEC("uretprobe")
int bx_ssl_write_ex_r(void *ctx) { return 0; }

SEC("uprobe")
int bx_ssl_read_ex(void *ctx) { return 0; }

SEC("uretprobe")
int bx_ssl_read_ex_r(void *ctx) { return 0; }

SEC("uprobe")
int bx_ssl_free(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
