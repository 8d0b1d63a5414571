/* SPDX-License-Identifier: GPL-2.0 */
/* DNS answers: which addresses a name resolved to, through CNAME chains.
 * Bounded and loop-safe against hostile messages (compression pointer loops,
 * truncation, lying counts). */
#ifndef EW_DNS_H
#define EW_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 254 /* 253 characters and the NUL */

/* Called for each A or AAAA record that answers the question: name is the
 * question's name (what the client asked for), addr IPv6 or v4-mapped. */
typedef void (*dns_answer_fn)(void *ctx, const char *name, const uint8_t addr[16], uint32_t ttl);

/* Returns the number of addresses reported, or -1 when the message is not a
 * usable response. A message cut short reports what came before the cut. */
int dns_parse_response(const uint8_t *msg, size_t len, dns_answer_fn fn, void *ctx);

/* Decodes the name at *off (advanced past it), following compression
 * pointers. 0 or -1. Exposed for the tests. */
int dns_read_name(const uint8_t *msg, size_t len, size_t *off, char *out);

#endif
