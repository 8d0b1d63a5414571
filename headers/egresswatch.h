/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by the BPF programs (bpf/) and the loader (user/). */
#ifndef EGRESSWATCH_H
#define EGRESSWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define EW_COMM_LEN 16

/* Who owns an outbound socket: recorded in process context (connect, sendmsg)
 * into socket-local storage, because the packet hooks run in softirq context
 * where the current task is unrelated to the socket. */
struct ew_owner {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 uid;
	__u32 flags; /* EW_OWNER_* */
	char comm[EW_COMM_LEN];
	__u32 settled; /* EW_SETTLED_*: kernel side only */
	/* Kernel side only: ew_refresh's round at the socket's last packet.
	 * Its counters move only when a packet comes, so ew_refresh reads only
	 * the sockets of the last rounds. */
	__u32 moved_round;
};

/* Set by user space on sockets that were open before egresswatch started. */
#define EW_OWNER_PREEXISTING 1u

/* A TCP socket whose bytes its own counters give (counts_from_socket) and
 * whose flow is made and, on egress, sampled: the packet hooks of that
 * direction have nothing left to do and return at once. Cleared by connect(). */
#define EW_SETTLED_EGRESS 1u
#define EW_SETTLED_INGRESS 2u

/* One flow: a socket and the remote peer it exchanges packets with. A TCP
 * socket has one peer; an unconnected UDP socket may have many, so the peer is
 * part of the key. Addresses are IPv6 or IPv4-mapped IPv6, network order. */
struct ew_flow_key {
	__u64 cookie;
	__u8 peer[16];
	__u16 peer_port; /* host order */
	__u8 proto;      /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[5];
};

struct ew_flow {
	struct ew_owner owner;
	/* Written by the egress hook. Bytes are transport payload, no IP or
	 * TCP/UDP headers. TCP counts each byte of the stream once: a
	 * retransmission adds nothing. */
	__u64 tx_bytes;
	__u64 tx_seq_base; /* TCP: EW_SEQ_KNOWN | sequence number of byte 0 */
	__u32 flags;       /* EW_FLOW_* */
	__u32 samples;     /* payload samples sent to user space */
	/* Written by the ingress hook, often on another CPU: a cache line away
	 * from the egress counters, so that the two CPUs do not pass one line
	 * back and forth on every packet. */
	__u8 rx_line_gap[64];
	__u64 rx_bytes;
	__u64 rx_seq_base;
	/* TCP counted from the socket's own counters, or a UDP flow counted in
	 * its socket's storage (the packet hooks then leave tx_bytes and
	 * rx_bytes to ew_refresh and the close or release hook): */
	__u64 sock;       /* the kernel socket's address; a cookie checked after the read validates it */
	__u64 owner_storage; /* its struct ew_owner's address, for moved_round */
	/* EW_FLOW_COUNTED_IN_SOCKET: the address of the socket's UDP counts */
	__u64 udp_counts;
	__u64 tx_base;    /* data bytes the socket had sent and had acknowledged when first seen */
	__u64 rx_base;    /* data bytes it had received then */
	__u32 sample_end; /* stream offset past the last client segment looked at for a sample */
	__u32 pad;
};

/* A TCP direction's first sequence number was seen: its byte count is the
 * distance its stream has advanced from there. */
#define EW_SEQ_KNOWN (1ull << 32)

/* The flow ended and user space finalizes it at its next pass over the map:
 * a TCP socket reached TCP_CLOSE but its close event could not be queued
 * (ring buffer full), or a UDP flow counted in its socket was released. */
#define EW_FLOW_CLOSED 1u
/* The first client payload was the start of a TLS handshake record longer than
 * the packet: the next packet is sampled too (a ClientHello over two segments). */
#define EW_FLOW_HELLO_CONTINUES 2u
/* A UDP socket's first peer (but DNS), counted in the socket's storage rather
 * than in this entry: the packet hooks skip the flows map, and ew_refresh and
 * the release hook copy the counts here. The flow ends with its socket, not
 * after an idle time (user space must not delete the entry before: the
 * packet hooks would go on counting into the storage alone). */
#define EW_FLOW_COUNTED_IN_SOCKET 4u

enum ew_event_type {
	EW_EV_TCP_CLOSED = 1,    /* final counters of a TCP flow, entry deleted */
	EW_EV_SOCK_RELEASED = 2, /* a tracked UDP socket was closed: flows by cookie */
	EW_EV_NEW_OWNER = 3,     /* a process opened its first tracked socket: flow.owner */
	EW_EV_SAMPLE_CLIENT = 4, /* struct ew_sample: the first client payload of a TCP flow */
	EW_EV_SAMPLE_DNS = 5,    /* struct ew_sample: a DNS answer (UDP from port 53) */
	EW_EV_EXEC = 6,          /* a process executed a program: flow.owner.tgid */
};

/* A flow's counters as events carry them: struct ew_flow without the gap
 * between its egress and ingress lines, which would cost ring space for
 * every closed connection. */
struct ew_flow_final {
	struct ew_owner owner;
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u32 flags;
	__u32 samples;
};

struct ew_event {
	__u32 type;
	__u32 pad;
	struct ew_flow_key key;
	struct ew_flow_final flow; /* EW_EV_TCP_CLOSED; EW_EV_NEW_OWNER fills flow.owner */
};

/* A bounded prefix of a packet's payload, for the names in it (TLS SNI, HTTP
 * Host, DNS answers). Parsed in memory by user space and dropped. */
#define EW_SAMPLE_MAX 2048

struct ew_sample {
	__u32 type;
	__u32 len;      /* bytes of data used */
	__u64 offset;   /* stream offset of data[0] (TCP: from its sequence number) */
	struct ew_flow_key key;
	__u32 tgid;     /* owner of the socket */
	__u32 pad;
	__u8 data[EW_SAMPLE_MAX];
};

/* Per-CPU counters of what the kernel side could not do, exported as
 * egresswatch_events_lost_total and shown by top. */
enum ew_stat {
	EW_STAT_FLOW_MAP_FULL,     /* packets of a tracked socket with no flow entry */
	EW_STAT_BYTES_UNACCOUNTED, /* their payload bytes */
	EW_STAT_OWNER_STORAGE_FULL,/* sockets whose owner could not be recorded */
	EW_STAT_CLOSE_DEFERRED,    /* TCP close events that fell back to EW_FLOW_CLOSED */
	EW_STAT_RELEASE_LOST,      /* UDP release events lost (ring buffer full) */
	EW_STAT_OWNER_EVENT_LOST,  /* new-process events lost: exe may show as unknown */
	EW_STAT_SAMPLE_LOST,       /* payload samples lost: the flow is named by DNS or address */
	EW_STAT_MAX,
};

#endif
