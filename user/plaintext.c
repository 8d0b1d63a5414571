// SPDX-License-Identifier: GPL-2.0
#include "plaintext.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "http1.h"
#include "http2.h"

enum stream_kind { STREAM_H1, STREAM_H2, STREAM_IGNORED };

struct stream {
	struct ht_node node;
	struct ew_tls_conn key;
	struct tls_peer peer;
	struct tls_streams *owner;
	enum stream_kind kind;
	enum { UNDECIDED, WANTED, UNWANTED } decision; /* by its first request */
	uint64_t skip_until; /* the read position the kernel was last asked to skip to */
	union {
		struct h1_conn h1;
		struct h2_conn h2;
	};
};

int tls_streams_init(struct tls_streams *t, const struct plaintext_sink *sink,
		     const struct tls_kernel_maps *maps)
{
	memset(t, 0, sizeof(*t));
	t->sink = *sink;
	t->maps = *maps;
	return ht_init(&t->ht) ? -ENOMEM : 0;
}

static void stream_free(struct tls_streams *t, struct stream *s)
{
	if (s->kind == STREAM_H1)
		h1_free(&s->h1);
	else if (s->kind == STREAM_H2)
		h2_free(&s->h2);
	ht_remove(&t->ht, &s->node);
	free(s);
}

void tls_streams_free(struct tls_streams *t)
{
	struct ht_iter it;
	struct ht_node *n;

	ht_iter_init(&it, &t->ht);
	while ((n = ht_iter_next(&it)))
		stream_free(t, container_of(n, struct stream, node));
	ht_free(&t->ht);
}

/* The stream is of no use: free its state and stop the kernel copying it. */
static void ignore(struct tls_streams *t, struct stream *s)
{
	__u8 one = 1;

	if (s->kind == STREAM_H1)
		h1_free(&s->h1);
	else if (s->kind == STREAM_H2)
		h2_free(&s->h2);
	s->kind = STREAM_IGNORED;
	t->stats.ignored++;
	if (t->maps.ignored_fd >= 0)
		bpf_map_update_elem(t->maps.ignored_fd, &s->key, &one, BPF_ANY);
}

static void on_request(void *ctx, struct exchange *x)
{
	struct stream *s = ctx;
	struct tls_streams *t = s->owner;

	if (s->decision == UNDECIDED) {
		/* An unwanted stream is dropped once the parser has returned. */
		s->decision = t->sink.wanted(t->sink.ctx, x) ? WANTED : UNWANTED;
		if (s->decision == WANTED)
			t->stats.streams++;
	}
	if (s->decision == WANTED)
		t->sink.request(t->sink.ctx, &s->peer, x);
}

static void on_response(void *ctx, struct exchange *x)
{
	struct stream *s = ctx;

	if (s->decision == WANTED)
		s->owner->sink.response(s->owner->sink.ctx, &s->peer, x);
}

static struct stream *stream_new(struct tls_streams *t, const struct ew_tls_event *ev)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct h1_sink sink = { on_request, on_response, s };
	const uint8_t *d = ev->data;
	size_t n = ev->captured;

	if (!s)
		return NULL;
	s->key.conn = ev->conn;
	s->key.tgid = ev->tgid;
	s->node.key = &s->key;
	s->node.key_len = sizeof(s->key);
	s->owner = t;
	s->peer.tgid = ev->tgid;
	s->peer.uid = ev->uid;
	memcpy(s->peer.comm, ev->comm, sizeof(s->peer.comm));
	s->peer.comm[sizeof(s->peer.comm) - 1] = '\0';
	ht_insert(&t->ht, &s->node);
	/* The first plaintext tells the role and the protocol. A server reads a
	 * request first; a client writes one (or, joined midway, reads a
	 * response). */
	if (ev->dir == EW_TLS_WRITE && n >= H2_PREFACE_LEN && !memcmp(d, H2_PREFACE, H2_PREFACE_LEN)) {
		s->kind = STREAM_H2;
		if (h2_init(&s->h2, &sink)) {
			s->kind = STREAM_IGNORED;
			ignore(t, s);
		}
	} else if ((ev->dir == EW_TLS_WRITE && h1_starts_request(d, n)) ||
		   (ev->dir == EW_TLS_READ && h1_starts_response(d, n))) {
		s->kind = STREAM_H1;
		h1_init(&s->h1, &sink);
		if (ev->dir == EW_TLS_READ)
			s->h1.req.state = s->h1.resp.state = H1_LOST;
	} else {
		if (ev->dir == EW_TLS_WRITE || !h1_starts_request(d, n))
			t->stats.unparsed++; /* not HTTP, or HTTP/2 joined after its preface */
		s->kind = STREAM_IGNORED;
		ignore(t, s);
	}
	return s;
}

