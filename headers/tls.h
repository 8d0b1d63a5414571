/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* TLS plaintext events, shared by bpf/tls.bpf.c and user space. */
#ifndef EW_TLS_H
#define EW_TLS_H

#include "egresswatch.h"

/* Bytes of one TLS call's plaintext sent to user space: a TLS record holds at
 * most 16 KiB, so an SSL_read is whole; a larger SSL_write sends its head
 * (where the request line and headers are) and says how much was cut. */
#define EW_TLS_CAPTURE_MAX 16384

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
	__u32 captured;   /* bytes of data[] present: min(len, capture limit) */
	__u32 uid;
	char comm[16];
	/* The socket of the syscall the call made on its thread; cookie 0 when
	 * it made none (data already decrypted, or a memory BIO as node's). */
	struct ew_flow_key sock;
	__u8 data[EW_TLS_CAPTURE_MAX];
};

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
	EW_TLS_STAT_CALLS_FULL, /* calls not followed: too many threads inside TLS calls */
	EW_TLS_STAT_MAX,
};

#endif
