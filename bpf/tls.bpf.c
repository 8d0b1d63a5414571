// SPDX-License-Identifier: GPL-2.0
/* TLS plaintext from uprobes on OpenSSL (SSL_write, SSL_read and their _ex
 * forms) and GnuTLS (gnutls_record_send, gnutls_record_recv). The entry probe
 * remembers the buffer; the return probe, once the call has said how many
 * bytes it moved, copies a bounded head of them to user space. Nothing blocks
 * and nothing is copied from calls that failed. (BPF_KPROBE and BPF_KRETPROBE
 * read the arguments of uprobes just as well; libbpf 1.1 has no BPF_UPROBE.)
 *
 * A call is tied to its socket by the first socket read or write syscall its
 * thread makes while inside it (the sys_enter raw tracepoint): the library's
 * own I/O on its transport. Calls that make none (an SSL_read served from
 * records already decrypted, or a library writing to a memory BIO as node
 * does) carry no socket; user space keeps the one an earlier call of the same
 * connection object found. Only the innermost of calls open inside one another
 * (TLS inside TLS) does the I/O, so an enclosing call carries none either. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sock_key.h"
#include "tls.h"

#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* Set by the loader: capture at most this many bytes of each call. */
const volatile __u32 capture_max = EW_TLS_CAPTURE_MAX;

/* The calls one thread can have open inside one another: TLS inside TLS (a
 * client's connection to an HTTPS proxy carries its connection to the API,
 * and each call on the inner one makes calls on the outer one before it
 * returns), with room to spare. */
#define TLS_CALL_DEPTH 4

/* What a return finds of its call's stack pointer at entry: x86 has popped
 * the return address the call pushed; arm64's return address is in a
 * register. */
#if defined(__TARGET_ARCH_x86)
#define RET_SP_OVER_ENTRY 8
#else
#define RET_SP_OVER_ENTRY 0
#endif

struct tls_call {
	__u64 conn;
	__u64 buf;
	__u64 count_ptr; /* _ex calls: where the library stores the byte count */
	__u64 sp;        /* the stack pointer at entry: its return finds it again */
	__u32 dir;
	__u32 pad;
	struct ew_flow_key sock; /* cookie 0 until the call does socket I/O */
};

/* A thread's open calls, the outermost first. */
struct tls_calls {
	__u32 depth;
	__u32 pad;
	struct tls_call call[TLS_CALL_DEPTH];
};

/* Open calls on the host: while it is 0 (as between a client's requests) the
 * syscall hook returns at once instead of looking its thread up. A thread
 * that exits inside calls never returns from them: the exit hook below closes
 * them. */
__u64 calls_in_flight = 0;

/* Connections that began with the HTTP/2 preface: only their long writes are
 * split into pieces (see EW_TLS_WRITE_PIECES), as an HTTP/1.1 body is
 * followed by its length alone. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ew_tls_conn);
	__type(value, __u8);
} http2_conns SEC(".maps");

/* Each thread's open calls, in the thread's own storage: reached from the
 * task without hashing, kept from one call to the next (no insert and delete
 * per call), and freed with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tls_calls);
} calls SEC(".maps");

static __always_inline struct tls_calls *thread_calls(__u64 flags)
{
	return bpf_task_storage_get(&calls, bpf_get_current_task_btf(), 0, flags);
}

/* The innermost open call, or NULL. */
static __always_inline struct tls_call *top_call(struct tls_calls *t)
{
	__u32 i = t->depth - 1; /* a depth of 0 wraps past the bound */

	if (i >= TLS_CALL_DEPTH)
		return NULL;
	/* the verifier must see the bound on the very register that indexes */
	barrier_var(i);
	return &t->call[i];
}

static __always_inline void close_top(struct tls_calls *t)
{
	if (t->depth) {
		t->depth--;
		__sync_fetch_and_sub(&calls_in_flight, 1);
	}
}

/* Closes the innermost calls whose entry stack pointer is below sp. A call
 * still open encloses the code now running, so its frame is above any frame
 * made since (the stack grows down); one below was left without a return
 * seen (by longjmp, or past the kernel's limit on nested return probes). */
static __always_inline void close_below(struct tls_calls *t, __u64 sp)
{
	for (int i = 0; i < TLS_CALL_DEPTH; i++) {
		struct tls_call *c = top_call(t);

		if (!c || c->sp >= sp)
			break;
		close_top(t);
	}
}

