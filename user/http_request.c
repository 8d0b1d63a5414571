// SPDX-License-Identifier: GPL-2.0
#include "http_request.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char *const methods[] = { "GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "HEAD ",
				       "OPTIONS " };

/* The next line, without its CR LF; NULL when no complete line is left. */
static const uint8_t *next_line(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *start = *p, *nl = memchr(start, '\n', end - start);

	if (!nl)
		return NULL;
	*p = nl + 1;
	*n = nl - start;
	if (*n && start[*n - 1] == '\r')
		(*n)--;
	return start;
}

static bool copy_token(const uint8_t *s, size_t n, char *out, size_t outlen, bool lower)
{
	if (n == 0 || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
		out[i] = lower ? tolower(s[i]) : s[i];
	}
	out[n] = '\0';
	return true;
}

enum http_result http_request_head(const uint8_t *buf, size_t len, char *host, size_t hostlen,
				   char *path, size_t pathlen)
{
	const uint8_t *p = buf, *end = buf + len, *line, *sp;
	size_t n, m = 0;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t ml = strlen(methods[i]);

		if (len >= ml ? !memcmp(buf, methods[i], ml) : !memcmp(buf, methods[i], len)) {
			m = ml;
			break;
		}
	}
	if (!m)
		return HTTP_NOT_HTTP;
	line = next_line(&p, end, &n);
	if (!line)
		return HTTP_NEED_MORE;
	/* METHOD SP request-target SP HTTP/1.x */
	sp = memchr(line + m, ' ', n - m);
	if (!sp || n - (sp + 1 - line) < 8 || memcmp(sp + 1, "HTTP/1.", 7))
		return HTTP_NOT_HTTP;
	if (!copy_token(line + m, sp - (line + m), path, pathlen, false))
		return HTTP_NOT_HTTP;
	while ((line = next_line(&p, end, &n))) {
		const uint8_t *v;
		size_t vn;

		if (n == 0)
			return HTTP_NO_HOST; /* end of the head */
		if (n < 5 || strncasecmp((const char *)line, "host:", 5))
			continue;
		v = line + 5;
		vn = n - 5;
		while (vn && (*v == ' ' || *v == '\t')) {
			v++;
			vn--;
		}
		while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		/* "name:port" or "[v6]:port": the name is what classifies */
		if (vn && v[0] != '[') {
			const uint8_t *colon = memchr(v, ':', vn);

			if (colon)
				vn = colon - v;
		}
		return copy_token(v, vn, host, hostlen, true) ? HTTP_HOST : HTTP_NO_HOST;
	}
	return HTTP_NEED_MORE;
}
