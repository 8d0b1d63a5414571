// SPDX-License-Identifier: GPL-2.0
/* http_request_head on hostile first payloads, with output buffers too small
 * for most hosts and paths and with generous ones. */
#include "fuzz_common.h"
#include "http_request.h"

static void check_token(const char *s, size_t cap, int lower)
{
	size_t n = strnlen(s, cap);

	FUZZ_CHECK(n < cap); /* NUL-terminated within the buffer */
	FUZZ_CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		FUZZ_CHECK(c > ' ' && c < 0x7f);
		if (lower)
			FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
	}
}

static enum http_result run(const uint8_t *buf, size_t len, size_t hostlen, size_t pathlen)
{
	char *host = fuzz_outbuf(hostlen), *path = fuzz_outbuf(pathlen);
	enum http_result r = http_request_head(buf, len, host, hostlen, path, pathlen);

	FUZZ_CHECK(r == HTTP_HOST || r == HTTP_NO_HOST || r == HTTP_NEED_MORE || r == HTTP_NOT_HTTP);
	if (r == HTTP_HOST || r == HTTP_NO_HOST)
		check_token(path, pathlen, 0);
	if (r == HTTP_HOST)
		check_token(host, hostlen, 1);
	free(path);
	free(host);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_dup(data, size);
	enum http_result big = run(buf, size, 254, 2048);
	enum http_result small = run(buf, size, 8, 8);
	enum http_result tiny = run(buf, size, 1, 1);

	/* A small buffer can turn a request into "not HTTP" (path does not
	 * fit) or "no host" (host does not fit), never the other way. */
	if (big == HTTP_NOT_HTTP)
		FUZZ_CHECK(small == big && tiny == big);
	if (big == HTTP_NEED_MORE)
		FUZZ_CHECK(small == big || small == HTTP_NOT_HTTP);
	if (small == HTTP_HOST)
		FUZZ_CHECK(big == HTTP_HOST);
	FUZZ_CHECK(tiny != HTTP_HOST && tiny != HTTP_NO_HOST);
	free(buf);
	return 0;
}
