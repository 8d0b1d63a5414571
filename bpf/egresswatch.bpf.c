// SPDX-License-Identifier: GPL-2.0
/* Per-process accounting of outbound sockets, on hooks that this fleet's
 * kernels allow (no kprobes, no fentry): cgroup sock_addr hooks learn who owns
 * a socket, cgroup_skb hooks count its payload, the inet_sock_set_state
 * raw tracepoint and cgroup/sock_release report its end.
 *
 * TCP bytes come, where the kernel loads ew_refresh, from the counters TCP
 * keeps in each socket (bytes acknowledged, bytes received): ew_refresh
 * copies them into the flows map before each read by user space, the close
 * hook takes the final ones. The packet hooks then only make the flow and
 * sample its first client payload, and skip the packets of every flow that
 * needs nothing more (settled, marked in the socket's storage). Elsewhere the
 * packet hooks count TCP by sequence numbers. UDP is counted by the packet
 * hooks: a socket's first peer in the socket's storage, which ew_refresh and
 * the release hook copy into its flow, other peers in their flows. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sock_key.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define TCP_CLOSE 7
#define IPV6_MAX_EXT_HEADERS 4

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ew_owner);
} owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* set by the loader before load */
	__type(key, struct ew_flow_key);
	__type(value, struct ew_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* EVENTS_SIZE */
} events SEC(".maps");

/* Processes already announced to user space, so that a process opening many
 * sockets costs one event, not one per socket. The comm is the value: a pid
 * reused by another program, or an exec, is announced again. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, char[EW_COMM_LEN]);
} announced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Set by the loader before load: ew_refresh loads on this kernel, so TCP bytes
 * come from the socket's own counters, not from each packet, and a UDP
 * socket's first peer is counted in its storage, not in its flow. */
const volatile bool counts_from_socket = false;

/* The bytes of a UDP socket's first peer: a connected socket's only one, such
 * as a QUIC connection's. Counting them here skips the flows map (a hash of
 * the 32-byte key and a shared entry) on every datagram. The two counters
 * sit on lines of their own, written by the CPUs of the two directions. */
struct udp_counts {
	__u8 peer[16];
	__u16 peer_port;
	__u16 pad;
	__u32 claimed; /* a flow is being made for the peer, or was */
	__u32 state;   /* UDP_COUNTS_* */
	__u32 pad2;
	__u64 cookie;  /* the socket's: validates a read of freed storage */
	__u8 tx_line_gap[64];
	__u64 tx_bytes;
	__u8 rx_line_gap[64];
	__u64 rx_bytes;
};

/* udp_counts.state: the peer's flow is being made (its packets count in the
 * entry, which copies them here); it is made (its packets count here); the
 * socket was released (its last packets count in the entry, which is ended). */
#define UDP_COUNTS_MAKING 0
#define UDP_COUNTS_READY 1
#define UDP_COUNTS_RELEASED 2

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct udp_counts);
} udp_counts SEC(".maps");

/* Where a sample is built: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ew_sample);
} sample_scratch SEC(".maps");

static __always_inline void stat_add(__u32 id, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &id);

	if (v)
		*v += n;
}

#define EVENTS_SIZE (4 << 20)

/* Most events wait for user space's next read (it polls at least every
 * 100 ms): a wakeup per event would cost a context switch per packet sample.
 * A ring a sixteenth full is worth waking the reader for: under connection
 * churn it fills faster than 100 ms. */
static __always_inline __u64 lazy_wakeup(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > EVENTS_SIZE / 16 ? BPF_RB_FORCE_WAKEUP
										: BPF_RB_NO_WAKEUP;
}

/* User space reads /proc/PID/exe while the process still lives: a short-lived
 * client may be gone by the next pass over the flows map. */
static __always_inline void announce(const struct ew_owner *o)
{
	__u64 *known = bpf_map_lookup_elem(&announced, &o->tgid);
	__u64 comm[2];
	struct ew_event *ev;

	__builtin_memcpy(comm, o->comm, sizeof(comm));
	if (known && known[0] == comm[0] && known[1] == comm[1])
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_add(EW_STAT_OWNER_EVENT_LOST, 1);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = EW_EV_NEW_OWNER;
	ev->flow.owner = *o;
	bpf_ringbuf_submit(ev, 0);
	bpf_map_update_elem(&announced, &o->tgid, o->comm, BPF_ANY);
}