static void conn_closed(struct tls_streams *t, const struct ew_tls_event *ev)
{
	struct ew_tls_conn key = { .conn = ev->conn, .tgid = ev->tgid };
	struct ht_node *n = ht_find(&t->ht, &key, sizeof(key));
	struct stream *s;

	if (!n)
		return;
	s = container_of(n, struct stream, node);
	if (s->kind == STREAM_H1)
		h1_close(&s->h1);
	stream_free(t, s);
}

struct process_seen {
	struct ht_node node;
	uint32_t tgid;
	bool gone;
};

/* Whether process tgid has exited, asked of the kernel once per prune: one
 * process often holds thousands of streams. */
static bool process_gone(struct hashtab *seen, uint32_t tgid)
{
	struct ht_node *n = ht_find(seen, &tgid, sizeof(tgid));
	struct process_seen *p;
	bool gone;

	if (n)
		return container_of(n, struct process_seen, node)->gone;
	gone = kill(tgid, 0) && errno == ESRCH;
	p = malloc(sizeof(*p));
	if (p) {
		p->tgid = tgid;
		p->gone = gone;
		p->node.key = &p->tgid;
		p->node.key_len = sizeof(p->tgid);
		ht_insert(seen, &p->node);
	}
	return gone;
}

/* A connection whose process died without SSL_free, which would have removed
 * the kernel's entries for it: its pid and pointer may come back in another
 * process, which must not start ignored or skipping. */
static void forget_in_kernel(struct tls_streams *t, const struct ew_tls_conn *key)
{
	if (t->maps.ignored_fd >= 0)
		bpf_map_delete_elem(t->maps.ignored_fd, key);
	if (t->maps.read_skip_fd >= 0)
		bpf_map_delete_elem(t->maps.read_skip_fd, key);
}

void tls_streams_prune(struct tls_streams *t)
{
	struct hashtab seen;
	struct ht_iter it;
	struct ht_node *n;

	if (ht_init(&seen))
		return;
	ht_iter_init(&it, &t->ht);
	while ((n = ht_iter_next(&it))) {
		struct stream *s = container_of(n, struct stream, node);

		if (process_gone(&seen, s->key.tgid)) {
			forget_in_kernel(t, &s->key);
			stream_free(t, s);
		}
	}
	ht_drain(&seen, offsetof(struct process_seen, node));
	ht_free(&seen);
}

/* Below this a body is copied: asking costs a map update, and most
 * responses are small. */
#define READ_SKIP_MIN (64u << 10)

/* The part of a response body of known length that its reader has no use for
 * (a file, audio, all but the tail of a long JSON body): the kernel sends the
 * lengths of its reads and not their bytes. Its end is given as a position in
 * the kernel's count of the connection's read bytes, so it holds however far
 * the kernel has read since this event. */
static void skip_unneeded_body(struct tls_streams *t, struct stream *s,
			       const struct ew_tls_event *ev)
{
	uint64_t unneeded = h1_body_unneeded(&s->h1), until;

	/* an unwanted stream is about to be ignored whole */
	if (s->decision != WANTED || unneeded < READ_SKIP_MIN || ev->pos == EW_TLS_POS_UNKNOWN)
		return;
	until = ev->pos + ev->len + unneeded;
	if (until == s->skip_until)
		return; /* asked at an earlier read of this body */
	s->skip_until = until;
	t->stats.read_skips++;
	if (t->maps.read_skip_fd >= 0)
		bpf_map_update_elem(t->maps.read_skip_fd, &s->key, &until, BPF_ANY);
}

void tls_streams_event(struct tls_streams *t, const struct ew_tls_event *ev, size_t size)
{
	struct ew_tls_conn key = { .conn = ev->conn, .tgid = ev->tgid };
	size_t header = offsetof(struct ew_tls_event, data);
	struct ht_node *n;
	struct stream *s;

	if (size < header)
		return;
	if (ev->type == EW_TLS_EV_CLOSE) {
		conn_closed(t, ev);
		return;
	}
	if (ev->type != EW_TLS_EV_DATA || ev->captured > EW_TLS_CAPTURE_MAX ||
	    size < header + ev->captured || ev->len < ev->captured)
		return;
	n = ht_find(&t->ht, &key, sizeof(key));
	s = n ? container_of(n, struct stream, node) : stream_new(t, ev);
	if (!s || s->kind == STREAM_IGNORED)
		return;
	if (ev->sock.cookie)
		s->peer.sock = ev->sock;
	if (s->kind == STREAM_H1) {
		if (ev->dir == EW_TLS_WRITE) {
			h1_write(&s->h1, ev->data, ev->captured, ev->len);
		} else {
			h1_read(&s->h1, ev->data, ev->captured, ev->len);
			skip_unneeded_body(t, s, ev);
		}
	} else {
		if (ev->dir == EW_TLS_WRITE)
			h2_write(&s->h2, ev->data, ev->captured, ev->len);
		else
			h2_read(&s->h2, ev->data, ev->captured, ev->len);
		if (s->h2.lost) {
			t->stats.unparsed++;
			ignore(t, s);
			return;
		}
	}
	if (s->decision == UNWANTED)
		ignore(t, s);
}
