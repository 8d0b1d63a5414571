/* A client that leaves one SSL_read without returning from it: a BIO
 * callback longjmps out of the read, as a language runtime's exception
 * unwinding might. Then it makes ROUNDS requests on a second connection,
 * its reads from the same stack depth, closes it, prints "done" and waits for stdin to
 * close, so that the test can look at the kernel's open calls while the
 * thread lives.
 *
 *   abandoned_read ADDR ROUNDS KEY
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static jmp_buf escape;
static int armed;

static long leave_read(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
		       int ret, size_t *processed)
{
	if (armed && oper == BIO_CB_READ) {
		armed = 0;
		longjmp(escape, 1);
	}
	return ret;
}

static SSL *open_tls(SSL_CTX *ctx, const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(443) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	SSL *ssl;

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		exit(1);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "api.openai.com");
	if (SSL_connect(ssl) != 1)
		exit(1);
	return ssl;
}

static void send_request(SSL *ssl, const char *key)
{
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
			 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: 2\r\n\r\n{}", key);

	if (SSL_write(ssl, req, n) != n)
		exit(1);
}

/* Every read goes through here and read_response, the abandoned one too, so
 * that each SSL_read starts from one stack depth. */
static int read_some(SSL *ssl, char *buf, int len)
{
	return SSL_read(ssl, buf, len);
}

/* One response: its head, then Content-Length bytes. */
static void read_response(SSL *ssl)
{
	char buf[16384], *end, *cl;
	int have = 0, k;
	long body, need;

	while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
		if (have == sizeof(buf) || (k = read_some(ssl, buf + have, sizeof(buf) - have)) <= 0)
			exit(1);
		have += k;
	}
	body = have - (end + 4 - buf);
	*end = '\0'; /* the head, as a string */
	cl = strcasestr(buf, "content-length:");
	if (!cl)
		exit(1);
	need = atol(cl + 15);
	while (body < need) {
		if ((k = read_some(ssl, buf, sizeof(buf))) <= 0)
			exit(1);
		body += k;
	}
}

int main(int argc, char **argv)
{
	SSL_CTX *ctx;
	SSL *first, *second;
	char buf[64];
	int rounds;

	if (argc != 4)
		return 2;
	rounds = atoi(argv[2]);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

	first = open_tls(ctx, argv[1]);
	send_request(first, argv[3]);
	BIO_set_callback_ex(SSL_get_rbio(first), leave_read);
	if (!setjmp(escape)) {
		armed = 1;
		read_response(first); /* never returns */
		return 1;
	}
	/* the first connection is left as it is: its state is cut mid-read */
	close(SSL_get_fd(first));

	second = open_tls(ctx, argv[1]);
	for (int i = 0; i < rounds; i++) {
		send_request(second, argv[3]);
		read_response(second);
	}
	SSL_shutdown(second);
	close(SSL_get_fd(second));
	SSL_free(second);
	printf("done\n");
	fflush(stdout);
	while (fread(buf, 1, sizeof(buf), stdin) > 0)
		;
	return 0;
}
