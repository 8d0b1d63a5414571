// SPDX-License-Identifier: GPL-2.0
/* The TLS plaintext streams, fed ring buffer events as the uprobes make them:
 * which connection object a call belongs to, the socket it is tied to, which
 * connections are followed, and that SSL_free ends one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "http2.h"
#include "body.h"
#include "plaintext.h"

#define TGID 4242
#define SEEN_MAX 8
#define CONN_A 0x55d0c0de0040ull
#define CONN_B 0x55d0c0de0080ull

struct seen {
	int wanted, requests, responses;
	struct tls_peer req_who[SEEN_MAX], resp_who[SEEN_MAX];
	char path[SEEN_MAX][512];
	struct usage usage[SEEN_MAX];
};

struct fixture {
	struct tls_streams t;
	struct seen seen;
	struct ew_tls_event *ev;
};

/* The LLM endpoint is api.openai.com; anything else is not followed. */
static bool wanted(void *ctx, const struct exchange *x)
{
	struct seen *s = ctx;

	s->wanted++;
	return !strcmp(x->authority, "api.openai.com");
}

static void on_request(void *ctx, const struct tls_peer *who, const struct exchange *x)
{
	struct seen *s = ctx;

	assert_true(s->requests < SEEN_MAX);
	s->req_who[s->requests] = *who;
	strcpy(s->path[s->requests], x->path);
	s->requests++;
}

