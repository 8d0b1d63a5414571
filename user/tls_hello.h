/* SPDX-License-Identifier: GPL-2.0 */
/* The server name (SNI) of a TLS ClientHello, from the first bytes a client
 * sent: records are reassembled, so a ClientHello over several records or
 * segments parses once enough bytes are there. Input is hostile: every length
 * is checked against what is left. */
#ifndef EW_TLS_HELLO_H
#define EW_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

enum hello_result {
	HELLO_SNI,       /* name filled */
	HELLO_NEED_MORE, /* a ClientHello so far, cut short */
	HELLO_NO_SNI,    /* a complete ClientHello without a host name */
	HELLO_NOT_TLS,   /* not a TLS handshake starting with a ClientHello */
	HELLO_MALFORMED,
};

/* The largest handshake message reassembled; bigger ones are MALFORMED. */
#define HELLO_MAX 16384

enum hello_result tls_client_hello_sni(const uint8_t *buf, size_t len, char *name, size_t namelen);

#endif
