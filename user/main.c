// SPDX-License-Identifier: GPL-2.0
/* egresswatch: per-process egress to LLM APIs, from eBPF socket hooks. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "loader.h"
#include "top.h"

static void usage(FILE *out)
{
	fputs("usage: egresswatch [-v] COMMAND [OPTIONS]\n"
	      "\n"
	      "  check        probe this kernel: one line per hook; exit 0 when the\n"
	      "               socket-accounting core can run, 1 otherwise\n"
	      "  top  [-b] [-n COUNT] [-d SEC] [--json] [--all] [--sort rx|tx|req|tokens]\n"
	      "               per-process traffic to LLM APIs, refreshed every SEC (default 2);\n"
	      "               -b: batch mode to stdout; -n: stop after COUNT refreshes;\n"
	      "               --all: non-LLM traffic too\n"
	      "  --version, --help\n"
	      "\n"
	      "Exit status: 0 success, 1 runtime failure, 2 bad usage or configuration.\n",
	      out);
}

int main(int argc, char **argv)
{
	bool verbose = false;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else if (!strcmp(argv[i], "--version")) {
			printf("egresswatch %s\n", EW_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "egresswatch: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	loader_set_verbose(verbose);
	if (!strcmp(argv[i], "check"))
		return check_main();
	if (!strcmp(argv[i], "top"))
		return top_main(argc - i, argv + i);
	fprintf(stderr, "egresswatch: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
