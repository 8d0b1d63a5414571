/* SPDX-License-Identifier: GPL-2.0 */
/* The configuration file (INI), as in ../shared/CONTRACT.md. Every key is
 * checked: unknown keys and malformed values are errors naming file and line. */
#ifndef EW_CONFIG_H
#define EW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include "catalog.h"

struct threshold {
	uint64_t warning;
	uint64_t critical; /* 4x warning unless set */
	bool critical_set;
};

struct detect_config {
	double window_s;
	struct threshold rx_bytes, requests, output_tokens, connections, api_keys;
};

struct config {
	double interval_s;
	char *textfile_dir;  /* NULL: no textfile */
	char *alerts;        /* a path, "-" or "syslog"; NULL: none */
	bool payload;        /* TLS plaintext inspection */
	unsigned int payload_capture; /* bytes of each TLS call copied (a long write: of each piece) */
	bool tls_socket_link; /* tie TLS calls to sockets (sys_enter tracepoint) */
	bool tcp_from_socket; /* tcp_counters = socket: TCP bytes from the sockets' counters */
	unsigned int max_flows;
	unsigned int max_series;
	struct detect_config detect;
	struct catalog catalog; /* built in, then the file's [endpoint] sections */
};

/* Defaults and the built-in catalog. 0 or -ENOMEM. */
int config_init(struct config *c);
void config_free(struct config *c);
/* Replaces a string setting with a copy of v (NULL: unset). 0 or -1. */
int config_set_string(char **dst, const char *v);
/* Reads path over the defaults. On error returns -1 and writes
 * "FILE:LINE: what is wrong" into err. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

#endif
