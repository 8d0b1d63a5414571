// SPDX-License-Identifier: GPL-2.0
/* Clients for `make bench`, linked with the system's libssl.so.3: the library
 * egresswatch (and the empty baseline) put uprobes on. Each prints JSON.
 *
 *   client calls ADDR PORT N SIZE
 *       one HTTPS request to server http: a POST whose body goes out in N
 *       SSL_write calls of SIZE bytes, then an SSE answer of N records read
 *       with one SSL_read each; the process CPU time of each phase
 *   client download ADDR PORT BYTES       GET BYTES over TLS: wall and CPU time
 *   client churn ADDR PORT tcp|tls THREADS SECONDS
 *       short connections in a loop: connect, (handshake,) request, read to the
 *       end, close; rx_bytes counts transport payload read from the socket
 *   client llm ADDR PORT CONNS RATE THREADS SECONDS HOLD
 *       CONNS keep-alive HTTPS connections to the LLM-shaped test server,
 *       one request on each (warm-up), then RATE requests/s spread over them
 *       round-robin for SECONDS, then HOLD seconds idle
 *       with every connection still open; rx/tx_bytes: TLS bytes on the wire
 *   client syscalls ADDR PORT N
 *       N getppid() calls, then N 64-byte write+read pairs on a socketpair:
 *       CPU ns per syscall, the cost a sys_enter tracepoint adds to every
 *       process on the host (ADDR and PORT are not used)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SNI "api.openai.com"

static const char *addr;
static int port;
static SSL_CTX *ctx;

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int tcp_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static SSL *tls_connect(int *fdp)
{
	int fd = tcp_connect();
	SSL *ssl;

	*fdp = fd;
	if (fd < 0)
		return NULL;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, SNI);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		*fdp = -1;
		return NULL;
	}
	return ssl;
}

static void fail(const char *what)
{
	fprintf(stderr, "client: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int cmd_calls(long n, long size)
{
	char head[512], *body, buf[16384], tail[5] = {0};
	long len = n * size, reads = 0;
	double c0, c1, c2, w0;
	int fd, hl;
	SSL *ssl;

	if (!(ssl = tls_connect(&fd)))
		fail("connect");
	body = malloc(len);
	memset(body, 'x', len);
	hl = snprintf(head, sizeof(head), "{\"model\":\"bench\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"");
	memcpy(body, head, hl);
	memcpy(body + len - 4, "\"}]}", 4);
	hl = snprintf(head, sizeof(head), "POST /v1/chat/completions HTTP/1.1\r\nHost: " SNI "\r\n"
			 "Authorization: Bearer sk-bench-0123456789\r\nContent-Type: application/json\r\n"
			 "X-Chunks: %ld\r\nContent-Length: %ld\r\n\r\n", n, len);
	if (SSL_write(ssl, head, hl) != hl)
		fail("write");
	w0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < n; i++)
		if (SSL_write(ssl, body + i * size, size) != size)
			fail("write");
	c1 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (;;) {
		int k = SSL_read(ssl, buf, sizeof(buf));

		if (k <= 0)
			fail("read");
		reads++;
		if (k >= 5) {
			memcpy(tail, buf + k - 5, 5);
		} else {
			memmove(tail, tail + k, 5 - k);
			memcpy(tail + 5 - k, buf, k);
		}
		if (!memcmp(tail, "0\r\n\r\n", 5))
			break;
	}
	c2 = now(CLOCK_PROCESS_CPUTIME_ID);
	printf("{\"write_calls\": %ld, \"write_cpu_ns\": %.0f, \"read_calls\": %ld, \"read_cpu_ns\": %.0f, "
	       "\"wall_ns\": %.0f}\n", n, (c1 - c0) * 1e9, reads, (c2 - c1) * 1e9,
	       (now(CLOCK_MONOTONIC) - w0) * 1e9);
	SSL_free(ssl);
	close(fd);
	return 0;
}

static int cmd_download(long bytes)
{
	char head[512], buf[16384], *end;
	long have = 0, body = 0;
	double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	int fd, hl;
	SSL *ssl;

	if (!(ssl = tls_connect(&fd)))
		fail("connect");
	hl = snprintf(head, sizeof(head), "GET /v1/files/file-bench/content HTTP/1.1\r\nHost: " SNI "\r\n"
			 "Authorization: Bearer sk-bench-0123456789\r\nX-Bytes: %ld\r\n\r\n", bytes);
	if (SSL_write(ssl, head, hl) != hl)
		fail("write");
	/* headers first, then the body */
	while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
		int k = SSL_read(ssl, buf + have, sizeof(buf) - have);

		if (k <= 0)
			fail("read");
		have += k;
	}
	body = have - (end + 4 - buf);
	while (body < bytes) {
		int k = SSL_read(ssl, buf, sizeof(buf));

		if (k <= 0)
			fail("read");
		body += k;
	}
	printf("{\"bytes\": %ld, \"wall_ns\": %.0f, \"cpu_ns\": %.0f}\n", body,
	       (now(CLOCK_MONOTONIC) - w0) * 1e9, (now(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e9);
	SSL_free(ssl);
	close(fd);
	return 0;
}

/* ---- churn ---- */

static int churn_tls;
static double churn_end;
static atomic_ulong ch_conns, ch_errors, ch_rx, ch_tx;

static void *churn_worker(void *arg)
{
	static const char req[] = "GET /churn HTTP/1.1\r\nHost: bench\r\n\r\n";
	char buf[65536];

	while (now(CLOCK_MONOTONIC) < churn_end) {
		unsigned long rx = 0, tx = 0;
		int fd, ok = 0;

		if (churn_tls) {
			SSL *ssl = tls_connect(&fd);
			int k;

			if (ssl) {
				if (SSL_write(ssl, req, sizeof(req) - 1) == sizeof(req) - 1) {
					while ((k = SSL_read(ssl, buf, sizeof(buf))) > 0)
						;
					ok = SSL_get_error(ssl, k) == SSL_ERROR_ZERO_RETURN;
				}
				rx = BIO_number_read(SSL_get_rbio(ssl));
				tx = BIO_number_written(SSL_get_wbio(ssl));
				/* no close_notify back: the server has half-closed */
				SSL_free(ssl);
			}
		} else {
			ssize_t k;

			fd = tcp_connect();
			if (fd >= 0 && write(fd, req, sizeof(req) - 1) == sizeof(req) - 1) {
				tx = sizeof(req) - 1;
				while ((k = read(fd, buf, sizeof(buf))) > 0)
					rx += k;
				ok = k == 0;
			}
		}
		if (fd >= 0)
			close(fd);
		atomic_fetch_add(ok ? &ch_conns : &ch_errors, 1);
		atomic_fetch_add(&ch_rx, rx);
		atomic_fetch_add(&ch_tx, tx);
	}
	return NULL;
}

static int cmd_churn(const char *kind, int threads, double seconds)
{
	pthread_t t[64];
	double t0 = now(CLOCK_MONOTONIC);

	churn_tls = !strcmp(kind, "tls");
	churn_end = t0 + seconds;
	for (int i = 0; i < threads && i < 64; i++)
		pthread_create(&t[i], NULL, churn_worker, NULL);
	for (int i = 0; i < threads && i < 64; i++)
		pthread_join(t[i], NULL);
	printf("{\"pid\": %d, \"conns\": %lu, \"errors\": %lu, \"rx_bytes\": %lu, \"tx_bytes\": %lu, "
	       "\"seconds\": %.3f}\n", getpid(), atomic_load(&ch_conns), atomic_load(&ch_errors),
	       atomic_load(&ch_rx), atomic_load(&ch_tx), now(CLOCK_MONOTONIC) - t0);
	return 0;
}

/* ---- LLM-shaped keep-alive load ---- */

struct reader {
	SSL *ssl;
	char buf[65536];
	int start, end;
};

static int fill(struct reader *r)
{
	int k;

	if (r->start == r->end)
		r->start = r->end = 0;
	if (r->end == (int)sizeof(r->buf)) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	k = SSL_read(r->ssl, r->buf + r->end, sizeof(r->buf) - r->end);
	if (k <= 0)
		return -1;
	r->end += k;
	return 0;
}

/* The next line (without CRLF) in line[]. */
static int read_line(struct reader *r, char *line, size_t cap)
{
	char *nl;

	while (!(nl = memmem(r->buf + r->start, r->end - r->start, "\r\n", 2)))
		if (fill(r))
			return -1;
	size_t n = nl - (r->buf + r->start);
	if (n >= cap)
		n = cap - 1;
	memcpy(line, r->buf + r->start, n);
	line[n] = '\0';
	r->start = nl + 2 - r->buf;
	return 0;
}

static int skip(struct reader *r, long n)
{
	while (n > 0) {
		if (r->start == r->end && fill(r))
			return -1;
		long k = r->end - r->start < n ? r->end - r->start : n;
		r->start += k;
		n -= k;
	}
	return 0;
}

static int read_response(struct reader *r)
{
	char line[1024];
	long clen = -1;
	int chunked = 0;

	if (read_line(r, line, sizeof(line)) || strncmp(line, "HTTP/1.1 200", 12))
		return -1;
	for (;;) {
		if (read_line(r, line, sizeof(line)))
			return -1;
		if (!line[0])
			break;
		if (!strncasecmp(line, "content-length:", 15))
			clen = atol(line + 15);
		else if (!strncasecmp(line, "transfer-encoding:", 18) && strcasestr(line, "chunked"))
			chunked = 1;
	}
	if (!chunked)
		return clen >= 0 ? skip(r, clen) : -1;
	for (;;) {
		long n;

		if (read_line(r, line, sizeof(line)))
			return -1;
		n = strtol(line, NULL, 16);
		if (n == 0)
			return read_line(r, line, sizeof(line)); /* the empty trailer line */
		if (skip(r, n + 2))
			return -1;
	}
}

struct llm_thread {
	pthread_t t;
	int id, nconns;
	SSL **ssl;
	int *fd;
	double rate;
};

static int llm_conns_total;
static atomic_int llm_open, llm_ready_threads;
static atomic_ulong llm_requests, llm_errors;
static volatile int llm_go, llm_stop;

/* One request on connection c and its whole response; a failed connection is
 * closed and left out from then on. */
static void llm_request(struct llm_thread *lt, struct reader *r, int c, unsigned long i)
{
	char req[1024], body[512];
	int bl, rl;

	bl = snprintf(body, sizeof(body),
		      "{\"model\":\"gpt-4o-mini\",\"stream\":%s,\"stream_options\":{\"include_usage\":true},"
		      "\"messages\":[{\"role\":\"user\",\"content\":\"Question %lu: explain TCP in one line.\"}]}",
		      i % 4 == 0 ? "true" : "false", i);
	rl = snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\nHost: " SNI "\r\n"
		      "Authorization: Bearer sk-bench-%04d-abcdefghijklmnop\r\n"
		      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		      lt->id % 4, bl, body);
	r->ssl = lt->ssl[c];
	r->start = r->end = 0;
	if (SSL_write(r->ssl, req, rl) != rl || read_response(r)) {
		atomic_fetch_add(&llm_errors, 1);
		SSL_free(lt->ssl[c]);
		close(lt->fd[c]);
		lt->ssl[c] = NULL;
		atomic_fetch_sub(&llm_open, 1);
		return;
	}
	atomic_fetch_add(&llm_requests, 1);
}