/* Process context: remember who owns the socket. The first recorder wins, so a
 * socket inherited across fork stays with the process that opened the flow. */
static __always_inline void record_owner(struct bpf_sock *sk)
{
	struct ew_owner *o;
	__u64 uid_gid;

	if (!sk)
		return;
	o = bpf_sk_storage_get(&owners, sk, 0, 0);
	if (o) {
		/* connect() again after connect(AF_UNSPEC): a new connection,
		 * whose flow is made and sampled anew */
		if (o->settled)
			o->settled = 0;
		return;
	}
	o = bpf_sk_storage_get(&owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o) {
		stat_add(EW_STAT_OWNER_STORAGE_FULL, 1);
		return;
	}
	o->tgid = bpf_get_current_pid_tgid() >> 32;
	uid_gid = bpf_get_current_uid_gid();
	o->uid = (__u32)uid_gid;
	o->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	announce(o);
}

SEC("cgroup/connect4")
int ew_connect4(struct bpf_sock_addr *ctx)
{
	record_owner(ctx->sk);
	return 1;
}

SEC("cgroup/connect6")
int ew_connect6(struct bpf_sock_addr *ctx)
{
	record_owner(ctx->sk);
	return 1;
}

SEC("cgroup/sendmsg4")
int ew_sendmsg4(struct bpf_sock_addr *ctx)
{
	record_owner(ctx->sk);
	return 1;
}

SEC("cgroup/sendmsg6")
int ew_sendmsg6(struct bpf_sock_addr *ctx)
{
	record_owner(ctx->sk);
	return 1;
}

struct packet {
	__u64 payload;     /* transport payload bytes */
	__u32 payload_off; /* offset of the payload in the skb */
	__u32 seq;         /* TCP: sequence number of the first payload byte */
	__u8 peer[16];
	__u16 peer_port;
	__u8 proto;
	__u8 syn;          /* TCP: a SYN, whose sequence number comes before the data's */
};

/* The part of a TCP header read here: ports, sequence number, data offset,
 * flags. A UDP header's ports are its first 4 bytes. */
#define TCP_HEAD 14
#define UDP_HEAD 4
#define TCP_FLAG_SYN 0x02

/* skb->data is at the network header on both cgroup_skb hooks. Returns the
 * offset of the transport header, or -1 for anything but TCP and UDP. */
static __always_inline int parse_ip(struct __sk_buff *skb, bool egress, struct packet *p)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		p->proto = ip.protocol;
		set_v4mapped(p->peer, egress ? ip.daddr : ip.saddr);
		return ip.ihl * 4;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		__u8 ext[2];
		int off = sizeof(ip6);
		__u8 next;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		__builtin_memcpy(p->peer, egress ? &ip6.daddr : &ip6.saddr, 16);
		next = ip6.nexthdr;
		for (int i = 0; i < IPV6_MAX_EXT_HEADERS; i++) {
			if (next != 0 && next != 43 && next != 60 && next != 44)
				break;
			if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)))
				return -1;
			off += next == 44 ? 8 : (ext[1] + 1) * 8;
			next = ext[0];
		}
		p->proto = next;
		return off;
	}
	return -1;
}

/* The peer's port, the payload and, for TCP, where the payload sits in the
 * stream, from the transport header th (TCP_HEAD bytes for TCP, UDP_HEAD for
 * UDP) at offset thoff. -1 for a packet shorter than its headers. */
static __always_inline int set_payload(struct __sk_buff *skb, bool egress, struct packet *p,
				       __u32 thoff, const __u8 *th)
{
	__u32 thlen = 8;

	p->peer_port = egress ? (th[2] << 8 | th[3]) : (th[0] << 8 | th[1]);
	if (p->proto == IPPROTO_TCP) {
		thlen = (th[12] >> 4) * 4;
		p->syn = !!(th[13] & TCP_FLAG_SYN);
		p->seq = bpf_ntohl(*(__u32 *)(th + 4)) + p->syn; /* data starts after the SYN */
	}
	if (skb->len < thoff + thlen)
		return -1;
	p->payload = skb->len - thoff - thlen;
	p->payload_off = thoff + thlen;
	return 0;
}

/* The transport header in the linear part of the skb, read in place: the
 * common case, and several times cheaper than bpf_skb_load_bytes. Returns 0
 * with p filled, -1 for anything but TCP and UDP, 1 when the headers are not
 * linear (or IPv6 has extension headers) and the copying parser must do. */
