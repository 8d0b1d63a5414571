/* SPDX-License-Identifier: GPL-2.0 */
/* The table model behind top and the exporters: one row per process and remote
 * host, kept apart from any screen (as htop keeps its process table). */
#ifndef EW_ROWS_H
#define EW_ROWS_H

#include <stdbool.h>
#include <stdint.h>
#include "egresswatch.h"
#include "fingerprint.h"
#include "hashtab.h"
#include "usage.h"

#define EW_HOST_MAX 256

/* Who a row belongs to, resolved once when the row is made. */
struct identity {
	uint32_t pid;
	uint32_t uid;
	char comm[EW_COMM_LEN];
	const char *exe;    /* NULL when unknown */
	const char *cgroup; /* NULL when unknown */
	bool preexisting;   /* its sockets were open before egresswatch started */
};

/* What a flow's remote end is, and how we know. */
struct classification {
	char host[EW_HOST_MAX];
	const char *provider; /* catalog id (interned: lives as long as the program), NULL
			       * for traffic that is not to an LLM API */
	const char *by;       /* "sni", "http", "dns", "cidr" or "ip" */
	bool router;          /* a router or aggregator in front of other providers */
};

struct row {
	struct ht_node node;
	unsigned char key[sizeof(uint32_t) + EW_HOST_MAX];
	uint32_t pid;
	uint32_t uid;
	char comm[EW_COMM_LEN];
	char *exe;
	char *cgroup;
	struct classification cls;
	bool preexisting;
	uint64_t tx_bytes, rx_bytes;        /* this interval */
	uint64_t connections_opened;        /* this interval */
	uint64_t tx_bytes_total, rx_bytes_total;
	uint32_t connections;               /* flows open now */
	uint64_t connections_total;         /* flows seen since we began watching */
	double last_active;                 /* monotonic seconds */
	/* From TLS plaintext; meaningful only once plaintext was seen. */
	bool plaintext;
	uint64_t requests, requests_total;  /* this interval, and since we began */
	uint64_t batch_requests;            /* this interval: batch submissions and result downloads */
	uint64_t input_tokens_total, output_tokens_total;
	uint64_t input_tokens, output_tokens; /* this interval */
	struct hashtab keys;                /* seen set: distinct API key fingerprints */
	struct hashtab orgs;                /* seen set: distinct organization ids */
};

/* The most fingerprints a row remembers; more are counted as this many. */
#define ROW_FINGERPRINTS_MAX 4096



struct row_table {
	struct hashtab ht;
};

enum row_sort { SORT_RX, SORT_TX, SORT_REQ, SORT_TOKENS };

int rows_init(struct row_table *t);
void rows_free(struct row_table *t);
struct row *rows_find(const struct row_table *t, uint32_t pid, const char *host);
/* The row of a process and host, made on first use; NULL when out of memory. */
struct row *rows_get(struct row_table *t, const struct identity *id,
		     const struct classification *cls, double now);
void rows_add_bytes(struct row *r, uint64_t tx, uint64_t rx, double now);
/* A request seen in TLS plaintext, with its credential's fingerprint. */
void rows_add_request(struct row *r, const struct fingerprint *key, bool batch, double now);
/* A response: its token usage and the organization that answered. */
void rows_add_response(struct row *r, const struct usage *u, const struct fingerprint *org,
		       double now);
/* Starts a new interval: the per-interval counters go back to zero. */
void rows_begin_interval(struct row_table *t);
/* Drops rows with no open connection and no traffic for grace seconds. */
void rows_expire(struct row_table *t, double now, double grace);
/* The rows to show, sorted; LLM rows only unless all. The caller frees the
 * array (not the rows). Returns the count, or -ENOMEM. */
int rows_sorted(const struct row_table *t, enum row_sort by, bool all, struct row ***out);
void rows_sort_array(struct row **v, int n, enum row_sort by);
/* A flow of the row was named by a more trusted means (SNI over a Host
 * header, a name over an address): the row says so from now on. */
void rows_prefer(struct row *r, const struct classification *cls);
int row_sort_parse(const char *s, enum row_sort *out);

#endif
