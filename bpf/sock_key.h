/* SPDX-License-Identifier: GPL-2.0 */
/* The flows map's key for a kernel socket, as the packet hooks build it from
 * headers: shared by the TCP close tracepoint and the TLS socket link, which
 * must find the same entry. */
#ifndef EW_SOCK_KEY_H
#define EW_SOCK_KEY_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "egresswatch.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* IPv4 peers are keyed as IPv4-mapped IPv6 addresses. */
static __always_inline void set_v4mapped(__u8 out[16], __u32 addr)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr, 4);
}

/* False for anything but a TCP socket our packet hooks have seen (its cookie
 * is made by the first bpf_get_socket_cookie, in those hooks). */
static __always_inline bool tcp_flow_key(struct sock *sk, struct ew_flow_key *key)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return false;
	key->cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!key->cookie)
		return false;
	if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET)
		set_v4mapped(key->peer, BPF_CORE_READ(sk, __sk_common.skc_daddr));
	else
		BPF_CORE_READ_INTO(&key->peer, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	key->peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	key->proto = IPPROTO_TCP;
	return true;
}

#endif