static __always_inline int parse_direct(struct __sk_buff *skb, bool egress, struct packet *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 thoff;
	__u8 *th;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;

		if ((void *)(ip + 1) > end)
			return 1;
		p->proto = ip->protocol;
		set_v4mapped(p->peer, egress ? ip->daddr : ip->saddr);
		thoff = ip->ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;

		if ((void *)(ip6 + 1) > end)
			return 1;
		p->proto = ip6->nexthdr;
		if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
			return 1;
		__builtin_memcpy(p->peer, egress ? &ip6->daddr : &ip6->saddr, 16);
		thoff = sizeof(*ip6);
	} else {
		return -1;
	}
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return -1;
	thoff &= 0xff; /* at most 60 for IPv4: keeps the verifier's bounds small */
	th = data + thoff;
	if ((void *)th + TCP_HEAD > end)
		return 1;
	return set_payload(skb, egress, p, thoff, th);
}

static __always_inline int parse_packet(struct __sk_buff *skb, bool egress, struct packet *p)
{
	int direct = parse_direct(skb, egress, p);
	/* zeroed: UDP loads only UDP_HEAD bytes of it */
	__u8 th[TCP_HEAD] __attribute__((aligned(4))) = {};
	int thoff;

	if (direct <= 0)
		return direct;
	thoff = parse_ip(skb, egress, p);
	if (thoff < 0)
		return -1;
	if (p->proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, thoff, th, TCP_HEAD))
			return -1;
	} else if (p->proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, thoff, th, UDP_HEAD))
			return -1;
	} else {
		return -1;
	}
	return set_payload(skb, egress, p, thoff, th);
}

/* The data bytes in a TCP socket's bytes_acked, which counts the SYN once it
 * is acknowledged. */
static __always_inline __u64 data_acked(__u64 bytes_acked)
{
	return bytes_acked ? bytes_acked - 1 : 0;
}

/* *count = n where n is more. A flow's counts only grow (user space takes a
 * smaller value for a new flow under the same key); by compare-and-swap,
 * because the close hook and ew_refresh may write one entry at once. */
static __always_inline void raise_to(__u64 *count, __u64 n)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = *count;

		if (n <= old || __sync_val_compare_and_swap(count, old, n) == old)
			return;
	}
}

/* The end of the UDP flow counted in c, the socket's storage, if its entry is
 * in the map: the final counts copied in, and its later packets (which come
 * until the socket is unhashed) counted in the entry itself. Flagged closed,
 * user space finishes it even if the release event is lost (a full ring).
 * ew_refresh no longer reads the storage, which goes with the socket. */
static __always_inline void end_udp_flow(const struct ew_flow_key *key, const struct udp_counts *c)
{
	struct ew_flow *f = bpf_map_lookup_elem(&flows, key);

	if (!f || f->udp_counts != (__u64)c)
		return;
	raise_to(&f->tx_bytes, c->tx_bytes);
	raise_to(&f->rx_bytes, c->rx_bytes);
	__sync_fetch_and_and(&f->flags, ~EW_FLOW_COUNTED_IN_SOCKET);
	__sync_fetch_and_or(&f->flags, EW_FLOW_CLOSED);
	f->sock = 0;
}

/* The UDP counts of the socket for the flow being made, if that flow is the
 * socket's first (DNS aside: its answers are sampled from the flow's
 * packets). The claim keeps a second peer out while the flow is made. */
static __always_inline struct udp_counts *claim_udp_counts(struct bpf_sock *sk,
							  const struct ew_flow_key *key)
{
	struct udp_counts *c;

	if (key->peer_port == 53)
		return NULL;
	c = bpf_sk_storage_get(&udp_counts, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c || c->claimed || __sync_val_compare_and_swap(&c->claimed, 0, 1) != 0)
		return NULL;
	__builtin_memcpy(c->peer, key->peer, sizeof(c->peer));
	c->peer_port = key->peer_port;
	c->cookie = key->cookie;
	return c;
}

/* A new flow's entry. Out of line: the common case, an existing flow, then
 * does not zero a whole entry on the stack for every packet. */
static __noinline struct ew_flow *flow_new(struct ew_flow_key *key, struct ew_owner *owner,
					    struct bpf_sock *sk)
{
	struct udp_counts *udp = NULL;
	struct ew_flow init = {};
	struct bpf_tcp_sock *tp;

