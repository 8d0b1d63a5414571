/* SPDX-License-Identifier: GPL-2.0 */
/* One HTTP request and its response, as HTTP/1.1 and HTTP/2 both see it:
 * what egresswatch counts (a request, its credential's fingerprint, the
 * response's organization and token usage), never the headers' values. */
#ifndef EW_EXCHANGE_H
#define EW_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "body.h"
#include "fingerprint.h"
#include "usage.h"

struct exchange {
	char method[16];
	char path[512];
	char authority[256]; /* Host or :authority, lowercase, without the port */
	struct fingerprint key;
	bool has_key;
	int status;
	struct fingerprint org;
	bool has_org;
	char content_type[96];
	char content_encoding[32];
	struct usage header_usage; /* Bedrock InvokeModel: token counts in headers */
	struct body body;
	bool body_started;
};

void exchange_init(struct exchange *x);
void exchange_free(struct exchange *x);
void exchange_request_header(struct exchange *x, const char *name, size_t name_len,
			     const char *value, size_t value_len);
void exchange_response_header(struct exchange *x, const char *name, size_t name_len,
			      const char *value, size_t value_len);
/* Response headers are complete: the body decoder is set up from them. */
void exchange_start_body(struct exchange *x);
/* The usage of a finished response: from the body, else from headers. */
struct usage exchange_usage(struct exchange *x);

#endif
