// SPDX-License-Identifier: GPL-2.0
#include "screen.h"

#include <ncurses.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "detect.h"
#include "units.h"

enum { PAIR_HEADER = 1, PAIR_TITLE, PAIR_ALERT, PAIR_SELECTED };

int screen_open(struct screen *s)
{
	if (!initscr())
		return -1;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	/* NO_COLOR (no-color.org): any value turns color off */
	s->color = has_colors() && !getenv("NO_COLOR");
	if (s->color) {
		start_color();
		use_default_colors();
		init_pair(PAIR_HEADER, COLOR_CYAN, -1);
		init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_GREEN);
		init_pair(PAIR_ALERT, COLOR_RED, -1);
		init_pair(PAIR_SELECTED, COLOR_BLACK, COLOR_CYAN);
	}
	if (gethostname(s->hostname, sizeof(s->hostname) - 1))
		strcpy(s->hostname, "?");
	return 0;
}

void screen_close(void)
{
	if (!isendwin())
		endwin();
}

static void attr(struct screen *s, int pair, bool on)
{
	int a = s->color ? COLOR_PAIR(pair) : (pair == PAIR_TITLE || pair == PAIR_SELECTED ? A_REVERSE
						: pair == PAIR_ALERT ? A_BOLD : 0);

	if (on)
		attron(a);
	else
		attroff(a);
}

static void user_name(unsigned int uid, char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &res) && res)
		snprintf(out, len, "%s", pw.pw_name);
	else
		snprintf(out, len, "%u", uid);
}

static void rate(double bytes, double secs, char *out, size_t len)
{
	char b[32];

	format_bytes(secs > 0 ? bytes / secs : 0, b, sizeof(b));
	snprintf(out, len, "%s/s", b);
}

/* A line of the table: one row, or a process's rows summed. */
struct line {
	const struct row *first;
	unsigned int hosts;
	uint64_t rx, tx, rx_total, requests, out_tokens, keys;
	uint32_t connections;
	bool plaintext, alerting;
};

static bool matches(const struct screen *s, const struct row *r)
{
	if (!s->all && !r->cls.provider)
		return false;
	if (!s->filter[0])
		return true;
	return strstr(r->comm, s->filter) || strstr(r->cls.host, s->filter) ||
	       (r->cls.provider && strstr(r->cls.provider, s->filter)) ||
	       (r->cgroup && strstr(r->cgroup, s->filter));
}

static int build_lines(const struct screen *s, const struct screen_frame *f, struct line *v)
{
	int n = 0;

	for (int i = 0; i < f->report->nrows; i++) {
		const struct row *r = f->report->rows[i];
		struct line *l = NULL;

		if (!matches(s, r))
			continue;
		if (s->by_process)
			for (int j = 0; j < n && !l; j++)
				if (v[j].first->pid == r->pid)
					l = &v[j];
		if (!l) {
			l = &v[n++];
			memset(l, 0, sizeof(*l));
			l->first = r;
			l->alerting = f->detector && detector_pid_alerting(f->detector, r->pid);
		}
		l->hosts++;
		l->rx += r->rx_bytes;
		l->tx += r->tx_bytes;
		l->rx_total += r->rx_bytes_total;
		l->requests += r->requests;
		l->out_tokens += r->output_tokens_total;
		l->keys += r->keys.count;
		l->connections += r->connections;
		l->plaintext |= r->plaintext;
	}
	return n;
}

static bool first_of_pid(const struct screen_frame *f, int i)
{
	for (int j = 0; j < i; j++)
		if (f->report->rows[j]->pid == f->report->rows[i]->pid)
			return false;
	return true;
}

static void header(struct screen *s, const struct screen_frame *f, int nlines)
{
	uint64_t rx = 0, tx = 0;
	double up = f->now - s->started;
	int alerts = 0;
	char rxs[48], txs[48];

	for (int i = 0; i < f->report->nrows; i++) {
		const struct row *r = f->report->rows[i];

		if (r->cls.provider) {
			rx += r->rx_bytes;
			tx += r->tx_bytes;
		}
		if (f->detector && detector_pid_alerting(f->detector, r->pid) && first_of_pid(f, i))
			alerts++; /* processes, not rows */
	}
	rate(rx, f->interval_s, rxs, sizeof(rxs));
	rate(tx, f->interval_s, txs, sizeof(txs));
	attr(s, PAIR_HEADER, true);
	mvprintw(0, 0, "egresswatch on %s  up %dh%02dm  LLM rx %s  tx %s", s->hostname,
		 (int)(up / 3600), (int)(up / 60) % 60, rxs, txs);
	mvprintw(1, 0, "%d lines  alerting processes %d  lost %llu pkts  sort %s%s%s%s%s", nlines, alerts,
		 (unsigned long long)f->report->stats[EW_STAT_FLOW_MAP_FULL],
		 (const char *[]){ "rx", "tx", "req", "tokens" }[s->sort],
		 s->all ? "  [all traffic]" : "", s->by_process ? "  [by process]" : "",
		 s->filter[0] ? "  filter: " : "", s->filter);
	attr(s, PAIR_HEADER, false);
	mvprintw(2, 0, "? help  q quit  1-4 sort  a all  p group  / filter  Enter details");
}

