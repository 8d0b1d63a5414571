// SPDX-License-Identifier: GPL-2.0
/* The baseline of `make bench`: programs that do nothing, one of each type at
 * each hook egresswatch uses. Their ns per run, measured next to egresswatch's
 * on the same events, is the fixed cost of the hook and of the statistics
 * themselves; cgroup programs return 1 (allow). With them, optionally, the
 * floor of a packet counter (below). */
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

/* The floor of any per-socket packet counter (empty_loader --floor): finding,
 * on each packet, the socket-local storage its socket got at connect or
 * sendmsg, and reading it. egresswatch's packet programs must do at least
 * this to know whose packet it is; measured next to them, it is the part of
 * their cost that no design at these hooks avoids. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} bx_owned SEC(".maps");

static __always_inline int own(struct bpf_sock_addr *ctx)
{
	if (ctx->sk)
		bpf_sk_storage_get(&bx_owned, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	return 1;
}

SEC("cgroup/connect4")
int bx_own_connect4(struct bpf_sock_addr *ctx) { return own(ctx); }

SEC("cgroup/connect6")
int bx_own_connect6(struct bpf_sock_addr *ctx) { return own(ctx); }

SEC("cgroup/sendmsg4")
int bx_own_sendmsg4(struct bpf_sock_addr *ctx) { return own(ctx); }

SEC("cgroup/sendmsg6")
int bx_own_sendmsg6(struct bpf_sock_addr *ctx) { return own(ctx); }

static __always_inline int look_up(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u64 *owned;

	if (!sk || !(sk = bpf_sk_fullsock(sk)))
		return 1;
	owned = bpf_sk_storage_get(&bx_owned, sk, 0, 0);
	if (owned)
		(void)*(volatile __u64 *)owned;
	return 1;
}

SEC("cgroup_skb/egress")
int bx_look_egress(struct __sk_buff *skb) { return look_up(skb); }

SEC("cgroup_skb/ingress")
int bx_look_ingress(struct __sk_buff *skb) { return look_up(skb); }

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