	init.owner = *owner;
	if (counts_from_socket && key->proto == IPPROTO_TCP && (tp = bpf_tcp_sock(sk))) {
		/* what the socket had before we saw it is not this flow's: a
		 * socket from before start (a new one starts from zero) */
		init.sock = (__u64)sk;
		init.owner_storage = (__u64)owner;
		init.tx_base = data_acked(tp->bytes_acked);
		init.rx_base = tp->bytes_received;
	} else if (counts_from_socket && key->proto == IPPROTO_UDP &&
		   (udp = claim_udp_counts(sk, key))) {
		/* the counts start at zero with this flow: nothing counts
		 * there before the flow is made */
		init.flags = EW_FLOW_COUNTED_IN_SOCKET;
		init.sock = (__u64)sk;
		init.udp_counts = (__u64)udp;
	}
	if (bpf_map_update_elem(&flows, key, &init, BPF_NOEXIST)) {
		if (udp)
			udp->claimed = 0; /* made first by another CPU, or no room */
		return bpf_map_lookup_elem(&flows, key);
	}
	/* Ready after the peer is written (a full barrier). A release of the
	 * socket meanwhile may have missed the entry, not yet in the map:
	 * this ends it instead. */
	if (udp && __sync_val_compare_and_swap(&udp->state, UDP_COUNTS_MAKING, UDP_COUNTS_READY) ==
			   UDP_COUNTS_RELEASED)
		end_udp_flow(key, udp);
	return bpf_map_lookup_elem(&flows, key);
}

static __always_inline struct ew_flow *flow_for(struct ew_flow_key *key, struct ew_owner *owner,
						 bool closed, struct bpf_sock *sk)
{
	struct ew_flow *f = bpf_map_lookup_elem(&flows, key);

	/* A closed TCP socket can still see a stray packet; recreating its flow
	 * here would leave an entry that no close event will ever remove. */
	if (f || closed)
		return f;
	return flow_new(key, owner, sk);
}

/* Sends the start of this packet's payload to user space. Returns the sample
 * (still in the scratch buffer) or NULL. */
static __always_inline struct ew_sample *sample(struct __sk_buff *skb, const struct packet *p,
						const struct ew_flow_key *key, __u32 tgid,
						__u64 offset, __u32 type)
{
	__u32 zero = 0, len = p->payload;
	struct ew_sample *s = bpf_map_lookup_elem(&sample_scratch, &zero);

	if (!s)
		return NULL;
	if (len > EW_SAMPLE_MAX)
		len = EW_SAMPLE_MAX;
	if (len == 0 || bpf_skb_load_bytes(skb, p->payload_off, s->data, len))
		return NULL;
	s->type = type;
	s->len = len;
	s->offset = offset;
	s->key = *key;
	s->tgid = tgid;
	s->pad = 0;
	if (bpf_ringbuf_output(&events, s, offsetof(struct ew_sample, data) + len, lazy_wakeup())) {
		stat_add(EW_STAT_SAMPLE_LOST, 1);
		return NULL;
	}
	return s;
}

/* The client payloads that name the server are sampled: nothing more to take
 * from this flow's packets. */
static __always_inline bool sampled(const struct ew_flow *f)
{
	return f->samples >= 2 || (f->samples == 1 && !(f->flags & EW_FLOW_HELLO_CONTINUES));
}

/* The first client payload names the server: a TLS ClientHello's SNI or an
 * HTTP request's Host. One packet per flow, two when a ClientHello is longer
 * than the first segment. */
static __always_inline void sample_client(struct __sk_buff *skb, const struct packet *p,
					  const struct ew_flow_key *key, struct ew_flow *f,
					  __u32 tgid, __u64 offset)
{
	struct ew_sample *s;
	__u32 record;

	if (sampled(f))
		return;
	if (offset < f->sample_end)
		return; /* a retransmission: its data was sampled, or passed unsampled */
	f->sample_end = offset + p->payload;
	f->samples++;
	s = sample(skb, p, key, tgid, offset, EW_EV_SAMPLE_CLIENT);
	if (!s || f->samples != 1 || s->len < 5 || s->data[0] != 0x16)
		return;
	record = 5 + ((__u32)s->data[3] << 8 | s->data[4]);
	if (record > s->len)
		f->flags |= EW_FLOW_HELLO_CONTINUES;
}

/* How far past the counted position a segment may end and still count. The
 * receive hook runs before TCP checks the window, so a forged or stray
 * segment must not move the position by much: 16 MiB is above the windows of
 * default buffer settings (tcp_rmem's 6 MiB). A real segment further ahead,
 * behind a hole larger than this, is left out and its bytes are counted by
 * the first segment that ends within reach once the hole is filled. */
