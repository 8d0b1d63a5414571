// SPDX-License-Identifier: GPL-2.0
#include "top.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ncurses.h>
#include <poll.h>
#include "detect.h"
#include "monitor.h"
#include "privileges.h"
#include "screen.h"

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

/* Accounts the interval and feeds the detector, for the rows' alert marker. */
static int account_interval(struct monitor *m, struct detector *d, enum row_sort sort, bool all,
			    struct report *r)
{
	int err = monitor_refresh(m, sort, all, r);

	if (err) {
		fprintf(stderr, "egresswatch top: cannot read the flows map: %s\n", strerror(-err));
		return err;
	}
	/* top marks alerting rows; the alert lines are the daemon's job */
	detector_evaluate(d, r->rows, r->nrows, monotonic_now(), r->time, NULL, NULL);
	r->detector = d;
	return 0;
}

static int run_batch(struct monitor *m, struct detector *d, const struct top_opts *o)
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
		/* all rows feed the detector; only the ones asked for are printed */
		if (account_interval(m, d, o->sort, true, &r))
			return 1;
		if (!o->all) {
			int n = 0;

			for (int i = 0; i < r.nrows; i++)
				if (r.rows[i]->cls.provider)
					r.rows[n++] = r.rows[i];
			r.nrows = n;
		}
		err = o->json ? report_json(stdout, &r) : report_text(stdout, &r);
		monitor_report_done(m, &r);
		if (err)
			return 1; /* stdout closed: nobody is reading */
		done++;
	}
	return 0;
}

/* The frame on screen: copies of all rows as they were at the refresh, so
 * that keys can re-sort and re-filter them while new traffic is counted. The
 * copies share the rows' strings, which live until the next refresh. */
struct snapshot {
	struct row *copies;
	struct row **rows;
	struct report report;
};

static void snapshot_take(struct snapshot *s, const struct report *r, enum row_sort sort)
{
	int n = 0;

	free(s->copies);
	free(s->rows);
	s->report = *r;
	s->copies = calloc(r->nrows ? r->nrows : 1, sizeof(*s->copies));
	s->rows = calloc(r->nrows ? r->nrows : 1, sizeof(*s->rows));
	if (!s->copies || !s->rows) {
		s->report.nrows = 0;
		return;
	}
	for (int i = 0; i < r->nrows; i++) {
		s->copies[n] = *r->rows[i];
		s->rows[n] = &s->copies[n];
		n++;
	}
	rows_sort_array(s->rows, n, sort);
	s->report.rows = s->rows;
	s->report.nrows = n;
}

static int run_screen(struct monitor *m, struct detector *d, const struct top_opts *o)
{
	struct screen scr = { .sort = o->sort, .all = o->all, .started = monotonic_now() };
	struct snapshot snap = { 0 };
	double next = monotonic_now(), shown_interval = o->delay;
	bool have_frame = false, quit = false;
	struct report last;
	int status = 0;

	if (screen_open(&scr)) {
		fprintf(stderr, "egresswatch top: cannot start the terminal view (TERM=%s); "
				"try top -b\n", getenv("TERM") ? getenv("TERM") : "unset");
		return 1;
	}
	nodelay(stdscr, TRUE);
	while (!monitor_exiting && !quit) {
		struct pollfd fds[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = ring_buffer__epoll_fd(m->loader.rb), .events = POLLIN },
		};
		double left = next - monotonic_now();
		bool redraw = false, resort = false;
		int key;

		if (left <= 0) {
			if (account_interval(m, d, scr.sort, true, &last)) {
				status = 1;
				break;
			}
			snapshot_take(&snap, &last, scr.sort);
			shown_interval = have_frame ? last.interval_s : o->delay;
			monitor_report_done(m, &last);
			have_frame = redraw = true;
			next += o->delay;
		} else {
			/* events come mostly without a wakeup: read them every 100 ms */
			poll(fds, 2, left > 0.1 ? 100 : (int)(left * 1000) + 1);
			monitor_consume(m);
		}
		while ((key = getch()) != ERR) {
			bool r = false, rs = false;

			if (!screen_key(&scr, key, &r, &rs)) {
				quit = true;
				break;
			}
			redraw |= r;
			resort |= rs;
		}
		if (resort && have_frame)
			rows_sort_array(snap.rows, snap.report.nrows, scr.sort);
		if (redraw && have_frame) {
			struct screen_frame f = { &snap.report, d, monotonic_now(), shown_interval };

			screen_draw(&scr, &f);
		}
	}
	screen_close();
	free(snap.copies);
	free(snap.rows);
	return status;
}

int top_main(int argc, char **argv, const struct config *cfg)
{
	struct monitor_opts mo = {
		.catalog = &cfg->catalog,
		.max_flows = cfg->max_flows,
		.grace_s = 10,
		.payload = cfg->payload,
		.payload_capture = cfg->payload_capture,
		.tls_socket_link = cfg->tls_socket_link,
		.tcp_from_socket = cfg->tcp_from_socket,
	};
	struct top_opts o;
	struct monitor m;
	int status = parse(argc, argv, &o);

	if (status)
		return status < 0 ? 0 : status;
	struct detector *d;

	if (require_bpf_privileges("top"))
		return 1;
	d = detector_new(&cfg->detect, o.delay, "localhost");
	if (!d) {
		fprintf(stderr, "egresswatch top: out of memory\n");
		return 1;
	}
	monitor_handle_signals();
	if (monitor_start(&m, &mo)) {
		monitor_stop(&m);
		detector_free(d);
		return 1;
	}
	status = o.batch ? run_batch(&m, d, &o) : run_screen(&m, d, &o);
	monitor_stop(&m);
	detector_free(d);
	return status;
}