static void on_response(void *ctx, const struct tls_peer *who, struct exchange *x)
{
	struct seen *s = ctx;

	assert_true(s->responses < SEEN_MAX);
	s->resp_who[s->responses] = *who;
	s->usage[s->responses] = exchange_usage(x);
	s->responses++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct plaintext_sink sink = { wanted, on_request, on_response, &f->seen };

	f->ev = calloc(1, sizeof(*f->ev));
	assert_int_equal(tls_streams_init(&f->t, &sink, &NO_KERNEL_MAPS), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tls_streams_free(&f->t);
	free(f->ev);
	free(f);
	return 0;
}

/* The socket a call was tied to: cookie 0 is none. */
static struct ew_flow_key sock(uint64_t cookie)
{
	struct ew_flow_key k = { .cookie = cookie, .peer_port = 443, .proto = IPPROTO_TCP };

	if (!cookie)
		return (struct ew_flow_key){ 0 };
	k.peer[10] = k.peer[11] = 0xff;
	k.peer[12] = 162;
	k.peer[13] = 159;
	k.peer[14] = 140;
	k.peer[15] = cookie;
	return k;
}

static void assert_sock(const struct tls_peer *who, uint64_t cookie)
{
	struct ew_flow_key want = sock(cookie);

	assert_memory_equal(&who->sock, &want, sizeof(want));
}

/* A call at stream position pos that moved len bytes, captured of them copied. */
static void event_at(struct fixture *f, uint32_t tgid, uint64_t conn, uint32_t dir,
		     uint64_t cookie, uint64_t pos, const void *data, size_t captured, uint64_t len)
{
	struct ew_tls_event *ev = f->ev;

	assert_true(captured <= EW_TLS_CAPTURE_MAX && captured <= len);
	memset(ev, 0, offsetof(struct ew_tls_event, data));
	ev->type = EW_TLS_EV_DATA;
	ev->dir = dir;
	ev->tgid = tgid;
	ev->tid = tgid + 1;
	ev->conn = conn;
	ev->len = len;
	ev->pos = pos;
	ev->captured = captured;
	ev->uid = 1000;
	memcpy(ev->comm, "python3", 8);
	ev->sock = sock(cookie);
	memcpy(ev->data, data, captured);
	tls_streams_event(&f->t, ev, offsetof(struct ew_tls_event, data) + captured);
}

static void event(struct fixture *f, uint32_t tgid, uint64_t conn, uint32_t dir, uint64_t cookie,
		  const void *data, size_t len)
{
	event_at(f, tgid, conn, dir, cookie, EW_TLS_POS_UNKNOWN, data, len, len);
}

static void writes(struct fixture *f, uint64_t conn, uint64_t cookie, const char *s)
{
	event(f, TGID, conn, EW_TLS_WRITE, cookie, s, strlen(s));
}

static void reads(struct fixture *f, uint64_t conn, uint64_t cookie, const char *s)
{
	event(f, TGID, conn, EW_TLS_READ, cookie, s, strlen(s));
}

/* SSL_free: only the header up to conn is filled. */
static void closes(struct fixture *f, uint64_t conn)
{
	memset(f->ev, 0, offsetof(struct ew_tls_event, data));
	f->ev->type = EW_TLS_EV_CLOSE;
	f->ev->tgid = TGID;
	f->ev->conn = conn;
	tls_streams_event(&f->t, f->ev, offsetof(struct ew_tls_event, data));
}

static const char chat_request[] =
	"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
	"Authorization: Bearer sk-proj-7QxZ2v9K\r\nContent-Type: application/json\r\n"
	"Content-Length: 2\r\n\r\n{}";
static const char chat_response[] =
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 53\r\n\r\n"
	"{\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10}}";
static const char other_request[] =
	"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";

/* An HTTP/2 connection's first write: preface, SETTINGS, a GET's HEADERS. */
static size_t h2_first_write(uint8_t *out, size_t cap, const char *path)
{
	nghttp2_nv nv[] = {
		{ (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
		{ (uint8_t *)":authority", (uint8_t *)"api.openai.com", 10, 14, 0 },
		{ (uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0 },
	};
	static const uint8_t settings[9] = { 0, 0, 0, NGHTTP2_SETTINGS };
	nghttp2_hd_deflater *d;
	size_t n = H2_PREFACE_LEN + sizeof(settings);
	ssize_t block;

	memcpy(out, H2_PREFACE, H2_PREFACE_LEN);
	memcpy(out + H2_PREFACE_LEN, settings, sizeof(settings));
	assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
	block = nghttp2_hd_deflate_hd(d, out + n + 9, cap - n - 9, nv, 4);
	nghttp2_hd_deflate_del(d);
	assert_true(block > 0 && block < 256);
	memcpy(out + n, (uint8_t[9]){ 0, 0, block, NGHTTP2_HEADERS,
				      NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 0, 0, 0, 1 }, 9);
	return n + 9 + block;
}

static void calls_without_a_socket_keep_the_one_learned(void **state)
{
	struct fixture *f = *state;
	struct seen *s = &f->seen;

	/* node's memory BIOs: the first write made no syscall */
	writes(f, CONN_A, 0, chat_request);
	assert_int_equal(s->requests, 1);
	assert_int_equal(s->req_who[0].tgid, TGID);
	assert_int_equal(s->req_who[0].uid, 1000);
	assert_string_equal(s->req_who[0].comm, "python3");
	assert_sock(&s->req_who[0], 0);
	reads(f, CONN_A, 101, chat_response);
	assert_sock(&s->resp_who[0], 101);
	/* calls that made no syscall keep the socket learned */
	writes(f, CONN_A, 0, chat_request);
	reads(f, CONN_A, 0, chat_response);
	assert_sock(&s->req_who[1], 101);
	assert_sock(&s->resp_who[1], 101);
	/* a new socket replaces it */
	writes(f, CONN_A, 202, chat_request);
	reads(f, CONN_A, 0, chat_response);
	assert_sock(&s->req_who[2], 202);
	assert_sock(&s->resp_who[2], 202);
	assert_int_equal(s->responses, 3);
	assert_int_equal(s->usage[2].input, 19);
	assert_int_equal(f->t.stats.streams, 1);
}

static void close_ends_the_stream_so_a_reused_pointer_starts_afresh(void **state)
{
	struct fixture *f = *state;
	struct seen *s = &f->seen;
	uint8_t h2[512];

	writes(f, CONN_A, 101, chat_request);
	reads(f, CONN_A, 0, "HTTP/1.1 200 OK\r\nContent-Length: 53\r\n\r\n{\"usage\"");
	closes(f, CONN_A);
	/* the object freed and allocated again, now an HTTP/2 connection */
	event(f, TGID, CONN_A, EW_TLS_WRITE, 0, h2, h2_first_write(h2, sizeof(h2), "/v1/models"));
	assert_int_equal(s->requests, 2);
	assert_string_equal(s->path[1], "/v1/models");
	assert_sock(&s->req_who[1], 0); /* not the old connection's socket */
	assert_int_equal(s->responses, 0); /* the cut response was never complete */
	assert_int_equal(f->t.stats.streams, 2);
}

static void close_completes_a_body_read_to_the_close(void **state)
{
	struct fixture *f = *state;
	struct seen *s = &f->seen;

	writes(f, CONN_A, 101, chat_request);
	reads(f, CONN_A, 101, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
	reads(f, CONN_A, 101, "{\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10}}");
	assert_int_equal(s->responses, 0);
	closes(f, CONN_A);
	assert_int_equal(s->responses, 1);
	assert_int_equal(s->usage[0].input, 19);
	assert_int_equal(s->usage[0].output, 10);
	assert_sock(&s->resp_who[0], 101);
}

static void unwanted_connection_gets_no_callbacks_until_closed(void **state)
{
	struct fixture *f = *state;
	struct seen *s = &f->seen;
	char pipelined[1024];

	/* decided by its first request: the LLM request after it changes nothing */
	snprintf(pipelined, sizeof(pipelined), "%s%s", other_request, chat_request);
	writes(f, CONN_B, 7, pipelined);
	reads(f, CONN_B, 7, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	writes(f, CONN_B, 7, chat_request);
	reads(f, CONN_B, 7, chat_response);
	assert_int_equal(s->wanted, 1);
	assert_int_equal(s->requests, 0);
	assert_int_equal(s->responses, 0);
	assert_int_equal(f->t.stats.ignored, 1);
	assert_int_equal(f->t.stats.streams, 0);

	/* a connection reusing the pointer is decided anew */
	closes(f, CONN_B);
	writes(f, CONN_B, 8, chat_request);
	reads(f, CONN_B, 8, chat_response);
	assert_int_equal(s->wanted, 2);
	assert_int_equal(s->requests, 1);
	assert_int_equal(s->responses, 1);
	assert_int_equal(f->t.stats.streams, 1);
}

static void joined_http1_resynchronizes_at_the_next_request(void **state)
{
	struct fixture *f = *state;
	struct seen *s = &f->seen;

	/* first seen reading a response, then writing the end of a request body */
	reads(f, CONN_A, 0, chat_response);
	writes(f, CONN_A, 0, "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}");
	assert_int_equal(s->wanted, 0);
	writes(f, CONN_A, 0, chat_request);
	reads(f, CONN_A, 0, chat_response);
	assert_int_equal(s->requests, 1);
	assert_int_equal(s->responses, 1);
	assert_int_equal(s->usage[0].output, 10);
	assert_int_equal(f->t.stats.unparsed, 0);
}

static void joined_http2_and_server_sides_are_not_followed(void **state)
{
	static const uint8_t settings[9] = { 0, 0, 0, NGHTTP2_SETTINGS };
	struct fixture *f = *state;
	uint8_t h2[512];
	size_t n = h2_first_write(h2, sizeof(h2), "/v1/models");

	/* HTTP/2 after its preface: HPACK state cannot be rebuilt */
	event(f, TGID, CONN_A, EW_TLS_WRITE, 0, settings, sizeof(settings));
	event(f, TGID, CONN_A, EW_TLS_WRITE, 0, h2 + H2_PREFACE_LEN, n - H2_PREFACE_LEN);
	assert_int_equal(f->t.stats.unparsed, 1);
	/* a server reads requests first: not egress, not a failure either */
	reads(f, CONN_B, 0, chat_request);
	assert_int_equal(f->t.stats.unparsed, 1);
	assert_int_equal(f->t.stats.ignored, 2);
	assert_int_equal(f->seen.wanted, 0);
	assert_int_equal(f->seen.requests, 0);
}

static void same_pointer_in_two_processes_is_two_streams(void **state)
{
	static const char other_response[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 51\r\n\r\n"
		"{\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}";
	struct fixture *f = *state;
	struct seen *s = &f->seen;

	event(f, TGID, CONN_A, EW_TLS_WRITE, 0, chat_request, strlen(chat_request));
	event(f, TGID + 10, CONN_A, EW_TLS_WRITE, 0, chat_request, strlen(chat_request));
	event(f, TGID + 10, CONN_A, EW_TLS_READ, 0, other_response, strlen(other_response));
	event(f, TGID, CONN_A, EW_TLS_READ, 0, chat_response, strlen(chat_response));
	assert_int_equal(s->responses, 2);
	assert_int_equal(s->resp_who[0].tgid, TGID + 10);
	assert_int_equal(s->usage[0].input, 7);
	assert_int_equal(s->resp_who[1].tgid, TGID);
	assert_int_equal(s->usage[1].input, 19);
}

/* A process killed mid-stream never calls SSL_free: prune drops the streams of
 * processes that are gone, and only those. */
static void prune_drops_the_streams_of_exited_processes(void **state)
{
	struct fixture *f = *state;
	uint32_t self = getpid(), gone;
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	gone = child; /* reaped: the pid names no process until it is reused */
	for (uint64_t conn = 1; conn <= 3; conn++) {
		event(f, self, conn, EW_TLS_WRITE, 0, chat_request, strlen(chat_request));
		event(f, gone, conn, EW_TLS_WRITE, 0, chat_request, strlen(chat_request));
	}
	assert_int_equal(f->t.ht.count, 6);
	tls_streams_prune(&f->t);
	assert_int_equal(f->t.ht.count, 3);
}

/* A 1 MB file download on a followed connection: once its head is read the
 * kernel is asked to skip to the body's end, its reads then come as lengths
 * alone, and the next response on the connection is read with its usage. A
 * JSON body is copied whole up to BODY_JSON_MAX; past that, all but its tail
 * is skipped, and the usage in the tail is read. */
static void unneeded_body_is_skipped(void **state)
{
	struct fixture *f = *state;
	static const char file_request[] =
		"GET /v1/files/file-abc/content HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
	static const char file_head[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
		"Content-Length: 1000000\r\n\r\n0123456789";
	static const char json_head[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{";
	static const char long_json_head[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n\r\n{";
	static const char tail[] = "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10}}";
	uint64_t pos = 5000; /* reads before the request: where the stream stands */
	uint64_t head = strlen(file_head), left = 1000000 - 10, at, skipped;

	writes(f, CONN_A, 1, file_request);
	event_at(f, TGID, CONN_A, EW_TLS_READ, 1, pos, file_head, head, head);
	assert_int_equal(f->t.stats.read_skips, 1);
	/* the kernel sends the body's reads as their lengths */
	event_at(f, TGID, CONN_A, EW_TLS_READ, 1, pos + head, "", 0, left - 90000);
	event_at(f, TGID, CONN_A, EW_TLS_READ, 1, pos + head + left - 90000, "", 0, 90000);
	assert_int_equal(f->seen.responses, 1);
	assert_int_equal(f->t.stats.read_skips, 1); /* one request per body */
	writes(f, CONN_A, 1, chat_request);
	at = pos + head + left;
	event_at(f, TGID, CONN_A, EW_TLS_READ, 1, at, chat_response, strlen(chat_response),
		 strlen(chat_response));
	assert_int_equal(f->seen.responses, 2);
	assert_int_equal(f->seen.usage[1].input, 19);
	assert_int_equal(f->seen.usage[1].output, 10);
	/* a JSON body kept whole is copied: its usage may be anywhere in it */
	writes(f, CONN_A, 1, chat_request);
	at += strlen(chat_response);
	event_at(f, TGID, CONN_A, EW_TLS_READ, 1, at, json_head, strlen(json_head), strlen(json_head));
	assert_int_equal(f->t.stats.read_skips, 1);
	closes(f, CONN_A);
	/* a longer one: all but its tail is skipped */
	writes(f, CONN_B, 2, chat_request);
	event_at(f, TGID, CONN_B, EW_TLS_READ, 2, 0, long_json_head, strlen(long_json_head),
		 strlen(long_json_head));
	assert_int_equal(f->t.stats.read_skips, 2);
	skipped = 3000000 - 1 - BODY_JSON_TAIL;
	event_at(f, TGID, CONN_B, EW_TLS_READ, 2, strlen(long_json_head), "", 0, skipped);
	at = strlen(long_json_head) + skipped;
	/* the tail: filler, then the usage that closes the document */
	for (uint64_t n, left_tail = BODY_JSON_TAIL; left_tail; at += n, left_tail -= n) {
		static char piece[16384];

		n = left_tail < sizeof(piece) ? left_tail : sizeof(piece);
		memset(piece, ' ', n);
		if (n == left_tail)
			memcpy(piece + n - strlen(tail), tail, strlen(tail));
		event_at(f, TGID, CONN_B, EW_TLS_READ, 2, at, piece, n, n);
	}
	assert_int_equal(f->seen.responses, 3);
	assert_int_equal(f->seen.usage[2].input, 19);
	assert_int_equal(f->seen.usage[2].output, 10);
}

static void short_or_inconsistent_events_are_dropped(void **state)
{
	struct fixture *f = *state;
	struct ew_tls_event *ev = f->ev;
	size_t header = offsetof(struct ew_tls_event, data), n = strlen(chat_request);

	memset(ev, 0, header);
	ev->type = EW_TLS_EV_DATA;
	ev->tgid = TGID;
	ev->conn = CONN_A;
	memcpy(ev->data, chat_request, n);
	ev->captured = ev->len = n;
	tls_streams_event(&f->t, ev, header - 1);          /* shorter than its header */
	tls_streams_event(&f->t, ev, header + n - 1);      /* shorter than captured */
	ev->len = n - 1;
	tls_streams_event(&f->t, ev, header + n);          /* captured more than the call moved */
	ev->len = ev->captured = EW_TLS_CAPTURE_MAX + 1;
	tls_streams_event(&f->t, ev, sizeof(*ev));         /* past the capture limit */
	ev->len = ev->captured = n;
	ev->type = 99;
	tls_streams_event(&f->t, ev, header + n);          /* an unknown type */
	assert_int_equal(f->t.ht.count, 0);
	assert_int_equal(f->seen.wanted, 0);

	ev->type = EW_TLS_EV_DATA;
	tls_streams_event(&f->t, ev, header + n);
	assert_int_equal(f->seen.requests, 1);
}

static int init_fingerprints(void **state)
{
	return fingerprint_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(calls_without_a_socket_keep_the_one_learned, setup, teardown),
		cmocka_unit_test_setup_teardown(close_ends_the_stream_so_a_reused_pointer_starts_afresh, setup,
						teardown),
		cmocka_unit_test_setup_teardown(close_completes_a_body_read_to_the_close, setup, teardown),
		cmocka_unit_test_setup_teardown(unwanted_connection_gets_no_callbacks_until_closed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(joined_http1_resynchronizes_at_the_next_request, setup, teardown),
		cmocka_unit_test_setup_teardown(joined_http2_and_server_sides_are_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(same_pointer_in_two_processes_is_two_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(short_or_inconsistent_events_are_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(unneeded_body_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(prune_drops_the_streams_of_exited_processes, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("plaintext streams", tests, init_fingerprints, NULL);
}