#define MAX_TCP_ADVANCE (16 << 20)

/* A TCP direction counts how far its stream has advanced, so that each byte
 * counts once: a retransmission, or a segment the stack drops after this hook
 * and gets again, adds nothing. Counting starts at the SYN or, for a flow
 * first seen mid-stream, at its first data segment. Segments without data
 * (ACKs, FINs, keepalives) never get here: the sequence numbers after a FIN
 * and of a keepalive are one off the data's. A segment past a hole counts the
 * hole too, which TCP fills before the stream goes on. *bytes is the stream
 * position, updated by compare-and-swap because two CPUs may see segments of
 * one flow at once; a CPU that loses three times leaves its bytes to the
 * flow's next data segment, whose end covers them. */
/* The sequence number of the direction's byte 0, set by its first segment. */
static __always_inline __u32 stream_base(__u64 *seq_base, const struct packet *p)
{
	__u64 base = *seq_base;

	if (!(base & EW_SEQ_KNOWN)) {
		__sync_val_compare_and_swap(seq_base, base, EW_SEQ_KNOWN | p->seq);
		base = *seq_base;
	}
	return base;
}

static __always_inline void count_stream(__u64 *bytes, __u32 base, const struct packet *p)
{
	__u32 end = p->seq + (__u32)p->payload;

	for (int i = 0; i < 3; i++) {
		__u64 old = *bytes;
		__s32 ahead = end - (base + (__u32)old);

		if (ahead <= 0 || ahead > MAX_TCP_ADVANCE)
			return;
		if (__sync_val_compare_and_swap(bytes, old, old + ahead) == old)
			return;
	}
}

/* ew_refresh's runs. */
__u32 refresh_round;

/* The socket had a packet in this round of ew_refresh: its counters may move.
 * Written once a round, not on every packet, so that the line stays shared
 * between the CPUs of the two directions. */
static __always_inline void mark_moved(struct ew_owner *owner)
{
	__u32 round = refresh_round;

	if (owner->moved_round != round)
		owner->moved_round = round;
}

static __always_inline bool same_peer(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, sizeof(x));
	__builtin_memcpy(y, b, sizeof(y));
	return x[0] == y[0] && x[1] == y[1];
}

static __always_inline void add_udp(struct udp_counts *c, bool egress, __u64 bytes)
{
	__sync_fetch_and_add(egress ? &c->tx_bytes : &c->rx_bytes, bytes);
}

/* A datagram of its socket's first peer, once the flow is made: counted in
 * the socket's storage. Other peers' go on to their flows, parsed again
 * there; so does every datagram of a socket without these counts, for one
 * more storage lookup. (The state is read before the peer: x86 keeps loads
 * in order; a weakly ordered CPU would want an acquire load.) */
static __always_inline bool counted_in_socket(struct __sk_buff *skb, bool egress,
					      struct bpf_sock *sk)
{
	struct udp_counts *c = bpf_sk_storage_get(&udp_counts, sk, 0, 0);
	struct packet p = {};

	if (!c || c->state != UDP_COUNTS_READY || parse_packet(skb, egress, &p) ||
	    p.proto != IPPROTO_UDP)
		return false;
	if (p.peer_port != c->peer_port || !same_peer(p.peer, c->peer))
		return false;
	add_udp(c, egress, p.payload);
	return true;
}

