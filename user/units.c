// SPDX-License-Identifier: GPL-2.0
#include "units.h"

#include <stdio.h>

void format_bytes(double bytes, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t u = 0;

	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	snprintf(out, len, u && bytes < 10 ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}
