// SPDX-License-Identifier: GPL-2.0
/* egresswatch: per-process egress to LLM APIs, from eBPF socket hooks. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "config.h"
#include "loader.h"
#include "run.h"
#include "top.h"

static void usage(FILE *out)
{
	fputs("usage: egresswatch [--config FILE] [-v] COMMAND [OPTIONS]\n"
	      "\n"
	      "  check        probe this kernel: one line per hook; exit 0 when the\n"
	      "               socket-accounting core can run, 1 otherwise\n"
	      "  endpoints    print the effective endpoint catalog (built-in + config file)\n"
	      "  top  [-b] [-n COUNT] [-d SEC] [--json] [--all] [--sort rx|tx|req|tokens]\n"
	      "               per-process traffic to LLM APIs, refreshed every SEC (default 2);\n"
	      "               -b: batch mode to stdout; -n: stop after COUNT refreshes;\n"
	      "               --all: non-LLM traffic too\n"
	      "  run  [--textfile-dir DIR] [--alerts PATH|-|syslog] [--interval SEC]\n"
	      "               the daemon: detection, JSON alerts, Prometheus textfile export;\n"
	      "               SIGHUP reloads the configuration and reopens the alert file\n"
	      "  --version, --help\n"
	      "\n"
	      "Exit status: 0 success, 1 runtime failure, 2 bad usage or configuration.\n",
	      out);
}

static int dispatch(const char *command, int argc, char **argv, struct config *cfg,
		    const char *config_path)
{
	if (!strcmp(command, "check"))
		return check_main();
	if (!strcmp(command, "endpoints")) {
		if (argc > 1) {
			fprintf(stderr, "egresswatch endpoints: unexpected argument '%s'\n", argv[1]);
			return 2;
		}
		catalog_print(&cfg->catalog, stdout);
		return 0;
	}
	if (!strcmp(command, "top"))
		return top_main(argc, argv, cfg);
	if (!strcmp(command, "run"))
		return run_main(argc, argv, cfg, config_path);
	fprintf(stderr, "egresswatch: unknown command '%s'\n", command);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool verbose = false;
	struct config cfg;
	char err[512];
	int i, status;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
			if (++i >= argc) {
				fprintf(stderr, "egresswatch: --config needs a FILE\n");
				return 2;
			}
			config_path = argv[i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			config_path = argv[i] + 9;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
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
	if (config_init(&cfg)) {
		fprintf(stderr, "egresswatch: out of memory\n");
		return 1;
	}
	if (config_path && config_load(&cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "egresswatch: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	status = dispatch(argv[i], argc - i, argv + i, &cfg, config_path);
	config_free(&cfg);
	return status;
}