/* Connections user space has no use for (not an LLM endpoint, or the server
 * side of a connection): their calls are not copied. Set from user space. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ew_tls_conn);
	__type(value, __u8);
} ignored SEC(".maps");

/* Per connection, the bytes its reads returned so far: the position of each
 * read in the stream, which user space's skips (below) are given in. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ew_tls_conn);
	__type(value, __u64);
} read_pos SEC(".maps");

/* Per connection, set by user space: reads that end at or before this stream
 * position are not copied, only their length is sent. The part of a response
 * body of known length that its reader has no use for (a file or audio
 * download, all but the tail of a long JSON body) then costs a small event
 * per read, not a copy of it. A separate map from read_pos, so that user
 * space never writes what the kernel counts. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ew_tls_conn);
	__type(value, __u64);
} read_skip SEC(".maps");

#define TLS_EVENTS_SIZE (4 << 20)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TLS_EVENTS_SIZE);
} tls_events SEC(".maps");

/* Plaintext waits for user space's next read (at most 100 ms away) unless the
 * ring is an eighth full: a wakeup per TLS call costs a context switch. */
static __always_inline __u64 lazy_wakeup(void)
{
	return bpf_ringbuf_query(&tls_events, BPF_RB_AVAIL_DATA) > TLS_EVENTS_SIZE / 8
		       ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ew_tls_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EW_TLS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tls_stats SEC(".maps");

static __always_inline void stat_add(__u32 id, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&tls_stats, &id);

	if (v)
		*v += n;
}

static __always_inline void stat_inc(__u32 id)
{
	stat_add(id, 1);
}

static __always_inline int enter(struct pt_regs *ctx, __u64 conn, __u64 buf, __u64 count_ptr, __u32 dir)
{
	struct ew_tls_conn key = { .conn = conn, .tgid = bpf_get_current_pid_tgid() >> 32 };
	__u64 sp = PT_REGS_SP(ctx);
	struct tls_calls *t;
	struct tls_call *c;
	__u32 d;

	if (bpf_map_lookup_elem(&ignored, &key))
		return 0;
	t = thread_calls(BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t) {
		stat_inc(EW_TLS_STAT_CALLS_FULL);
		return 0;
	}
	/* an open call encloses this one: its frame is above this entry's */
	close_below(t, sp + 1);
	c = top_call(t);
	d = t->depth;
	if (c && c->conn == conn) {
		/* one form of a function calling another (SSL_write_ex calling
		 * SSL_write_ex2, not as a tail call): one call, which the
		 * innermost return reports, as if the outer had not been seen */
	} else if (d >= TLS_CALL_DEPTH) {
		/* the newest call is the one whose I/O comes next: it takes the
		 * innermost place, and the call it replaces goes unreported */
		stat_inc(EW_TLS_STAT_CALLS_FULL);
	} else {
		if (c)
			stat_inc(EW_TLS_STAT_NESTED);
		c = &t->call[d];
		t->depth = d + 1;
		__sync_fetch_and_add(&calls_in_flight, 1);
	}
	if (!c)
		return 0;
	c->conn = conn;
	c->buf = buf;
	c->count_ptr = count_ptr;
	c->sp = sp;
	c->dir = dir;
	__builtin_memset(&c->sock, 0, sizeof(c->sock));
	return 0;
}

static const char h2_preface[24] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static __always_inline bool starts_http2(const __u8 *data, __u64 n)
{
	if (n < sizeof(h2_preface))
		return false;
	for (int i = 0; i < sizeof(h2_preface); i++)
		if (data[i] != h2_preface[i])
			return false;
	return true;
}

/* Sends len bytes from buf as one event; a write on an HTTP/2 connection
 * longer than the capture as consecutive pieces. ev's header is filled. */