static void *llm_worker(void *arg)
{
	struct llm_thread *lt = arg;
	struct reader *r = malloc(sizeof(*r));
	double next;
	unsigned long i = 0;

	for (int c = 0; c < lt->nconns; c++) {
		lt->ssl[c] = tls_connect(&lt->fd[c]);
		if (lt->ssl[c])
			atomic_fetch_add(&llm_open, 1);
		else
			atomic_fetch_add(&llm_errors, 1);
	}
	/* One request on each connection before the paced load: monitors meet
	 * every flow's first exchange here, and the load is the steady state. */
	for (int c = 0; c < lt->nconns; c++)
		if (lt->ssl[c])
			llm_request(lt, r, c, i++);
	atomic_fetch_add(&llm_ready_threads, 1);
	while (!llm_go)
		usleep(1000);
	next = now(CLOCK_MONOTONIC);
	while (!llm_stop) {
		int c = i % lt->nconns;
		double t = now(CLOCK_MONOTONIC);

		if (t < next) {
			usleep((next - t) * 1e6);
			continue;
		}
		next += 1.0 / lt->rate;
		if (t - next > 1.0)
			next = t; /* too far behind: no burst to catch up */
		i++;
		if (lt->ssl[c])
			llm_request(lt, r, c, i);
	}
	free(r);
	return NULL;
}

