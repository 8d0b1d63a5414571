// SPDX-License-Identifier: GPL-2.0
/* Servers for `make bench`, linked with OpenSSL statically so that no uprobe
 * on libssl.so fires in them: only the client's TLS calls are probed.
 *
 *   server http  ADDR PORT CERT KEY   HTTPS, keep-alive, LLM-shaped:
 *       POST /v1/chat/completions  reads the body (Content-Length), answers an
 *           SSE stream of X-Chunks chunks, one SSL_write (one record) each
 *       GET /v1/files/...          answers X-Bytes bytes in 16 KiB writes
 *   server churn ADDR PORT BYTES THREADS [CERT KEY]
 *       per connection: (TLS handshake,) read the request, send BYTES, close.
 *       SIGUSR1 prints {"conns": N, "bytes_sent": N, "bytes_retrans": N}: the
 *       payload bytes handed to the kernel, TLS records and handshake included,
 *       and the payload bytes TCP sent again (tcpi_bytes_retrans).
 * Prints "ready" when listening. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static SSL_CTX *ctx;
static int lfd;
static long churn_bytes;
static atomic_ulong conns, sent, retrans;

static void die(const char *what)
{
	perror(what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096))
		die("bind/listen");
	return fd;
}

static SSL_CTX *server_ctx(const char *cert, const char *key)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());

	if (!c || SSL_CTX_use_certificate_chain_file(c, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1)
		die("certificate");
	SSL_CTX_set_mode(c, SSL_MODE_AUTO_RETRY);
	return c;
}

static int write_all(SSL *ssl, const void *buf, int len)
{
	return SSL_write(ssl, buf, len) == len ? 0 : -1;
}

/* Reads one request: headers and Content-Length body. Returns 0, or -1 at EOF. */
static int read_request(SSL *ssl, char *head, size_t cap, long *chunks, long *bytes, int *post)
{
	size_t have = 0;
	char *end, *h;
	long clen = 0;

	for (;;) {
		int n = SSL_read(ssl, head + have, cap - 1 - have);

		if (n <= 0)
			return -1;
		have += n;
		head[have] = '\0';
		if ((end = strstr(head, "\r\n\r\n")))
			break;
		if (have >= cap - 1)
			return -1;
	}
	*post = !strncmp(head, "POST", 4);
	*chunks = (h = strcasestr(head, "\r\nx-chunks:")) ? atol(h + 11) : 10;
	*bytes = (h = strcasestr(head, "\r\nx-bytes:")) ? atol(h + 10) : 0;
	if ((h = strcasestr(head, "\r\ncontent-length:")))
		clen = atol(h + 17);
	clen -= have - (end + 4 - head);
	while (clen > 0) {
		char buf[16384];
		int n = SSL_read(ssl, buf, clen < (long)sizeof(buf) ? clen : (long)sizeof(buf));

		if (n <= 0)
			return -1;
		clen -= n;
	}
	return 0;
}

static void *http_conn(void *arg)
{
	int fd = (int)(long)arg;
	SSL *ssl = SSL_new(ctx);
	static char big[16384];
	char head[65536];
	long chunks, bytes;
	int post;

	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1)
		goto out;
	while (!read_request(ssl, head, sizeof(head), &chunks, &bytes, &post)) {
		if (post) {
			static const char h[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
						"Transfer-Encoding: chunked\r\n\r\n";
			char ev[256];

			if (write_all(ssl, h, sizeof(h) - 1))
				goto out;
			for (long i = 0; i < chunks; i++) {
				char data[128];
				int dl = snprintf(data, sizeof(data),
						  "data: {\"choices\":[{\"delta\":{\"content\":\"t%ld \"}}]}\n\n", i);
				int n = snprintf(ev, sizeof(ev), "%x\r\n%s\r\n", dl, data);

				if (write_all(ssl, ev, n))
					goto out;
			}
			if (write_all(ssl, "0\r\n\r\n", 5))
				goto out;
		} else {
			char h[256];
			int n = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
					 "Content-Length: %ld\r\n\r\n", bytes);

			if (write_all(ssl, h, n))
				goto out;
			while (bytes > 0) {
				int k = bytes < (long)sizeof(big) ? bytes : (long)sizeof(big);

				if (write_all(ssl, big, k))
					goto out;
				bytes -= k;
			}
		}
	}
out:
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static void *churn_worker(void *arg)
{
	static char payload[1 << 16];
	char req[4096];

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		unsigned long out = 0;
		SSL *ssl = NULL;

		if (fd < 0)
			continue;
		if (ctx) {
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, fd);
			if (SSL_accept(ssl) != 1 || SSL_read(ssl, req, sizeof(req)) <= 0)
				goto done;
			for (long left = churn_bytes; left > 0;) {
				int k = left < (long)sizeof(payload) ? left : (long)sizeof(payload);

				if (SSL_write(ssl, payload, k) != k)
					goto done;
				left -= k;
			}
			SSL_shutdown(ssl); /* close_notify */
		} else {
			if (read(fd, req, sizeof(req)) <= 0)
				goto done;
			for (long left = churn_bytes; left > 0;) {
				ssize_t k = write(fd, payload, left < (long)sizeof(payload) ? left : (long)sizeof(payload));

				if (k <= 0)
					goto done;
				out += k;
				left -= k;
			}
		}
		/* Half-close, then wait for the client's close: the client closes
		 * without leaving data unread, so no reset can cut a byte short. */
		shutdown(fd, SHUT_WR);
		while (read(fd, req, sizeof(req)) > 0)
			;
		atomic_fetch_add(&conns, 1);
done:
		if (ssl) {
			out = BIO_number_written(SSL_get_wbio(ssl));
			SSL_free(ssl);
		}
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);
		if (!getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl))
			atomic_fetch_add(&retrans, ti.tcpi_bytes_retrans);
		atomic_fetch_add(&sent, out);
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	sigset_t set;
	pthread_t t;
	int sig;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (argc == 6 && !strcmp(argv[1], "http")) {
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		ctx = server_ctx(argv[4], argv[5]);
		lfd = listen_on(argv[2], atoi(argv[3]));
		printf("ready\n");
		fflush(stdout);
		for (;;) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0)
				continue;
			pthread_create(&t, NULL, http_conn, (void *)(long)fd);
			pthread_detach(t);
		}
	}
	if ((argc == 6 || argc == 8) && !strcmp(argv[1], "churn")) {
		churn_bytes = atol(argv[4]);
		if (argc == 8)
			ctx = server_ctx(argv[6], argv[7]);
		lfd = listen_on(argv[2], atoi(argv[3]));
		for (int i = 0; i < atoi(argv[5]); i++) {
			pthread_create(&t, NULL, churn_worker, NULL);
			pthread_detach(t);
		}
		printf("ready\n");
		fflush(stdout);
		while (!sigwait(&set, &sig)) {
			if (sig != SIGUSR1)
				return 0;
			printf("{\"conns\": %lu, \"bytes_sent\": %lu, \"bytes_retrans\": %lu}\n",
			       atomic_load(&conns), atomic_load(&sent), atomic_load(&retrans));
			fflush(stdout);
		}
	}
	fprintf(stderr, "usage: server http ADDR PORT CERT KEY | server churn ADDR PORT BYTES THREADS [CERT KEY]\n");
	return 2;
}