static __always_inline int count(struct __sk_buff *skb, bool egress)
{
	__u32 settled_bit = egress ? EW_SETTLED_EGRESS : EW_SETTLED_INGRESS;
	struct bpf_sock *sk = skb->sk;
	struct ew_flow_key key = {};
	struct packet p = {};
	struct ew_owner *owner;
	struct ew_flow *f;
	bool closed;
	__u32 state;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	if (counts_from_socket && sk->protocol == IPPROTO_UDP && counted_in_socket(skb, egress, sk))
		return 1;
	state = sk->state;
	owner = bpf_sk_storage_get(&owners, sk, 0, 0);
	if (!owner)
		return 1; /* not an outbound socket: nothing of ours */
	if (counts_from_socket)
		mark_moved(owner);
	if (owner->settled & settled_bit)
		return 1; /* the socket counts, the flow is made and sampled */
	if (parse_packet(skb, egress, &p))
		return 1;
	/* An ACK, FIN or RST carries no data: nothing to count or sample, and
	 * it is half the packets of a bulk transfer (the other direction's). */
	if (p.proto == IPPROTO_TCP && !p.payload && !p.syn)
		return 1;
	key.cookie = bpf_get_socket_cookie(skb);
	__builtin_memcpy(key.peer, p.peer, sizeof(key.peer));
	key.peer_port = p.peer_port;
	key.proto = p.proto;
	closed = key.proto == IPPROTO_TCP && state == TCP_CLOSE;
	f = flow_for(&key, owner, closed, sk);
	if (!f) {
		/* a stray packet of a closed socket (no payload to lose) is no loss */
		if (!closed) {
			stat_add(EW_STAT_FLOW_MAP_FULL, 1);
			stat_add(EW_STAT_BYTES_UNACCOUNTED, p.payload);
		}
		return 1;
	}
	if (p.proto == IPPROTO_TCP) {
		__u32 base = stream_base(egress ? &f->tx_seq_base : &f->rx_seq_base, &p);

		/* the segment's stream offset comes from its sequence number:
		 * a retransmitted first segment is not taken for the second */
		if (p.payload && egress)
			sample_client(skb, &p, &key, f, owner->tgid, (__u32)(p.seq - base));
		if (counts_from_socket) {
			/* the socket counts: this direction is done once sampled */
			if (!egress || sampled(f))
				owner->settled |= settled_bit;
			return 1;
		}
		if (p.payload) /* a SYN only set the base */
			count_stream(egress ? &f->tx_bytes : &f->rx_bytes, base, &p);
		return 1;
	}
	if (!egress && p.peer_port == 53)
		sample(skb, &p, &key, owner->tgid, f->rx_bytes, EW_EV_SAMPLE_DNS);
	if (f->flags & EW_FLOW_COUNTED_IN_SOCKET) {
		/* the first peer's packets that came before its counts were
		 * ready, while another CPU made the flow */
		struct udp_counts *c = bpf_sk_storage_get(&udp_counts, sk, 0, 0);

		if (c)
			add_udp(c, egress, p.payload);
		return 1;
	}
	__sync_fetch_and_add(egress ? &f->tx_bytes : &f->rx_bytes, p.payload);
	return 1;
}

SEC("cgroup_skb/egress")
int ew_egress(struct __sk_buff *skb)
{
	return count(skb, true);
}

SEC("cgroup_skb/ingress")
int ew_ingress(struct __sk_buff *skb)
{
	return count(skb, false);
}

/* bytes_acked and bytes_received share a cache-line group of tcp_sock: one
 * probe read for both where they lie this close (each read costs about
 * 100 ns, and ew_refresh reads every live flow's). */
#define COUNTERS_SPAN 128

static __always_inline void read_acked_received(struct tcp_sock *tp, __u64 *acked,
						__u64 *received)
{
	__u32 a = bpf_core_field_offset(struct tcp_sock, bytes_acked);
	__u32 r = bpf_core_field_offset(struct tcp_sock, bytes_received);
	__u32 lo = a < r ? a : r, len = (a < r ? r - a : a - r) + 8;
	__u64 span[COUNTERS_SPAN / 8];

	if (len <= sizeof(span) && !bpf_probe_read_kernel(span, len, (void *)tp + lo)) {
		*acked = span[(a - lo) / 8];
		*received = span[(r - lo) / 8];
		return;
	}
	*acked = BPF_CORE_READ(tp, bytes_acked);
	*received = BPF_CORE_READ(tp, bytes_received);
}

static __always_inline __u64 above(__u64 count, __u64 base)
{
	return count > base ? count - base : 0;
}

/* A TCP flow's data bytes acknowledged and received, from the counters TCP
 * keeps in its socket, less what the socket had when first seen. ew_refresh
 * reads them without the socket's lock, so each is read before what corrects
 * it. Sent data is bytes_acked less the SYN, capped by the data sent once
 * (bytes_sent less bytes_retrans), which leaves out an acknowledged FIN:
 * never above the truth. Received data is bytes_received less a received FIN
 * (SOCK_DONE): TCP counts the FIN a few instructions before it sets SOCK_DONE,
 * and a read between the two gives one byte more, which the count keeps (it
 * only grows). The close hook runs under the socket's lock and reads exact
 * counts. Returns false when neither can raise the flow's counts, having read
 * only bytes_acked and bytes_received, which bound them from above: a flow
 * with nothing new since the last read, as most are. */
