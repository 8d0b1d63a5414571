// SPDX-License-Identifier: GPL-2.0
#include "top.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "monitor.h"
#include "privileges.h"

struct top_opts {
	bool batch, json, all;
	long count; /* 0: until interrupted */
	double delay;
	enum row_sort sort;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: egresswatch top [-b] [-n COUNT] [-d SEC] [--json] [--all] "
		     "[--sort rx|tx|req|tokens]\n");
}

static int parse(int argc, char **argv, struct top_opts *o)
{
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "sort", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *end;
	int c;

	*o = (struct top_opts){ .delay = 2.0, .sort = SORT_RX };
	optind = 1;
	while ((c = getopt_long(argc, argv, "bn:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->batch = true;
			break;
		case 'n':
			errno = 0;
			o->count = strtol(optarg, &end, 10);
			if (errno || *end || o->count < 1) {
				fprintf(stderr, "egresswatch top: -n takes a count of refreshes >= 1, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			errno = 0;
			o->delay = strtod(optarg, &end);
			if (errno || *end || !(o->delay >= 0.1 && o->delay <= 3600)) {
				fprintf(stderr, "egresswatch top: -d takes seconds from 0.1 to 3600, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'j':
			o->json = true;
			break;
		case 'a':
			o->all = true;
			break;
		case 's':
			if (row_sort_parse(optarg, &o->sort)) {
				fprintf(stderr, "egresswatch top: --sort takes rx, tx, req or tokens, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "egresswatch top: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	/* Without a terminal there is no screen to draw: degrade to batch. */
	if (!isatty(STDOUT_FILENO))
		o->batch = true;
	return 0;
}

static int run_batch(struct monitor *m, const struct top_opts *o)
{
	double next = monotonic_now() + o->delay;
	long done = 0;

	while (!monitor_exiting && (!o->count || done < o->count)) {
		struct report r;
		int err;

		monitor_wait(m, next);
		if (monitor_exiting)
			break;
		next += o->delay;
		err = monitor_refresh(m, o->sort, o->all, &r);
		if (err) {
			fprintf(stderr, "egresswatch top: cannot read the flows map: %s\n", strerror(-err));
			return 1;
		}
		err = o->json ? report_json(stdout, &r) : report_text(stdout, &r);
		monitor_report_done(m, &r);
		if (err)
			return 1; /* stdout closed: nobody is reading */
		done++;
	}
	return 0;
}

int top_main(int argc, char **argv, const struct config *cfg)
{
	struct monitor_opts mo = {
		.catalog = &cfg->catalog,
		.max_flows = cfg->max_flows,
		.grace_s = 10,
		.payload = cfg->payload,
	};
	struct top_opts o;
	struct monitor m;
	int status = parse(argc, argv, &o);

	if (status)
		return status < 0 ? 0 : status;
	if (require_bpf_privileges("top"))
		return 1;
	monitor_handle_signals();
	if (monitor_start(&m, &mo)) {
		monitor_stop(&m);
		return 1;
	}
	status = run_batch(&m, &o);
	monitor_stop(&m);
	return status;
}
