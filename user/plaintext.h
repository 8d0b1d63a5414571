/* SPDX-License-Identifier: GPL-2.0 */
/* TLS plaintext streams: one per connection object of a process, fed by the
 * uprobe events. Only the client side of HTTP/1.1 and HTTP/2 to LLM endpoints
 * is followed; other connections are dropped at their first request and the
 * kernel is told to stop copying them. Plaintext lives in memory only while a
 * message is parsed. */
#ifndef EW_PLAINTEXT_H
#define EW_PLAINTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include "exchange.h"
#include "hashtab.h"
#include "tls.h"

struct tls_peer {
	uint32_t tgid, uid;
	char comm[16];
	/* The connection's socket, from the last call that made a syscall on
	 * one; cookie 0 while none has (node's memory BIOs never do). */
	struct ew_flow_key sock;
};

struct plaintext_sink {
	/* Is this request to an LLM endpoint (catalogued, or LLM-shaped)? */
	bool (*wanted)(void *ctx, const struct exchange *x);
	void (*request)(void *ctx, const struct tls_peer *who, const struct exchange *x);
	void (*response)(void *ctx, const struct tls_peer *who, struct exchange *x);
	void *ctx;
};

struct plaintext_stats {
	uint64_t streams;   /* connections followed */
	uint64_t ignored;   /* connections dropped: not LLM, server side, or not HTTP */
	uint64_t unparsed;  /* connections that could not be parsed (joined midway, lost step) */
	uint64_t read_skips; /* response bodies the kernel was asked not to copy */
};

/* The kernel's maps that the streams steer, -1 where there are none. */
struct tls_kernel_maps {
	int ignored_fd;   /* connections not to copy at all */
	int read_skip_fd; /* per connection, the read position up to which not to copy */
};

/* For streams with no kernel behind them (tests, fuzzing). */
static const struct tls_kernel_maps NO_KERNEL_MAPS = { -1, -1 };

struct tls_streams {
	struct hashtab ht;
	struct plaintext_sink sink;
	struct tls_kernel_maps maps;
	struct plaintext_stats stats;
};

int tls_streams_init(struct tls_streams *t, const struct plaintext_sink *sink,
		     const struct tls_kernel_maps *maps);
void tls_streams_free(struct tls_streams *t);
/* Frees the streams of processes that are gone: a process killed mid-stream
 * never calls SSL_free. */
void tls_streams_prune(struct tls_streams *t);
/* An event from the TLS ring buffer, size bytes long. */
void tls_streams_event(struct tls_streams *t, const struct ew_tls_event *ev, size_t size);

#endif