static int cmd_llm(int conns, double rate, int threads, double seconds, double hold)
{
	struct llm_thread *lt = calloc(threads, sizeof(*lt));
	unsigned long rx = 0, tx = 0;
	double t0, t1;

	llm_conns_total = conns;
	for (int i = 0; i < threads; i++) {
		lt[i].id = i;
		lt[i].nconns = conns / threads + (i < conns % threads);
		lt[i].ssl = calloc(lt[i].nconns, sizeof(SSL *));
		lt[i].fd = calloc(lt[i].nconns, sizeof(int));
		lt[i].rate = rate / threads;
		pthread_create(&lt[i].t, NULL, llm_worker, &lt[i]);
	}
	while (atomic_load(&llm_ready_threads) < threads)
		usleep(10000);
	printf("{\"pid\": %d, \"open\": %d, \"errors\": %lu, \"warmup_requests\": %lu}\n", getpid(),
	       atomic_load(&llm_open), atomic_load(&llm_errors), atomic_load(&llm_requests));
	fflush(stdout);
	t0 = now(CLOCK_MONOTONIC);
	llm_go = 1;
	while ((t1 = now(CLOCK_MONOTONIC)) < t0 + seconds) {
		usleep(1000000);
		printf("{\"t\": %.2f, \"requests\": %lu, \"open\": %d, \"errors\": %lu}\n", now(CLOCK_MONOTONIC) - t0,
		       atomic_load(&llm_requests), atomic_load(&llm_open), atomic_load(&llm_errors));
		fflush(stdout);
	}
	llm_stop = 1;
	for (int i = 0; i < threads; i++)
		pthread_join(lt[i].t, NULL);
	t1 = now(CLOCK_MONOTONIC);
	for (int i = 0; i < threads; i++)
		for (int c = 0; c < lt[i].nconns; c++)
			if (lt[i].ssl[c]) {
				rx += BIO_number_read(SSL_get_rbio(lt[i].ssl[c]));
				tx += BIO_number_written(SSL_get_wbio(lt[i].ssl[c]));
			}
	printf("{\"done\": true, \"requests\": %lu, \"errors\": %lu, \"open\": %d, \"seconds\": %.3f, "
	       "\"rx_bytes\": %lu, \"tx_bytes\": %lu}\n", atomic_load(&llm_requests), atomic_load(&llm_errors),
	       atomic_load(&llm_open), t1 - t0, rx, tx);
	fflush(stdout);
	usleep(hold * 1e6);
	return 0;
}

