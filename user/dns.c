// SPDX-License-Identifier: GPL-2.0
#include "dns.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define TYPE_A 1
#define TYPE_CNAME 5
#define TYPE_AAAA 28
#define CLASS_IN 1
#define MAX_POINTERS 16
#define MAX_CHAIN 8

int dns_read_name(const uint8_t *msg, size_t len, size_t *off, char *out)
{
	size_t pos = *off, out_len = 0, end = 0;
	int pointers = 0;

	for (;;) {
		unsigned int l;

		if (pos >= len)
			return -1;
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++pointers > MAX_POINTERS)
				return -1;
			if (!end)
				end = pos + 2;
			pos = (l & 0x3f) << 8 | msg[pos + 1];
			continue;
		}
		if (l & 0xc0)
			return -1; /* extended label types are not names we use */
		pos++;
		if (l == 0)
			break;
		if (pos + l > len || out_len + l + 1 >= DNS_NAME_MAX)
			return -1;
		if (out_len)
			out[out_len++] = '.';
		for (unsigned int i = 0; i < l; i++) {
			unsigned char c = msg[pos + i];

			if (c == '.' || c < 0x21 || c > 0x7e)
				return -1; /* not a host name: never let it reach a label */
			out[out_len++] = tolower(c);
		}
		pos += l;
	}
	out[out_len] = '\0';
	*off = end ? end : pos;
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool in_chain(char chain[][DNS_NAME_MAX], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(chain[i], name))
			return true;
	return false;
}

int dns_parse_response(const uint8_t *msg, size_t len, dns_answer_fn fn, void *ctx)
{
	char chain[MAX_CHAIN][DNS_NAME_MAX], owner[DNS_NAME_MAX];
	unsigned int qdcount, ancount, flags;
	size_t off = 12;
	int nchain = 1, reported = 0;

	if (len < 12)
		return -1;
	flags = be16(msg + 2);
	qdcount = be16(msg + 4);
	ancount = be16(msg + 6);
	/* A response (QR), standard query, no error, one question. */
	if (!(flags & 0x8000) || ((flags >> 11) & 0xf) != 0 || (flags & 0xf) != 0 || qdcount != 1)
		return -1;
	if (dns_read_name(msg, len, &off, chain[0]) || off + 4 > len || !chain[0][0])
		return -1; /* the root name names no host */
	off += 4; /* qtype, qclass */

	for (unsigned int i = 0; i < ancount; i++) {
		unsigned int type, class, rdlen;
		uint32_t ttl;

		if (dns_read_name(msg, len, &off, owner) || off + 10 > len)
			break;
		type = be16(msg + off);
		class = be16(msg + off + 2);
		ttl = be32(msg + off + 4);
		rdlen = be16(msg + off + 8);
		off += 10;
		if (off + rdlen > len)
			break;
		if (class == CLASS_IN && in_chain(chain, nchain, owner)) {
			uint8_t addr[16] = { 0 };

			if (type == TYPE_CNAME && nchain < MAX_CHAIN) {
				size_t roff = off;

				if (!dns_read_name(msg, len, &roff, chain[nchain]) && roff <= off + rdlen)
					nchain++;
			} else if ((type == TYPE_A && rdlen == 4) || (type == TYPE_AAAA && rdlen == 16)) {
				if (type == TYPE_A) {
					addr[10] = addr[11] = 0xff;
					memcpy(addr + 12, msg + off, 4);
				} else {
					memcpy(addr, msg + off, 16);
				}
				if (ttl > 0x7fffffff)
					ttl = 0; /* RFC 2181: a TTL with the top bit set is 0 */
				fn(ctx, chain[0], addr, ttl);
				reported++;
			}
		}
		off += rdlen;
	}
	return reported;
}
