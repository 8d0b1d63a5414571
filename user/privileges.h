/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EW_PRIVILEGES_H
#define EW_PRIVILEGES_H

/* Returns 0 when this process holds what loading and attaching need, else
 * prints which capabilities are missing, naming the command, and returns -EPERM. */
int require_bpf_privileges(const char *command);

#endif
