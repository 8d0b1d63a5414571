/* SPDX-License-Identifier: GPL-2.0 */
/* The head of a plaintext HTTP/1.x request: method, path and Host, from the
 * first bytes a client sent. Bounded; hostile input is expected. */
#ifndef EW_HTTP_REQUEST_H
#define EW_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

enum http_result {
	HTTP_HOST,      /* host and path filled */
	HTTP_NO_HOST,   /* a request without Host (path filled) */
	HTTP_NEED_MORE, /* an HTTP request so far, cut short */
	HTTP_NOT_HTTP,
};

enum http_result http_request_head(const uint8_t *buf, size_t len, char *host, size_t hostlen,
				   char *path, size_t pathlen);

#endif