static void table(struct screen *s, const struct screen_frame *f, struct line *v, int n)
{
	int height = LINES - 4;
	char title[256];

	if (s->selected >= n)
		s->selected = n ? n - 1 : 0;
	if (s->selected < s->top_line)
		s->top_line = s->selected;
	if (height > 0 && s->selected >= s->top_line + height)
		s->top_line = s->selected - height + 1;
	snprintf(title, sizeof(title), "%7s %-8s %-15s %-11s %-24s %11s %11s %9s %4s %6s %8s %4s %s",
		 "PID", "USER", "COMM", "PROVIDER", "HOST", "RX/s", "TX/s", "RX TOTAL", "CONN", "REQ/s",
		 "OUT TOK", "KEYS", "!");
	attr(s, PAIR_TITLE, true);
	mvprintw(3, 0, "%-*.*s", COLS, COLS, title);
	attr(s, PAIR_TITLE, false);
	for (int i = s->top_line; i < n && i - s->top_line < height; i++) {
		const struct line *l = &v[i];
		char user[32], rx[48], tx[48], total[32], host[256], req[16], tok[24], keys[16];
		char text[640];

		user_name(l->first->uid, user, sizeof(user));
		rate(l->rx, f->interval_s, rx, sizeof(rx));
		rate(l->tx, f->interval_s, tx, sizeof(tx));
		format_bytes(l->rx_total, total, sizeof(total));
		if (s->by_process && l->hosts > 1)
			snprintf(host, sizeof(host), "(%u hosts)", l->hosts);
		else
			snprintf(host, sizeof(host), "%s", l->first->cls.host);
		/* plaintext figures: "-" where they could not be seen, never 0 */
		snprintf(req, sizeof(req), l->plaintext ? "%.1f" : "-",
			 f->interval_s > 0 ? l->requests / f->interval_s : 0);
		snprintf(tok, sizeof(tok), l->plaintext ? "%llu" : "-", (unsigned long long)l->out_tokens);
		snprintf(keys, sizeof(keys), l->plaintext ? "%llu" : "-", (unsigned long long)l->keys);
		snprintf(text, sizeof(text), "%7u %-8.8s %-15.15s %-11.11s %-24.24s %11s %11s %9s %4u %6s %8s %4s %s",
			 l->first->pid, user, l->first->comm,
			 l->first->cls.provider ? l->first->cls.provider : "-", host, rx, tx, total,
			 l->connections, req, tok, keys, l->alerting ? "!" : "");
		if (i == s->selected) {
			attr(s, PAIR_SELECTED, true);
			s->selected_pid = l->first->pid;
		} else if (l->alerting) {
			attr(s, PAIR_ALERT, true);
		}
		mvprintw(4 + i - s->top_line, 0, "%-*.*s", COLS, COLS, text);
		attr(s, PAIR_SELECTED, false);
		attr(s, PAIR_ALERT, false);
	}
}