static __always_inline void send_plaintext(struct ew_tls_event *ev, const struct ew_tls_conn *key,
					   __u64 buf, __u64 len)
{
	bool split = false;
	__u64 n, size;
	__u8 one = 1;

	for (__u32 i = 0; i < EW_TLS_WRITE_PIECES; i++) {
		bool last;

		n = len < capture_max ? len : capture_max;
		if (n > EW_TLS_CAPTURE_MAX)
			n = EW_TLS_CAPTURE_MAX;
		/* The masks restate the bound in a form the verifier can follow. */
		n &= 2 * EW_TLS_CAPTURE_MAX - 1;
		if (bpf_probe_read_user(ev->data, n, (void *)buf))
			n = 0;
		if (i == 0 && ev->dir == EW_TLS_WRITE) {
			if (starts_http2(ev->data, n)) {
				bpf_map_update_elem(&http2_conns, key, &one, BPF_ANY);
				split = true;
			} else if (len > capture_max) {
				split = bpf_map_lookup_elem(&http2_conns, key);
			}
		}
		last = !split || !n || i + 1 == EW_TLS_WRITE_PIECES || len <= capture_max;
		ev->len = last ? len : n;
		ev->captured = n;
		size = offsetof(struct ew_tls_event, data) + n;
		size &= 4 * EW_TLS_CAPTURE_MAX - 1;
		if (bpf_ringbuf_output(&tls_events, ev, size, lazy_wakeup())) {
			/* later pieces would read as if they followed this one */
			stat_inc(EW_TLS_STAT_LOST);
			return;
		}
		if (last)
			return;
		buf += n;
		len -= n;
	}
}

/* Counts a read into its connection's stream position (ev->pos); true when
 * user space asked for it not to be copied, its length then sent alone. */
static __always_inline bool read_skipped(struct ew_tls_event *ev, const struct ew_tls_conn *key,
					 __u64 len)
{
	__u64 zero = 0, *pos, *until;

	pos = bpf_map_lookup_elem(&read_pos, key);
	if (!pos) {
		/* counting starts anew (a new connection, or its entry was
		 * evicted): a skip given in the old count no longer holds */
		bpf_map_delete_elem(&read_skip, key);
		bpf_map_update_elem(&read_pos, key, &zero, BPF_NOEXIST);
		pos = bpf_map_lookup_elem(&read_pos, key);
		if (!pos)
			return false;
	}
	/* a connection object is used by one thread at a time */
	ev->pos = *pos;
	*pos += len;
	until = bpf_map_lookup_elem(&read_skip, key);
	if (!until || ev->pos + len > *until)
		return false;
	ev->len = len;
	ev->captured = 0;
	if (bpf_ringbuf_output(&tls_events, ev, offsetof(struct ew_tls_event, data), lazy_wakeup()))
		stat_inc(EW_TLS_STAT_LOST);
	else
		stat_add(EW_TLS_STAT_READ_SKIPPED, len);
	return true;
}

static __always_inline int leave(struct pt_regs *ctx, long ret, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx) - RET_SP_OVER_ENTRY;
	__u32 tid = (__u32)id, zero = 0;
	struct ew_tls_conn key = {};
	struct ew_tls_event *ev;
	struct tls_calls *t;
	struct tls_call *c;
	__u64 len;

	t = thread_calls(0);
	if (!t)
		return 0;
	close_below(t, sp);
	c = top_call(t);
	/* not this call's (its entry was not followed: an ignored connection,
	 * or no room) */
	if (!c || c->sp != sp)
		return 0;
	if (ex) {
		/* SSL_read_ex / SSL_write_ex return 1 and store the count; the
		 * internal functions they forward to (openssl_inner.h), > 0 */
		len = 0;
		if (ret <= 0 || !c->count_ptr ||
		    bpf_probe_read_user(&len, sizeof(len), (void *)c->count_ptr))
			goto done;
	} else {
		if (ret <= 0)
			goto done;
		len = ret;
	}
	ev = bpf_map_lookup_elem(&scratch, &zero);
	if (!ev)
		goto done;
	ev->type = EW_TLS_EV_DATA;
	ev->dir = c->dir;
	ev->tgid = id >> 32;
	ev->tid = tid;
	ev->conn = c->conn;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->sock = c->sock;
	key.conn = c->conn;
	key.tgid = id >> 32;
	ev->pos = EW_TLS_POS_UNKNOWN;
	if (c->dir == EW_TLS_READ && read_skipped(ev, &key, len))
		goto done;
	send_plaintext(ev, &key, c->buf, len);