static int cmd_syscalls(long n)
{
	char buf[64] = { 0 };
	double t0, t1, t2;
	int sv[2];

	if (n <= 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 1;
	t0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < n; i++)
		getppid();
	t1 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < n; i++)
		if (write(sv[0], buf, sizeof(buf)) != sizeof(buf) ||
		    read(sv[1], buf, sizeof(buf)) != sizeof(buf))
			return 1;
	t2 = now(CLOCK_PROCESS_CPUTIME_ID);
	printf("{\"getppid_ns\": %.1f, \"socket_io_ns\": %.1f}\n", (t1 - t0) * 1e9 / n,
	       (t2 - t1) * 1e9 / (2.0 * n));
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit nofile;

	signal(SIGPIPE, SIG_IGN);
	if (!getrlimit(RLIMIT_NOFILE, &nofile)) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if (argc < 4)
		goto usage;
	addr = argv[2];
	port = atoi(argv[3]);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the bench's own self-signed server */
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY | SSL_MODE_RELEASE_BUFFERS);
	if (!strcmp(argv[1], "calls") && argc == 6)
		return cmd_calls(atol(argv[4]), atol(argv[5]));
	if (!strcmp(argv[1], "download") && argc == 5)
		return cmd_download(atol(argv[4]));
	if (!strcmp(argv[1], "churn") && argc == 7)
		return cmd_churn(argv[4], atoi(argv[5]), atof(argv[6]));
	if (!strcmp(argv[1], "llm") && argc == 9)
		return cmd_llm(atoi(argv[4]), atof(argv[5]), atoi(argv[6]), atof(argv[7]), atof(argv[8]));
	if (!strcmp(argv[1], "syscalls") && argc == 5)
		return cmd_syscalls(atol(argv[4]));
usage:
	fprintf(stderr, "usage: client calls|download|churn|llm|syscalls ADDR PORT ... (see client.c)\n");
	return 2;
}