static void details(struct screen *s, const struct screen_frame *f)
{
	const struct row *any = NULL;
	int y = 2;

	for (int i = 0; i < f->report->nrows && !any; i++)
		if (f->report->rows[i]->pid == s->selected_pid)
			any = f->report->rows[i];
	attr(s, PAIR_TITLE, true);
	mvprintw(0, 0, "%-*s", COLS, " process details   (Enter or Esc: back)");
	attr(s, PAIR_TITLE, false);
	if (!any) {
		mvprintw(y, 0, "process %u has no rows any more", s->selected_pid);
		return;
	}
	mvprintw(y++, 0, "pid      %u", any->pid);
	mvprintw(y++, 0, "comm     %s", any->comm);
	mvprintw(y++, 0, "exe      %s", any->exe ? any->exe : "(unknown)");
	mvprintw(y++, 0, "uid      %u", any->uid);
	mvprintw(y++, 0, "cgroup   %s", any->cgroup ? any->cgroup : "(unknown)");
	mvprintw(y++, 0, "alerting %s", f->detector && detector_pid_alerting(f->detector, any->pid)
						 ? "yes: see the alert log" : "no");
	y++;
	attr(s, PAIR_HEADER, true);
	mvprintw(y++, 0, "%-28s %-12s %-5s %10s %10s %5s %8s %8s", "HOST", "PROVIDER", "BY", "RX TOTAL",
		 "TX TOTAL", "CONN", "REQUESTS", "KEYS");
	attr(s, PAIR_HEADER, false);
	for (int i = 0; i < f->report->nrows && y < LINES; i++) {
		const struct row *r = f->report->rows[i];
		char rx[24], tx[24], req[24], keys[16];

		if (r->pid != any->pid)
			continue;
		format_bytes(r->rx_bytes_total, rx, sizeof(rx));
		format_bytes(r->tx_bytes_total, tx, sizeof(tx));
		snprintf(req, sizeof(req), r->plaintext ? "%llu" : "-", (unsigned long long)r->requests_total);
		snprintf(keys, sizeof(keys), r->plaintext ? "%u" : "-", (unsigned int)r->keys.count);
		mvprintw(y++, 0, "%-28.28s %-12.12s %-5s %10s %10s %5u %8s %8s", r->cls.host,
			 r->cls.provider ? r->cls.provider : "-", r->cls.by, rx, tx, r->connections, req, keys);
	}
}

static void help(struct screen *s)
{
	static const char *const lines[] = {
		"egresswatch top: per-process traffic to LLM APIs",
		"",
		"  1 / 2 / 3 / 4   sort by received, sent, requests, output tokens",
		"  a               show all traffic, or LLM endpoints only",
		"  p               one line per process, or per process and host",
		"  /               filter by command, host, provider or cgroup (Enter applies)",
		"  Up / Down       select a line;  Enter: details of its process",
		"  q               quit",
		"",
		"REQ/s, OUT TOK and KEYS come from TLS plaintext; '-' where it cannot be seen.",
		"! marks a process with a firing detection rule.",
		"",
		"Any key: back",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]) && (int)i < LINES; i++)
		mvprintw(i, 0, "%.*s", COLS, lines[i]);
}

void screen_draw(struct screen *s, const struct screen_frame *f)
{
	struct line *v = calloc(f->report->nrows ? f->report->nrows : 1, sizeof(*v));
	int n;

	if (!v)
		return;
	erase();
	if (s->page == PAGE_HELP) {
		help(s);
	} else if (s->page == PAGE_DETAILS) {
		details(s, f);
	} else {
		n = build_lines(s, f, v);
		header(s, f, n);
		table(s, f, v, n);
		if (s->page == PAGE_FILTER) {
			mvprintw(LINES - 1, 0, "filter: %s", s->editing);
			clrtoeol();
		}
	}
	free(v);
	refresh();
}

static void filter_key(struct screen *s, int key)
{
	size_t len = strlen(s->editing);

	if (key == '\n' || key == KEY_ENTER) {
		strcpy(s->filter, s->editing);
		s->page = PAGE_TABLE;
		s->selected = s->top_line = 0;
	} else if (key == 27) {
		s->page = PAGE_TABLE;
	} else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && len) {
		s->editing[len - 1] = '\0';
	} else if (key >= 0x20 && key < 0x7f && len + 1 < sizeof(s->editing)) {
		s->editing[len] = key;
		s->editing[len + 1] = '\0';
	}
}

bool screen_key(struct screen *s, int key, bool *redraw, bool *resort)
{
	*redraw = true;
	*resort = false;
	if (key == KEY_RESIZE)
		return true;
	switch (s->page) {
	case PAGE_FILTER:
		filter_key(s, key);
		return true;
	case PAGE_HELP:
		s->page = PAGE_TABLE;
		return true;
	case PAGE_DETAILS:
		if (key == 'q')
			return false;
		if (key == '\n' || key == KEY_ENTER || key == 27)
			s->page = PAGE_TABLE;
		return true;
	case PAGE_TABLE:
		break;
	}
	switch (key) {
	case 'q':
		return false;
	case '1': case '2': case '3': case '4':
		s->sort = (enum row_sort)(key - '1');
		*resort = true;
		break;
	case 'a':
		s->all = !s->all;
		*resort = true;
		break;
	case 'p':
		s->by_process = !s->by_process;
		break;
	case '/':
		strcpy(s->editing, s->filter);
		s->page = PAGE_FILTER;
		break;
	case '?': case 'h':
		s->page = PAGE_HELP;
		break;
	case KEY_UP:
		if (s->selected > 0)
			s->selected--;
		break;
	case KEY_DOWN:
		s->selected++;
		break;
	case '\n': case KEY_ENTER:
		s->page = PAGE_DETAILS;
		break;
	default:
		*redraw = false;
	}
	return true;
}