done:
	close_top(t);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write, void *ssl, const void *buf, int num)
{
	return enter(ctx, (__u64)ssl, (__u64)buf, 0, EW_TLS_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ret, int ret)
{
	return leave(ctx, ret, false);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read, void *ssl, void *buf, int num)
{
	return enter(ctx, (__u64)ssl, (__u64)buf, 0, EW_TLS_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ret, int ret)
{
	return leave(ctx, ret, false);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex, void *ssl, const void *buf, size_t num, size_t *written)
{
	return enter(ctx, (__u64)ssl, (__u64)buf, (__u64)written, EW_TLS_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_ret, int ret)
{
	return leave(ctx, ret, true);
}

/* OpenSSL 3.3: SSL_write_ex2(ssl, buf, num, flags, written) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex2, void *ssl, const void *buf, size_t num, __u64 flags, size_t *written)
{
	return enter(ctx, (__u64)ssl, (__u64)buf, (__u64)written, EW_TLS_WRITE);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return enter(ctx, (__u64)ssl, (__u64)buf, (__u64)readbytes, EW_TLS_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_ret, int ret)
{
	return leave(ctx, ret, true);
}

SEC("uprobe")
int BPF_KPROBE(gnutls_send, void *session, const void *data, size_t size)
{
	return enter(ctx, (__u64)session, (__u64)data, 0, EW_TLS_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(gnutls_send_ret, long ret)
{
	return leave(ctx, ret, false);
}

SEC("uprobe")
int BPF_KPROBE(gnutls_recv, void *session, void *data, size_t size)
{
	return enter(ctx, (__u64)session, (__u64)data, 0, EW_TLS_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(gnutls_recv_ret, long ret)
{
	return leave(ctx, ret, false);
}

/* The syscalls a TLS library moves its records with; fd is the first argument
 * of each. */
static __always_inline bool socket_io_syscall(long nr)
{
#if defined(__TARGET_ARCH_x86)
	return nr == 0 || nr == 1 ||   /* read, write */
	       nr == 19 || nr == 20 || /* readv, writev */
	       (nr >= 44 && nr <= 47); /* sendto, recvfrom, sendmsg, recvmsg */
#elif defined(__TARGET_ARCH_arm64)
	return (nr >= 63 && nr <= 66) || /* read, write, readv, writev */
	       nr == 206 || nr == 207 ||   /* sendto, recvfrom */
	       nr == 211 || nr == 212;     /* sendmsg, recvmsg */
#else
#error "socket I/O syscall numbers are not known for this architecture"
#endif
}

/* The flow key of the socket behind a file descriptor of the current task. */
static __always_inline bool sock_of_fd(long fd, struct ew_flow_key *key)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file;
	struct socket *sock;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return false;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return false;
	sock = BPF_CORE_READ(file, private_data);
	return tcp_flow_key(BPF_CORE_READ(sock, sk), key);
}

/* A raw tracepoint: it needs no tracefs mount. It runs for every syscall on
 * the host, so it returns before any lookup unless a TLS call is open. */
SEC("raw_tp/sys_enter")
int tls_syscall(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	struct tls_calls *t;
	struct tls_call *c;

	if (!calls_in_flight || !socket_io_syscall((long)ctx->args[1]))
		return 0;
	t = thread_calls(0);
	/* the innermost call does the I/O: in TLS inside TLS, the outer one */
	c = t ? top_call(t) : NULL;
	if (!c || c->sock.cookie)
		return 0;
	sock_of_fd(PT_REGS_PARM1_CORE_SYSCALL(regs), &c->sock);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int tls_thread_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct tls_calls *t;

	if (calls_in_flight && (t = thread_calls(0)))
		close_below(t, ~0ULL);
	return 0;
}

/* The end of a connection object: its pointer may be reused for another
 * connection, which must not inherit the first one's state. */
static __always_inline int conn_end(__u64 conn)
{
	struct ew_tls_conn key = { .conn = conn, .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct ew_tls_event *ev;

	bpf_map_delete_elem(&ignored, &key);
	bpf_map_delete_elem(&http2_conns, &key);
	bpf_map_delete_elem(&read_pos, &key);
	bpf_map_delete_elem(&read_skip, &key);
	ev = bpf_ringbuf_reserve(&tls_events, offsetof(struct ew_tls_event, data), 0);
	if (!ev) {
		stat_inc(EW_TLS_STAT_LOST);
		return 0;
	}
	__builtin_memset(ev, 0, offsetof(struct ew_tls_event, data));
	ev->type = EW_TLS_EV_CLOSE;
	ev->tgid = key.tgid;
	ev->conn = conn;
	bpf_ringbuf_submit(ev, lazy_wakeup());
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_free, void *ssl)
{
	return conn_end((__u64)ssl);
}

SEC("uprobe")
int BPF_KPROBE(gnutls_deinit, void *session)
{
	return conn_end((__u64)session);
}

char LICENSE[] SEC("license") = "GPL";
