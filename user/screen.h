/* SPDX-License-Identifier: GPL-2.0 */
/* The interactive view of top, drawn with ncurses from the row table: a header,
 * one line per process and host (or per process), a details page, help, and a
 * filter prompt. It only draws and reads keys; top owns the refresh loop. */
#ifndef EW_SCREEN_H
#define EW_SCREEN_H

#include <stdbool.h>
#include "report.h"
#include "rows.h"

struct detector;

enum screen_page { PAGE_TABLE, PAGE_DETAILS, PAGE_HELP, PAGE_FILTER };

struct screen {
	bool color;
	enum screen_page page;
	enum row_sort sort;
	bool all;             /* non-LLM traffic too */
	bool by_process;      /* one line per process, hosts summed */
	char filter[64];      /* substring of comm, host, provider or cgroup */
	char editing[64];     /* the filter being typed */
	int selected;         /* line index in the table */
	int top_line;         /* first line shown */
	unsigned int selected_pid;
	double started;       /* monotonic */
	char hostname[64];
};

/* What one refresh shows. */
struct screen_frame {
	const struct report *report;
	const struct detector *detector;
	double now;
	double interval_s;
};

int screen_open(struct screen *s);
void screen_close(void);
void screen_draw(struct screen *s, const struct screen_frame *f);
/* Applies a key. Returns false when the key asks to quit. *redraw says the
 * frame should be drawn again (new sort, filter, page). */
bool screen_key(struct screen *s, int key, bool *redraw, bool *resort);

#endif
