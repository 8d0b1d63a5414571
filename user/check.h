/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EW_CHECK_H
#define EW_CHECK_H

/* `egresswatch check`: loads and attaches each real program on its own and
 * prints one line per hook. Returns the exit status (0: the socket-accounting
 * core can run). */
int check_main(void);

#endif
