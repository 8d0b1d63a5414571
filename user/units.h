/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EW_UNITS_H
#define EW_UNITS_H

#include <stddef.h>

/* "312 MiB", "1.5 GiB", "800 B": binary units, as top and the alerts show them. */
void format_bytes(double bytes, char *out, size_t len);

#endif