static __always_inline bool flow_totals(const struct ew_flow *f, struct sock *sk, __u64 *tx,
					__u64 *rx)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u64 acked, received, sent, retrans, flags;

	read_acked_received(tp, &acked, &received);
	acked = data_acked(acked);
	if (above(acked, f->tx_base) <= f->tx_bytes && above(received, f->rx_base) <= f->rx_bytes)
		return false;
	sent = BPF_CORE_READ(tp, bytes_sent);
	retrans = BPF_CORE_READ(tp, bytes_retrans);
	flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	if (sent - retrans < acked)
		acked = sent - retrans;
	if (received && (flags & (1ull << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
		received--;
	*tx = above(acked, f->tx_base);
	*rx = above(received, f->rx_base);
	return true;
}

/* Rounds in which a socket is read after its last packet. TCP moves its
 * counters a moment after the packet hooks run (later when the socket's owner
 * holds its lock): the round of the packet may read the socket before that,
 * the next one reads it after. */
#define MOVED_ROUNDS 2

/* Whether the flow's socket had packets in the last rounds, from its owner's
 * storage (by address: the syscall program may not call the storage helper).
 * Storage freed with its socket reads as anything, and a read socket's cookie
 * is checked. */
static __always_inline bool moved_lately(const struct ew_flow *f, __u32 round)
{
	__u32 moved;

	if (bpf_probe_read_kernel(&moved, sizeof(moved),
				  (void *)f->owner_storage + offsetof(struct ew_owner, moved_round)))
		return true;
	return (__s32)(round - moved) <= MOVED_ROUNDS;
}

/* A UDP flow's counts from its socket's storage, which is freed with the
 * socket: the cookie stored with them, read after them, tells that they are
 * still this socket's. */
static __always_inline void refresh_udp(const struct ew_flow_key *key, struct ew_flow *f)
{
	__u64 at = f->udp_counts, tx, rx, cookie;

	if (bpf_probe_read_kernel(&tx, sizeof(tx), (void *)at + offsetof(struct udp_counts, tx_bytes)) ||
	    bpf_probe_read_kernel(&rx, sizeof(rx), (void *)at + offsetof(struct udp_counts, rx_bytes)) ||
	    bpf_probe_read_kernel(&cookie, sizeof(cookie),
				  (void *)at + offsetof(struct udp_counts, cookie)))
		return;
	if (cookie != key->cookie || f->udp_counts != at)
		return;
	raise_to(&f->tx_bytes, tx);
	raise_to(&f->rx_bytes, rx);
}

static long refresh_flow(struct bpf_map *map, const struct ew_flow_key *key, struct ew_flow *f,
			 void *ctx)
{
	struct sock *sk = (struct sock *)f->sock;
	__u64 cookie = key->cookie, tx, rx;
	__u32 round = refresh_round;
	bool look_closer, closed, fresh;

	if (!sk || (f->flags & EW_FLOW_CLOSED))
		return 0; /* not counted from its socket, or its final counts are in */
	if (f->flags & EW_FLOW_COUNTED_IN_SOCKET) {
		refresh_udp(key, f);
		return 0;
	}
	/* Every 16th round a flow's socket is read whatever its packets, for
	 * its state (below) and as a safety net for the marks. */
	look_closer = ((cookie + round) & 15) == 0;
	/* Most flows: an idle socket is not read at all, two cache lines of
	 * its counters and one of its cookie saved. */
	if (!look_closer && !moved_lately(f, round))
		return 0;
	fresh = flow_totals(f, sk, &tx, &rx);
	if (!fresh && !look_closer)
		return 0;
	/* After the counters: a socket freed since, whose memory may hold
	 * another socket by now, has another cookie, and what was read is not
	 * this flow's. (x86 keeps loads in order; a weakly ordered CPU such as
	 * arm64 may not, and BPF has no read barrier to ask it: there a socket
	 * reused in the instant between the two reads could lend its counts,
	 * which are kept only where they are higher.) */
	if (BPF_CORE_READ(sk, __sk_common.skc_cookie.counter) != cookie)
		return 0;
	/* A closed socket's entry, which the close hook did not see: a packet
	 * racing the close made it again after the hook deleted it (the hook
	 * runs before the socket's state becomes TCP_CLOSE). User space ends it. */
	closed = look_closer && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_CLOSE;
	/* The map is preallocated: an entry deleted by the close hook while the
	 * socket was read can be taken by a new flow at once. What was read is
	 * this entry's only if it still is this flow's. */
	if (key->cookie != cookie || f->sock != (__u64)sk)
		return 0;
	if (fresh) {
		raise_to(&f->tx_bytes, tx);
		raise_to(&f->rx_bytes, rx);
	}
	if (closed)
		__sync_fetch_and_or(&f->flags, EW_FLOW_CLOSED);
	return 0;
}

/* Run by user space before each read of the flows map (BPF_PROG_TEST_RUN):
 * the live TCP flows' counters, from their sockets, and the UDP flows' counted
 * in their sockets' storage. */
SEC("syscall")
int ew_refresh(void *ctx)
{
	refresh_round++;
	bpf_for_each_map_elem(&flows, refresh_flow, NULL, 0);
	return 0;
}

/* The end of a TCP flow, for every socket including those opened before we
 * started. Final counters go to user space and the entry is freed at once, so
 * connection churn does not fill the map between two reads. A raw tracepoint:
 * it needs no tracefs mount, which many hosts do not have. */
SEC("raw_tp/inet_sock_set_state")
int ew_tcp_state(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->args[0];
	struct ew_flow_key key = {};
	struct ew_event *ev;
	struct ew_flow *f;

	if ((int)ctx->args[2] != TCP_CLOSE || !tcp_flow_key(sk, &key))
		return 0;
	f = bpf_map_lookup_elem(&flows, &key);
	if (!f)
		return 0;
	if (f->sock) {
		__u64 tx, rx;

		if (flow_totals(f, sk, &tx, &rx)) {
			raise_to(&f->tx_bytes, tx);
			raise_to(&f->rx_bytes, rx);
		}
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		f->flags |= EW_FLOW_CLOSED;
		stat_add(EW_STAT_CLOSE_DEFERRED, 1);
		return 0;
	}
	ev->type = EW_EV_TCP_CLOSED;
	ev->pad = 0;
	ev->key = key;
	ev->flow.owner = f->owner;
	ev->flow.tx_bytes = f->tx_bytes;
	ev->flow.rx_bytes = f->rx_bytes;
	ev->flow.flags = f->flags;
	ev->flow.samples = f->samples;
	bpf_map_delete_elem(&flows, &key);
	bpf_ringbuf_submit(ev, lazy_wakeup());
	return 0;
}

/* The final counts of a UDP socket's first peer, into its flow, which ends.
 * (A datagram that passed the ready check on another CPU an instant before,
 * and adds to the storage after the copy, is not counted.) */
static __always_inline void udp_final_counts(struct bpf_sock *sk)
{
	struct udp_counts *c = bpf_sk_storage_get(&udp_counts, sk, 0, 0);
	struct ew_flow_key key = {};

	if (!c || !c->claimed)
		return;
	__sync_lock_test_and_set(&c->state, UDP_COUNTS_RELEASED);
	key.cookie = c->cookie;
	__builtin_memcpy(key.peer, c->peer, sizeof(key.peer));
	key.peer_port = c->peer_port;
	key.proto = IPPROTO_UDP;
	/* not in the map yet: the CPU making it ends it (flow_new) */
	end_udp_flow(&key, c);
}

/* A UDP socket can have flows to many peers; user space finalizes them all by
 * cookie. TCP ends through the tracepoint above. */
SEC("cgroup/sock_release")
int ew_sock_release(struct bpf_sock *sk)
{
	struct ew_event *ev;

	if (sk->protocol != IPPROTO_UDP || !bpf_sk_storage_get(&owners, sk, 0, 0))
		return 1;
	if (counts_from_socket)
		udp_final_counts(sk);
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_add(EW_STAT_RELEASE_LOST, 1);
		return 1;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = EW_EV_SOCK_RELEASED;
	ev->key.cookie = bpf_get_socket_cookie(sk);
	ev->key.proto = IPPROTO_UDP;
	bpf_ringbuf_submit(ev, lazy_wakeup());
	return 1;
}

/* A new program: user space checks whether it carries TLS functions of its
 * own (node links OpenSSL in) before it can make a request. Loaded only with
 * TLS plaintext inspection on. */
SEC("raw_tp/sched_process_exec")
int ew_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct ew_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		stat_add(EW_STAT_OWNER_EVENT_LOST, 1);
		return 0;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = EW_EV_EXEC;
	ev->flow.owner.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
