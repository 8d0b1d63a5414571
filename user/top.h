/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EW_TOP_H
#define EW_TOP_H

#include "config.h"

/* `egresswatch top [OPTIONS]`; argv[0] is "top". Returns the exit status. */
int top_main(int argc, char **argv, const struct config *cfg);

#endif
