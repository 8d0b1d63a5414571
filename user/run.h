/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EW_RUN_H
#define EW_RUN_H

#include "config.h"

/* `egresswatch run [--textfile-dir DIR] [--alerts PATH|-|syslog] [--interval SEC]`:
 * the daemon. cfg is the loaded configuration, read again from config_path
 * (may be NULL) on SIGHUP. Returns the exit status. */
int run_main(int argc, char **argv, struct config *cfg, const char *config_path);

#endif
