/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* TLS plaintext events, shared by bpf/tls.bpf.c and user space. */
#ifndef EW_TLS_H
#define EW_TLS_H

#include "egresswatch.h"

/* Bytes of one TLS call's plaintext sent to user space in one event (the
 * payload_capture setting, at most this): a TLS record holds at most 16 KiB,
 * so an SSL_read is whole. A longer SSL_write goes out as consecutive events,
 * up to EW_TLS_WRITE_PIECES of them, the last saying how much was cut:
 * HTTP/2 clients hand many frames of a long request body to one call, and
 * every frame header must be seen to follow the connection. */
#define EW_TLS_CAPTURE_MAX 16384
#define EW_TLS_CAPTURE_MIN 256
#define EW_TLS_WRITE_PIECES 16

enum ew_tls_dir {
	EW_TLS_WRITE = 0, /* plaintext the process sent */
	EW_TLS_READ = 1,  /* plaintext the process received */
};

struct ew_tls_event {
	__u32 type;       /* EW_TLS_EV_DATA */
	__u32 dir;        /* enum ew_tls_dir */
	__u32 tgid;
	__u32 tid;
	__u64 conn;       /* the library's connection object (SSL *, gnutls_session_t) */
	__u64 len;        /* bytes the call moved */
	/* Reads: where the call's plaintext starts in the connection's stream
	 * of read bytes (as the kernel counted it), or EW_TLS_POS_UNKNOWN. */
	__u64 pos;
	__u32 captured;   /* bytes of data[] present: min(len, capture limit) */
	__u32 uid;
	char comm[16];
	/* The socket of the syscall the call made on its thread; cookie 0 when
	 * it made none (data already decrypted, a memory BIO as node's, or a
	 * call whose I/O is a call on another connection: TLS inside TLS). */
	struct ew_flow_key sock;
	__u8 data[EW_TLS_CAPTURE_MAX];
};

#define EW_TLS_POS_UNKNOWN (~0ull)

#define EW_TLS_EV_DATA 16
#define EW_TLS_EV_CLOSE 17 /* SSL_free / gnutls_deinit: only the header fields up to conn */

/* A connection object within a process: pointers repeat across processes. */
struct ew_tls_conn {
	__u64 conn;
	__u32 tgid;
	__u32 pad;
};

enum ew_tls_stat {
	EW_TLS_STAT_LOST,       /* plaintext events lost: ring buffer full */
	EW_TLS_STAT_CALLS_FULL, /* calls not followed: no memory for the thread's call
				 * state, or more calls open inside one another than it holds */
	EW_TLS_STAT_READ_SKIPPED, /* bytes of response bodies user space asked not to copy */
	EW_TLS_STAT_NESTED,       /* calls made inside a call on another connection (TLS in TLS) */
	EW_TLS_STAT_MAX,
};

#endif
