// SPDX-License-Identifier: GPL-2.0
#include "tls_hello.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#define TLS_HANDSHAKE 22
#define HANDSHAKE_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0
#define SNI_HOST_NAME 0

struct reader {
	const uint8_t *p;
	size_t left;
};

static bool take(struct reader *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return false;
	if (out)
		*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool u8(struct reader *r, unsigned int *v)
{
	const uint8_t *b;

	if (!take(r, 1, &b))
		return false;
	*v = b[0];
	return true;
}

static bool u16(struct reader *r, unsigned int *v)
{
	const uint8_t *b;

	if (!take(r, 2, &b))
		return false;
	*v = (unsigned int)b[0] << 8 | b[1];
	return true;
}

/* A host name as sent: letters, digits, '-', '_' and '.', no empty labels. */
static bool valid_name(const uint8_t *s, size_t n)
{
	if (n == 0 || n > 253 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!(isalnum(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
			return false;
	}
	return true;
}

static enum hello_result server_name(struct reader ext, char *name, size_t namelen)
{
	unsigned int list_len, type, len;
	struct reader list;
	const uint8_t *host;

	if (!u16(&ext, &list_len) || !take(&ext, list_len, &list.p))
		return HELLO_MALFORMED;
	list.left = list_len;
	while (list.left) {
		if (!u8(&list, &type) || !u16(&list, &len) || !take(&list, len, &host))
			return HELLO_MALFORMED;
		if (type != SNI_HOST_NAME)
			continue;
		if (!valid_name(host, len) || len >= namelen)
			return HELLO_MALFORMED;
		for (size_t i = 0; i < len; i++)
			name[i] = tolower(host[i]);
		name[len] = '\0';
		return HELLO_SNI;
	}
	return HELLO_NO_SNI;
}

static enum hello_result parse_hello(struct reader r, char *name, size_t namelen)
{
	unsigned int n, ext_type, ext_len;
	struct reader ext;

	/* legacy_version, random */
	if (!take(&r, 2 + 32, NULL))
		return HELLO_MALFORMED;
	if (!u8(&r, &n) || n > 32 || !take(&r, n, NULL)) /* session id */
		return HELLO_MALFORMED;
	if (!u16(&r, &n) || n < 2 || n % 2 || !take(&r, n, NULL)) /* cipher suites */
		return HELLO_MALFORMED;
	if (!u8(&r, &n) || n < 1 || !take(&r, n, NULL)) /* compression methods */
		return HELLO_MALFORMED;
	if (r.left == 0)
		return HELLO_NO_SNI; /* no extensions at all */
	if (!u16(&r, &n) || !take(&r, n, &ext.p))
		return HELLO_MALFORMED;
	ext.left = n;
	while (ext.left) {
		struct reader body;

		if (!u16(&ext, &ext_type) || !u16(&ext, &ext_len) || !take(&ext, ext_len, &body.p))
			return HELLO_MALFORMED;
		body.left = ext_len;
		if (ext_type == EXT_SERVER_NAME)
			return server_name(body, name, namelen);
	}
	return HELLO_NO_SNI;
}

enum hello_result tls_client_hello_sni(const uint8_t *buf, size_t len, char *name, size_t namelen)
{
	/* The handshake message, gathered from the fragments of successive records. */
	static __thread uint8_t msg[HELLO_MAX];
	size_t have = 0, need = 0;
	struct reader r = { buf, len };

	while (r.left) {
		unsigned int type, version, rec_len;
		const uint8_t *frag;

		if (!u8(&r, &type))
			break;
		if (type != TLS_HANDSHAKE)
			return have ? HELLO_MALFORMED : HELLO_NOT_TLS;
		if (!u16(&r, &version))
			break;
		if ((version >> 8) != 3)
			return HELLO_NOT_TLS;
		if (!u16(&r, &rec_len))
			break;
		if (rec_len == 0 || rec_len > 16384 + 2048)
			return HELLO_MALFORMED;
		if (r.left < rec_len) {
			rec_len = r.left; /* the record is cut short: use what came */
		}
		take(&r, rec_len, &frag);
		if (have + rec_len > sizeof(msg))
			rec_len = sizeof(msg) - have;
		memcpy(msg + have, frag, rec_len);
		have += rec_len;
		if (need == 0 && have >= 4) {
			if (msg[0] != HANDSHAKE_CLIENT_HELLO)
				return HELLO_NOT_TLS;
			need = 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]);
			if (need > sizeof(msg))
				return HELLO_MALFORMED;
		}
		if (need && have >= need)
			return parse_hello((struct reader){ msg + 4, need - 4 }, name, namelen);
	}
	if (have >= 1 && msg[0] != HANDSHAKE_CLIENT_HELLO)
		return HELLO_NOT_TLS;
	return HELLO_NEED_MORE;
}
